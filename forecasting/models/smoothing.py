"""Exponential smoothing without seasonal states, fitted in numpy: SES and damped Holt.

Seasonality is removed first by classical decomposition (``SeasonalAdjuster``) and put
back on the forecast, the way the M4 benchmarks do. The smoothing parameters are chosen
on a grid, evaluated for all grid points at once, and the initial level and trend are the
least-squares optimum for each grid point: for additive-error linear models the one-step
errors are linear in the initial states, so three error paths (data, unit level, unit
trend) give the errors for any start. The unit paths do not depend on the data and are kept
between fits; the data's path is the history convolved with the filter's impulse response
(``filters.causal_filter``), one matrix product for the whole grid.
This is the same criterion as statsmodels' ETS fit (sum of squared one-step errors),
found in about a millisecond instead of tens.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import AdjustedModel
from forecasting.models.filters import Responses, causal_filter

__all__ = ["DampedHolt", "Holt", "SimpleExpSmoothing", "fit_smoothing"]

_ALPHAS = np.array([0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99])
_BETA_SHARES = np.array([0.01, 0.05, 0.1, 0.2, 0.4])
_PHIS = np.array([0.8, 0.85, 0.9, 0.94, 0.97, 0.98])


@cache
def _grid(trend: bool, damped: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
    if not trend:
        a = np.linspace(0.01, 0.99, 50)
        return a, np.zeros_like(a), np.ones_like(a)
    phis = _PHIS if damped else np.ones(1)
    a, s, p = (g.ravel() for g in np.meshgrid(_ALPHAS, _BETA_SHARES, phis, indexing="ij"))
    return a, a * s, p


def _errors(x: FloatArray, a: FloatArray, b: FloatArray, p: FloatArray, trend: bool) -> FloatArray:
    """One-step errors for data with zero start, unit level start, unit trend start.

    Returns an array (3, G, n) if ``trend`` else (2, G, n).
    """
    k = 3 if trend else 2
    g = a.size
    lev = np.zeros((k, g))
    lev[1] = 1.0
    tr = np.zeros((k, g))
    if trend:
        tr[2] = 1.0
    out = np.empty((k, g, x.size))
    for t in range(x.size):
        f = lev + p * tr if trend else lev
        e = -f
        e[0] += x[t]
        out[:, :, t] = e
        lev = f + a * e
        if trend:
            tr = p * tr + b * e
    return out


def _responses(trend: bool, damped: bool) -> Responses:
    """The grid's impulse response (data to error; its first value is 1), its unit level (and
    unit trend) error paths, and their sums of squares (and cross products) cumulated."""
    a, b, p = _grid(trend, damped)

    def compute(n: int) -> tuple[FloatArray, ...]:
        e = _errors(np.zeros(n), a, b, p, trend)  # e[0] is 0: no data
        # a unit month at s: error 1, then the path from level alpha and trend beta
        kernel = np.empty((a.size, n))
        kernel[:, 0] = 1.0
        kernel[:, 1:] = a[:, None] * e[1, :, :-1]
        if trend:
            kernel[:, 1:] += b[:, None] * e[2, :, :-1]
        # the data-free sums of the normal equations, cumulated over time
        sums = [np.cumsum(e[1] * e[1], axis=1)]
        if trend:
            sums += [np.cumsum(e[2] * e[2], axis=1), np.cumsum(e[1] * e[2], axis=1)]
        return (kernel, *e[1:], *sums)

    return Responses(compute)


_RESPONSES = {(t, d): _responses(t, d) for t, d in ((False, False), (True, False), (True, True))}


def fit_smoothing(x: FloatArray, *, trend: bool, damped: bool) -> dict[str, float]:
    """Least-squares smoothing parameters and initial states for SES / Holt / damped Holt.

    Returns:
        dict with alpha, beta (error-correction form, beta <= alpha), phi, level0, trend0,
        sse and the final level and trend after the history.
    """
    a, b, p = _grid(trend, damped)
    n = x.size
    kernel, *paths = _RESPONSES[(trend, damped)].get(n)
    e0, e1 = causal_filter(kernel, x), paths[0]
    s11 = paths[2 if trend else 1][:, n - 1]
    s10 = np.einsum("gt,gt->g", e1, e0)
    if trend:
        e2 = paths[1]
        s22, s12 = paths[3][:, n - 1], paths[4][:, n - 1]
        s20 = np.einsum("gt,gt->g", e2, e0)
        det = s11 * s22 - s12**2
        det = np.where(np.abs(det) < 1e-12 * (s11 * s22 + 1e-300), np.inf, det)
        l0 = (-s10 * s22 + s20 * s12) / det
        b0 = (-s20 * s11 + s10 * s12) / det
        res = e0 + l0[:, None] * e1 + b0[:, None] * e2
    else:
        l0 = -s10 / np.where(s11 > 0, s11, 1.0)
        b0 = np.zeros_like(l0)
        res = e0 + l0[:, None] * e1
    sse = np.einsum("gt,gt->g", res, res)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    i = int(np.argmin(sse))
    lev, tr = float(l0[i]), float(b0[i])
    ai, bi, pi = float(a[i]), float(b[i]), float(p[i])
    for v in x.tolist():
        f = lev + pi * tr
        err = v - f
        lev = f + ai * err
        tr = pi * tr + bi * err
    return {
        "alpha": float(a[i]),
        "beta": float(b[i]),
        "phi": float(p[i]),
        "level0": float(l0[i]),
        "trend0": float(b0[i]),
        "sse": float(sse[i]),
        "level": lev,
        "trend": tr,
    }


class _Smoothing(AdjustedModel):
    trend: ClassVar[bool] = False
    damped: ClassVar[bool] = False
    min_obs: ClassVar[int] = 3

    def _fit(self, y: FloatArray) -> None:
        x = self._adjusted(y)
        self.params_ = fit_smoothing(x, trend=self.trend, damped=self.damped)
        self.sigma_ = float(np.sqrt(self.params_["sse"] / x.size))
        if self.adj_.seasonal_:
            kind = "multiplicative" if self.adj_.multiplicative_ else "additive"
            self.description_ = f"{self.label} on seasonally adjusted data ({kind})"

    def _predict(self, h: int) -> FloatArray:
        pr = self.params_
        steps = np.cumsum(pr["phi"] ** np.arange(1, h + 1)) if self.trend else np.zeros(h)
        return self.adj_.restore(pr["level"] + steps * pr["trend"])


class SimpleExpSmoothing(_Smoothing):
    """Simple exponential smoothing: a smoothed level, flat forecast."""

    name: ClassVar[str] = "ses"
    label: ClassVar[str] = "simple exponential smoothing"


class Holt(_Smoothing):
    """Holt's linear trend (undamped); used inside ``auto``'s candidate set only."""

    name: ClassVar[str] = "holt"
    label: ClassVar[str] = "Holt linear trend"
    trend: ClassVar[bool] = True
    min_obs: ClassVar[int] = 4


class DampedHolt(_Smoothing):
    """Holt's trend with damping (phi in 0.8..0.98): the trend fades over the horizon."""

    name: ClassVar[str] = "damped_holt"
    label: ClassVar[str] = "damped Holt"
    trend: ClassVar[bool] = True
    damped: ClassVar[bool] = True
    min_obs: ClassVar[int] = 4
