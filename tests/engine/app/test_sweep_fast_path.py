"""``flowbt sweep`` decides core/satellite variants with the fast path; the table is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd

import engine.app.sweep as sweep_mod
from engine.app.config import load_config
from engine.app.sweep import run_sweep
from tests.conftest import ROOT


def _config(tmp_path, extra_sweep: str):
    text = (ROOT / "examples" / "sweep_triggers.toml").read_text()
    head = text.split("[sweep]")[0].replace('end = "2025-09-26"', 'end = "2013-06-30"')
    head = head.replace('name = "xlk_correction_vug_15"', 'name = "xlk_correction_vug_15"\nrearm = false')
    f = tmp_path / "sweep.toml"
    f.write_text(head + "[sweep]\n"
                 '"strategy.triggers.0.condition.threshold" = [0.05, 0.30]\n'
                 '"strategy.triggers.1.condition.threshold" = [-0.03, -0.10]\n'
                 '"strategy.triggers.2.condition.threshold" = [-0.05, -0.12]\n'
                 '"strategy.triggers.1.rearm" = [false, true]\n' + extra_sweep)
    return load_config(f)


def test_fast_path_gives_the_same_metrics_csv_as_the_pandas_path(tmp_path, monkeypatch):
    cfg = _config(tmp_path, '"strategy.drift_band" = [0.0, 0.02]\n')
    calls = []
    real = sweep_mod._fast_decisions

    def spy(*a, **k):
        out = real(*a, **k)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(sweep_mod, "_fast_decisions", spy)
    run_sweep(cfg, tmp_path / "fast", chunk=8)
    assert len(calls) == 32 and all(calls)  # every variant went through the fast path
    monkeypatch.setattr(sweep_mod, "_fast_decisions", lambda *a, **k: None)
    run_sweep(cfg, tmp_path / "slow", chunk=8)
    fast = (tmp_path / "fast" / "metrics.csv").read_bytes()
    slow = (tmp_path / "slow" / "metrics.csv").read_bytes()
    assert fast == slow
    m = pd.read_csv(tmp_path / "fast" / "metrics.csv")
    # The grid exercises what the fast path must get right: drift rows and re-armed triggers.
    assert m["n_trigger_events"].nunique() > 3
    assert np.isfinite(m["final_value"]).all()
