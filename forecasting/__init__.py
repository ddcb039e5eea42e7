"""sop-excel's forecasting engine: long frames in, forecasts with reasons out.

Knows nothing of Excel. statsmodels is imported only when a model that needs it is fitted,
so ``import forecasting`` stays fast; dask likewise, only when ``engine="dask"`` runs.

Example:
    >>> import forecasting
    >>> "auto" in forecasting.METHODS
    True
"""

from __future__ import annotations

from forecasting.cleansing import cleanse
from forecasting.crossval import cross_validate
from forecasting.distributed import DistributedError
from forecasting.engine import ENGINES, METHODS, OUTPUT_COLUMNS, forecast
from forecasting.metrics import mase, rmsse, scaled_bias, smape, tracking_signal, wmape

__all__ = [
    "DistributedError",
    "ENGINES",
    "METHODS",
    "OUTPUT_COLUMNS",
    "cleanse",
    "cross_validate",
    "forecast",
    "mase",
    "rmsse",
    "scaled_bias",
    "smape",
    "tracking_signal",
    "wmape",
]
