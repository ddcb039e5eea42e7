"""Long frame in, forecast frame out: per-item cleansing, forecasting and bookkeeping.

The engine knows nothing of Excel. It reads ``unique_id, ds, y`` and returns one row per
item and forecast month with the forecast, interval bounds, the method used, a plain
reason and any fallback, plus the item's backtest MASE and bias.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecasting._types import FloatArray, Progress
from forecasting.cleansing import checked_history, kept_months, regular_series
from forecasting.groups import group_profiles
from forecasting.models import MODELS
from forecasting.months import months_between
from forecasting.selection import ItemResult, ItemSpec
from forecasting.tasks import item_task

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["ENGINES", "METHODS", "OUTPUT_COLUMNS", "check_method", "forecast"]

ENGINES: tuple[str, ...] = ("local", "dask")
"""Where the per-item work runs: this machine's processes, or a Dask cluster."""

METHODS: tuple[str, ...] = ("auto", *MODELS, "like_item")
"""Valid method names, ``auto`` first (the workbook's drop-down list): ``auto`` (chosen per
item), every model of :data:`forecasting.models.MODELS`, and ``like_item`` (a new item's
forecast from its like item's profile)."""

OUTPUT_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "ds",
    "forecast",
    "lo_80",
    "hi_80",
    "lo_95",
    "hi_95",
    "method",
    "reason",
    "fallback",
    "backtest_mase",
    "backtest_bias",
    "snaive_mase",
    "flag",
)


def check_method(name: str) -> str:
    """Return ``name`` if it is a valid method, else raise ValueError naming the choices."""
    if name not in METHODS:
        raise ValueError(
            f"unknown forecasting method {name!r}; choose one of: {', '.join(METHODS)}"
        )
    return name


def _run(
    tasks: list[tuple[str, FloatArray, ItemSpec]],
    clean: dict[str, Any],
    n_jobs: int,
    progress: Progress | None,
) -> dict[str, ItemResult]:
    total = len(tasks)
    out: dict[str, ItemResult] = {}
    if n_jobs == 1 or total < 2:
        for i, (uid, y, spec) in enumerate(tasks, 1):
            out[uid] = item_task(uid, y, spec, clean)[1]
            if progress is not None:
                progress(i, total)
        return out
    workers = min(n_jobs if n_jobs > 0 else (os.cpu_count() or 1), total)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(item_task, uid, y, spec, clean) for uid, y, spec in tasks]
        for i, fut in enumerate(as_completed(futures), 1):
            uid, res = fut.result()
            out[uid] = res
            if progress is not None:
                progress(i, total)
    return out


def forecast(
    frame: pd.DataFrame,
    h: int = 18,
    *,
    method: str = "auto",
    methods: Mapping[str, str | None] | None = None,
    season_length: int = 12,
    level: Iterable[int] = (80, 95),
    n_jobs: int = 1,
    progress: Progress | None = None,
    correct_outliers: bool = True,
    outlier_threshold: float = 4.0,
    fill_missing: bool = True,
    dead_months: int = 6,
    new_months: int = 12,
    like_items: Mapping[str, str] | None = None,
    manual: Mapping[str, Iterable[float]] | None = None,
    backtest_windows: int = 2,
    engine: str = "local",
    scheduler: str | Client | None = None,
    groups: Mapping[str, str] | None = None,
    group_name: str = "group",
) -> pd.DataFrame:
    """Forecast every item of a long frame ``h`` months ahead.

    All items get the same forecast months: the ``h`` months after the latest ``ds`` in the
    whole frame, also for items whose history ends earlier.

    Args:
        frame: long frame with ``unique_id``, ``ds`` (month start) and ``y`` (NaN = no
            data or stockout month: filled or excluded, see ``fill_missing``).
        h: months to forecast.
        method: method for all items (one of ``METHODS``; ``auto`` chooses per item).
        methods: per-item overrides of ``method`` (``""`` or None: use ``method``).
        season_length: months per season.
        level: prediction interval levels; the output has lo_80/hi_80 and lo_95/hi_95
            columns always, plus lo_L/hi_L for any other level asked for.
        n_jobs: processes over items (1: in this process; -1: one per core).
        progress: called as ``progress(done, total)`` when items finish.
        correct_outliers: replace outlier months before fitting (see ``cleanse``).
        outlier_threshold: robust standard deviations beyond which a month is an outlier.
        fill_missing: fill months without data by interpolation (False: leave them out).
        dead_months: ``auto`` forecasts 0 after this many months without demand.
        new_months: ``auto`` treats items with less history as new.
        like_items: item -> like item whose profile a new item borrows (``auto``, ``like_item``).
        manual: item -> the planner's monthly numbers (method ``manual``).
        backtest_windows: rolling-origin windows per item for selection and backtest errors.
        engine: ``local`` (this process, or ``n_jobs`` processes) or ``dask`` (the workers
            of a Dask cluster; same results, see ``forecasting.distributed``).
        scheduler: for ``engine="dask"``: the scheduler address (``tcp://host:8786``) or a
            ``distributed.Client``. Required; nothing is started for you.
        groups: item -> group (a family, a site): items shrink their seasonal pattern
            toward their group's, and items too short for their own take the group's
            (``forecasting.groups``). None: each item on its own.
        group_name: what a group is, for reasons ("family" gives "seasonal profile of
            family Pumps (7 items, 36 months)").

    An optional boolean column ``keep`` marks months a planner confirmed: never corrected as
    outliers. Text in ``y`` or a ``ds`` that is not a date raises ValueError naming the rows;
    rows of the same month (daily rows, repeated rows) are summed and the reason says so.

    Returns:
        Frame sorted by unique_id, ds with columns ``OUTPUT_COLUMNS`` (then any extra levels).

    Raises:
        ValueError: unknown method name or engine, h < 1, missing columns, text in ``y``,
            a ``ds`` that is not a date, or ``engine="dask"`` without a scheduler.
        DistributedError: (``engine="dask"``) the scheduler cannot be reached within
            ``distributed.CONNECT_TIMEOUT`` seconds, has no workers, or a worker failed.

    Example:
        >>> import pandas as pd
        >>> hist = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2023-01-01",
        ...                      periods=24, freq="MS"), "y": [10.0, 12.0] * 12})
        >>> out = forecast(hist, h=3, method="naive")
        >>> out[["ds", "forecast", "method"]].values.tolist()[0]
        [Timestamp('2025-01-01 00:00:00'), 12.0, 'naive']
    """
    check_method(method)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if engine == "dask" and (
        scheduler is None or (isinstance(scheduler, str) and not scheduler.strip())
    ):
        raise ValueError(
            "engine='dask' needs a scheduler: pass scheduler='tcp://host:8786' (the "
            "address `dask scheduler` prints) or a distributed.Client"
        )
    overrides = {str(k): (v or method) for k, v in (methods or {}).items()}
    for v in overrides.values():
        check_method(v)
    if int(h) < 1:
        raise ValueError(f"h must be at least 1, got {h}")
    h = int(h)
    missing = {"unique_id", "ds", "y"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"frame lacks column(s) {', '.join(sorted(missing))}; it needs unique_id, ds and y"
        )
    levels = tuple(sorted({int(lv) for lv in level} | {80, 95}))
    frame, notes = checked_history(frame)
    items = regular_series(frame)
    if not items:
        return _empty(levels)
    kept = kept_months(frame)
    last = pd.Timestamp(max(ds[-1] for _, ds, _ in items))
    months = pd.date_range(last + pd.offsets.MonthBegin(1), periods=h, freq="MS")
    series = {uid: (ds, y) for uid, ds, y in items}
    starts = {
        uid: int(ds[0].astype("datetime64[M]").astype(np.int64)) + 1970 * 12 for uid, ds, _ in items
    }
    profiles = (
        group_profiles(
            [(uid, starts[uid], y) for uid, _, y in items],
            {str(k): str(v) for k, v in groups.items()},
            season_length,
        )
        if groups
        else {}
    )
    tasks = []
    for uid, ds, y in items:
        end = pd.Timestamp(ds[-1])
        gap = months_between(end, last)
        like_uid = (like_items or {}).get(uid)
        like = None
        if like_uid is not None and str(like_uid) in series:
            lds, ly = series[str(like_uid)]
            like = ly[lds <= ds[-1]]
        man = (manual or {}).get(uid)
        group = str(groups.get(uid, "")) if groups else ""
        prof = profiles.get(group)
        spec = ItemSpec(
            h=h + gap,
            method=overrides.get(uid, method),
            season_length=season_length,
            levels=levels,
            dead_months=dead_months,
            new_months=new_months,
            backtest_windows=backtest_windows,
            like=like,
            like_name=str(like_uid or ""),
            manual=None if man is None else np.asarray(list(man), dtype=float),
            keep=kept.get(uid),
            start=starts[uid],
            calendar_prior=None if prof is None else prof.for_item(uid),
            prior_name=""
            if prof is None
            else f"{group_name} {group} ({prof.items} item{'s' * (prof.items > 1)}, "
            f"{prof.months} months)",
            notes=list(notes.get(uid, [])),
        )
        tasks.append((uid, y, spec))
    clean = {
        "season_length": season_length,
        "correct_outliers": correct_outliers,
        "threshold": outlier_threshold,
        "fill_missing": fill_missing,
    }
    if engine == "dask":
        from forecasting.distributed import run_dask

        assert scheduler is not None  # refused above
        results = run_dask(tasks, clean, scheduler, progress)
    else:
        results = _run(tasks, clean, n_jobs, progress)
    return _assemble(results, months, levels)


def _assemble(
    results: dict[str, ItemResult], months: pd.DatetimeIndex, levels: tuple[int, ...]
) -> pd.DataFrame:
    """One frame for all items, built column by column (a frame per item cost about 1 ms)."""
    if not results:
        return _empty(levels)
    h = len(months)
    uids = sorted(results)
    res = [results[uid] for uid in uids]
    k = len(res)

    def stacked(get: Any) -> FloatArray:
        return np.concatenate([np.asarray(get(r), dtype=float)[-h:] for r in res])

    def repeated(values: list[Any], dtype: Any = object) -> np.ndarray:
        return np.repeat(np.array(values, dtype=dtype), h)

    cols: dict[str, Any] = {
        "unique_id": repeated(uids),
        "ds": np.tile(months.values, k),
        "forecast": stacked(lambda r: r.forecast),
    }
    for lv in (80, 95):
        cols[f"lo_{lv}"] = stacked(lambda r, lv=lv: r.intervals[lv][0])
        cols[f"hi_{lv}"] = stacked(lambda r, lv=lv: r.intervals[lv][1])
    for name in ("method", "reason", "fallback"):
        cols[name] = repeated([getattr(r, name) for r in res])
    for name in ("backtest_mase", "backtest_bias", "snaive_mase"):
        cols[name] = repeated([getattr(r, name) for r in res], float)
    cols["flag"] = repeated([r.flag for r in res])
    for lv in levels:
        if lv not in (80, 95):
            cols[f"lo_{lv}"] = stacked(lambda r, lv=lv: r.intervals[lv][0])
            cols[f"hi_{lv}"] = stacked(lambda r, lv=lv: r.intervals[lv][1])
    out = pd.DataFrame(cols)
    for c in ("method", "reason", "fallback", "flag"):
        out[c] = out[c].astype(object)
    return out


def _empty(levels: tuple[int, ...]) -> pd.DataFrame:
    cols = list(OUTPUT_COLUMNS) + [
        f"{s}_{lv}" for lv in levels if lv not in (80, 95) for s in ("lo", "hi")
    ]
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    out["unique_id"] = out["unique_id"].astype(object)
    out["ds"] = out["ds"].astype("datetime64[ns]")
    for c in ("method", "reason", "fallback", "flag"):
        out[c] = out[c].astype(object)
    return out
