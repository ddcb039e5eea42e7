"""Render sheets of a workbook to PNG with LibreOffice headless and pdftoppm (for the README).

Usage: python scripts/render_screenshot.py WORKBOOK SHEET OUT.png [--range A1:Y34]
Needs LibreOffice (soffice) and poppler-utils (pdftoppm). The workbook is not modified.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workbook", type=Path)
    p.add_argument("sheet")
    p.add_argument("out", type=Path)
    p.add_argument("--range", default=None, help="print area, e.g. A1:Y34")
    p.add_argument("--dpi", type=int, default=110)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wb = openpyxl.load_workbook(a.workbook)
        ws = wb[a.sheet]
        wb.active = wb.sheetnames.index(a.sheet)
        for other in wb.worksheets:  # hidden sheets are not printed; formulas still see them
            other.sheet_view.tabSelected = other is ws
            if other is not ws:
                other.sheet_state = "hidden"
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 1
        ws.print_options.gridLines = True
        if a.range:
            ws.print_area = a.range
        src = Path(tmp) / "sheet.xlsx"
        wb.save(src)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(src)],
                       check=True, capture_output=True, timeout=180)
        subprocess.run(["pdftoppm", "-png", "-r", str(a.dpi), "-f", "1", "-l", "1", "-singlefile",
                        str(Path(tmp) / "sheet.pdf"), str(Path(tmp) / "page")], check=True, timeout=60)
        shutil.copyfile(Path(tmp) / "page.png", a.out)
    print(a.out)


if __name__ == "__main__":
    main()
