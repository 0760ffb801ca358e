"""engine.config: the TOML schema, errors naming key paths, overrides and sweep grids."""

from __future__ import annotations

import copy
import tomllib

import pytest

from engine.config import config_hash, load_config, set_path, sweep_grid, validate_config
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
