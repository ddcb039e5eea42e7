"""Actuals from a SQL database through SQLAlchemy; SQLite files are the embedded default.

Safety: table and column names are never pasted into SQL text. The table and its columns are
looked up in the database's own catalogue (SQLAlchemy's inspector), the names found there are
used, and SQLAlchemy quotes them for the dialect. ``since`` is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Mapping
from operator import itemgetter
from pathlib import Path

import pandas as pd

from sop_excel.errors import InputError, SopExcelError
from sop_excel.sources._validate import (
    ACTUALS,
    ACTUALS_COLUMNS,
    Columns,
    Locator,
    missing_columns_error,
    resolve_columns,
    validate,
)

__all__ = ["read_actuals_sql", "read_sql_columns", "redact_url", "sqlite_url", "write_actuals_sqlite"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _sa():  # noqa: ANN202 - the module, imported lazily so CSV users never pay for it
    try:
        import sqlalchemy
    except ImportError:  # pragma: no cover - SQLAlchemy is a declared dependency
        raise SopExcelError("Reading actuals from a database needs SQLAlchemy: pip install SQLAlchemy") from None
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
        raise SopExcelError(f"{redact_url(url)!r} is not a database URL. Write e.g. sqlite:///C:/data/actuals.db "
                            "or postgresql://user@host/db in ActualsSource.") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_file():
            raise SopExcelError(f"No SQLite database at {path}. Check ActualsSource in Settings.")
        uri = path.resolve().as_uri() + "?mode=ro"
        return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True),
                                poolclass=sa.pool.NullPool)
    try:
        return sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise SopExcelError(f"Cannot use {redact_url(url)}: {exc}. Install the database driver "
                            "(e.g. psycopg for PostgreSQL, pyodbc for SQL Server).") from None


def _find_table(inspector, table: str, shown: str) -> tuple[str | None, str]:  # noqa: ANN001
    """(schema, table) as the catalogue spells them; "schema.table" is accepted."""
    schema, _, name = table.rpartition(".")
    schema = schema or None
    try:
        names = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
    except Exception as exc:  # noqa: BLE001 - driver errors differ; the message says what to check
        raise SopExcelError(f"Cannot read the table list of {shown}: {exc}. "
                            "Check the URL, the schema and your permissions.") from None
    match = [n for n in names if n == name] or [n for n in names if n.lower() == name.lower()]
    if not match:
        raise InputError(f"Database {shown} has no table {table!r}; found "
                         f"{', '.join(repr(n) for n in sorted(names)) or 'no tables'}. "
                         "Check the table name (the actuals table defaults to 'actuals').")
    return schema, match[0]


def read_actuals_sql(url: str, known_items: set[str] | None = None, *,
                     mapping: Mapping[str, str] | None = None, since: dt.date | None = None,
                     table: str = "actuals") -> pd.DataFrame:
    """Daily actuals from a table of any SQLAlchemy database.

    Args:
        url: a SQLAlchemy URL (``sqlite:///actuals.db``, ``postgresql://user@host/db``,
            ``mssql+pyodbc://...``).
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        mapping: canonical name -> the table's column name.
        since: only rows dated on or after this day (``WHERE date >= :since``; incremental
            refresh). Dates must be stored as DATE/TIMESTAMP or ISO text (YYYY-MM-DD...).
        table: the table or view, optionally ``schema.table``.

    Returns:
        ``date`` (datetime64, day), ``item``, ``orders``, ``shipments`` (float; NULL means 0).

    Raises:
        SopExcelError: the URL, driver or database cannot be used.
        InputError: a missing table or column, or bad values, each named
            "Table actuals, row N (item A, 2026-11-19), column 'orders'".
    """
    got = read_sql_columns(url, mapping, ACTUALS, since=since, table=table)
    if got is None or got[0].empty:
        return _empty()
    raw, locate, where = got
    return validate(raw, locate, known_items=known_items, label=f"Actuals {where}")


def read_sql_columns(url: str, mapping: Mapping[str, str] | None, spec: Columns, *, since: dt.date | None = None,
                     table: str = "actuals", optional: bool = False) -> tuple[pd.DataFrame, Locator, str] | None:
    """The canonical columns of ``spec`` found in a database table, as the driver gives them,
    with where each value came from (row and key), and the table in words ("table a in b.db").

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
            idx, missing = resolve_columns(found, mapping, spec)
            if optional and spec.any_of and not any(c in idx for c in spec.any_of):
                return None
            if missing:
                raise missing_columns_error(f"Database {shown}, table {name}", missing, found, mapping,
                                            what="table", spec=spec)
            names = [c for c in spec.canonical if c in idx]
            cols = {c: found[idx[c]] for c in names}
            src = sa.table(name, *(sa.column(n) for n in dict.fromkeys(cols.values())), schema=schema)
            stmt = sa.select(*(src.c[cols[c]].label(c) for c in names))
            if since is not None:
                stmt = stmt.where(src.c[cols["date"]] >= sa.bindparam("since", _day(since), type_=sa.Date()))
            stmt = stmt.order_by(src.c[cols["item"]], src.c[cols["date"]])
            rows = conn.execute(stmt).all()
    except sa.exc.SQLAlchemyError as exc:
        raise SopExcelError(f"Cannot read {spec.what} from {shown}, table {table}: {exc.__class__.__name__}: "
                            f"{getattr(exc, 'orig', exc)}. Check the URL, the table and your permissions.") from None
    finally:
        engine.dispose()
    # column-wise from the rows: far faster than from_records, and itemgetter than zip(*rows)
    columns = [list(map(itemgetter(j), rows)) for j in range(len(names))]
    raw = pd.DataFrame({c: pd.Series(v, dtype=object if not rows else None) for c, v in zip(names, columns, strict=True)})

    def key(pos: int) -> str:
        return f"item {_date_text(raw['item'].iat[pos])}, {_date_text(raw['date'].iat[pos])}"

    locate = Locator(cell=lambda pos, col: f"Table {name}, row {pos + 1} ({key(pos)}), column '{cols[col]}'",
                     row=lambda pos: f"Table {name}, row {pos + 1} ({key(pos)})")
    return raw, locate, f"table {name} in {shown}"


def _day(value: dt.date | dt.datetime | pd.Timestamp) -> dt.date:
    return pd.Timestamp(value).date()


def _date_text(v: object) -> str:
    if isinstance(v, (dt.date, pd.Timestamp)):
        return f"{v:%Y-%m-%d}"
    return "no date" if v is None else str(v)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype="datetime64[us]"), "item": pd.Series(dtype=str),
                         "orders": pd.Series(dtype=float), "shipments": pd.Series(dtype=float)})


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
        raise SopExcelError(f"{table!r} is not a table name sop-excel writes; use letters, digits and _.")
    missing = [c for c in ACTUALS_COLUMNS if c not in frame.columns]
    if missing:
        raise SopExcelError(f"Actuals to write lack the columns {', '.join(missing)}.")
    dates = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    rows = list(zip(dates.tolist(), frame["item"].astype(str).tolist(),
                    frame["orders"].astype(float).tolist(), frame["shipments"].astype(float).tolist(),
                    strict=True))
    with sqlite3.connect(Path(path)) as conn:
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (date TEXT NOT NULL, item TEXT NOT NULL, '
                     "orders REAL, shipments REAL, PRIMARY KEY (item, date))")
        conn.executemany(f'INSERT INTO "{table}" (date, item, orders, shipments) VALUES (?, ?, ?, ?) '
                         "ON CONFLICT (item, date) DO UPDATE SET orders = excluded.orders, "
                         "shipments = excluded.shipments", rows)
    conn.close()
    return len(rows)
