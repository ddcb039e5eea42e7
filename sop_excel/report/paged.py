"""The meeting pack on A4 landscape pages: one PDF, or one PNG per page.

Each page is a matplotlib :class:`~matplotlib.figure.Figure` drawn on Agg's canvas (no pyplot,
no global backend): a header (section, title), the blocks in their boxes, a footer with the
workbook, the date and "Page n of N". Text is real text in the PDF (TrueType fonts embedded),
so it can be searched, copied and read back (``pdftotext``).

Tables and text fit their box: the font shrinks from its size down to 7 pt, long text cells wrap
onto up to three lines; what still does not fit is cut with an ellipsis, and rows that do not
fit are counted under the table ("... and 3 more rows"), never dropped without a word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from sop_excel.report.blocks import SECTIONS, Box, Chart, Pack, Page, Table, Text

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["PAGE_SIZE", "RC", "draw_page", "write_pdf", "write_pngs"]

PAGE_SIZE = (11.69, 8.27)  # A4 landscape, inches
MARGIN, TOP, BOTTOM = 0.45, 1.3, 0.7  # content area: inches from the edges
ACCENT, GREY, INK = "#1F4E78", "#595959", "#1F1F1F"
HEADER_FILL, BAND_FILL = "#2F5597", "#EEF2F8"
MARKS = {
    "neg": (None, "#C00000", "normal"),
    "bad": ("#FFC7CE", "#9C0006", "bold"),
    "good": ("#C6EFCE", "#006100", "normal"),
    "bold": (None, INK, "bold"),
}
RC: dict[RcKeyType, Any] = {
    "pdf.fonttype": 42,
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "axes.unicode_minus": False,
    "pdf.compression": 6,
}
MIN_SIZE = 7.0
LINE = 1.25  # line height, in font sizes


class _Canvas:
    """A page being drawn: places things in inches from the top-left corner of the content
    area, and measures text with the renderer that will draw it."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.w_in, self.h_in = fig.get_size_inches()
        FigureCanvasAgg(fig)  # drawn on Agg's canvas (PNG); PdfPages draws it as PDF
        self.content = (self.w_in - 2 * MARGIN, self.h_in - TOP - BOTTOM)
        self._widths: dict[tuple[str, float, bool], float] = {}

    def box(self, b: Box) -> tuple[float, float, float, float]:
        """(x, y, w, h) in inches from the content area's top left."""
        cw, ch = self.content
        return b.x * cw, b.y * ch, b.w * cw, b.h * ch

    def fx(self, x_in: float) -> float:
        return (MARGIN + x_in) / self.w_in

    def fy(self, y_in: float) -> float:
        return 1 - (TOP + y_in) / self.h_in

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """The printed width of ``text`` in inches: the font's advance widths (no kerning, which
        only narrows text; so the estimate is never short)."""
        key = (text, size, bold)
        if key not in self._widths:
            adv = _advances(bold)
            self._widths[key] = (
                sum(adv.get(ch) or _advance(adv, ch, bold) for ch in text) * size / 72
            )
        return self._widths[key]

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: float,
        *,
        bold: bool = False,
        color: str = INK,
        ha: str = "left",
        va: str = "baseline",
        style: str = "normal",
    ) -> None:
        self.fig.text(
            self.fx(x),
            self.fy(y),
            s,
            fontsize=size,
            fontweight="bold" if bold else "normal",
            color=color,
            ha=ha,
            va=va,
            parse_math=False,
            fontstyle=style,
        )

    def rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        self.fig.add_artist(
            Rectangle(
                (self.fx(x), self.fy(y + h)),
                w / self.w_in,
                h / self.h_in,
                facecolor=color,
                edgecolor="none",
                transform=self.fig.transFigure,
            )
        )

    def wrap(
        self, text: str, width: float, size: float, bold: bool = False, max_lines: int = 0
    ) -> list[str]:
        """Greedy word wrap to ``width`` inches; ``max_lines``: cut the rest with an ellipsis."""
        words = text.split()
        lines: list[str] = []
        cur = ""
        for word in words:
            trial = f"{cur} {word}" if cur else word
            if self.width(trial, size, bold) <= width + 1e-6 or not cur:
                cur = trial
            else:
                lines.append(cur)
                cur = word
        if cur:
            lines.append(cur)
        lines = [self.fit(line, width, size, bold) for line in lines] or [""]
        if max_lines and len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.fit(lines[-1] + " …", width, size, bold, force=True)
        return lines

    def fit(
        self, text: str, width: float, size: float, bold: bool = False, force: bool = False
    ) -> str:
        """``text`` cut with an ellipsis to fit ``width`` inches."""
        if self.width(text, size, bold) <= width + 1e-6 and not (force and not text.endswith("…")):
            return text
        base = text.rstrip(" …")
        lo, hi = 0, len(base)
        while lo < hi:  # the longest prefix that fits with the ellipsis
            mid = (lo + hi + 1) // 2
            if self.width(base[:mid].rstrip() + "…", size, bold) <= width + 1e-6:
                lo = mid
            else:
                hi = mid - 1
        return base[:lo].rstrip() + "…"


@functools.cache
def _advances(bold: bool) -> dict[str, float]:
    """Character -> advance width in points at 1 pt, for DejaVu Sans (bold), filled as used."""
    return {}


@functools.cache
def _font_file(bold: bool) -> str:
    from matplotlib import font_manager

    return font_manager.findfont(
        FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    )


def _advance(adv: dict[str, float], ch: str, bold: bool) -> float:
    from matplotlib import font_manager, ft2font

    font = font_manager.get_font(
        _font_file(bold)
    )  # matplotlib's shared copy: it sets its own size to draw,
    font.set_size(100, 72)  # so the size is set here for every character measured
    try:  # matplotlib 3.10+: an enum
        flags = ft2font.LoadFlags.NO_HINTING
    except AttributeError:  # pragma: no cover - matplotlib 3.8-3.9: a module constant
        flags = vars(ft2font)["LOAD_NO_HINTING"]
    adv[ch] = font.load_char(ord(ch), flags=flags).linearHoriAdvance / 65536 / 100
    return adv[ch]


def _refs(text: str, refs: dict[str, int]) -> str:
    return re.sub(r"\{p:(\w+)\}", lambda m: str(refs.get(m.group(1), "?")), text)


# -- text ----------------------------------------------------------------------------------------
def _text_lines(
    c: _Canvas, block: Text, width: float, size: float, refs: dict[str, int]
) -> list[tuple]:
    """(kind, indent, text) per printed line: kind "h" heading, "b" bullet start, "t" text."""
    out = []
    for raw in block.lines:
        line = _refs(raw, refs)
        if line.startswith("## "):
            out += [("h", 0.0, s) for s in c.wrap(line[3:], width, size, bold=True)]
        elif line.startswith("- "):
            indent = size * 0.9 / 72
            for k, s in enumerate(c.wrap(line[2:], width - indent, size)):
                out.append(("b" if k == 0 else "t", indent, s))
        else:
            out += [("t", 0.0, s) for s in c.wrap(line, width, size)]
    return out


def _draw_text(c: _Canvas, block: Text, refs: dict[str, int]) -> None:
    x, y, w, h = c.box(block.box)
    pad = 0.12 if block.tone == "warn" else 0.0
    if block.tone == "warn":
        c.rect(x, y, w, h, "#FFF2CC")
        c.rect(x, y, 0.05, h, "#BF8F00")
    if block.title:
        c.text(
            x + pad,
            y + pad + 0.2,
            c.fit(block.title, w - 2 * pad, 11.5, True),
            11.5,
            bold=True,
            color=ACCENT,
        )
        y, h = y + 0.32, h - 0.32
    gap = 0.25 if block.columns > 1 else 0.0
    col_w = (w - 2 * pad - gap * (block.columns - 1)) / block.columns
    size = block.size if block.tone != "note" else 8.5
    while True:  # the largest size at which the text fits its columns
        lines = _text_lines(c, block, col_w, size, refs)
        lh = size * LINE / 72
        per_col = max(int((h - 2 * pad) // lh), 1)
        cols = _split_columns(lines, per_col, block.columns)
        if cols is not None or size <= MIN_SIZE + 1e-9:
            break
        size = max(size - 0.5, MIN_SIZE)
    if cols is None:  # still too long at the smallest size: what fits, and say so
        cols = [lines[k * per_col : (k + 1) * per_col] for k in range(block.columns)]
        cols[-1] = cols[-1][:-1] + [("t", 0.0, "… (more in the workbook)")]
    for k, col in enumerate(cols):
        cx = x + pad + k * (col_w + gap)
        for i, (kind, indent, s) in enumerate(col):
            yy = y + pad + (i + 0.8) * lh
            if kind == "b":
                c.text(cx + indent * 0.25, yy, "•", size, color=ACCENT)
            c.text(
                cx + indent,
                yy,
                s,
                size,
                bold=kind == "h",
                color=GREY if block.tone == "note" else INK,
            )


def _split_columns(lines: list[tuple], per_col: int, n: int) -> list[list[tuple]] | None:
    """Lines into ``n`` columns of at most ``per_col``, breaking before headings where it can."""
    cols: list[list[tuple]] = [[]]
    for i, line in enumerate(lines):
        cur = cols[-1]
        if len(cur) >= per_col or (
            line[0] == "h"
            and cur
            and len(cur) + _group_len(lines, i) > per_col
            and _group_len(lines, i) <= per_col
        ):
            if len(cols) == n:
                return None
            cols.append([])
        cols[-1].append(line)
    return cols


def _group_len(lines: list[tuple], start: int) -> int:
    n = 1
    while start + n < len(lines) and lines[start + n][0] != "h":
        n += 1
    return n


# -- tables --------------------------------------------------------------------------------------
def _bold(t: Table, i: int, j: int) -> bool:
    return MARKS.get(t.marks.get((i, j), ""), (None, INK, "normal"))[2] == "bold"


def _layout_table(c: _Canvas, t: Table, width: float, size: float) -> list[float] | None:
    """Column widths at ``size`` filling ``width``; headers wrap before text cells do, and figures
    are never cut (None: the figures do not fit the width at this size)."""
    pad = size * 0.45 / 72
    swatch = size * 1.1 / 72 if t.swatches else 0.0
    full, nat, least = [], [], []
    for j, head in enumerate(t.columns):
        body = max((c.width(r[j], size, _bold(t, i, j)) for i, r in enumerate(t.rows)), default=0.0)
        word = max((c.width(s, size, True) for s in head.split()), default=0.0)
        extra = 2 * pad + (swatch if j == 0 else 0.0)
        head_w = c.width(head, size, True)
        full.append(max(body, head_w) + extra)
        nat.append(
            max(body, word, head_w / 2 if t.align[j] == "r" else 0.0) + extra
        )  # a figure's header: 2 lines
        least.append(
            (max(body, word) if t.align[j] == "r" else max(word, min(body, 12 * size * 0.6 / 72)))
            + extra
        )
    if sum(full) <= width:  # every header on one line: widen all in proportion
        return [f * width / sum(full) for f in full]
    if sum(nat) <= width:  # headers wrap; the room left goes to the headers that wrap most
        want = [f - n for f, n in zip(full, nat, strict=True)]
        room = width - sum(nat)
        return [n + room * w / sum(want) for n, w in zip(nat, want, strict=True)]
    need, room = sum(nat) - width, sum(n - m for n, m in zip(nat, least, strict=True))
    if room < need:
        return None
    return [n - (n - m) * need / room for n, m in zip(nat, least, strict=True)]


def _draw_table(c: _Canvas, t: Table, refs: dict[str, int]) -> None:
    x, y, w, h = c.box(t.box)
    if t.title:
        c.text(
            x, y + 0.2, c.fit(_refs(t.title, refs), w, 11.5, True), 11.5, bold=True, color=ACCENT
        )
        y, h = y + 0.32, h - 0.32
    notes = [s for s in (t.more_text(len(t.rows)), t.note) if s]
    size = t.size
    while True:
        laid = _layout_table(c, t, w, size)
        foot = sum(len(c.wrap(s, w, max(size - 1.5, 7))) for s in notes) * (
            max(size - 1.5, 7) * LINE / 72
        )
        if laid is not None:
            plan = _rows_plan(c, t, laid, size)
            if plan[0] + sum(plan[1]) + foot <= h or size <= MIN_SIZE:
                break
        elif size <= MIN_SIZE:
            laid = _squeezed(c, t, w, size)
            plan = _rows_plan(c, t, laid, size)
            break
        size = max(size - 0.5, MIN_SIZE)
    widths = laid
    head_h, row_hs, head_lines, cell_lines = plan
    fits = len(row_hs)
    while (
        fits
        and head_h + sum(row_hs[:fits]) + foot + (size * LINE / 72 if fits < len(row_hs) else 0) > h
    ):
        fits -= 1
    if fits < len(row_hs):
        notes = [s for s in (t.more_text(fits), t.note) if s]
    lh = size * LINE / 72
    pad = size * 0.45 / 72
    c.rect(x, y, sum(widths), head_h, HEADER_FILL)
    cx = x
    for j, lines in enumerate(head_lines):
        for k, s in enumerate(lines):
            yy = y + pad + (k + 0.82) * (size * 1.2 / 72)
            if t.align[j] == "r":
                c.text(cx + widths[j] - pad, yy, s, size, bold=True, color="#FFFFFF", ha="right")
            else:
                c.text(cx + pad, yy, s, size, bold=True, color="#FFFFFF")
        colour = t.column_colours[j] if t.column_colours else None
        if colour:
            c.rect(cx + pad, y + head_h - 0.045, widths[j] - 2 * pad, 0.045, colour)
        cx += widths[j]
    yy = y + head_h
    for i in range(fits):
        rh = row_hs[i]
        if i % 2 == 1:
            c.rect(x, yy, sum(widths), rh, BAND_FILL)
        cx = x
        for j, lines in enumerate(cell_lines[i]):
            fill, colour, weight = MARKS.get(t.marks.get((i, j), ""), (None, INK, "normal"))
            if fill:
                c.rect(cx + 0.01, yy + 0.01, widths[j] - 0.02, rh - 0.02, fill)
            off = 0.0
            swatch_colour = t.swatches[i] if j == 0 and t.swatches else None
            if swatch_colour:
                c.rect(
                    cx + pad,
                    yy + rh / 2 - size * 0.35 / 72,
                    size * 0.7 / 72,
                    size * 0.7 / 72,
                    swatch_colour,
                )
                off = size * 1.1 / 72
            for k, s in enumerate(lines):
                ty = yy + pad * 0.5 + (k + 0.82) * lh
                if t.align[j] == "r":
                    c.text(
                        cx + widths[j] - pad,
                        ty,
                        s,
                        size,
                        bold=weight == "bold",
                        color=colour,
                        ha="right",
                    )
                else:
                    c.text(cx + pad + off, ty, s, size, bold=weight == "bold", color=colour)
            cx += widths[j]
        yy += rh
    c.fig.add_artist(
        Line2D(
            [c.fx(x), c.fx(x + sum(widths))],
            [c.fy(yy)] * 2,
            color="#A6A6A6",
            linewidth=0.6,
            transform=c.fig.transFigure,
        )
    )
    small = max(size - 1.5, 7)
    yy += 0.05
    for s in notes:
        for line in c.wrap(_refs(s, refs), w, small):
            yy += small * LINE / 72
            c.text(x, yy, line, small, color=GREY, style="italic")


def _squeezed(c: _Canvas, t: Table, width: float, size: float) -> list[float]:
    """Widths when even the smallest font does not fit: every column in proportion (numbers cut)."""
    nat = [
        max([c.width(s, size) for s in [h, *(r[j] for r in t.rows)]]) + 0.1
        for j, h in enumerate(t.columns)
    ]
    return [n * width / sum(nat) for n in nat]


def _rows_plan(
    c: _Canvas, t: Table, widths: list[float], size: float
) -> tuple[float, list[float], list, list]:
    """(header height, row heights, header lines, cell lines) with text cells wrapped."""
    pad = size * 0.45 / 72
    lh = size * LINE / 72
    swatch = size * 1.1 / 72 if t.swatches else 0.0
    head = [
        c.wrap(hd, widths[j] - 2 * pad, size, bold=True, max_lines=4)
        for j, hd in enumerate(t.columns)
    ]
    head_h = max((len(x) for x in head), default=1) * size * 1.2 / 72 + 2 * pad
    cells: list[list[list[str]]] = []
    heights: list[float] = []
    for r in t.rows:
        row = []
        for j, s in enumerate(r):
            room = widths[j] - 2 * pad - (swatch if j == 0 else 0.0)
            s = " ".join(str(s).split())
            bold = _bold(t, len(cells), j)
            row.append(
                [c.fit(s, room, size, bold)]
                if t.align[j] == "r"
                else c.wrap(s, room, size, bold, max_lines=3)
            )
        cells.append(row)
        heights.append(max(len(x) for x in row) * lh + pad)
    return head_h, heights, head, cells


# -- charts and pages ----------------------------------------------------------------------------
def _draw_chart(c: _Canvas, ch: Chart, refs: dict[str, int]) -> None:
    x, y, w, h = c.box(ch.box)
    top = 0.0
    if ch.title:
        c.text(
            x, y + 0.2, c.fit(_refs(ch.title, refs), w, 11.5, True), 11.5, bold=True, color=ACCENT
        )
        top = 0.3
    note_lines = c.wrap(ch.note, w, 8.5, max_lines=2) if ch.note else []
    bottom = len(note_lines) * 8.5 * LINE / 72 + (0.05 if note_lines else 0.0)
    rect = (c.fx(x), c.fy(y + h - bottom), w / c.w_in, (h - top - bottom) / c.h_in)
    ch.draw(c.fig, rect)
    for k, line in enumerate(note_lines):
        c.text(x, y + h - bottom + (k + 1) * 8.5 * LINE / 72, line, 8.5, color=GREY, style="italic")


def draw_page(pack: Pack, page: Page, number: int, dpi: float = 100) -> Figure:
    """One page of ``pack`` as a figure."""
    fig = Figure(figsize=PAGE_SIZE, dpi=dpi, facecolor="white")
    c = _Canvas(fig)
    refs = pack.first_page()
    cw, _ch = c.content
    c.text(0, -TOP + 0.42, SECTIONS[page.section].upper(), 9.5, bold=True, color=ACCENT)
    c.text(cw, -TOP + 0.42, pack.title, 9.5, color=GREY, ha="right")
    c.text(0, -TOP + 0.82, c.fit(page.title, cw, 19, True), 19, bold=True)
    if page.subtitle:
        c.text(0, -TOP + 1.07, c.fit(page.subtitle, cw, 10), 10, color=GREY)
    fig.add_artist(
        Line2D(
            [c.fx(0), c.fx(cw)],
            [c.fy(-0.12)] * 2,
            color=ACCENT,
            linewidth=1.4,
            transform=fig.transFigure,
        )
    )
    for block in page.blocks:
        if isinstance(block, Table):
            _draw_table(c, block, refs)
        elif isinstance(block, Chart):
            _draw_chart(c, block, refs)
        else:
            _draw_text(c, block, refs)
    foot_y = c.h_in - TOP - BOTTOM + 0.42
    c.text(0, foot_y, c.fit(pack.footer, cw * 0.8, 8.5), 8.5, color=GREY)
    c.text(cw, foot_y, f"Page {number} of {len(pack.pages)}", 9, color=INK, ha="right")
    return fig


def _each_page(pack: Pack, dpi: float, step: Callable[[str], None] | None) -> Any:
    for n, page in enumerate(pack.pages, start=1):
        if step:
            step(f"Page {n} of {len(pack.pages)}: {page.title}")
        yield n, draw_page(pack, page, n, dpi)


def write_pdf(pack: Pack, path: Path, step: Callable[[str], None] | None = None) -> None:
    """The pack as one PDF at ``path``."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_pdf import PdfPages

    from sop_excel import __version__

    meta = {
        "Title": pack.title,
        "Author": pack.author,
        "Subject": "S&OP meeting pack",
        "Creator": f"sop-excel {__version__}",
        "CreationDate": pack.prepared_at.astimezone(),
    }
    with rc_context(RC), PdfPages(path, metadata=meta) as pdf:
        for _n, fig in _each_page(pack, 72, step):
            pdf.savefig(fig)


def write_pngs(
    pack: Pack, paths: list[Path], dpi: float = 150, step: Callable[[str], None] | None = None
) -> None:
    """Page n of the pack as ``paths[n - 1]`` (PNG)."""
    from matplotlib import rc_context

    with rc_context(RC):
        for n, fig in _each_page(pack, dpi, step):
            fig.savefig(paths[n - 1], format="png", dpi=dpi, facecolor="white")
