"""The parts around the sheets that every side must leave right, whoever saved the file last.

A sheet rewritten headless moves cells; Excel, LibreOffice and openpyxl each write the other
parts their own way (prefixed or unprefixed chart XML, a calculation chain or none, the ribbon's
relationship kept or dropped). These functions work on the raw XML of one part and know nothing
of planning; :class:`~sop_excel.workbook.zip_io.ZipIO` and
:class:`~sop_excel.workbook.openpyxl_io.OpenpyxlIO` call them when they save, and
``sop-excel check`` calls the ``find_*`` ones to report what is wrong:

- **formulas and their cached values** (:func:`scan_formulas`): how many formula cells a sheet
  holds and which have no cached value (openpyxl saves ``<f>..</f><v></v>``: pandas, calamine
  and Excel's first look then see an empty cell);
- **the calculation chain** (:func:`drop_calc_chain`, :func:`stale_calc_chain`): Excel's list of
  formula cells in calculation order. A list that names cells without a formula is a repair
  prompt, so a save that moves formulas drops it (Excel rebuilds it silently);
- **charts follow their table's columns by name** (:func:`follow_charts`): a series plotting a
  table column plots the column of the same header after the table was rewritten, wherever it
  moved and however long it grew; a series whose column is gone is removed, and a column of a
  chart's table that no series plots gets one (a new scenario);
- **drawings stay beside their tables** (:func:`shift_anchors`): a chart that a grown table
  would run under moves to the right of it;
- **the ribbon** (:func:`ribbon_rel_missing`, :func:`with_ribbon_rel`): an ``.xlsm``'s customUI
  part is only shown with its package relationship, which openpyxl drops on every save.

Every function takes and returns bytes; a part it does not understand is returned unchanged.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from openpyxl.utils import get_column_letter, range_boundaries

__all__ = [
    "CALC_CHAIN_REL",
    "RIBBON_PART",
    "RIBBON_REL_TYPE",
    "FormulaScan",
    "TableMove",
    "calc_chain_cells",
    "cell_values",
    "drop_calc_chain",
    "follow_charts",
    "ribbon_rel_missing",
    "scan_formulas",
    "series_of",
    "shift_anchors",
    "stale_calc_chain",
    "with_full_calc",
    "with_ribbon_rel",
]

CALC_CHAIN_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
RIBBON_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_PART = "customUI/customUI14.xml"
_RIBBON_REL_ID = "rIdSopRibbon"
_CHART_NS = b"http://schemas.openxmlformats.org/drawingml/2006/chart"
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e[0] == "#":
            return chr(int(e[2:], 16) if e[1] in "xX" else int(e[1:]))
        return _ENTITIES[e]

    return (
        re.sub(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);", one, text)
        if "&" in text
        else text
    )


# -- formulas and cached values ---------------------------------------------------------------
# A formula cell: its attributes, its <f> (text or shared-formula child), and what follows it.
_FORMULA_CELL = re.compile(
    rb"<c\b([^>]*)>(<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)(<v\s*/>|<v>[^<]*</v>|<v\s[^>]*>[^<]*</v>)?",
    re.S,
)
_REF_ATTR = re.compile(rb'\br="([A-Z]{1,3}[0-9]+)"')
_T_ATTR = re.compile(rb'\bt="(\w+)"')


@dataclass(frozen=True)
class FormulaScan:
    """What one sheet part holds: ``formulas`` (count of formula cells) and ``missing`` (the
    addresses of those without a cached value, in sheet order)."""

    formulas: int
    missing: tuple[str, ...]


def scan_formulas(xml: bytes) -> FormulaScan:
    """Formula cells of a sheet's XML and those without a cached value.

    A formula whose cached value is an empty string is written ``t="str"`` with an empty
    ``<v></v>`` (as Excel does): that is a value. Without ``t="str"`` an empty or missing
    ``<v>`` is no value (openpyxl's ``<v></v>``, a formula typed by a tool that computes none).
    """
    if b"<f" not in xml:
        return FormulaScan(0, ())
    n = 0
    missing: list[str] = []
    for m in _FORMULA_CELL.finditer(xml):
        n += 1
        v = m.group(3)
        if v is not None and not v.startswith(b"<v/") and not re.match(rb"<v\s*/>", v):
            body = v[v.find(b">") + 1 : -4]
            if body:
                continue
            t = _T_ATTR.search(m.group(1))
            if t is not None and t.group(1) in (b"str", b"inlineStr"):
                continue  # an empty text result: a value
        r = _REF_ATTR.search(m.group(1))
        missing.append(r.group(1).decode() if r else "?")
    return FormulaScan(n, tuple(missing))


def with_full_calc(wb_xml: bytes, on: bool) -> bytes:
    """workbook.xml with ``fullCalcOnLoad`` set (``on``) or removed: Excel recalculates every
    formula at open only when a cached value may be missing or stale."""
    m = re.search(rb"<calcPr\b([^>]*?)(/?)>", wb_xml)
    if m:
        attrs = re.sub(rb'\s*fullCalcOnLoad="[^"]*"', b"", m.group(1))
        if on:
            attrs += b' fullCalcOnLoad="1"'
        return wb_xml[: m.start()] + b"<calcPr" + attrs + m.group(2) + b">" + wb_xml[m.end() :]
    if not on:
        return wb_xml
    for anchor in (b"</definedNames>", b"</sheets>"):
        i = wb_xml.find(anchor)
        if i >= 0:
            i += len(anchor)
            return wb_xml[:i] + b'<calcPr fullCalcOnLoad="1"/>' + wb_xml[i:]
    return wb_xml


# -- the calculation chain ------------------------------------------------------------------
def drop_calc_chain(content_types: bytes, workbook_rels: bytes) -> tuple[bytes, bytes]:
    """[Content_Types].xml and the workbook's relationships without the calculation chain (the
    caller leaves the ``xl/calcChain.xml`` part out). Excel rebuilds the chain at its next
    calculation, silently; a chain naming cells that hold no formula is a repair prompt."""
    ct = re.sub(rb'<Override\b[^>]*PartName="/xl/calcChain\.xml"[^>]*/>', b"", content_types)
    rels = re.sub(
        rb'<Relationship\b[^>]*Type="' + re.escape(CALC_CHAIN_REL.encode()) + rb'"[^>]*/>',
        b"",
        workbook_rels,
    )
    return ct, rels


def calc_chain_cells(chain: bytes) -> list[tuple[int, str]]:
    """The (sheet id, cell) entries of a calcChain part (``i`` carries over when left out)."""
    out, sheet = [], 0
    for m in re.finditer(rb"<c\b([^>]*?)/?>", chain):
        attrs = dict(re.findall(rb'(\w+)="([^"]*)"', m.group(1)))
        if b"i" in attrs:
            sheet = int(attrs[b"i"])
        if b"r" in attrs:
            out.append((sheet, attrs[b"r"].decode()))
    return out


def stale_calc_chain(
    chain: bytes, formulas_by_sheet_id: Mapping[int, set[str]]
) -> list[tuple[int, str]]:
    """Entries of the chain whose cell holds no formula (Excel reports the file as damaged)."""
    return [
        (i, r) for i, r in calc_chain_cells(chain) if r not in formulas_by_sheet_id.get(i, set())
    ]


# -- the ribbon ---------------------------------------------------------------------------------
def ribbon_rel_missing(names: Iterable[str], root_rels: bytes) -> bool:
    """The package has the customUI part but not the relationship that makes Excel show it."""
    return RIBBON_PART in set(names) and RIBBON_REL_TYPE.encode() not in root_rels


def with_ribbon_rel(root_rels: bytes) -> bytes:
    """``_rels/.rels`` with the ribbon's relationship (openpyxl drops it on every save)."""
    if RIBBON_REL_TYPE.encode() in root_rels:
        return root_rels
    rel = f'<Relationship Id="{_RIBBON_REL_ID}" Type="{RIBBON_REL_TYPE}" Target="{RIBBON_PART}"/>'
    return root_rels.replace(b"</Relationships>", rel.encode() + b"</Relationships>", 1)


# -- charts follow their tables ---------------------------------------------------------------
@dataclass
class TableMove:
    """A table rewritten on sheet ``sheet``: where it was (``old``: min_col, min_row, max_col,
    max_row) with which headers, and what it holds now (``header``, ``last_row``)."""

    sheet: str
    old: tuple[int, int, int, int]
    old_header: list[str]
    header: list[str]
    last_row: int
    header_cells: bool = (
        True  # the header row holds the header texts (a series name may point there)
    )

    def column_of(self, name: str) -> int | None:
        """The new column number of header ``name`` (case-insensitive, as Excel's headers)."""
        folded = name.strip().casefold()
        for j, h in enumerate(self.header):
            if h.strip().casefold() == folded:
                return self.old[0] + j
        return None

    def old_name_at(self, col: int) -> str | None:
        j = col - self.old[0]
        return self.old_header[j] if 0 <= j < len(self.old_header) else None

    @property
    def body_rows(self) -> tuple[int, int]:
        return self.old[1] + 1, self.last_row


_SHEET_REF = re.compile(
    r"^(?P<sheet>'(?:[^']|'')+'|[^!]+)!(?P<ref>\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)$"
)


def _split_ref(text: str) -> tuple[str, tuple[int, int, int, int]] | None:
    m = _SHEET_REF.match(text.strip())
    if not m:
        return None
    sheet = m.group("sheet")
    title = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
    try:
        bounds = range_boundaries(m.group("ref").replace("$", ""))
    except (ValueError, TypeError):
        return None
    if None in bounds:
        return None
    return title, bounds


def _quote(title: str) -> str:
    return (
        "'" + title.replace("'", "''") + "'"
        if re.search(r"[^A-Za-z0-9_.]", title) or title[:1].isdigit()
        else title
    )


def _ref(title: str, c1: int, r1: int, c2: int, r2: int) -> str:
    a = f"${get_column_letter(c1)}${r1}"
    return (
        f"{_quote(title)}!{a}"
        if (c1, r1) == (c2, r2)
        else f"{_quote(title)}!{a}:${get_column_letter(c2)}${r2}"
    )


def _chart_prefix(xml: bytes) -> bytes | None:
    """The prefix (with its colon, or empty) bound to the chart namespace; None: not a chart."""
    m = re.search(rb'xmlns(?::(\w+))?="' + re.escape(_CHART_NS) + rb'"', xml[:4096])
    if m is None:
        return None
    return (m.group(1) + b":") if m.group(1) else b""


@dataclass
class _Series:
    start: int
    end: int
    xml: bytes
    name: str | None  # the series name as text (literal, a "string" formula or a cell's text)
    name_ref: tuple[str, tuple[int, int, int, int]] | None  # the cell the name comes from
    val: tuple[str, tuple[int, int, int, int]] | None
    idx: int


def series_of(
    xml: bytes, cell_text: Callable[[str, int, int], str | None] | None = None
) -> list[_Series]:
    """The series of a chart part, in order (``cell_text(sheet, row, col)`` resolves a name
    that points at a cell, when given)."""
    p = _chart_prefix(xml)
    if p is None:
        return []
    out: list[_Series] = []
    for m in re.finditer(b"<" + p + rb"ser>.*?</" + p + rb"ser>", xml, re.S):
        s = m.group(0)
        idx = re.search(b"<" + p + rb'idx val="(\d+)"', s)
        tx = re.search(b"<" + p + rb"tx>(.*?)</" + p + rb"tx>", s, re.S)
        name, name_ref = None, None
        if tx:
            f = re.search(b"<" + p + rb"f>(.*?)</" + p + rb"f>", tx.group(1), re.S)
            v = re.search(b"<" + p + rb"v>(.*?)</" + p + rb"v>", tx.group(1), re.S)
            if f:
                text = _unescape(f.group(1).decode())
                if text.startswith('"') and text.endswith('"'):
                    name = text[1:-1].replace('""', '"')
                else:
                    name_ref = _split_ref(text)
                    if name_ref and cell_text is not None:
                        name = cell_text(name_ref[0], name_ref[1][1], name_ref[1][0])
                    if name is None and v:
                        name = _unescape(v.group(1).decode())
            elif v:
                name = _unescape(v.group(1).decode())
        val = re.search(b"<" + p + rb"val>.*?<" + p + rb"f>(.*?)</" + p + rb"f>", s, re.S)
        out.append(
            _Series(
                m.start(),
                m.end(),
                s,
                name,
                name_ref,
                _split_ref(_unescape(val.group(1).decode())) if val else None,
                int(idx.group(1)) if idx else len(out),
            )
        )
    return out


_PALETTE = [
    "4472C4",
    "ED7D31",
    "A5A5A5",
    "FFC000",
    "5B9BD5",
    "70AD47",
    "264478",
    "9E480E",
    "636363",
    "997300",
    "255E91",
    "43682B",
]


def follow_charts(xml: bytes, moves: Iterable[TableMove]) -> bytes:
    """A chart part with every series that plotted a column of a moved table following that
    column by name: its values (and categories, and a name that points at the header cell) on
    the column's new place and rows; removed with its column; and one new series per column
    of the table that no series plotted (cloned from the last series plotting that table, with
    an automatic colour). Series that plot anything else are left as they were."""
    p = _chart_prefix(xml)
    if p is None:
        return xml
    moves = [m for m in moves if m.header]
    if not moves:
        return xml
    series = series_of(xml)
    if not series:
        return xml

    def move_for(ref: tuple[str, tuple[int, int, int, int]] | None) -> TableMove | None:
        if ref is None:
            return None
        title, (c1, r1, c2, r2) = ref
        for mv in moves:
            o = mv.old
            if (
                title == mv.sheet
                and c1 == c2
                and o[0] <= c1 <= o[2]
                and r1 >= o[1] + 1
                and r1 <= max(o[3], o[1] + 1)
            ):
                return mv
        return None

    new_xml: list[bytes] = []
    plotted: dict[int, set[str]] = {}  # id(move) -> headers plotted
    last_of: dict[int, _Series] = {}
    pos = 0
    changed = False
    for s in series:
        mv = move_for(s.val)
        new_xml.append(xml[pos : s.start])
        pos = s.end
        if mv is None:
            new_xml.append(s.xml)
            continue
        title, (c, _, _, _) = s.val  # type: ignore[misc]
        by_name = mv.column_of(s.name) if s.name is not None else None
        old_name = mv.old_name_at(c)
        col = (
            by_name
            if by_name is not None
            else (mv.column_of(old_name) if old_name is not None else None)
        )
        if col is None:  # its column is gone: so is the series
            changed = True
            continue
        header = mv.header[col - mv.old[0]]
        plotted.setdefault(id(mv), set()).add(header.casefold())
        updated = _point_series(s.xml, p, mv, col)
        changed |= updated != s.xml
        new_xml.append(updated)
        if id(mv) not in last_of or not _coloured(s.xml) or _coloured(last_of[id(mv)].xml):
            last_of[id(mv)] = s  # the model of a new series: the last one with automatic colours
    new_xml.append(xml[pos:])
    out = b"".join(new_xml)
    # a column no series plots, of a table this chart plots whole (every other column it had):
    # a new series (a new scenario). A chart of a few columns (one family's) gets none.
    adds: list[bytes] = []
    next_idx = max(s.idx for s in series) + 1
    for mv in moves:
        if id(mv) not in last_of:
            continue
        seen = plotted.get(id(mv), set())
        old_values = {h.casefold() for h in mv.old_header[1:]}
        still = old_values & {h.casefold() for h in mv.header}
        if not old_values or not still <= seen:  # the chart did not plot the table whole
            continue
        cat_col = mv.old[0]  # the table's first column is the categories (months)
        for j, h in enumerate(mv.header):
            col = mv.old[0] + j
            if col == cat_col or h.casefold() in seen:
                continue
            adds.append(_clone_series(last_of[id(mv)].xml, p, mv, col, next_idx))
            next_idx += 1
    if adds:
        last_end = out.rfind(b"</" + p + b"ser>") + len(b"</" + p + b"ser>")
        out = out[:last_end] + b"".join(adds) + out[last_end:]
        changed = True
    return out if changed else xml


def _point_series(s: bytes, p: bytes, mv: TableMove, col: int) -> bytes:
    """A series' references moved onto column ``col`` of the table (values), its first column
    (categories) and the header cell (a name that pointed at a header), caches dropped."""
    first, last = mv.body_rows

    def fix_ref(m: re.Match[bytes], want_col: int | None) -> bytes:
        ref = _split_ref(_unescape(m.group(2).decode()))
        if ref is None or ref[0] != mv.sheet:
            return m.group(0)
        c = want_col if want_col is not None else ref[1][0]
        new = _ref(mv.sheet, c, first, c, last)
        return m.group(1) + _xml_escape(new).encode() + m.group(3)

    f_open, f_close = b"<" + p + b"f>", b"</" + p + b"f>"
    pat = re.compile(b"(" + re.escape(f_open) + b")(.*?)(" + re.escape(f_close) + b")", re.S)

    def section(tag: bytes, want_col: int | None, text: bytes) -> bytes:
        o, c = b"<" + p + tag + b">", b"</" + p + tag + b">"
        i = text.find(o)
        if i < 0:
            return text
        j = text.find(c, i)
        inner = text[i:j]
        fixed = pat.sub(lambda m: fix_ref(m, want_col), inner, count=1)
        if fixed != inner:  # the cached points belong to the old cells
            fixed = re.sub(
                b"<" + p + rb"(numCache|strCache)>.*?</" + p + rb"\1>", b"", fixed, flags=re.S
            )
        return text[:i] + fixed + text[j:]

    s = section(b"val", col, s)
    s = section(b"cat", mv.old[0], s)
    tx = re.search(b"<" + p + rb"tx>.*?</" + p + rb"tx>", s, re.S)
    if tx and mv.header_cells:
        ref_m = pat.search(tx.group(0))
        ref = _split_ref(_unescape(ref_m.group(2).decode())) if ref_m else None
        if ref and ref[0] == mv.sheet and ref[1][1] == mv.old[1]:  # the header cell of its column
            new_tx = (
                b"<"
                + p
                + b"tx><"
                + p
                + b"strRef>"
                + f_open
                + _xml_escape(_ref(mv.sheet, col, mv.old[1], col, mv.old[1])).encode()
                + f_close
                + b"</"
                + p
                + b"strRef></"
                + p
                + b"tx>"
            )
            s = s[: tx.start()] + new_tx + s[tx.end() :]
    return s


def _coloured(s: bytes) -> bool:
    """Whether a series sets its own colour (a budget line drawn black), rather than the chart's."""
    return b"srgbClr" in s or b"schemeClr" in s


def _clone_series(s: bytes, p: bytes, mv: TableMove, col: int, idx: int) -> bytes:
    """A new series for column ``col``, made from the series ``s`` of the same table."""
    s = re.sub(b"<" + p + rb"(numCache|strCache)>.*?</" + p + rb"\1>", b"", s, flags=re.S)
    s = re.sub(b"<" + p + rb'idx val="\d+"', b"<" + p + b'idx val="%d"' % idx, s, count=1)
    s = re.sub(b"<" + p + rb'order val="\d+"', b"<" + p + b'order val="%d"' % idx, s, count=1)
    name = mv.header[col - mv.old[0]]
    if mv.header_cells:
        tx_ref = _xml_escape(_ref(mv.sheet, col, mv.old[1], col, mv.old[1])).encode()
        tx = (
            b"<"
            + p
            + b"tx><"
            + p
            + b"strRef><"
            + p
            + b"f>"
            + tx_ref
            + b"</"
            + p
            + b"f></"
            + p
            + b"strRef></"
            + p
            + b"tx>"
        )
    else:
        tx = (
            b"<"
            + p
            + b"tx><"
            + p
            + b"v>"
            + _xml_escape(name).encode()
            + b"</"
            + p
            + b"v></"
            + p
            + b"tx>"
        )
    if re.search(b"<" + p + rb"tx>", s):
        s = re.sub(b"<" + p + rb"tx>.*?</" + p + rb"tx>", lambda _: tx, s, count=1, flags=re.S)
    else:
        s = s.replace(
            b"<" + p + b'order val="%d"/>' % idx, b"<" + p + b'order val="%d"/>' % idx + tx, 1
        )
    colour = _PALETTE[idx % len(_PALETTE)].encode()
    s = re.sub(rb'(<a:srgbClr val=")[0-9A-Fa-f]{6}(")', rb"\g<1>" + colour + rb"\g<2>", s)
    s = re.sub(rb'<a:prstDash val="[^"]*"/>', b'<a:prstDash val="solid"/>', s)
    return _point_series(s, p, mv, col)


# -- drawings beside their tables ---------------------------------------------------------------
_ANCHOR = re.compile(rb"<(\w+:)?twoCellAnchor\b[^>]*>.*?</\1?twoCellAnchor>", re.S)


def shift_anchors(drawing: bytes, extents: list[tuple[int, int, int, int]]) -> bytes:
    """A drawing part whose two-cell anchors (charts) that overlap a table's extent (min_col,
    min_row, max_col, max_row; 1-based, as the tables now are) are moved right, to start one
    empty column after the table, keeping their size. Anchors clear of every table stay."""

    def col_row(block: bytes, tag: bytes) -> tuple[int, int] | None:
        m = re.search(
            rb"<(?:\w+:)?"
            + tag
            + rb">.*?<(?:\w+:)?col>(\d+)</(?:\w+:)?col>.*?<(?:\w+:)?row>(\d+)</(?:\w+:)?row>",
            block,
            re.S,
        )
        return (int(m.group(1)), int(m.group(2))) if m else None

    def fix(m: re.Match[bytes]) -> bytes:
        block = m.group(0)
        a, b = col_row(block, b"from"), col_row(block, b"to")
        if a is None or b is None:
            return block
        (c1, r1), (c2, r2) = a, b  # 0-based
        shift = 0
        for _ in range(len(extents) + 1):  # moving past one table may meet the next
            moved = False
            for t1, s1, t2, s2 in extents:
                if c1 + shift <= t2 - 1 and c2 + shift >= t1 - 1 and r1 <= s2 - 1 and r2 >= s1 - 1:
                    shift = t2 + 1 - c1
                    moved = True
            if not moved:
                break
        if shift <= 0:
            return block

        def bump(tag: bytes, text: bytes) -> bytes:
            return re.sub(
                rb"(<(?:\w+:)?" + tag + rb">.*?<(?:\w+:)?col>)(\d+)(</(?:\w+:)?col>)",
                lambda x: x.group(1) + str(int(x.group(2)) + shift).encode() + x.group(3),
                text,
                count=1,
                flags=re.S,
            )

        return bump(b"to", bump(b"from", block))

    return _ANCHOR.sub(fix, drawing)


def rels_targets(rels: bytes, base: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a .rels part, for the part ``base``."""
    out = {}
    for m in re.finditer(rb"<Relationship\b([^>]*?)/?>", rels):
        a = {
            k.decode(): _unescape(v.decode())
            for k, v in re.findall(rb'([\w:]+)\s*=\s*"([^"]*)"', m.group(1))
        }
        if a.get("TargetMode") == "External" or "Id" not in a:
            continue
        target = a.get("Target", "")
        part = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(posixpath.dirname(base), target))
        )
        out[a["Id"]] = (a.get("Type", ""), part)
    return out


def rels_part(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


# -- column widths --------------------------------------------------------------------------------
_COL = re.compile(rb"<col\b([^>]*?)/>")


def with_widths(prefix: bytes, widths: Mapping[int, float]) -> bytes:
    """A sheet's XML before ``<sheetData>`` with each column of ``widths`` (1-based number ->
    characters) at least that wide: a ``<col>`` range covering it is split; a width already
    larger (a planner's) is kept. Nothing else changes."""
    if not widths:
        return prefix
    m = re.search(rb"<cols>(.*?)</cols>", prefix, re.S)
    entries: list[list] = []  # [min, max, attrs without min/max]
    if m:
        for c in _COL.finditer(m.group(1)):
            attrs = c.group(1)
            lo = re.search(rb'\bmin="(\d+)"', attrs)
            hi = re.search(rb'\bmax="(\d+)"', attrs)
            if lo is None or hi is None:
                return prefix  # a form this does not read: leave it
            rest = re.sub(rb'\s*\b(min|max)="\d+"', b"", attrs)
            entries.append([int(lo.group(1)), int(hi.group(1)), rest])
    changed = False
    for col, want in sorted(widths.items()):
        for k, (lo, hi, rest) in enumerate(entries):
            if lo <= col <= hi:
                w = re.search(rb'\bwidth="([0-9.]+)"', rest)
                if w is not None and float(w.group(1)) + 1e-9 >= want:
                    break
                new_rest = (
                    re.sub(rb'\bwidth="[0-9.]+"', b'width="%s"' % _num(want), rest)
                    if w is not None
                    else rest + b' width="%s"' % _num(want)
                )
                if b"customWidth" not in new_rest:
                    new_rest += b' customWidth="1"'
                parts = (
                    ([[lo, col - 1, rest]] if lo < col else [])
                    + [[col, col, new_rest]]
                    + ([[col + 1, hi, rest]] if col < hi else [])
                )
                entries[k : k + 1] = parts
                changed = True
                break
        else:
            entries.append([col, col, b' width="%s" customWidth="1"' % _num(want)])
            changed = True
    if not changed:
        return prefix
    entries.sort(key=lambda e: e[0])
    block = (
        b"<cols>"
        + b"".join(
            b'<col min="%d" max="%d"%s/>'
            % (lo, hi, rest if rest.startswith(b" ") or not rest else b" " + rest)
            for lo, hi, rest in entries
        )
        + b"</cols>"
    )
    if m:
        return prefix[: m.start()] + block + prefix[m.end() :]
    return prefix + block  # <cols> comes right before <sheetData>


def _num(w: float) -> bytes:
    return (f"{w:.2f}".rstrip("0").rstrip(".")).encode()


def missing_values(
    read: Callable[[str], bytes], parts: Mapping[str, str], limit: int = 20
) -> tuple[int, list[str]]:
    """How many formula cells of these sheets (title -> part) have no cached value, and the
    first ``limit`` of them as "Sheet 'X', cell A1"."""
    n, shown = 0, list[str]()
    for title, part in parts.items():
        xml = read(part)
        if not any(x in xml for x in (b"</f></c>", b"<v/>", b"<v></v>", b"/></c>", b"<v />")):
            continue
        missing = scan_formulas(xml).missing
        n += len(missing)
        shown += [f"Sheet '{title}', cell {c}" for c in missing[: max(limit - len(shown), 0)]]
    return n, shown


_FONT_ORDER = {
    name: i
    for i, name in enumerate(
        (
            b"b",
            b"i",
            b"strike",
            b"condense",
            b"extend",
            b"outline",
            b"shadow",
            b"u",
            b"vertAlign",
            b"sz",
            b"color",
            b"name",
            b"family",
            b"charset",
            b"scheme",
        )
    )
}


def canonical_fonts(styles: bytes) -> bytes:
    """styles.xml with each font's properties in the schema's order (openpyxl writes name and
    family first, which Excel reads but the Open XML SDK's validator calls invalid)."""

    def fix(m: re.Match[bytes]) -> bytes:
        children = re.findall(rb"<(\w+)\b[^>]*/>", m.group(2))
        parts = re.findall(rb"<\w+\b[^>]*/>", m.group(2))
        if (
            len(parts) != len(children)
            or b"".join(parts) != re.sub(rb"\s+(?=<)", b"", m.group(2)).strip()
        ):
            return m.group(0)  # not only empty elements: leave it
        ordered = sorted(
            zip(children, parts, strict=True), key=lambda cp: _FONT_ORDER.get(cp[0], 99)
        )
        return m.group(1) + b"".join(p for _, p in ordered) + m.group(3)

    return re.sub(rb"(<font\b[^>]*>)(.*?)(</font>)", fix, styles, flags=re.S)


def empty_text_results(xml: bytes) -> set[str]:
    """The formula cells whose cached value is an empty text (``t="str"``, ``<v></v>``): a blank
    result, which openpyxl and calamine read as no value at all."""
    if b"<v></v>" not in xml and b"<v/>" not in xml:
        return set()
    out = set()
    for m in _FORMULA_CELL.finditer(xml):
        v = m.group(3)
        if (
            v is not None
            and v in (b"<v></v>", b"<v/>")
            and (t := _T_ATTR.search(m.group(1)))
            and t.group(1) == b"str"
        ):
            r = _REF_ATTR.search(m.group(1))
            if r:
                out.add(r.group(1).decode())
    return out


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_V_TEXT = re.compile(rb"<v(?:\s[^>]*)?>([^<]*)</v>|<v\s*/>")
_IS_TEXT = re.compile(rb"<t(?:\s[^>]*)?>([^<]*)</t>")
_PREFIXED_CELL = re.compile(rb"<\w+:c\b")


def cell_values(xml: bytes, strings: Sequence[str]) -> tuple[dict[str, object], set[str]] | None:
    """Each cell's value as a sheet's XML holds it (a formula's: its cached value), by address,
    and the addresses of the formula cells; None for XML this scan does not read (prefixed
    elements: read it with openpyxl).

    A value: ``float`` (numbers, dates as their serial), ``bool``, ``str`` (text; an error as its
    code, "#N/A"); ``""`` for a formula's empty text result (``t="str"``, ``<v></v>``); ``None``
    where the cell has no value (a formula without a cached one).
    """
    if _PREFIXED_CELL.search(xml):
        return None
    values: dict[str, object] = {}
    formulas: set[str] = set()
    for m in _CELL.finditer(xml):
        r = _REF_ATTR.search(m.group(1))
        if r is None:
            return None  # a cell without its address: positions would need counting
        ref = r.group(1).decode()
        body = m.group(2) or b""
        if b"<f" in body:
            formulas.add(ref)
        t_attr = _T_ATTR.search(m.group(1))
        t = t_attr.group(1) if t_attr else b"n"
        if t == b"inlineStr":
            values[ref] = _unescape(b"".join(_IS_TEXT.findall(body)).decode("utf-8"))
            continue
        v = _V_TEXT.search(body)
        if v is None:
            values[ref] = None
            continue
        text = _unescape((v.group(1) or b"").decode("utf-8"))
        if t == b"s":
            values[ref] = strings[int(text)] if text else None
        elif t == b"b":
            values[ref] = text.strip() in ("1", "true")
        elif t in (b"str", b"e", b"d"):
            values[ref] = text
        else:
            values[ref] = float(text) if text.strip() else None
    return values, formulas


def sheet_parts(z: Any) -> dict[str, tuple[str, int]]:
    """Sheet title -> (its part, its sheetId) in an open ``zipfile.ZipFile`` of a workbook."""
    names = set(z.namelist())
    wb_part = "xl/workbook.xml"
    rels = rels_targets(z.read(rels_part(wb_part)), wb_part) if rels_part(wb_part) in names else {}
    out = {}
    for m in re.finditer(rb"<sheet\b([^>]*)/?>", z.read(wb_part)):
        a = dict(re.findall(rb'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in a.items() if k.endswith(b":id")), b"").decode()
        part = rels.get(rid, ("", ""))[1]
        if part in names:
            out[_unescape(a.get(b"name", b"").decode())] = (part, int(a.get(b"sheetId", b"0")))
    return out
