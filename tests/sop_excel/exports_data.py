"""A small company that is not the sample (Heron Garden Tools), and its exports written the ways
planners get them: long monthly CSV, wide (pivot) xlsx, transactional order lines, a German
semicolon/decimal-comma/Windows-1252 CSV, xlsx with a named sheet beside a hidden one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

AS_OF = dt.date(2027, 3, 10)
FAMILIES = ["Mowers", "Trimmers", "Blowers"]


def company(seed: int = 7, n_items: int = 12, months: int = 30) -> dict[str, pd.DataFrame]:
    """Items, monthly history, daily order lines (history months and the as-of month), budget,
    capacity. Quantities are whole numbers (so every export sums to the same months)."""
    rng = np.random.default_rng(seed)
    codes = [f"HG-{100 + k}" for k in range(n_items)]
    fam = [FAMILIES[k % 3] for k in range(n_items)]
    items = pd.DataFrame(
        {
            "item": codes,
            "description": [f"{f[:-1]} model {k} Größe {k % 4}" for k, f in enumerate(fam)],
            "family": fam,
            "site": ["Lyon" if k % 2 else "Porto" for k in range(n_items)],
            "resource": ["LY-ASM" if k % 2 else "PO-ASM" for k in range(n_items)],
            "price": np.round(rng.uniform(40, 900, n_items), 2),
            "unit_cost": 0.0,
            "hours_per_unit": np.round(rng.uniform(0.1, 1.5, n_items), 2),
            "lead_time_days": rng.integers(10, 40, n_items),
            "status": "active",
            "opening_stock": rng.integers(0, 200, n_items).astype(float),
        }
    )
    items["unit_cost"] = np.round(items["price"] * 0.6, 2)
    items.loc[n_items - 1, "status"] = "new"
    month0 = pd.Timestamp(AS_OF).replace(day=1)
    span = pd.date_range(month0 - pd.DateOffset(months=months), periods=months, freq="MS")
    lines = []
    for k, code in enumerate(codes):
        start = 0 if k < n_items - 1 else months - 6  # the new item: six months of history
        level = rng.uniform(20, 120)
        for m in span[start:]:
            season = 1 + 0.4 * np.sin(2 * np.pi * (m.month - 3) / 12)
            total = int(rng.poisson(level * season))
            days = rng.integers(1, m.days_in_month + 1, size=max(1, total // 7))
            split = (
                np.bincount(rng.integers(0, len(days), total), minlength=len(days))
                if total
                else np.zeros(len(days))
            )
            for d, q in zip(days, split, strict=True):
                if q:
                    lines.append((m.replace(day=int(d)), code, int(q)))
        for d in range(1, AS_OF.day + 1):  # this month's orders so far
            day = month0.replace(day=d)
            if day.weekday() < 5:
                lines.append((day, code, int(rng.poisson(level / 21))))
    orders = pd.DataFrame(lines, columns=["date", "item", "qty"])
    past = orders[orders["date"] < month0]
    history = (
        past.assign(month=past["date"].dt.to_period("M").dt.to_timestamp())
        .groupby(["item", "month"], as_index=False)["qty"]
        .sum()
    )
    budget_months = pd.date_range(f"{AS_OF.year}-01-01", periods=24, freq="MS")
    budget = pd.DataFrame(
        [
            (f, m, 500.0 + 10 * i, 60000.0 + 1000 * i)
            for i, f in enumerate(FAMILIES)
            for m in budget_months
        ],
        columns=["family", "month", "volume", "revenue"],
    )
    capacity = pd.DataFrame(
        [
            (r, m, 900.0)
            for r in ("LY-ASM", "PO-ASM")
            for m in pd.date_range(month0, periods=24, freq="MS")
        ],
        columns=["resource", "month", "hours"],
    )
    return {
        "items": items,
        "history": history,
        "orders": orders,
        "budget": budget,
        "capacity": capacity,
    }


def write_long_csv(folder: Path, c: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Plain exports: comma CSV, UTF-8, ISO dates, English headers of the ERP's own."""
    folder.mkdir(parents=True, exist_ok=True)
    items = c["items"].rename(
        columns={
            "item": "SKU",
            "description": "Item name",
            "family": "Product group",
            "price": "List price",
            "unit_cost": "Standard cost",
            "resource": "Work center",
            "lead_time_days": "Lead time",
            "opening_stock": "On hand",
        }
    )
    items.to_csv(folder / "items.csv", index=False)
    h = c["history"].assign(month=c["history"]["month"].dt.strftime("%Y-%m"))
    h.rename(columns={"item": "SKU", "month": "Period", "qty": "Quantity"}).to_csv(
        folder / "history.csv", index=False
    )
    c["budget"].assign(month=c["budget"]["month"].dt.strftime("%Y-%m-%d")).to_csv(
        folder / "budget.csv", index=False
    )
    c["capacity"].assign(month=c["capacity"]["month"].dt.strftime("%Y-%m-%d")).to_csv(
        folder / "capacity.csv", index=False
    )
    month0 = pd.Timestamp(AS_OF).replace(day=1)
    now = c["orders"][c["orders"]["date"] >= month0]
    now.assign(date=now["date"].dt.strftime("%Y-%m-%d"), shipped=now["qty"]).rename(
        columns={
            "date": "Order date",
            "item": "SKU",
            "qty": "Ordered qty",
            "shipped": "Shipped qty",
        }
    ).to_csv(folder / "orders.csv", index=False)
    return {
        "items": folder / "items.csv",
        "history": folder / "history.csv",
        "budget": folder / "budget.csv",
        "capacity": folder / "capacity.csv",
        "open_orders": folder / "orders.csv",
    }


def write_wide_xlsx(folder: Path, c: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Pivot-table exports in xlsx: history one column per month (date cells), empty where an
    item had no row; a 'Total' column; items on a named sheet beside a hidden one; budget wide."""
    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Materials"
    items = c["items"]
    ws.append(
        [
            "Material",
            "Description",
            "Family",
            "Plant",
            "Resource",
            "Price",
            "Unit cost",
            "Hours per unit",
            "Lead time",
            "Status",
            "Stock",
        ]
    )
    for r in items.itertuples(index=False):
        ws.append(
            [
                r.item,
                r.description,
                r.family,
                r.site,
                r.resource,
                float(r.price),
                float(r.unit_cost),
                float(r.hours_per_unit),
                int(r.lead_time_days),
                r.status,
                float(r.opening_stock),
            ]
        )
    old = wb.create_sheet("Old items")
    old.append(["Material", "Family", "Price", "Unit cost"])
    old.append(["ZZ-1", "Ghosts", 1.0, 1.0])
    old.sheet_state = "hidden"
    wb.save(folder / "items.xlsx")
    wide = c["history"].pivot(index="item", columns="month", values="qty")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pivot"
    ws.append(["Item"] + [m.to_pydatetime() for m in wide.columns] + ["Total"])
    for item, row in wide.iterrows():
        ws.append(
            [item]
            + [None if np.isnan(v) else float(v) for v in row.to_numpy()]
            + [float(np.nansum(row))]
        )
    wb.save(folder / "history.xlsx")
    b = c["budget"].pivot(index="family", columns="month", values="revenue")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Family"] + [f"{m:%b %Y}" for m in b.columns])
    for fam, row in b.iterrows():
        ws.append([fam] + [float(v) for v in row.to_numpy()])
    wb.save(folder / "budget.xlsx")
    return {
        "items": folder / "items.xlsx",
        "history": folder / "history.xlsx",
        "budget": folder / "budget.xlsx",
    }


def write_transactional_csv(folder: Path, c: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Order lines (one per order, a day's date), tab separated, UTF-16 with a byte-order mark."""
    folder.mkdir(parents=True, exist_ok=True)
    c["items"].to_csv(folder / "items.csv", index=False)
    o = c["orders"].assign(date=c["orders"]["date"].dt.strftime("%Y-%m-%d"))
    o.rename(columns={"date": "Posting date", "item": "Item number", "qty": "Qty"}).to_csv(
        folder / "lines.txt", index=False, sep="\t", encoding="utf-16"
    )
    return {"items": folder / "items.csv", "history": folder / "lines.txt"}


def write_european_csv(folder: Path, c: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """A German export: semicolons, decimal commas, DD.MM.YYYY, Windows-1252, German headers."""
    folder.mkdir(parents=True, exist_ok=True)
    items = c["items"]
    lines = [
        "Artikel;Bezeichnung;Warengruppe;Werk;Arbeitsplatz;Preis;Standardpreis;Stunden;WBZ;Status;Bestand"
    ]
    for r in items.itertuples(index=False):
        lines.append(
            ";".join(
                [
                    r.item,
                    r.description,
                    r.family,
                    r.site,
                    r.resource,
                    _de(r.price, 2),
                    _de(r.unit_cost, 2),
                    _de(r.hours_per_unit, 2),
                    str(r.lead_time_days),
                    {"new": "Neu"}.get(r.status, "aktiv"),
                    _de(r.opening_stock, 1),
                ]
            )
        )
    (folder / "artikel.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    h = ["Artikel;Monat;Menge"] + [
        f"{r.item};{r.month:%d.%m.%Y};{_de(r.qty, 1)}" for r in c["history"].itertuples(index=False)
    ]
    (folder / "absatz.csv").write_bytes(("\r\n".join(h) + "\r\n").encode("cp1252"))
    b = ["Warengruppe;Monat;Menge;Umsatz"] + [
        f"{r.family};{r.month:%d.%m.%Y};{_de(r.volume, 0)};{_thousands(r.revenue)}"
        for r in c["budget"].itertuples(index=False)
    ]
    (folder / "budget.csv").write_bytes(("\r\n".join(b) + "\r\n").encode("cp1252"))
    return {
        "items": folder / "artikel.csv",
        "history": folder / "absatz.csv",
        "budget": folder / "budget.csv",
    }


def _de(v: float, decimals: int) -> str:
    return f"{v:.{decimals}f}".replace(".", ",")


def _thousands(v: float) -> str:
    return f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
