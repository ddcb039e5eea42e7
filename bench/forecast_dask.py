"""Series per second: the local process pool against a Dask cluster of 1, 2 and 4 workers.

Not a test. Synthesizes N monthly series (default 100,000) from the M3 monthly training
histories with a seed: each series resamples an M3 history (its last 24 to 72 months), scales
it, adds 8% multiplicative noise and makes one in ten intermittent. All end in the same month.
Then it times ``forecasting.forecast(frame, h=18)`` end to end (driver preparation included):

- ``local``: the engine's process pool, ``n_jobs`` processes (default 2: the machine's cores);
- ``dask W``: ``engine="dask"`` on a ``LocalCluster`` of W worker processes, one thread each
  (cluster start-up and a warm-up of a few chunks are timed separately, not in the rate),

and prints series/second, the ratio to the local pool, whether the frame is identical to the
local pool's, and the driver's peak resident memory. Each configuration runs in a fresh
process, so its peak is its own (with a LocalCluster the scheduler runs inside the driver and
is included; the workers' memory is not).

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python bench/forecast_dask.py [--series 100000] [--workers 1,2,4]
        [--n-jobs 2] [--seed 0] [--data PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting import forecast  # noqa: E402
from forecasting.cleansing import regular_series  # noqa: E402

DATA = Path("/work/shared/data/m3_monthly.csv.gz")
H = 18


def synthesize(n: int, seed: int, path: Path) -> pd.DataFrame:
    """A long frame of ``n`` series resampled and perturbed from M3 monthly training data."""
    m3 = pd.read_csv(path)
    train = m3[m3["split"] == "train"].sort_values(["unique_id", "t"])
    bases = [g.to_numpy(float) for _, g in train.groupby("unique_id", sort=True)["y"]]
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2026-10-01")
    calendar = pd.date_range(end=end, periods=72, freq="MS")
    ids, ds, ys = [], [], []
    for i in range(n):
        base = bases[rng.integers(len(bases))]
        length = int(rng.integers(24, min(72, base.size) + 1))
        y = base[-length:] * rng.lognormal(0.0, 0.5) * rng.normal(1.0, 0.08, length)
        if i % 10 == 9:  # intermittent: demand in about a third of the months
            y = np.where(rng.random(length) < 0.3, np.round(y / max(np.mean(y), 1.0) * 5), 0.0)
        ids.append(np.full(length, i, dtype=np.int64))
        ds.append(calendar[-length:].to_numpy())
        ys.append(np.maximum(np.round(y, 1), 0.0))
    idx = np.concatenate(ids)
    names = np.array([f"S{i:06d}" for i in range(n)], dtype=object)
    return pd.DataFrame(
        {"unique_id": names[idx], "ds": np.concatenate(ds), "y": np.concatenate(ys)}
    )


def peak_mib() -> float:
    """This process's peak resident set size so far (MiB; Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(config: str, args: argparse.Namespace, ref_path: Path) -> None:
    """One configuration in this (fresh) process; prints one ``RESULT`` line."""
    frame = synthesize(args.series, args.seed, args.data)
    note = ""
    if config == "local":
        t0 = time.perf_counter()
        out = forecast(frame, h=H, n_jobs=args.n_jobs)
        wall = time.perf_counter() - t0
        out.to_pickle(ref_path)
        same = "reference"
    else:
        from distributed import Client, LocalCluster

        w = int(config.split(":")[1])
        t0 = time.perf_counter()
        with (
            LocalCluster(
                n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            first = frame["unique_id"].drop_duplicates().iloc[: 4 * w]
            forecast(frame[frame["unique_id"].isin(first)], h=H, engine="dask", scheduler=client)
            note = f"start+warm-up {time.perf_counter() - t0:.1f} s (not in the rate)"
            t0 = time.perf_counter()
            out = forecast(frame, h=H, engine="dask", scheduler=client)
            wall = time.perf_counter() - t0
        try:
            pd.testing.assert_frame_equal(pd.read_pickle(ref_path), out, check_exact=True)
            same = "yes"
        except AssertionError:
            same = "NO"
    print(f"RESULT\t{wall:.3f}\t{peak_mib():.0f}\t{same}\t{note}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--workers", default="1,2,4", help="Dask worker counts, comma separated")
    ap.add_argument("--n-jobs", type=int, default=2, help="processes of the local pool")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one configuration
    ap.add_argument("--ref", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(args.one, args, args.ref)
        return

    t0 = time.perf_counter()
    frame = synthesize(args.series, args.seed, args.data)
    print(
        f"{args.series} series, {len(frame)} rows, synthesized in {time.perf_counter() - t0:.1f} s "
        f"(seed {args.seed}); h = {H}; cores: {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    t0 = time.perf_counter()
    regular_series(frame)
    print(
        f"driver preparation alone (regular_series: every item on a monthly calendar), part of every run below: "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    del frame

    configs = [("local", f"local pool n_jobs={args.n_jobs}")] + [
        (f"dask:{w}", f"dask {w} worker{'s' * (w > 1)}")
        for w in (int(x) for x in args.workers.split(",") if x.strip())
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "local.pkl"
        for config, name in configs:  # each in a fresh process: a clean memory peak
            cmd = [
                sys.executable,
                __file__,
                "--one",
                config,
                "--ref",
                str(ref),
                "--series",
                str(args.series),
                "--seed",
                str(args.seed),
                "--n-jobs",
                str(args.n_jobs),
                "--data",
                str(args.data),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True)
            line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT")), None)
            if line is None:
                print(f"  {name}: failed\n{res.stderr[-2000:]}", flush=True)
                continue
            _, wall, mib, same, note = line.split("\t")
            rows.append((name, float(wall), float(mib), same, note))
            print(
                f"  {name}: {float(wall):.1f} s, {args.series / float(wall):.1f} series/s, "
                f"identical to local: {same}",
                flush=True,
            )

    local = next((r for r in rows if r[0].startswith("local")), None)
    print()
    print(
        f"{'configuration':<22} {'wall s':>8} {'series/s':>9} {'vs local':>9} {'driver peak MiB':>16}  "
        "identical  notes"
    )
    for name, wall, mib, same, note in rows:
        rate = args.series / wall
        ratio = f"{rate / (args.series / local[1]):.2f}" if local else "-"
        print(f"{name:<22} {wall:>8.1f} {rate:>9.1f} {ratio:>9} {mib:>16.0f}  {same:<9}  {note}")
    print(
        f"Load average at the end {os.getloadavg()[0]:.1f} (other work on the machine). "
        "series/s includes the driver's preparation and assembly."
    )


if __name__ == "__main__":
    main()
