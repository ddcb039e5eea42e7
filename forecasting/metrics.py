"""Forecast accuracy metrics, pure numpy.

Every metric takes the actuals ``y`` and the forecast ``f`` over the same horizon; the
scaled ones also take the in-sample history ``insample`` (the data the forecast was made
from) and the ``season_length`` of the naive scale. Definitions follow the M3/M4
competitions (issue 3): sMAPE on the 0..200 scale, MASE and RMSSE scaled by the in-sample
seasonal naive error (lag 1 when the history is shorter than one season plus one).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from forecasting._types import FloatArray

__all__ = [
    "mase",
    "naive_scale",
    "rmsse",
    "scaled_bias",
    "smape",
    "tracking_signal",
    "wmape",
]

ArrayLike = npt.ArrayLike


def _pair(y: ArrayLike, f: ArrayLike) -> tuple[FloatArray, FloatArray]:
    ya = np.asarray(y, dtype=float).ravel()
    fa = np.asarray(f, dtype=float).ravel()
    if ya.shape != fa.shape:
        raise ValueError(f"actuals and forecast differ in length: {ya.size} and {fa.size}")
    return ya, fa


def naive_scale(insample: ArrayLike, season_length: int = 12, *, power: int = 1) -> float:
    """Mean (power 1) or mean square (power 2) in-sample seasonal naive error.

    Lag ``season_length`` when the history has more than ``season_length`` points, lag 1
    otherwise; NaN when there are fewer than two points.

    >>> naive_scale([1, 2, 4, 7], season_length=12)
    2.0
    """
    x = np.asarray(insample, dtype=float)
    x = x[~np.isnan(x)]
    lag = season_length if x.size > season_length else 1
    if x.size <= lag:
        return float("nan")
    d = np.abs(x[lag:] - x[:-lag]) ** power
    return float(d.mean())


def smape(y: ArrayLike, f: ArrayLike) -> float:
    """Symmetric MAPE on the 0..200 scale: mean of 200 |y - f| / (|y| + |f|).

    Points where both actual and forecast are 0 count as 0 error.

    >>> round(smape([100, 200], [110, 180]), 4)
    10.0251
    """
    ya, fa = _pair(y, f)
    den = np.abs(ya) + np.abs(fa)
    err = np.divide(200.0 * np.abs(ya - fa), den, out=np.zeros_like(den), where=den > 0)
    return float(err.mean())


def mase(y: ArrayLike, f: ArrayLike, insample: ArrayLike, season_length: int = 12) -> float:
    """Mean absolute scaled error: mean |y - f| over the in-sample seasonal naive MAE.

    >>> mase([3, 5], [4, 4], insample=[1, 2, 4, 7], season_length=12)
    0.5
    """
    ya, fa = _pair(y, f)
    scale = naive_scale(insample, season_length)
    return float(np.mean(np.abs(ya - fa)) / scale) if scale > 0 else float("nan")


def rmsse(y: ArrayLike, f: ArrayLike, insample: ArrayLike, season_length: int = 12) -> float:
    """Root mean squared scaled error (M5): sqrt(mean (y - f)^2 / in-sample naive MSE).

    >>> rmsse([3, 5], [4, 4], insample=[1, 2, 4, 7], season_length=12)
    0.4629100498862757
    """
    ya, fa = _pair(y, f)
    scale = naive_scale(insample, season_length, power=2)
    return float(np.sqrt(np.mean((ya - fa) ** 2) / scale)) if scale > 0 else float("nan")


def wmape(y: ArrayLike, f: ArrayLike) -> float:
    """Weighted MAPE: sum |y - f| / sum |y| (as a fraction; NaN when the actuals are all 0).

    >>> wmape([10, 30], [12, 27])
    0.125
    """
    ya, fa = _pair(y, f)
    den = np.abs(ya).sum()
    return float(np.abs(ya - fa).sum() / den) if den > 0 else float("nan")


def scaled_bias(y: ArrayLike, f: ArrayLike, insample: ArrayLike, season_length: int = 12) -> float:
    """Mean error (forecast minus actual) over the in-sample naive MAE; positive = over-forecast.

    >>> scaled_bias([3, 5], [4, 4], insample=[1, 2, 4, 7], season_length=12)
    0.0
    """
    ya, fa = _pair(y, f)
    scale = naive_scale(insample, season_length)
    return float(np.mean(fa - ya) / scale) if scale > 0 else float("nan")


def tracking_signal(y: ArrayLike, f: ArrayLike) -> float:
    """Running sum of errors (forecast minus actual) over the mean absolute error.

    Values beyond about +-4 say the forecast is biased (over when positive).

    >>> tracking_signal([10, 10, 10], [12, 11, 13])
    3.0
    """
    ya, fa = _pair(y, f)
    mad = np.mean(np.abs(fa - ya))
    return float(np.sum(fa - ya) / mad) if mad > 0 else 0.0
