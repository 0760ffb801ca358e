"""The sweep's best / median / worst equity (selected_equity.parquet) is the same simulation
as the sweep's own metrics: re-simulating a variant reproduces its metrics.csv final value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import ROOT


def test_selected_equity_matches_the_sweep_metrics(tmp_path):
    from engine.app.cli import main

    text = (ROOT / "examples" / "sweep_triggers.toml").read_text()
    text = text[:text.index("[sweep]")] + (
        '[sweep]\n"strategy.triggers.0.condition.threshold" = [0.05, 0.20]\n'
        '"strategy.triggers.1.condition.threshold" = [-0.03, -0.10]\n')
    text = text.replace('start = "2011-02-01"', 'start = "2020-01-02"').replace(
        'end = "2025-09-26"', 'end = "2021-12-31"')
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(cfg), "--out", str(out), "--report", "--quiet"]) == 0
    m = pd.read_csv(out / "metrics.csv").set_index("variant")
    sel = pd.read_parquet(out / "selected_equity.parquet")
    ranked = m["sharpe_ratio"].sort_values(ascending=False, kind="stable")
    labels = [c for c in sel.columns if c.split()[0] in ("best", "median", "worst")]
    assert labels == [f"best {ranked.index[0]}", f"median {ranked.index[(len(ranked) - 1) // 2]}",
                      f"worst {ranked.index[-1]}"]
    for c in labels:
        v = c.split()[1]
        np.testing.assert_allclose(sel[c].iloc[-1], m.loc[v, "final_value"], rtol=1e-9)
    assert {"VOO", "RSP", "static"} <= set(sel.columns)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert labels[0] in html and "strategy.sleeves.core.RSP" in html
