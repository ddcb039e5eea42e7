"""pydantic models at the boundaries: the workbook layout and the run settings."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "FIRST_DATE",
    "LAST_DATE",
    "MAX_CELL_TEXT",
    "MAX_COLS",
    "MAX_COLUMN_NAME",
    "MAX_NAME",
    "MAX_ROWS",
    "MAX_SHEET_NAME",
    "ColumnLayout",
    "LayoutSpec",
    "SettingRow",
    "Settings",
    "SheetLayout",
    "TableLayout",
]

Kind = Literal["text", "int", "qty", "money", "price", "pct", "ratio", "date", "month", "datetime"]
# The dates sop-excel plans with: any day a planner or a source may mean (pandas' datetimes end in
# 2262; Excel's calendar starts in 1900).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
# Excel's grid ("Excel specifications and limits"); sop_excel.workbook.limits checks every write
MAX_ROWS, MAX_COLS = 1_048_576, 16_384
MAX_CELL_TEXT = 32_767  # characters in one cell
MAX_COLUMN_NAME = 255  # characters in a table's column name
MAX_SHEET_NAME = 31
MAX_NAME = 255  # characters in a defined name or a table's name
NUMERIC_KINDS = frozenset({"int", "qty", "money", "price", "pct", "ratio"})


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ColumnLayout(_Frozen):
    header: str
    field: str
    kind: Kind = "text"
    owner: Literal["system", "planner"] = "system"
    width: float = 12
    choices: list[str] | str | None = None
    formula: bool = False
    required: bool = True
    style: Literal["status", "signed", "flag", "tracking"] | None = None
    wrap: bool = False  # long text wraps in the cell (the row grows) rather than being cut
    # headers the column had in earlier versions: a workbook built then is still read (the next
    # write of the table gives it ``header``)
    former: list[str] = []

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


class TableLayout(_Frozen):
    name: str
    anchor: str = "A1"
    key: list[str]
    columns: list[ColumnLayout]
    dynamic_columns: bool = False
    unique: bool = True
    sheet: str = ""  # filled in by SheetLayout

    @model_validator(mode="after")
    def _keys_are_columns(self) -> TableLayout:
        fields = [c.field for c in self.columns]
        if len(set(fields)) != len(fields):
            raise ValueError(f"table {self.name}: duplicate field names")
        missing = [k for k in self.key if k not in fields]
        if missing:
            raise ValueError(f"table {self.name}: key columns {missing} are not columns")
        return self

    def column(self, field: str) -> ColumnLayout:
        for c in self.columns:
            if c.field == field:
                return c
        raise KeyError(f"{self.name} has no column {field!r}")

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def planner_fields(self) -> list[str]:
        return [c.field for c in self.columns if c.owner == "planner"]


class SettingRow(_Frozen):
    setting: str
    name: str
    kind: Kind
    description: str
    choices: list[str] | str | None = None


class SheetLayout(_Frozen):
    name: str
    tab_color: str = "#1F4E78"
    note: str = ""
    protect: bool = False
    hidden: bool = False  # kept by sop-excel, not for reading (the Basis sheet)
    tables: list[TableLayout]

    @model_validator(mode="after")
    def _stamp_sheet(self) -> SheetLayout:
        for t in self.tables:
            object.__setattr__(t, "sheet", self.name)
        return self


class _SettingsBlock(_Frozen):
    rows: list[SettingRow]


class LayoutSpec(_Frozen):
    title: str
    sheets: list[SheetLayout]
    settings: _SettingsBlock

    def table(self, name: str) -> TableLayout:
        for s in self.sheets:
            for t in s.tables:
                if t.name == name:
                    return t
        raise KeyError(f"layout has no table {name!r}")

    @property
    def tables(self) -> list[TableLayout]:
        return [t for s in self.sheets for t in s.tables]


class Settings(_Frozen):
    """The run settings, as read from the Settings sheet."""

    as_of: dt.date = Field(alias="AsOfDate", ge=FIRST_DATE, le=LAST_DATE)
    horizon: int = Field(alias="Horizon", ge=1, le=36)
    forecast_method: str = Field(alias="ForecastMethod")
    correct_outliers: bool = Field(alias="CorrectOutliers")
    seasonal_group: Literal["family", "site", "resource", "none"] = Field(
        alias="SeasonalGroup", default="family"
    )
    drift_watch_pct: float = Field(alias="DriftWatchPct", ge=0, le=10)
    drift_act_pct: float = Field(alias="DriftActPct", ge=0, le=10)
    min_value_at_risk: float = Field(alias="MinValueAtRisk", ge=0)
    drift_z: float = Field(alias="DriftZ", default=2.5, gt=0, le=10)
    tracking_limit: float = Field(alias="TrackingLimit", default=4.0, gt=0, le=50)
    bias_window: int = Field(alias="BiasWindow", default=6, ge=2, le=36)
    frozen_weeks: int = Field(alias="FrozenWeeks", default=4, ge=0, le=13)
    holidays: tuple[dt.date, ...] = Field(alias="Holidays", default=())
    service_level: float = Field(alias="ServiceLevel", default=0.95, ge=0.5, lt=1)
    plan_scenario: str = Field(alias="PlanScenario", default="Base", min_length=1)
    actuals_source: str = Field(alias="ActualsSource", default="")
    actuals_columns: str = Field(alias="ActualsColumns", default="")
    actuals_format: str = Field(alias="ActualsFormat", default="")
    supply_source: str = Field(alias="SupplySource", default="")
    supply_columns: str = Field(alias="SupplyColumns", default="")
    currency: str = Field(alias="Currency", default="EUR")
    history_measure: Literal["orders", "shipments"] = Field(
        alias="HistoryMeasure", default="orders"
    )
    snapshot_lags: int = Field(alias="SnapshotLags", default=6, ge=1, le=36)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("as_of", mode="before")
    @classmethod
    def _to_date(cls, v: object) -> object:
        if isinstance(v, dt.datetime):
            return v.date()
        return v

    @field_validator("correct_outliers", mode="before")
    @classmethod
    def _yes_no(cls, v: object) -> object:
        if isinstance(v, str):
            low = v.strip().lower()
            if low in {"yes", "y", "true", "1"}:
                return True
            if low in {"no", "n", "false", "0", ""}:
                return False
            raise ValueError("must be yes or no")
        return v

    @field_validator("holidays")
    @classmethod
    def _holidays_in_range(cls, v: tuple[dt.date, ...]) -> tuple[dt.date, ...]:
        for d in v:
            if not FIRST_DATE <= d <= LAST_DATE:
                raise ValueError(
                    f"{d.isoformat()} is not a date sop-excel plans with (years {FIRST_DATE.year} "
                    f"to {LAST_DATE.year})"
                )
        return v

    @field_validator("holidays", mode="before")
    @classmethod
    def _dates(cls, v: object) -> object:
        """One date cell, or dates as text separated by ';' or ',' (e.g. 2026-12-24; 2026-12-25)."""
        if v is None or v == "":
            return ()
        if isinstance(v, dt.datetime):
            return (v.date(),)
        if isinstance(v, dt.date):
            return (v,)
        if isinstance(v, str):
            out = []
            for part in filter(None, (p.strip() for p in v.replace(",", ";").split(";"))):
                try:
                    out.append(dt.date.fromisoformat(part))
                except ValueError:
                    raise ValueError(
                        f"{part!r} is not a date; write dates as YYYY-MM-DD separated by ';'"
                    ) from None
            return tuple(sorted(set(out)))
        return v

    @field_validator("horizon", "bias_window", "frozen_weeks", "snapshot_lags", mode="before")
    @classmethod
    def _whole(cls, v: object) -> object:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str) and v.strip().isdigit():
            return int(v.strip())
        return v

    @field_validator(
        "actuals_source",
        "actuals_columns",
        "actuals_format",
        "supply_source",
        "supply_columns",
        "plan_scenario",
        mode="before",
    )
    @classmethod
    def _text(cls, v: object) -> object:
        return "" if v is None else v

    @field_validator("history_measure", mode="before")
    @classmethod
    def _measure(cls, v: object) -> object:
        """orders or shipments, in any case; empty means orders."""
        if v is None:
            return "orders"
        if isinstance(v, str):
            return v.strip().lower() or "orders"
        return v

    @field_validator("actuals_columns")
    @classmethod
    def _mapping_syntax(cls, v: str) -> str:
        for part in filter(None, (p.strip() for p in v.split(";"))):
            name, eq, col = part.partition("=")
            if (
                not eq
                or name.strip() not in {"date", "item", "orders", "shipments"}
                or not col.strip()
            ):
                raise ValueError(
                    f"{part!r} is not a mapping; write e.g. date=order_date; orders=qty"
                )
        return v

    @field_validator("actuals_format")
    @classmethod
    def _format_syntax(cls, v: str) -> str:
        _actuals_format(v)
        return v

    @property
    def actuals_conventions(self) -> dict[str, str]:
        """ActualsFormat as ``{"decimal": "comma", "date_order": "DMY"}`` (what it says)."""
        return _actuals_format(self.actuals_format)

    @field_validator("supply_columns")
    @classmethod
    def _supply_mapping_syntax(cls, v: str) -> str:
        for part in filter(None, (p.strip() for p in v.split(";"))):
            name, eq, col = part.partition("=")
            if (
                not eq
                or name.strip() not in {"date", "item", "resource", "produced", "receipts"}
                or not col.strip()
            ):
                raise ValueError(
                    f"{part!r} is not a mapping; write e.g. produced=qty_made; resource=line"
                )
        return v

    @property
    def column_mapping(self) -> dict[str, str]:
        """ActualsColumns as {canonical: source column}."""
        return _mapping(self.actuals_columns)

    @property
    def supply_mapping(self) -> dict[str, str]:
        """SupplyColumns as {canonical: source column}."""
        return _mapping(self.supply_columns)

    @model_validator(mode="after")
    def _watch_below_act(self) -> Settings:
        if self.drift_watch_pct > self.drift_act_pct:
            raise ValueError("Drift watch % must not be above Drift act %")
        return self

    def to_names(self) -> dict[str, object]:
        """Values keyed by the Settings sheet's cell names (AsOfDate, Horizon, ...)."""
        return self.model_dump(by_alias=True)


def _actuals_format(text: str) -> dict[str, str]:
    from sop_excel.sources.conventions import parse_date_option, parse_decimal_option

    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, eq, value = (t.strip() for t in part.partition("="))
        try:
            if eq and name.lower() == "decimal":
                out["decimal"] = parse_decimal_option(value)
                continue
            if eq and name.lower() in ("dates", "date", "date format", "date_format"):
                out["date_order"] = parse_date_option(value)
                continue
        except ValueError:
            pass
        raise ValueError(f"{part!r} is not a format; write e.g. decimal=comma; dates=DMY")
    return out


def _mapping(text: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, col = part.partition("=")
        out[name.strip()] = col.strip()
    return out


def validation_messages(err: ValidationError) -> list[tuple[str, object, str]]:
    """(field alias, input, message) per error, for mapping to cells."""
    out = []
    for e in err.errors(include_url=False):
        loc = str(e["loc"][0]) if e["loc"] else ""
        out.append((loc, e.get("input"), e["msg"]))
    return out
