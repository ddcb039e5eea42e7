"""The named lists a layout's drop-downs may use (``choices = "@methods"`` in sop_plan.toml),
taken from the layers that own them and given to
:func:`~sop_excel.workbook.build.build_workbook`, which knows sheets and files only."""

from __future__ import annotations

import forecasting
from sop_excel.core.consensus import REASON_CODES

__all__ = ["named_choices"]


def named_choices() -> dict[str, list[str]]:
    """``"@methods"``: the forecasting methods; ``"@reasons"``: a blank, then the consensus
    reason codes."""
    return {"@methods": list(forecasting.METHODS), "@reasons": ["", *REASON_CODES]}
