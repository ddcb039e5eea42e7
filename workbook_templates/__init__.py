"""The workbook's layout as data (``sop_plan.toml``) and the ribbon's text sources (``ribbon/``:
``customUI14.xml`` and the VBA ``SopRibbon.bas``), from which ``sop-excel template`` builds the
macro-enabled workbook (see ``sop_excel.workbook.xlsm``)."""
