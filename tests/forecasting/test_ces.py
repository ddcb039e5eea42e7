"""Complex exponential smoothing (numpy) and its place in ``auto``."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.models import CES
from forecasting.models.ces import _GRID, ces_grid, ces_path, fit_ces
from forecasting.seasonality import deseasonalize
from forecasting.selection import AUTO_MEMBERS, ItemSpec, forecast_item

RNG = np.random.default_rng(11)
T = np.arange(72)
SEASONAL = 500 + 3 * T + 80 * np.sin(2 * np.pi * T / 12) + RNG.normal(0, 10, 72)


def _loop(x: np.ndarray, a0: float, a1: float) -> tuple[float, float, float]:
    """The CES recursion written out, one month at a time (sse, level, potential)."""
    lev = float(np.mean(x[:10]))
    pot = lev / 1.1
    sse = 0.0
    for v in x:
        e = v - lev
        sse += e * e
        lev, pot = lev - (1 - a1) * pot + (a0 - a1) * e, lev + (1 - a0) * pot + (a0 + a1) * e
    return sse, lev, pot


def test_vectorised_fit_equals_the_written_out_recursion() -> None:
    x = SEASONAL[:40]
    grid = (np.array([1.2, 1.5]), np.array([1.0, 0.98]))
    p = fit_ces(x, grid)
    sses = [_loop(x, a0, a1)[0] for a0, a1 in zip(*grid, strict=True)]
    k = int(np.argmin(sses))
    assert (p["a0"], p["a1"]) == (grid[0][k], grid[1][k])
    sse, lev, pot = _loop(x, p["a0"], p["a1"])
    assert p["sse"] == pytest.approx(sse) and p["level"] == pytest.approx(lev)
    assert p["potential"] == pytest.approx(pot)
    # the forecast is the recursion with zero errors
    f = ces_path(p, 2)
    assert f[0] == pytest.approx(lev)
    assert f[1] == pytest.approx(lev - (1 - p["a1"]) * pot)


def test_grid_keeps_only_stable_parameters() -> None:
    a0, a1 = _GRID
    assert a0.size > 100
    d = np.stack(
        [np.stack([1 - (a0 - a1), -(1 - a1)], -1), np.stack([1 - (a0 + a1), 1 - a0], -1)], 1
    )
    assert np.abs(np.linalg.eigvals(d)).max() < 1
    # a0 = a1 = 0.1: the discount matrix has an eigenvalue outside the unit circle
    assert ces_grid(np.array([0.1]), np.array([0.1]))[0].size == 0


def test_constant_and_linear_histories() -> None:
    np.testing.assert_allclose(CES(12).forecast(np.full(30, 7.0), 4), 7.0)
    y = 10 + 2.0 * np.arange(40)
    np.testing.assert_allclose(CES(12).forecast(y, 3), [90.0, 92.0, 94.0], rtol=0.05)


def test_seasonal_history_keeps_its_season() -> None:
    m = CES(12).fit(SEASONAL)
    assert m.description_ == "complex exponential smoothing on seasonally adjusted data"
    f = m.predict(12)
    season = np.sin(2 * np.pi * (72 + np.arange(12)) / 12)
    assert np.corrcoef(f - np.linspace(f[0], f[-1], 12), season)[0, 1] > 0.9


def test_close_to_statsforecast_ces() -> None:
    sf = pytest.importorskip("statsforecast.models")
    # statsforecast 2.1 AutoCES(season_length=1, model="N"): same model and starting states,
    # parameters by Nelder-Mead instead of our grid
    x, _ = deseasonalize(SEASONAL, 12)
    expected = sf.AutoCES(season_length=1, model="N").forecast(x, 12)["mean"]
    np.testing.assert_allclose(CES(12, seasonal=False).forecast(x, 12), expected, rtol=0.02)


def test_auto_combines_four_families_and_says_so() -> None:
    assert AUTO_MEMBERS == ("damped_holt", "dynamic_theta", "ces", "seasonal_ets")
    res = forecast_item(SEASONAL, ItemSpec(h=12))
    assert res.method == "damped_holt+dynamic_theta+ces+seasonal_ets"
    assert res.reason.startswith("seasonal: own pattern, weight ")
    assert res.reason.endswith(
        "mean of damped Holt, dynamic optimised Theta, complex exponential "
        "smoothing and seasonal exponential smoothing"
    )
    assert np.isfinite(res.backtest_mase)
    flat = forecast_item(100 + RNG.normal(0, 5, 48), ItemSpec(h=6))
    assert flat.reason.startswith(
        ("no seasonality found; mean of damped Holt, ", "weakly seasonal: own pattern at weight 0.")
    )
