"""S&OE drift a planner can trust: phasing, run-rate, noise-aware drift and bias signals.

The month-to-date (MTD) plan is the month's plan times the share of the month's demand that the
calendar and the item's day-of-week profile say should have arrived by now. Drift is judged
against the noise the item's own forecast error predicts, so a noisy item is not flagged for a
wobble that a steady item would be flagged for.

Noise model (documented once, used by :func:`drift_table` and :mod:`sop_excel.core.sensing`):

* The month's forecast error has variance ``sigma_month**2`` (the item's RMSE of past monthly
  forecasts, in units). Part of it is day-to-day (Poisson-like) noise of the orders themselves,
  ``P = dispersion * month_plan``; the rest is a *level* error ``L = max(sigma_month**2 - P, 0)``
  (the month's rate was simply different from the plan).
* By share ``s`` of the month, day-to-day noise has accumulated ``P * s`` (it adds up like a
  random walk, the "sqrt(share)" scaling of a standard deviation) while a level error has grown
  in proportion to the elapsed demand, ``L * s**2``. So ``sigma_mtd = sqrt(L s**2 + P s)``.
  Scaling the whole ``sigma_month`` by ``sqrt(s)`` would overstate the noise of a level error
  early in the month by ``1/sqrt(s)`` and miss early drift.
* ``z = (mtd_actual - mtd_plan) / sigma_mtd``; beyond noise when ``|z| >= z_threshold``
  (default 2.5: about 12 false alarms per 1,000 on-plan items per look; 3 gives about 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import betainc, gammainc, gammaincc, ndtri  # scipy.stats: 1 s to import

__all__ = [
    "ALL_ITEMS",
    "DAYS",
    "WorkCalendar",
    "bias_alerts",
    "dow_profile",
    "drift_table",
    "drift_z",
    "forecast_error_sigma",
    "mtd_share",
    "noise_sigma",
    "phase_plan",
    "run_rate",
    "tracking_signal",
]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_ITEMS = "*"  # the profile row used for items without a history of their own

DateLike: TypeAlias = dt.date | pd.Timestamp | str


class WorkCalendar:
    """Working days: Monday to Friday (or ``weekmask``) minus holidays.

    Args:
        holidays: days off that fall on working weekdays (others are ignored).
        weekmask: seven 0/1 characters, Monday first.

    >>> cal = WorkCalendar(holidays=[dt.date(2026, 12, 25)])
    >>> cal.working_days(dt.date(2026, 12, 1)), cal.elapsed(dt.date(2026, 12, 1), dt.date(2026, 12, 4))
    (22, 4)
    """

    def __init__(self, holidays: Iterable[DateLike] = (), weekmask: str = "1111100") -> None:
        self.holidays = frozenset(pd.Timestamp(h).date() for h in holidays)
        self.weekmask = weekmask
        self._cal = np.busdaycalendar(
            weekmask=weekmask, holidays=np.array(sorted(self.holidays), dtype="datetime64[D]")
        )

    def __repr__(self) -> str:
        return f"WorkCalendar(holidays={len(self.holidays)} days, weekmask={self.weekmask!r})"

    @property
    def week(self) -> np.ndarray:
        """The working week as weights per weekday (Monday first), summing to 1."""
        w = np.array([float(c) for c in self.weekmask])
        return w / w.sum()

    def is_working(self, day: DateLike) -> bool:
        """Whether ``day`` is a working day."""
        return bool(np.is_busday(np.datetime64(pd.Timestamp(day).date(), "D"), busdaycal=self._cal))

    def working_days(self, month: DateLike) -> int:
        """Working days in the month of ``month``."""
        start, end = month_days(month)
        return int(np.busday_count(start, end + np.timedelta64(1, "D"), busdaycal=self._cal))

    def elapsed(self, month: DateLike, through: DateLike) -> int:
        """Working days of the month from its 1st through ``through`` inclusive (0 before, all after)."""
        start, end = month_days(month)
        upto = min(np.datetime64(pd.Timestamp(through).date(), "D"), end)
        if upto < start:
            return 0
        return int(np.busday_count(start, upto + np.timedelta64(1, "D"), busdaycal=self._cal))

    def share(self, month: DateLike, through: DateLike) -> float:
        """Elapsed working days over working days in the month."""
        total = self.working_days(month)
        return self.elapsed(month, through) / total if total else 0.0

    def weekday_counts(self, month: DateLike, through: DateLike | None = None) -> np.ndarray:
        """Days of each weekday (Monday first) in the month through ``through``, holidays excluded.

        Weekends are counted: whether they carry demand is the day-of-week profile's business.
        """
        start, end = month_days(month)
        if through is not None:
            end = min(end, np.datetime64(pd.Timestamp(through).date(), "D"))
        if end < start:
            return np.zeros(7)
        days = np.arange(start, end + np.timedelta64(1, "D"))
        days = days[~np.isin(days, np.array(sorted(self.holidays), dtype="datetime64[D]"))]
        return np.bincount(_weekday(days), minlength=7).astype(float)


def month_days(month: DateLike) -> tuple[np.datetime64, np.datetime64]:
    """The first and last day of the month holding ``month``, as numpy days."""
    start = pd.Timestamp(month).to_period("M").start_time
    end = start + pd.offsets.MonthEnd(0)
    return np.datetime64(start.date(), "D"), np.datetime64(end.date(), "D")


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 for datetime64[D] values (1970-01-01 was a Thursday)."""
    return ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.int64)


def dow_profile(
    daily: pd.DataFrame,
    *,
    calendar: WorkCalendar | None = None,
    prior_orders: float = 100.0,
    prior_weeks: float = 0.5,
) -> pd.DataFrame:
    """Share of a week's orders that falls on each weekday, per item, learned from daily actuals.

    Each weekday's mean orders per occurrence in the history window (so four Mondays and five
    Tuesdays do not bias it; holidays are left out) is normalised to shares. Thin data are shrunk:
    the all-items profile toward the calendar's working week, each item toward the all-items
    profile, with weight ``N / (N + prior_orders) * W / (W + prior_weeks)`` for N orders over W
    weeks of history.

    Args:
        daily: ``date, item, orders`` (missing days count as zero orders).
        calendar: its holidays are left out and its working week is the prior.
        prior_orders, prior_weeks: how much data it takes to trust a profile halfway.

    Returns:
        Index item (plus the row ``ALL_ITEMS`` = ``"*"``), columns ``Mon..Sun``; rows sum to 1.
    """
    calendar = calendar or WorkCalendar()
    prior = calendar.week
    d = daily[["date", "item", "orders"]].copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    if calendar.holidays:
        d = d[~d["date"].dt.date.isin(calendar.holidays)]
    if d.empty:
        return pd.DataFrame([prior], index=pd.Index([ALL_ITEMS], name="item"), columns=list(DAYS))
    days = np.arange(
        np.datetime64(d["date"].min().date(), "D"), np.datetime64(d["date"].max().date(), "D") + 1
    )
    days = days[~np.isin(days, np.array(sorted(calendar.holidays), dtype="datetime64[D]"))]
    occurrences = np.bincount(_weekday(days), minlength=7).astype(float)
    weeks = len(days) / 7.0
    d["dow"] = d["date"].dt.day_of_week
    sums = d.pivot_table(
        index="item", columns="dow", values="orders", aggfunc="sum", fill_value=0.0
    )
    sums_index = sums.index
    sums = sums.reindex(columns=range(7), fill_value=0.0).to_numpy(dtype=float)
    items = pd.Index(sums_index)
    everyone = _shrunk(
        sums.sum(axis=0, keepdims=True),
        occurrences,
        weeks,
        prior[None, :],
        prior_orders,
        prior_weeks,
    )
    each = _shrunk(sums, occurrences, weeks, everyone, prior_orders, prior_weeks)
    out = pd.DataFrame(
        np.vstack([each, everyone]),
        columns=list(DAYS),
        index=pd.Index([*items.astype(str), ALL_ITEMS], name="item"),
    )
    return out


def _shrunk(
    sums: np.ndarray,
    occurrences: np.ndarray,
    weeks: float,
    toward: np.ndarray,
    prior_orders: float,
    prior_weeks: float,
) -> np.ndarray:
    rate = np.divide(sums, occurrences, out=np.zeros_like(sums), where=occurrences > 0)
    total = rate.sum(axis=1, keepdims=True)
    raw = np.divide(rate, total, out=np.zeros_like(rate), where=total > 0)
    n = sums.sum(axis=1, keepdims=True)
    w = n / (n + prior_orders) * (weeks / (weeks + prior_weeks))
    return w * raw + (1 - w) * toward


def _profile_matrix(
    items: pd.Index, calendar: WorkCalendar, profile: pd.DataFrame | None
) -> np.ndarray:
    if profile is None:
        return np.tile(calendar.week, (len(items), 1))
    fallback = (
        profile.loc[ALL_ITEMS, list(DAYS)].to_numpy(dtype=float)
        if ALL_ITEMS in profile.index
        else calendar.week
    )
    m = profile.reindex(items)[list(DAYS)].to_numpy(dtype=float, copy=True)
    missing = np.isnan(m).any(axis=1)
    m[missing] = fallback
    return m


def mtd_share(
    items: Iterable[str],
    month: DateLike,
    through: DateLike,
    calendar: WorkCalendar | None = None,
    profile: pd.DataFrame | None = None,
) -> pd.Series:
    """Share of each item's month demand expected by the end of ``through``.

    Without a profile this is working days elapsed over working days in the month. With one, each
    day weighs its weekday's share (holidays weigh nothing), so a Monday-heavy item has more of
    its month behind it after the first Monday.
    """
    calendar = calendar or WorkCalendar()
    # an Index as it is: list() of a pyarrow-backed index makes a Python string per item, each call
    items = (
        items.rename("item") if isinstance(items, pd.Index) else pd.Index(list(items), name="item")
    )
    m = _profile_matrix(items, calendar, profile)
    return pd.Series(shares(m, month, through, calendar), index=items, name="share")


def shares(
    matrix: np.ndarray, month: DateLike, through: DateLike, calendar: WorkCalendar
) -> np.ndarray:
    """:func:`mtd_share`'s values from the items' profile matrix (:func:`profile_matrix`), for
    a caller that asks for many days of the same items (the 13 weeks: a matrix made once)."""
    done = matrix @ calendar.weekday_counts(month, through)
    total = matrix @ calendar.weekday_counts(month)
    share = np.divide(done, total, out=np.zeros_like(done), where=total > 0)
    return np.clip(share, 0.0, 1.0)


def profile_matrix(
    items: pd.Index, calendar: WorkCalendar | None = None, profile: pd.DataFrame | None = None
) -> np.ndarray:
    """Each item's day-of-week weights (Monday first), as :func:`mtd_share` phases with them."""
    return _profile_matrix(items.rename("item"), calendar or WorkCalendar(), profile)


def phase_plan(
    month_plan: pd.Series,
    month: DateLike,
    through: DateLike,
    calendar: WorkCalendar | None = None,
    profile: pd.DataFrame | None = None,
) -> pd.Series:
    """The plan's month-to-date quantity per item: ``month_plan * mtd_share``.

    Args:
        month_plan: the month's plan, index item.
        month: any day of the month; through: the last day the actuals cover.
        calendar: working days (default Monday-Friday, no holidays).
        profile: from :func:`dow_profile`; ``None`` phases by working days only.
    """
    share = mtd_share(month_plan.index, month, through, calendar, profile)
    return (month_plan.astype(float) * share.to_numpy()).rename("mtd_plan")


def run_rate(
    mtd_actual: ArrayLike, share: ArrayLike, *, dispersion: float = 1.0, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projection to month end at the month-to-date pace, with an interval.

    The projection is ``A / s`` for MTD actual ``A`` at share ``s``. Its uncertainty combines the
    rest of the month's own day-to-day noise and the error of the pace estimated from ``A``; with
    over-dispersed Poisson orders (variance ``dispersion`` x mean) both add up to
    ``Var = dispersion * lambda * (1 - s) / s``, with ``lambda = (A + 1) / s`` (one pseudo-order so
    a silent start still has an interval). Normal interval at ``level``; the low end never goes
    below what is already ordered.

    Returns:
        (projection, lo, hi) arrays; NaN where no part of the month has elapsed.
    """
    a = np.asarray(mtd_actual, dtype=float)
    s = np.broadcast_to(np.asarray(share, dtype=float), a.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        proj = np.where(s > 0, a / s, np.nan)
        var = np.where(s > 0, dispersion * (a + 1) / s * (1 - s) / s, np.nan)
    half = ndtri(0.5 + level / 2) * np.sqrt(np.clip(var, 0, None))
    return proj, np.maximum(proj - half, a), proj + half


def noise_sigma(
    month_plan: ArrayLike,
    share: ArrayLike,
    sigma_month: ArrayLike | None = None,
    *,
    default_cv: float = 0.2,
    dispersion: float | np.ndarray = 1.0,
) -> np.ndarray:
    """Standard deviation of the MTD deviation from plan expected from normal noise (see module doc).

    Args:
        month_plan: the month's plan; share: elapsed share of the month.
        sigma_month: the item's monthly forecast error (RMSE, units); NaN or ``None`` uses
            ``default_cv * month_plan`` as the level error.
        default_cv: level error as a fraction of the plan when the item has no error history.
        dispersion: variance / mean of daily orders (1 = Poisson).
    """
    plan = np.clip(np.asarray(month_plan, dtype=float), 0, None)
    s = np.broadcast_to(np.asarray(share, dtype=float), plan.shape)
    process = dispersion * plan
    if sigma_month is None:
        level = (default_cv * plan) ** 2
    else:
        sm = np.broadcast_to(np.asarray(sigma_month, dtype=float), plan.shape)
        level = np.where(np.isnan(sm), (default_cv * plan) ** 2, np.clip(sm**2 - process, 0, None))
    # one order a month as the floor of day-to-day noise, so an unplanned item still has a scale
    return np.sqrt(level * s**2 + np.maximum(process, dispersion) * s)


# Count-model tails by the regularized incomplete beta and gamma functions (as scipy.stats
# computes them): P(X <= k) and P(X >= k) for a negative binomial of ``r`` successes and mean
# ``mu`` (success probability r / (r + mu)) and for a Poisson of mean ``mu``; k a whole number.
def _nbinom_at_most(k: np.ndarray, r: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(k < 0, 0.0, betainc(r, np.maximum(k, 0) + 1, r / (r + mu)))


def _nbinom_at_least(k: np.ndarray, r: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(k <= 0, 1.0, betainc(np.maximum(k, 1), r, mu / (r + mu)))


def _poisson_at_most(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(k < 0, 0.0, gammaincc(np.maximum(k, 0) + 1, mu))


def _poisson_at_least(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(k <= 0, 1.0, gammainc(np.maximum(k, 1), mu))


def drift_z(mtd_actual: ArrayLike, mtd_plan: ArrayLike, sigma_mtd: ArrayLike) -> np.ndarray:
    """How unusual the MTD actual is, as a normal z, from a count model's exact tail.

    Small counts have a long right tail (3 orders expected, 9 seen is a 1-in-260 event, not the
    1-in-3,700 a normal z of 3.5 claims), so the deviation is scored with a negative binomial of
    mean ``mtd_plan`` and variance ``sigma_mtd**2`` (Poisson when that is not above the mean):
    the one-sided tail probability is turned back into a z with the sign of the deviation. Large
    counts give the usual ``(actual - plan) / sigma``.
    """
    a = np.asarray(mtd_actual, dtype=float)
    mu = np.clip(np.asarray(mtd_plan, dtype=float), 1e-9, None)
    var = np.maximum(np.asarray(sigma_mtd, dtype=float) ** 2, mu)
    extra = var - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(extra > 1e-9 * mu, mu**2 / extra, np.inf)
        k = np.round(a)
        hot = k > mu
        neg = np.isfinite(r)
        r_ = np.where(neg, r, 1.0)
        upper = np.where(neg, _nbinom_at_least(k, r_, mu), _poisson_at_least(k, mu))
        lower = np.where(neg, _nbinom_at_most(k, r_, mu), _poisson_at_most(k, mu))
        tail = np.clip(np.where(hot, upper, lower), 1e-300, 0.5)
    z = -ndtri(tail) * np.where(hot, 1.0, -1.0)
    return np.where(np.abs(a - mu) < 0.5, 0.0, z)


def drift_table(
    month_plan: pd.Series,
    daily: pd.DataFrame,
    month: DateLike,
    through: DateLike,
    *,
    calendar: WorkCalendar | None = None,
    profile: pd.DataFrame | None = None,
    sigma_month: pd.Series | float | None = None,
    default_cv: float = 0.2,
    dispersion: float = 1.0,
    z_threshold: float = 2.5,
    min_drift: float = 0.0,
    level: float = 0.9,
) -> pd.DataFrame:
    """Month-to-date drift per item, judged against the item's normal noise.

    Args:
        month_plan: the month's plan, index item.
        daily: daily actuals ``date, item, orders`` (other days and columns are ignored).
        month: any day of the month; through: the last day the actuals cover.
        calendar, profile: phasing (see :func:`mtd_share`).
        sigma_month: the item's monthly forecast error in units (index item, e.g. from
            :func:`forecast_error_sigma`), or one number for all; missing uses ``default_cv``.
        default_cv, dispersion: see :func:`noise_sigma`.
        z_threshold: beyond noise when ``|z|`` reaches it (Settings).
        min_drift: and ``|drift_pct|`` reaches this fraction (0 = no floor).
        level: the projection interval's coverage.

    Returns:
        One row per item in the plan or with orders this month: ``item, month_plan, share,
        mtd_plan, mtd_actual, drift_pct, sigma_mtd, z, beyond_noise, projection, lo, hi``.
        An item with orders and no plan has ``drift_pct`` NaN and is beyond noise once its orders
        are beyond ``z_threshold`` Poisson standard deviations of zero.
    """
    calendar = calendar or WorkCalendar()
    start, end = (pd.Timestamp(x) for x in month_days(month))
    cut = min(pd.Timestamp(through).normalize(), end)
    dates = pd.to_datetime(daily["date"])
    inside = daily.loc[(dates >= start) & (dates <= cut), ["item", "orders"]]
    actual = inside.groupby("item")["orders"].sum()
    plan = month_plan.astype(float).groupby(level=0).sum()
    items = plan.index.union(actual.index)
    plan = plan.reindex(items, fill_value=0.0)
    out = pd.DataFrame({"month_plan": plan})
    out["share"] = mtd_share(items, month, cut, calendar, profile).to_numpy()
    out["mtd_plan"] = out["month_plan"] * out["share"]
    out["mtd_actual"] = actual.reindex(items, fill_value=0.0).astype(float)
    sm = (
        sigma_month.reindex(items).to_numpy(dtype=float)
        if isinstance(sigma_month, pd.Series)
        else sigma_month
    )
    mp, ma = out["mtd_plan"].to_numpy(), out["mtd_actual"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["drift_pct"] = np.where(mp > 0, (ma - mp) / mp, np.nan)
    sigma = noise_sigma(
        out["month_plan"], out["share"], sm, default_cv=default_cv, dispersion=dispersion
    )
    out["sigma_mtd"] = sigma
    out["z"] = drift_z(ma, mp, sigma)
    big = out["drift_pct"].abs().fillna(np.inf) >= min_drift
    out["beyond_noise"] = (out["z"].abs() >= z_threshold) & big & (out["share"] > 0)
    out["projection"], out["lo"], out["hi"] = run_rate(
        ma, out["share"], dispersion=dispersion, level=level
    )
    out.attrs.update(month=start.date(), through=cut.date(), z_threshold=z_threshold)
    return out.rename_axis("item").reset_index()


def tracking_signal(errors: ArrayLike, n: int | None = None) -> float:
    """Sum of errors over their mean absolute deviation, over the last ``n`` periods (all if None).

    Errors are forecast minus actual (the :mod:`forecasting` convention): positive means the
    forecast runs above demand. With ``n`` periods the signal lies within ``+-n``; beyond
    ``+-4`` the errors are one-sided enough to call the forecast biased. NaN errors are skipped;
    no error at all gives 0.

    >>> tracking_signal([2, 1, 3, 2])
    4.0
    """
    e = np.asarray(errors, dtype=float)
    e = e[~np.isnan(e)]
    if n is not None:
        e = e[-n:]
    mad = np.mean(np.abs(e)) if len(e) else 0.0
    return float(e.sum() / mad) if mad > 0 else 0.0


def bias_alerts(
    frame: pd.DataFrame, window: int = 6, threshold: float = 4.0, *, min_periods: int = 3
) -> pd.DataFrame:
    """Tracking signal per item over its last ``window`` periods and a bias alert beyond ``threshold``.

    Args:
        frame: ``item, period, actual, forecast`` (period sortable: month start dates).
        window: periods in the signal (Settings).
        threshold: alert when ``|tracking_signal| >= threshold`` (Settings; default 4).
        min_periods: fewer periods than this never alert.

    Returns:
        ``item, periods, cum_error, mad, tracking_signal, bias, alert, reason`` where ``bias`` is
        "over-forecast", "under-forecast" or "" and ``reason`` says it in words.
    """
    f = frame.dropna(subset=["actual", "forecast"]).sort_values(["item", "period"], kind="stable")
    f = f.assign(error=f["forecast"].astype(float) - f["actual"].astype(float))
    last = f.groupby("item", sort=True).tail(window)
    g = last.groupby("item", sort=True)["error"]
    mad = (
        last["error"].abs().groupby(last["item"], sort=True).mean()
    )  # one pass, not a call per item
    out = pd.DataFrame({"periods": g.size(), "cum_error": g.sum(), "mad": mad})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["tracking_signal"] = np.where(out["mad"] > 0, out["cum_error"] / out["mad"], 0.0)
    out["alert"] = (out["tracking_signal"].abs() >= threshold) & (out["periods"] >= min_periods)
    out["bias"] = np.where(
        ~out["alert"], "", np.where(out["tracking_signal"] > 0, "over-forecast", "under-forecast")
    )
    out["reason"] = [
        (
            f"Forecast {'above' if r.tracking_signal > 0 else 'below'} actuals in most of the last "
            f"{r.periods} periods: tracking signal {r.tracking_signal:+.1f} (limit +-{threshold:g}), "
            f"cumulative error {r.cum_error:+,.0f} units"
        )
        if r.alert
        else ""
        for r in out.itertuples()
    ]
    return out.rename_axis("item").reset_index()


def forecast_error_sigma(frame: pd.DataFrame, window: int = 12, min_periods: int = 3) -> pd.Series:
    """Each item's monthly forecast error (RMSE of forecast minus actual) over its last ``window`` periods.

    Args:
        frame: ``item, period, actual, forecast``.

    Returns:
        Index item; NaN for items with fewer than ``min_periods`` periods (drift then uses its
        default coefficient of variation).
    """
    f = frame.dropna(subset=["actual", "forecast"]).sort_values(["item", "period"], kind="stable")
    f = f.assign(sq=(f["forecast"].astype(float) - f["actual"].astype(float)) ** 2)
    last = f.groupby("item").tail(window).groupby("item")["sq"]
    rmse = np.sqrt(last.mean())
    return rmse.where(last.size() >= min_periods).rename("sigma_month")
