"""Rolling-origin backtests of one history, and the intervals derived from their errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
        vals = [
            mase(a, f, s, season_length)
            for a, f, s in zip(self.actuals, self.forecasts, self.scale_inputs, strict=True)
        ]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def bias(self, season_length: int) -> float:
        """Mean over windows of the scaled bias (forecast minus actual; + = over-forecast)."""
        vals = [
            scaled_bias(a, f, s, season_length)
            for a, f, s in zip(self.actuals, self.forecasts, self.scale_inputs, strict=True)
        ]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def rmsse(self, season_length: int) -> float:
        """Root mean squared error over all windows, scaled by the naive MSE of the history."""
        scale = naive_scale(self.scale_inputs[-1], season_length, power=2)
        mse = float(np.mean((self.actuals - self.forecasts) ** 2))
        return float(np.sqrt(mse / scale)) if scale > 0 else float("nan")

    def combine(self, other: Backtest) -> Backtest:
        """The backtest of the mean of two models' forecasts (same origins)."""
        return Backtest(
            self.origins,
            self.horizon,
            (self.forecasts + other.forecasts) / 2,
            self.actuals,
            self.scale_inputs,
        )


def backtest_origins(n: int, horizon: int, n_windows: int, step: int, min_train: int) -> list[int]:
    """History lengths for the windows, oldest first; empty when the history is too short.

    >>> backtest_origins(48, 12, 2, 6, 24)
    [30, 36]
    """
    origins = [n - horizon - i * step for i in range(n_windows)]
    return sorted(o for o in origins if o >= max(min_train, 1))


def run_backtest(
    make: Callable[[], Model], y: FloatArray, horizon: int, origins: list[int]
) -> Backtest | None:
    """Fit a fresh model at every origin and forecast ``horizon`` steps; None if any fails."""
    if not origins:
        return None
    try:
        fc = [np.maximum(f, 0.0) for f in make().backtest_forecasts(y, list(origins), horizon)]
    except ModelError:
        return None
    act = [y[o : o + horizon] for o in origins]
    ins = [y[:o] for o in origins]
    return Backtest(list(origins), horizon, np.array(fc), np.array(act), ins)


def _satterthwaite(psi: FloatArray, steps: int, windows: int) -> float:
    """Degrees of freedom of the one-step variance estimated from backtest errors.

    The k-step errors of one window are e_k = eps_k + psi_1 eps_{k-1} + ... (the model's
    error weights), so they are correlated; the estimate mean(e_k^2 / g_k) then carries as
    much information as ``steps^2 / sum_jk rho_jk^2`` independent squared errors per
    window (Satterthwaite), rho being the errors' correlations. Windows count as independent.
    """
    w = np.r_[1.0, psi[: steps - 1]]
    lower = np.zeros((steps, steps))
    for k in range(steps):
        lower[k, : k + 1] = w[: k + 1][::-1]
    cov = lower @ lower.T
    d = np.sqrt(np.diag(cov))
    rho = cov / np.outer(d, d)
    return windows * steps**2 / float(np.sum(rho**2))


def interval_bounds(
    mean: FloatArray,
    levels: tuple[int, ...],
    *,
    errors: FloatArray | None,
    history: FloatArray,
    psi: FloatArray | None = None,
    sd1: tuple[float, float] | None = None,
) -> Intervals:
    """Prediction intervals from backtest errors, widening with the horizon as the model says.

    ``psi`` are the model's error weights (the k-step error is eps_k + psi_1 eps_{k-1} + ...;
    exponential smoothing knows them, see ``SeasonalETS.error_weights``): the k-step variance
    is the one-step variance times g_k = 1 + psi_1^2 + ... + psi_{k-1}^2. Without them the
    errors add up like a random walk's (all weights 1, g_k = k). The one-step variance is
    estimated from the backtest errors as mean(e_k^2 / g_k) over windows and steps; without a
    backtest, from ``sd1`` (the model's in-sample one-step spread and its degrees of freedom)
    or else the month-to-month changes of the history. The quantiles are Student t's with the
    estimate's degrees of freedom (:func:`_satterthwaite` for backtest errors): few or
    strongly correlated errors give wider intervals, as they should.
    """
    h = mean.size
    need = max(h, errors.shape[1] if errors is not None and errors.size else 1)
    weights = (
        np.ones(need - 1)
        if psi is None
        else np.r_[psi, np.ones(max(0, need - 1 - psi.size))][: need - 1]
    )
    g = np.r_[1.0, 1.0 + np.cumsum(weights**2)]
    if errors is not None and errors.size:
        steps = errors.shape[1]
        sigma1 = float(np.sqrt(np.mean(errors**2 / g[:steps])))
        df = _satterthwaite(weights, steps, errors.shape[0])
    elif sd1 is not None and np.isfinite(sd1[0]):
        sigma1, df = float(sd1[0]), float(sd1[1])
    elif history.size >= 3:
        sigma1, df = float(np.std(np.diff(history), ddof=1)), float(history.size - 2)
    else:
        sigma1 = 0.5 * float(np.mean(np.abs(history))) if history.size else 0.0
        df = 1.0
    if not np.isfinite(sigma1):
        sigma1 = 0.0
    sd = sigma1 * np.sqrt(g[:h])
    from scipy.special import stdtrit  # Student t quantiles; imported here, not with forecasting

    out: Intervals = {}
    for lv in levels:
        q = float(stdtrit(max(df, 1.0), 0.5 + lv / 200))
        out[lv] = (mean - q * sd, mean + q * sd)
    return out
