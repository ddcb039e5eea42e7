"""One item from cleaned history to forecast: the ``auto`` rules and explicit methods.

``auto`` (issue 3, item 2), in order:

1. no usable history: forecast 0;
2. dead item: no demand in the last ``dead_months`` months, a gap longer than any
   earlier one: forecast 0;
3. new item (fewer than ``new_months`` months): the like item's profile scaled to this
   item's level when a like item is named, else a moving average;
4. intermittent (ADI >= 1.32, Syntetos-Boylan): Croston-SBA or TSB, whichever has the
   lower backtest RMSSE;
5. otherwise: the mean of ``AUTO_MEMBERS`` (damped Holt, dynamic optimised Theta and
   complex exponential smoothing), each on seasonally adjusted data when the lag-m test
   finds seasonality; the combination's rolling-origin backtest gives the item's MASE,
   bias and interval widths.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from forecasting._types import FloatArray, Intervals
from forecasting.backtest import Backtest, backtest_origins, interval_bounds, run_backtest
from forecasting.models import MODELS, Combination, Model, ModelError
from forecasting.models.base import AdjustedModel
from forecasting.models.naive import Manual, MovingAverage, Naive, SeasonalNaive, Zero
from forecasting.models.seasonal_ets import SeasonalETS
from forecasting.seasonality import seasonal_profile

__all__ = ["ItemResult", "ItemSpec", "forecast_item"]

_ADI_CUT = 1.32
_CV2_CUT = 0.49


@dataclass
class ItemSpec:
    """Everything one item's forecast needs besides its history (picklable).

    ``prior`` is a group's seasonal profile by position ``t % m`` of the history as fitted
    (the engine sets it from ``calendar_prior``, the profile by calendar month, once it knows
    where the history starts); ``prior_name`` says whose it is in reasons. ``keep`` marks
    months never to correct as outliers; ``start`` is the first month
    (``year * 12 + month - 1``), to name months in reasons.
    """

    h: int
    method: str = "auto"
    season_length: int = 12
    levels: tuple[int, ...] = (80, 95)
    dead_months: int = 6
    new_months: int = 12
    backtest_windows: int = 2
    manual: FloatArray | None = None
    like: FloatArray | None = None
    like_name: str = ""
    prior: FloatArray | None = None
    prior_name: str = ""
    keep: np.ndarray | None = None
    start: int | None = None
    calendar_prior: FloatArray | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ItemResult:
    """One item's forecast, intervals and the story of how it was made."""

    forecast: FloatArray
    intervals: Intervals
    method: str
    reason: str
    fallback: str = ""
    backtest_mase: float = float("nan")
    backtest_bias: float = float("nan")
    snaive_mase: float = float("nan")
    flag: str = ""


def _bt_horizon(spec: ItemSpec) -> int:
    return max(1, min(spec.h, spec.season_length if spec.season_length >= 2 else 6))


def _backtest(
    make: Callable[[], Model], y: FloatArray, spec: ItemSpec, min_obs: int
) -> Backtest | None:
    hb = _bt_horizon(spec)
    min_train = max(min_obs, 2 * hb, 6)
    origins = backtest_origins(y.size, hb, spec.backtest_windows, max(1, hb // 2), min_train)
    return run_backtest(make, y, hb, origins)


def _finish(
    model: Model,
    name: str,
    y: FloatArray,
    spec: ItemSpec,
    reason: str,
    bt: Backtest | None,
    fallback: str = "",
    *,
    backtested: bool = True,
    make: Callable[[], Model] | None = None,
) -> ItemResult:
    mean = model.predict(spec.h)
    iv = model.predict_intervals(spec.h, spec.levels)
    if bt is None and backtested:
        bt = _backtest(make or (lambda: _clone(model)), y, spec, model.min_obs)
    if iv is None:
        err = None if bt is None else bt.actuals - bt.forecasts
        iv = interval_bounds(
            mean,
            spec.levels,
            errors=err,
            history=y,
            psi=model.error_weights(max(spec.h, _bt_horizon(spec))),
            sd1=model.one_step_sd(),
        )
    res = ItemResult(mean, iv, name, reason, fallback)
    if bt is not None:
        m = spec.season_length
        res.backtest_mase = bt.mase(m)
        res.backtest_bias = bt.bias(m)
        naive = (
            run_backtest(lambda: SeasonalNaive(m), y, bt.horizon, bt.origins) if m >= 2 else None
        )
        if naive is not None:
            res.snaive_mase = naive.mase(m)
        res.flag = forecastability(res.backtest_mase, res.snaive_mase)
    return res


HARD_MASE = 1.5
"""Backtest MASE above which an item is flagged as hard to forecast."""


def forecastability(mase: float, snaive_mase: float) -> str:
    """A warning for an item whose backtest says the forecast deserves a look, else "".

    Flagged: a backtest MASE above ``HARD_MASE`` (errors half again as large as a seasonal
    naive forecast's in the history), or one at least 10% worse than seasonal naive's on
    the same backtest windows (and above 1).
    """
    if not np.isfinite(mase):
        return ""
    if mase > HARD_MASE:
        return (
            f"hard to forecast (backtest MASE {mase:.2f}): check the history for one-off "
            "months and gaps, use a family seasonal profile, or forecast it by hand (Method "
            "manual or an Override)"
        )
    if np.isfinite(snaive_mase) and mase > 1.0 and mase > 1.1 * snaive_mase:
        return (
            f"seasonal naive did better in backtest (MASE {snaive_mase:.2f} against "
            f"{mase:.2f}): check the history, or set Method to seasonal_naive"
        )
    return ""


def _model(name: str, spec: ItemSpec) -> Model:
    """A fresh model for ``name`` with the item's season: the numpy smoothers adjust by the
    item's seasonal profile, shrunk toward its group's (``spec.prior``) or toward none."""
    cls = MODELS[name]
    m = spec.season_length
    if name == "manual":
        return Manual(m, spec.manual)
    if issubclass(cls, AdjustedModel):
        return cls(m, seasonal=True, prior=spec.prior)
    if cls is SeasonalETS:
        return SeasonalETS(m, prior=spec.prior)
    return cls(m)


def _clone(model: Model) -> Model:
    if isinstance(model, Combination):
        return Combination([_clone(m) for m in model.members], model.season_length)
    if isinstance(model, Manual):
        return Manual(model.season_length, model.values)
    return type(model)(model.season_length)


def _safe_fallback(y: FloatArray, spec: ItemSpec) -> tuple[Model, str]:
    m = spec.season_length
    model: Model = (
        SeasonalNaive(m)
        if m >= 2 and y.size >= 2 * m
        else (MovingAverage(m) if y.size >= 3 else Naive(m))
    )
    model.fit(y)
    return model, model.name


def _fallback(
    y: FloatArray, spec: ItemSpec, failed: str, exc: Exception, reason: str
) -> ItemResult:
    model, name = _safe_fallback(y, spec)
    text = f"{failed} failed ({exc}); used {model.label} instead"
    return _finish(model, name, y, spec, reason, None, text)


def _explicit(y: FloatArray, spec: ItemSpec) -> ItemResult:
    name = spec.method
    if name == "like_item":
        res = _like_item(y, spec) if y.size else None
        if res is not None:
            return res
        model, fb = _safe_fallback(y, spec) if y.size else (Zero(spec.season_length).fit(y), "zero")
        return _finish(
            model,
            fb,
            y,
            spec,
            "method set to like_item for this item",
            None,
            f"no like item with enough history; used {model.label} instead",
            backtested=fb != "zero",
        )
    model = _model(name, spec)
    reason = f"method set to {name} for this item"
    if name == "manual":
        reason = "manual: the planner's numbers"
    if y.size == 0 and name not in ("manual", "zero"):
        return _finish(
            Zero(spec.season_length).fit(y),
            "zero",
            y,
            spec,
            "no history: forecast 0",
            None,
            f"{name} needs history; used zero instead",
            backtested=False,
        )
    try:
        model.fit(y)
        model.predict(spec.h)
    except (ModelError, ValueError, np.linalg.LinAlgError) as exc:
        return _fallback(y, spec, model.label, exc, reason)
    return _finish(
        model,
        name,
        y,
        spec,
        reason,
        None,
        backtested=name not in ("manual", "zero"),
        make=lambda: _model(name, spec),
    )


def _trailing_zeros(y: FloatArray) -> tuple[int, int]:
    """(zeros at the end, longest run of zeros before them)."""
    nz = np.flatnonzero(y != 0)
    if nz.size == 0:
        return y.size, 0
    tail = y.size - 1 - int(nz[-1])
    gaps = np.diff(nz) - 1 if nz.size > 1 else np.zeros(1, dtype=int)
    return tail, int(max(gaps.max(), nz[0]))


def _like_item(y: FloatArray, spec: ItemSpec) -> ItemResult | None:
    like = spec.like
    if like is None or like.size < y.size + spec.season_length or np.nanmean(like) <= 0:
        return None
    base = auto_regular(like, ItemSpec(**{**spec.__dict__, "prior": None, "notes": []}))
    recent = like[-y.size :]
    level = float(np.mean(y)) / float(np.mean(recent)) if np.mean(recent) > 0 else 0.0
    mean = base.forecast * level
    iv = {lv: (lo * level, hi * level) for lv, (lo, hi) in base.intervals.items()}
    reason = (
        f"new item: {y.size} months of history; profile of like item {spec.like_name} "
        f"scaled by {level:.2f}"
    )
    return ItemResult(mean, iv, "like_item", reason)


AUTO_MEMBERS: tuple[str, ...] = ("damped_holt", "dynamic_theta", "ces", "seasonal_ets")
"""The models ``auto`` combines for regular demand: four families whose errors differ. Damped
Holt, dynamic optimised Theta and complex exponential smoothing run on data adjusted by the
item's seasonal profile (a fixed pattern, shrunk by its credibility); seasonal exponential
smoothing carries a season that moves. Chosen on M3 and M1 monthly, in full and cut to 24, 36
and 48 months (bench/forecast_bench.py): the mean beat each member and AutoETS on every row."""


def _and(parts: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def season_text(y: FloatArray, spec: ItemSpec) -> str:
    """How the item's season was found, in a planner's words."""
    m = spec.season_length
    if m < 2:
        return "no season"
    prof = seasonal_profile(y, m, prior=spec.prior)
    if prof is None:
        if spec.prior is not None:
            return f"seasonal profile of {spec.prior_name}"
        return f"too short to find a season ({y.size} months; {2 * m} needed)"
    w = prof.weight
    if spec.prior is not None:
        if w >= 0.995:
            return f"seasonal: own pattern ({prof.years:.0f} years), not that of {spec.prior_name}"
        if w <= 0.005:
            return f"seasonal profile of {spec.prior_name}"
        return f"seasonal: {w:.0%} own pattern, {1 - w:.0%} that of {spec.prior_name}"
    if w >= 0.5:
        return f"seasonal: own pattern, weight {w:.2f}"
    if w > 0:
        return f"weakly seasonal: own pattern at weight {w:.2f}"
    return "no seasonality found"


def auto_regular(y: FloatArray, spec: ItemSpec, prefix: str = "") -> ItemResult:
    """The ``AUTO_MEMBERS`` combined, backtested; each member takes the item's season."""
    m = spec.season_length
    fits: dict[str, Model] = {}
    tests: dict[str, Backtest | None] = {}
    makers: dict[str, Callable[[], Model]] = {}
    failed: list[str] = []
    for name in AUTO_MEMBERS:
        if name == "seasonal_ets" and y.size < m + 4:
            continue  # a season and four months at least: below that the other three suffice

        def make(name: str = name) -> Model:
            return _model(name, spec)

        try:
            model = make().fit(y)
            model.predict(spec.h)
        except (ModelError, ValueError, np.linalg.LinAlgError) as exc:
            failed.append(f"{MODELS[name].label} failed ({exc})")
            continue
        fits[name], makers[name] = model, make
        tests[name] = _backtest(make, y, spec, MODELS[name].min_obs)
    reason = f"{prefix}{season_text(y, spec)}"
    if not fits:
        model, name = _safe_fallback(y, spec)
        return _finish(
            model,
            name,
            y,
            spec,
            f"{reason}, {model.label}",
            None,
            "; ".join(failed) + f"; used {model.label} instead",
        )
    fallback = ("; ".join(failed) + "; combined the others") if failed else ""
    if len(fits) == 1:
        name, model = next(iter(fits.items()))
        return _finish(
            model,
            name,
            y,
            spec,
            f"{reason}, {model.label}",
            tests[name],
            fallback,
            make=makers[name],
        )
    combo = Combination(list(fits.values()), m)
    bts = [b for b in tests.values() if b is not None]
    bt = None
    if len(bts) == len(fits):
        bt = Backtest(
            bts[0].origins,
            bts[0].horizon,
            np.mean([b.forecasts for b in bts], axis=0),
            bts[0].actuals,
            bts[0].scale_inputs,
        )
    text = f"{reason}; mean of {_and([m_.label for m_ in fits.values()])}"
    return _finish(combo, "+".join(fits), y, spec, text, bt, fallback, backtested=False)


def _auto(y: FloatArray, spec: ItemSpec) -> ItemResult:
    n = y.size
    zero = Zero(spec.season_length).fit(y)
    if n == 0:
        return _finish(zero, "zero", y, spec, "no history: forecast 0", None, backtested=False)
    if np.all(y == 0):
        return _finish(
            zero,
            "zero",
            y,
            spec,
            f"no demand in {n} months of history: forecast 0",
            None,
            backtested=False,
        )
    tail, longest = _trailing_zeros(y)
    if tail >= spec.dead_months and tail > longest:
        return _finish(
            zero,
            "zero",
            y,
            spec,
            f"dead: no demand in the last {tail} months: forecast 0",
            None,
            backtested=False,
        )
    if n < spec.new_months:
        res = _like_item(y, spec)
        if res is not None:
            return res
        ma = MovingAverage(spec.season_length, prior=spec.prior).fit(y)
        season = (
            f" with the seasonal profile of {spec.prior_name}" if spec.prior is not None else ""
        )
        return _finish(
            ma,
            "moving_average",
            y,
            spec,
            f"new item: {n} months of history, {ma.description_}{season}",
            None,
            make=lambda: MovingAverage(spec.season_length, prior=spec.prior),
        )
    nonzero = y[y != 0]
    adi = n / nonzero.size
    if adi >= _ADI_CUT:
        cv2 = float((np.std(nonzero) / np.mean(nonzero)) ** 2) if np.mean(nonzero) > 0 else 0.0
        kind = "lumpy" if cv2 >= _CV2_CUT else "intermittent"
        zeros = 100 * (1 - nonzero.size / n)
        best: tuple[float, str, Model, Backtest | None] | None = None
        for cls in (MODELS["tsb"], MODELS["croston_sba"]):
            model = cls(spec.season_length).fit(y)
            bt = _backtest(functools.partial(cls, spec.season_length), y, spec, 1)
            score = bt.rmsse(spec.season_length) if bt is not None else 0.0
            score = score if np.isfinite(score) else 0.0
            if best is None or score < best[0]:
                best = (score, cls.name, model, bt)
        assert best is not None
        reason = f"{kind}: {zeros:.0f}% zero months (ADI {adi:.1f}, CV² {cv2:.2f}), {best[2].label}"
        return _finish(best[2], best[1], y, spec, reason, best[3])
    return auto_regular(y, spec)


def forecast_item(y: FloatArray, spec: ItemSpec) -> ItemResult:
    """Forecast one cleaned history (no NaN) ``spec.h`` months ahead; never raises ModelError."""
    y = np.asarray(y, dtype=float)
    if spec.method == "auto":
        try:
            res = _auto(y, spec)
        except (ModelError, ValueError, np.linalg.LinAlgError) as exc:
            res = _fallback(y, spec, "auto", exc, "auto")
    else:
        res = _explicit(y, spec)
    return _tidy(res, spec)


def _tidy(res: ItemResult, spec: ItemSpec) -> ItemResult:
    """Non-negative, finite, nested intervals (lo_95 <= lo_80 <= forecast <= hi_80 <= hi_95)."""
    f = np.maximum(np.nan_to_num(res.forecast, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    lows, highs = f.copy(), f.copy()
    out: Intervals = {}
    for lv in sorted(spec.levels):
        lo, hi = res.intervals.get(lv, (f, f))
        lo = np.minimum(np.nan_to_num(lo, nan=0.0), lows)
        hi = np.maximum(np.nan_to_num(hi, nan=0.0, posinf=0.0), highs)
        lo, hi = np.clip(lo, 0.0, f), np.maximum(hi, f)
        out[lv] = (lo, hi)
        lows, highs = lo, hi
    res.forecast, res.intervals = f, out
    if spec.notes:
        res.reason = res.reason + "; " + "; ".join(spec.notes)
    return res
