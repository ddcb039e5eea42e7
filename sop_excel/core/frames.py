"""Small frame helpers the planning steps share."""

from __future__ import annotations

import pandas as pd

from forecasting.months import months_between  # one definition, the engine's (re-exported)

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
