"""Column widths that fit: header text and values as Excel draws them in the default font.

Excel measures a column in characters of the default font's widest digit (Calibri 11 at 96 dpi:
7 pixels) and draws a column of width ``w`` ``7 w + 5`` pixels wide (2 of padding each side and
the grid line). A header in a table also carries the filter button (16 pixels) at its right, and a
number that does not fit shows as ``#####``. Text is measured with Calibri's advance widths (taken
from Carlito, which is metric-compatible with Calibri: ``scripts/font_widths.py`` prints the
table below, and a test checks it against the font where it is installed).
"""

from __future__ import annotations

import datetime as dt
import math

__all__ = [
    "FILTER_BUTTON_PX",
    "column_width",
    "fits",
    "header_width",
    "number_text",
    "text_px",
    "value_width",
]

UNITS_PER_EM = 2048
FONT_PX = 11 * 96 / 72  # Calibri 11 at 96 dpi
DIGIT_PX = 7  # Excel's width unit: the widest digit of the default font, rounded
FILTER_BUTTON_PX = 16
PADDING_PX = 5
# Advance widths (font units) of the printable ASCII characters 32..126, Calibri = Carlito.
_REGULAR = (
    463,
    667,
    821,
    1020,
    1038,
    1464,
    1397,
    452,
    621,
    621,
    1020,
    1020,
    511,
    627,
    517,
    791,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    548,
    548,
    1020,
    1020,
    1020,
    949,
    1831,
    1185,
    1114,
    1092,
    1260,
    1000,
    941,
    1292,
    1276,
    516,
    653,
    1064,
    861,
    1751,
    1322,
    1356,
    1058,
    1378,
    1112,
    941,
    998,
    1314,
    1162,
    1822,
    1063,
    998,
    959,
    628,
    791,
    628,
    1020,
    1020,
    596,
    981,
    1076,
    866,
    1076,
    1019,
    625,
    964,
    1076,
    470,
    490,
    931,
    470,
    1636,
    1076,
    1080,
    1076,
    1076,
    714,
    801,
    686,
    1076,
    925,
    1464,
    887,
    927,
    809,
    644,
    943,
    644,
    1020,
)
_BOLD = (
    463,
    667,
    898,
    1020,
    1038,
    1493,
    1443,
    478,
    638,
    638,
    1020,
    1020,
    528,
    627,
    547,
    880,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    1038,
    565,
    565,
    1020,
    1020,
    1020,
    949,
    1840,
    1241,
    1148,
    1084,
    1291,
    999,
    940,
    1305,
    1292,
    546,
    678,
    1120,
    866,
    1790,
    1349,
    1385,
    1090,
    1405,
    1153,
    968,
    1014,
    1337,
    1211,
    1856,
    1128,
    1064,
    979,
    665,
    880,
    665,
    1020,
    1020,
    615,
    1011,
    1099,
    857,
    1099,
    1031,
    648,
    971,
    1099,
    503,
    523,
    983,
    503,
    1666,
    1099,
    1101,
    1099,
    1099,
    728,
    817,
    710,
    1099,
    969,
    1526,
    941,
    970,
    814,
    704,
    973,
    704,
    1020,
)
_WIDE = 1400  # any other character: as wide as a capital (accents, symbols, CJK would be wider)


def text_px(text: str, *, bold: bool = False) -> float:
    """The width in pixels of ``text`` in Calibri 11 (bold for a table's header row)."""
    table = _BOLD if bold else _REGULAR
    units = sum(table[o - 32] if 32 <= (o := ord(ch)) <= 126 else _WIDE for ch in text)
    return units * FONT_PX / UNITS_PER_EM


def column_width(px: float) -> float:
    """The narrowest Excel column width (characters) that shows ``px`` pixels of content."""
    return math.ceil(max(px + PADDING_PX, 0) / DIGIT_PX * 4) / 4  # in quarter characters


def header_width(header: str) -> float:
    """The width a table's header needs: its bold text and the filter button."""
    return column_width(text_px(header, bold=True) + FILTER_BUTTON_PX)


def number_text(value: float, kind: str) -> str:
    """``value`` as the layout's number format shows it (``#,##0``, ``#,##0.00``, ``0.0%``, ``0.00``)."""
    if kind in ("int", "qty", "money"):
        return f"{value:,.0f}"
    if kind == "price":
        return f"{value:,.2f}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:g}"


_DATE_SAMPLES = {"date": "2026-12-31", "month": "Sep 2026", "datetime": "2026-12-31 23:59"}


def value_width(value: object, kind: str) -> float:
    """The width a value of the column's kind needs as Excel shows it (numbers must fit:
    Excel draws ``#####`` otherwise; text is measured as it is)."""
    if kind in _DATE_SAMPLES and isinstance(value, dt.date | str):
        return column_width(text_px(_DATE_SAMPLES[kind]))
    if isinstance(value, bool):
        return column_width(text_px("FALSE"))
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return 0.0
        return column_width(text_px(number_text(float(value), kind)))
    if value is None:
        return 0.0
    return column_width(text_px(str(value)))


def fits(width: float, header: str, values: list[object], kind: str) -> bool:
    """Whether a column of ``width`` shows its header and every one of ``values`` whole."""
    need = max([header_width(header), *(value_width(v, kind) for v in values)], default=0.0)
    return width + 1e-9 >= need
