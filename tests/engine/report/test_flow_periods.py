"""The flows sections on period totals and on one-point histories.

A KRX net-purchases query over several sessions is one total (README "Bring your own data"): the
report must label it with its period, never as one day's flow, and must not sum it into a week.
A one-point series must still draw something (a marker), not an empty line.
"""

from __future__ import annotations

import json

import pandas as pd

from engine.report.flows import signals_chart_html


def _run_dir(tmp_path, dates, starts):
    rows = []
    for d, s in zip(dates, starts, strict=True):
        for inv, v in (("individual", 23.58), ("financial_investment", -3.17)):
            rows.append(dict(date=pd.Timestamp(d), etf="152100", investor=inv, method="bp",
                             value=v, unit="bp", period_start=pd.Timestamp(s),
                             period_end=pd.Timestamp(d)))
    sig = pd.DataFrame(rows)
    sig.to_parquet(tmp_path / "signals.parquet", index=False)
    (tmp_path / "run.json").write_text(json.dumps({"name": "t"}))
    return tmp_path


def test_period_totals_are_labelled_with_their_period(tmp_path):
    html = signals_chart_html(_run_dir(tmp_path, ["2021-01-22"], ["2021-01-15"]))
    assert "Net-buy table by period" in html and "Daily net-buy table" not in html
    assert "2021-01-15..2021-01-22" in html        # the table row and the heatmap column
    assert "last 1 periods" in html and "last 1 weeks" not in html
    assert "\"mode\":\"lines+markers\"" in html   # one point is drawn as a marker


def test_daily_rows_keep_the_daily_table_and_weeks(tmp_path):
    days = pd.bdate_range("2021-01-04", periods=80)
    html = signals_chart_html(_run_dir(tmp_path, days, days))
    assert "Daily net-buy table" in html and "by period" not in html
    assert "weeks" in html and ".." not in html.split("Daily net-buy table")[1][:2000]
    assert "\"mode\":\"lines+markers\"" not in html and "\"mode\":\"lines\"" in html
