"""Forecast accuracy, interval coverage and speed across data sets and history lengths.

Not a test. Every row is one data set, in full or with every history cut to its last N months:

- M3 monthly (1,428 series) and M1 monthly (617 series) from ``/work/shared/data/``, columns
  ``unique_id, category, t, y, split, h`` (the last h points of each series are the test part);
- ``full``: the whole history, horizon h (18); ``24``, ``36``, ``48``: each history cut to its
  last 24, 36 or 48 months (series shorter than that keep what they have), the test part
  unchanged, horizon 12 (the first 12 test months).

For each row it prints MASE (seasonal-naive scale of the history used, lag 1 below 13 months),
sMAPE (0..200) and OWA (against Naive2, the M4 benchmark) of the default forecast
(``forecasting.forecast`` with its defaults, run item by item through the engine's own per-item
path so it can be timed), seasonal naive, Naive2 and statsforecast's AutoETS (a benchmark-only
dependency, ``pip install -e ".[bench]"``); the share of test points inside the 80% and 95%
intervals of the default (and AutoETS's); and median milliseconds per series of the default in
one process with one BLAS thread, after a warm-up call (the protocol of
``/work/shared/design/forecasting-benchmark.md``), and the same in CPU time of the process
(``cpu ms``: what the forecast costs when other work shares the machine's cores).

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_bench.py [--sets m3,m1]
        [--cuts full,24,36,48] [--every K] [--no-reference] [--cache DIR] [--jobs N]

``--every K`` keeps every K-th series (quick looks; the figures in docs are for K = 1).
``--cache DIR`` keeps AutoETS's forecasts between runs (they do not change with our code).
``--jobs N`` runs the default in N processes: faster, but then its ms/series is not a one-core
figure and is not printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting.metrics import mase, smape  # noqa: E402
from forecasting.models import Naive2, SeasonalNaive  # noqa: E402

# ../shared/ beside the project root (a worktree elsewhere falls back to /work/shared)
DATA = next(
    (
        d
        for d in (
            Path(__file__).resolve().parents[2] / "shared" / "data",
            Path("/work/shared/data"),
        )
        if d.is_dir()
    ),
    Path("shared/data"),
)
SETS = {"m3": "m3_monthly.csv.gz", "m1": "m1_monthly.csv.gz"}
M = 12
CUT_H = 12
Series = tuple[str, np.ndarray, np.ndarray]  # id, history, test


@dataclass
class Scores:
    mase: float
    smape: float
    cover80: float = float("nan")
    cover95: float = float("nan")
    ms: float = float("nan")
    cpu_ms: float = float("nan")


def load(folder: Path, name: str, every: int) -> list[Series]:
    """(id, history, test) per series of a set, in file order."""
    from forecast_m3 import load as load_file  # the M3 bench's reader of the same columns

    return load_file(folder / SETS[name], every)


def cut(data: list[Series], months: int | None) -> tuple[list[Series], int]:
    """The row's series and horizon: full histories (h as given) or the last ``months``."""
    if months is None:
        return data, len(data[0][2])
    return [(uid, y[-months:], test[:CUT_H]) for uid, y, test in data], CUT_H


def _default_one(args: tuple[np.ndarray, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The engine's per-item path with the defaults of ``forecasting.forecast``."""
    from forecasting.selection import ItemSpec
    from forecasting.tasks import item_task

    y, h = args
    clean = {"season_length": M, "correct_outliers": True, "threshold": 4.0, "fill_missing": True}
    t0, c0 = time.perf_counter(), time.process_time()
    res = item_task("x", y, ItemSpec(h=h, season_length=M), clean)[1]
    ms, cpu = 1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0)
    return res.forecast, np.vstack(res.intervals[80]), np.vstack(res.intervals[95]), ms, cpu


def run_default(data: list[Series], h: int, jobs: int) -> list[tuple]:
    _default_one((data[0][1], h))  # warm-up (imports)
    tasks = [(y, h) for _, y, _ in data]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            return list(pool.map(_default_one, tasks, chunksize=8))
    return [_default_one(t) for t in tasks]


def run_autoets(data: list[Series], h: int, cache: Path | None, key: str) -> list[tuple] | None:
    try:
        from statsforecast.models import AutoETS
    except ImportError:
        return None
    path = None
    if cache is not None:
        digest = hashlib.sha1(b"".join(y.tobytes() for _, y, _ in data)).hexdigest()[:12]
        path = cache / f"autoets_{key}_{h}_{digest}.npz"
        if path.exists():
            z = np.load(path)
            return [
                (z["f"][i], z["i80"][i], z["i95"][i], float("nan"), float("nan"))
                for i in range(len(data))
            ]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, y, _ in data:
            r = AutoETS(season_length=M).forecast(y, h, level=[80, 95])
            out.append(
                (
                    np.asarray(r["mean"], float),
                    np.vstack([r["lo-80"], r["hi-80"]]),
                    np.vstack([r["lo-95"], r["hi-95"]]),
                    float("nan"),
                    float("nan"),
                )
            )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            f=np.array([o[0] for o in out]),
            i80=np.array([o[1] for o in out]),
            i95=np.array([o[2] for o in out]),
        )
    return out


def run_model(data: list[Series], h: int, make: Callable[[], object]) -> list[tuple]:
    return [
        (make().forecast(y, h), None, None, float("nan"), float("nan"))  # type: ignore[attr-defined]
        for _, y, _ in data
    ]


def score(data: list[Series], results: list[tuple]) -> Scores:
    m, s, c80, c95, ms, cpu = [], [], [], [], [], []
    for (_, y, test), (f, i80, i95, t, c) in zip(data, results, strict=True):
        f = np.asarray(f, float)[: test.size]
        m.append(mase(test, f, y, M))
        s.append(smape(test, f))
        if i80 is not None:
            c80.append(np.mean((test >= i80[0][: test.size]) & (test <= i80[1][: test.size])))
            c95.append(np.mean((test >= i95[0][: test.size]) & (test <= i95[1][: test.size])))
        ms.append(t)
        cpu.append(c)
    return Scores(
        float(np.mean(m)),
        float(np.mean(s)),
        float(np.mean(c80)) if c80 else float("nan"),
        float(np.mean(c95)) if c95 else float("nan"),
        float(np.median(ms)) if np.all(np.isfinite(ms)) else float("nan"),
        float(np.median(cpu)) if np.all(np.isfinite(cpu)) else float("nan"),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="m3,m1")
    ap.add_argument("--cuts", default="full,24,36,48")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--seasonal-only",
        action="store_true",
        help="only series whose whole history passes the 90%% lag-12 test (M4's rule)",
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help="folder holding m3_monthly.csv.gz, m1_monthly.csv.gz",
    )
    args = ap.parse_args(argv)
    print(
        f"one origin per series; season 12; full rows at the set's h, cut rows at h={CUT_H}; "
        f"{'one process' if args.jobs == 1 else f'{args.jobs} processes (no timing)'}",
        flush=True,
    )
    header = (
        f"{'set':<4}{'cut':>5}{'n':>6}{'h':>4} | {'method':<15}{'MASE':>7}{'sMAPE':>8}"
        f"{'OWA':>7}{'cov80':>7}{'cov95':>7}{'ms':>7}{'cpu ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in args.sets.split(","):
        full = load(args.data, name, args.every)
        if args.seasonal_only:
            from forecasting.seasonality import seasonality_test

            full = [s for s in full if seasonality_test(s[1], M)]
        for c in args.cuts.split(","):
            months = None if c == "full" else int(c)
            data, h = cut(full, months)
            rows = {
                "default": run_default(data, h, args.jobs),
                "seasonal naive": run_model(data, h, lambda: SeasonalNaive(M)),
                "Naive2": run_model(data, h, lambda: Naive2(M)),
            }
            ref = (
                None
                if args.no_reference
                else run_autoets(data, h, args.cache, f"{name}_{c}_{args.every}")
            )
            if ref is not None:
                rows["AutoETS"] = ref
            scores = {k: score(data, v) for k, v in rows.items()}
            base = scores["Naive2"]
            for k, sc in scores.items():
                owa = 0.5 * (sc.smape / base.smape + sc.mase / base.mase)
                ms = (
                    f"{sc.ms:>7.1f}{sc.cpu_ms:>8.1f}"
                    if np.isfinite(sc.ms) and args.jobs == 1
                    else ""
                )
                cov = (
                    f"{sc.cover80:>7.1%}{sc.cover95:>7.1%}"
                    if np.isfinite(sc.cover80)
                    else f"{'':>14}"
                )
                print(
                    f"{name:<4}{c:>5}{len(data):>6}{h:>4} | {k:<15}{sc.mase:>7.3f}"
                    f"{sc.smape:>8.3f}{owa:>7.3f}{cov}{ms}",
                    flush=True,
                )
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
