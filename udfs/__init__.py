"""sop-excel worksheet functions for Excel, through xlwings (category "sop-excel").

The workbook's ``xlwings.conf`` sheet names this package (``UDF Modules: udfs``), so xlwings'
"Import Functions" finds every function here. They are defined in :mod:`udfs.planning`;
docs/excel.md has the reference with a worked example per function.
"""

from udfs.planning import (
    SOP_ACCURACY,
    SOP_BACKTEST,
    SOP_DRIFT,
    SOP_FORECAST,
    SOP_SAFETY_STOCK,
    SOP_SCENARIO,
    SOP_TRACKING_SIGNAL,
)

__all__ = [
    "SOP_ACCURACY",
    "SOP_BACKTEST",
    "SOP_DRIFT",
    "SOP_FORECAST",
    "SOP_SAFETY_STOCK",
    "SOP_SCENARIO",
    "SOP_TRACKING_SIGNAL",
]
