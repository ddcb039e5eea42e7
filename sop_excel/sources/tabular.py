"""A user's file as a header and columns: CSV in any usual encoding and separator, or an xlsx sheet.

Every reader of the user's files (actuals, item master, history, budget, capacity, open orders)
starts here, so each gets the same answers to "which encoding, which separator, which sheet"
and says them in its summary:

* **CSV**: UTF-8 with or without a byte-order mark, UTF-16 (with a byte-order mark, or
  recognised by its zero bytes), otherwise Windows-1252 (said, since it may be a misread of
  another code page; ``encoding`` settles it). The separator is the one of comma, semicolon,
  tab and bar that the header line uses most (outside quotes).
* **xlsx/xlsm**: checked by the workbook guard first (zip bombs, DTDs); the sheet named by the
  caller, else the only visible sheet. Hidden sheets are never read unless named. Cells holding
  an error (``#DIV/0!``) or a formula without a saved value are refused by cell when their
  column is used (calamine would read both as empty, that is as 0).

The header is the first non-empty row; blank rows are skipped; each value keeps the row (CSV)
or cell (xlsx) it came from, for messages.
"""

from __future__ import annotations

import csv
import gc
import io
import re
import zipfile
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from sop_excel.errors import CellProblem, InputError, SopExcelError, WorkbookCorruptError
from sop_excel.files import check_regular, max_source_bytes, read_limited, size_text
from sop_excel.workbook.layout import column_letter

__all__ = ["CSV_SUFFIXES", "XLSX_SUFFIXES", "Table", "position_letter", "read_table"]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_TOO_BIG = (
    "Export fewer rows (only the months and items the plan needs), or set SOP_EXCEL_MAX_SOURCE_MB "
    "to raise the limit."
)
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
_ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
    "iso-8859-1": "Latin-1",
    "iso-8859-15": "Latin-9",
    "cp1250": "Windows-1250",
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def position_letter(pos: int) -> str:
    """The Excel column letters of a 0-based position in a file's row: 0 -> A, 27 -> AB
    (:func:`~sop_excel.workbook.layout.column_letter` of ``pos + 1``)."""
    return column_letter(pos + 1)


@dataclass
class Table:
    """A file's header and data rows, and where each came from.

    Attributes:
        name: the file name, as messages say it.
        sheet: the sheet read (xlsx), else None.
        header: the header cells as text (stripped), in file order.
        header_row: the header's row (1-based).
        rows: the row number of each data row (blank rows skipped).
        notes: what was noticed on the way (encoding, separator, sheet), for the summary.
        date1904: the workbook counts dates from 1904 (xlsx only).
    """

    name: str
    sheet: str | None
    header: list[str]
    header_row: int
    rows: np.ndarray
    notes: list[str] = field(default_factory=list)
    date1904: bool = False
    _columns: Callable[[Sequence[int]], list[pd.Series]] | None = field(default=None, repr=False)
    _bad_cells: dict[tuple[int, int], str] = field(default_factory=dict, repr=False)

    def where(self, col: int, pos: int) -> str:
        """``File a.csv, row 12, column 'qty'`` or ``File a.xlsx, sheet 'S', cell C12``."""
        if self.sheet is None:
            return f"File {self.name}, row {int(self.rows[pos])}, column '{self.header[col]}'"
        return f"File {self.name}, sheet '{self.sheet}', cell {position_letter(col)}{int(self.rows[pos])}"

    def row_where(self, pos: int) -> str:
        if self.sheet is None:
            return f"File {self.name}, row {int(self.rows[pos])}"
        return f"File {self.name}, sheet '{self.sheet}', row {int(self.rows[pos])}"

    @property
    def header_where(self) -> str:
        if self.sheet is None:
            return f"File {self.name}, row {self.header_row} (header)"
        return f"File {self.name}, sheet '{self.sheet}', row {self.header_row} (header)"

    def columns(self, indices: Sequence[int]) -> list[pd.Series]:
        """The data values of these columns (text from CSV, typed cells from xlsx), in row order.

        Raises:
            InputError: a used xlsx cell holds an error value or a formula without a value.
        """
        problems = [
            CellProblem(
                f"File {self.name}, sheet '{self.sheet}', cell {position_letter(c)}{r}",
                None if what == "formula" else what,
                "is a formula without a saved value"
                if what == "formula"
                else "is an error value, not a number or a date",
                "Open the file in Excel and save it (Excel calculates every formula), "
                "or type the value."
                if what == "formula"
                else "Correct the formula or the cell in the file, or type the value.",
            )
            for (r, c), what in sorted(self._bad_cells.items())
            if c in set(indices)
        ]
        if problems:
            raise InputError(f"File {self.name} has cells sop-excel cannot read", problems)
        assert self._columns is not None
        return self._columns(indices)


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    expected: str = "",
    label: str = "",
    what: str = "rows",
    missing: str | None = None,
    guard_prefix: str = "File ",
    too_big: str = _TOO_BIG,
) -> Table:
    """Open a CSV or xlsx file and read its header.

    Args:
        path: the file.
        sheet: the xlsx sheet to read (case-insensitive); default the only visible sheet.
        encoding: the CSV's encoding when detection must not decide (e.g. ``cp1250``).
        delimiter: the CSV's separator when detection must not decide.
        expected: the columns the caller wants, for the message about an empty file.
        label: how messages about an empty CSV start (default its name).
        what: what the data rows are, for "has a header but no <what>".
        missing: the message when there is no file (default: "No file at <path>. Check the path.").
        guard_prefix: put before the workbook guard's refusal of an xlsx ("Actuals file "), and
            before the file's name when it is not a file or too large.
        too_big: what to do about a file larger than ``SOP_EXCEL_MAX_SOURCE_MB`` (256 MB).

    Raises:
        SopExcelError: no file, a pipe, folder or device (refused without opening it: a pipe's
            open waits forever), a file larger than the limit, or not a file sop-excel reads.
        InputError: the file is empty, has only a header, is not text, is not a valid CSV, or
            (xlsx) has no such sheet or several visible ones.
    """
    p = Path(path)
    what_file = guard_prefix.strip() or "File"
    try:
        size = check_regular(p, what_file).st_size
    except FileNotFoundError:
        raise SopExcelError(missing or f"No file at {p}. Check the path.") from None
    if size > max_source_bytes():
        raise SopExcelError(
            f"{what_file} {p.name} is {size_text(size)}; sop-excel reads such files up to "
            f"{size_text(max_source_bytes())}. {too_big}"
        )
    suffix = p.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(p, sheet, expected, guard_prefix, what)
    return _read_csv(p, encoding, delimiter, expected, label or p.name, what)


# -- CSV --------------------------------------------------------------------------------------
def _decode(p: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """(text, encoding name for the summary)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise SopExcelError(
                f"{encoding!r} is not an encoding Python knows; write e.g. utf-8, "
                "cp1252, utf-16 or cp1250."
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{p.name} is not {encoding} text (byte {exc.start}). Check the "
                "encoding in the mapping file, or export the file as CSV (UTF-8)."
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        codec = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    elif len(data) >= 4 and data[1:200:2].count(0) > 0.8 * len(data[1:200:2]) and data[0] != 0:
        codec = "utf-16-le"
    elif len(data) >= 4 and data[0:200:2].count(0) > 0.8 * len(data[0:200:2]):
        codec = "utf-16-be"
    else:
        codec = "utf-8"
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        if codec != "utf-8":
            raise InputError(
                f"{p.name} is not readable {_ENCODINGS[codec]} text (byte {exc.start}). "
                "Export it from your system as CSV (UTF-8)."
            ) from None
        first_bad = exc.start
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise InputError(
            f"{p.name} is not a UTF-8 or Windows-1252 text file (byte {first_bad}). "
            "Export it from your system as CSV (UTF-8)."
        ) from None


def _separator(p: Path, header_line: str, sample: list[str], delimiter: str | None) -> str:
    if delimiter:
        return delimiter
    counts = {}
    for sep in _SEPARATORS:
        try:
            counts[sep] = len(next(csv.reader([header_line], delimiter=sep))) - 1
        except (csv.Error, StopIteration):
            counts[sep] = 0
    best = max(counts.values())
    if best == 0:
        return ","
    tied = [s for s, n in counts.items() if n == best]
    if len(tied) > 1:  # the one whose rows have the header's width
        fits = [
            s for s in tied if all(len(r) == best + 1 for r in csv.reader(sample, delimiter=s) if r)
        ]
        if len(fits) != 1:
            raise InputError(
                f"File {p.name}: cannot tell its column separator (the header has as many "
                f"{' as '.join(_SEPARATORS[s] + 's' for s in tied)}). Say which with "
                'delimiter = ";" in the mapping file, or export it again.'
            )
        tied = fits
    return tied[0]


def _read_csv(
    p: Path, encoding: str | None, delimiter: str | None, expected: str, label: str, what: str
) -> Table:
    text, codec = _decode(p, read_limited(p, "File", max_source_bytes(), _TOO_BIG), encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    notes = []
    if codec not in ("utf-8", "utf-8-sig"):
        notes.append(
            f"read as {_ENCODINGS.get(codec, codec)}" + (", not UTF-8" if codec == "cp1252" else "")
        )
    # the header: the first line with anything on it
    lines = io.StringIO(text)
    head_no = 0
    header_line = ""
    for head_no, line in enumerate(lines, start=1):  # noqa: B007 - the line number is used below
        if line.strip():
            header_line = line
            break
    else:
        raise InputError(
            f"{label} is empty." + (f" Expected a header row: {expected}." if expected else "")
        )
    sample = [ln for _, ln in zip(range(20), lines, strict=False)]
    sep = _separator(p, header_line, sample, delimiter)
    if sep != ",":
        notes.append(f"columns separated by {_SEPARATORS.get(sep, repr(sep))}s")
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        header: list[str] = []
        for _ in range(head_no):
            header = next(reader)
    except csv.Error as exc:
        raise _csv_error(p, reader.line_num, exc) from None
    header = [h.strip() for h in header]
    try:  # is there a row under the header? (the columns are cut out later, in one pass)
        has_rows = any("".join(row).strip() for row in reader)
    except csv.Error as exc:
        raise _csv_error(p, reader.line_num, exc) from None
    if not has_rows:
        raise InputError(f"{label} has a header but no {what}.")
    table = Table(p.name, None, header, head_no, np.zeros(0, dtype=np.int64), notes, False)

    def columns(indices: Sequence[int]) -> list[pd.Series]:
        """One pass over the text: only these columns are kept (two million rows of a
        transactional export fit in memory as three columns, not as rows). pandas' C parser
        where it reads the text as Python's csv module does (no NUL, no carriage return but in
        CR LF line ends, no row wider than the header), else the csv module. Rows with nothing
        in these columns are skipped (and counted in the notes)."""
        fast = _fast_columns(text, sep, head_no, len(header), indices)
        if fast is not None:
            cols, blank = fast
            table.rows = np.flatnonzero(~blank) + head_no + 1
            _count_skipped(table, int(blank.sum()))
            return [pd.Series(c[~blank], dtype=object) for c in cols]
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        numbers = array("q")
        picked: list[tuple[str, ...]] = []
        pick = picked.append
        get = itemgetter(*indices) if len(indices) > 1 else (lambda row, i=indices[0]: (row[i],))
        first = indices[0] if indices else 0
        widest = max(indices, default=-1)
        keep = numbers.append
        n = head_no
        gc_was = gc.isenabled()
        gc.disable()  # millions of small tuples kept: the collector would rescan them again and again
        try:
            for _ in range(head_no):
                next(reader)
            skipped = 0
            for row in reader:
                n += 1
                if not (len(row) > first and row[first].strip()):
                    vals = (
                        get(row) if len(row) > widest else get(row + [""] * (widest + 1 - len(row)))
                    )
                    if not "".join(vals).strip():  # nothing in the columns read
                        skipped += 1
                        continue
                keep(n)
                pick(get(row) if len(row) > widest else get(row + [""] * (widest + 1 - len(row))))
        except csv.Error as exc:
            raise _csv_error(p, reader.line_num, exc) from None
        finally:
            if gc_was:
                gc.enable()
        lists = [list(map(itemgetter(k), picked)) for k in range(len(indices))]
        del picked
        table.rows = (
            np.frombuffer(numbers, dtype=np.int64) if len(numbers) else np.zeros(0, dtype=np.int64)
        )
        _count_skipped(table, skipped)
        return [pd.Series(c, dtype=object) for c in lists]

    table._columns = columns
    return table


def _count_skipped(table: Table, n: int) -> None:
    note = next(
        (x for x in table.notes if x.endswith("with nothing in the columns read were skipped")),
        None,
    )
    if note:
        table.notes.remove(note)
    if n:
        table.notes.append(
            f"{n:,} row{'s' if n > 1 else ''} with nothing in the columns read were skipped"
        )


def _fast_columns(
    text: str, sep: str, head_no: int, width: int, indices: Sequence[int]
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """(the columns, a mask of rows with nothing in them) by pandas' C parser; None where it would
    not read the text as the csv module does."""
    if not indices or "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    width = max(width, max(indices) + 1)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            skiprows=head_no,
            names=list(range(width)),
            usecols=list(indices),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            quotechar='"',
            doublequote=True,
        )
    except (pd.errors.ParserError, ValueError, csv.Error, UnicodeError):
        return None
    cols = [frame[i].to_numpy(dtype=object) for i in indices]
    blank = np.ones(len(frame), dtype=bool)
    for c in cols:
        codes, uniq = pd.factorize(c)
        empty = np.array([not str(u).strip() for u in uniq] + [True], dtype=bool)
        blank &= empty[codes]
    return cols, blank


def _csv_error(p: Path, line: int, exc: csv.Error) -> InputError:
    return InputError(
        f"File {p.name}, line {line}: not a valid CSV line ({exc}). Put text holding "
        "line breaks in double quotes, or export the file again as CSV (UTF-8)."
    )


# -- xlsx -------------------------------------------------------------------------------------
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')


def _read_xlsx(p: Path, sheet: str | None, expected: str, guard_prefix: str, what: str) -> Table:
    from sop_excel.workbook.guard import check_xlsx

    try:
        check_xlsx(p)  # zip, sizes, content types, no DTDs: before any parser runs
    except WorkbookCorruptError as exc:
        raise InputError(f"{guard_prefix}{exc}") from None
    try:
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(p))
        meta = list(book.sheets_metadata)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for bad files
        raise SopExcelError(
            f"{p.name} is not a workbook sop-excel can read ({exc}). Save it from "
            "Excel as .xlsx, or export it as CSV."
        ) from None
    visible = [
        m.name
        for m in meta
        if str(m.visible).endswith(".Visible") and "worksheet" in str(m.typ).lower()
    ]
    hidden = [m.name for m in meta if m.name not in visible]
    notes: list[str] = []
    if sheet is not None:
        chosen = next((n for n in visible if n.strip().lower() == sheet.strip().lower()), None)
        chosen = chosen or next(
            (n for n in hidden if n.strip().lower() == sheet.strip().lower()), None
        )
        if chosen is None:
            raise InputError(
                f"File {p.name} has no sheet {sheet!r}; its sheets are "
                f"{', '.join(repr(n) for n in visible + hidden) or 'none'}. Name one of them."
            )
        if chosen in hidden:
            notes.append(f"sheet '{chosen}' (hidden, read because it was named)")
    elif len(visible) == 1:
        chosen = visible[0]
        if hidden:
            notes.append(
                f"sheet '{chosen}', the only visible one (hidden sheets not read: "
                f"{', '.join(repr(h) for h in hidden)})"
            )
    else:
        raise InputError(
            f"File {p.name} has {len(visible)} visible sheets "
            f"({', '.join(repr(n) for n in visible) or 'none'}): say which to read "
            '(sheet = "..." in the mapping file, or --sheet).'
        )
    try:
        grid = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001
        raise SopExcelError(
            f"{p.name} is not a workbook sop-excel can read ({exc}). Save it from "
            "Excel as .xlsx, or export it as CSV."
        ) from None
    finally:
        book.close()
    bad, date1904 = _scan_sheet(p, chosen)  # the grid starts at A1 (skip_empty_area=False)

    def blank(v: object) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    used = [i for i, row in enumerate(grid) if not all(blank(v) for v in row)]
    if not used:
        raise InputError(
            f"File {p.name}, sheet '{chosen}' is empty."
            + (f" Expected a header row: {expected}." if expected else "")
        )
    head = used[0]
    header = ["" if blank(v) else _text(v) for v in grid[head]]
    body_rows = [i for i in used if i > head]
    if not body_rows:
        raise InputError(f"File {p.name}, sheet '{chosen}' has a header but no {what}.")

    def columns(indices: Sequence[int]) -> list[pd.Series]:
        out = []
        for j in indices:
            vals = [(grid[r][j] if j < len(grid[r]) else None) for r in body_rows]
            out.append(pd.Series([_cell(v) for v in vals], dtype=object))
        return out

    return Table(
        p.name,
        chosen,
        header,
        head + 1,
        np.asarray(body_rows, dtype=np.int64) + 1,
        notes,
        date1904,
        columns,
        bad,
    )


def _cell(v: object) -> object:
    """A calamine cell as pandas' reader gives it: empty text is nothing, whole floats are ints."""
    if isinstance(v, str):
        return v if v else None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _scan_sheet(p: Path, sheet: str) -> tuple[dict[tuple[int, int], str], bool]:
    """Cells (row 1-based, column 0-based) holding an error value or a formula without a
    value, and whether the workbook counts dates from 1904."""
    from defusedxml import ElementTree as SafeET

    with zipfile.ZipFile(p) as z:
        wb = SafeET.fromstring(z.read("xl/workbook.xml"))
        pr = wb.find("m:workbookPr", _NS)
        date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        rid = next(
            (
                s.get(f"{{{_NS['r']}}}id")
                for s in wb.iterfind("m:sheets/m:sheet", _NS)
                if s.get("name") == sheet
            ),
            None,
        )
        rels = SafeET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
        if target is None:
            return {}, date1904
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        part = str(PurePosixPath(*[s for s in PurePosixPath(part).parts if s != "."]))
        data = z.read(part)
    bad: dict[tuple[int, int], str] = {}
    if b't="e"' in data or b"<f" in data or b":f" in data:
        for m in _CELL.finditer(data):
            attrs, inner = m.group(1), m.group(3) or b""
            is_error = b't="e"' in attrs
            formula_only = (
                (b"<f" in inner or b":f" in inner) and b"<v" not in inner and b":v>" not in inner
            )
            if not (is_error or formula_only):
                continue
            ref = _REF.search(attrs)
            if ref is None:
                continue
            col = _col_index(ref.group(1).decode())
            row = int(ref.group(2))
            if is_error:
                v = re.search(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", inner)
                bad[(row, col)] = v.group(1).decode("utf-8", "replace") if v else "#ERROR"
            else:
                bad[(row, col)] = "formula"
    return bad, date1904


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def control_characters(values: pd.Series) -> np.ndarray:
    """Text values holding a control character (tab, line break and the like count too)."""
    codes, uniq = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    hit = np.array(
        [isinstance(v, str) and _CONTROL.search(v) is not None for v in uniq] + [False], dtype=bool
    )
    return hit[codes]


__all__ += ["control_characters"]
