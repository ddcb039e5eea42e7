"""M3 monthly benchmark: accuracy and speed of every method, beside statsforecast's AutoETS.

Not a test. Follows /work/shared/design/forecasting-benchmark.md: 1,428 series, one origin,
h = 18, season length 12; sMAPE (0..200), MASE (seasonal naive scale), OWA against Naive2;
wall milliseconds per series in one process with one BLAS thread, after a warm-up call.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_m3.py [--methods auto,theta] [--every K]
        [--no-reference] [--data PATH]

``--every K`` keeps every K-th series (quick looks); the reference figures are for K = 1.
statsforecast is a benchmark-only dependency (``pip install statsforecast``); without it the
reference row is skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting.metrics import mase, smape  # noqa: E402
from forecasting.models import MODELS  # noqa: E402
from forecasting.selection import ItemSpec  # noqa: E402

DATA = Path("/work/shared/data/m3_monthly.csv.gz")
H, M = 18, 12
OURS = [
    "naive",
    "seasonal_naive",
    "naive2",
    "moving_average",
    "ses",
    "holt",
    "damped_holt",
    "theta",
    "dynamic_theta",
    "holt_winters",
    "ets",
    "croston_sba",
    "tsb",
    "auto",
]

Forecaster = Callable[[np.ndarray], np.ndarray]


def load(path: Path, every: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(id, history, test) per series, in file order."""
    df = pd.read_csv(path)
    out = []
    for uid, g in df.groupby("unique_id", sort=False):
        g = g.sort_values("t")
        out.append(
            (
                str(uid),
                g.loc[g["split"] == "train", "y"].to_numpy(float),
                g.loc[g["split"] == "test", "y"].to_numpy(float),
            )
        )
    return out[::every]


def auto_forecaster() -> Forecaster:
    """The engine's per-item path (cleansing, auto rules, backtest, intervals)."""
    from forecasting.tasks import item_task

    clean = {"season_length": M, "correct_outliers": True, "threshold": 4.0, "fill_missing": True}

    def run(y: np.ndarray) -> np.ndarray:
        return item_task("x", y, ItemSpec(h=H, season_length=M), clean)[1].forecast

    return run


def model_forecaster(name: str) -> Forecaster:
    cls = MODELS[name]
    return lambda y: cls(M).forecast(y, H)


def reference_forecaster() -> Forecaster | None:
    try:
        from statsforecast.models import AutoETS
    except ImportError:
        return None
    return lambda y: AutoETS(season_length=M).forecast(y, H)["mean"]


def evaluate(
    name: str, fn: Forecaster, data: list[tuple[str, np.ndarray, np.ndarray]]
) -> dict[str, float]:
    """Mean sMAPE and MASE over the series, median and total milliseconds per series."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(data[0][1])  # warm-up (imports, JIT)
        s, m, times = [], [], []
        for _uid, y, test in data:
            t0 = time.perf_counter()
            f = np.asarray(fn(y), dtype=float)
            times.append(time.perf_counter() - t0)
            s.append(smape(test, f))
            m.append(mase(test, f, y, M))
    return {
        "smape": float(np.mean(s)),
        "mase": float(np.mean(m)),
        "ms": 1000 * float(np.median(times)),
        "total_s": float(np.sum(times)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(OURS))
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    data = load(args.data, args.every)
    print(f"M3 monthly: {len(data)} series, h={H}, season {M}, one process", flush=True)
    rows: dict[str, dict[str, float]] = {}
    wanted = ["seasonal_naive", "naive2"] + [
        m for m in args.methods.split(",") if m not in ("seasonal_naive", "naive2")
    ]
    for name in wanted:
        fn = auto_forecaster() if name == "auto" else model_forecaster(name)
        rows[name] = evaluate(name, fn, data)
        print(f"  done {name}", file=sys.stderr, flush=True)
    ref = None if args.no_reference else reference_forecaster()
    if ref is not None:
        rows["statsforecast AutoETS"] = evaluate("AutoETS", ref, data)
    base = rows["naive2"]
    print(f"{'method':<24}{'sMAPE':>8}{'MASE':>8}{'OWA':>8}{'ms/series':>11}{'total s':>9}")
    for name, r in rows.items():
        owa = 0.5 * (r["smape"] / base["smape"] + r["mase"] / base["mase"])
        print(
            f"{name:<24}{r['smape']:>8.3f}{r['mase']:>8.3f}{owa:>8.3f}{r['ms']:>11.2f}"
            f"{r['total_s']:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
