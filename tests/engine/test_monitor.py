"""The flow monitor on the bundled 2026 Q1 flows: warnings, missing series, no look-ahead."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from datasets.bundled import load_us_etf_adjclose, load_us_etf_flows_2026q1
from engine.monitor import run_monitor


@pytest.fixture(scope="module")
def data():
    return load_us_etf_flows_2026q1(), load_us_etf_adjclose()


def _warning(res, prefix):
    return next(w for w in res.warnings if w["warning"].startswith(prefix))


def test_qqq_warning_fires_on_february_2026(data):
    flows, prices = data
    res = run_monitor(flows, prices, asof="2026-02-27")
    w = _warning(res, "QQQ monthly outflow")
    # the February QQQ total straight from the raw file (published days only)
    feb = flows[(flows.ticker == "QQQ") & (flows.date >= "2026-02-01")
                & (flows.date <= "2026-02-27")]["flow_usd"]
    np.testing.assert_allclose(w["value"], np.nansum(feb), rtol=1e-12)
    assert w["value"] < -5e9 and w["fires"] is True
    # the same check one month later does not fire (March QQQ outflow is under 5 bn)
    mar = _warning(run_monitor(flows, prices, asof="2026-03-31"), "QQQ monthly outflow")
    assert mar["fires"] is False and -5e9 < mar["value"] < 0


def test_absent_series_say_no_data_and_the_rest_runs(data):
    flows, prices = data
    res = run_monitor(flows[~flows.ticker.isin(["QQQ", "IEMG"])], prices, asof="2026-02-27")
    assert _warning(res, "RSP")["reading"] == "no data for RSP"   # never in the bundled flows
    assert _warning(res, "RSP")["fires"] is None
    assert _warning(res, "QQQ")["reading"] == "no data for QQQ"
    items = {i["item"]: i for i in res.weekly + res.monthly}
    assert items["IEMG inflow persistence"]["status"] == "no data"
    assert items["IWM price-flow divergence"]["status"] == "ok"
    assert items["small-cap premium"]["status"] == "ok"
    assert "no data" in items["leveraged-ETF volume"]["reading"]  # no 2026 volume bundled
    spy = _warning(res, "SPY, VOO, IVV")
    assert spy["fires"] in (True, False)


def test_monitor_uses_no_data_after_asof(data):
    flows, prices = data
    asof = pd.Timestamp("2026-02-27")
    full = run_monitor(flows, prices, asof=asof).to_dict()
    cut = run_monitor(flows[flows.date <= asof], prices.loc[:asof], asof=asof).to_dict()
    assert json.dumps(full, sort_keys=True) == json.dumps(cut, sort_keys=True)


def test_divergence_labels_of_the_sector_table(data):
    flows, prices = data
    res = run_monitor(flows, prices, asof="2026-02-27")
    for r in res.tables["sectors"]:
        if r["divergence"] == "no data":
            continue
        want = {(True, True): "trend", (True, False): "distribution",
                (False, True): "accumulation", (False, False): "rotation_out"}
        assert r["divergence"] == want[(r["return"] > 0, r["flow_usd"] > 0)]


def test_monitor_command_writes_json_and_report(tmp_path, capsys):
    from engine.app.cli import main

    assert main(["monitor", "--asof", "2026-02-27", "--out", str(tmp_path), "--report"]) == 0
    out = capsys.readouterr().out
    assert "FIRES" in out and "no data for RSP" in out
    m = json.loads((tmp_path / "monitor.json").read_text())
    assert m["asof"] == "2026-02-27"
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Flow monitor as of 2026-02-27" in html and "FIRES" in html
