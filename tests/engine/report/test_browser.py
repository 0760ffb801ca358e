"""The reports in a real browser (headless Debian Chromium via Playwright): no console error,
no network request besides the file:// page itself, every chart drawn, a screenshot saved.

Chromium missing is a failure with the install command, never a skip (.ci/run installs it).
"""

from __future__ import annotations

import re

import pytest

from engine.report import write_report, write_signals_chart
from tests.engine.report import rundirs
from tests.engine.report.browser import BrowserMissing, check_page, launch


@pytest.fixture(scope="module")
def browser():
    try:
        with launch() as b:
            yield b
    except BrowserMissing as exc:
        pytest.fail(str(exc))


def _open(html_path, shot, browser):
    res = check_page(html_path, shot, browser=browser)
    html = html_path.read_text(encoding="utf-8")
    n = len(re.findall(r'class="plotly-graph-div"', html))
    assert n > 0
    assert res.console_errors == [] and res.page_errors == []
    assert res.foreign_requests == [], res.foreign_requests
    assert len(res.charts) == n, (len(res.charts), n)
    assert res.undrawn == [], res.undrawn
    assert shot.stat().st_size > 10_000
    return res


def test_backtest_report_in_chromium(tmp_path, browser):
    run = tmp_path / "bt"
    rundirs.backtest_dir(run)
    res = _open(write_report(run), tmp_path / "backtest.png", browser)
    assert len(res.charts) >= 6  # equity, underwater, rolling, monthly, weights, turnover


def test_sweep_report_in_chromium(tmp_path, browser):
    run = tmp_path / "sweep"
    rundirs.sweep_dir(run)
    res = _open(write_report(run), tmp_path / "sweep.png", browser)
    assert len(res.charts) == 3  # heatmap, distribution, best/median/worst


def test_stress_report_in_chromium(tmp_path, browser):
    run = tmp_path / "stress"
    rundirs.stress_dir(run)
    res = _open(write_report(run), tmp_path / "stress.png", browser)
    assert len(res.charts) == 2  # Monte Carlo fan, distribution of terminal values


def test_signals_report_and_chart_in_chromium(tmp_path, browser):
    run = tmp_path / "signals"
    rundirs.signals_dir(run)
    res = _open(write_report(run), tmp_path / "signals.png", browser)
    assert len(res.charts) == 3  # position chart, bp vs naive, heatmap
    _open(write_signals_chart(run), tmp_path / "signals_chart.png", browser)
