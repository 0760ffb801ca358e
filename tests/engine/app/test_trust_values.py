"""#10 items 12, 14, 15, 17: a KRW flow refused by a USD rule, annualized figures of short runs
flagged, benchmarks bought on the strategy's first decision, run directories with a manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.app.cli import main
from engine.app.config import load_config
from engine.app.outputs import JOURNAL, RunDir
from engine.app.runner import run_backtest
from engine.errors import ConfigError
from strategies.base import CASH, Context
from strategies.flow_warnings import FlowWarnings, FlowWarningsParams
from tests.conftest import ROOT

EX = ROOT / "examples"
RESULTS = ["equity.parquet", "metrics.csv", "orders.parquet", "quality.json", "run.json", "triggers.csv",
           "weights.parquet"]


# ------------------------------------------------------------------------------ item 12
def _weekly_ctx(currency: str | None) -> Context:
    dates = pd.bdate_range("2024-01-01", periods=15)
    tickers = ["RSP", "SPY", "VOO", "IVV", "QQQ"]
    px = pd.DataFrame(100.0, index=dates, columns=[*tickers, "VXUS", "XLI", "XLF", "MDY", "XLP",
                                                   "VUG"]).assign(**{CASH: 1.0})
    weekly = pd.DataFrame(np.nan, index=dates, columns=tickers)
    weekly.loc[dates[dates.day_of_week == 4]] = -1e9  # a weekly outflow total each Friday
    monthly = pd.DataFrame(np.nan, index=dates, columns=tickers)
    monthly.loc[dates[-1]] = -1e9
    if currency is not None:
        weekly.attrs["currency"] = monthly.attrs["currency"] = currency
    return Context(px, signals={"etf_flow_weekly": weekly, "etf_flow_monthly": monthly})


def test_a_krw_flow_signal_is_refused_by_a_usd_threshold_rule():
    with pytest.raises(ConfigError) as exc:
        FlowWarnings(FlowWarningsParams()).decide(_weekly_ctx("KRW"))
    err = exc.value
    assert err.key_path == "strategy.warnings.0.signal"
    assert str(err) == ("strategy.warnings.0.signal = 'etf_flow_weekly': warning rsp_outflow_2w:"
                        " the signal's flows are in KRW but threshold_usd = 0 is in USD; use a "
                        "market whose ETF flows are in USD (data.source = 'us_etf')")
    # USD (and a frame without a currency, taken as USD) decide as before
    d = FlowWarnings(FlowWarningsParams()).decide(_weekly_ctx("USD"))
    assert "rsp_outflow_2w" in set(d.log["rule"])
    assert len(FlowWarnings(FlowWarningsParams()).decide(_weekly_ctx(None)).log) == len(d.log)


def test_etf_flows_carry_the_markets_currency():
    import datasets
    from engine.app.inputs import etf_flow_usd

    krw = etf_flow_usd(datasets.make_market(60, 20, 4, seed=1), freq="W")
    assert krw.attrs["currency"] == "KRW"
    usd = etf_flow_usd(datasets.load_us_market("2021-09-01", "2021-10-29"), freq="D")
    assert usd.attrs["currency"] == "USD"


# ------------------------------------------------------------------------------ item 14
def test_three_session_backtest_flags_its_annualized_figures(tmp_path, capsys):
    out = tmp_path / "short"
    assert main(["backtest", str(EX / "core_satellite.toml"), "--out", str(out),
                 "--start", "2011-02-01", "--end", "2011-02-03"]) == 0
    m = pd.read_csv(out / "metrics.csv", index_col="variant")
    np.testing.assert_allclose(m["years"], 3 / 252, rtol=1e-12)
    assert not m["annualized_valid"].any()
    printed = capsys.readouterr().out
    assert ("warning: annualized figures (annualized_return, annualized_volatility, "
            "sharpe_ratio, sortino_ratio, calmar_ratio, turnover_per_year) extrapolate a run of "
            "3 bars (0.01 years) to a year") in printed
    assert any("run of 3 bars" in w for w in json.loads((out / "run.json").read_text())
               ["warnings"])


def test_a_year_or_more_is_valid():
    from engine.metrics import performance_metrics

    r = pd.DataFrame({"a": np.r_[0.0, np.full(251, 0.001)]},
                     index=pd.bdate_range("2020-01-01", periods=252))
    m = performance_metrics(r)
    assert m.loc["a", "years"] == 1.0 and bool(m.loc["a", "annualized_valid"])
    m = performance_metrics(r.iloc[:251])
    assert not bool(m.loc["a", "annualized_valid"])


# ------------------------------------------------------------------------------ item 15
@pytest.fixture(scope="module")
def timing_runs():
    """Market flow timing on the bundled KRX data, fee-free, 2005-01 .. 2007-06: its signal
    (250-bar z-score) warms up for 13 months, in cash."""
    over = {"simulation.fee_rate": 0.0, "simulation.slippage_rate": 0.0}
    default = load_config(EX / "market_flow_timing.toml", overrides=over)
    first_bar = load_config(EX / "market_flow_timing.toml",
                            overrides={**over, "simulation.benchmark_start": "first_bar"})
    return (run_backtest(default, end="2007-06-29"), run_backtest(first_bar, end="2007-06-29"))


def test_benchmarks_are_bought_on_the_strategys_first_decision(timing_runs):
    res, _ = timing_runs
    px = res.prepared.market.prices["KOSPI"]
    w = res.decisions[res.config.name].weights
    first = w.index[w.notna().any(axis=1).to_numpy().argmax()]
    assert first == pd.Timestamp("2006-02-01")  # after the 13-month warm-up
    exe = px.index[px.index.get_loc(first) + 1]  # traded at the next close
    eq = res.sim.equity["KOSPI"]
    assert (eq.loc[:exe] == eq.iloc[0]).all()  # in cash like the strategy until then
    # from then on: 100 % KOSPI, so the equity moves exactly with the index (no fees)
    np.testing.assert_allclose((eq.loc[exe:] / eq.loc[exe]).to_numpy(),
                               (px.loc[exe:] / px.loc[exe]).to_numpy(), rtol=1e-9)


def test_benchmark_start_first_bar_keeps_the_old_comparison(timing_runs):
    _, res = timing_runs
    px = res.prepared.market.prices["KOSPI"]
    eq = res.sim.equity["KOSPI"]
    exe = px.index[1]
    np.testing.assert_allclose((eq.loc[exe:] / eq.loc[exe]).to_numpy(),
                               (px.loc[exe:] / px.loc[exe]).to_numpy(), rtol=1e-9)
    assert px.loc["2006-02-02"] / px.iloc[1] > 1.3  # KOSPI rose during the warm-up


def test_the_benchmark_start_is_printed_and_in_run_json(tmp_path, capsys):
    out = tmp_path / "mft"
    assert main(["backtest", str(EX / "market_flow_timing.toml"), "--out", str(out),
                 "--end", "2007-06-29"]) == 0
    printed = capsys.readouterr().out
    assert ("benchmarks bought on the strategy's first decision 2006-02-01 (it holds cash from "
            "2005-01-03 while its signals warm up); set simulation.benchmark_start = "
            "\"first_bar\" to buy them on the first bar") in printed
    info = json.loads((out / "run.json").read_text())
    assert info["benchmark_start"] == "first_decision"
    assert info["benchmarks_from"] == "2006-02-01"


# ------------------------------------------------------------------------------ item 17
def test_rerun_into_another_runs_directory_removes_its_stale_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["backtest", str(EX / "regime.toml"), "--out", str(out),
                 "--end", "2012-12-31"]) == 0
    assert (out / "scenarios.csv").exists()
    first = json.loads((out / "run.json").read_text())
    assert first["files"] == sorted([*RESULTS, "scenarios.csv"])
    assert main(["backtest", str(EX / "core_satellite.toml"), "--out", str(out),
                 "--end", "2012-12-31"]) == 0
    assert "removed 1 stale file(s) of an earlier run: scenarios.csv" in capsys.readouterr().out
    info = json.loads((out / "run.json").read_text())
    assert info["files"] == RESULTS and info["removed_stale"] == ["scenarios.csv"]
    assert sorted(p.name for p in out.iterdir()) == RESULTS  # no journal left either


def test_a_directory_with_foreign_files_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    rc = main(["backtest", str(EX / "core_satellite.toml"), "--out", str(out),
               "--end", "2011-03-31"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"flowbt: error: --out = '{out}': holds 1 file(s) flowbt did not write "
                   "(notes.txt); flowbt only replaces its own results: choose a new --out "
                   "directory or move those files")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_sweep_lists_its_chunks_and_resumes(tmp_path):
    from tests.engine.app.test_backtest_cli import small_sweep

    f = small_sweep(tmp_path)
    out = tmp_path / "sw"
    assert main(["sweep", str(f), "--out", str(out), "--chunk", "4"]) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["files"] == ["benchmarks.csv", "chunks/FINGERPRINT", "chunks/chunk_00000.parquet",
                             "chunks/chunk_00001.parquet", "metrics.csv", "run.json",
                             "selected_equity.parquet"]
    assert main(["sweep", str(f), "--out", str(out), "--chunk", "4"]) == 0  # resume: allowed
    assert json.loads((out / "run.json").read_text())["files"] == info["files"]


def test_rundir_unit_rules(tmp_path):
    """The helper alone: manifest, stale removal, journal of an interrupted run, legacy dirs,
    hidden files ignored."""
    d = tmp_path / "d"
    with RunDir(d, command="t") as rd:
        rd.path("a.csv").write_text("1")
        rd.path("sub/b.csv").write_text("2")
        info = rd.finish({"x": 1})
    assert info["files"] == ["a.csv", "run.json", "sub/b.csv"] and info["x"] == 1
    # an interrupted run: the journal names what it started writing
    with pytest.raises(RuntimeError), RunDir(d, command="t") as rd:
        rd.path("c.csv").write_text("3")
        raise RuntimeError("crash")
    assert (d / JOURNAL).exists()
    (d / ".DS_Store").write_text("")
    with RunDir(d, command="t") as rd:  # c.csv is known as flowbt's, .DS_Store ignored
        rd.path("a.csv").write_text("4")
        info = rd.finish({})
    assert info["files"] == ["a.csv", "run.json"]
    assert sorted(info["removed_stale"]) == ["c.csv", "sub/b.csv"]
    assert not (d / "sub").exists() and not (d / JOURNAL).exists()
    # a run.json of a flowbt before manifests: its result names are flowbt's
    old = tmp_path / "old"
    old.mkdir()
    (old / "run.json").write_text(json.dumps({"config_hash": "x", "command": []}))
    (old / "scenarios.csv").write_text("")
    with RunDir(old, command="t") as rd:
        info = rd.finish({})
    assert info["removed_stale"] == ["scenarios.csv"]
    with pytest.raises(ValueError, match="plain relative path"), RunDir(d, command="t") as rd:
        rd.path("../escape.csv")


def test_flow_warnings_on_a_synthetic_krw_market_exit_2(tmp_path, capsys):
    """End to end: the reference flow warnings on a synthetic KRX market's (KRW) ETF flows."""
    text = (EX / "flow_warnings.toml").read_text()
    old = 'source = "us_etf"\nstart = "2021-08-02"\nend = "2022-02-18"'
    assert old in text
    text = (text.replace(old, 'source = "synthetic"\n\n[data.synthetic]\nn_days = 120\n'
                              'n_stocks = 40\nn_etfs = 4\nseed = 1')
            .replace('calendar = "XNYS"', 'calendar = "XKRX"')
            .replace('benchmarks = ["VOO", "static"]', "benchmarks = []"))
    cfg = tmp_path / "fw_krw.toml"
    cfg.write_text(text)
    assert main(["backtest", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"flowbt: error: {cfg}: strategy.warnings.0.signal = 'etf_flow_weekly': warning "
        "rsp_outflow_2w: the signal's flows are in KRW but threshold_usd = 0 is in USD; use a "
        "market whose ETF flows are in USD (data.source = 'us_etf')")
