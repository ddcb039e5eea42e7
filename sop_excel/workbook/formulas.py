"""The live Excel formulas the workbook carries, built from the layout's headers.

Each formula uses structured references to Excel Tables (``tblForecast[[#This Row],[Final]]``),
so finance can audit it and it keeps working as tables grow. Functions are limited to those
LibreOffice 7.4 also calculates (no XLOOKUP or dynamic arrays). No text from data ever enters
a formula: formulas only reference cells.
"""

from __future__ import annotations

import functools

from sop_excel.workbook.layout import load_layout

__all__ = ["table_formulas"]


def _esc(header: str) -> str:
    # Structured references escape these characters with a leading apostrophe.
    return "".join("'" + ch if ch in "[]#'" else ch for ch in header)


@functools.cache
def _all() -> dict[str, dict[str, str]]:
    lay = load_layout()

    def col(table: str, field: str) -> str:
        return f"{table}[{_esc(lay.table(table).column(field).header)}]"

    def this(table: str, field: str) -> str:
        return f"{table}[[#This Row],[{_esc(lay.table(table).column(field).header)}]]"

    def lookup(field: str) -> str:
        return (f"INDEX({col('tblItems', field)},MATCH({this('tblForecast', 'item')},"
                f"{col('tblItems', 'item')},0))")

    def by_family_month(table: str, field: str) -> str:
        return (f"SUMIFS({col(table, field)},{col(table, 'family')},{this('tblFinance', 'family')},"
                f"{col(table, 'month')},{this('tblFinance', 'month')})")

    def driver(field: str) -> str:
        return (f"SUMIFS({col('tblScenarios', field)},{col('tblScenarios', 'scenario')},"
                f"{this('tblFinance', 'scenario')},{col('tblScenarios', 'family')},"
                f"{this('tblFinance', 'family')})")

    override, baseline = this("tblForecast", "override"), this("tblForecast", "baseline")
    rev, cost = this("tblFinance", "revenue"), this("tblFinance", "cost")
    vol, price = driver("volume_pct"), driver("price_pct")
    return {
        "tblForecast": {
            "final": f"=IF(ISNUMBER({override}),{override},{baseline})",
            "revenue": f"={this('tblForecast', 'final')}*{lookup('price')}",
            "cost": f"={this('tblForecast', 'final')}*{lookup('unit_cost')}",
        },
        "tblFinance": {
            "volume": f"={by_family_month('tblForecast', 'final')}*(1+{vol})",
            "revenue": f"={by_family_month('tblForecast', 'revenue')}*(1+{vol})*(1+{price})",
            "cost": f"={by_family_month('tblForecast', 'cost')}*(1+{vol})",
            "margin": f"={rev}-{cost}",
            "margin_pct": f"=IF({rev}=0,0,{this('tblFinance', 'margin')}/{rev})",
            "budget_revenue": f"={by_family_month('tblBudget', 'revenue')}",
            "gap": f"={rev}-{this('tblFinance', 'budget_revenue')}",
        },
    }


def table_formulas(table: str) -> dict[str, str]:
    """Formula text per field for a table ({} when the table has no formula columns)."""
    return dict(_all().get(table, {}))
