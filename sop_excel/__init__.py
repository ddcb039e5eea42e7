"""sop-excel: S&OP and S&OE planning in one Excel workbook, with the logic in tested Python."""

from __future__ import annotations

import os

# openpyxl parses with lxml when lxml is installed (a test tool brings it), and then not through
# defusedxml; keep it on defusedxml and its one behaviour wherever sop-excel runs (before any
# openpyxl import: the guard still refuses DTDs first)
os.environ.setdefault("OPENPYXL_LXML", "False")

__version__ = "0.1.0"

__all__ = ["__version__"]
