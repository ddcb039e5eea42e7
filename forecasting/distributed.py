"""Run the engine's per-item work over a Dask cluster (``dask.distributed``).

``forecasting.forecast(frame, engine="dask", scheduler="tcp://host:8786")`` sends the same
per-item tasks the local engine runs (``tasks.item_task``) to the cluster's workers, in
chunks of items so that 100,000 series are a few hundred tasks rather than 100,000 tiny ones.
Each item is cleansed and forecast by exactly the same code on a worker as in this process,
so the result frame is identical to a local run.

``dask`` is imported only when this engine runs, so ``import forecasting`` stays fast.
Workers need the same ``sop-excel`` (``forecasting`` package) installed as the caller.

Example (needs a running scheduler; see docs/forecasting.md)::

    from forecasting import forecast
    out = forecast(history, h=18, engine="dask", scheduler="tcp://10.0.0.5:8786")
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from forecasting._types import FloatArray, Progress
from forecasting.selection import ItemResult, ItemSpec

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["CONNECT_TIMEOUT", "DistributedError", "chunk_size", "run_dask"]

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the scheduler to answer, and then for at least one worker."""

MAX_CHUNK = 200
"""Most items in one Dask task (about 1-2 s of work at ~7 ms per series)."""

Task = tuple[str, FloatArray, ItemSpec]


class DistributedError(RuntimeError):
    """The Dask cluster cannot be used: unreachable scheduler, no workers, or a worker failed."""


class ItemFailed(RuntimeError):
    """Raised on a worker when one item's forecast fails; names the item."""


def chunk_size(n_items: int, n_threads: int) -> int:
    """Items per Dask task: about 8 tasks per worker thread, at most ``MAX_CHUNK`` items.

    Example:
        >>> chunk_size(100_000, 4), chunk_size(30, 4), chunk_size(0, 2)
        (200, 1, 1)
    """
    if n_items <= 0:
        return 1
    return max(1, min(MAX_CHUNK, math.ceil(n_items / (max(1, n_threads) * 8))))


def _chunk_task(chunk: list[Task], clean: dict[str, Any]) -> list[tuple[str, ItemResult]]:
    """Runs on a worker: the local engine's per-item function over a chunk of items."""
    from forecasting.tasks import item_task

    out = []
    for uid, y, spec in chunk:
        try:
            out.append(item_task(uid, y, spec, clean))
        except Exception as exc:  # name the item: the worker's traceback is far away
            raise ItemFailed(f"on item {uid!r}: {type(exc).__name__}: {exc}") from exc
    return out


def _connect(scheduler: str, timeout: float) -> Client:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the extra is part of dev
        raise DistributedError(
            "the dask engine needs dask.distributed: install it with "
            "`pip install 'sop-excel[dask]'` (or `pip install 'dask[distributed]'`)"
        ) from None
    address = str(scheduler).strip()
    if not address:
        raise DistributedError("no Dask scheduler address given: pass one like tcp://host:8786")
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except ValueError as exc:  # no port, unknown scheme
        raise DistributedError(
            f"{address!r} is not a Dask scheduler address ({str(exc).splitlines()[0]}): "
            "write it like tcp://host:8786, as `dask scheduler` prints it"
        ) from None
    except (OSError, TimeoutError) as exc:  # refused, unresolvable, timed out
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DistributedError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s ({detail}). "
            "Check the address (tcp://host:8786) and that `dask scheduler` is running there "
            "and reachable from this machine."
        ) from None


def _worker_threads(client: Client, address: str, timeout: float) -> int:
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise DistributedError(
            f"the Dask scheduler at {address!r} has no workers (waited {timeout:g} s). "
            f"Start some with `dask worker {address}` on machines that have sop-excel "
            "installed."
        ) from None
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1


def _failure(exc: BaseException, address: str) -> DistributedError:
    name = type(exc).__name__
    if isinstance(exc, ImportError):
        return DistributedError(
            f"a Dask worker of {address!r} cannot import the forecasting engine ({exc}). "
            "Install the same sop-excel version on every worker."
        )
    if name in ("KilledWorker", "CommClosedError", "CancelledError", "FutureCancelledError"):
        return DistributedError(
            f"the Dask cluster at {address!r} lost work ({name}: {exc}). A worker died or the "
            "scheduler went away; check the workers' memory and logs, then run again."
        )
    if isinstance(exc, ItemFailed):
        return DistributedError(f"a Dask worker of {address!r} failed {exc}")
    return DistributedError(f"a Dask worker of {address!r} failed: {name}: {exc}")


def run_dask(
    tasks: list[Task],
    clean: dict[str, Any],
    scheduler: str | Client,
    progress: Progress | None = None,
    *,
    timeout: float | None = None,
    chunk: int | None = None,
) -> dict[str, ItemResult]:
    """Run the per-item tasks on a Dask cluster; the same results ``engine._run`` gives.

    Args:
        tasks: ``(unique_id, history, ItemSpec)`` per item, as the engine builds them.
        clean: cleansing options passed to every item.
        scheduler: a scheduler address (``tcp://host:8786``; a client is opened and closed
            here) or an existing ``distributed.Client`` (used as it is, left open).
        progress: called as ``progress(items done, items in total)`` as chunks finish.
        timeout: seconds to wait for the scheduler and for a first worker
            (default ``CONNECT_TIMEOUT``).
        chunk: items per Dask task (default: ``chunk_size`` for the cluster's threads).

    Raises:
        DistributedError: the scheduler cannot be reached, has no workers, or a worker failed.
    """
    timeout = CONNECT_TIMEOUT if timeout is None else float(timeout)
    total = len(tasks)
    if total == 0:
        return {}
    own = isinstance(scheduler, str)
    if isinstance(scheduler, str):
        client = _connect(scheduler, timeout)
        address = scheduler.strip()
    else:
        client, address = scheduler, str(scheduler.scheduler.address)
    live: set[Any] = set()  # futures of chunks on the cluster, not yet collected
    try:
        threads = _worker_threads(client, address, timeout)
        size = chunk or chunk_size(total, threads)
        pending = (tasks[i : i + size] for i in range(0, total, size))
        from distributed import as_completed

        done = as_completed(loop=client.loop)

        def submit_next() -> None:
            part = next(pending, None)
            if part is not None:
                # the chunk travels with its task; pure=False: a random key, no tokenizing
                fut = client.submit(_chunk_task, part, clean, pure=False)
                live.add(fut)
                done.add(fut)

        # A bounded window: every worker thread busy plus one chunk queued each, so memory
        # here and on the cluster holds a few chunks, not all 100,000 histories twice.
        for _ in range(2 * threads):
            submit_next()
        out: dict[str, ItemResult] = {}
        for fut in done:
            live.discard(fut)
            try:
                part = fut.result()
            except Exception as exc:  # noqa: BLE001 - every remote failure gets a plain message
                raise _failure(exc, address) from exc
            submit_next()
            for uid, res in part:
                out[uid] = res
            if progress is not None:
                progress(len(out), total)
        return out
    finally:
        if own:
            try:
                client.close(timeout=timeout)
            except Exception:  # noqa: BLE001 - closing a half-dead client must not hide the result
                pass
        elif live:
            client.cancel(list(live))  # a shared client: free our chunks on the cluster
