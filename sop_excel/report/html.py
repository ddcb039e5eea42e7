"""The meeting pack as one self-contained HTML file: styles inline, charts as inline SVG drawn by
the same functions as the PDF's, tables as HTML tables with the same formatted figures. Nothing
is fetched from elsewhere (no fonts, scripts or images by address). Printed, each page of the
PDF starts a new page.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable

from matplotlib import rc_context
from matplotlib.figure import Figure

from sop_excel.report.blocks import SECTIONS, Chart, Pack, Page, Table, Text
from sop_excel.report.paged import BOTTOM, MARGIN, PAGE_SIZE, RC, TOP

__all__ = ["render_html"]

_CSS = """
:root { --accent: #1F4E78; --grey: #595959; --ink: #1F1F1F; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink); margin: 0;
       background: #E7E9EC; font-size: 15px; line-height: 1.35; }
nav { background: var(--accent); color: #fff; padding: 10px 24px; position: sticky; top: 0; z-index: 2; }
nav a { color: #fff; margin-right: 18px; text-decoration: none; font-weight: bold; }
section.page { background: #fff; max-width: 1280px; margin: 20px auto; padding: 22px 34px 14px;
               box-shadow: 0 1px 4px rgba(0,0,0,.15); }
.section { color: var(--accent); font-weight: bold; letter-spacing: .06em; font-size: 13px; }
h1 { font-size: 27px; margin: 4px 0 2px; }
.sub { color: var(--grey); margin: 0 0 8px; }
.rule { border-top: 2px solid var(--accent); margin-bottom: 12px; }
.blocks { display: flex; flex-wrap: wrap; gap: 14px 2%; align-items: flex-start; }
.block h3 { color: var(--accent); font-size: 16px; margin: 4px 0 6px; }
.block h4 { margin: 8px 0 2px; font-size: 15px; }
.block ul { margin: 2px 0 6px; padding-left: 20px; }
.block p { margin: 2px 0 6px; }
.cols2 { column-count: 2; column-gap: 28px; }
.warn { background: #FFF2CC; border-left: 5px solid #BF8F00; padding: 8px 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th { background: #2F5597; color: #fff; text-align: left; padding: 4px 7px; vertical-align: bottom; }
td { padding: 3px 7px; vertical-align: top; }
tbody tr:nth-child(even) { background: #EEF2F8; }
.r { text-align: right; white-space: nowrap; }
td.neg { color: #C00000; } td.bad { background: #FFC7CE; color: #9C0006; font-weight: bold; }
td.good { background: #C6EFCE; color: #006100; } td.bold { font-weight: bold; }
.swatch { display: inline-block; width: 11px; height: 11px; margin-right: 6px; vertical-align: -1px; }
th .bar { display: block; height: 4px; margin-top: 3px; }
.note { color: var(--grey); font-style: italic; font-size: 12.5px; margin: 4px 0 0; }
svg { width: 100%; height: auto; display: block; }
footer { display: flex; justify-content: space-between; color: var(--grey); font-size: 12px;
         border-top: 1px solid #D9D9D9; margin-top: 14px; padding-top: 6px; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  body { background: #fff; font-size: 11px; } nav { display: none; }
  section.page { box-shadow: none; margin: 0; padding: 0; max-width: none; break-after: page; }
  table { font-size: 10px; }
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _refs(text: str, refs: dict[str, int]) -> str:
    """Escaped text with {p:key} made a link to the page."""
    parts = re.split(r"\{p:(\w+)\}", text)
    out = []
    for k, part in enumerate(parts):
        out.append(
            _e(part)
            if k % 2 == 0
            else f'<a href="#page-{refs.get(part, 1)}">{refs.get(part, "?")}</a>'
        )
    return "".join(out)


def _text(block: Text, refs: dict[str, int]) -> str:
    out: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in block.lines:
        if line.startswith("- "):
            items.append(_refs(line[2:], refs))
            continue
        flush()
        out.append(
            f"<h4>{_refs(line[3:], refs)}</h4>"
            if line.startswith("## ")
            else f"<p>{_refs(line, refs)}</p>"
        )
    flush()
    body = "".join(out)
    if block.columns > 1:
        body = f'<div class="cols2">{body}</div>'
    cls = " warn" if block.tone == "warn" else ""
    title = f"<h3>{_e(block.title)}</h3>" if block.title else ""
    return f'<div class="text{cls}">{title}{body}</div>'


def _table(t: Table, refs: dict[str, int]) -> str:
    head = []
    for j, name in enumerate(t.columns):
        bar = (
            f'<span class="bar" style="background:{t.column_colours[j]}"></span>'
            if t.column_colours and t.column_colours[j]
            else ""
        )
        head.append(f'<th class="{"r" if t.align[j] == "r" else ""}">{_e(name)}{bar}</th>')
    rows = []
    for i, r in enumerate(t.rows):
        cells = []
        for j, s in enumerate(r):
            cls = " ".join(
                x for x in ("r" if t.align[j] == "r" else "", t.marks.get((i, j), "")) if x
            )
            sw = (
                f'<span class="swatch" style="background:{t.swatches[i]}"></span>'
                if j == 0 and t.swatches and t.swatches[i]
                else ""
            )
            cells.append(f'<td class="{cls}">{sw}{_e(s)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(
        f'<p class="note">{_refs(s, refs)}</p>' for s in (t.more_text(len(t.rows)), t.note) if s
    )
    title = f"<h3>{_refs(t.title, refs)}</h3>" if t.title else ""
    return f"{title}<table><thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table>{notes}"


def _svg(chart: Chart, width_in: float, height_in: float, salt: str) -> str:
    fig = Figure(figsize=(width_in, height_in), facecolor="white")
    with rc_context({**RC, "svg.hashsalt": salt}):
        chart.draw(fig, (0.0, 0.0, 1.0, 1.0))
        buf = io.StringIO()
        fig.savefig(buf, format="svg", facecolor="white")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    svg = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r"<svg \1", svg, count=1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_e(chart.alt or chart.title)}" ', 1)


def _chart(chart: Chart, salt: str, refs: dict[str, int]) -> str:
    cw, ch = PAGE_SIZE[0] - 2 * MARGIN, PAGE_SIZE[1] - TOP - BOTTOM
    w, h = chart.box.w * cw, chart.box.h * ch - 0.35 - (0.3 if chart.note else 0.0)
    title = f"<h3>{_refs(chart.title, refs)}</h3>" if chart.title else ""
    note = f'<p class="note">{_refs(chart.note, refs)}</p>' if chart.note else ""
    return f"{title}{_svg(chart, max(w, 2.5), max(h, 1.6), salt)}{note}"


def _page(pack: Pack, page: Page, n: int, refs: dict[str, int]) -> str:
    parts = []
    for k, b in enumerate(sorted(page.blocks, key=lambda b: (round(b.box.y, 2), b.box.x))):
        inner = (
            _table(b, refs)
            if isinstance(b, Table)
            else _chart(b, f"p{n}c{k}", refs)
            if isinstance(b, Chart)
            else _text(b, refs)
        )
        width = 100 if b.box.w > 0.7 else max(b.box.w * 100 - 1, 20)
        parts.append(f'<div class="block" style="flex: 0 0 {width:.1f}%">{inner}</div>')
    sub = f'<p class="sub">{_e(page.subtitle)}</p>' if page.subtitle else ""
    return (
        f'<section class="page" id="page-{n}"><div class="section">{_e(SECTIONS[page.section].upper())}</div>'
        f'<h1>{_e(page.title)}</h1>{sub}<div class="rule"></div><div class="blocks">{"".join(parts)}</div>'
        f"<footer><span>{_e(pack.footer)}</span><span>Page {n} of {len(pack.pages)}</span></footer></section>"
    )


def render_html(pack: Pack, step: Callable[[str], None] | None = None) -> str:
    """The pack as the text of one HTML file."""
    refs = pack.first_page()
    nav = "".join(f'<a href="#page-{n}">{_e(SECTIONS[key])}</a>' for key, n in refs.items())
    pages = []
    for n, page in enumerate(pack.pages, start=1):
        if step:
            step(f"Page {n} of {len(pack.pages)}: {page.title}")
        pages.append(_page(pack, page, n, refs))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="sop-excel"><meta name="author" content="{_e(pack.author)}">'
        f"<title>{_e(pack.title)}</title><style>{_CSS}</style></head><body>"
        f"<nav>{nav}</nav>{''.join(pages)}</body></html>\n"
    )
