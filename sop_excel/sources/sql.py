"""Actuals from a SQL database through SQLAlchemy; SQLite files are the embedded default.

Safety: table and column names are never pasted into SQL text. The table and its columns are
looked up in the database's own catalogue (SQLAlchemy's inspector), the names found there are
used, and SQLAlchemy quotes them for the dialect. ``since`` is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from sop_excel.errors import InputError, SopExcelError
from sop_excel.files import check_regular, read_timeout
from sop_excel.models import MAX_ROWS
from sop_excel.sources._validate import (
    ACTUALS,
    ACTUALS_COLUMNS,
    Columns,
    Locator,
    Twice,
    duplicate_columns_error,
    missing_columns_error,
    resolve_columns,
    validate,
)
from sop_excel.sources.conventions import Conventions

__all__ = [
    "SqlRows",
    "read_actuals_sql",
    "read_sql_columns",
    "redact_url",
    "since_filter",
    "sqlite_url",
    "write_actuals_sqlite",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _sa():  # noqa: ANN202 - the module, imported lazily so CSV users never pay for it
    try:
        import sqlalchemy
    except ImportError:  # pragma: no cover - SQLAlchemy is a declared dependency
        raise SopExcelError(
            "Reading actuals from a database needs SQLAlchemy: pip install SQLAlchemy"
        ) from None
    return sqlalchemy


def sqlite_url(path: str | Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages and the Log."""
    try:
        return _sa().engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown without its credentials part
        return re.sub(r"//[^@/]*@", "//***@", url)


def _shown(url: str) -> str:
    """A SQLite file by its name, any other database by its URL without the password."""
    sa = _sa()
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return redact_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return Path(parsed.database).name
    return redact_url(url)


def _engine(url: str):  # noqa: ANN202
    """An engine that never creates a SQLite file that is not there (read-only open)."""
    sa = _sa()
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise SopExcelError(
            f"{redact_url(url)!r} is not a database URL. Write e.g. sqlite:///C:/data/actuals.db "
            "or postgresql://user@host/db in ActualsSource."
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        try:
            check_regular(path, "SQLite database")  # a pipe would never answer
        except FileNotFoundError:
            raise SopExcelError(
                f"No SQLite database at {path}. Check ActualsSource in Settings."
            ) from None
        uri = path.resolve().as_uri() + "?mode=ro"
        return sa.create_engine(
            "sqlite://", creator=lambda: _timed_connect(uri), poolclass=sa.pool.NullPool
        )
    try:
        return sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise SopExcelError(
            f"Cannot use {redact_url(url)}: {exc}. Install the database driver "
            "(e.g. psycopg for PostgreSQL, pyodbc for SQL Server)."
        ) from None


def _timed_connect(uri: str) -> sqlite3.Connection:
    """A read-only SQLite connection whose statements stop after :func:`read_timeout` seconds
    (a view with an endless recursive query would run until killed)."""
    con = sqlite3.connect(uri, uri=True)
    deadline = time.monotonic() + read_timeout()
    con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    return con


def _fetch(result, name: str, shown: str, spec: Columns = ACTUALS, *, raw: bool = False) -> list:  # noqa: ANN001 - a SQLAlchemy result
    """The rows, refused beyond what the Actuals (or Production) sheet could ever hold (a view
    without end). ``raw``: from the driver's cursor as it gives them (SQLite's tuples; the
    columns are untyped, so SQLAlchemy has nothing to convert, and wrapping each row cost a
    third of reading 310,000)."""
    rows: list = []
    sheet = "Actuals" if spec is ACTUALS else "Production"
    fetch = result.cursor.fetchmany if raw else result.fetchmany
    while batch := fetch(50_000):
        rows.extend(batch)
        if len(rows) > MAX_ROWS:
            raise SopExcelError(
                f"Table {name} in {shown} gives more than {MAX_ROWS:,} rows of {spec.what} for the "
                f"current month, more than the {sheet} sheet holds; reading was stopped. Check "
                "the table or view (a view that never ends, or rows repeated)."
            )
    return rows


def _find_table(inspector, table: str, shown: str) -> tuple[str | None, str]:  # noqa: ANN001
    """(schema, table) as the catalogue spells them; "schema.table" is accepted."""
    owner, _, name = table.rpartition(".")
    schema = owner or None
    try:
        names = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
    except Exception as exc:  # noqa: BLE001 - driver errors differ; the message says what to check
        raise SopExcelError(
            f"Cannot read the table list of {shown}: {exc}. "
            "Check the URL, the schema and your permissions."
        ) from None
    match = [n for n in names if n == name] or [n for n in names if n.lower() == name.lower()]
    if not match:
        raise InputError(
            f"Database {shown} has no table {table!r}; found "
            f"{', '.join(repr(n) for n in sorted(names)) or 'no tables'}. "
            "Check the table name (the actuals table defaults to 'actuals')."
        )
    return schema, match[0]


def read_actuals_sql(
    url: str,
    known_items: set[str] | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    since: dt.date | None = None,
    table: str = "actuals",
    conventions: Conventions | None = None,
) -> pd.DataFrame:
    """Daily actuals from a table of any SQLAlchemy database.

    Args:
        url: a SQLAlchemy URL (``sqlite:///actuals.db``, ``postgresql://user@host/db``,
            ``mssql+pyodbc://...``).
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        mapping: canonical name -> the table's column name.
        since: only rows dated on or after this day (incremental refresh). Filtered in SQL
            (``WHERE date >= :since``) where that compares dates: a DATE/TIMESTAMP column, or
            SQLite text that is all ISO (YYYY-MM-DD...). Dates stored otherwise (Excel serial
            numbers, other text) are read whole and filtered here, and the notes say so.
        table: the table or view, optionally ``schema.table``.
        conventions: decimal separator and date order when the table cannot say (None: detect).

    Returns:
        ``date`` (datetime64, day), ``item``, ``orders``, ``shipments`` (float; NULL means 0);
        ``attrs["notes"]`` how dates were read and filtered; ``attrs["older_rows"]`` rows
        before ``since`` that were not loaded (counted when nothing was).

    Raises:
        SopExcelError: the URL, driver or database cannot be used.
        InputError: a missing table or column, or bad values, each named
            "Table actuals, row N (item A, 2026-11-19), column 'orders'".
    """
    got = read_sql_columns(url, mapping, ACTUALS, since=since, table=table)
    assert got is not None  # not optional
    if got.raw.empty:
        out = _empty()
        out.attrs["notes"], out.attrs["older_rows"] = [], got.older
        return out
    frame = validate(
        got.raw,
        got.locate,
        known_items=known_items,
        label=f"Actuals {got.where}",
        conventions=conventions,
    )
    return since_filter(frame, got, since)


@dataclass(frozen=True)
class SqlRows:
    """:func:`read_sql_columns`: the canonical columns as the driver gives them (``raw``), where
    each value came from, the table in words ("table a in b.db"), whether ``since`` was applied
    in SQL, the rows before it (counted only when nothing was read), the date column's name."""

    raw: pd.DataFrame
    locate: Locator
    where: str
    in_sql: bool
    older: int
    date_column: str


def read_sql_columns(
    url: str,
    mapping: Mapping[str, str] | None,
    spec: Columns,
    *,
    since: dt.date | None = None,
    table: str = "actuals",
    optional: bool = False,
) -> SqlRows | None:
    """The canonical columns of ``spec`` found in a database table, with where each value came
    from (row and key); ``since`` as :func:`read_actuals_sql` says.

    ``optional``: a table without any of ``spec.any_of`` gives None instead of an error.
    """
    sa = _sa()
    shown = _shown(url)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            schema, name = _find_table(inspector, table, shown)
            found = [c["name"] for c in inspector.get_columns(name, schema=schema)]
            try:
                idx, missing = resolve_columns(found, mapping, spec)
            except Twice as twice:
                raise duplicate_columns_error(
                    f"Database {shown}, table {name}", found, twice.positions, letters=False
                ) from None
            if optional and spec.any_of and not any(c in idx for c in spec.any_of):
                return None
            if missing:
                raise missing_columns_error(
                    f"Database {shown}, table {name}",
                    missing,
                    found,
                    mapping,
                    what="table",
                    spec=spec,
                )
            names = [c for c in spec.canonical if c in idx]
            cols = {c: found[idx[c]] for c in names}
            src = sa.table(
                name, *(sa.column(n) for n in dict.fromkeys(cols.values())), schema=schema
            )
            stmt = sa.select(*(src.c[cols[c]].label(c) for c in names))
            date_col = src.c[cols["date"]]
            in_sql = since is not None and _compares_as_dates(
                conn, inspector, src, date_col, name, schema, cols["date"]
            )
            if in_sql:
                stmt = stmt.where(date_col >= sa.bindparam("since", _day(since), type_=sa.Date()))
            stmt = stmt.order_by(src.c[cols["item"]], date_col)
            rows = _fetch(conn.execute(stmt), name, shown, spec, raw=conn.dialect.name == "sqlite")
            older = 0
            if in_sql and not rows:  # a filter that matches nothing says so
                older = int(conn.execute(sa.select(sa.func.count()).select_from(src)).scalar() or 0)
    except sa.exc.SQLAlchemyError as exc:
        if "interrupted" in str(getattr(exc, "orig", "")):  # our time limit, on SQLite
            raise SopExcelError(
                f"Reading {spec.what} from {shown}, table {table}, took more than "
                f"{read_timeout():,.0f} s and was stopped. A view whose query never ends (a "
                f"recursive one) or a table far larger than daily {spec.what} would; check the "
                "table or view (SOP_EXCEL_READ_TIMEOUT raises the limit)."
            ) from None
        raise SopExcelError(
            f"Cannot read {spec.what} from {shown}, table {table}: {exc.__class__.__name__}: "
            f"{getattr(exc, 'orig', exc)}. Check the URL, the table and your permissions."
        ) from None
    finally:
        engine.dispose()
    # column-wise from the rows: far faster than from_records, and itemgetter than zip(*rows)
    columns = [list(map(itemgetter(j), rows)) for j in range(len(names))]
    raw = pd.DataFrame({c: _series(v, bool(rows)) for c, v in zip(names, columns, strict=True)})

    def key(pos: int) -> str:
        return f"item {_date_text(raw['item'].iat[pos])}, {_date_text(raw['date'].iat[pos])}"

    locate = Locator(
        cell=lambda pos, col: f"Table {name}, row {pos + 1} ({key(pos)}), column '{cols[col]}'",
        row=lambda pos: f"Table {name}, row {pos + 1} ({key(pos)})",
    )
    return SqlRows(raw, locate, f"table {name} in {shown}", in_sql, older, cols["date"])


_FLOATS = {float}


def _series(values: list, infer: bool) -> pd.Series:
    """A column as ``pd.Series(values)`` makes it (``infer``; else object), a column of floats
    (a REAL column's) straight from numpy: the same float64 Series without first making an
    object array of 310,000 values."""
    if infer and set(map(type, values)) == _FLOATS:
        return pd.Series(np.array(values, dtype=float))
    return pd.Series(values, dtype=None if infer else object)


def since_filter(frame: pd.DataFrame, got: SqlRows, since: dt.date | None) -> pd.DataFrame:
    """Rows from ``since`` on, where SQL could not filter them (dates not stored as dates; the
    notes say so); ``attrs["older_rows"]``: how many were left out."""
    if since is not None and not got.in_sql:
        keep = frame["date"] >= pd.Timestamp(since)
        out = frame[keep].reset_index(drop=True)
        out.attrs["notes"] = [
            *frame.attrs.get("notes", []),
            f"dates in column '{got.date_column}' are not stored as dates: all {len(frame):,} "
            f"rows read, {int((~keep).sum()):,} dated before {_day(since):%Y-%m-%d} left out",
        ]
        out.attrs["older_rows"] = int((~keep).sum())
        return out
    frame.attrs["older_rows"] = 0
    return frame


def _compares_as_dates(
    conn, inspector, src, col, name: str, schema: str | None, col_name: str
) -> bool:  # noqa: ANN001
    """Whether ``col >= :since`` in SQL compares dates: a DATE/TIMESTAMP column (any database),
    or SQLite values that are all ISO text (SQLite compares a number below any text, so Excel
    serial dates would all be left out, and '19/11/2026' text compares as text)."""
    sa = _sa()
    if conn.dialect.name != "sqlite":
        declared = next(
            (
                c["type"]
                for c in inspector.get_columns(name, schema=schema)
                if c["name"] == col_name
            ),
            None,
        )
        return isinstance(declared, (sa.Date, sa.DateTime))
    kinds = {k for (k,) in conn.execute(sa.select(sa.func.typeof(col)).distinct()).all()}
    if not kinds <= {"text", "null"}:
        return False
    iso = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
    odd = conn.execute(
        sa.select(sa.func.count())
        .select_from(src)
        .where(sa.and_(col.isnot(None), sa.not_(col.op("GLOB")(iso))))
    ).scalar()
    return not odd


def _day(value: dt.date | dt.datetime | pd.Timestamp) -> dt.date:
    return pd.Timestamp(value).date()


def _date_text(v: object) -> str:
    if isinstance(v, (dt.date, pd.Timestamp)):
        return f"{v:%Y-%m-%d}"
    return "no date" if v is None else str(v)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series(dtype="datetime64[us]"),
            "item": pd.Series(dtype=str),
            "orders": pd.Series(dtype=float),
            "shipments": pd.Series(dtype=float),
        }
    )


def write_actuals_sqlite(path: str | Path, frame: pd.DataFrame, table: str = "actuals") -> int:
    """Create or upsert daily actuals into a SQLite file: one row per (item, date).

    The table gets ``date TEXT (YYYY-MM-DD), item TEXT, orders REAL, shipments REAL`` with
    primary key (item, date); a row for an existing item and day replaces it (a late correction).

    Args:
        path: the SQLite file; created when missing.
        frame: canonical ``date, item, orders, shipments``.
        table: a plain identifier (letters, digits, underscore).

    Returns:
        The number of rows written.
    """
    if not _IDENT.match(table):
        raise SopExcelError(
            f"{table!r} is not a table name sop-excel writes; use letters, digits and _."
        )
    missing = [c for c in ACTUALS_COLUMNS if c not in frame.columns]
    if missing:
        raise SopExcelError(f"Actuals to write lack the columns {', '.join(missing)}.")
    dates = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    rows = list(
        zip(
            dates.tolist(),
            frame["item"].astype(str).tolist(),
            frame["orders"].astype(float).tolist(),
            frame["shipments"].astype(float).tolist(),
            strict=True,
        )
    )
    with sqlite3.connect(Path(path)) as conn:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{table}" (date TEXT NOT NULL, item TEXT NOT NULL, '
            "orders REAL, shipments REAL, PRIMARY KEY (item, date))"
        )
        conn.executemany(
            f'INSERT INTO "{table}" (date, item, orders, shipments) VALUES (?, ?, ?, ?) '
            "ON CONFLICT (item, date) DO UPDATE SET orders = excluded.orders, "
            "shipments = excluded.shipments",
            rows,
        )
    conn.close()
    return len(rows)
