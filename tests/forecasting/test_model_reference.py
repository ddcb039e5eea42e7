"""Reference values, each with its source named."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.models import (
    CrostonSBA,
    DampedHolt,
    DynamicTheta,
    Naive2,
    SeasonalNaive,
    SimpleExpSmoothing,
    Theta,
)
from forecasting.models.intermittent import ses_level
from forecasting.models.smoothing import fit_smoothing

RNG = np.random.default_rng(11)
T = np.arange(72)
SEASONAL = 500 + 3 * T + 80 * np.sin(2 * np.pi * T / 12) + RNG.normal(0, 10, 72)


def test_ses_level_hand_worked() -> None:
    # 3 -> 3 + 0.1 (5 - 3) = 3.2 -> 3.2 + 0.1 (2 - 3.2) = 3.08 -> 3.08 + 0.1 (7 - 3.08) = 3.472
    assert ses_level(np.array([3.0, 5.0, 2.0, 7.0]), 0.1) == pytest.approx(3.472)


def test_croston_sba_hand_worked() -> None:
    # sizes 4, 6 -> 4.2; intervals 2, 3 -> 2.1; 0.95 * 4.2 / 2.1 = 1.9
    y = np.array([0.0, 4.0, 0.0, 0.0, 6.0])
    assert CrostonSBA().forecast(y, 2) == pytest.approx([1.9, 1.9])


def test_seasonal_naive_repeats_last_year() -> None:
    y = np.arange(24.0)
    np.testing.assert_array_equal(
        SeasonalNaive(12).forecast(y, 14), np.r_[np.arange(12, 24.0), 12, 13]
    )


def test_naive2_matches_statsmodels_decomposition() -> None:
    # M4 Naive2: statsmodels seasonal_decompose(model="multiplicative", period=12)
    from statsmodels.tsa.seasonal import seasonal_decompose

    seasonal = seasonal_decompose(SEASONAL, model="multiplicative", period=12).seasonal
    last = SEASONAL[-1] / seasonal[-1]
    expected = last * seasonal[np.arange(72, 84) % 12]
    np.testing.assert_allclose(Naive2(12).forecast(SEASONAL, 12), expected, rtol=1e-10)


def test_theta_is_statsmodels_theta() -> None:
    # statsmodels 0.15 ThetaModel(y, period=12).fit().forecast(18)
    from statsmodels.tsa.forecasting.theta import ThetaModel

    expected = ThetaModel(SEASONAL, period=12).fit().forecast(18)
    np.testing.assert_allclose(Theta(12).forecast(SEASONAL, 18), expected, rtol=1e-10)


def test_damped_holt_least_squares_close_to_statsmodels_ets() -> None:
    # statsmodels 0.15 ETSModel(x, error="add", trend="add", damped_trend=True).fit(): our grid
    # search with exact initial states reaches within 1% of its sum of squared errors
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    x = SEASONAL[:48] - 80 * np.sin(2 * np.pi * T[:48] / 12)
    ours = fit_smoothing(x, trend=True, damped=True)["sse"]
    ref = ETSModel(x, error="add", trend="add", damped_trend=True).fit(disp=False).sse
    assert ours <= ref * 1.01


def test_ses_least_squares_close_to_statsmodels() -> None:
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing as SmSES

    x = 100 + np.cumsum(RNG.normal(0, 3, 60))
    ref = SmSES(x, initialization_method="estimated").fit()
    ours = SimpleExpSmoothing(12, seasonal=False).fit(x)
    assert ours.params_["sse"] <= ref.sse * 1.005
    assert ours.predict(1)[0] == pytest.approx(ref.forecast(1)[0], rel=0.01)


def test_dynamic_theta_close_to_statsforecast() -> None:
    sf = pytest.importorskip("statsforecast.models")
    # statsforecast 2.1 DynamicOptimizedTheta(season_length=12).forecast(y, 12)
    expected = sf.DynamicOptimizedTheta(season_length=12).forecast(SEASONAL, 12)["mean"]
    np.testing.assert_allclose(DynamicTheta(12).forecast(SEASONAL, 12), expected, rtol=0.02)


def test_damped_holt_on_linear_trend_is_near_exact() -> None:
    y = 10 + 2.0 * np.arange(30)
    f = DampedHolt(12).forecast(y, 3)
    assert f[0] == pytest.approx(70, rel=0.01)
