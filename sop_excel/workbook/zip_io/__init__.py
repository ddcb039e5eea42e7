"""The fast headless side of the workbook interface: the xlsx package edited directly.

An xlsx file is a zip of XML parts. A refresh reads a few tables and rewrites a few others, so
this side never loads the whole workbook the way openpyxl does:

- **read**: the table's definition (``xl/tables/tableN.xml``) gives its sheet and range; only
  that sheet's XML is decompressed and only the table's rows are parsed, with the same rules
  as openpyxl (shared strings, date number formats, shared formulas), so
  :meth:`ZipIO.read_table` returns exactly what :class:`OpenpyxlIO.read_table` returns.
- **write**: tables are kept in memory until :meth:`ZipIO.save`. Then only the sheets whose
  tables changed are regenerated: the old sheet XML is streamed, the rows of each written table
  are replaced (each column keeps the cell style of the old first body row, or gets the
  layout's number format), strings go in as inline strings (always text, never a formula),
  :class:`Formula` cells as ``<f>`` with their cached ``<v>``. The table's ``ref`` and
  autoFilter, the sheet ``<dimension>``, conditional formats, data validations, chart series
  and defined names that covered the table body follow the new size, as on the openpyxl side.
  Where a table's old rows hold nothing else (no note typed beside it, nothing unusual), they
  are not parsed: the new rows are made in bulk, a column at a time, byte for byte what the
  row-by-row rewrite writes (:data:`WHOLESALE`; a 310,000-row table in well under a second).
  Every other part of the package (VBA, ribbon, charts, other sheets) is copied byte for byte,
  without even recompressing it.
- Anything this side does not understand (a table with a totals row, array formulas in a
  table, a sheet written with XML prefixes, ...) makes it hand the whole job to
  :class:`OpenpyxlIO` (the writes made so far are replayed), with the reason in
  :attr:`ZipIO.fallback_reason` and a logged warning. It never writes what it cannot parse.

The package's modules, each a step of that work: :mod:`.book` (the :class:`ZipIO` side),
:mod:`.reading` (the package's structure and a table's cells), :mod:`.writing` (a save planned
and written), :mod:`.sheet` (one sheet regenerated), :mod:`.rows` (a table's new cells as XML),
:mod:`.cells` (one cell's XML), :mod:`.parts` (tables, edits, styles, members copied raw),
:mod:`.aside` (a sheet made in a forked process) and :mod:`.xml_text` (XML text helpers).
"""

from sop_excel.workbook.zip_io.book import ZipIO, open_workbook
from sop_excel.workbook.zip_io.xml_text import ZipUnsupported

__all__ = ["ZipIO", "ZipUnsupported", "open_workbook"]
