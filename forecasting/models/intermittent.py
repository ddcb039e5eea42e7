"""Intermittent demand: Croston-SBA and TSB in numpy (statsmodels has neither).

Both follow statsforecast's definitions exactly (``CrostonSBA`` and ``TSB``): simple
exponential smoothing started at the first value, demand sizes over positive months,
intervals between non-zero months counted from the start of the history.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import Model

__all__ = ["CrostonSBA", "TSB", "ses_level"]


def ses_level(x: FloatArray, alpha: float) -> float:
    """Level after simple exponential smoothing started at ``x[0]`` (the one-step forecast).

    >>> round(ses_level(np.array([3.0, 5.0, 2.0, 7.0]), 0.1), 6)
    3.472
    """
    lev = float(x[0])
    for v in x[1:]:
        lev += alpha * (float(v) - lev)
    return lev


class CrostonSBA(Model):
    """Croston's method with the Syntetos-Boylan bias correction (0.95 = 1 - alpha / 2).

    Demand sizes and the intervals between demands are each smoothed with alpha 0.1;
    the forecast is 0.95 * size / interval.
    """

    name: ClassVar[str] = "croston_sba"
    label: ClassVar[str] = "Croston-SBA"

    def __init__(self, season_length: int = 12, alpha: float = 0.1) -> None:
        super().__init__(season_length)
        self.alpha = alpha

    def _fit(self, y: FloatArray) -> None:
        demand = y[y > 0]
        if demand.size == 0:
            self.rate_ = float(y[-1])
            return
        nonzero = np.flatnonzero(y != 0)
        intervals = np.diff(nonzero + 1, prepend=0).astype(float)
        size = ses_level(demand, self.alpha)
        interval = ses_level(intervals, self.alpha)
        self.rate_ = (1 - self.alpha / 2) * (size / interval if interval != 0 else size)

    def _predict(self, h: int) -> FloatArray:
        return np.full(h, self.rate_)


class TSB(Model):
    """Teunter-Syntetos-Babai: smoothed demand size times smoothed demand probability.

    Unlike Croston, the probability decays in months without demand, so items that stop
    selling fade out instead of being over-forecast.
    """

    name: ClassVar[str] = "tsb"
    label: ClassVar[str] = "TSB"

    def __init__(self, season_length: int = 12, alpha_d: float = 0.1, alpha_p: float = 0.1) -> None:
        super().__init__(season_length)
        self.alpha_d = alpha_d
        self.alpha_p = alpha_p

    def _fit(self, y: FloatArray) -> None:
        if np.all(y == 0):
            self.rate_ = 0.0
            return
        demand = y[y > 0]
        prob = (y != 0).astype(float)
        self.rate_ = ses_level(prob, self.alpha_p) * ses_level(demand, self.alpha_d)

    def _predict(self, h: int) -> FloatArray:
        return np.full(h, self.rate_)
