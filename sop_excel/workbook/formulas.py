"""The live Excel formulas the workbook carries, built from the layout's headers.

Each formula uses structured references to Excel Tables (``tblForecast[[#This Row],[Final]]``),
so finance can audit it and it keeps working as tables grow. Functions are limited to those
Excel 2007 has (:data:`EXCEL_2007_FUNCTIONS`; the oldest Excel sop-excel supports is 2010, see
docs/excel.md) and LibreOffice 7.4 also calculates: no MAXIFS, IFS, XLOOKUP or dynamic arrays,
nothing that needs the file format's ``_xlfn.`` prefix. No text from data ever enters a
formula: formulas only reference cells.
"""

from __future__ import annotations

import functools

from sop_excel.workbook.layout import load_layout

__all__ = ["EXCEL_2007_FUNCTIONS", "table_formulas"]

EXCEL_2007_FUNCTIONS = frozenset(
    {
        "IF",
        "ISNUMBER",
        "IFERROR",
        "INDEX",
        "MATCH",
        "MAX",
        "MIN",
        "N",
        "SUM",
        "SUMIFS",
        "COUNTIFS",
        "SUMPRODUCT",
        "ABS",
        "AND",
        "OR",
        "NOT",
    }
)
"""Every function a formula written by sop-excel may use: each is in Excel 2007 (and 2010), and
LibreOffice 7.4 computes each (tests check every formula of the demo against this list)."""


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
        return (
            f"INDEX({col('tblItems', field)},MATCH({this('tblForecast', 'item')},"
            f"{col('tblItems', 'item')},0))"
        )

    def sumifs(table: str, field: str, *crit: tuple[str, str]) -> str:
        args = ",".join(f"{col(table, c)},{v}" for c, v in crit)
        return f"SUMIFS({col(table, field)},{args})"

    fc = functools.partial(this, "tblForecast")
    item_month = (("item", fc("item")), ("month", fc("month")))
    # The family's baseline for the month comes from the Rollup's family rows (families x months
    # rows, each one SUMIFS over Forecast) rather than a SUMIFS over the whole Forecast in every
    # Forecast row: the same number, but linear instead of quadratic in the number of items (at
    # 10,000 items, 180,000 rows x 180,000 rows per recalculation, twice per row).
    fam_baseline = sumifs(
        "tblRollup",
        "baseline",
        ("level", '"Family"'),
        ("name", fc("family")),
        ("month", fc("month")),
    )
    fam_count = f"COUNTIFS({col('tblForecast', 'family')},{fc('family')},{col('tblForecast', 'month')},{fc('month')})"
    tgt_crit = (("family", fc("family")), ("month", fc("month")))
    tgt_count = (
        f"COUNTIFS({col('tblFamilyTargets', 'family')},{fc('family')},"
        f'{col("tblFamilyTargets", "month")},{fc("month")},{col("tblFamilyTargets", "target")},"<>")'
    )

    ru = functools.partial(this, "tblRollup")

    def by_level(field: str) -> str:
        total = sumifs("tblForecast", field, ("month", ru("month")))
        site = sumifs("tblForecast", field, ("site", ru("name")), ("month", ru("month")))
        fam = sumifs("tblForecast", field, ("family", ru("name")), ("month", ru("month")))
        return f'=IF({ru("level")}="Total",{total},IF({ru("level")}="Site",{site},{fam}))'

    sp = functools.partial(this, "tblScenarioPlan")
    fin = functools.partial(this, "tblFinance")
    fin_crit = (("scenario", fin("scenario")), ("family", fin("family")), ("month", fin("month")))
    cmp_ = functools.partial(this, "tblCompare")

    def item_lookup(field: str) -> str:
        return f"INDEX({col('tblItems', field)},MATCH({sp('item')},{col('tblItems', 'item')},0))"

    return {
        "tblForecast": {
            "sales_adj": "="
            + sumifs(
                "tblInputs",
                "qty",
                ("stream", '"Sales"'),
                ("item", fc("item")),
                ("month", fc("month")),
            ),
            "marketing_adj": "="
            + sumifs("tblInputs", "qty", ("stream", '"Marketing"'), *item_month),
            "family_share": f"=IF({fam_baseline}=0,1/{fam_count},{fc('baseline')}/{fam_baseline})",
            "consensus": (
                f"=IF({tgt_count}>0,{sumifs('tblFamilyTargets', 'target', *tgt_crit)}*{fc('family_share')},"
                f"MAX(0,{fc('baseline')}+{fc('sales_adj')}+{fc('marketing_adj')}))"
            ),
            "final": f"=IF(ISNUMBER({fc('override')}),{fc('override')},{fc('consensus')})",
            "revenue": f"={fc('final')}*{lookup('price')}",
            "cost": f"={fc('final')}*{lookup('unit_cost')}",
        },
        "tblRollup": {f: by_level(f) for f in ("baseline", "consensus", "final", "revenue")},
        "tblScenarioPlan": {
            "volume": (
                f"=({sumifs('tblForecast', 'final', ('item', sp('item')), ('month', sp('month')))}"
                f"+N({sp('launch_qty')}))*(1+{sp('volume_pct')})"
            ),
            "price": f"=IFERROR({item_lookup('price')},{sp('launch_price')})*(1+{sp('price_pct')})",
            "unit_cost": f"=IFERROR({item_lookup('unit_cost')},{sp('launch_cost')})*(1+{sp('cost_pct')})",
            "revenue": f"={sp('volume')}*{sp('price')}",
            "cost": f"={sp('volume')}*{sp('unit_cost')}",
        },
        "tblFinance": {
            "volume": "=" + sumifs("tblScenarioPlan", "volume", *fin_crit),
            "revenue": "=" + sumifs("tblScenarioPlan", "revenue", *fin_crit),
            "cost": "=" + sumifs("tblScenarioPlan", "cost", *fin_crit),
            "margin": f"={fin('revenue')}-{fin('cost')}",
            "margin_pct": f"=IF({fin('revenue')}=0,0,{fin('margin')}/{fin('revenue')})",
            # a month without a budget row shows no budget and no gap (blank), not 0 and 0
            "budget_revenue": (
                f"=IF(COUNTIFS({col('tblBudget', 'family')},{fin('family')},{col('tblBudget', 'month')},"
                f'{fin("month")})=0,"",'
                + sumifs("tblBudget", "revenue", ("family", fin("family")), ("month", fin("month")))
                + ")"
            ),
            "gap": f'=IF(ISNUMBER({fin("budget_revenue")}),{fin("revenue")}-{fin("budget_revenue")},"")',
        },
        "tblCompare": {
            **{
                f: "=" + sumifs("tblFinance", f, ("scenario", cmp_("scenario")))
                for f in ("volume", "revenue", "cost", "budget_revenue", "gap")
            },
            # like for like with the budget: revenue of the months that have one (gap = this - budget)
            "budgeted_revenue": f"={cmp_('budget_revenue')}+{cmp_('gap')}",
            "margin": f"={cmp_('revenue')}-{cmp_('cost')}",
            "margin_pct": f"=IF({cmp_('revenue')}=0,0,{cmp_('margin')}/{cmp_('revenue')})",
            # the largest utilisation of the scenario's rows (MAXIFS is Excel 2019): SUMPRODUCT
            # evaluates the product as an array without Ctrl+Shift+Enter, in every Excel version
            "peak_load": (
                f"=SUMPRODUCT(MAX(({col('tblLoad', 'scenario')}={cmp_('scenario')})"
                f"*{col('tblLoad', 'utilisation')}))"
            ),
            "overloads": (
                f"=COUNTIFS({col('tblLoad', 'scenario')},{cmp_('scenario')},"
                f'{col("tblLoad", "overload")},"Yes")'
            ),
        },
    }


def table_formulas(table: str) -> dict[str, str]:
    """Formula text per field for a table ({} when the table has no formula columns)."""
    return dict(_all().get(table, {}))
