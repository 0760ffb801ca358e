"""Chunked execution for sweeps and Monte Carlo paths: in process or on Dask distributed.

:func:`run_chunks` runs ``fn(*args, **shared)`` for every ``(key, args)`` task and writes each
result (a DataFrame) to ``out_dir/<key>.parquet`` as soon as it finishes. A rerun skips every
task whose file exists, so an interrupted sweep resumes where it stopped. Files are written to a
temporary name and renamed, so a half-written chunk never counts as done. A ``fingerprint`` of
the run (config, data, grid, chunking) is written beside the chunks; a rerun with a different
fingerprint into the same directory is refused, so stale chunks are never mixed into new results.

* ``scheduler=None`` (default): tasks run one after the other in this process, in order
  (deterministic, no extra dependency).
* ``scheduler="local"``: a ``dask.distributed.LocalCluster`` with ``n_workers`` single-threaded
  worker processes (one per core) is started for the run. Where the OS allows it (Linux,
  macOS) the workers are forked from this process (:func:`local_start_method`) instead of
  spawned: a spawned worker re-imports vectorbt, pandas and the engine (about 3-5 s per worker
  on the 2-core reference machine) and reloads every numba kernel from the cache, which cost
  the 10,000-path Monte Carlo 3.6x its in-process time; a forked worker starts with all of
  that already in memory (start-up about 0.3 s; benchmarks/results/stress.md).
* ``scheduler="tcp://host:8786"``: an existing Dask scheduler.

``shared`` objects (the prepared context, benchmark returns) are scattered to every worker once
instead of being shipped with each task. Results are the same whichever way they run: each
chunk depends only on its own arguments.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from engine.errors import ConfigError

__all__ = ["FINGERPRINT_FILE", "LOCAL_START_METHOD", "chunk_path", "claim_dir", "run_chunks"]

#: File beside the chunks naming the run they belong to.
FINGERPRINT_FILE = "FINGERPRINT"

#: How ``scheduler="local"`` starts its worker processes (``distributed.worker.
#: multiprocessing-method``): ``fork`` on Linux -- the workers inherit the imported modules and
#: compiled kernels -- else ``spawn`` (macOS system frameworks are not fork-safe, which is why
#: Python stopped forking there by default). See :func:`local_start_method` for when a fork is
#: not safe and ``spawn`` is used anyway.
LOCAL_START_METHOD = ("fork" if sys.platform.startswith("linux")
                      and "fork" in multiprocessing.get_all_start_methods() else "spawn")


def local_start_method() -> str:
    """:data:`LOCAL_START_METHOD`, unless this process has launched numba's OpenMP or TBB
    thread pool (a ``parallel=True`` kernel ran, e.g. a flow signal): GNU OpenMP does not
    survive a fork and TBB must not be forked from a non-main thread (numba's threading-layer
    notes; Dask forks from its event-loop thread), so the workers are then spawned.
    """
    if LOCAL_START_METHOD != "fork":
        return LOCAL_START_METHOD
    try:
        from numba.np.ufunc import parallel
    except ImportError:  # pragma: no cover - numba is a dependency
        return LOCAL_START_METHOD
    if getattr(parallel, "_is_initialized", False) and \
            getattr(parallel, "_threading_layer", None) in ("omp", "tbb"):
        return "spawn"
    return LOCAL_START_METHOD


def chunk_path(out_dir: Path, key: str) -> Path:
    """File holding the result of task ``key``."""
    return Path(out_dir) / f"{key}.parquet"


def _write(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def run_chunks(
    fn: Callable[..., pd.DataFrame],
    tasks: Sequence[tuple[str, tuple]],
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    shared: dict | None = None,
    n_workers: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
    fingerprint: str | None = None,
    command: str = "sweep",
    timings: dict | None = None,
) -> list[Path]:
    """Run every task not already written; return the result paths of all tasks, in order.

    Parameters
    ----------
    fn : callable
        Module-level function (picklable) returning a DataFrame.
    tasks : sequence of (key, args)
        ``key`` names the output file; keys must be unique.
    out_dir : path
        Directory of the chunk files (created).
    scheduler : str, optional
        None = in process; ``"local"`` = a local Dask cluster; else a Dask scheduler address.
    shared : dict, optional
        Keyword arguments passed to every call (scattered once on Dask).
    n_workers : int
        Worker processes of the local cluster.
    progress : callable, optional
        Called as ``progress(key, done, total)`` after each chunk is written.
    fingerprint : str, optional
        Identity of the run (a hash of everything the chunks depend on). Written to
        ``out_dir/FINGERPRINT``; if the directory already holds chunks of another fingerprint
        (or chunks without one) the call raises instead of resuming from them.
    command : str
        The flowbt command whose chunks these are (named in the refusal message).
    timings : dict, optional
        Filled with seconds spent: ``tasks`` (running and writing the chunks); on Dask also
        ``cluster_start`` (starting the local cluster or connecting), ``scatter`` (shipping
        ``shared`` to every worker), ``close``, ``start_method`` (a local cluster's: ``fork``
        or ``spawn``) and for a forked local cluster ``in_process`` (its first chunk, run
        here before the fork).

    Raises
    ------
    ConfigError
        ``out_dir`` holds chunks of a different run.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fingerprint is not None:
        claim_dir(out_dir, fingerprint, command)
    keys = [k for k, _ in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    shared = dict(shared or {})
    todo = [(k, a) for k, a in tasks if not chunk_path(out_dir, k).exists()]
    total, done = len(tasks), len(tasks) - len(todo)
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    method = local_start_method() if scheduler == "local" else None
    if scheduler is None or (method == "fork" and todo):
        # In process; before forking a local cluster, its first task runs here: that loads
        # every numba kernel the tasks use into this process, so the forked workers inherit
        # them (a worker forked cold loaded them itself at ~10 s, and its later chunks ran
        # ~3x slower than here: measured, benchmarks/bench_stress.py).
        first = todo if scheduler is None else todo[:1]
        for key, args in first:
            _write(fn(*args, **shared), chunk_path(out_dir, key))
            done += 1
            if progress:
                progress(key, done, total)
        todo = todo[len(first):]
        timings["in_process"] = time.perf_counter() - t0
        if scheduler == "local":
            # again: that first chunk may have started numba's OpenMP / TBB pool itself
            method = local_start_method()
    if scheduler is None:
        timings["tasks"] = timings.pop("in_process")
    elif todo:
        done = _run_dask(fn, todo, out_dir, scheduler, shared, n_workers, progress, done, total,
                         timings, method)
    return [chunk_path(out_dir, k) for k in keys]


def claim_dir(out_dir: Path, fingerprint: str, command: str = "sweep") -> None:
    """Tie ``out_dir`` to one run: refuse to resume from another run's chunks.

    ``command`` names the flowbt command (``sweep``, ``stress``) in the refusal message.
    """
    fp_file = out_dir / FINGERPRINT_FILE
    old = fp_file.read_text().strip() if fp_file.exists() else None
    has_chunks = any(out_dir.glob("*.parquet"))
    if has_chunks and old != fingerprint:
        raise ConfigError(
            "--out", str(out_dir.parent),
            f"holds chunks of a different {command} run (the config, data, "
            f"{'grid' if command == 'sweep' else 'paths'} or chunking changed); "
            "use a new --out directory or delete the old one", )
    if old != fingerprint:
        fp_file.write_text(fingerprint + "\n")


def _run_dask(fn, todo, out_dir, scheduler, shared, n_workers, progress, done, total,
              timings, method) -> int:
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    t0 = time.perf_counter()
    cluster = None
    if scheduler == "local":
        timings["start_method"] = method
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    t1 = time.perf_counter()
    timings["cluster_start"] = t1 - t0
    try:
        # A list keeps each object whole (scattering a dict would scatter its values); one
        # scatter of all of them, broadcast to every worker, instead of one per task.
        names = list(shared)
        futs = client.scatter([shared[k] for k in names], broadcast=True) if names else []
        scattered = dict(zip(names, futs, strict=True))
        t2 = time.perf_counter()
        timings["scatter"] = t2 - t1
        futures = {}
        for key, args in todo:
            fut = client.submit(fn, *args, **scattered, pure=False, key=f"flowbt-{key}")
            futures[fut] = key
        for fut in as_completed(futures):
            key = futures[fut]
            _write(fut.result(), chunk_path(out_dir, key))
            fut.release()
            done += 1
            if progress:
                progress(key, done, total)
        timings["tasks"] = time.perf_counter() - t2
    finally:
        t3 = time.perf_counter()
        client.close()
        if cluster is not None:
            cluster.close()
        timings["close"] = time.perf_counter() - t3
    return done
