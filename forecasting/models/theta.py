"""Theta method via statsmodels' ``ThetaModel`` (imported when first fitted)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import Model, ModelError

__all__ = ["Theta"]


class Theta(Model):
    """Standard Theta (Assimakopoulos and Nikolopoulos 2000; Hyndman and Billah 2003).

    SES with drift equal to half the linear trend, on data deseasonalised when the lag-m
    autocorrelation test finds seasonality (statsmodels' own test and decomposition).
    """

    name: ClassVar[str] = "theta"
    label: ClassVar[str] = "Theta"
    min_obs: ClassVar[int] = 4

    def __init__(self, season_length: int = 12, *, seasonal: bool | None = None) -> None:
        super().__init__(season_length)
        self.seasonal = seasonal

    def _fit(self, y: FloatArray) -> None:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        m = self.season_length
        need = 3 * m if self.seasonal is None else 2 * m + 1
        deseason = m >= 2 and y.size >= need and self.seasonal is not False
        try:
            self.res_ = ThetaModel(
                y,
                period=m if deseason else None,
                deseasonalize=deseason,
                use_test=self.seasonal is None,
            ).fit()
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ModelError(f"Theta failed: {exc}") from exc
        if deseason and self.res_.model._has_seasonality:
            self.description_ = "Theta on seasonally adjusted data"

    def _predict(self, h: int) -> FloatArray:
        return np.asarray(self.res_.forecast(h), dtype=float)
