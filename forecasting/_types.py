"""Type aliases shared by the forecasting engine."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "Intervals", "Progress"]

FloatArray = npt.NDArray[np.float64]
"""A one-dimensional float64 array: a history or a forecast path."""

Intervals = dict[int, tuple[FloatArray, FloatArray]]
"""Prediction intervals by level (80, 95): (lower, upper) arrays of the horizon's length."""

Progress = Callable[[int, int], None]
"""Progress callback: called with (items done, items in total)."""
