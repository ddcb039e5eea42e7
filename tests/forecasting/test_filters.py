"""The smoothers' grids fitted by convolution (``forecasting.models.filters``) give what the
month-by-month recursions give, on short histories (direct product) and long ones (FFT)."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.models import SeasonalETS
from forecasting.models.ces import fit_ces
from forecasting.models.dynamic_theta import _trend_states, fit_dynamic_theta
from forecasting.models.filters import _DIRECT_MAX, Responses, causal_filter
from forecasting.models.seasonal_ets import _GRID, _paths, _responses
from forecasting.models.smoothing import _errors, _grid, fit_smoothing

RNG = np.random.default_rng(5)
LENGTHS = (40, _DIRECT_MAX + 88)  # the direct product and the FFT


def _history(n: int) -> np.ndarray:
    t = np.arange(n)
    level = 800 + np.cumsum(RNG.normal(0, 8, n))
    return level * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) + RNG.normal(0, 20, n)


@pytest.mark.parametrize("n", LENGTHS)
def test_causal_filter_is_a_convolution(n: int) -> None:
    kernel = RNG.normal(size=(3, n + 5)) * 0.9 ** np.arange(n + 5)
    x = RNG.normal(size=n)
    want = np.array([np.convolve(k, x)[:n] for k in kernel[:, :n]])
    np.testing.assert_allclose(causal_filter(kernel, x), want, rtol=1e-9, atol=1e-9)


def test_responses_grow_and_keep_their_prefix() -> None:
    calls: list[int] = []

    def compute(n: int) -> tuple[np.ndarray, ...]:
        calls.append(n)
        return (np.arange(n, dtype=float)[None, :],)

    r = Responses(compute)
    assert r.get(10)[0].tolist() == [list(range(10))]
    assert r.get(100)[0].shape == (1, 100) and len(calls) == 1  # 160 computed at first
    assert r.get(400)[0][0, -1] == 399 and len(calls) == 2
    assert r.get(7)[0].tolist() == [list(range(7))] and len(calls) == 2


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize(("trend", "damped"), [(False, False), (True, False), (True, True)])
def test_smoothing_fit_equals_the_recursion(n: int, trend: bool, damped: bool) -> None:
    x = _history(n)
    a, b, p = _grid(trend, damped)
    e = _errors(x, a, b, p, trend)  # the recursion, month by month, for every grid point
    sse = []
    for g in range(a.size):
        basis = e[1:, g].T
        coef = np.linalg.lstsq(basis, -e[0, g], rcond=None)[0]
        sse.append(float(np.sum((e[0, g] + basis @ coef) ** 2)))
    fit = fit_smoothing(x, trend=trend, damped=damped)
    k = int(np.argmin(sse))
    assert (fit["alpha"], fit["beta"], fit["phi"]) == (a[k], b[k], p[k])
    assert fit["sse"] == pytest.approx(sse[k], rel=1e-7)


@pytest.mark.parametrize("n", LENGTHS)
def test_ces_fit_equals_the_recursion(n: int) -> None:
    x = _history(n)
    grid = (np.array([1.0, 1.2, 1.5, 1.7]), np.array([1.0, 0.98, 1.01, 1.0]))
    want = []
    for a0, a1 in zip(*grid, strict=True):
        lev = float(np.mean(x[:10]))
        pot, sse = lev / 1.1, 0.0
        for v in x:
            e = v - lev
            sse += e * e
            lev, pot = lev - (1 - a1) * pot + (a0 - a1) * e, lev + (1 - a0) * pot + (a0 + a1) * e
        want.append((sse, lev, pot))
    fit = fit_ces(x, grid)
    k = int(np.argmin([w[0] for w in want]))
    assert (fit["a0"], fit["a1"]) == (grid[0][k], grid[1][k])
    assert (fit["sse"], fit["level"], fit["potential"]) == pytest.approx(want[k], rel=1e-9)


@pytest.mark.parametrize("n", LENGTHS)
def test_theta_states_and_levels_equal_the_recursion(n: int) -> None:
    y = _history(n)
    a, b = np.empty(n), np.empty(n)
    mean, a[0], b[0] = y[0], y[0], 0.0
    for i in range(1, n):  # statsforecast's recursion
        b[i] = ((i - 1) * b[i - 1] + 6 * (y[i] - mean) / (i + 1)) / (i + 2)
        mean = (i * mean + y[i]) / (i + 1)
        a[i] = mean - b[i] * (i + 2) / 2
    got_a, got_b = _trend_states(y)
    np.testing.assert_allclose(got_a, a, rtol=1e-10)
    np.testing.assert_allclose(got_b, b, rtol=1e-7, atol=1e-9)
    alphas = np.array([0.1, 0.5, 0.9])
    fit = fit_dynamic_theta(y, alphas)
    al, c, l0 = fit["alpha"], 1 - 1 / fit["theta"], fit["l0"]
    level, sse = al * y[0] + (1 - al) * l0, 0.0
    for i in range(1, n):
        mu = level + c * (a[i - 1] * (1 - al) ** i + b[i - 1] * (1 - (1 - al) ** (i + 1)) / al)
        sse += (y[i] - mu) ** 2
        level = al * y[i] + (1 - al) * level
    assert fit["sse"] == pytest.approx(sse, rel=1e-9)


@pytest.mark.parametrize("n", LENGTHS)
def test_seasonal_ets_errors_and_states_equal_the_recursion(n: int) -> None:
    z = np.log(_history(n))
    kernel, _ = _responses(12, n)
    np.testing.assert_allclose(
        causal_filter(kernel, z), _paths(z, 12, _GRID)[0], rtol=1e-9, atol=1e-9
    )
    model = SeasonalETS(12).fit(np.exp(z))
    fit = model.params_
    level, trend = fit.init[0], fit.init[1]
    season = list(np.r_[fit.init[2:], -fit.init[2:].sum()])
    sse = 0.0
    for t, v in enumerate(z):
        base = level + fit.phi * trend
        e = v - base - season[t % 12]
        sse += e * e
        level, trend = base + fit.alpha * e, fit.phi * trend + fit.beta * e
        season[t % 12] += fit.gamma * e
    assert (fit.level, fit.trend) == pytest.approx((level, trend), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(fit.season, season, rtol=1e-9, atol=1e-12)
    assert fit.sigma2 * n == pytest.approx(sse, rel=1e-7)
