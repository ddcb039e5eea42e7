"""Scenarios as text (TOML), so a plan change can be reviewed as a diff.

    [[scenario]]
    name = "Upside"
    parent = "Base"
    description = "Key-account win in Pumps"

      [[scenario.driver]]
      kind = "volume"          # volume | price | unit_cost | launch | capacity
      family = "Pumps"
      from = "2027-01"         # optional month range
      to = "2027-12"
      value = 0.12             # +12% (launch: units a month)
      comment = "Win at Acme"

Export and import round-trip: ``import(export(book))`` leaves the book's scenarios unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Literal

import pandas as pd
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sop_excel.core.scenarios import DRIVER_FIELDS, MAX_NAME
from sop_excel.errors import CellProblem, InputError, plain_reason
from sop_excel.models import FIRST_DATE, LAST_DATE, MAX_CELL_TEXT

__all__ = ["ScenarioFile", "frames_from_toml", "toml_from_frames"]


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")


class DriverSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["volume", "price", "unit_cost", "launch", "capacity"]
    value: float
    family: str = ""
    item: str = ""
    resource: str = ""
    from_: str = Field("", alias="from")
    to: str = ""
    price: float | None = None
    unit_cost: float | None = None
    comment: str = Field("", max_length=MAX_CELL_TEXT)

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _month(cls, v: object) -> object:
        """A month as YYYY-MM (a day, YYYY-MM-DD or a TOML date, is taken as its month); a time
        of day or a time zone is refused: a driver's months are calendar months."""
        if isinstance(v, dt.datetime):
            raise ValueError(
                f"is a date and time{' with a time zone' if v.tzinfo else ''}, not a month; "
                "write YYYY-MM"
            )
        if isinstance(v, dt.date):
            v = f"{v:%Y-%m}"
        if not isinstance(v, str):
            return v  # pydantic says what it is
        v = v.strip()
        if v and not _MONTH.fullmatch(v):
            raise ValueError("is not a month; write YYYY-MM")
        if v and not FIRST_DATE.year <= int(v[:4]) <= LAST_DATE.year:
            raise ValueError(
                f"is not a month sop-excel plans with (years {FIRST_DATE.year} to {LAST_DATE.year})"
            )
        return v[:7]


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(
        min_length=1, max_length=MAX_NAME
    )  # it becomes a column name "<name> revenue"
    parent: str = ""
    description: str = Field("", max_length=MAX_CELL_TEXT)
    driver: list[DriverSpec] = []


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: list[ScenarioSpec]


def _month_text(v: object) -> str:
    return (
        ""
        if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v))
        else f"{pd.Timestamp(v):%Y-%m}"
    )


def toml_from_frames(scenarios: pd.DataFrame, drivers: pd.DataFrame) -> str:
    """The scenario list and drivers as TOML text (drivers in sheet order)."""
    doc: dict[str, list[dict[str, object]]] = {"scenario": []}
    for s in scenarios.itertuples(index=False):
        entry: dict[str, object] = {"name": s.scenario}
        if s.parent:
            entry["parent"] = s.parent
        if s.description:
            entry["description"] = s.description
        ds = []
        for d in drivers[drivers["scenario"] == s.scenario].itertuples(index=False):
            row: dict[str, object] = {"kind": d.kind}
            for key in ("family", "item", "resource"):
                if getattr(d, key):
                    row[key] = getattr(d, key)
            if _month_text(d.from_month):
                row["from"] = _month_text(d.from_month)
            if _month_text(d.to_month):
                row["to"] = _month_text(d.to_month)
            row["value"] = float(d.value)
            for key in ("price", "unit_cost"):
                v = getattr(d, key)
                if v is not None and not pd.isna(v):
                    row[key] = float(v)
            if d.comment:
                row["comment"] = d.comment
            ds.append(row)
        if ds:
            entry["driver"] = ds
        doc["scenario"].append(entry)
    return tomli_w.dumps(doc)


def frames_from_toml(text: str, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scenario list, drivers) from TOML text; every problem named by its place in the file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"{source} is not valid TOML ({exc}). Fix the file and import again."
        ) from None
    except RecursionError:
        raise InputError(
            f"{source} nests arrays or tables too deeply to be a scenario file (thousands of "
            "levels). Export the scenarios again with export-scenarios and edit that file."
        ) from None
    try:
        spec = ScenarioFile.model_validate(raw)
    except RecursionError:
        raise InputError(
            f"{source} nests values too deeply to be a scenario file. Export the scenarios "
            "again with export-scenarios and edit that file."
        ) from None
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            loc = e["loc"]
            where = source
            if len(loc) >= 2 and loc[0] == "scenario":
                where += f", scenario #{int(loc[1]) + 1}"
                if len(loc) >= 4 and loc[2] == "driver":
                    where += f", driver #{int(loc[3]) + 1}"
                if loc[-1] not in (loc[1], loc[3] if len(loc) >= 4 else None):
                    where += f", '{loc[-1]}'"
            problems.append(
                CellProblem(
                    where,
                    e.get("input") if not isinstance(e.get("input"), dict) else None,
                    plain_reason(e["msg"]),
                    "Correct it in the file and import again.",
                )
            )
        raise InputError(f"{source} has scenarios sop-excel cannot import", problems) from None
    names = [s.name for s in spec.scenario]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"{source} defines scenario {', '.join(dupes)} more than once. Keep one of each."
        )
    scen = pd.DataFrame(
        [
            {"scenario": s.name, "parent": s.parent, "description": s.description, "status": ""}
            for s in spec.scenario
        ],
        columns=["scenario", "parent", "description", "status"],
    )
    rows, places = [], []
    for s in spec.scenario:
        for k, d in enumerate(s.driver, start=1):
            places.append(f"{source}, scenario '{s.name}', driver #{k}")
            rows.append(
                {
                    "scenario": s.name,
                    "kind": d.kind,
                    "family": d.family,
                    "item": d.item,
                    "resource": d.resource,
                    "from_month": pd.Timestamp(d.from_ + "-01") if d.from_ else pd.NaT,
                    "to_month": pd.Timestamp(d.to + "-01") if d.to else pd.NaT,
                    "value": d.value,
                    "price": d.price,
                    "unit_cost": d.unit_cost,
                    "comment": d.comment,
                }
            )
    drivers = pd.DataFrame(rows, columns=list(DRIVER_FIELDS))
    drivers.attrs["where"] = tuple(places)  # for problems found later (pipeline.check_scenarios)
    return scen, drivers
