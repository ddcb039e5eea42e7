"""Reading actuals files: every problem reported at once, by file row and column."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pandas as pd

from sop_excel.errors import CellProblem, InputError, SopExcelError

__all__ = ["ACTUALS_COLUMNS", "file_digest", "read_actuals_csv"]

ACTUALS_COLUMNS = ("date", "item", "orders", "shipments")


def file_digest(path: str | Path) -> str:
    """Short sha256 of a file, for the Log."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def read_actuals_csv(path: str | Path, known_items: set[str] | None = None) -> pd.DataFrame:
    """Daily actuals from a CSV with columns date, item, orders, shipments (any order, any case).

    Raises:
        InputError: missing columns, unreadable dates, quantities that are not numbers or are
            negative, unknown items, repeated date/item pairs; each named by file row and column.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SopExcelError(f"No actuals file at {path}. Check the path.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not a UTF-8 text file (byte {exc.start}). "
                         "Export it from your system as CSV (UTF-8).") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path.name} is empty. Expected a header row: "
                         f"{', '.join(ACTUALS_COLUMNS)}.") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in ACTUALS_COLUMNS if c not in names]
    if missing:
        raise InputError(
            f"File {path.name}, row 1 (header): missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)}; found {', '.join(repr(h) for h in header)}. "
            f"The file needs the columns {', '.join(ACTUALS_COLUMNS)}.")
    idx = {c: names.index(c) for c in ACTUALS_COLUMNS}
    records, problems = [], []
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        rec: dict[str, object] = {}
        for col in ACTUALS_COLUMNS:
            raw = row[idx[col]].strip() if idx[col] < len(row) else ""
            where = f"File {path.name}, row {line_no}, column '{header[idx[col]]}'"
            if col == "date":
                try:
                    rec[col] = pd.Timestamp(raw).normalize() if raw else None
                except ValueError:
                    rec[col] = None
                if rec[col] is None or rec[col] is pd.NaT:
                    problems.append(CellProblem(where, raw or None, "is not a date",
                                                "Write dates as YYYY-MM-DD."))
            elif col == "item":
                rec[col] = raw
                if not raw:
                    problems.append(CellProblem(where, None, "item is empty", "Fill in the item code."))
                elif known_items is not None and raw not in known_items:
                    problems.append(CellProblem(where, raw, "is not an item on the Items sheet",
                                                "Check the code, or add the item to Items first."))
            else:
                try:
                    num = float(raw.replace(",", "")) if raw else 0.0
                except ValueError:
                    problems.append(CellProblem(where, raw, "is not a number",
                                                "Write a quantity such as 12 or 12.5 (empty means 0)."))
                    num = float("nan")
                else:
                    if num < 0:
                        problems.append(CellProblem(where, raw, "is negative",
                                                    "Quantities must be 0 or more; book returns separately."))
                rec[col] = num
        rec["_row"] = line_no
        records.append(rec)
    frame = pd.DataFrame(records, columns=[*ACTUALS_COLUMNS, "_row"])
    if not frame.empty:
        dup = frame.duplicated(["date", "item"], keep="first") & frame["date"].notna()
        for r in frame[dup].itertuples(index=False):
            problems.append(CellProblem(f"File {path.name}, row {r._4}", None,
                                        f"repeats item {r.item} on {r.date:%Y-%m-%d}",
                                        "Keep one row per item and day."))
    if problems:
        raise InputError(f"Actuals file {path.name} has values sop-excel cannot load", problems)
    if frame.empty:
        raise InputError(f"{path.name} has a header but no rows of actuals.")
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.drop(columns="_row")
