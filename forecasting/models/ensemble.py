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
