"""The model contract every forecasting method follows.

A model is fitted to one clean history (a float array, no NaN) and predicts ``h`` steps
ahead: ``Model(season_length).fit(y).predict(h)`` equals ``Model(season_length).forecast(y, h)``.
Models that know their own prediction intervals (statsmodels' ETS) return them from
``predict_intervals``; for the others the engine derives intervals from backtest errors.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from forecasting._types import FloatArray, Intervals
from forecasting.seasonality import deseasonalize, seasonal_profile, seasonality_test

__all__ = ["AdjustedModel", "Model", "ModelError", "SeasonalAdjuster"]


class ModelError(RuntimeError):
    """A model cannot be fitted to this history (too short, failed to converge, ...)."""


class Model:
    """Base class: ``fit(y)`` then ``predict(h)``.

    Attributes:
        name: the method name used in ``forecasting.METHODS`` and in the output frame.
        label: a planner-facing name used in reasons ("damped Holt").
        min_obs: fewest observations the model accepts; ``fit`` raises ModelError below it.
        description_: after fitting, what was fitted (for example "ETS(M,Ad,M)").
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    min_obs: ClassVar[int] = 1

    def __init__(self, season_length: int = 12) -> None:
        self.season_length = season_length
        self.description_ = self.label
        self.n_obs_ = 0

    def fit(self, y: FloatArray) -> Self:
        """Fit to a history without NaN; raises ModelError when the model cannot."""
        y = np.asarray(y, dtype=float)
        if y.size < self.min_obs:
            raise ModelError(f"{self.label} needs at least {self.min_obs} months, got {y.size}")
        if not np.all(np.isfinite(y)):
            raise ModelError(f"{self.label} got a history with missing values")
        self.n_obs_ = y.size
        self._fit(y)
        return self

    def predict(self, h: int) -> FloatArray:
        """Point forecast for the ``h`` months after the history."""
        out = np.asarray(self._predict(h), dtype=float)
        if out.shape != (h,) or not np.all(np.isfinite(out)):
            raise ModelError(f"{self.label} produced an invalid forecast")
        return out

    def forecast(self, y: FloatArray, h: int) -> FloatArray:
        """Fit and predict in one call."""
        return self.fit(y).predict(h)

    def predict_intervals(self, h: int, levels: tuple[int, ...]) -> Intervals | None:
        """Model-based prediction intervals, or None to use backtest errors."""
        return None

    def error_weights(self, h: int) -> FloatArray | None:
        """The model's error weights psi_1..psi_{h-1}: the k-step forecast error is
        eps_k + psi_1 eps_{k-1} + ... + psi_{k-1} eps_1. A state-space model knows them;
        None: the engine assumes a random walk's (all 1)."""
        return None

    def one_step_sd(self) -> tuple[float, float] | None:
        """The in-sample one-step error spread and its degrees of freedom, if the model has them."""
        return None

    def backtest_forecasts(self, y: FloatArray, origins: list[int], h: int) -> list[FloatArray]:
        """Forecasts of ``h`` months from every origin, the model refitted to ``y[:o]`` each time.

        A model whose fits share work across origins overrides this (``SeasonalETS`` refits
        at every origin in one pass). Raises ModelError when a fit fails.
        """
        return [self.forecast(y[:o], h) for o in origins]

    def _fit(self, y: FloatArray) -> None:
        raise NotImplementedError

    def _predict(self, h: int) -> FloatArray:
        raise NotImplementedError


class SeasonalAdjuster:
    """Remove seasonality from a history and put it back on forecasts.

    Two ways to find the indices:

    - ``test=True`` (M4's Naive2): the 90% lag-m autocorrelation test on three seasons or
      more decides; the indices are classical decomposition's. Multiplicative when the
      history is positive, additive otherwise (as statsmodels' ThetaModel does).
    - ``test=False`` (``auto``, which decided beforehand): the indices of
      :func:`~forecasting.seasonality.seasonal_profile`, the item's own pattern shrunk toward
      ``prior`` (a group's indices by position ``t % m`` of the history, or no season) by its
      credibility. A history of fewer than two seasons takes the prior's indices as they are.
    """

    def __init__(
        self, season_length: int, *, test: bool = True, prior: FloatArray | None = None
    ) -> None:
        self.m = season_length
        self.test = test
        self.prior = prior
        self.seasonal_ = False
        self.multiplicative_ = True
        self.indices_: FloatArray = np.ones(max(season_length, 1))

    def adjust(self, y: FloatArray) -> FloatArray:
        """The seasonally adjusted history (``y`` itself when no seasonality is used)."""
        self.n_ = y.size
        m = self.m
        if not self.test:
            return self._adjust_profile(y)
        self.seasonal_ = m >= 2 and y.size >= 2 * m + 1 and seasonality_test(y, m)
        if not self.seasonal_:
            return y
        self.multiplicative_ = bool(y.min() > 0)
        adj, idx = deseasonalize(y, m, multiplicative=self.multiplicative_)
        if self.multiplicative_ and idx.min() <= 0:
            self.multiplicative_ = False
            adj, idx = deseasonalize(y, m, multiplicative=False)
        self.indices_ = idx
        return adj

    def _adjust_profile(self, y: FloatArray) -> FloatArray:
        m = self.m
        prof = seasonal_profile(y, m, prior=self.prior) if m >= 2 else None
        if prof is not None:
            self.multiplicative_ = prof.multiplicative
            self.indices_ = prof.indices
        elif self.prior is not None and y.size:
            self.multiplicative_ = True  # a group's profile is always made of ratios
            self.indices_ = np.asarray(self.prior, dtype=float)
        else:
            return self.skip(y)
        self.seasonal_ = True
        s = self.indices_[np.arange(y.size) % m]
        return y / s if self.multiplicative_ else y - s

    def skip(self, y: FloatArray) -> FloatArray:
        """Leave the history as it is (no seasonality)."""
        self.n_ = y.size
        self.seasonal_ = False
        return y

    def restore(self, f: FloatArray) -> FloatArray:
        """Reseasonalise a forecast that starts right after the history."""
        if not self.seasonal_:
            return f
        s = self.indices_[(self.n_ + np.arange(f.size)) % self.m]
        return f * s if self.multiplicative_ else f + s


class AdjustedModel(Model):
    """A model fitted on seasonally adjusted data when the history is seasonal.

    ``seasonal``: None tests for seasonality (M4's rule, classical indices); True adjusts by
    the item's seasonal profile (shrunk toward ``prior``, see :class:`SeasonalAdjuster`);
    False never adjusts.
    """

    def __init__(
        self,
        season_length: int = 12,
        *,
        seasonal: bool | None = None,
        prior: FloatArray | None = None,
    ) -> None:
        super().__init__(season_length)
        self.seasonal = seasonal
        self.prior = prior

    def _adjusted(self, y: FloatArray) -> FloatArray:
        """Set ``adj_`` and return the history it adjusted (or left as it was)."""
        self.adj_ = SeasonalAdjuster(
            self.season_length, test=self.seasonal is None, prior=self.prior
        )
        return self.adj_.adjust(y) if self.seasonal is not False else self.adj_.skip(y)
