"""Dynamic optimised Theta (DOTM, Fiorucci et al. 2016) in numpy.

The model (state at time i, with a = alpha, c = 1 - 1/theta):

    mu_i  = level_{i-1} + c * (A_{i-1} (1-a)^i + B_{i-1} (1 - (1-a)^(i+1)) / a)
    level_i = a y_i + (1-a) level_{i-1},   level_0 = a y_0 + (1-a) l0
    A_i, B_i = intercept and slope of the least-squares line through y_0..y_i (updated
               recursively; they do not depend on the parameters)

For a fixed alpha the one-step errors y_i - mu_i are linear in the initial level l0 and in
c, so both have a closed-form least-squares optimum; only alpha is searched, on a grid, all
grid points at once. theta >= 1 is kept by clipping c to [0, 0.999]. Same recursion and
initial states as statsforecast's ``DynamicOptimizedTheta`` (A_0 = y_0, B_0 = 0).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import AdjustedModel

__all__ = ["DynamicTheta", "fit_dynamic_theta"]

_ALPHAS = np.linspace(0.1, 0.99, 90)


def _trend_states(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Recursive least-squares intercept A_i and slope B_i through y_0..y_i."""
    n = y.size
    a, b = np.empty(n), np.empty(n)
    mean, a[0], b[0] = y[0], y[0], 0.0
    for i in range(1, n):
        b[i] = ((i - 1) * b[i - 1] + 6 * (y[i] - mean) / (i + 1)) / (i + 2)
        mean = (i * mean + y[i]) / (i + 1)
        a[i] = mean - b[i] * (i + 2) / 2
    return a, b


def fit_dynamic_theta(y: FloatArray, alphas: FloatArray = _ALPHAS) -> dict[str, float]:
    """Least-squares alpha, theta and initial level; returns them with the sse."""
    n = y.size
    A, B = _trend_states(y)
    al = alphas[:, None]
    i = np.arange(1, n)[None, :]
    q = 1.0 - al
    # level_{i-1} with l0 = 0 for i = 1..n-1, one row per alpha
    lev = np.empty((alphas.size, n))
    lev[:, 0] = alphas * y[0]
    for t in range(1, n):
        lev[:, t] = alphas * y[t] + (1 - alphas) * lev[:, t - 1]
    base = lev[:, :-1]
    u = q**i  # coefficient of l0 in level_{i-1}
    d = A[None, :-1] * q**i + B[None, :-1] * (1 - q ** (i + 1)) / al
    r = y[None, 1:] - base  # error = r - l0 * u - c * d
    suu, sdd, sud = (u * u).sum(1), (d * d).sum(1), (u * d).sum(1)
    sru, srd = (r * u).sum(1), (r * d).sum(1)
    det = suu * sdd - sud**2
    ok = np.abs(det) > 1e-12 * np.maximum(suu * sdd, 1e-300)
    c = np.where(ok, (suu * srd - sud * sru) / np.where(ok, det, 1.0), 0.0)
    c = np.clip(c, 0.0, 0.999)
    l0 = (sru - c * sud) / np.where(suu > 0, suu, 1.0)
    e = r - l0[:, None] * u - c[:, None] * d
    sse = (e * e).sum(1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    k = int(np.argmin(sse))
    return {
        "alpha": float(alphas[k]),
        "theta": float(1 / (1 - c[k])),
        "l0": float(l0[k]),
        "sse": float(sse[k]),
    }


def _path(y: FloatArray, p: dict[str, float], h: int) -> FloatArray:
    """Run the recursion over the history, then forward with mu as the observation."""
    a, c = p["alpha"], 1 - 1 / p["theta"]
    level = a * y[0] + (1 - a) * p["l0"]
    mean, an, bn = y[0], y[0], 0.0
    out = np.empty(h)
    n = y.size
    for i in range(1, n + h):
        mu = level + c * (an * (1 - a) ** i + bn * (1 - (1 - a) ** (i + 1)) / a)
        obs = y[i] if i < n else mu
        if i >= n:
            out[i - n] = mu
        level = a * obs + (1 - a) * level
        bn = ((i - 1) * bn + 6 * (obs - mean) / (i + 1)) / (i + 2)
        mean = (i * mean + obs) / (i + 1)
        an = mean - bn * (i + 2) / 2
    return out


class DynamicTheta(AdjustedModel):
    """Dynamic optimised Theta on seasonally adjusted data (when seasonal)."""

    name: ClassVar[str] = "dynamic_theta"
    label: ClassVar[str] = "dynamic optimised Theta"
    min_obs: ClassVar[int] = 4

    def _fit(self, y: FloatArray) -> None:
        self.x_ = self._adjusted(y)
        self.params_ = fit_dynamic_theta(self.x_)
        if self.adj_.seasonal_:
            self.description_ = f"{self.label} on seasonally adjusted data"

    def _predict(self, h: int) -> FloatArray:
        return self.adj_.restore(_path(self.x_, self.params_, h))
