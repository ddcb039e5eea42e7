"""Month arithmetic shared by the engine and the planning layers."""

from __future__ import annotations

import pandas as pd

__all__ = ["months_between"]


def months_between(a: pd.Series | pd.Timestamp, b: pd.Series | pd.Timestamp) -> pd.Series | int:
    """Whole months from ``a`` to ``b`` (``b`` later gives a positive number); either may be a
    Series of dates (then a Series).

    >>> months_between(pd.Timestamp("2026-11-18"), pd.Timestamp("2027-02-01"))
    3
    """
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        a_ = pd.to_datetime(a)
        b_ = pd.to_datetime(b)
        ay = a_.dt.year if isinstance(a_, pd.Series) else a_.year
        am = a_.dt.month if isinstance(a_, pd.Series) else a_.month
        by = b_.dt.year if isinstance(b_, pd.Series) else b_.year
        bm = b_.dt.month if isinstance(b_, pd.Series) else b_.month
        return (by - ay) * 12 + (bm - am)
    return (b.year - a.year) * 12 + (b.month - a.month)
