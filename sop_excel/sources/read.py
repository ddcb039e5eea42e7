"""One entry point for actuals: the reader is chosen from the source's path or URL."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sop_excel.errors import InputError, SopExcelError
from sop_excel.sources._csv_file import read_actuals_csv, read_csv_columns
from sop_excel.sources._validate import SUPPLY, SUPPLY_COLUMNS, validate_supply
from sop_excel.sources.conventions import Conventions
from sop_excel.sources.sql import (
    read_actuals_sql,
    read_sql_columns,
    redact_url,
    since_filter,
    sqlite_url,
)
from sop_excel.sources.xlsx import read_actuals_xlsx, read_xlsx_columns

__all__ = [
    "SUFFIXES",
    "file_digest",
    "read_actuals",
    "read_supply",
    "source_kind",
    "source_label",
    "source_path",
]

SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
}
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
        "postgresql://user@host/db. Fix ActualsSource in Settings."
    )


def source_label(source: str | Path) -> str:
    """How the Log names a source: file name and digest, or the URL without its password."""
    if source_kind(source) == "url":
        return redact_url(str(source).strip())
    path = Path(source)
    return f"{path.name} (sha256 {file_digest(path)})" if path.is_file() else path.name


def read_actuals(
    source: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    known_items: set[str] | None = None,
    since: dt.date | None = None,
    table: str = "actuals",
    conventions: Conventions | None = None,
) -> pd.DataFrame:
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
        return read_actuals_sql(
            url, known_items, mapping=mapping, since=since, table=table, conventions=conventions
        )
    if kind == "csv":
        frame = read_actuals_csv(source, known_items, mapping=mapping, conventions=conventions)
    else:
        frame = read_actuals_xlsx(
            source, known_items, mapping=mapping, sheet=table, conventions=conventions
        )
    older = 0
    if since is not None:
        keep = frame["date"] >= pd.Timestamp(since)
        older = int((~keep).sum())
        notes = frame.attrs.get("notes", [])
        frame = frame[keep].reset_index(drop=True)
        frame.attrs["notes"] = notes
    frame.attrs["older_rows"] = older
    return frame


def read_supply(
    source: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    known_items: set[str] | None = None,
    item_resources: Mapping[str, str] | None = None,
    known_resources: set[str] | None = None,
    since: dt.date | None = None,
    table: str = "production",
    optional: bool = False,
    conventions: Conventions | None = None,
) -> pd.DataFrame | None:
    """Daily production and supplier receipts from a CSV, an xlsx, a SQLite file or any SQLAlchemy URL.

    The same sources, the same checks, the same number and date conventions and the same
    messages as :func:`read_actuals`.

    Args:
        source: as for :func:`read_actuals`.
        mapping: canonical name (date, item, resource, produced, receipts) -> the source's column.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        item_resources: each item's resource on the Items sheet (for rows without a resource).
        known_resources: the resources of the Items and Capacity sheets; ``None`` accepts any.
        since: only rows dated on or after this day (databases filter in SQL where they can).
        table: the database table or xlsx sheet (``production``; the actuals' own when the supply
            columns are read from the actuals source).
        optional: a source without a produced or receipts column gives None (the actuals source,
            read for its supply columns when it has them) instead of an error.
        conventions: the decimal separator and date order when the source cannot say.

    Returns:
        ``date``, ``item``, ``resource``, ``produced``, ``receipts`` (``attrs["notes"]``: how the
        source was read where it mattered); or None (see ``optional``).
    """
    kind = source_kind(source)
    checks: dict[str, Any] = {
        "known_items": known_items,
        "item_resources": item_resources,
        "known_resources": known_resources,
        "conventions": conventions,
    }
    if kind in ("sqlite", "url"):
        url = str(source).strip() if kind == "url" else sqlite_url(source)
        if kind == "sqlite" and not Path(source).is_file():
            raise SopExcelError(f"No SQLite database at {source}. Check SupplySource in Settings.")
        got = read_sql_columns(url, mapping, SUPPLY, since=since, table=table, optional=optional)
        if got is None:
            return None
        if got.raw.empty:
            out = pd.DataFrame(
                {
                    "date": pd.Series(dtype="datetime64[us]"),
                    **{c: pd.Series(dtype=str) for c in ("item", "resource")},
                    **{c: pd.Series(dtype=float) for c in ("produced", "receipts")},
                }
            )[list(SUPPLY_COLUMNS)]
            out.attrs["notes"], out.attrs["older_rows"] = [], got.older
            return out
        frame = validate_supply(got.raw, got.locate, label=f"Production {got.where}", **checks)
        return since_filter(frame, got, since)
    if kind == "csv":
        found = read_csv_columns(source, mapping, SUPPLY, optional=optional)
    else:
        found = read_xlsx_columns(source, mapping, SUPPLY, sheet=table, optional=optional)
    if found is None:
        return None
    raw, locate, read = found
    frame = validate_supply(
        raw, locate, label=f"Production file {Path(source).name}", date1904=read.date1904, **checks
    )
    notes = [*read.notes, *frame.attrs.get("notes", [])]
    if since is not None:
        frame = frame[frame["date"] >= pd.Timestamp(since)].reset_index(drop=True)
    frame.attrs["notes"] = notes
    return frame


def source_path(text: str, folder: Path | None, what: str = "Actuals source") -> str | Path:
    """A source as a reader takes it: a URL as it is, a path made absolute from ``folder``."""
    if source_kind(text) == "url":
        return text
    path = Path(text).expanduser()
    if not path.is_absolute():
        if folder is None:
            raise InputError(
                f"{what} '{text}' is a relative path and the workbook has no "
                "folder (save it first, or give a full path)."
            )
        path = folder / path
    return path
