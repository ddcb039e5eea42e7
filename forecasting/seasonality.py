"""Seasonality test and classical decomposition (numpy, no statsmodels import).

The test is the M4 competition's 90% autocorrelation test used for Naive2; the
decomposition is the classical one (centred 2 x m moving average), as in statsmodels'
``seasonal_decompose`` and R's ``decompose``.
"""

from __future__ import annotations

import numpy as np

from forecasting._types import FloatArray

__all__ = ["acf", "deseasonalize", "seasonal_indices", "seasonality_test"]


def acf(x: FloatArray, nlags: int) -> FloatArray:
    """Sample autocorrelations at lags 0..nlags (biased, as statsmodels' ``acf``).

    >>> acf(np.array([1.0, 2.0, 3.0, 4.0]), 1).round(3).tolist()
    [1.0, 0.25]
    """
    x = np.asarray(x, dtype=float)
    d = x - x.mean()
    den = float(d @ d)
    out = np.zeros(nlags + 1)
    out[0] = 1.0
    if den <= 0:
        return out
    for k in range(1, min(nlags, x.size - 1) + 1):
        out[k] = float(d[k:] @ d[:-k]) / den
    return out


def seasonality_test(x: FloatArray, season_length: int = 12, *, min_obs: int | None = None) -> bool:
    """Whether the lag-``m`` autocorrelation passes the 90% test (M4's Naive2 rule).

    |acf(m)| > 1.645 * sqrt((1 + 2 * sum(acf(1..m-1)^2)) / n), with at least ``min_obs``
    points (three seasons by default).
    """
    m = season_length
    x = np.asarray(x, dtype=float)
    if m < 2 or x.size < (3 * m if min_obs is None else min_obs) or x.size <= m:
        return False
    r = acf(x, m)
    limit = 1.645 * np.sqrt((1.0 + 2.0 * np.sum(r[1:m] ** 2)) / x.size)
    return bool(abs(r[m]) > limit)


def seasonal_indices(x: FloatArray, season_length: int = 12, *, multiplicative: bool = True
                     ) -> FloatArray:
    """Classical decomposition's seasonal indices, one per position ``t % m``.

    Centred 2 x m moving average for the trend, mean detrended ratio (or difference) per
    position, normalised to mean 1 (or 0). Needs at least two seasons of data.
    """
    m = season_length
    x = np.asarray(x, dtype=float)
    n = x.size
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    half = w.size // 2
    trend = np.full(n, np.nan)
    trend[half:n - half] = np.convolve(x, w, mode="valid")
    det = x / trend if multiplicative else x - trend
    idx = np.empty(m)
    for i in range(m):
        v = det[i::m]
        v = v[~np.isnan(v)]
        idx[i] = v.mean() if v.size else (1.0 if multiplicative else 0.0)
    return idx / idx.mean() if multiplicative else idx - idx.mean()


def deseasonalize(x: FloatArray, season_length: int = 12, *, multiplicative: bool = True
                  ) -> tuple[FloatArray, FloatArray]:
    """Seasonally adjusted history and the index for every position ``t % m``.

    Returns:
        (adjusted history, indices of length m); reseasonalise a forecast for time ``t``
        with ``indices[t % m]``.
    """
    idx = seasonal_indices(x, season_length, multiplicative=multiplicative)
    s = idx[np.arange(len(x)) % season_length]
    return (x / s if multiplicative else x - s), idx
