"""``flowbt signals --replication N,...`` end to end on the synthetic market."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasets.synthetic import make_market
from engine.app.cli import main

ARGS = ["signals", "--synthetic", "--days", "120", "--stocks", "40", "--etfs", "3",
        "--seed", "3", "--investor", "foreign"]


def test_replication_writes_tracking_and_prints_the_error(tmp_path, capsys):
    out = tmp_path / "sig"
    assert main([*ARGS, "--replication", "5,1000", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "replication by sampling" in printed and "TE" in printed
    daily = pd.read_csv(out / "tracking.csv", parse_dates=["date"])
    summary = pd.read_csv(out / "tracking_summary.csv")
    assert set(summary["n"]) == {5, 1000}
    # every constituent held: exactly full replication
    assert (summary.loc[summary["n"] == 1000, "tracking_error"] == 0.0).all()
    # independent check of one ETF's full-replication return on one session: the
    # snapshot in force, its closes, buy and hold from the snapshot's first session
    m = make_market(120, 40, 3, seed=3)
    close = m.flows.frame("close")
    tab = m.holdings.table
    etf = summary.loc[summary["n"] == 5].sort_values("n_constituents").iloc[-1]["etf"]
    snap_dates = sorted(tab.loc[tab["etf"] == etf, "effective_date"].unique())
    first = pd.Timestamp(snap_dates[0])
    t0 = close.index[close.index >= first][0]
    t1 = close.index[close.index.get_loc(t0) + 1]
    snap = tab[(tab["etf"] == etf) & (tab["effective_date"] == first)].set_index("stock")
    w = snap["weight"] / snap["weight"].sum()
    want = float((w * close.loc[t1, w.index] / close.loc[t0, w.index]).sum() - 1.0)
    row = daily[(daily["etf"] == etf) & (daily["n"] == 5) & (daily["date"] == t1)].iloc[0]
    assert row["return_full"] == pytest.approx(want, rel=1e-12)
    # and the sampled one: the five largest weights, renormalized
    top = w.sort_values(ascending=False).iloc[:5]
    top = top / top.sum()
    want5 = float((top * close.loc[t1, top.index] / close.loc[t0, top.index]).sum() - 1.0)
    assert row["return_sampled"] == pytest.approx(want5, rel=1e-12)
    te = summary.loc[(summary["etf"] == etf) & (summary["n"] == 5), "tracking_error"].iloc[0]
    td = daily.loc[(daily["etf"] == etf) & (daily["n"] == 5), "tracking_difference"].dropna()
    assert te == pytest.approx(np.std(td.to_numpy(), ddof=1) * np.sqrt(252), rel=1e-9)
    assert te > 0
    from engine.report import build_report

    html = build_report(out)
    assert 'id="tracking"' in html and f"{te:.2%}" in html


@pytest.mark.parametrize("bad", ["0", "5,x", "-3"])
def test_a_bad_sample_size_is_refused_naming_the_flag(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        main([*ARGS, "--replication", bad, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "--replication" in capsys.readouterr().err


def test_a_store_gives_the_same_tracking_as_the_market_it_was_written_from(tmp_path):
    store = tmp_path / "store"
    assert main(["data", "synth", "--days", "120", "--stocks", "40", "--etfs", "3",
                 "--seed", "3", "--out", str(store)]) == 0
    assert main(["signals", "--store", str(store), "--investor", "foreign",
                 "--replication", "5", "--out", str(tmp_path / "a")]) == 0
    assert main([*ARGS, "--replication", "5", "--out", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a" / "tracking_summary.csv")
    b = pd.read_csv(tmp_path / "b" / "tracking_summary.csv")
    pd.testing.assert_frame_equal(a, b)


def test_replication_needs_daily_closes(tmp_path, capsys):
    from tests.conftest import FIXTURES

    pk = FIXTURES / "pykrx"
    store = tmp_path / "store"
    files = [pk / "net_purchases_by_ticker_KOSPI_inv1000_20210115_20210122.csv",
             pk / "market_cap_by_ticker_ALL_20210104.csv", pk / "etf_pdf_152100_20210402.csv"]
    assert main(["data", "import", *map(str, files), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["signals", "--store", str(store), "--etf", "152100", "--investor",
                 "financial_investment", "--max-stale-sessions", "15", "--replication", "10",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--replication" in capsys.readouterr().err
