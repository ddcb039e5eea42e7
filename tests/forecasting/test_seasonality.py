"""Seasons found in short histories, a family's season for items too short for their own,
cleansing that keeps the season, forecastability flags and what the API says of odd input
(issue 14). Every series here is made by the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecasting
from forecasting.backtest import _satterthwaite, interval_bounds
from forecasting.cleansing import clean_series, outlier_cap
from forecasting.groups import group_profiles
from forecasting.models import SeasonalETS
from forecasting.seasonality import seasonal_profile, seasonality_test
from forecasting.selection import ItemSpec, forecast_item, forecastability

PATTERN = np.array([0.7, 0.75, 0.9, 1.05, 1.2, 1.35, 1.4, 1.3, 1.1, 0.95, 0.75, 0.65])


def seasonal(
    months: int, seed: int, growth: float = 0.01, noise: float = 0.08, level: float = 200.0
) -> np.ndarray:
    """A multiplicative season on a growing level, with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    return level * (1 + growth) ** t * PATTERN[t % 12] * np.exp(rng.normal(0, noise, months))


@pytest.mark.parametrize(("months", "seed"), [(24, 1), (24, 2), (30, 3), (36, 4), (36, 5), (48, 6)])
def test_short_seasonal_histories_come_out_seasonal(months: int, seed: int) -> None:
    y = seasonal(months, seed)
    if months >= 36:  # the old rule (M4's lag-12 test on three seasons) misses these
        assert not seasonality_test(y, 12) or months == 48
    res = forecast_item(y, ItemSpec(h=12))
    assert res.reason.startswith("seasonal: own pattern"), res.reason
    truth = (
        200 * 1.01 ** np.arange(months, months + 12) * PATTERN[np.arange(months, months + 12) % 12]
    )
    assert np.corrcoef(res.forecast, truth)[0, 1] > 0.9
    flat = forecast_item(y, ItemSpec(h=12, method="damped_holt", season_length=1))
    assert np.mean(np.abs(res.forecast - truth)) < 0.5 * np.mean(np.abs(flat.forecast - truth))


def test_noise_has_no_season() -> None:
    rng = np.random.default_rng(7)
    prof = seasonal_profile(100 + rng.normal(0, 10, 36), 12)
    assert prof is not None and prof.weight < 0.5
    strong = seasonal_profile(seasonal(36, 8, noise=0.02), 12)
    assert strong is not None and strong.weight > 0.95
    assert seasonal_profile(seasonal(23, 8), 12) is None  # fewer than two seasons: no own estimate


def test_family_profile_for_items_too_short_for_their_own() -> None:
    ds = pd.date_range("2022-01-01", periods=36, freq="MS")
    rows = [
        pd.DataFrame(
            {"unique_id": f"P{i}", "ds": ds, "y": seasonal(36, 20 + i, level=100 + 30 * i)}
        )
        for i in range(5)
    ]
    new = seasonal(36, 40, level=80)[-9:]  # nine months, the same season
    rows.append(pd.DataFrame({"unique_id": "NEW", "ds": ds[-9:], "y": new}))
    frame = pd.concat(rows, ignore_index=True)
    groups = {f"P{i}": "Pumps" for i in range(5)} | {"NEW": "Pumps"}
    out = forecasting.forecast(frame, h=12, groups=groups, group_name="family")
    reason = out.loc[out["unique_id"] == "NEW", "reason"].iloc[0]
    assert "seasonal profile of family Pumps (5 items, 36 months)" in reason
    f = out.loc[out["unique_id"] == "NEW", "forecast"].to_numpy()
    assert np.corrcoef(f, PATTERN[np.arange(36, 48) % 12])[0, 1] > 0.9
    alone = forecasting.forecast(frame, h=12)  # without groups the new item has no season
    f0 = alone.loc[alone["unique_id"] == "NEW", "forecast"].to_numpy()
    assert np.std(f0) < 0.2 * np.std(f)
    member = out.loc[out["unique_id"] == "P0", "reason"].iloc[0]
    assert "family Pumps" in member and "own pattern" in member


def test_group_profile_is_by_calendar_month() -> None:
    # two items starting in different months share one calendar pattern
    a = seasonal(36, 1, noise=0.01)
    b = seasonal(40, 2, noise=0.01)[4:]  # starts in May
    prof = group_profiles([("A", 2022 * 12, a), ("B", 2022 * 12 + 4, b)], {"A": "F", "B": "F"})
    np.testing.assert_allclose(prof["F"].indices, PATTERN / PATTERN.mean(), rtol=0.05)
    assert prof["F"].items == 2 and prof["F"].weight > 0.9


def test_seasonal_ets_fit_equals_the_recursion_and_refits_in_one_pass() -> None:
    y = seasonal(60, 9)
    mdl = SeasonalETS(12).fit(y)
    p = mdl.params_
    th = p.init
    level, trend = th[0], th[1] if p.trend_used else 0.0
    season = np.r_[th[2:], -th[2:].sum()]
    sse = 0.0
    for t, z in enumerate(np.log(y)):
        pos = t % 12
        e = z - (level + p.phi * trend + season[pos])
        sse += e * e
        level = level + p.phi * trend + p.alpha * e
        trend = p.phi * trend + p.beta * e
        season[pos] += p.gamma * e
    assert level == pytest.approx(p.level) and trend == pytest.approx(p.trend)
    np.testing.assert_allclose(season, p.season)
    assert sse / 60 == pytest.approx(p.sigma2)
    origins = [42, 48]
    one_pass = SeasonalETS(12).backtest_forecasts(y, origins, 12)
    for o, f in zip(origins, one_pass, strict=True):
        np.testing.assert_allclose(f, SeasonalETS(12).fit(y[:o]).predict(12))


def test_interval_degrees_of_freedom() -> None:
    # one step of independent errors: every error counts
    assert _satterthwaite(np.ones(0), 1, 5) == pytest.approx(5)
    # random-walk errors over 12 steps carry the information of a few independent ones
    rw = _satterthwaite(np.ones(11), 12, 2)
    assert 2 < rw < 12
    # so their intervals are wider than normal ones from the same spread
    mean = np.full(12, 100.0)
    err = np.random.default_rng(1).normal(0, 5, (2, 12))
    iv = interval_bounds(mean, (80,), errors=err, history=mean)
    sigma = np.sqrt(np.mean(err**2 / np.arange(1, 13)))
    assert iv[80][1][0] - 100 > 1.2816 * sigma


def test_cleansing_keeps_a_growing_season() -> None:
    # the season's swings grow with the level: an additive fit would call the late peaks outliers
    y = seasonal(96, 11, growth=0.02, noise=0.03)
    assert clean_series(y).n_outliers == 0


def test_a_repeating_month_is_not_an_outlier() -> None:
    y = seasonal(60, 12, growth=0.0, noise=0.03)
    y[[3, 27]] *= 2.5  # the same month two years: a pattern (a yearly campaign), not a one-off
    assert clean_series(y).n_outliers == 0
    y[40] *= 3.0  # a one-off
    cs = clean_series(y)
    assert [i for i, f in enumerate(cs.flags) if f == "outlier"] == [40]


def test_outlier_cap_and_reason_names_the_months() -> None:
    y = seasonal(48, 13, growth=0.0, noise=0.02)
    y[[5, 10, 15, 31, 40]] *= np.array([3.0, 3.2, 3.4, 3.6, 3.8])  # five calendar months
    cs = clean_series(y)
    assert cs.n_outliers == outlier_cap(48) == 4
    fixed = [i for i, f in enumerate(cs.flags) if f == "outlier"]
    kept = [i for i, f in enumerate(cs.flags) if f == "unusual"]
    assert sorted(fixed + kept) == [5, 10, 15, 31, 40] and len(kept) == 1
    ds = pd.date_range("2022-01-01", periods=48, freq="MS")
    reason = forecasting.forecast(pd.DataFrame({"unique_id": "A", "ds": ds, "y": y}), h=3)[
        "reason"
    ].iloc[0]
    assert f"4 outlier months corrected ({', '.join(ds[fixed].strftime('%Y-%m'))})" in reason
    assert (
        f"1 more unusual month kept as it is ({ds[kept[0]]:%Y-%m}; at most 4 corrected)" in reason
    )


def test_a_short_seasonal_history_is_not_screened_and_says_so() -> None:
    y = seasonal(30, 18, noise=0.03)
    cs = clean_series(y)
    assert cs.n_outliers == 0 and cs.note.startswith("not screened for outliers")
    rng = np.random.default_rng(19)
    flat = 100 + rng.normal(0, 3, 30)
    flat[12] = 400.0  # no season: screened against the trend
    assert clean_series(flat).flags[12] == "outlier"


def test_keep_marks_a_real_month() -> None:
    y = seasonal(48, 14, growth=0.0, noise=0.03)
    y[30] *= 3.0
    frame = pd.DataFrame(
        {
            "unique_id": "A",
            "ds": pd.date_range("2022-01-01", periods=48, freq="MS"),
            "y": y,
            "keep": False,
        }
    )
    assert forecasting.cleanse(frame)["flag"].iloc[30] == "outlier"
    frame.loc[30, "keep"] = True
    assert forecasting.cleanse(frame)["flag"].iloc[30] == ""
    assert "outlier" not in forecasting.forecast(frame, h=3)["reason"].iloc[0]


def test_every_seventh_month_missing_still_screened_without_warnings() -> None:
    y = seasonal(60, 15, growth=0.0, noise=0.03)
    y[::7] = np.nan
    y[22] *= 3.0
    cs = clean_series(y)  # warnings are errors in this suite
    assert cs.flags[22] == "outlier" and cs.n_missing == 9


def test_text_in_y_and_bad_dates_are_refused_by_row() -> None:
    ds = pd.date_range("2024-01-01", periods=24, freq="MS")
    frame = pd.DataFrame({"unique_id": "A", "ds": ds, "y": [10.0] * 24}).astype({"y": object})
    frame.loc[5, "y"] = "about 40"
    with pytest.raises(
        ValueError, match=r"y is not a number in 1 row\(s\): row 5 \(item 'A'\): 'about 40'"
    ):
        forecasting.forecast(frame, h=3)
    frame.loc[5, "y"] = 40.0
    frame["ds"] = frame["ds"].astype(object)
    frame.loc[7, "ds"] = "next spring"
    with pytest.raises(ValueError, match=r"ds is not a date in 1 row\(s\): row 7"):
        forecasting.forecast(frame, h=3)


def test_daily_and_repeated_rows_are_summed_and_said() -> None:
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    daily = pd.DataFrame({"unique_id": "D", "ds": days, "y": 1.0})
    out = forecasting.forecast(daily, h=3)
    assert f"{len(days)} dated rows summed into 24 month(s)" in out["reason"].iloc[0]
    ds = pd.date_range("2024-01-01", periods=24, freq="MS")
    twice = pd.DataFrame({"unique_id": "R", "ds": list(ds) + [ds[3]], "y": 5.0})
    out = forecasting.forecast(twice, h=3)
    assert "repeated rows for the same month summed (2024-04)" in out["reason"].iloc[0]


def test_forecastability_flags() -> None:
    assert forecastability(0.8, 1.0) == ""
    assert forecastability(1.7, 2.0).startswith("hard to forecast (backtest MASE 1.70)")
    assert forecastability(1.3, 1.0).startswith(
        "seasonal naive did better in backtest (MASE 1.00 against 1.30)"
    )
    rng = np.random.default_rng(16)
    y = np.r_[rng.lognormal(3, 0.2, 36), rng.lognormal(5, 0.2, 12)]  # a level shift late on
    res = forecast_item(y, ItemSpec(h=12))
    assert np.isfinite(res.snaive_mase) and res.flag != ""
    smooth = forecast_item(seasonal(60, 17, noise=0.02), ItemSpec(h=12))
    assert smooth.flag == "" and smooth.backtest_mase < 1.0
