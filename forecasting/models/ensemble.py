"""Combination: the mean of several models' forecasts."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import Model

__all__ = ["Combination"]


class Combination(Model):
    """Equal-weight mean of member models, named "a+b" after them."""

    label: ClassVar[str] = "combination"

    def __init__(self, members: list[Model], season_length: int = 12) -> None:
        super().__init__(season_length)
        self.members = members
        self.combo_name = "+".join(m.name for m in members)
        self.description_ = " + ".join(m.label for m in members)

    @property
    def min_obs_needed(self) -> int:
        """The longest minimum history among the members."""
        return max(m.min_obs for m in self.members)

    def _fit(self, y: FloatArray) -> None:
        for m in self.members:
            m.fit(y)
        self.description_ = " + ".join(m.description_ for m in self.members)

    def _predict(self, h: int) -> FloatArray:
        return np.mean([m.predict(h) for m in self.members], axis=0)

    def error_weights(self, h: int) -> FloatArray | None:
        """The weights of the first member that knows its own (the seasonal state-space one)."""
        return next((w for w in (m.error_weights(h) for m in self.members) if w is not None), None)

    def one_step_sd(self) -> tuple[float, float] | None:
        """The in-sample one-step spread of the first member that knows its own."""
        return next((s for s in (m.one_step_sd() for m in self.members) if s is not None), None)
