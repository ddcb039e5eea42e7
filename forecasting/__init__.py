"""sop-excel's forecasting engine: long frames in, forecasts with reasons out.

Knows nothing of Excel. statsmodels is imported only when a model that needs it is fitted,
and pandas and numpy when a public name is first used, so ``import forecasting`` stays fast; dask likewise, only when ``engine="dask"`` runs.

Example:
    >>> import forecasting
    >>> "auto" in forecasting.METHODS
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecasting.cleansing import cleanse
    from forecasting.crossval import cross_validate
    from forecasting.distributed import DistributedError
    from forecasting.engine import ENGINES, METHODS, OUTPUT_COLUMNS, forecast
    from forecasting.metrics import mase, rmsse, scaled_bias, smape, tracking_signal, wmape

# Each public name is imported from its module on first use (PEP 562), so ``import forecasting``
# loads neither pandas nor numpy: Excel's Python (the UDF server, the ribbon's first click)
# pays for them only when a forecast is made.
_WHERE = {
    "cleanse": "forecasting.cleansing",
    "cross_validate": "forecasting.crossval",
    "DistributedError": "forecasting.distributed",
    "ENGINES": "forecasting.engine",
    "METHODS": "forecasting.engine",
    "OUTPUT_COLUMNS": "forecasting.engine",
    "forecast": "forecasting.engine",
    **dict.fromkeys(
        ("mase", "rmsse", "scaled_bias", "smape", "tracking_signal", "wmape"), "forecasting.metrics"
    ),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'forecasting' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


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
