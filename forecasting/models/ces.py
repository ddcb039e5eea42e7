"""Complex exponential smoothing (CES, Svetunkov and Kourentzes), fitted in numpy.

The non-seasonal CES keeps a level ``l`` and an "information potential" ``c`` and is
smoothed by one complex parameter ``a0 + i a1``:

    e_t = y_t - l_{t-1}
    l_t = l_{t-1} - (1 - a1) c_{t-1} + (a0 - a1) e_t
    c_t = l_{t-1} + (1 - a0) c_{t-1} + (a0 + a1) e_t

Depending on ``a0 + i a1`` its forecast is flat, trending or curving between the two,
so it models long-run direction without choosing a trend form the way ETS does; that is
what makes it a useful third opinion beside damped Holt and Theta. Seasonality is
removed by classical decomposition first and put back on the forecast (as for the other
numpy smoothers). The initial states are those of statsforecast's ``AutoCES``: the mean
of the first ten months and that mean / 1.1. The complex parameter is chosen on a grid,
every grid point in one numpy pass over the history, kept to the region where the
discount matrix is stable, by the sum of squared one-step errors. The errors of every grid
point are the history convolved with the grid's impulse responses plus the responses to the
two initial states (``filters``: kept between fits, they do not depend on the data).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import AdjustedModel, ModelError
from forecasting.models.filters import Responses, causal_filter

__all__ = ["CES", "ces_grid", "fit_ces"]


def ces_grid(a0: FloatArray, a1: FloatArray) -> tuple[FloatArray, FloatArray]:
    """All (a0, a1) pairs whose discount matrix has its eigenvalues inside the unit circle."""
    g0, g1 = (g.ravel() for g in np.meshgrid(a0, a1, indexing="ij"))
    d = np.empty((g0.size, 2, 2))
    d[:, 0, 0] = 1 - (g0 - g1)
    d[:, 0, 1] = -(1 - g1)
    d[:, 1, 0] = 1 - (g0 + g1)
    d[:, 1, 1] = 1 - g0
    ok = np.abs(np.linalg.eigvals(d)).max(axis=1) < 1.0
    return g0[ok], g1[ok]


# a1 near 1 decides between decay, a straight line and growth: search it finely there
_A1 = 1 + np.array(
    [
        -0.2,
        -0.1,
        -0.06,
        -0.04,
        -0.03,
        -0.02,
        -0.015,
        -0.01,
        -0.006,
        -0.003,
        0.0,
        0.003,
        0.006,
        0.01,
        0.015,
        0.02,
        0.03,
        0.04,
        0.06,
        0.1,
        0.2,
    ]
)
_GRID = ces_grid(np.linspace(0.8, 1.8, 26), _A1)


def _start(x: FloatArray) -> tuple[float, float]:
    level = float(np.mean(x[: min(10, x.size)]))
    return level, level / 1.1


def _state_paths(a0: FloatArray, a1: FloatArray, n: int) -> tuple[FloatArray, ...]:
    """Impulse response of the errors to the data (G, n), and the error paths of a unit
    initial level and a unit initial potential without data."""
    lev = np.stack([np.ones(a0.size), np.zeros(a0.size)])
    pot = np.stack([np.zeros(a0.size), np.ones(a0.size)])
    paths = np.empty((2, a0.size, n))
    for t in range(n):
        e = -lev
        paths[:, :, t] = e
        lev, pot = lev - (1 - a1) * pot + (a0 - a1) * e, lev + (1 - a0) * pot + (a0 + a1) * e
    # a unit month at s: error 1, then the path from level a0 - a1 and potential a0 + a1
    kernel = np.empty((a0.size, n))
    kernel[:, 0] = 1.0
    kernel[:, 1:] = (a0 - a1)[:, None] * paths[0, :, :-1] + (a0 + a1)[:, None] * paths[1, :, :-1]
    return kernel, paths[0], paths[1]


_RESPONSES: dict[bytes, Responses] = {}


def fit_ces(x: FloatArray, grid: tuple[FloatArray, FloatArray] = _GRID) -> dict[str, float]:
    """Least-squares complex smoothing parameter on ``grid``; returns it with the sse and
    the final states after the history."""
    a0, a1 = grid
    key = a0.tobytes() + a1.tobytes()
    if key not in _RESPONSES:
        if len(_RESPONSES) >= 8:
            _RESPONSES.pop(next(iter(_RESPONSES)))
        _RESPONSES[key] = Responses(lambda n: _state_paths(a0, a1, n))
    kernel, unit_level, unit_potential = _RESPONSES[key].get(x.size)
    l0, c0 = _start(x)
    err = causal_filter(kernel, x) + l0 * unit_level + c0 * unit_potential
    sse = np.einsum("gt,gt->g", err, err)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    k = int(np.argmin(sse))
    if not np.isfinite(sse[k]):
        raise ModelError("complex exponential smoothing found no stable fit")
    b0, b1 = float(a0[k]), float(a1[k])
    lev, pot = l0, c0
    for v in x.tolist():
        e = v - lev
        lev, pot = lev - (1 - b1) * pot + (b0 - b1) * e, lev + (1 - b0) * pot + (b0 + b1) * e
    return {
        "a0": b0,
        "a1": b1,
        "sse": float(sse[k]),
        "level": float(lev),
        "potential": float(pot),
    }


def ces_path(p: dict[str, float], h: int) -> FloatArray:
    """The forecast from the final states: the recursion with zero errors."""
    a0, a1, lev, pot = p["a0"], p["a1"], p["level"], p["potential"]
    out = np.empty(h)
    for k in range(h):
        out[k] = lev
        lev, pot = lev - (1 - a1) * pot, lev + (1 - a0) * pot
    return out


class CES(AdjustedModel):
    """Complex exponential smoothing on seasonally adjusted data (when seasonal)."""

    name: ClassVar[str] = "ces"
    label: ClassVar[str] = "complex exponential smoothing"
    min_obs: ClassVar[int] = 4

    def _fit(self, y: FloatArray) -> None:
        x = self._adjusted(y)
        self.params_ = fit_ces(x)
        if self.adj_.seasonal_:
            self.description_ = f"{self.label} on seasonally adjusted data"

    def _predict(self, h: int) -> FloatArray:
        return self.adj_.restore(ces_path(self.params_, h))
