"""The report: built from the run directory's files only, byte-stable, self-contained."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from engine.errors import ConfigError, DataError
from engine.report import build_report, position_figure, write_report, write_signals_chart
from engine.report.performance import drawdowns, monthly_returns, yearly_returns
from engine.report.sweep import metric_grid
from tests.engine.report import rundirs


def _self_contained(html: str) -> None:
    # plotly.js inline exactly once, no external script, stylesheet, image or font
    js = get_plotlyjs()
    assert html.count(js) == 1
    page = html.replace(js, "")  # plotly.js's own strings (map attributions) aside
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page) == []
    assert "<link" not in page and "cdn.plot.ly" not in page and "@import" not in page
    assert html.count("Plotly.newPlot(") == html.count('class="plotly-graph-div"')


def test_backtest_report_is_rebuilt_byte_equal_and_self_contained(tmp_path):
    rundirs.backtest_dir(tmp_path)
    p = write_report(tmp_path)
    html = p.read_text(encoding="utf-8")
    assert build_report(tmp_path) == html
    _self_contained(html)
    # every trigger's rule and action reaches the hover text and the log table
    for r in rundirs.TRIGGERS.itertuples():
        assert html.count(r.rule) >= 2 and r.action in html
    # 120 bars < a year: annualized figures are marked
    assert "annualized_return *" in html and "under a year" in html
    # weights grouped by the config's sleeves; the data-quality item; the config as run
    assert "core: RSP" in html and "cash: CASH" in html
    assert "stale closes" in html and "strategy.sleeves.core.RSP" in html
    for title in ("Equity vs benchmarks", "Monthly and yearly returns", "Weights, turnover",
                  "Trigger and warning log", "Metrics", "Data quality"):
        assert title in html


def test_cli_backtest_report_equals_rebuild(tmp_path):
    """flowbt backtest --report on real data, then flowbt report: the same bytes."""
    from engine.app.cli import main

    out = tmp_path / "cs"
    assert main(["backtest", "examples/core_satellite.toml", "--start", "2024-01-02",
                 "--end", "2024-09-30", "--out", str(out), "--report", "--quiet"]) == 0
    first = (out / "report.html").read_bytes()
    assert main(["report", str(out), "--out", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_bytes() == first
    html = first.decode()
    _self_contained(html)
    log = pd.read_csv(out / "triggers.csv")
    for rule in log["rule"]:
        assert rule in html
    assert "annualized_return *" in html  # 2024-01..09 is under a year


def test_drawdowns_and_period_returns_on_known_numbers():
    idx = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-29", "2024-12-31", "2025-01-31"])
    eq = pd.DataFrame({"a": [100.0, 110.0, 99.0, 121.0, 108.9]}, index=idx)
    np.testing.assert_allclose(drawdowns(eq)["a"], [0, 0, -0.1, 0, -0.1], atol=1e-12)
    m = monthly_returns(eq["a"])
    np.testing.assert_allclose(m.loc[2024, [1, 2, 3, 12]], [0.0, 0.10, -0.10, 121 / 99 - 1],
                               rtol=1e-12)
    assert np.isnan(m.loc[2024, 4]) and np.isnan(m.loc[2025, 2])
    y = yearly_returns(eq)
    np.testing.assert_allclose(y["a"], [0.21, -0.1], rtol=1e-12)


def test_missing_directory_and_empty_directory_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="run directory not found"):
        build_report(tmp_path / "nope")
    with pytest.raises(DataError, match="no report section found its files"):
        build_report(tmp_path)


def test_signals_sections_korean_labels_broker_colours(tmp_path):
    rundirs.signals_dir(tmp_path)
    html = build_report(tmp_path)
    _self_contained(html)
    for label in ("외국인 foreign", "개인 individual", "기관합계 institution", "연기금 pension"):
        assert label in html
    assert "bp vs the naive sums" in html and "ETF x week heatmap" in html
    pos = pd.read_parquet(tmp_path / "positions.parquet")
    fig = position_figure(pos, etf="E001")
    by_name = {t.name: t for t in fig.data}
    assert by_name["외국인 foreign"].line.color == "#1a9641"     # green
    assert by_name["개인 individual"].line.color == "#d7191c"    # red
    assert by_name["기관합계 institution"].line.color == "#2b6cc4"  # blue
    want = pos[(pos.etf == "E001") & (pos.investor == "foreign") & (pos.method == "bp")]
    np.testing.assert_allclose(np.asarray(by_name["외국인 foreign"].y, float),
                               want.sort_values("date")["value"], rtol=1e-12)
    p = write_signals_chart(tmp_path)
    chart = p.read_text(encoding="utf-8")
    _self_contained(chart)
    assert "외국인 foreign" in chart and "Sweep" not in chart


def test_sweep_heatmap_is_the_median_over_other_keys(tmp_path):
    rundirs.sweep_dir(tmp_path)
    m = pd.read_csv(tmp_path / "metrics.csv")
    g = metric_grid(m, "strategy.a", "strategy.b", "sharpe_ratio")
    # medians over c of SWEEP_SHARPE, by hand: (a, b) -> mean of the two c values
    expect = pd.DataFrame({0.1: [0.4, 0.6], 0.2: [0.1, 1.0]}, index=[-0.1, -0.05])
    np.testing.assert_allclose(g.loc[[-0.1, -0.05], [0.1, 0.2]], expect, rtol=1e-12)
    html = build_report(tmp_path)
    _self_contained(html)
    assert "median over the other 1 swept parameter" in html
    assert "best v00005" in html and "worst v00007" in html
    assert "Equity vs benchmarks" not in html  # a sweep has no single equity
    with pytest.raises(ConfigError, match="--metric"):
        build_report(tmp_path, options={"metric": "nope"})


def test_stress_section_renders_its_tables(tmp_path):
    rundirs.stress_dir(tmp_path)
    html = build_report(tmp_path)
    assert "2020 covid" in html and "sp500_down_7pct" in html
    assert "distribution of final_value" in html and "all (200 paths)" in html
    assert "Monte Carlo fan: portfolio value" in html and "(200 paths)" in html
    assert "strategy (median)" in html and "VOO (median)" in html


@pytest.mark.slow
def test_demo_writes_its_report_and_rebuilds_byte_equal(tmp_path, capsys):
    from engine.app.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out}/report.html" in printed
    html = (out / "report.html").read_text(encoding="utf-8")
    assert build_report(out) == html
    _self_contained(html)
    for part in ("core_satellite", "monitor", "krx_flows", "market_flow_timing", "synthetic",
                 "flow_rotation"):
        assert (out / part / "run.json").exists()
    assert "외국인 foreign" in html and "Flow monitor as of 2026-03-31" in html
