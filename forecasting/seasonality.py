"""Seasonality test and classical decomposition (numpy, no statsmodels import).

The test is the M4 competition's 90% autocorrelation test used for Naive2; the
decomposition is the classical one (centred 2 x m moving average), as in statsmodels'
``seasonal_decompose`` and R's ``decompose``.
"""

from __future__ import annotations

import numpy as np

from forecasting._types import FloatArray

__all__ = [
    "Profile",
    "acf",
    "deseasonalize",
    "seasonal_indices",
    "seasonal_profile",
    "seasonality_test",
]


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


def seasonal_indices(
    x: FloatArray, season_length: int = 12, *, multiplicative: bool = True
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
    trend[half : n - half] = np.convolve(x, w, mode="valid")
    det = x / trend if multiplicative else x - trend
    idx = np.empty(m)
    for i in range(m):
        v = det[i::m]
        v = v[~np.isnan(v)]
        idx[i] = v.mean() if v.size else (1.0 if multiplicative else 0.0)
    return idx / idx.mean() if multiplicative else idx - idx.mean()


def deseasonalize(
    x: FloatArray, season_length: int = 12, *, multiplicative: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Seasonally adjusted history and the index for every position ``t % m``.

    Returns:
        (adjusted history, indices of length m); reseasonalise a forecast for time ``t``
        with ``indices[t % m]``.
    """
    idx = seasonal_indices(x, season_length, multiplicative=multiplicative)
    s = idx[np.arange(len(x)) % season_length]
    return (x / s if multiplicative else x - s), idx


def _trend_line(x: FloatArray, m: int) -> FloatArray:
    """Centred 2 x m moving average, carried to both ends along a straight line.

    The classical decomposition's trend has no value for the first and last half season;
    there the line through the nearest season of moving-average values is used, so a history
    of two seasons still gives every month a detrended value.
    """
    n = x.size
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = w.size // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(x, w, mode="valid")
    inner = np.arange(half, n - half)
    if inner.size >= 2:
        for part, ends in ((inner[:m], np.arange(half)), (inner[-m:], np.arange(n - half, n))):
            t0, v = part - part.mean(), trend[part]
            slope = float(t0 @ (v - v.mean())) / float(t0 @ t0)
            trend[ends] = v.mean() + slope * (ends - part.mean())
    return trend


class Profile:
    """An item's seasonal profile: indices per position ``t % m`` and how far to trust them.

    Attributes:
        indices: the indices applied (mean 1 when multiplicative, 0 when additive): the item's
            own shrunk toward the prior (flat, or a group's profile) by ``weight``.
        own: the item's own indices before shrinking.
        multiplicative: ratios to trend (positive history) or differences.
        f_stat: the stable-seasonality F statistic (one-way analysis of variance of the
            detrended months by position against the prior), NaN when it cannot be formed.
        weight: the credibility of the item's own pattern, max(0, 1 - 1/F): 1 = its own
            indices, 0 = the prior's.
        years: detrended values per position (mean).
    """

    def __init__(
        self,
        indices: FloatArray,
        own: FloatArray,
        multiplicative: bool,
        f_stat: float,
        weight: float,
        years: float,
    ) -> None:
        self.indices = indices
        self.own = own
        self.multiplicative = multiplicative
        self.f_stat = f_stat
        self.weight = weight
        self.years = years


def seasonal_profile(
    x: FloatArray,
    season_length: int = 12,
    *,
    prior: FloatArray | None = None,
    multiplicative: bool | None = None,
) -> Profile | None:
    """See :func:`_seasonal_profile`; the latest few answers are kept, because every member of
    ``auto`` and every backtest refit asks it of the same histories."""
    x = np.asarray(x, dtype=float)
    key = (
        x.tobytes(),
        season_length,
        None if prior is None else np.asarray(prior, float).tobytes(),
        multiplicative,
    )
    hit = _RECENT.get(key)
    if hit is None:
        hit = _seasonal_profile(x, season_length, prior=prior, multiplicative=multiplicative)
        if len(_RECENT) >= 16:
            _RECENT.pop(next(iter(_RECENT)))
        _RECENT[key] = hit
    return hit


_RECENT: dict[tuple[object, ...], Profile | None] = {}


def _seasonal_profile(
    x: FloatArray,
    season_length: int = 12,
    *,
    prior: FloatArray | None = None,
    multiplicative: bool | None = None,
) -> Profile | None:
    """Estimate a history's seasonal pattern and shrink it toward ``prior`` by its credibility.

    Detrended values (ratios to the trend of :func:`_trend_line` for a positive history,
    differences otherwise) are grouped by position ``t % m``. The one-way analysis of
    variance of those groups is the stable-seasonality F test of X-11; the same two mean
    squares give the empirical-Bayes (Buhlmann credibility, James-Stein) weight of the
    item's own pattern against the prior, ``max(0, 1 - 1/F)``: the weight that minimises the
    expected squared error of the indices. A pattern that repeats year after year gets a
    weight near 1; noise gets 0. The prior is no season unless a group's profile is given
    (ratios by the same positions; it applies to a multiplicative pattern only, an additive
    one is shrunk toward none).

    Returns None when the history is shorter than two seasons (no own estimate).
    """
    m = season_length
    x = np.asarray(x, dtype=float)
    n = x.size
    if m < 2 or n < 2 * m:
        return None
    mult = bool(x.min() > 0) if multiplicative is None else multiplicative
    trend = _trend_line(x, m)
    if mult and np.any(trend <= 0):
        mult = False
    det = x / trend if mult else x - trend
    pos = np.arange(n) % m
    counts = np.bincount(pos, minlength=m).astype(float)
    means = np.bincount(pos, weights=det, minlength=m) / counts
    own = means / means.mean() if mult else means - means.mean()
    neutral = 1.0 if mult else 0.0
    base = np.asarray(prior, dtype=float) if prior is not None and mult else np.full(m, neutral)
    within = float(np.sum((det - means[pos]) ** 2))
    msw = within / (n - m)
    dev = own - base
    msb = float(np.sum(counts * dev**2)) / (m - 1)
    if msw > 0:
        f_stat = msb / msw
        weight = max(0.0, 1.0 - 1.0 / f_stat) if f_stat > 0 else 0.0
    elif msb > 0:  # a pattern repeated exactly: nothing to doubt
        f_stat, weight = float("inf"), 1.0
    else:  # no variation at all: no season
        f_stat, weight = float("nan"), 0.0
    idx = base + weight * dev
    if mult and idx.min() <= 0:  # a pattern with months near zero: as differences instead
        return _seasonal_profile(x, m, multiplicative=False)
    return Profile(idx, own, mult, float(f_stat), float(weight), float(counts.mean()))
