"""Holt-Winters and ETS with seasonal states, via statsmodels (imported when first fitted)."""

from __future__ import annotations

import math
import warnings
from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray, Intervals
from forecasting.models.base import Model, ModelError
from forecasting.seasonality import seasonality_test

__all__ = ["ETS", "HoltWinters", "ets_candidates"]


def ets_candidates(y: FloatArray, season_length: int) -> list[tuple[str, str | None, str | None]]:
    """The gated ETS candidate set (error, trend, seasonal) for a history.

    Seasonal models only when the seasonality test passes; multiplicative error and
    seasonality only on positive data; trends always damped (issue 3 notes: gating is
    where both accuracy and speed come from).
    """
    positive = bool(y.min() > 0)
    seasonal = (
        season_length >= 2
        and y.size >= 2 * season_length + 2
        and seasonality_test(y, season_length, min_obs=2 * season_length + 2)
    )
    errors = ["add", "mul"] if positive else ["add"]
    seasons: list[str | None] = [("mul" if positive else "add")] if seasonal else [None]
    trends: list[str | None] = [None, "add"] if y.size >= 10 else [None]
    return [(e, t, s) for e in errors for t in trends for s in seasons]


def _code(error: str, trend: str | None, seasonal: str | None) -> str:
    letter = {"add": "A", "mul": "M", None: "N"}
    return f"ETS({letter[error]},{'Ad' if trend else 'N'},{letter[seasonal]})"


class ETS(Model):
    """statsmodels ``ETSModel``: the gated candidate set, best by AICc.

    Gives its own prediction intervals (analytic for additive errors, simulated for
    multiplicative ones).
    """

    name: ClassVar[str] = "ets"
    label: ClassVar[str] = "ETS"
    min_obs: ClassVar[int] = 5

    def _fit(self, y: FloatArray) -> None:
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        series = pd.Series(y)  # get_prediction needs an index to label its rows
        best = None
        for error, trend, seasonal in ets_candidates(y, self.season_length):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = ETSModel(
                        series,
                        error=error,
                        trend=trend,
                        damped_trend=trend is not None,
                        seasonal=seasonal,
                        seasonal_periods=self.season_length if seasonal else None,
                    ).fit(disp=False)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if not math.isfinite(res.aicc):
                continue
            if best is None or res.aicc < best[0]:
                best = (res.aicc, res, _code(error, trend, seasonal))
        if best is None:
            raise ModelError("no ETS model could be fitted")
        self.res_ = best[1]
        self.description_ = best[2]

    def _predict(self, h: int) -> FloatArray:
        return np.asarray(self.res_.forecast(h), dtype=float)

    def predict_intervals(self, h: int, levels: tuple[int, ...]) -> Intervals | None:
        n = self.n_obs_
        out: Intervals = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = self.res_.get_prediction(start=n, end=n + h - 1)
                for lv in levels:
                    sf = pred.summary_frame(alpha=1 - lv / 100)
                    out[lv] = (sf["pi_lower"].to_numpy(float), sf["pi_upper"].to_numpy(float))
        except (ValueError, AttributeError, np.linalg.LinAlgError):
            return None
        if not all(np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) for lo, hi in out.values()):
            return None
        return out


class HoltWinters(Model):
    """statsmodels ``ExponentialSmoothing``: damped trend and a seasonal state.

    Multiplicative seasonality on positive data, additive otherwise; needs two full
    seasons.
    """

    name: ClassVar[str] = "holt_winters"
    label: ClassVar[str] = "Holt-Winters"

    def _fit(self, y: FloatArray) -> None:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        m = self.season_length
        if m < 2 or y.size < 2 * m + 2:
            raise ModelError(f"Holt-Winters needs two full seasons ({2 * m + 2} months)")
        kind = "mul" if y.min() > 0 else "add"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.res_ = ExponentialSmoothing(
                    y, trend="add", damped_trend=True, seasonal=kind, seasonal_periods=m
                ).fit()
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ModelError(f"Holt-Winters failed: {exc}") from exc
        self.description_ = f"Holt-Winters ({'multiplicative' if kind == 'mul' else 'additive'})"

    def _predict(self, h: int) -> FloatArray:
        return np.asarray(self.res_.forecast(h), dtype=float)
