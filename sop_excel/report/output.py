"""Where the meeting pack goes and in which format; written atomically, file by file."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sop_excel.errors import InputError, SopExcelError
from sop_excel.report.blocks import Pack
from sop_excel.workbook.safe_save import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "default_path", "format_for", "pack_paths", "write_pack"]

FORMATS = ("pdf", "html", "png")


def format_for(out: Path | None, fmt: str | None) -> str:
    """The format asked for (``fmt``), else the one ``out``'s extension names, else pdf."""
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    suffix = "html" if suffix == "htm" else suffix
    if fmt:
        if fmt not in FORMATS:
            raise InputError(
                f"Format '{fmt}' is not one the meeting pack is written in: pick pdf, html or png."
            )
        if out is not None and suffix != fmt:
            raise InputError(
                f"The pack file {out.name} does not end in .{fmt}: name it so, or leave "
                "out the format to go by the file's extension."
            )
        return fmt
    if out is None:
        return "pdf"
    if suffix in FORMATS:
        return suffix
    raise InputError(
        f"The pack file {out.name} does not end in .pdf, .html or .png: the meeting pack "
        "is written in one of those (name the file so, or give the format)."
    )


def default_path(workbook: Path, as_of: dt.date, fmt: str) -> Path:
    """Beside the workbook: ``<workbook>_pack_<YYYY-MM>.<fmt>``."""
    return workbook.with_name(f"{workbook.stem}_pack_{as_of:%Y-%m}.{fmt}")


def pack_paths(out: Path, fmt: str, pages: int) -> list[Path]:
    """The files a pack of ``pages`` pages is written to: ``out``, or for PNG one per page
    (``pack-01.png``, ``pack-02.png``, ...)."""
    if fmt != "png":
        return [out]
    digits = max(2, len(str(pages)))
    return [out.with_name(f"{out.stem}-{n:0{digits}d}{out.suffix}") for n in range(1, pages + 1)]


def write_pack(
    pack: Pack, out: Path, fmt: str, step: Callable[[str], None] | None = None
) -> list[Path]:
    """Draw ``pack`` into ``out`` (``fmt``: pdf, html or png); the files written. Each file is
    written to a temporary file beside it and renamed, so a failure leaves no half-written pack."""
    paths = pack_paths(out, fmt, len(pack.pages))
    try:
        if fmt == "pdf":
            from sop_excel.report.paged import write_pdf

            atomic_write(paths[0], lambda tmp: write_pdf(pack, tmp, step), backups=0)
        elif fmt == "html":
            from sop_excel.report.html import render_html

            text = render_html(pack, step)
            atomic_write(paths[0], lambda tmp: tmp.write_text(text, encoding="utf-8"), backups=0)
        else:
            from matplotlib import rc_context

            from sop_excel.report.paged import RC, draw_page

            with rc_context(RC):
                for n, (page, path) in enumerate(zip(pack.pages, paths, strict=True), start=1):
                    if step:
                        step(f"Page {n} of {len(pack.pages)}: {page.title}")
                    fig = draw_page(pack, page, n, dpi=150)
                    atomic_write(path, functools.partial(_save_png, fig), backups=0)
    except OSError as exc:
        raise SopExcelError(
            f"Cannot write the meeting pack to {out.resolve()}: {exc.strerror or exc}. Check that "
            "you may write to that folder, or choose another file."
        ) from None
    return [p.resolve() for p in paths]


def _save_png(fig: Figure, tmp: Path) -> None:
    fig.savefig(tmp, format="png", dpi=150, facecolor="white")
