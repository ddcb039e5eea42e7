"""One entry point for actuals: the reader is chosen from the source's path or URL."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.errors import SopExcelError
from sop_excel.sources._csv_file import read_actuals_csv
from sop_excel.sources.conventions import Conventions
from sop_excel.sources.sql import read_actuals_sql, redact_url, sqlite_url
from sop_excel.sources.xlsx import read_actuals_xlsx

__all__ = ["SUFFIXES", "file_digest", "read_actuals", "source_kind", "source_label"]

SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
            ".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite"}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+]*://")


def file_digest(path: str | Path) -> str:
    """Short sha256 of a file, for the Log."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def source_kind(source: str | Path) -> str:
    """``"csv"``, ``"xlsx"``, ``"sqlite"`` (a SQLite file path) or ``"url"`` (a SQLAlchemy URL).

    Raises:
        SopExcelError: a path with a suffix sop-excel does not read.
    """
    if isinstance(source, str) and _URL.match(source.strip()):
        return "url"
    suffix = Path(source).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    raise SopExcelError(
        f"ActualsSource {str(source)!r} is neither a file sop-excel reads "
        f"({', '.join(sorted(SUFFIXES))}) nor a database URL such as sqlite:///actuals.db or "
        "postgresql://user@host/db. Fix ActualsSource in Settings.")


def source_label(source: str | Path) -> str:
    """How the Log names a source: file name and digest, or the URL without its password."""
    if source_kind(source) == "url":
        return redact_url(str(source).strip())
    path = Path(source)
    return f"{path.name} (sha256 {file_digest(path)})" if path.is_file() else path.name


def read_actuals(source: str | Path, *, mapping: Mapping[str, str] | None = None,
                 known_items: set[str] | None = None, since: dt.date | None = None,
                 table: str = "actuals", conventions: Conventions | None = None) -> pd.DataFrame:
    """Daily actuals from a CSV, an xlsx, a SQLite file or any SQLAlchemy URL.

    Every source gets the same checks (dates, quantities, unknown and repeated items) and every
    problem names where it is: file + row + column, file + sheet + cell, or table + row + key.

    Args:
        source: ``.csv``; ``.xlsx``/``.xlsm`` (the sheet named ``table``, else the first);
            ``.db``/``.sqlite``/``.sqlite3``; or a URL such as ``postgresql://user@host/db``.
        mapping: canonical name (date, item, orders, shipments) -> the source's column name.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        since: only rows dated on or after this day. Databases filter in SQL (a bound
            parameter); files are checked whole, then filtered.
        table: the database table (or xlsx sheet) holding the actuals.
        conventions: the decimal separator and date order when the source cannot say; numbers
            and dates follow :mod:`sop_excel.sources.conventions` for every source.

    Returns:
        ``date`` (datetime64, day), ``item`` (str), ``orders``, ``shipments`` (float);
        ``attrs["notes"]``: how the source was read where it mattered (encoding, separator,
        sheet, decimal comma, date order, serial dates); ``attrs["older_rows"]``: rows before
        ``since`` left out.
    """
    kind = source_kind(source)
    if kind in ("sqlite", "url"):
        url = str(source).strip() if kind == "url" else sqlite_url(source)
        if kind == "sqlite" and not Path(source).is_file():
            raise SopExcelError(f"No SQLite database at {source}. Check ActualsSource in Settings.")
        return read_actuals_sql(url, known_items, mapping=mapping, since=since, table=table,
                                conventions=conventions)
    if kind == "csv":
        frame = read_actuals_csv(source, known_items, mapping=mapping, conventions=conventions)
    else:
        frame = read_actuals_xlsx(source, known_items, mapping=mapping, sheet=table, conventions=conventions)
    older = 0
    if since is not None:
        keep = frame["date"] >= pd.Timestamp(since)
        older = int((~keep).sum())
        notes = frame.attrs.get("notes", [])
        frame = frame[keep].reset_index(drop=True)
        frame.attrs["notes"] = notes
    frame.attrs["older_rows"] = older
    return frame
