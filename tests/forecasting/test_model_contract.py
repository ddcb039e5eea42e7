"""Every method through one contract (as statsforecast's assert_class does for its models)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecasting
from forecasting.models import MODELS, Combination, DampedHolt, DynamicTheta, Manual

from .conftest import make_history

RNG = np.random.default_rng(7)
T = np.arange(60)
SERIES = {
    "seasonal": 200 + 2 * T + 40 * np.sin(2 * np.pi * T / 12) + RNG.normal(0, 5, 60),
    "intermittent": (RNG.random(60) < 0.4) * RNG.integers(1, 30, 60).astype(float),
}


def _model(name: str):
    if name == "manual":
        return Manual(12, np.array([5.0, 6.0]))
    return MODELS[name](12)


@pytest.mark.parametrize("kind", sorted(SERIES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_predict_equals_forecast(name: str, kind: str) -> None:
    y = SERIES[kind]
    a = _model(name).fit(y).predict(18)
    b = _model(name).forecast(y, 18)
    assert a.shape == (18,) and np.isfinite(a).all()
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_combination_is_the_mean_of_its_members() -> None:
    y = SERIES["seasonal"]
    combo = Combination([DampedHolt(12), DynamicTheta(12)]).forecast(y, 6)
    mean = (DampedHolt(12).forecast(y, 6) + DynamicTheta(12).forecast(y, 6)) / 2
    np.testing.assert_allclose(combo, mean)


@pytest.fixture(scope="module")
def small_history() -> pd.DataFrame:
    return make_history(n_items=7, months=40, seed=3)


@pytest.mark.parametrize("method", forecasting.METHODS)
def test_every_method_through_the_engine(method: str, small_history: pd.DataFrame) -> None:
    manual = {uid: [10.0, 12.0] for uid in small_history["unique_id"].unique()}
    out = forecasting.forecast(
        small_history, h=7, method=method, manual=manual, like_items={"IT00": "IT02"}
    )
    assert len(out) == 7 * small_history["unique_id"].nunique()
    v = out[["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]].to_numpy(float)
    assert np.isfinite(v).all() and (v >= 0).all()
    assert (np.diff(v, axis=1) >= -1e-9).all()
    for m in out["method"].unique():
        assert all(part in forecasting.METHODS for part in m.split("+")), m
    first = out.drop_duplicates("unique_id")
    assert first["reason"].str.len().gt(5).all()
    if method not in ("auto",):
        used = set(first["method"])
        # the chosen method is used unless a fallback says why not
        assert all(
            m == method or fb for m, fb in zip(first["method"], first["fallback"], strict=True)
        ), used


def test_manual_numbers_are_used_as_given(small_history: pd.DataFrame) -> None:
    out = forecasting.forecast(
        small_history, h=4, method="manual", manual={"IT02": [3, 4, 5, 6, 7]}
    )
    g = out[out["unique_id"] == "IT02"]
    assert g["forecast"].tolist() == [3.0, 4.0, 5.0, 6.0]
    other = out[out["unique_id"] == "IT03"].iloc[0]
    assert "manual" in other["fallback"] and "no planner numbers" in other["fallback"]


def test_like_item_profile_for_a_new_item(history: pd.DataFrame) -> None:
    out = forecasting.forecast(history, h=12, like_items={"IT00": "IT03"})
    g = out[out["unique_id"] == "IT00"]
    assert g["method"].iloc[0] == "like_item"
    assert "like item IT03" in g["reason"].iloc[0]
    assert g["forecast"].max() - g["forecast"].min() > 20  # IT03 is seasonal


def test_ets_gives_model_intervals() -> None:
    m = MODELS["ets"](12).fit(SERIES["seasonal"])
    iv = m.predict_intervals(6, (80, 95))
    assert iv is not None
    assert (iv[95][0] <= iv[80][0]).all() and (iv[80][1] <= iv[95][1]).all()
    assert m.description_.startswith("ETS(")
