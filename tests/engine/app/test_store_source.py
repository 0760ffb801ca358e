"""``[data] source = "store"``: a synthetic store backtests exactly like the generator."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from datasets.synth_store import write_store
from datasets.synthetic import make_market
from engine.app.config import validate_config
from engine.app.runner import run_backtest
from engine.errors import ConfigError
from tests.conftest import ROOT

SMALL = {"n_days": 400, "n_stocks": 80, "n_etfs": 30, "signal_strength": 0.3,
         "signal_horizon_days": 10, "seed": 1}


def _raw():
    raw = tomllib.loads((ROOT / "examples" / "flow_rotation_synthetic.toml").read_text())
    raw["data"]["synthetic"] = dict(SMALL)
    return raw


def test_store_source_gives_the_same_backtest_as_synthetic(tmp_path):
    write_store(make_market(**SMALL), tmp_path / "store")
    syn = run_backtest(validate_config(_raw()))
    raw = _raw()
    raw["data"] = {"source": "store", "path": str(tmp_path / "store")}
    sto = run_backtest(validate_config(raw))
    pd.testing.assert_frame_equal(sto.sim.equity, syn.sim.equity, check_exact=True)
    name = raw["name"]
    pd.testing.assert_frame_equal(sto.decisions[name].weights, syn.decisions[name].weights,
                                  check_exact=True)
    assert syn.sim.equity.shape[0] == SMALL["n_days"]
    assert sto.sim.equity.iloc[-1].nunique() > 1  # strategy and benchmark really differ


def test_store_source_needs_a_path():
    raw = _raw()
    raw["data"] = {"source": "store"}
    with pytest.raises(ConfigError, match="data.path"):
        validate_config(raw)


def test_relative_store_path_is_relative_to_the_config(tmp_path):
    from engine.app.runner import store_path

    raw = _raw()
    raw["data"] = {"source": "store", "path": "st", "max_stale_sessions": 3}
    cfg = validate_config(raw, file=str(tmp_path / "c.toml"))
    assert store_path(cfg) == tmp_path / "st"
    assert cfg.data.max_stale_sessions == 3
    raw["data"]["max_stale_sessions"] = -1
    with pytest.raises(ConfigError, match="max_stale_sessions"):
        validate_config(raw)
