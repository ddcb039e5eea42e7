"""The S&OP meeting pack: the workbook's tables in, the short deck the monthly meeting reviews out.

``build_pack`` (``content.py``, with the pages of ``plan_pages.py`` and ``ops_pages.py``) lays the
frames ``tables.read_frame`` reads out as pages of text, tables and charts (``blocks.py``);
``write_pack`` (``output.py``) draws them as one PDF or PNG pages (``paged.py``) or one
self-contained HTML file (``html.py``). matplotlib is imported only when a pack is made, so the
command line and Excel start as fast as before. ``macros.meeting_pack`` is the command.
"""

from sop_excel.report.blocks import SECTIONS as SECTION_NAMES
from sop_excel.report.content import OPTIONAL_TABLES, TABLES, PackInput, build_pack
from sop_excel.report.output import FORMATS, default_path, format_for, pack_paths, write_pack

__all__ = [
    "FORMATS",
    "OPTIONAL_TABLES",
    "SECTION_NAMES",
    "TABLES",
    "PackInput",
    "build_pack",
    "default_path",
    "format_for",
    "pack_paths",
    "write_pack",
]
