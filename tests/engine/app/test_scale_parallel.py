"""Default-run checks of the parallel paths (issue #10, "Tests that can't fail"): the Dask
path of :func:`engine.app.scale.run_chunks` on a small in-process LocalCluster, and
:func:`engine.simulation.simulate` with ``n_jobs=2`` equal to ``n_jobs=1``. The sweep-level
Dask test stays ``slow`` (tests/engine/app/test_backtest_cli.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.app.scale import run_chunks


def _chunk(lo: int, hi: int, *, scale: float) -> pd.DataFrame:
    """A picklable task: a small frame that depends on its args and the shared value."""
    x = np.arange(lo, hi, dtype=np.float64)
    return pd.DataFrame({"x": x, "y": np.sqrt(x) * scale}, index=pd.RangeIndex(lo, hi))


def test_dask_path_writes_the_same_chunks_as_in_process(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    tasks = [(f"c{i}", (10 * i, 10 * i + 7)) for i in range(5)]
    seen = []
    a = run_chunks(_chunk, tasks, tmp_path / "a", shared={"scale": 2.5})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        b = run_chunks(_chunk, tasks, tmp_path / "b", shared={"scale": 2.5},
                       scheduler=cluster.scheduler_address,
                       progress=lambda k, done, total: seen.append((done, total)))
    assert [p.name for p in a] == [p.name for p in b] == [f"c{i}.parquet" for i in range(5)]
    for pa, pb in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(pd.read_parquet(pa), pd.read_parquet(pb))
    np.testing.assert_allclose(pd.read_parquet(b[3])["y"], np.sqrt(np.arange(30, 37)) * 2.5,
                               rtol=1e-15)
    assert sorted(seen) == [(i, 5) for i in range(1, 6)]


def test_simulate_in_two_processes_equals_in_process():
    from engine.prices import with_cash
    from engine.simulation import simulate

    rng = np.random.default_rng(4)
    d = pd.bdate_range("2024-01-01", periods=120)
    px = with_cash(pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (120, 3)), 0)),
                                index=d, columns=["A", "B", "C"]), 2.0)
    weights = {}
    for v in range(6):
        w = rng.dirichlet(np.ones(4), size=6)
        weights[f"v{v}"] = pd.DataFrame(w, index=d[::20], columns=["A", "B", "C", "CASH"])
    kw = dict(fee_rate=0.001, chunk_variants=2, keep_orders=False, keep_portfolio=False)
    one = simulate(px, weights, n_jobs=1, **kw)
    two = simulate(px, weights, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one.equity, two.equity, rtol=0, atol=0)
    pd.testing.assert_frame_equal(one.returns, two.returns, rtol=0, atol=0)
    # the variants really differ (the comparison is not of six copies)
    assert one.equity.iloc[-1].nunique() == 6


#: Set at run time by the test below; a forked worker sees the parent's value, a spawned one
#: re-imports this module and sees the default.
_PARENT_STATE = {"mark": "default"}


def _read_mark(lo: int, hi: int, *, scale: float) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(lo, hi) * scale, "mark": _PARENT_STATE["mark"]})


def test_local_cluster_workers_start_from_this_process(tmp_path):
    """scheduler="local" forks its workers (no re-import, no numba cache reload) unless this
    process has started numba's OpenMP / TBB pool, and reports where its time went."""
    pytest.importorskip("dask.distributed")
    from engine.app.scale import local_start_method

    method = local_start_method()
    _PARENT_STATE["mark"] = "set in the parent"
    try:
        timings: dict = {}
        tasks = [(f"c{i}", (i, i + 3)) for i in range(4)]
        paths = run_chunks(_read_mark, tasks, tmp_path, scheduler="local", n_workers=2,
                           shared={"scale": 2.0}, timings=timings)
    finally:
        _PARENT_STATE["mark"] = "default"
    frames = [pd.read_parquet(p) for p in paths]
    np.testing.assert_array_equal(frames[2]["x"], [4.0, 6.0, 8.0])
    assert timings["start_method"] == method
    if method == "fork":  # the first chunk ran here, the others in forked workers
        assert all((f["mark"] == "set in the parent").all() for f in frames)
        assert set(timings) == {"in_process", "cluster_start", "scatter", "tasks", "close",
                                "start_method"}
    else:  # spawned workers re-import this module
        assert all((f["mark"] == "default").all() for f in frames)
        assert set(timings) == {"cluster_start", "scatter", "tasks", "close", "start_method"}


def test_no_fork_after_numba_started_an_openmp_or_tbb_pool(monkeypatch):
    from numba.np.ufunc import parallel

    from engine.app import scale

    monkeypatch.setattr(scale, "LOCAL_START_METHOD", "fork")
    monkeypatch.setattr(parallel, "_is_initialized", False)
    assert scale.local_start_method() == "fork"
    monkeypatch.setattr(parallel, "_is_initialized", True)
    for layer, want in (("omp", "spawn"), ("tbb", "spawn"), ("workqueue", "fork")):
        monkeypatch.setattr(parallel, "_threading_layer", layer)
        assert scale.local_start_method() == want, layer


def test_refusal_names_the_command(tmp_path):
    from engine.app.scale import claim_dir
    from engine.errors import ConfigError

    run_chunks(_chunk, [("c0", (0, 3))], tmp_path, shared={"scale": 1.0}, fingerprint="a")
    with pytest.raises(ConfigError, match="different stress run"):
        run_chunks(_chunk, [("c0", (0, 3))], tmp_path, shared={"scale": 1.0},
                   fingerprint="b", command="stress")
    with pytest.raises(ConfigError, match="different sweep run"):
        claim_dir(tmp_path, "c")


def test_fork_decided_after_the_first_chunk_ran_in_process(tmp_path, monkeypatch):
    """A forked local cluster runs its first chunk here first; if that chunk starts numba's
    OpenMP pool (any parallel=True kernel, numba.get_num_threads()), the workers must then be
    spawned, not forked from a process whose GNU OpenMP runtime does not survive a fork."""
    from numba.np.ufunc import parallel

    from engine.app import scale

    monkeypatch.setattr(scale, "LOCAL_START_METHOD", "fork")
    monkeypatch.setattr(parallel, "_is_initialized", False)
    seen = {}

    def chunk_starting_openmp(lo, hi, *, scale):
        monkeypatch.setattr(parallel, "_is_initialized", True)
        monkeypatch.setattr(parallel, "_threading_layer", "omp")
        return _chunk(lo, hi, scale=scale)

    def fake_dask(fn, todo, out_dir, scheduler, shared, n_workers, progress, done, total,
                  timings, method):
        seen["method"], seen["todo"] = method, [k for k, _ in todo]
        return done

    monkeypatch.setattr(scale, "_run_dask", fake_dask)
    tasks = [(f"c{i}", (i, i + 3)) for i in range(3)]
    run_chunks(chunk_starting_openmp, tasks, tmp_path, scheduler="local",
               shared={"scale": 1.0})
    assert (tmp_path / "c0.parquet").exists()  # the first chunk ran here
    assert seen == {"method": "spawn", "todo": ["c1", "c2"]}
