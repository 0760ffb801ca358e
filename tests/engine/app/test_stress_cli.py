"""``flowbt stress``: Monte Carlo chunks resume after an interruption, chunking does not change
results, config errors, and the output files the report reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.app.cli import main
from engine.app.config import load_config
from engine.app.stress import run_stress
from engine.errors import ConfigError
from tests.conftest import ROOT

CONFIG = ROOT / "examples" / "stress_core_satellite.toml"


def _cfg(**over):
    base = {"stress.sections": ["montecarlo"], "stress.montecarlo.n_paths": 240,
            "stress.montecarlo.chunk_paths": 60, "stress.montecarlo.horizon_days": 120}
    base.update(over)
    return load_config(CONFIG, overrides=base)


def _sorted(df):
    return df.sort_values(["variant", "path"]).reset_index(drop=True)


class Interrupt(Exception):
    pass


def test_interrupted_monte_carlo_resumes_with_nothing_lost_or_duplicated(tmp_path):
    cfg = _cfg()
    ref = run_stress(cfg, tmp_path / "ref")
    whole = pd.read_parquet(tmp_path / "ref" / "montecarlo.parquet")

    def stop_after_two(key, done, total):
        if done == 2:
            raise Interrupt(key)

    out = tmp_path / "run"
    with pytest.raises(Interrupt):
        run_stress(cfg, out, progress=stop_after_two)
    written = sorted((out / "chunks" / "montecarlo").glob("*.parquet"))
    assert len(written) == 2 and not (out / "montecarlo.parquet").exists()
    mtimes = {p.name: p.stat().st_mtime_ns for p in written}
    seen = []
    run_stress(cfg, out, progress=lambda k, d, t: seen.append(k))
    # only the missing chunks ran (keys named by their section for the progress bar)
    assert seen == ["montecarlo/paths_0000120", "montecarlo/paths_0000180"]
    assert {p.name: p.stat().st_mtime_ns for p in written} == mtimes
    got = pd.read_parquet(out / "montecarlo.parquet")
    assert not got.duplicated(["path", "variant"]).any()
    pd.testing.assert_frame_equal(got, whole)
    assert json.loads((out / "run.json").read_text())["montecarlo"]["n_chunks"] == 4
    assert ref["montecarlo"]["fingerprint"]


def test_results_do_not_depend_on_the_chunking(tmp_path):
    a = run_stress(_cfg(), tmp_path / "a")
    b = run_stress(_cfg(**{"stress.montecarlo.chunk_paths": 97}), tmp_path / "b")
    assert a["montecarlo"]["n_chunks"] != b["montecarlo"]["n_chunks"]
    fa = pd.read_parquet(tmp_path / "a" / "montecarlo.parquet")
    fb = pd.read_parquet(tmp_path / "b" / "montecarlo.parquet")
    pd.testing.assert_frame_equal(_sorted(fa), _sorted(fb))
    for f in ("mc_summary.csv", "trigger_probability.csv", "mc_fan.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / f),
                                      pd.read_csv(tmp_path / "b" / f))


def test_monte_carlo_fan_and_the_report_rebuilt_from_the_files(tmp_path):
    from engine.app.report import write_run_report
    from engine.report import build_report

    run_stress(_cfg(), tmp_path)
    mc = pd.read_parquet(tmp_path / "montecarlo.parquet")
    assert not [c for c in mc.columns if c.startswith("value_d")]  # kept in mc_fan.csv only
    fan = pd.read_csv(tmp_path / "mc_fan.csv")
    assert list(fan.columns) == ["variant", "day", "date", "n_paths", "p05", "p25", "p50",
                                 "p75", "p95"]
    assert set(fan["variant"]) == set(mc["variant"]) and (fan["n_paths"] == 240).all()
    for v, sub in fan.groupby("variant"):
        assert sub["day"].iloc[0] == 0 and sub["day"].iloc[-1] == 120
        assert sub["day"].is_monotonic_increasing and len(sub) <= 64
        first = sub.iloc[0]
        assert first[["p05", "p25", "p50", "p75", "p95"]].tolist() == [100_000.0] * 5
        q = sub[["p05", "p25", "p50", "p75", "p95"]].to_numpy()
        assert (np.diff(q, axis=1) >= 0).all()
        # The last day's bands are the percentiles of the paths' final values (float32).
        final = mc.loc[mc["variant"] == v, "final_value"].to_numpy()
        want = np.percentile(final.astype(np.float32).astype(np.float64), [5, 25, 50, 75, 95])
        np.testing.assert_allclose(q[-1], want, rtol=1e-12)
        np.testing.assert_allclose(q[-1], np.percentile(final, [5, 25, 50, 75, 95]),
                                   rtol=1e-6)
    html = write_run_report(tmp_path).read_text(encoding="utf-8")
    assert "Monte Carlo fan" in html
    assert build_report(tmp_path) == html


def test_monte_carlo_outputs(tmp_path):
    run_stress(_cfg(), tmp_path)
    mc = pd.read_parquet(tmp_path / "montecarlo.parquet")
    assert set(mc["variant"]) == {"core_satellite_reference", "VOO", "RSP", "static"}
    assert len(mc) == 4 * 240
    eq_final = mc["final_value"] / 100_000.0 - 1.0
    np.testing.assert_allclose(mc["total_return"], eq_final, rtol=1e-12)
    np.testing.assert_allclose(mc["cagr"], (1 + mc["total_return"]) ** (252 / 120) - 1,
                               rtol=1e-12)
    assert (mc["max_drawdown"] <= 0).all()
    tp = pd.read_csv(tmp_path / "trigger_probability.csv")
    strat = mc[mc["variant"] == "core_satellite_reference"]
    for _, row in tp.iterrows():
        d = strat[f"fire_day_{row['trigger']}"]
        assert row["n_fired"] == d.notna().sum()
        assert row["wilson_low"] <= row["probability"] <= row["wilson_high"]
        if row["n_fired"]:
            assert row["median_days_to_fire"] == d.median()
    s = pd.read_csv(tmp_path / "mc_summary.csv")
    tr = s[(s["variant"] == "VOO") & (s["metric"] == "total_return")].iloc[0]
    x = mc.loc[mc["variant"] == "VOO", "total_return"].to_numpy()
    assert tr["var95"] == pytest.approx(-np.quantile(x, 0.05), rel=1e-12)
    assert tr["cvar95"] == pytest.approx(np.mean(-x[-x >= tr["var95"]]), rel=1e-12)
    assert tr["p50"] == pytest.approx(np.median(x), rel=1e-12)


def test_tree_probabilities_must_sum_to_one(tmp_path, capsys):
    text = CONFIG.read_text().replace("probability = 0.15", "probability = 0.14")
    f = tmp_path / "bad.toml"
    f.write_text(text)
    cfg = load_config(f)
    with pytest.raises(ConfigError, match=r"stress\.tree\.branches\.\*\.probability"):
        run_stress(cfg, tmp_path / "out")
    assert main(["stress", str(f), "--out", str(tmp_path / "o2")]) == 2
    assert "sum to 0.99" in capsys.readouterr().err


def test_stress_refuses_a_changed_config_into_the_same_out(tmp_path):
    run_stress(_cfg(), tmp_path)
    with pytest.raises(ConfigError, match="different"):
        run_stress(_cfg(**{"stress.montecarlo.horizon_days": 60}), tmp_path)


@pytest.mark.slow
def test_local_dask_cluster_gives_the_in_process_results(tmp_path):
    run_stress(_cfg(), tmp_path / "a")
    run_stress(_cfg(), tmp_path / "b", scheduler="local")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "montecarlo.parquet"),
                                  pd.read_parquet(tmp_path / "b" / "montecarlo.parquet"))


def _paths_cfg(chunk):
    return load_config(CONFIG, overrides={
        "stress.sections": ["shocks", "tree"], "stress.montecarlo.chunk_paths": chunk,
        "stress.shocks": [{"name": "sp500_down_7pct", "factor": "VOO", "move": -0.07,
                           "horizon_days": 30, "n_paths": 50},
                          {"name": "usdkrw_down_5pct", "factor": "USD/KRW", "move": -0.05,
                           "horizon_days": 30, "n_paths": 50}],
        "stress.tree.n_paths": 50, "stress.tree.horizon_days": 30})


@pytest.mark.slow
def test_shocks_and_tree_run_chunked_resume_and_do_not_depend_on_the_chunking(tmp_path):
    ref = tmp_path / "ref"
    run_stress(_paths_cfg(37), ref)  # chunks of 37: 2 per shock / branch

    def stop_in_the_first_shock(key, done, total):
        if done == 2 and key == "shock_000/paths_0000020":  # progress keys name the section
            raise Interrupt(key)

    out = tmp_path / "run"  # chunks of 20: 3 per shock / branch, interrupted and resumed
    with pytest.raises(Interrupt):
        run_stress(_paths_cfg(20), out, progress=stop_in_the_first_shock)
    assert not (out / "chunks" / "shock_001").exists()
    seen = []
    run_stress(_paths_cfg(20), out, progress=lambda k, d, t: seen.append(k))
    assert seen[0] == "shock_000/paths_0000040"  # the interrupted shock resumed at its third chunk
    assert len(seen) == 1 + 4 * 3
    dirs = sorted(p.name for p in (out / "chunks").iterdir())
    assert dirs == ["branch_000", "branch_001", "branch_002", "shock_000", "shock_001"]
    assert len(list((out / "chunks" / "shock_001").glob("*.parquet"))) == 3  # 20 + 20 + 10
    for f in ("shocks.csv", "shock_betas.csv", "scenarios.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / f), pd.read_csv(ref / f))


def test_run_paths_chunked_equals_in_memory_and_refuses_other_inputs(tmp_path):
    """The runner behind shocks and branches: chunked on disk = in memory, whatever the chunk;
    a changed first-day move into the same directory is refused, not mixed."""
    from engine.app.stress_sections import run_paths
    from strategies.core_satellite import CoreSatelliteParams

    rng = np.random.default_rng(2)
    rets = rng.normal(0.0003, 0.01, (300, 3))
    rets[:, 2] = 0.0
    shared = dict(returns=rets, start_prices=np.array([100.0, 50.0, 1.0]),
                  columns=["A", "B", "CASH"], last_date="2025-09-26", horizon=21,
                  block_length=5.0, seed=4, sim=dict(fee_rate=0.001, slippage_rate=0.0,
                                                     execution_lag_bars=1, init_cash=1e5),
                  variants={"mix": CoreSatelliteParams(sleeves={"c": {"A": 0.5, "B": 0.4,
                                                                      "CASH": 0.1}},
                                                       rebalance="monthly")})
    kw = dict(first_day=np.array([-0.1, 0.0, 0.0]), lead_in_days=1, stream=1_000,
              marks=(1, 20))
    mem = run_paths("shock_000", 23, shared, **kw)
    a = run_paths("shock_000", 23, shared, out=tmp_path / "a", chunk=5, **kw)
    b = run_paths("shock_000", 23, shared, out=tmp_path / "b", chunk=23, **kw)
    assert len(list((tmp_path / "a" / "chunks" / "shock_000").glob("*.parquet"))) == 5
    pd.testing.assert_frame_equal(a, mem)
    pd.testing.assert_frame_equal(b, mem)
    # By hand: A (half the portfolio) falls 10 % on the shock day, B and cash do not move.
    np.testing.assert_allclose(mem["return_1d"], 0.5 * -0.1, rtol=1e-3)
    with pytest.raises(ConfigError, match="different stress run"):
        run_paths("shock_000", 23, shared, out=tmp_path / "a", chunk=5,
                  **{**kw, "first_day": np.array([-0.2, 0.0, 0.0])})
