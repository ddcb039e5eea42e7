"""Reading daily actuals from CSV, xlsx or a SQL database, every problem named where it is.

``read_actuals`` picks the reader from the source (a path or a SQLAlchemy URL); every reader
applies the same validation (``_validate.py``) and returns the canonical columns
``date, item, orders, shipments``.
"""

from __future__ import annotations

from sop_excel.sources._csv_file import read_actuals_csv
from sop_excel.sources._validate import ACTUALS_COLUMNS, SUPPLY_COLUMNS
from sop_excel.sources.read import (
    file_digest,
    read_actuals,
    read_supply,
    source_kind,
    source_label,
    source_path,
)
from sop_excel.sources.sql import read_actuals_sql, write_actuals_sqlite
from sop_excel.sources.xlsx import read_actuals_xlsx

__all__ = [
    "ACTUALS_COLUMNS",
    "file_digest",
    "read_actuals",
    "read_actuals_csv",
    "read_actuals_sql",
    "read_actuals_xlsx",
    "read_supply",
    "source_kind",
    "source_label",
    "source_path",
    "SUPPLY_COLUMNS",
    "write_actuals_sqlite",
]
