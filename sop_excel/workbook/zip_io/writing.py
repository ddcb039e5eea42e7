"""Saving: the pending writes planned, checked, and written into a new package."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import range_boundaries

from sop_excel.errors import LayoutError
from sop_excel.models import LayoutSpec
from sop_excel.workbook import package
from sop_excel.workbook.build import NUMBER_FORMATS
from sop_excel.workbook.convert import FrameBody, FrameRows
from sop_excel.workbook.io import CellValue, Rows
from sop_excel.workbook.zip_io.aside import SheetAside
from sop_excel.workbook.zip_io.cells import (
    CELL,
    row_span,
)
from sop_excel.workbook.zip_io.parts import (
    SavedStamp,
    TableEdit,
    TablePart,
    copy_raw,
    leaves_values_missing,
    new_info,
    stretch_refs,
    table_xml,
    with_styles,
)
from sop_excel.workbook.zip_io.reading import PackageReader
from sop_excel.workbook.zip_io.sheet import mixed_styles, write_sheet
from sop_excel.workbook.zip_io.xml_text import (
    COLUMN_NUMBERS,
    ZipUnsupported,
    rels_part_of,
    xml_attrs,
)


class PackageWriter(PackageReader):
    """What :meth:`~sop_excel.workbook.zip_io.ZipIO.save` does: the pending writes checked,
    grouped by sheet, and written into a new package beside the parts copied as they are."""

    layout: LayoutSpec
    _writes: dict[str, Rows | FrameRows]
    _order: list[str]
    _stamps: dict[str, list[tuple[int, int, SavedStamp]]]  # table -> its SavedStamp cells
    _formulas_seen: dict[str, bool]  # part -> whether it holds a formula, where the guard looked

    def _close_calamine(self) -> None:
        """Let go of any other reader of the file (before it is replaced)."""

    def _stamp_of(self, infos: dict[str, zipfile.ZipInfo], names: Iterable[str]) -> str | None:
        """:meth:`content_stamp` from these members' directory entries (the file's, or those
        a save has written so far: :class:`~.parts.SavedStamp`); None if one is missing."""
        parts = []
        for name in names:
            tbl = self._tables.get(name)
            if tbl is None or tbl.sheet_part not in infos or tbl.part not in infos:
                return None
            info, table = infos[tbl.sheet_part], infos[tbl.part]
            parts.append(
                f"{name}={tbl.part}|{table.CRC:08x}|{table.file_size}|"  # its range and columns
                f"{tbl.sheet_part}|{info.CRC:08x}|{info.file_size}"
            )
        shared = next((p for p in self._members if p.endswith("sharedStrings.xml")), None)
        if shared:
            if shared not in infos:
                return None
            info = infos[shared]
            parts.append(f"strings={info.CRC:08x}|{info.file_size}")
        parts.append(f"date1904={int(self._date1904)}")  # how every date cell reads
        return ";".join(parts)

    # -- writing ----------------------------------------------------------------------------
    def _plan(self) -> dict[str, list[TableEdit]]:
        """Check every pending write and group them by sheet part."""
        by_sheet: dict[str, list[TableEdit]] = {}
        for name in self._order:
            tbl = self._tables[name]
            head = re.search(rb"<table\b[^>]*>", tbl.xml).group(0)  # type: ignore[union-attr]
            a = xml_attrs(head)
            if a.get("headerRowCount", "1") != "1" or a.get("totalsRowCount", "0") not in ("0", ""):
                raise ZipUnsupported(f"table {name} has a totals row or no header row")
            rows = self._writes[name]
            header = [str(h) for h in rows[0]]
            body = (rows.body() if isinstance(rows, FrameRows) else rows[1:]) or [
                [None] * len(header)
            ]
            kept = (  # rows the caller says the saved table holds as they are, from its first
                rows.unchanged
                if isinstance(rows, FrameRows) and rows.unchanged_from == tbl.bounds[1] + 1
                else 0
            )
            by_sheet.setdefault(tbl.sheet_part, []).append(
                TableEdit(tbl, header, body, tbl.bounds, header != tbl.columns, kept)
            )
        for part, edits in by_sheet.items():
            for e in edits:
                c1, r1, c2, r2 = e.old
                for o in edits:
                    if o is e:
                        continue
                    d1, s1, d2, s2 = o.old
                    overlap_cols = (
                        max(c1, d1) <= max(c2, e.new_last_col, d2, o.new_last_col)
                        and min(c2, e.new_last_col) >= d1
                        and min(d2, o.new_last_col) >= c1
                    )
                    if overlap_cols:
                        raise ZipUnsupported(
                            f"tables {e.table.name} and {o.table.name} share columns on one sheet"
                        )
            for tbl in self._tables.values():
                if tbl.sheet_part != part or tbl.name in self._writes:
                    continue
                d1, s1, d2, s2 = tbl.bounds
                for e in edits:
                    c1, r1, _, _ = e.old
                    c2 = max(e.old[2], e.new_last_col)
                    last = max(e.old[3], e.new_last_row)
                    if d1 <= c2 and d2 >= c1 and s1 <= last and s2 >= r1:
                        raise LayoutError(
                            f"{self.name}: table {e.table.name} on sheet '{e.table.sheet}' would grow "
                            f"into table {tbl.name} ({tbl.ref}); nothing was written. Move {tbl.name} "
                            f"away from {e.table.name} (to the right or further down), then run again."
                        )
        return by_sheet

    def _date_styles(self, col_styles: list[str]) -> list[Callable[[dt.date], str] | None]:
        """Per column: None when its style shows dates, else how to pick a date style for a date."""
        styles = self._stylesheet()

        def pick(v: dt.date) -> str:
            code = "yyyy-mm-dd h:mm:ss" if isinstance(v, dt.datetime) else "yyyy-mm-dd"
            return f' s="{self._style_for(code)}"'

        out: list[Callable[[dt.date], str] | None] = []
        for s in col_styles:
            sid = int(s[4:-1]) if s else 0
            out.append(None if sid in styles.date_ids else pick)
        return out

    def _column_styles(self, xml: bytes, e: TableEdit, kinds: list[str]) -> list[str]:
        """Style attribute per new column: the old first body row's, else the layout kind's."""
        min_col, min_row, max_col, _ = e.old
        styles = self._stylesheet()
        lo, hi = row_span(xml, min_row + 1, min_row + 1)
        old: dict[str, str] = {}
        for letters, _, s, _, rest, _ in CELL.findall(xml[lo:hi]):
            c = COLUMN_NUMBERS[letters.decode()]
            if min_col <= c <= max_col:
                sid = (s.decode() if s else "") or xml_attrs(rest).get("s", "")
                old[e.table.columns[c - min_col] if c - min_col < len(e.table.columns) else ""] = (
                    sid
                )
        out = []
        for h, kind in zip(e.header, kinds, strict=True):
            want = NUMBER_FORMATS.get(kind)
            sid = old.get(h)
            if sid is not None and (want is None or styles.fmt_of_xf[int(sid or 0)] == want):
                out.append(f' s="{sid}"' if sid not in ("", "0") else "")
                continue
            if want is None:
                out.append("")
                continue
            out.append(f' s="{self._style_for(want)}"')
        return out

    def _style_for(self, code: str) -> int:
        styles = self._stylesheet()
        for i, f in enumerate(styles.fmt_of_xf):
            if f == code:
                return i
        i = len(styles.fmt_of_xf)
        styles.added.append((code, i))
        styles.fmt_of_xf.append(code)
        if is_date_format(code):
            styles.date_ids.add(i)
        return i

    def _widths(self, edits: list[TableEdit]) -> dict[int, float]:
        """Column -> the width its header (with the filter button) and its numbers need; a new
        column at least the layout's width. Only ever widens (package.with_widths)."""
        from sop_excel.workbook.build import column_layouts, fitted_widths

        out: dict[int, float] = {}
        for e in edits:
            try:
                layout = self.layout.table(e.table.name)
            except KeyError:
                continue
            cols = column_layouts(layout, e.header)
            header: list[CellValue] = list(e.header)
            rows = e.body.rows if isinstance(e.body, FrameBody) else [header, *e.body]
            fitted = fitted_widths([c.model_copy(update={"width": 0}) for c in cols], rows)
            for j, (col, need) in enumerate(zip(cols, fitted, strict=True)):
                c = e.old[0] + j
                out[c] = max(out.get(c, 0.0), need if c <= e.old[2] else max(need, col.width))
        return out

    def _kinds(self, e: TableEdit) -> list[str]:
        try:
            layout = self.layout.table(e.table.name)
        except KeyError:
            return ["text"] * len(e.header)
        by_header = {c.header: c.kind for c in layout.columns}
        default = "qty" if layout.dynamic_columns else "text"
        return [by_header.get(h, default) for h in e.header]

    CENSUS_MAX_BYTES = 8 * 1024 * 1024
    """Sheets not rewritten are looked at for formulas up to this size (uncompressed); a bigger
    one leaves the decision to recalculate at open as the file had it."""

    def _calc_on_load(self, plan: dict[str, list[TableEdit]], old_xml: dict[str, bytes]) -> bool:
        """Whether Excel must recalculate every formula when it opens the saved file: only when
        a cached value may be missing or stale after this save. That is: a formula this save
        writes without a value; a formula cell left without one (openpyxl's ``<v></v>``); or a
        formula sop-excel did not write (a planner's own, anywhere: what it refers to may have
        changed). sop-excel's own formula columns carry the values Python computed for them.
        """
        if any(leaves_values_missing(e) for edits in plan.values() for e in edits):
            return True
        by_part: dict[str, list[TablePart]] = {}
        for tbl in self._tables.values():
            by_part.setdefault(tbl.sheet_part, []).append(tbl)
        was = bool(re.search(rb'<calcPr\b[^>]*\bfullCalcOnLoad="(1|true)"', self._wb_xml))
        for part in self._sheets.values():
            if part in old_xml:
                xml = old_xml[part]
            elif self._formulas_seen.get(part) is False:
                continue  # the guard's pass over it found no formula: nothing to look at
            elif part in self._members and self._members[part].file_size <= self.CENSUS_MAX_BYTES:
                xml = self._read(part)
            else:
                if was:  # too big to look at: as the file had it
                    return True
                continue
            at = xml.find(b"<f")  # one pass; each formula element starts with it
            n = 0 if at < 0 else sum(xml.count(f, at) for f in (b"<f>", b"<f ", b"<f/>"))
            if not n:
                continue
            if n > sum(self._own_formulas(t) for t in by_part.get(part, [])):
                return True  # a formula sop-excel did not write
            if any(x in xml for x in (b"</f></c>", b"<v/>", b"<v></v>", b"/></c>")):
                cleared = [
                    (
                        e.old[0],
                        e.old[1] + 1,
                        max(e.old[2], e.new_last_col),
                        max(e.old[3], e.new_last_row),
                    )
                    for e in plan.get(part, [])
                ]
                for ref in package.scan_formulas(xml).missing:
                    c1, r1, _, _ = range_boundaries(ref)
                    if not any(a <= c1 <= c and b <= r1 <= d for a, b, c, d in cleared):
                        return True  # a formula without a value that this save does not rewrite
        return False

    def _own_formulas(self, tbl: TablePart) -> int:
        """Formula cells sop-excel writes in this table as it is in the file (formula columns x rows)."""
        try:
            layout = self.layout.table(tbl.name)
        except KeyError:
            return 0
        fields = {c.header for c in layout.columns if c.formula}
        c1, r1, c2, r2 = tbl.bounds
        return sum(1 for h in tbl.columns if h in fields) * max(r2 - r1, 0)

    def _drawings_beside_tables(self, plan: dict[str, list[TableEdit]]) -> dict[str, bytes]:
        """The drawing parts of rewritten sheets with every chart a table now runs under moved
        to the right of it (a new Compare column under the chart beside it)."""
        out: dict[str, bytes] = {}
        for part, edits in plan.items():
            extents = []
            for tbl in self._tables.values():
                if tbl.sheet_part != part:
                    continue
                e = next((e for e in edits if e.table is tbl), None)
                c1, r1, c2, r2 = tbl.bounds
                extents.append((c1, r1, e.new_last_col, e.new_last_row) if e else (c1, r1, c2, r2))
            for typ, target in self._rel_targets(part).values():
                if typ.endswith("/drawing") and target in self._members:
                    xml = self._read(target)
                    new = package.shift_anchors(xml, extents)
                    if new != xml:
                        out[target] = new
        return out

    def _write_package(self, tmp: Path, plan: dict[str, list[TableEdit]]) -> None:
        new_parts: dict[str, bytes] = {}
        stretch_by_sheet: dict[str, list[tuple[int, int, int, int]]] = {}
        sheet_jobs = {}
        for part, edits in plan.items():
            xml = self._read(part)
            styles = [self._column_styles(xml, e, self._kinds(e)) for e in edits]
            sheet_jobs[part] = (
                xml,
                edits,
                [
                    (c, self._date_styles(c), mixed_styles(xml, e))
                    for c, e in zip(styles, edits, strict=True)
                ],
                self._widths(edits),
            )
            title = edits[0].table.sheet
            for e in edits:
                new_parts[e.table.part] = table_xml(e)
                c1, r1, c2, _ = e.old
                stretch_by_sheet.setdefault(title, []).append(
                    (c1, r1 + 1, max(c2, e.new_last_col), e.new_last_row)
                )
        calc = self._calc_on_load(plan, {part: job[0] for part, job in sheet_jobs.items()})
        wb_xml = package.with_full_calc(self._wb_xml, calc)
        wb_xml = stretch_refs(
            wb_xml, rb"(<definedName\b[^>]*>)(.*?)(</definedName>)", stretch_by_sheet, None
        )
        new_parts[self._wb_part] = wb_xml
        moves = [
            package.TableMove(e.table.sheet, e.old, list(e.table.columns), e.header, e.new_last_row)
            for edits in plan.values()
            for e in edits
        ]
        for p in self._members:
            if p.startswith("xl/charts/") and p.endswith(".xml") and "/_rels/" not in p:
                xml = self._read(p)
                new = package.follow_charts(
                    xml, moves
                )  # series follow their table's columns by name
                new = stretch_refs(
                    new, rb"(<(?:\w+:)?f>)(.*?)(</(?:\w+:)?f>)", stretch_by_sheet, None
                )
                if new != xml:
                    new_parts[p] = new
        new_parts.update(self._drawings_beside_tables(plan))
        skip = set()
        if plan:  # formulas move: Excel's calculation chain would name cells that hold none (a repair prompt)
            chain = next((p for p in self._members if p.lower().endswith("calcchain.xml")), None)
            if chain is not None:
                skip.add(chain)
                wb_rels = rels_part_of(self._wb_part)
                ct, rels = package.drop_calc_chain(
                    self._read("[Content_Types].xml"), self._read(wb_rels)
                )
                new_parts["[Content_Types].xml"], new_parts[wb_rels] = ct, rels
        if package.ribbon_rel_missing(self._members, self._read("_rels/.rels")):
            new_parts["_rels/.rels"] = package.with_ribbon_rel(
                self._read("_rels/.rels")
            )  # dropped by openpyxl
        styles_part = posixpath.join(posixpath.dirname(self._wb_part), "styles.xml")
        stamped = {self._tables[n].sheet_part for n in self._stamps if n in self._writes}
        asides: list[SheetAside] = []  # the biggest sheets made meanwhile, where they can be
        try:
            while len(asides) < SheetAside.MAX_ASIDE:
                aside = SheetAside.start(
                    self._members,
                    self._stylesheet(),
                    sheet_jobs,
                    frozenset(a.part for a in asides) | stamped,  # made here, after the rest
                )
                if aside is None:
                    break
                asides.append(aside)
            self._write_members(tmp, sheet_jobs, new_parts, styles_part, asides, skip, stamped)
        finally:
            for aside in asides:
                aside.discard()
        self._close_calamine()  # both before the rename: Windows cannot replace a file that is open
        self._zip.close()

    def _write_members(
        self,
        tmp: Path,
        sheet_jobs: dict,
        new_parts: dict[str, bytes],
        styles_part: str,
        asides: list[SheetAside],
        skip: set[str] | None = None,
        stamped: set[str] | None = None,
    ) -> None:
        made_aside = {a.part for a in asides}
        held = sorted(stamped or ())  # sheets with a SavedStamp: after the parts it names
        named = {
            part
            for cells in self._stamps.values()
            for _, _, stamp in cells
            for n in stamp.names
            if n in self._tables
            for part in (self._tables[n].sheet_part, self._tables[n].part)
        }
        with (
            open(tmp, "wb") as fh,
            zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
        ):
            src = self._zip.fp
            for info in self._zip.infolist():
                name = info.filename
                if skip and name in skip:
                    continue
                if name in made_aside or name in held:
                    continue  # after the others: it is being made meanwhile, or names them
                if name in sheet_jobs:
                    write_sheet(out, info, sheet_jobs.pop(name))
                elif name == styles_part:
                    continue  # last: writing the sheets may add number formats
                elif name in new_parts:
                    out.writestr(new_info(info, 6), new_parts[name])
                else:
                    copy_raw(src, info, out)  # type: ignore[arg-type]
            if held and not named & made_aside:  # while the sheets made aside come
                self._write_stamped(out, held, sheet_jobs)
            for aside in asides:
                if not aside.copy_into(out):
                    write_sheet(out, self._members[aside.part], sheet_jobs.pop(aside.part))
            self._write_stamped(out, held, sheet_jobs)
            st = self._stylesheet()
            if st.added:
                out.writestr(new_info(self._members[styles_part], 6), with_styles(st))
            else:
                copy_raw(src, self._members[styles_part], out)  # type: ignore[arg-type]

    def _write_stamped(self, out: zipfile.ZipFile, held: list[str], sheet_jobs: dict) -> None:
        """The sheets held back for their :class:`~.parts.SavedStamp` cells: each stamp made
        from the parts as written into ``out`` so far, then the sheet (``held`` emptied)."""
        while held:
            part = held.pop(0)
            job = sheet_jobs.pop(part)
            for e in job[1]:  # the edits' own rows: the pending writes keep their stamps
                for i, j, stamp in self._stamps.get(e.table.name, []):
                    row = list(e.body[i - 1])
                    row[j] = self._stamp_of(out.NameToInfo, stamp.names) or str(stamp)
                    e.body[i - 1] = row
            write_sheet(out, self._members[part], job)
