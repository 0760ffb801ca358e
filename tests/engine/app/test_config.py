"""engine.app.config: the TOML schema, errors naming key paths, overrides and sweep grids."""

from __future__ import annotations

import copy
import tomllib

import pytest

from engine.app.config import config_hash, load_config, set_path, sweep_grid, validate_config
from engine.errors import ConfigError
from strategies.core_satellite import CoreSatelliteParams
from strategies.triggers import Action, Condition
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "core_satellite.toml"
SWEEP = ROOT / "examples" / "sweep_triggers.toml"


@pytest.fixture()
def raw() -> dict:
    with EXAMPLE.open("rb") as fh:
        return tomllib.load(fh)


def test_reference_example_validates_into_typed_params():
    cfg = load_config(EXAMPLE)
    p = cfg.strategy_params
    assert isinstance(p, CoreSatelliteParams)
    assert cfg.strategy_kind == "core_satellite"
    assert sum(sum(s.values()) for s in p.sleeves.values()) == pytest.approx(1.0)
    assert p.sleeves["core"] == {"RSP": 0.25, "VOO": 0.20, "VXUS": 0.15}
    assert [t.name for t in p.triggers] == ["iwm_up_10pct_add_iwm", "xlk_correction_5pct_vug_15",
                                            "sp500_down_7pct_core_70"]
    assert isinstance(p.triggers[0].condition, Condition)
    assert p.triggers[2].action == Action("scale_sleeve", 0.70, sleeve="core")
    assert cfg.simulation.benchmarks == ["VOO", "RSP", "static"]
    assert str(cfg.data.start) == "2011-02-01" and str(cfg.data.end) == "2025-09-26"


def test_hash_is_stable_and_sensitive(raw):
    a = validate_config(raw).hash
    assert a == config_hash(copy.deepcopy(raw))
    assert a != validate_config(set_path(raw, "simulation.fee_rate", 0.001)).hash


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("simulation.fee_rate", -0.1, "simulation.fee_rate"),
        ("simulation.execution_lag_bars", "one", "simulation.execution_lag_bars"),
        ("data.source", "bloomberg", "data.source"),
        ("data.start", "2011-13-01", "data.start"),
        ("strategy.rebalance", "weekly", "strategy.rebalance"),
        ("strategy.triggers.1.condition.op", "<", "strategy.triggers.1.condition.op"),
        ("strategy.triggers.2.action.kind", "sell_all", "strategy.triggers.2.action.kind"),
        ("strategy.kind", "nope", "strategy.kind"),
    ],
)
def test_errors_name_the_key_path_and_value(raw, path, value, key):
    with pytest.raises(ConfigError) as exc:
        validate_config(set_path(raw, path, value), file="x.toml")
    assert exc.value.key_path == key
    assert repr(value) in str(exc.value) and str(exc.value).startswith("x.toml: ")


def test_unknown_keys_and_bad_allocations_are_rejected(raw):
    bad = copy.deepcopy(raw)
    bad["simulation"]["fee_ratee"] = 0.1
    with pytest.raises(ConfigError, match=r"simulation\.fee_ratee"):
        validate_config(bad)
    with pytest.raises(ConfigError, match="sum to"):
        validate_config(set_path(raw, "strategy.sleeves.core.RSP", 0.5))
    with pytest.raises(ConfigError, match="sweep"):
        validate_config({**raw, "sweep": {"strategy.triggers.7.condition.threshold": [0.1]}})
    with pytest.raises(ConfigError, match="does not exist"):
        set_path(raw, "strategy.nothing.here", 1)


def test_sweep_example_is_a_1000_variant_grid():
    cfg = load_config(SWEEP)
    grid = sweep_grid(cfg.sweep)
    assert len(grid) == 1000
    assert len({tuple(g.values()) for g in grid}) == 1000
    over = load_config(SWEEP, overrides=grid[123])
    for path, value in grid[123].items():
        i = int(path.split(".")[2])
        assert over.strategy_params.triggers[i].condition.threshold == value


def test_bad_toml_is_a_config_error(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(f)


def test_sweep_over_data_or_simulation_keys_is_refused(raw):
    """A sweep prepares the market and simulation settings once; sweeping them would be
    silently ignored, so it is an error naming the key."""
    for key, values in [("data.start", ["2012-01-03"]), ("simulation.fee_rate", [0.0, 0.001])]:
        with pytest.raises(ConfigError, match=rf"sweep\.{key} .*strategy parameters only"):
            validate_config({**raw, "sweep": {key: values}})


# ------------------------------------------------------------- values that used to pass silently
def _error(raw: dict) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        validate_config(raw, file="x.toml")
    return exc.value


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("simulation.init_cash", float("inf"), "finite"),
        ("simulation.init_cash", float("nan"), "finite"),
        ("simulation.init_cash", 0.0, "greater than 0"),
        ("simulation.fee_rate", 0.5, "less than or equal to 0.02"),
        ("simulation.fee_rate", float("inf"), "finite"),
        ("simulation.slippage_rate", float("nan"), "finite"),
        ("simulation.slippage_rate", -0.001, "greater than or equal to 0"),
        ("strategy.triggers.1.condition.window_bars", 0, ">= 1"),
        ("strategy.triggers.0.condition.window_bars", -5, ">= 1"),
        ("strategy.triggers.1.condition.threshold", float("nan"), "finite"),
        ("strategy.triggers.0.condition.anchor", "last tuesday", "ISO date"),
        ("strategy.triggers.0.condition.anchor", "2024-13-01", "ISO date"),
        ("strategy.triggers.1.action.funding", "sleeve:nope", "'nope' is not defined"),
        ("strategy.triggers.2.action.sleeve", "nope", "'nope' is not defined"),
        ("strategy.triggers.1.action.target", 1.5, "fraction"),
        ("strategy.drift_band", -0.01, "negative"),
        ("strategy.sleeves.core.RSP", -0.1, "negative"),
    ],
)
def test_bad_values_name_the_exact_key_path(raw, path, value, problem):
    """Each error names the leaf key (not the enclosing table) and the value, at validate time."""
    err = _error(set_path(raw, path, value))
    assert err.key_path == path
    assert repr(value) in str(err) and problem in err.problem
    assert str(err).startswith(f"x.toml: {path} = {value!r}: ")


def test_anchor_iso_date_is_accepted(raw):
    cfg = validate_config(set_path(raw, "strategy.triggers.0.condition.anchor", "2012-06-01"))
    assert cfg.strategy_params.triggers[0].condition.anchor == "2012-06-01"


@pytest.mark.parametrize("ratio", [-0.5, 3.0, 0.2, float("nan"), float("inf")])
def test_expense_ratio_must_be_an_annual_fraction(raw, ratio):
    bad = set_path(raw, "simulation.expense_drag", True)
    bad["simulation"]["expense_ratio"] = {"VOO": 0.0003, "RSP": ratio}
    err = _error(bad)
    assert err.key_path == "simulation.expense_ratio.RSP"
    assert repr(ratio) in str(err) and "fraction per year" in err.problem
    assert "0.0003 for 3 bp" in err.problem


def test_expense_ratio_without_expense_drag_is_refused(raw):
    bad = set_path(raw, "simulation.expense_drag", False)
    bad["simulation"]["expense_ratio"] = {"VOO": 0.0003}
    err = _error(bad)
    assert err.key_path == "simulation.expense_ratio"
    assert "{'VOO': 0.0003}" in str(err) and "expense_drag" in err.problem
    bad["simulation"]["expense_drag"] = True
    cfg = validate_config(bad)
    assert cfg.simulation.expense_ratio == {"VOO": 0.0003}


def test_duplicate_benchmark_is_refused(raw):
    err = _error(set_path(raw, "simulation.benchmarks", ["VOO", "RSP", "VOO"]))
    assert err.key_path == "simulation.benchmarks.2"
    assert "'VOO'" in str(err) and "twice" in err.problem


def test_synthetic_table_needs_the_synthetic_source(raw):
    bad = copy.deepcopy(raw)
    bad["data"]["synthetic"] = {"n_days": 500, "seed": 3}
    err = _error(bad)
    assert err.key_path == "data.synthetic"
    assert "{'n_days': 500, 'seed': 3}" in str(err) and "'us_etf'" in err.problem


def test_unknown_funding_sleeve_of_flow_warnings_is_refused():
    """The sleeve check is generic: flow_warnings' actions are checked against its sleeves."""
    with (ROOT / "examples" / "flow_warnings.toml").open("rb") as fh:
        fw = tomllib.load(fh)
    err = _error(set_path(fw, "strategy.warnings.0.action.funding", "sleeve:nope"))
    assert err.key_path == "strategy.warnings.0.action.funding"
    assert "'sleeve:nope'" in str(err) and "core" in err.problem


def test_signal_parameters_are_checked_against_the_builder(raw):
    bad = copy.deepcopy(raw)
    bad["signals"] = {"x": {"source": "synthesized_flow", "windw_bars": 5}}
    err = _error(bad)
    assert err.key_path == "signals.x.windw_bars"
    assert "= 5:" in str(err) and "window_bars" in err.problem  # lists the real parameters
    bad["signals"] = {"x": {"source": "bloomberg_flow"}}
    err = _error(bad)
    assert err.key_path == "signals.x.source"
    assert "'bloomberg_flow'" in str(err) and "synthesized_flow" in err.problem
    bad["signals"] = {"rs": {"source": "relative_strength", "a": "IWM"}}
    err = _error(bad)
    assert err.key_path == "signals.rs.b" and "missing" in err.problem
    bad["signals"] = {"x": {"source": "synthesized_flow", "window_bars": 5, "investor": "pension"}}
    assert validate_config(bad).signals["x"].params() == {"window_bars": 5, "investor": "pension"}


def test_every_example_config_still_validates():
    for path in sorted((ROOT / "examples").glob("*.toml")):
        assert load_config(path).name, path


def test_warning_period_must_match_its_signal_frequency():
    """A weekly-counting warning on a monthly signal would never see two periods in a row."""
    with (ROOT / "examples" / "flow_warnings.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    validate_config(raw)  # the example sets period = "M" on its monthly warning
    bad = copy.deepcopy(raw)
    del bad["strategy"]["warnings"][2]["period"]  # default "W" on the monthly QQQ signal
    with pytest.raises(ConfigError, match=r"strategy\.warnings\.2\.period = 'W'.*freq 'M'"):
        validate_config(bad)
