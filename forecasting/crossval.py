"""cross_validate: rolling-origin evaluation of a method over every item of a long frame."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecasting.cleansing import clean_series, regular_series
from forecasting.engine import check_method
from forecasting.metrics import mase, rmsse, scaled_bias, smape, tracking_signal, wmape
from forecasting.selection import ItemSpec, forecast_item

__all__ = ["cross_validate"]

_COLUMNS = [
    "unique_id",
    "window",
    "cutoff",
    "h",
    "method",
    "mase",
    "smape",
    "wmape",
    "scaled_bias",
    "rmsse",
    "tracking_signal",
]


def cross_validate(
    frame: pd.DataFrame,
    h: int,
    n_windows: int = 3,
    step: int = 1,
    *,
    method: str = "auto",
    season_length: int = 12,
    correct_outliers: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Forecast each item from ``n_windows`` past origins and score each window.

    The last window ends at the item's last month; each earlier one ``step`` months before.
    Each origin sees only the history up to its cutoff (cleansing included). Windows whose
    training history would be shorter than 2 months are skipped.

    Args:
        frame: long frame with unique_id, ds, y.
        h: months forecast from each origin.
        n_windows: origins per item.
        step: months between origins.
        method: method name (one of ``METHODS``).
        season_length: months per season (also the MASE/RMSSE naive lag).
        correct_outliers: cleanse outliers in each training history.
        **options: ``dead_months``, ``new_months`` or ``backtest_windows`` for the method.

    Returns:
        One row per item and window: unique_id, window (0 = oldest), cutoff (last training
        month), h, method used, mase, smape, wmape, scaled_bias, rmsse, tracking_signal.

    Example:
        >>> hist = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2020-01-01",
        ...                      periods=36, freq="MS"), "y": np.arange(36.0) + 10})
        >>> cv = cross_validate(hist, h=3, n_windows=2, method="naive")
        >>> cv["mase"].round(4).tolist()  # errors 1, 2, 3 over a lag-12 scale of 12
        [0.1667, 0.1667]
    """
    check_method(method)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uid, ds, y in regular_series(frame):
            n = y.size
            cutoffs = sorted(n - h - i * step for i in range(n_windows))
            for w, cut in enumerate(c for c in cutoffs if c >= 2):
                train = clean_series(
                    y[:cut], season_length=season_length, correct_outliers=correct_outliers
                ).y_clean
                first = np.flatnonzero(~np.isnan(train))
                train = np.maximum(train[first[0] :], 0.0) if first.size else train[:0]
                res = forecast_item(
                    train, ItemSpec(h=h, method=method, season_length=season_length, **options)
                )
                actual = y[cut : cut + h]
                ok = ~np.isnan(actual)
                a, f = actual[ok], res.forecast[ok]
                rows.append(
                    [
                        uid,
                        w,
                        pd.Timestamp(ds[cut - 1]),
                        h,
                        res.method,
                        mase(a, f, train, season_length),
                        smape(a, f),
                        wmape(a, f),
                        scaled_bias(a, f, train, season_length),
                        rmsse(a, f, train, season_length),
                        tracking_signal(a, f),
                    ]
                )
    out = pd.DataFrame(rows, columns=_COLUMNS)
    return out.astype({"window": int, "h": int})
