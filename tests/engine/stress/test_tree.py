"""Scenario tree: the mixture is the probability-weighted union of the branches' samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.app.config import load_config
from engine.app.stress_config import validate_stress
from engine.errors import ConfigError
from engine.stress.tree import mixture, tree_table
from tests.conftest import ROOT


def _branch(rng, n, loc, scale):
    rows = []
    for v, shift in (("strat", 0.0), ("BENCH", 0.01)):
        x = rng.normal(loc + shift, scale, n)
        rows.append(pd.DataFrame({"path": np.arange(n), "variant": v, "total_return": x,
                                  "final_value": 100.0 * (1 + x)}))
    return pd.concat(rows, ignore_index=True)


def test_mixture_equals_the_probability_weighted_union_of_the_branch_samples():
    rng = np.random.default_rng(0)
    probs = {"base": 0.60, "bull": 0.25, "bear": 0.15}
    samples = {"base": _branch(rng, 40, 0.05, 0.1), "bull": _branch(rng, 40, 0.2, 0.1),
               "bear": _branch(rng, 40, -0.3, 0.15)}
    table = tree_table(mixture(samples, probs), "strat", ["BENCH"], probs, 100.0)
    mix = table[(table["scenario"] == "mixture") & (table["variant"] == "strat")].iloc[0]
    # The union written out: each branch's paths repeated in proportion to p_b / n_b
    # (60 : 25 : 15 copies of 40 paths each), then plain unweighted statistics.
    union = np.concatenate([np.repeat(samples[b].query("variant == 'strat'")["total_return"]
                                      .to_numpy(), int(round(p * 100))) for b, p in probs.items()])
    for q in (1, 5, 25, 50, 75, 95, 99):
        assert mix[f"return_p{q:02d}"] == pytest.approx(
            np.quantile(union, q / 100, method="inverted_cdf"), rel=1e-12)
    assert mix["expected_return"] == pytest.approx(union.mean(), rel=1e-12)
    assert mix["expected_value"] == pytest.approx(100.0 * (1 + union).mean(), rel=1e-12)
    var95 = -np.quantile(union, 0.05, method="inverted_cdf")
    assert mix["return_var95"] == pytest.approx(var95, rel=1e-12)
    assert mix["return_cvar95"] == pytest.approx(np.mean(-union[-union >= var95]), rel=1e-12)
    # Not the average of the branch quantiles.
    branch_p05 = table[(table["variant"] == "strat") & (table["scenario"] != "mixture")]
    avg = float((branch_p05["return_p05"] * branch_p05["probability"]).sum())
    assert abs(avg - mix["return_p05"]) > 1e-3
    # Worst branch and paired regret.
    assert table.loc[table["worst_branch"], "scenario"].unique().tolist() == ["bear"]
    s = {b: samples[b].pivot(index="path", columns="variant", values="final_value")
         for b in probs}
    regret = sum(p * np.maximum(0, s[b]["BENCH"] - s[b]["strat"]).mean()
                 for b, p in probs.items())
    assert mix["regret_vs_BENCH"] == pytest.approx(regret, rel=1e-12)


def test_branch_probabilities_must_sum_to_one_within_1e_9():
    cfg = load_config(ROOT / "examples" / "stress_core_satellite.toml")
    t = dict(cfg.stress)
    tree = dict(t["tree"])
    br = [dict(b) for b in tree["branches"]]
    br[2]["probability"] = 0.15 + 2e-9
    tree["branches"] = br
    with pytest.raises(ConfigError, match=r"stress\.tree\.branches\.\*\.probability"):
        validate_stress({**t, "tree": tree})
    br[2]["probability"] = 0.15 + 5e-10  # within the tolerance
    assert validate_stress({**t, "tree": tree}).tree.branches[2].probability > 0.15
    br[0]["drift_mult"] = {"nonexistent": 1.0}
    with pytest.raises(ConfigError, match=r"stress\.tree\.branches\.0\.drift_mult"):
        validate_stress({**t, "tree": tree}, assets=["VOO"])
