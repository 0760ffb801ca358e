"""#10 items 9, 11, 13: impossible or suspicious config values are ConfigErrors naming the dotted
key path and the bad value (>= 40 bad configs), or printed warnings; a few through the CLI."""

from __future__ import annotations

import inspect
import subprocess
import sys
import tomllib

import pytest

from engine.app.config import (
    SyntheticConfig,
    make_market_parameters,
    set_path,
    validate_config,
)
from engine.errors import ConfigError
from tests.conftest import ROOT

EX = ROOT / "examples"
HINT = "thresholds are fractions: -0.07 means -7%"


def _raw(name: str) -> dict:
    with (EX / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)


NAN = float("nan")

#: (example, dotted key path, bad value, fragment of the problem text)
BAD = [
    # [simulation]
    ("core_satellite", "simulation.fee_rate", 0.05, "less than or equal to 0.02"),
    ("core_satellite", "simulation.slippage_rate", 0.03, "0.0005 means 5 bp"),
    ("core_satellite", "simulation.execution_lag_bars", 30, "less than or equal to 21"),
    ("core_satellite", "simulation.execution_lag_bars", -1, "greater than or equal to 0"),
    ("core_satellite", "simulation.init_cash", -100.0, "greater than 0"),
    ("core_satellite", "simulation.chunk_variants", 0, "greater than 0"),
    ("core_satellite", "simulation.benchmark_start", "first_trade", "first_decision"),
    ("core_satellite", "simulation.expense_drag", True, "index levels only"),
    ("core_satellite", "simulation.fee_ratee", 0.1, "unknown key; accepted keys: "
                                                    "benchmark_start, benchmarks"),
    ("core_satellite", "data.startt", "2011-01-01", "unknown key; accepted keys: end, max_stale_sessions, path, source, start"),
    # core/satellite triggers and sleeves
    ("core_satellite", "strategy.triggers.2.condition.threshold", -7, "can never fire; " + HINT),
    ("core_satellite", "strategy.triggers.1.condition.threshold", -1.0, "can never fire"),
    ("core_satellite", "strategy.triggers.1.condition.threshold", 0.05,
     "a drawdown is <= 0, so '<= 0.05' holds on the first day"),
    ("core_satellite", "strategy.triggers.0.condition.threshold", 10, "above +500%"),
    ("core_satellite", "strategy.triggers.0.condition.threshold", -1.5,
     "a return is always > -1"),
    ("core_satellite", "strategy.triggers.0.condition.window_bars", 100_000, "<= 10080"),
    ("core_satellite", "strategy.triggers.0.condition.thresh", 0.1,
     "unknown key; accepted keys: anchor, measure, name, on, op, threshold, window_bars"),
    ("core_satellite", "strategy.triggers.0.action.target", -0.1, "fraction in [0, 1]"),
    ("core_satellite", "strategy.triggers.0.action.weight", 0.1, "unknown key"),
    ("core_satellite", "strategy.triggers.0.rearm", "maybe", "valid boolean"),
    ("core_satellite", "strategy.triggers.0.condition.measure", "drawup", "return_since_anchor"),
    ("core_satellite", "strategy.drift_band", 1.5, "0.05 means 5 points"),
    ("core_satellite", "strategy.drift_bandd", 0.1, "unknown key; accepted keys: drift_band"),
    ("core_satellite", "strategy.sleeves.core.RSP", 25, "0.25 means 25%"),
    # flow warnings
    ("flow_warnings", "strategy.warnings.0.consecutive_periods", 0, "[1, 104]"),
    ("flow_warnings", "strategy.warnings.2.consecutive_periods", 30, "[1, 24]"),
    ("flow_warnings", "strategy.warnings.1.threshold_usd", NAN, "finite"),
    ("flow_warnings", "strategy.warnings.0.tickers", [], "must not be empty"),
    ("flow_warnings", "strategy.warnings.1.name", "rsp_outflow_2w", "must be unique"),
    ("flow_warnings", "strategy.warnings.0.period", "Q", "'W' or 'M'"),
    ("flow_warnings", "strategy.warnings.0.latchh", True, "unknown key"),
    # regime
    ("regime", "strategy.scenarios.0.probability", 1.5, "0.60 means 60%"),
    ("regime", "strategy.scenarios.1.ramp.step", 0, "fraction in (0, 1]"),
    ("regime", "strategy.scenarios.1.ramp.every_bars", 0, ">= 1"),
    ("regime", "strategy.min_hold_bars", 0, ">= 1"),
    ("regime", "strategy.rebalance_every_bars", -1, ">= 0"),
    ("regime", "strategy.default", "storm", "is not a scenario"),
    ("regime", "strategy.rules.0.scenario", "storm", "is not a scenario"),
    ("regime", "strategy.rules.0.conditions.0.threshold", NAN, "finite"),
    ("regime", "strategy.scenarios.2.weights.XLU", -0.08, "fraction in [0, 1]"),
    # market flow timing
    ("market_flow_timing", "strategy.invest_weight", 1.5, "fraction in [0, 1]"),
    ("market_flow_timing", "strategy.switch_margin", -0.1, ">= 0"),
    ("market_flow_timing", "strategy.exit_threshold", 1.0, "must be <= enter_threshold (0)"),
    ("market_flow_timing", "strategy.rebalance_every_bars", 0, ">= 1"),
    # small-cap cycle
    ("small_cap_cycle", "strategy.bear_drawdown", 20, "0.20 means a 20% fall"),
    ("small_cap_cycle", "strategy.recovery_rise", 0, "0.10 means +10%"),
    ("small_cap_cycle", "strategy.sleeve_weight", 1.2, "fraction in [0, 1]"),
    ("small_cap_cycle", "strategy.early_hold_bars", 0, ">= 1"),
    # synthetic data and flow rotation
    ("flow_rotation_synthetic", "data.synthetic.n_day", 100,
     "not a parameter of datasets.make_market; accepted keys: n_days, n_stocks, n_etfs"),
    ("flow_rotation_synthetic", "data.synthetic.signal_strength", 1.0, "less than 1"),
    ("flow_rotation_synthetic", "data.synthetic.n_days", 1, "greater than or equal to 2"),
    ("flow_rotation_synthetic", "data.synthetic.dtype", "float16", "float64"),
    ("flow_rotation_synthetic", "strategy.top_k", 0, ">= 1"),
    ("flow_rotation_synthetic", "strategy.tilt", 2, "equal weight"),
    ("flow_rotation_synthetic", "strategy.top_k", 30, "exceeds the universe size 24"),
]


def test_the_table_has_at_least_40_distinct_bad_configs():
    assert len({(e, p, repr(v)) for e, p, v, _ in BAD}) >= 40


@pytest.mark.parametrize(("example", "path", "value", "problem"), BAD,
                         ids=[f"{e}:{p}={v!r}" for e, p, v, _ in BAD])
def test_bad_config_names_the_key_path_and_the_value(example, path, value, problem):
    with pytest.raises(ConfigError) as exc:
        validate_config(set_path(_raw(example), path, value), file="x.toml")
    err = exc.value
    assert err.key_path == path
    assert str(err).startswith(f"x.toml: {path} = {value!r}: "), str(err)
    assert problem in err.problem, err.problem
    assert "\n" not in str(err)


def test_a_composite_bad_value_names_its_table():
    """core + sleeve above 100 %: the error names strategy.core with the table as typed."""
    with pytest.raises(ConfigError) as exc:
        validate_config(set_path(_raw("small_cap_cycle"), "strategy.core.SPY", 0.9))
    assert exc.value.key_path == "strategy.core"
    assert "{'SPY': 0.9}" in str(exc.value) and "more than 0.85" in exc.value.problem


# --------------------------------------------------------------------------- item 9 warnings
def test_a_high_but_possible_fee_is_a_warning_naming_the_key():
    cfg = validate_config(set_path(_raw("core_satellite"), "simulation.fee_rate", 0.01))
    assert cfg.warnings == ("simulation.fee_rate = 0.01: 1.00% of traded value a trade, more "
                            "than 0.5% (50 bp); fractions: 0.0005 means 5 bp",)
    assert validate_config(_raw("core_satellite")).warnings == ()  # 5 bp: no warning


def test_a_return_threshold_of_100_pct_or_more_is_a_warning():
    cfg = validate_config(set_path(_raw("core_satellite"),
                                   "strategy.triggers.0.condition.threshold", 1.5))
    assert cfg.warnings == ("strategy.triggers.0.condition.threshold = 1.5: a return of +150%; "
                            "thresholds are fractions: 0.10 means +10%",)


def test_a_tiny_usd_flow_threshold_is_a_warning():
    cfg = validate_config(set_path(_raw("flow_warnings"), "strategy.warnings.2.threshold_usd",
                                   -5.0))
    assert len(cfg.warnings) == 1
    assert cfg.warnings[0].startswith("strategy.warnings.2.threshold_usd = -5.0: less than $1M")


def test_every_example_validates_without_warnings():
    for path in sorted(EX.glob("*.toml")):
        raw = tomllib.loads(path.read_text())
        assert validate_config(raw).warnings == (), path


# ------------------------------------------------------------------------------ item 11
def test_synthetic_fields_are_exactly_make_market_parameters():
    """The typed [data.synthetic] fields and make_market's signature can't drift apart."""
    from datasets import make_market

    assert list(SyntheticConfig.model_fields) == make_market_parameters()
    sig = inspect.signature(make_market).parameters
    for name, f in SyntheticConfig.model_fields.items():
        if sig[name].default is not inspect.Parameter.empty and name != "start":
            assert f.default == sig[name].default, name


def test_synthetic_keys_reach_make_market_as_given():
    raw = set_path(_raw("flow_rotation_synthetic"), "data.synthetic.listing_fraction", 0.0)
    kw = validate_config(raw).data.synthetic.make_market_kwargs()
    assert kw == {"n_days": 1500, "n_stocks": 300, "n_etfs": 30, "signal_strength": 0.3,
                  "signal_horizon_days": 10, "seed": 1, "listing_fraction": 0.0}


# ------------------------------------------------------------------------------ item 13
def test_expense_drag_with_explicit_ratios_is_accepted_and_uses_only_them():
    from engine.app.runner import load_market, sim_kwargs

    raw = set_path(_raw("core_satellite"), "simulation.expense_drag", True)
    raw["simulation"]["expense_ratio"] = {"VOO": 0.0003}
    raw["data"]["end"] = "2011-03-31"
    cfg = validate_config(raw)
    market = load_market(cfg)
    assert market.etfs is not None and market.etfs.expense_ratio is not None  # data has them
    assert sim_kwargs(cfg, market)["expense_ratio"] == {"VOO": 0.0003}


# ----------------------------------------------------------------------- through the CLI
CLI = [
    ("core_satellite", "threshold = -0.07 }", "threshold = -7 }",
     "strategy.triggers.2.condition.threshold = -7: a drawdown is always > -1 (a price can't "
     "fall 100 %), so this trigger can never fire; " + HINT),
    ("core_satellite", "fee_rate = 0.0005 ", "fee_rate = 0.05 ",
     "simulation.fee_rate = 0.05: Input should be less than or equal to 0.02; a fraction of "
     "traded value: 0.0005 means 5 bp"),
    ("flow_rotation_synthetic", "n_days = 1500", "n_day = 1500",
     "data.synthetic.n_day = 1500: not a parameter of datasets.make_market; accepted keys: "
     "n_days, n_stocks, n_etfs, investors, start, signal_strength, seed, dtype, "
     "listing_fraction, cash_rate_pct, signal_horizon_days"),
    ("core_satellite", "expense_drag = false", "expense_drag = true",
     "simulation.expense_drag = True: applies expense ratios to index levels only"),
]


@pytest.mark.parametrize(("example", "old", "new", "message"), CLI,
                         ids=[c[2] for c in CLI])
def test_cli_exit_2_with_one_line(tmp_path, example, old, new, message):
    text = (EX / f"{example}.toml").read_text()
    assert old in text
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "engine.app.cli", "backtest", str(cfg),
                           "--out", str(out)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"flowbt: error: {cfg}: {message}"), lines[0]
    assert not out.exists()  # refused before anything is written
