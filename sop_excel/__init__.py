"""sop-excel: S&OP and S&OE planning in one Excel workbook, with the logic in tested Python."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
