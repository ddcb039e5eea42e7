"""One module per model family; ``MODELS`` maps each method name to its class."""

from __future__ import annotations

from forecasting.models.base import Model, ModelError, SeasonalAdjuster
from forecasting.models.ces import CES
from forecasting.models.dynamic_theta import DynamicTheta
from forecasting.models.ensemble import Combination
from forecasting.models.ets import ETS, HoltWinters
from forecasting.models.intermittent import TSB, CrostonSBA
from forecasting.models.naive import Manual, MovingAverage, Naive, Naive2, SeasonalNaive, Zero
from forecasting.models.seasonal_ets import SeasonalETS
from forecasting.models.smoothing import DampedHolt, Holt, SimpleExpSmoothing
from forecasting.models.theta import Theta

__all__ = [
    "CES",
    "ETS",
    "MODELS",
    "TSB",
    "Combination",
    "CrostonSBA",
    "DampedHolt",
    "DynamicTheta",
    "Holt",
    "HoltWinters",
    "Manual",
    "Model",
    "ModelError",
    "MovingAverage",
    "Naive",
    "Naive2",
    "SeasonalAdjuster",
    "SeasonalETS",
    "SeasonalNaive",
    "SimpleExpSmoothing",
    "Theta",
    "Zero",
]

MODELS: dict[str, type[Model]] = {
    cls.name: cls
    for cls in (
        Naive,
        SeasonalNaive,
        Naive2,
        MovingAverage,
        SimpleExpSmoothing,
        DampedHolt,
        HoltWinters,
        ETS,
        Theta,
        DynamicTheta,
        Holt,
        CES,
        SeasonalETS,
        CrostonSBA,
        TSB,
        Manual,
        Zero,
    )
}
"""Every model by method name, in the order the workbook's drop-down lists them
(``forecasting.METHODS`` is ``auto``, these, and ``like_item``)."""
