"""Units in the tables of run files whose columns the renderer does not know one by one
(stress, scenarios): percent for fractions, whole numbers for counts and values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.report import build_report
from engine.report._html import auto_formats


def test_auto_formats_reads_units_from_names_and_values():
    df = pd.DataFrame({"variant": ["a", "b"], "probability": [0.42, 0.5],
                       "wilson_low": [0.4, 0.45], "return_std": [0.17, 0.2],
                       "return_var95": [0.15, 0.2], "expected_return": [0.12, -0.1],
                       "max_drawdown": [-0.3, -0.2], "move": [-0.07, 0.1],
                       "expected_value": [112443.4, 99000.2], "regret_vs_VOO": [2812.7, 0.0],
                       "n_paths": [2000.0, 2000.0], "median_days_to_fire": [66.0, 30.0],
                       "beta": [1.0312, 0.5], "worst_branch": [True, False]})
    assert auto_formats(df) == {
        "probability": ".1%", "wilson_low": ".1%", "return_std": ".2%", "return_var95": ".2%",
        "expected_return": "+.2%", "max_drawdown": "+.2%", "move": "+.2%",
        "expected_value": ",.0f", "regret_vs_VOO": ",.0f", "n_paths": ",.0f",
        "median_days_to_fire": ",.0f", "beta": ",.4f"}


def test_stress_tables_show_percent_and_counts(tmp_path):
    run = tmp_path / "st"
    run.mkdir()
    pd.DataFrame({"variant": ["strategy", "VOO"], "trigger": ["t", "t"], "n_paths": [10000, 10000],
                  "probability": [0.8967, 0.25], "median_days_to_fire": [76.0, np.nan]}
                 ).to_csv(run / "trigger_probability.csv", index=False)
    pd.DataFrame({"variant": ["strategy"] * 2, "metric": ["cagr", "final_value"],
                  "n": [10000, 10000], "mean": [0.12481, 112481.05], "p05": [-0.1492, 85084.2]}
                 ).to_csv(run / "mc_summary.csv", index=False)
    (run / "run.json").write_text("{\"name\": \"stress\"}")
    html = build_report(run)
    for text in ("89.7%", ">10,000<", ">76<", "+12.48%", "-14.92%", "112,481", "85,084"):
        assert text in html, text
    for raw in ("0.8967", "10,000.0000", "112,481.0500", "0.1248"):
        assert raw not in html, raw
