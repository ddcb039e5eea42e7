"""Edge cases: all zeros, constant, one point, gaps, negative values, 30 years of history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecasting

METHODS = [m for m in forecasting.METHODS if m not in ("manual", "like_item")]


def _frame(y, start: str = "2020-01-01", uid: str = "A") -> pd.DataFrame:
    y = np.asarray(y, dtype=float)
    return pd.DataFrame(
        {"unique_id": uid, "ds": pd.date_range(start, periods=y.size, freq="MS"), "y": y}
    )


CASES = {
    "all_zeros": _frame(np.zeros(36)),
    "constant": _frame(np.full(40, 7.0)),
    "one_point": _frame([12.0]),
    "two_points": _frame([3.0, 5.0]),
    "gaps": _frame(np.r_[np.arange(1.0, 21), [np.nan] * 4, np.arange(25.0, 41)]).drop(index=[3, 9]),
    "negative": _frame(np.r_[np.full(20, 10.0), [-4.0], np.full(10, 10.0)]),
    "thirty_years": _frame(
        1000
        + 200 * np.sin(2 * np.pi * np.arange(360) / 12)
        + np.random.default_rng(1).normal(0, 20, 360),
        start="1996-01-01",
    ),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_case_does_not_crash(case: str, method: str) -> None:
    out = forecasting.forecast(CASES[case], h=6, method=method)
    v = out[["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]].to_numpy(float)
    assert len(out) == 6 and np.isfinite(v).all() and (v >= 0).all()
    assert (np.diff(v, axis=1) >= -1e-9).all()


def test_all_zeros_auto_forecasts_zero() -> None:
    out = forecasting.forecast(CASES["all_zeros"], h=3)
    assert (out["forecast"] == 0).all() and out["method"].iloc[0] == "zero"


def test_constant_forecast_is_the_constant() -> None:
    out = forecasting.forecast(CASES["constant"], h=3)
    np.testing.assert_allclose(out["forecast"], 7.0, rtol=1e-6)


def test_negative_month_reported() -> None:
    out = forecasting.forecast(CASES["negative"], h=3)
    assert "negative months (returns) counted as 0" in out["reason"].iloc[0]


def test_short_history_fallback_is_recorded() -> None:
    out = forecasting.forecast(CASES["two_points"], h=3, method="holt_winters")
    assert "Holt-Winters failed" in out["fallback"].iloc[0]
    assert out["method"].iloc[0] != "holt_winters"


def test_thirty_years_seasonal() -> None:
    out = forecasting.forecast(CASES["thirty_years"], h=12)
    assert out["reason"].iloc[0].startswith("seasonal: own pattern, weight 1.00")
    assert out["forecast"].max() - out["forecast"].min() > 250
