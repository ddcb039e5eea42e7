"""Recalculate a workbook in LibreOffice headless: a real spreadsheet program, no Excel needed.

Used by ``sop-excel check --recalc`` and by the tests to prove that the formulas we write
compute the same numbers as the Python that wrote their cached values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sop_excel.errors import SopExcelError

__all__ = ["find_soffice", "recalculate", "recalculate_all"]

# Force recalculation on load: otherwise LibreOffice may keep the cached values it was given,
# and a comparison would prove nothing (see ../shared/design/excel.md).
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """Path of LibreOffice's ``soffice``, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, timeout: float = 300
) -> Path:
    """Open ``path`` in LibreOffice, recalculate every formula, save as xlsx into ``out_dir``.

    Returns the path of the recalculated copy. The input file is not modified.
    """
    return recalculate_all([path], out_dir, timeout=timeout)[0]


def recalculate_all(
    paths: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, timeout: float = 300
) -> list[Path]:
    """:func:`recalculate` for several workbooks in one LibreOffice run (starting LibreOffice
    takes seconds): the recalculated copies, in order, named ``<n>-<name>.xlsx`` in ``out_dir``."""
    soffice = find_soffice()
    if soffice is None:
        raise SopExcelError(
            "LibreOffice is not installed. Install it (Debian/Ubuntu: "
            "apt-get install libreoffice-calc-nogui) or skip --recalc."
        )
    sources = [Path(p).resolve() for p in paths]
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    many = len(sources) > 1
    with tempfile.TemporaryDirectory(prefix="sop-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
        with tempfile.TemporaryDirectory(prefix="sop-lo-in-") as stage:
            # copies in a folder of their own: LibreOffice names the output after the input
            staged = [
                Path(stage) / (f"{n}-{src.name}" if many else src.name)
                for n, src in enumerate(sources)
            ]
            for src, dst in zip(sources, staged, strict=True):
                shutil.copyfile(src, dst)
            cmd = [
                soffice,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(out),
                *map(str, staged),
            ]
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=timeout * len(sources), check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise SopExcelError(
                    f"LibreOffice did not finish recalculating {', '.join(s.name for s in sources)} "
                    f"in {timeout * len(sources):.0f} s."
                ) from exc
    results = [out / (s.stem + ".xlsx") for s in staged]
    for src, result in zip(sources, results, strict=True):
        # soffice exits 0 even when it could not load the file: the output is the only proof.
        if not result.exists():
            raise SopExcelError(
                f"LibreOffice could not open {src.name}: {proc.stderr.strip() or proc.stdout.strip()}"
            )
    return results
