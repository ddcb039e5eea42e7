"""Outlier detection on injected spikes, robust to seasonality; missing months."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import cleanse
from forecasting.cleansing import clean_series

RNG = np.random.default_rng(5)
T = np.arange(60)
BASE = 300 + 100 * np.sin(2 * np.pi * T / 12) + RNG.normal(0, 10, 60)


def test_injected_spikes_found_and_corrected() -> None:
    y = BASE.copy()
    spikes = [7, 25, 44]
    y[spikes] = y[spikes] * np.array([3.0, 0.3, 2.5])
    cs = clean_series(y)
    assert [i for i, f in enumerate(cs.flags) if f == "outlier"] == spikes
    assert np.all(np.abs(cs.y_clean[spikes] - BASE[spikes]) < 80)  # amplitude 100, sd 10


def test_seasonal_peaks_are_not_outliers() -> None:
    assert clean_series(BASE).n_outliers == 0


def test_correction_off_keeps_history() -> None:
    y = BASE.copy()
    y[10] *= 4
    cs = clean_series(y, correct_outliers=False)
    np.testing.assert_array_equal(cs.y_clean, y)


def test_zero_months_and_intermittent_items_untouched() -> None:
    y = BASE.copy()
    y[-6:] = 0.0
    assert clean_series(y).y_clean[-6:].tolist() == [0.0] * 6
    inter = (RNG.random(48) < 0.4) * 50.0
    inter[5] = 900.0
    assert clean_series(inter).n_outliers == 0


def test_missing_months_filled_or_left_out() -> None:
    y = BASE[:24].copy()
    y[[5, 6]] = np.nan
    filled = clean_series(y)
    assert filled.n_missing == 2 and np.isfinite(filled.y_clean).all()
    assert min(y[4], y[7]) <= filled.y_clean[5] <= max(y[4], y[7])
    assert np.isnan(clean_series(y, fill_missing=False).y_clean[[5, 6]]).all()


def test_cleanse_frame_reports_each_change() -> None:
    ds = pd.date_range("2022-01-01", periods=60, freq="MS")
    y = BASE.copy()
    y[30] *= 4
    frame = pd.DataFrame({"unique_id": "A", "ds": ds, "y": y}).drop(index=[40])
    out = cleanse(frame)
    assert list(out.columns) == ["unique_id", "ds", "y", "y_clean", "flag", "correction"]
    assert len(out) == 60  # the absent month is added as missing
    flagged = out[out["flag"] != ""].set_index("flag")
    assert flagged.loc["outlier", "ds"] == ds[30]
    assert flagged.loc["missing", "ds"] == ds[40]
    assert flagged.loc["outlier", "correction"] < 0
    assert (out.loc[out["flag"] == "", "correction"] == 0).all()


def test_latest_month_is_never_an_outlier() -> None:
    # a jump in the latest month may be a new level: only the next month can tell
    y = BASE.copy()
    y[-1] *= 4
    cs = clean_series(y)
    assert cs.n_outliers == 0 and cs.y_clean[-1] == y[-1]
    # once a month follows and the demand came back, the spike is corrected
    y = BASE.copy()
    y[-2] *= 4
    cs = clean_series(y)
    assert [i for i, f in enumerate(cs.flags) if f == "outlier"] == [y.size - 2]
    # the latest month with data counts as latest, also when a month without data follows
    z = np.r_[BASE.copy(), np.nan]
    z[-2] *= 4
    assert clean_series(z).n_outliers == 0


def test_every_item_on_a_complete_monthly_calendar():
    """regular_series (the engine's preparation, built for all items at once): months normalised to
    their first day, duplicates summed, absent months NaN, text in y NaN, items in order."""
    from forecasting.cleansing import regular_series

    f = pd.DataFrame(
        {
            "unique_id": ["B", "A", "A", "A", "B", "B", 7],
            "ds": [
                "2026-03-15",
                "2025-11-30",
                "2026-02-01",
                "2026-02-20",
                "2026-01-01",
                None,
                "1999-12-31",
            ],
            "y": [3.0, 1.0, 2.0, 0.5, "x", 9.0, 4.0],
        }
    )
    out = regular_series(f)
    assert [uid for uid, _, _ in out] == ["7", "A", "B"]
    by = {uid: (ds, y) for uid, ds, y in out}
    ds, y = by["A"]
    assert list(pd.DatetimeIndex(ds).strftime("%Y-%m")) == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    np.testing.assert_array_equal(y, [1.0, np.nan, np.nan, 2.5])
    ds, y = by["B"]  # the row without a date is dropped; 'x' is no number
    assert list(pd.DatetimeIndex(ds).strftime("%Y-%m")) == ["2026-01", "2026-02", "2026-03"]
    np.testing.assert_array_equal(y, [np.nan, np.nan, 3.0])
    ds, y = by["7"]
    assert ds.dtype == np.dtype("datetime64[ns]") and list(y) == [4.0]
    assert regular_series(f.iloc[:0]) == []


def test_numpy_medians_are_pandas_and_numpy_medians_exactly() -> None:
    from forecasting.cleansing import _position_medians, _rolling_median

    rng = np.random.default_rng(9)
    for trial in range(60):
        n = int(rng.integers(1, 80))
        x = rng.normal(100, 30, n).round(int(trial % 3))  # ties too
        x[rng.random(n) < 0.15 * (trial % 2)] = np.nan
        for win, need in ((13, 10), (13, 3), (5, 3), (4, 1)):
            want = pd.Series(x).rolling(win, center=True, min_periods=need).median()
            np.testing.assert_array_equal(_rolling_median(x, win, need), want.to_numpy(float))
        ok = ~np.isnan(x)
        pos = np.arange(n)[ok] % 12
        want = [float(np.median(x[ok][pos == i])) if np.any(pos == i) else 1.0 for i in range(12)]
        np.testing.assert_array_equal(_position_medians(x[ok], pos, 12, 1.0), want)
