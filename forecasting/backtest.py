"""Rolling-origin backtests of one history, and the intervals derived from their errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from forecasting._types import FloatArray, Intervals
from forecasting.metrics import mase, naive_scale, scaled_bias
from forecasting.models.base import Model, ModelError

__all__ = ["Backtest", "backtest_origins", "interval_bounds", "run_backtest"]


@dataclass
class Backtest:
    """Forecasts of one model from several origins of the same history.

    Attributes:
        origins: history lengths the model was fitted to.
        horizon: steps forecast from each origin.
        forecasts: array (windows, horizon).
        actuals: array (windows, horizon).
    """

    origins: list[int]
    horizon: int
    forecasts: FloatArray
    actuals: FloatArray
    scale_inputs: list[FloatArray] = field(default_factory=list)

    def mase(self, season_length: int) -> float:
        """Mean over windows of the MASE of each window."""
        vals = [mase(a, f, s, season_length)
                for a, f, s in zip(self.actuals, self.forecasts, self.scale_inputs, strict=True)]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def bias(self, season_length: int) -> float:
        """Mean over windows of the scaled bias (forecast minus actual; + = over-forecast)."""
        vals = [scaled_bias(a, f, s, season_length)
                for a, f, s in zip(self.actuals, self.forecasts, self.scale_inputs, strict=True)]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def rmsse(self, season_length: int) -> float:
        """Root mean squared error over all windows, scaled by the naive MSE of the history."""
        scale = naive_scale(self.scale_inputs[-1], season_length, power=2)
        mse = float(np.mean((self.actuals - self.forecasts) ** 2))
        return float(np.sqrt(mse / scale)) if scale > 0 else float("nan")

    def combine(self, other: Backtest) -> Backtest:
        """The backtest of the mean of two models' forecasts (same origins)."""
        return Backtest(self.origins, self.horizon, (self.forecasts + other.forecasts) / 2,
                        self.actuals, self.scale_inputs)


def backtest_origins(n: int, horizon: int, n_windows: int, step: int, min_train: int) -> list[int]:
    """History lengths for the windows, oldest first; empty when the history is too short.

    >>> backtest_origins(48, 12, 2, 6, 24)
    [30, 36]
    """
    origins = [n - horizon - i * step for i in range(n_windows)]
    return sorted(o for o in origins if o >= max(min_train, 1))


def run_backtest(make: Callable[[], Model], y: FloatArray, horizon: int, origins: list[int]
                 ) -> Backtest | None:
    """Fit a fresh model at every origin and forecast ``horizon`` steps; None if any fails."""
    if not origins:
        return None
    fc, act, ins = [], [], []
    for o in origins:
        try:
            f = make().forecast(y[:o], horizon)
        except ModelError:
            return None
        fc.append(np.maximum(f, 0.0))
        act.append(y[o:o + horizon])
        ins.append(y[:o])
    return Backtest(list(origins), horizon, np.array(fc), np.array(act), ins)


def interval_bounds(mean: FloatArray, levels: tuple[int, ...], *, errors: FloatArray | None,
                    history: FloatArray) -> Intervals:
    """Normal intervals whose width grows with sqrt(step), from backtest errors.

    The one-step scale is estimated from the backtest errors as sqrt(mean(e_k^2 / k)) over
    windows and steps k; without a backtest, from the month-to-month changes of the history.
    """
    h = mean.size
    if errors is not None and errors.size:
        k = np.arange(1, errors.shape[1] + 1)
        sigma1 = float(np.sqrt(np.mean(errors ** 2 / k)))
    elif history.size >= 3:
        sigma1 = float(np.std(np.diff(history), ddof=1))
    else:
        sigma1 = 0.5 * float(np.mean(np.abs(history))) if history.size else 0.0
    if not np.isfinite(sigma1):
        sigma1 = 0.0
    sd = sigma1 * np.sqrt(np.arange(1, h + 1))
    out: Intervals = {}
    for lv in levels:
        z = NormalDist().inv_cdf(0.5 + lv / 200)
        out[lv] = (mean - z * sd, mean + z * sd)
    return out
