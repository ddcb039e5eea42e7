"""Fixtures for the engine tests: a small demo-like history built from a fixed seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_history(n_items: int = 12, months: int = 48, seed: int = 0) -> pd.DataFrame:
    """Trend, yearly seasonality, intermittent items, a new, a dead item, a spike and a gap."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-11-01", periods=months, freq="MS")
    t = np.arange(months)
    rows = []
    for i in range(n_items):
        if i % 6 == 5:
            y = (rng.poisson(0.6, months) * rng.integers(1, 20, months)).astype(float)
        else:
            y = (
                100
                + i * 3
                + 0.8 * t * (i % 3)
                + 30 * np.sin(2 * np.pi * t / 12) * (i % 2)
                + rng.normal(0, 8, months)
            )
        y = np.maximum(y, 0.0)
        d = ds
        if i == 0:
            y, d = y[-8:], ds[-8:]
        if i == 1:
            y[-8:] = 0.0
        if i == 2:
            y[20] *= 5
        if i == 3:
            y[30:32] = np.nan
        rows.append(pd.DataFrame({"unique_id": f"IT{i:02d}", "ds": d, "y": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    """Twelve items, 48 months, ending October 2026."""
    return make_history()
