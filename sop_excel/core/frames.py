"""Small frame helpers the planning steps share."""

from __future__ import annotations

import pandas as pd

__all__ = ["append_rows", "months_between"]


def append_rows(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``rows`` added below it (the columns of both, ``frame``'s first).

    A column with no values on one side does not decide the result's type (pandas deprecates
    letting it), so an empty table or an all-blank column appends as it always did.

    >>> a = pd.DataFrame({"x": [1.0], "note": [None]})
    >>> append_rows(a, pd.DataFrame({"x": [2.0], "note": ["late"]}))["note"].tolist()
    [nan, 'late']
    """
    if frame.empty:
        return rows.reset_index(drop=True)
    columns = list(dict.fromkeys([*frame.columns, *rows.columns]))
    parts = [f.dropna(axis=1, how="all") for f in (frame, rows)]
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def months_between(a: pd.Series | pd.Timestamp, b: pd.Series | pd.Timestamp) -> pd.Series | int:
    """Whole months from ``a`` to ``b`` (``b`` later gives a positive number); either may be a
    Series of dates (then a Series)."""
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        a_ = pd.to_datetime(a)
        b_ = pd.to_datetime(b)
        ay = a_.dt.year if isinstance(a_, pd.Series) else a_.year
        am = a_.dt.month if isinstance(a_, pd.Series) else a_.month
        by = b_.dt.year if isinstance(b_, pd.Series) else b_.year
        bm = b_.dt.month if isinstance(b_, pd.Series) else b_.month
        return (by - ay) * 12 + (bm - am)
    return (b.year - a.year) * 12 + (b.month - a.month)
