"""The workbook's side of issue 14: a family's season for short items, months cleansing
corrected (and a planner's keep), forecastability on the Forecast sheet and in the summary."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel import pipeline
from sop_excel.cli import main
from sop_excel.demo import DEFAULT_SETTINGS
from sop_excel.errors import InputError
from sop_excel.models import Settings
from tests.sop_excel.conftest import sheet

PATTERN = np.array([0.7, 0.75, 0.9, 1.05, 1.2, 1.35, 1.4, 1.3, 1.1, 0.95, 0.75, 0.65])
AS_OF = dt.date(2026, 1, 15)


def _company(group: str = "family") -> tuple[Settings, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    months = pd.date_range("2023-01-01", "2025-12-01", freq="MS")  # 36 months before the as-of
    items, rows = [], []
    for i in range(5):
        items.append({"item": f"P-{i}", "family": "Pumps"})
        y = (80 + 25 * i) * PATTERN[np.arange(36) % 12] * np.exp(rng.normal(0, 0.05, 36))
        rows += [
            {"item": f"P-{i}", "month": m, "qty": round(v), "flag": ""}
            for m, v in zip(months, y, strict=True)
        ]
    items.append({"item": "P-NEW", "family": "Pumps"})
    rows += [
        {"item": "P-NEW", "month": m, "qty": round(60 * PATTERN[k % 12]), "flag": ""}
        for k, m in enumerate(months)
        if k >= 27
    ]
    items.append({"item": "V-1", "family": "Valves"})
    rows += [
        {"item": "V-1", "month": m, "qty": round(50 + rng.normal(0, 2)), "flag": ""} for m in months
    ]
    item_frame = pd.DataFrame(items).assign(site="Leeds", resource="L1", method="", like_item="")
    settings = Settings.model_validate(
        {**DEFAULT_SETTINGS, "AsOfDate": AS_OF, "SeasonalGroup": group}
    )
    return settings, item_frame, pd.DataFrame(rows)


def test_a_new_item_takes_its_familys_season_and_the_group_is_a_setting():
    settings, items, history = _company()
    fc, models = pipeline.forecast_frames(settings, items, history)
    reason = models.set_index("item").loc["P-NEW", "reason"]
    assert "seasonal profile of family Pumps (5 items, 36 months)" in reason
    new = fc[fc["item"] == "P-NEW"].sort_values("month")["baseline"].to_numpy()
    assert np.corrcoef(new[:12], PATTERN)[0, 1] > 0.9  # the forecast starts in January
    settings, items, history = _company("none")
    fc, models = pipeline.forecast_frames(settings, items, history)
    assert "family" not in models.set_index("item").loc["P-NEW", "reason"]
    flat = fc[fc["item"] == "P-NEW"]["baseline"]
    assert flat.std() < 0.2 * np.std(new)
    assert {"snaive_mase", "forecastability"} <= set(models.columns)


def test_cleansing_lists_corrected_months_and_keep_undoes_one():
    settings, items, history = _company()
    spike = (history["item"] == "P-3") & (history["month"] == "2024-06-01")
    history.loc[spike, "qty"] *= 4
    listed = pipeline.cleansing_frame(settings, history)
    row = listed[(listed["item"] == "P-3")]
    assert len(row) == 1 and row["month"].iloc[0] == pd.Timestamp("2024-06-01")
    assert row["actual"].iloc[0] == history.loc[spike, "qty"].iloc[0]
    assert row["used"].iloc[0] < row["actual"].iloc[0] / 2 and row["why"].iloc[0].startswith(
        "outlier"
    )
    history.loc[spike, "flag"] = "keep"
    pipeline.check_history(items, history)
    assert pipeline.cleansing_frame(settings, history).query("item == 'P-3'").empty
    history.loc[spike, "flag"] = "promo"
    with pytest.raises(InputError, match="History"):
        pipeline.check_history(items, history)


def test_refresh_forecast_fills_cleansing_and_forecastability(small_copy, capsys):
    assert main(["refresh-forecast", str(small_copy)]) == 0
    out = capsys.readouterr().out
    models = sheet(small_copy, "Forecast", "tblModels")
    cleansing = sheet(small_copy, "History", "tblCleansing")
    assert models["Seasonal naive MASE"].notna().sum() > len(models) // 2
    flagged = models[models["Forecastability"].fillna("") != ""]
    assert len(flagged) >= 1  # the sample company has erratic spare parts
    assert f"{len(flagged)} items are flagged hard to forecast" in out
    corrected = cleansing[cleansing["Why"].str.startswith("outlier")]
    assert len(corrected) >= 1  # and injected one-off months
    assert f"Outlier months corrected: {len(corrected)} in" in out
    assert (cleansing["Used in forecast"] != cleansing["Actual"]).sum() == len(corrected)
