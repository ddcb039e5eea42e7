"""Render the top of a workbook sheet to PNG as LibreOffice prints it (the README's pictures).

    .venv/bin/python scripts/render_screenshot.py WORKBOOK SHEET OUT.png [--rows 40] [--range A1:Y34]

Run it with the project's Python (``.venv/bin/python``: it needs openpyxl, which a bare
``python`` may not have), on a machine with LibreOffice (``soffice``) and poppler-utils
(``pdftoppm``). The workbook is not modified. For pictures of the plan itself (charts of the
forecast, scenarios, capacity), the meeting pack is the better tool: ``sop-excel report
WORKBOOK --format png``.

The sheet is printed landscape, one page wide, as many pages tall as it needs, with its header
rows repeated; only the first page is kept. What is printed is ``--range`` if given, else the
top left of the sheet: its first ``--rows`` rows and the columns that fit in ``--width``
characters (a sheet of 1,000 rows or 30 columns squeezed onto one page would be black strips). Only that sheet goes to LibreOffice, with the values Excel (or
sop-excel) saved for its formulas, so a big workbook renders in seconds.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workbook", type=Path)
    p.add_argument("sheet")
    p.add_argument("out", type=Path)
    p.add_argument(
        "--range",
        default=None,
        help="what to print, e.g. A1:Y34 (default: the top left, "
        "--rows rows and --width characters of columns)",
    )
    p.add_argument(
        "--rows", type=int, default=40, help="rows printed when no --range is given (default 40)"
    )
    p.add_argument(
        "--width",
        type=float,
        default=160,
        help="column width (in characters) printed when no --range is given (default 160)",
    )
    p.add_argument("--dpi", type=int, default=110)
    a = p.parse_args()
    try:
        import openpyxl
    except ImportError:
        print(
            "openpyxl is missing: run this with the project's Python, .venv/bin/python "
            "scripts/render_screenshot.py ...",
            file=sys.stderr,
        )
        return 2
    for tool in ("soffice", "pdftoppm"):
        if not shutil.which(tool):
            print(
                f"{tool} is not installed (LibreOffice and poppler-utils are needed).",
                file=sys.stderr,
            )
            return 2
    wb = openpyxl.load_workbook(a.workbook, data_only=True)  # the saved values, not the formulas
    if a.sheet not in wb.sheetnames:
        print(
            f"{a.workbook.name} has no sheet '{a.sheet}'. Sheets: {', '.join(wb.sheetnames)}.",
            file=sys.stderr,
        )
        return 1
    for name in [
        n for n in wb.sheetnames if n != a.sheet
    ]:  # only the sheet to print goes to LibreOffice
        del wb[name]
    ws = wb[a.sheet]
    ws.sheet_state = "visible"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # one page wide, as tall as it needs
    ws.print_options.gridLines = True
    ws.print_area = a.range or f"A1:{_last_column(ws, a.width)}{min(ws.max_row, a.rows)}"
    header = ws.freeze_panes  # the frozen header rows repeat on every page
    if header and ws[header].row > 1:
        ws.print_title_rows = f"1:{ws[header].row - 1}"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sheet.xlsx"
        wb.save(src)
        subprocess.run(
            [
                "soffice",
                "--headless",
                f"-env:UserInstallation=file://{tmp}/profile",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(a.dpi),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(Path(tmp) / "sheet.pdf"),
                str(Path(tmp) / "page"),
            ],
            check=True,
            timeout=60,
        )
        a.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "page.png", a.out)
    print(a.out)
    return 0


def _last_column(ws: object, width: float) -> str:
    """The letter of the last column that fits in ``width`` characters from column A."""
    from openpyxl.utils import get_column_letter

    used, last = 0.0, 1
    for col in range(1, ws.max_column + 1):  # type: ignore[attr-defined]
        used += ws.column_dimensions[get_column_letter(col)].width or 8.43  # type: ignore[attr-defined]
        if used > width and col > 1:
            break
        last = col
    return get_column_letter(last)


if __name__ == "__main__":
    sys.exit(main())
