"""Exponential smoothing with a seasonal state (Holt-Winters, damped), fitted in numpy.

The model is ETS(A,Ad,A) or ETS(A,N,A) (Hyndman et al. 2008, class 1) on the logarithm of a
positive history, so level, trend and season act multiplicatively on the data, and on the
data itself otherwise:

    mu_t = l_{t-1} + phi b_{t-1} + s_{t-m}
    e_t  = z_t - mu_t
    l_t  = l_{t-1} + phi b_{t-1} + alpha e_t
    b_t  = phi b_{t-1} + beta e_t
    s_t  = s_{t-m} + gamma e_t

Unlike seasonal adjustment by classical decomposition (a fixed pattern), the seasonal state
moves with the data: a season that changes shape or grows is followed.

Fitting. For fixed smoothing parameters the one-step errors are linear in the initial
states (level, trend and m seasonal states summing to zero), so those have a closed-form
least-squares optimum; the smoothing parameters are searched on a grid, every grid point at
once (as ``smoothing.py`` does for the non-seasonal models): the error paths of the initial
states do not depend on the data and are kept between fits, and the data's errors are the
history convolved with each grid point's impulse response (``filters.causal_filter``).
The initial seasonal states are shrunk toward a prior pattern (flat, or a group's profile)
by a ridge term whose weight is the empirical-Bayes ratio of noise to seasonal variance
from ``seasonality.seasonal_profile``: a short or noisy history keeps the prior's shape.
Trend or no trend is chosen by AICc.

Because the error paths of a fit to ``y[:o]`` are the first ``o`` steps of the paths of
``y``, one convolution also gives honest refits at every backtest origin
(``backtest_forecasts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from forecasting._types import FloatArray
from forecasting.models.base import Model, ModelError
from forecasting.models.filters import Responses, causal_filter
from forecasting.seasonality import seasonal_profile

__all__ = ["SeasonalETS"]

# The smoothing-parameter grid: 6 x 3 x 3 = 54 points. A finer grid (7 alphas, 4 gammas, 4
# trends: 140 points) fitted no better inside the combination on M3 and M1 (bench/) and took
# 2.5 times as long; fewer trend choices also leave AICc less to overfit on short histories.
_ALPHAS = np.array([0.05, 0.1, 0.2, 0.35, 0.55, 0.8])
_GAMMAS = np.array([0.001, 0.05, 0.15])
_TRENDS = ((0.02, 0.98), (0.1, 0.9))  # (beta as a share of alpha, phi)


def _grid() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    rows = []
    for a in _ALPHAS:
        for g in _GAMMAS:
            if g > 1 - a:
                continue
            rows.append((a, 0.0, 1.0, g))
            for bs, p in _TRENDS:
                rows.append((a, a * bs, p, g))
    arr = np.array(rows)
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]


_GRID = _grid()


def _paths(z: FloatArray, m: int, grid: tuple[FloatArray, ...]) -> FloatArray:
    """One-step errors of the data path and of the unit initial-state paths, per grid point.

    Computed paths: 0 = the data with zero initial states; 1 = unit initial level; 2 = unit
    initial trend; 3 = unit initial seasonal state of position 0. The system is linear and
    time-invariant, so the path of a unit seasonal state of position j is path 3 delayed by
    j steps. Returns the errors, shape (4, grid, n).
    """
    a, b, p, g = grid
    n = z.size
    lev = np.zeros((4, a.size))
    lev[1] = 1.0
    tr = np.zeros((4, a.size))
    tr[2] = 1.0
    seas = np.zeros((4, a.size, m))
    seas[3, :, 0] = 1.0
    err = np.empty((4, a.size, n))
    ptr = p * tr
    for t in range(n):
        pos = t % m
        base = lev + ptr
        e = -(base + seas[:, :, pos])
        e[0] += z[t]
        err[:, :, t] = e
        lev = base + a * e
        tr = ptr + b * e
        ptr = p * tr
        seas[:, :, pos] += g * e
    return err


def _basis(err: FloatArray, m: int) -> FloatArray:
    """Error paths of the free initial states: level, trend, then s_j - s_{m-1} (j < m-1).

    ``err`` is (4, G, n) from :func:`_paths`; returns (G, m + 1, n).
    """
    g, n = err.shape[1], err.shape[2]
    seas = np.zeros((m, g, n))
    for j in range(m):
        seas[j, :, j:] = err[3, :, : n - j] if j else err[3]
    out = np.empty((g, m + 1, n))
    out[:, 0] = err[1]
    out[:, 1] = err[2]
    out[:, 2:] = (seas[: m - 1] - seas[m - 1]).transpose(1, 0, 2)
    return out


def _responses(m: int, n: int) -> tuple[FloatArray, FloatArray]:
    """The grid's impulse response of the errors to the data (G, n) and the error paths of
    the free initial states (:func:`_basis`, (G, m + 1, n)); neither depends on the data."""
    err = _paths(np.zeros(n), m, _GRID)
    a, b, _, g = _GRID
    # a unit month at s: error 1, then the path from level alpha, trend beta and the seasonal
    # state of its position gamma (first used m steps later: path 3 delayed by m)
    kernel = np.zeros((a.size, n))
    kernel[:, 0] = 1.0
    kernel[:, 1:] = a[:, None] * err[1, :, :-1] + b[:, None] * err[2, :, :-1]
    kernel[:, m:] += g[:, None] * err[3, :, : n - m]
    return kernel, _basis(err, m)


_RESPONSES: dict[int, Responses] = {}


def _responses_for(m: int) -> Responses:
    if m not in _RESPONSES:
        _RESPONSES[m] = Responses(lambda n: _responses(m, n))
    return _RESPONSES[m]


_GRAMS: dict[tuple[int, int], FloatArray] = {}


def _gram(m: int, basis: FloatArray) -> FloatArray:
    """A copy of ``basis @ basis.T`` per grid point; the latest few are kept, since they depend
    only on the history's length (items of one workbook share their calendar)."""
    key = (m, basis.shape[2])
    gram = _GRAMS.get(key)
    if gram is None:
        gram = basis @ basis.transpose(0, 2, 1)
        if len(_GRAMS) >= 64:
            _GRAMS.pop(next(iter(_GRAMS)))
        _GRAMS[key] = gram
    return gram.copy()


@dataclass(frozen=True)
class _Fit:
    """One origin's fitted parameters and final states."""

    alpha: float
    beta: float
    phi: float
    gamma: float
    level: float
    trend: float
    season: FloatArray
    n: int
    sigma2: float
    trend_used: bool
    init: FloatArray


class SeasonalETS(Model):
    """Damped Holt-Winters with an evolving seasonal state, multiplicative on positive data.

    ``prior``: seasonal indices by position ``t % m`` of the history to shrink toward (a
    group's profile); None shrinks toward no season.
    """

    name: ClassVar[str] = "seasonal_ets"
    label: ClassVar[str] = "seasonal exponential smoothing"
    min_obs: ClassVar[int] = 4
    params_: _Fit

    def __init__(self, season_length: int = 12, *, prior: FloatArray | None = None) -> None:
        super().__init__(season_length)
        self.prior = prior

    # -- fitting -------------------------------------------------------------------------
    def _fit(self, y: FloatArray) -> None:
        self._fit_at(y, [y.size])
        self._use(y.size)
        self.last_ = y[-self.season_length :]

    def _fit_at(self, y: FloatArray, origins: list[int]) -> None:
        m = self.season_length
        if m < 2:
            raise ModelError(f"{self.label} needs a season of at least 2 months")
        if y.size < m + 4:
            raise ModelError(f"{self.label} needs at least {m + 4} months, got {y.size}")
        self.log_ = bool(y.min() > 0)
        z = np.log(y) if self.log_ else y.astype(float)
        if self.prior is None:
            prior = np.zeros(m)
        else:
            prior = np.log(self.prior) if self.log_ else np.asarray(self.prior, float)
        prior = prior - prior.mean()
        last = max(origins)
        kernel, basis = _responses_for(m).get(last)
        e0 = causal_filter(kernel, z[:last])
        self.fits_: dict[int, _Fit] = {}
        for o in origins:
            prof = seasonal_profile(y[:o], m, prior=self.prior)
            # ridge weight on the initial seasonal states: noise over seasonal variance per
            # detrended value (F = 1 + years * tau^2 / sigma^2), as in seasonal_profile
            if prof is None or not np.isfinite(prof.f_stat):
                share = 1e3 if prof is None else 0.0
            else:
                share = prof.years / max(prof.f_stat - 1.0, 1e-3)
            self.fits_[o] = self._solve(
                e0[:, :o], basis[:, :, :o], _gram(m, basis[:, :, :o]), z[:o], prior, share
            )

    def _solve(
        self,
        e0: FloatArray,
        basis: FloatArray,
        gram: FloatArray,
        z: FloatArray,
        prior: FloatArray,
        share: float,
    ) -> _Fit:
        """The best grid point for ``z``: ``e0`` are its errors from zero initial states,
        ``basis`` the error paths of the free initial states and ``gram`` their products,
        (G, n), (G, m + 1, n) and (G, m + 1, m + 1) (changed here)."""
        m = self.season_length
        n = z.size
        a, b, p, g = _GRID
        kk = basis.shape[1]
        rhs = -(basis @ e0[:, :, None])[:, :, 0]
        # ridge toward the prior on all m seasonal states (s_{m-1} = -sum of the others):
        # lam * sum_j (s_j - prior_j)^2, lam = noise / seasonal variance of one state
        lam = share
        gram[:, 2:, 2:] += lam * (np.eye(kk - 2) + 1.0)
        rhs[:, 2:] += lam * (prior[: m - 1] - prior[m - 1])
        notrend = b == 0
        gram[notrend, 1, :] = 0.0
        gram[notrend, :, 1] = 0.0
        gram[notrend, 1, 1] = 1.0
        rhs[notrend, 1] = 0.0
        gram += 1e-10 * (float(np.var(z)) + 1e-12) * np.eye(kk)
        try:
            theta = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError as exc:
            raise ModelError(f"{self.label} could not be fitted ({exc})") from exc
        res = e0 + (theta[:, None, :] @ basis)[:, 0, :]
        sse = np.einsum("gt,gt->g", res, res)
        sse = np.where(np.isfinite(sse) & (sse > 0), sse, np.inf)
        # AICc over smoothing parameters and initial states (trend models: beta, phi, b0)
        k = 2 + (m - 1) + 1 + np.where(notrend, 0, 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            aicc = (
                n * np.log(sse / n)
                + 2 * k
                + np.where(n - k - 1 > 0, 2 * k * (k + 1) / np.maximum(n - k - 1, 1), np.inf)
            )
        aicc = np.where(np.isfinite(aicc), aicc, np.inf)
        if not np.any(np.isfinite(aicc)):
            aicc = sse  # too short for AICc: least squares alone
        i = int(np.argmin(aicc))
        if not np.isfinite(aicc[i]):
            raise ModelError(f"{self.label} found no stable fit")
        th = theta[i]
        # final states: the recursion from the fitted initial states
        ai, bi, pi, gi = float(a[i]), float(b[i]), float(p[i]), float(g[i])
        level, trend = float(th[0]), float(th[1])
        season = np.r_[th[2:], -th[2:].sum()].tolist()  # the m initial seasonal states
        for t, v in enumerate(z.tolist()):
            pos = t % m
            base = level + pi * trend
            e = v - base - season[pos]
            level = base + ai * e
            trend = pi * trend + bi * e
            season[pos] += gi * e
        return _Fit(
            alpha=float(a[i]),
            beta=float(b[i]),
            phi=float(p[i]),
            gamma=float(g[i]),
            level=float(level),
            trend=float(trend),
            season=np.asarray(season, float),
            n=int(n),
            sigma2=float(sse[i] / n),
            trend_used=bool(b[i] > 0),
            init=th,
        )

    def _use(self, origin: int) -> None:
        fit = self.fits_[origin]
        self.params_ = fit
        kind = "multiplicative" if self.log_ else "additive"
        trend = "damped trend" if fit.trend_used else "no trend"
        self.description_ = f"{self.label} ({kind} season, {trend})"

    # -- forecasting ---------------------------------------------------------------------
    def _weights(self, fit: _Fit, h: int) -> FloatArray:
        phi = fit.phi
        a, b, g = fit.alpha, fit.beta, fit.gamma
        j = np.arange(1, h)
        if fit.trend_used:
            cj = a + b * phi * (1 - phi**j) / (1 - phi) if phi != 1 else a + b * j
        else:
            cj = np.full(j.size, a)
        return cj + g * (j % self.season_length == 0)

    def _path(self, fit: _Fit, h: int) -> FloatArray:
        m = self.season_length
        phi, level, trend = fit.phi, fit.level, fit.trend
        season = fit.season
        n = fit.n
        steps = np.arange(1, h + 1)
        damp = np.cumsum(phi**steps) if fit.trend_used else np.zeros(h)
        return level + damp * trend + season[(n + steps - 1) % m]

    def _predict(self, h: int) -> FloatArray:
        mean = self._path(self.params_, h)
        return np.exp(mean) if self.log_ else mean

    def error_weights(self, h: int) -> FloatArray | None:
        """c_j = alpha + beta phi (1 - phi^j) / (1 - phi) + gamma [j divisible by m] (class 1
        models, Hyndman et al. 2008, ch. 6), j = 1..h-1."""
        return self._weights(self.params_, h)

    def one_step_sd(self) -> tuple[float, float] | None:
        """In-sample one-step spread on the data's scale, with n minus the fitted parameters
        as its degrees of freedom. On the log scale the error is relative: it is carried to
        the data's scale at the level of the latest season."""
        fit = self.params_
        n = fit.n
        k = 2 + self.season_length + (3 if fit.trend_used else 0)
        if n - k <= 0:
            return None
        sd = float(np.sqrt(fit.sigma2 * n / (n - k)))
        return (sd * float(np.mean(self.last_)) if self.log_ else sd), float(n - k)

    def backtest_forecasts(self, y: FloatArray, origins: list[int], h: int) -> list[FloatArray]:
        """Refits at every origin from one pass over ``y`` (see the module docstring)."""
        self._fit_at(y, origins)
        out = []
        for o in origins:
            mean = self._path(self.fits_[o], h)
            out.append(np.exp(mean) if self.log_ else mean)
        return out
