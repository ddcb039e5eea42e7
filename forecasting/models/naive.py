"""Benchmarks and rule methods: naive, seasonal naive, Naive2, moving average, zero, manual."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import Model, ModelError, SeasonalAdjuster

__all__ = ["Manual", "MovingAverage", "Naive", "Naive2", "SeasonalNaive", "Zero"]


class Naive(Model):
    """Last observed value, flat."""

    name: ClassVar[str] = "naive"
    label: ClassVar[str] = "naive (last month)"

    def _fit(self, y: FloatArray) -> None:
        self.last_ = float(y[-1])

    def _predict(self, h: int) -> FloatArray:
        return np.full(h, self.last_)


class SeasonalNaive(Model):
    """Same month last year; the plain naive forecast when there is less than a season."""

    name: ClassVar[str] = "seasonal_naive"
    label: ClassVar[str] = "seasonal naive (same month last year)"

    def _fit(self, y: FloatArray) -> None:
        m = self.season_length
        self.season_ = y[-m:] if m >= 1 and y.size >= m else y[-1:]

    def _predict(self, h: int) -> FloatArray:
        return np.resize(self.season_, h)


class Naive2(Model):
    """M4's Naive2: naive on seasonally adjusted data when the 90% test finds seasonality."""

    name: ClassVar[str] = "naive2"
    label: ClassVar[str] = "Naive2"

    def _fit(self, y: FloatArray) -> None:
        self.adj_ = SeasonalAdjuster(self.season_length)
        if y.min() <= 0:
            self.last_ = float(self.adj_.skip(y)[-1])
            return
        self.last_ = float(self.adj_.adjust(y)[-1])

    def _predict(self, h: int) -> FloatArray:
        return self.adj_.restore(np.full(h, self.last_))


class MovingAverage(Model):
    """Mean of the last ``window`` months (all of them when fewer).

    With ``prior`` (a group's seasonal indices by position ``t % m`` of the history) the mean
    is taken of the history divided by its season and the forecast carries the season again:
    a new item with a few months of history follows its family's season.
    """

    name: ClassVar[str] = "moving_average"
    label: ClassVar[str] = "moving average"

    def __init__(
        self, season_length: int = 12, window: int = 6, *, prior: FloatArray | None = None
    ) -> None:
        super().__init__(season_length)
        self.window = window
        self.prior = prior

    def _fit(self, y: FloatArray) -> None:
        self.adj_ = SeasonalAdjuster(self.season_length, test=False, prior=self.prior)
        x = self.adj_.adjust(y) if self.prior is not None else self.adj_.skip(y)
        self.mean_ = float(x[-self.window :].mean())
        self.description_ = f"moving average of {min(self.window, y.size)} months"

    def _predict(self, h: int) -> FloatArray:
        return self.adj_.restore(np.full(h, self.mean_))


class Zero(Model):
    """Forecast 0: dead or discontinued items."""

    name: ClassVar[str] = "zero"
    label: ClassVar[str] = "zero (no demand expected)"
    min_obs: ClassVar[int] = 0

    def _fit(self, y: FloatArray) -> None:
        pass

    def _predict(self, h: int) -> FloatArray:
        return np.zeros(h)


class Manual(Model):
    """The planner's own numbers, repeated or cut to the horizon."""

    name: ClassVar[str] = "manual"
    label: ClassVar[str] = "manual (planner's numbers)"
    min_obs: ClassVar[int] = 0

    def __init__(self, season_length: int = 12, values: FloatArray | None = None) -> None:
        super().__init__(season_length)
        self.values = None if values is None else np.asarray(values, dtype=float).ravel()

    def _fit(self, y: FloatArray) -> None:
        if self.values is None or self.values.size == 0 or not np.all(np.isfinite(self.values)):
            raise ModelError("manual method chosen but no planner numbers were given")

    def _predict(self, h: int) -> FloatArray:
        assert self.values is not None
        if self.values.size >= h:
            return self.values[:h].copy()
        return np.r_[self.values, np.full(h - self.values.size, self.values[-1])]
