"""Dynamic optimised Theta (DOTM, Fiorucci et al. 2016) in numpy.

The model (state at time i, with a = alpha, c = 1 - 1/theta):

    mu_i  = level_{i-1} + c * (A_{i-1} (1-a)^i + B_{i-1} (1 - (1-a)^(i+1)) / a)
    level_i = a y_i + (1-a) level_{i-1},   level_0 = a y_0 + (1-a) l0
    A_i, B_i = intercept and slope of the least-squares line through y_0..y_i (updated
               recursively; they do not depend on the parameters)

For a fixed alpha the one-step errors y_i - mu_i are linear in the initial level l0 and in
c, so both have a closed-form least-squares optimum; only alpha is searched, on a grid, all
grid points at once. theta >= 1 is kept by clipping c to [0, 0.999]. Same recursion and
initial states as statsforecast's ``DynamicOptimizedTheta`` (A_0 = y_0, B_0 = 0). The levels
for every alpha are the history convolved with alpha (1 - alpha)^k (``filters``), and A_i,
B_i come from running sums: no loop over the history.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import AdjustedModel
from forecasting.models.filters import Responses, causal_filter

__all__ = ["DynamicTheta", "fit_dynamic_theta"]

_ALPHAS = np.linspace(0.1, 0.99, 90)


def _trend_states(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Least-squares intercept A_i and slope B_i through y_0..y_i, for every i.

    B_i is the slope of the line through (t, y_t), t = 0..i, and A_i = mean_i - B_i (i + 2) / 2
    (the recursion of statsforecast's Theta, in closed form from running sums).
    """
    n = y.size
    i = np.arange(n, dtype=float)
    yc = y - y[0]  # the slope does not change; the sums stay small
    s_y = np.cumsum(yc)
    s_ty = np.cumsum(i * yc)
    mean = s_y / (i + 1)
    b = np.zeros(n)
    b[1:] = (s_ty[1:] - 0.5 * i[1:] * s_y[1:]) / (i[1:] * (i[1:] + 1) * (i[1:] + 2) / 12)
    a = y[0] + mean - b * (i + 2) / 2
    a[0] = y[0]
    return a, b


def _kernels(alphas: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """(1 - alpha)^k, k = 0..n-1, and alpha (1 - alpha)^k: the level's response to one month
    of data."""
    powers = (1.0 - alphas[:, None]) ** np.arange(n)
    return powers, alphas[:, None] * powers


_RESPONSES = Responses(lambda n: _kernels(_ALPHAS, n))


def fit_dynamic_theta(y: FloatArray, alphas: FloatArray = _ALPHAS) -> dict[str, float]:
    """Least-squares alpha, theta and initial level; returns them with the sse."""
    n = y.size
    A, B = _trend_states(y)
    al = alphas[:, None]
    powers, kernel = _RESPONSES.get(n + 1) if alphas is _ALPHAS else _kernels(alphas, n + 1)
    # level_{i-1} with l0 = 0 for i = 1..n-1, one row per alpha
    base = causal_filter(kernel, y[:-1])
    u = powers[:, 1:n]  # (1 - alpha)^i: coefficient of l0 in level_{i-1}
    d = A[None, :-1] * u + B[None, :-1] * (1 - powers[:, 2 : n + 1]) / al
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
    """The states after the history, then the recursion forward with mu as the observation."""
    a, c = p["alpha"], 1 - 1 / p["theta"]
    n = y.size
    q = 1.0 - a
    # level_{n-1} = sum_s a q^(n-1-s) y_s + q^n l0 (level_0 = a y_0 + q l0)
    level = float(a * (q ** np.arange(n - 1, -1, -1)) @ y + q**n * p["l0"])
    an_, bn_ = _trend_states(y)
    an, bn = float(an_[-1]), float(bn_[-1])
    mean = float(np.mean(y))
    out = np.empty(h)
    for i in range(n, n + h):
        mu = level + c * (an * q**i + bn * (1 - q ** (i + 1)) / a)
        out[i - n] = mu
        level = a * mu + q * level
        bn = ((i - 1) * bn + 6 * (mu - mean) / (i + 1)) / (i + 2)
        mean = (i * mean + mu) / (i + 1)
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
