"""Croston-SBA and TSB equal statsforecast's CrostonSBA and TSB (issue 3, item 9)."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.models import TSB, CrostonSBA


def _series(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 80))
    y = (rng.random(n) < rng.uniform(0.1, 0.7)) * rng.gamma(2.0, 10.0, n)
    return np.round(y, int(rng.integers(0, 3)))


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_sba_equals_statsforecast(seed: int) -> None:
    sf = pytest.importorskip("statsforecast.models")
    y = _series(seed)
    expected = sf.CrostonSBA().forecast(y, 12)["mean"]
    np.testing.assert_allclose(CrostonSBA().forecast(y, 12), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("alphas", [(0.1, 0.1), (0.2, 0.05), (0.5, 0.3)])
@pytest.mark.parametrize("seed", SEEDS)
def test_tsb_equals_statsforecast(seed: int, alphas: tuple[float, float]) -> None:
    sf = pytest.importorskip("statsforecast.models")
    y = _series(seed)
    expected = sf.TSB(alpha_d=alphas[0], alpha_p=alphas[1]).forecast(y, 12)["mean"]
    got = TSB(12, alpha_d=alphas[0], alpha_p=alphas[1]).forecast(y, 12)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


def test_tsb_fades_after_demand_stops() -> None:
    y = np.r_[np.tile([0.0, 5.0], 12), np.zeros(10)]
    assert TSB().forecast(y, 1)[0] < CrostonSBA().forecast(y, 1)[0]
