"""The dask engine: same frame as a local run, progress, clear errors, lazy import.

One real ``LocalCluster`` (two worker processes, one thread each; ``cluster`` in tests/conftest.py) serves the module.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import forecasting
from forecasting import DistributedError, forecast
from forecasting import distributed as dist
from forecasting.selection import ItemSpec

from .conftest import make_history

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """Seasonal, trending, intermittent, short (8 months), dead, outlier and gap items; seeded."""
    return make_history(n_items=18, months=48, seed=11)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_gives_exactly_the_local_frame(cluster, mixed) -> None:
    opts = {
        "h": 8,
        "methods": {"IT04": "theta", "IT06": "naive"},
        "like_items": {"IT00": "IT04"},
        "manual": {"IT07": [5.0] * 8},
    }
    opts["methods"]["IT07"] = "manual"
    local = forecast(mixed, **opts)
    calls: list[tuple[int, int]] = []
    remote = forecast(
        mixed,
        engine="dask",
        scheduler=cluster.scheduler_address,
        progress=lambda d, t: calls.append((d, t)),
        **opts,
    )
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    # the set covers what it claims: dead, short, intermittent and seasonal items, a like item
    methods = set(remote.drop_duplicates("unique_id")["method"])
    assert {"zero", "manual", "naive", "theta"} <= methods and len(methods) >= 6
    n = mixed["unique_id"].nunique()
    assert calls[-1] == (n, n) and len(calls) > 1  # chunks of 2 items on 2 threads
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)


def test_an_existing_client_is_used_and_left_open(cluster, mixed) -> None:
    sub = mixed[mixed["unique_id"].isin(["IT02", "IT05", "IT09"])]
    with distributed.Client(cluster, set_as_default=False) as client:
        out = forecast(sub, h=4, engine="dask", scheduler=client)
        assert client.status == "running"
        pd.testing.assert_frame_equal(out, forecast(sub, h=4), check_exact=True)
        assert client.submit(sum, [1, 2]).result() == 3


def test_run_dask_chunks_and_empty(cluster, mixed) -> None:
    tasks = [
        (f"S{i}", np.arange(1.0, 13.0) * (i + 1), ItemSpec(h=3, method="naive")) for i in range(7)
    ]
    calls: list[int] = []
    res = dist.run_dask(
        tasks,
        {"season_length": 12},
        cluster.scheduler_address,
        lambda d, t: calls.append(d),
        chunk=3,
    )
    assert calls == sorted(calls) and calls[-1] == 7 and len(calls) == 3  # chunks of 3, 3, 1
    assert sorted(res) == [f"S{i}" for i in range(7)]
    assert res["S1"].forecast.tolist() == [24.0] * 3
    assert dist.run_dask([], {}, "tcp://127.0.0.1:1") == {}  # nothing to do: no connection


def test_chunk_size() -> None:
    assert dist.chunk_size(100_000, 4) == dist.MAX_CHUNK
    assert dist.chunk_size(160, 2) == 10
    assert dist.chunk_size(5, 8) == 1
    assert dist.chunk_size(0, 2) == 1


def test_dask_engine_needs_a_scheduler(mixed) -> None:
    with pytest.raises(ValueError, match="engine='dask' needs a scheduler"):
        forecast(mixed, h=3, engine="dask")
    with pytest.raises(ValueError, match="unknown engine 'spark'; choose one of: local, dask"):
        forecast(mixed, h=3, engine="spark")


def test_unreachable_scheduler_fails_clearly_within_the_timeout(mixed, monkeypatch) -> None:
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 1.5)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.perf_counter()
    with pytest.raises(DistributedError) as err:
        forecast(mixed, h=3, engine="dask", scheduler=address)
    elapsed = time.perf_counter() - t0
    assert elapsed < 8, elapsed
    msg = str(err.value)
    assert f"cannot reach the Dask scheduler at '{address}' within 1.5 s" in msg
    assert "dask scheduler" in msg and "\n" not in msg


def test_malformed_address_is_named() -> None:
    with pytest.raises(DistributedError, match="'127.0.0.1' is not a Dask scheduler address"):
        dist.run_dask([("A", np.ones(3), ItemSpec(h=1))], {}, "127.0.0.1", timeout=1)
    with pytest.raises(DistributedError, match="no Dask scheduler address given"):
        dist.run_dask([("A", np.ones(3), ItemSpec(h=1))], {}, "  ", timeout=1)


def test_scheduler_without_workers_fails_clearly(tmp_path) -> None:
    # A real `dask scheduler` process with no worker, as a user starts one (an in-process
    # LocalCluster here was flaky on a loaded 2-core machine: its IO loop could miss 10 s).
    info = tmp_path / "scheduler.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dashboard-address",
            ":0",
            "--scheduler-file",
            str(info),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert proc.poll() is None and time.monotonic() < deadline, (
                "dask scheduler did not start"
            )
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        # The client runs in a fresh interpreter too: in a long test session the distributed IO
        # loop of this process could fail to start within its own 10 s.
        code = textwrap.dedent(f"""
            import time, numpy as np
            from forecasting import DistributedError, distributed as dist
            from forecasting.selection import ItemSpec
            t0 = time.perf_counter()
            try:
                dist.run_dask([("A", np.ones(3), ItemSpec(h=1))], {{}}, {address!r}, timeout=1)
            except DistributedError as exc:
                print(f"{{time.perf_counter() - t0:.2f}}|{{exc}}")
            """)
        out = (
            subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        seconds, message = out.split("|", 1)
        assert re.search("has no workers.*dask worker", message), message
        assert float(seconds) < 8
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_failing_item_on_a_worker_becomes_a_distributed_error(cluster) -> None:
    bad = [("A", "not a history", ItemSpec(h=1))]  # a str has no float maths: fails on the worker
    with pytest.raises(
        DistributedError, match=r"a Dask worker of 'tcp://.*' failed on item 'A': TypeError: "
    ):
        dist.run_dask(bad, {}, cluster.scheduler_address)


def test_import_forecasting_does_not_load_dask() -> None:
    code = (
        "import sys, forecasting; "
        "print(any(m == 'dask' or m.startswith(('dask.', 'distributed')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "DistributedError" in forecasting.__all__ and forecasting.ENGINES == ("local", "dask")
