"""``flowbt backtest`` and ``flowbt sweep`` end to end on the bundled data."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from engine.app.cli import main
from engine.app.config import load_config
from engine.app.runner import run_backtest
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "core_satellite.toml"


def test_backtest_writes_every_output(tmp_path, capsys):
    out = tmp_path / "bt"
    rc = main(["backtest", str(EXAMPLE), "--out", str(out), "--start", "2011-02-01",
               "--end", "2013-06-28"])
    assert rc == 0
    for f in ("equity.parquet", "weights.parquet", "orders.parquet", "triggers.csv",
              "metrics.csv", "run.json"):
        assert (out / f).exists(), f
    equity = pd.read_parquet(out / "equity.parquet")
    assert list(equity.columns) == ["core_satellite_reference", "VOO", "RSP", "static"]
    assert equity.index[0] == pd.Timestamp("2011-02-01")
    assert equity.index[-1] == pd.Timestamp("2013-06-28")
    np.testing.assert_allclose(equity.iloc[0], 100_000.0)
    metrics = pd.read_csv(out / "metrics.csv", index_col="variant")
    assert {"sharpe_ratio", "max_drawdown", "turnover_per_year", "total_fees",
            "tracking_error_vs_VOO", "information_ratio_vs_static"} <= set(metrics.columns)
    assert metrics.loc["VOO", "tracking_error_vs_VOO"] == 0.0
    trig = pd.read_csv(out / "triggers.csv")
    assert list(trig.columns) == ["date", "variant", "rule", "action", "detail"]
    assert set(trig["rule"]) == {"iwm_up_10pct_add_iwm", "xlk_correction_5pct_vug_15",
                                 "sp500_down_7pct_core_70"}
    w = pd.read_parquet(out / "weights.parquet")
    assert list(w.columns) == ["date", "variant", "asset", "weight"]
    orders = pd.read_parquet(out / "orders.parquet")
    assert (orders["date"] > pd.Timestamp("2011-02-01")).all()  # next-bar execution
    info = json.loads((out / "run.json").read_text())
    assert info["config_hash"] == load_config(EXAMPLE).hash
    assert len(info["data_hash"]) == 64 and info["packages"]["vectorbt"].startswith("1.2")
    assert "trigger events" in capsys.readouterr().out


def test_the_static_benchmark_is_the_strategy_without_triggers():
    cfg = load_config(EXAMPLE)
    res = run_backtest(cfg, end="2012-12-31")
    w = res.sim.weights["static"]
    last = w.index[w.index.get_indexer([pd.Timestamp("2012-12-03")])[0] + 1]
    np.testing.assert_allclose(w.loc[last, ["RSP", "VOO", "VXUS", "VUG", "CASH"]],
                               [.25, .2, .15, .1, .05], atol=2e-3)  # fees shave a little
    assert (res.sim.log["variant"] == cfg.name).all()


def test_missing_price_of_a_held_asset_is_exit_2(tmp_path, capsys):
    cfg = EXAMPLE.read_text().replace('start = "2011-02-01"', 'start = "2010-06-01"')
    f = tmp_path / "early.toml"
    f.write_text(cfg)
    rc = main(["backtest", str(f), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "holds VOO on 2010-06-02" in err and "start/end" in err


def test_bad_config_is_exit_2_with_the_key_path(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text(EXAMPLE.read_text().replace("fee_rate = 0.0005", "fee_rate = -1"))
    assert main(["backtest", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "simulation.fee_rate = -1" in capsys.readouterr().err


def small_sweep(tmp_path):
    text = (ROOT / "examples" / "sweep_triggers.toml").read_text()
    head = text.split("[sweep]")[0].replace('end = "2025-09-26"', 'end = "2012-12-31"')
    f = tmp_path / "small_sweep.toml"
    f.write_text(head + '[sweep]\n"strategy.triggers.1.condition.threshold" = [-0.03, -0.10, '
                 '-0.2]\n"strategy.triggers.2.condition.threshold" = [-0.05, -0.1]\n')
    return f


def test_sweep_writes_one_row_per_variant_and_resumes(tmp_path):
    f = small_sweep(tmp_path)
    out = tmp_path / "sw"
    assert main(["sweep", str(f), "--out", str(out), "--chunk", "4"]) == 0
    m = pd.read_csv(out / "metrics.csv")
    assert len(m) == 6 and m["variant"].tolist() == [f"v{i:05d}" for i in range(6)]
    assert m["strategy.triggers.1.condition.threshold"].tolist() == [-0.03] * 2 + [-0.1] * 2 + [
        -0.2] * 2
    assert {"tracking_error_vs_static", "n_trigger_events"} <= set(m.columns)
    # Variant v00001 equals a plain backtest with the same overrides.
    cfg = load_config(f, overrides={"strategy.triggers.1.condition.threshold": -0.03,
                                    "strategy.triggers.2.condition.threshold": -0.1})
    bt = run_backtest(cfg).sim.metrics.loc[cfg.name]
    np.testing.assert_allclose(m.loc[1, ["sharpe_ratio", "final_value", "tracking_error_vs_VOO"]]
                               .astype(float),
                               bt[["sharpe_ratio", "final_value", "tracking_error_vs_VOO"]]
                               .astype(float), rtol=1e-10)
    # Resume: delete one chunk, the rerun rewrites only it and gives the same table.
    chunks = sorted((out / "chunks").glob("*.parquet"))
    assert len(chunks) == 2
    kept = chunks[0].stat().st_mtime_ns
    chunks[1].unlink()
    assert main(["sweep", str(f), "--out", str(out), "--chunk", "4"]) == 0
    assert chunks[0].stat().st_mtime_ns == kept
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), m)


def test_sweep_refuses_to_resume_from_another_configs_chunks(tmp_path, capsys):
    """A changed fee (or grid, data, chunking) into the same --out must not reuse old chunks:
    the rerun is refused before anything is overwritten; a new --out gives the new numbers."""
    f = small_sweep(tmp_path)
    out = tmp_path / "sw"
    assert main(["sweep", str(f), "--out", str(out), "--chunk", "4"]) == 0
    before = pd.read_csv(out / "metrics.csv")
    f.write_text(f.read_text().replace("fee_rate = 0.0005", "fee_rate = 0.02"))
    assert main(["sweep", str(f), "--out", str(out), "--chunk", "4"]) == 2
    assert "holds chunks of a different sweep" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), before)  # untouched
    assert main(["sweep", str(f), "--out", str(tmp_path / "sw2"), "--chunk", "4"]) == 0
    after = pd.read_csv(tmp_path / "sw2" / "metrics.csv")
    assert (after["final_value"] < before["final_value"]).all()  # 2% fees cost money
    # a different chunking of the same grid is a different run too
    assert main(["sweep", str(f), "--out", str(tmp_path / "sw2"), "--chunk", "3"]) == 2


@pytest.mark.slow
def test_sweep_on_a_local_dask_cluster_matches_in_process(tmp_path):
    pytest.importorskip("dask.distributed")
    f = small_sweep(tmp_path)
    assert main(["sweep", str(f), "--out", str(tmp_path / "a"), "--chunk", "2"]) == 0
    assert main(["sweep", str(f), "--out", str(tmp_path / "b"), "--chunk", "2",
                 "--scheduler", "local"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / "metrics.csv"),
                                  pd.read_csv(tmp_path / "b" / "metrics.csv"))
    shutil.rmtree(tmp_path / "a")


def test_regime_backtest_writes_the_scenario_tree(tmp_path):
    """README "Concepts": scenario responses with probabilities -> scenarios.csv is a scenario
    tree (each scenario's allocation on its own paths, and the probability-weighted mixture of
    the outcome distributions); other strategies write none. The mixture's quantiles are
    pinned against the weighted union in tests/engine/stress/test_tree.py."""
    out = tmp_path / "reg"
    assert main(["backtest", str(ROOT / "examples" / "regime.toml"), "--out", str(out)]) == 0
    t = pd.read_csv(out / "scenarios.csv")
    assert set(t["scenario"]) == {"base", "bull", "bear", "mixture"}
    mine = t[t["variant"] == "regime_reference"].set_index("scenario")
    branches = ["base", "bull", "bear"]
    np.testing.assert_allclose(mine.loc[branches, "probability"].sum(), 1.0)
    # The mixture's mean is the probability-weighted mean of the branches (expectations are
    # linear); its quantiles are not the weighted average of the branch quantiles.
    want = (mine.loc[branches, "probability"] * mine.loc[branches, "expected_return"]).sum()
    np.testing.assert_allclose(mine.loc["mixture", "expected_return"], want, rtol=1e-9)
    avg_p05 = (mine.loc[branches, "probability"] * mine.loc[branches, "return_p05"]).sum()
    assert abs(mine.loc["mixture", "return_p05"] - avg_p05) > 1e-4
    # Bear paths (reversed drift, 1.5x vol, -5 % day) are the worst branch.
    assert mine.loc["bear", "expected_return"] < mine.loc["base", "expected_return"] \
        < mine.loc["bull", "expected_return"]
    assert bool(mine.loc["bear", "worst_branch"])
    assert {"regret_vs_VOO", "regret_vs_static"} <= set(t.columns)
    assert main(["backtest", str(EXAMPLE), "--out", str(tmp_path / "cs")]) == 0
    assert not (tmp_path / "cs" / "scenarios.csv").exists()
