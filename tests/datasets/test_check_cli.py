"""``flowbt data check``: real files load with exit 0 and print real figures; bad files print
one line naming file/line/column and exit 2; ``--debug`` shows the traceback."""

from __future__ import annotations

import pandas as pd
import pytest

from datasets.check import KINDS, check_file
from engine.app.cli import main
from tests.conftest import FIXTURES

PK = FIXTURES / "pykrx"
US = FIXTURES / "us"


@pytest.mark.parametrize(
    ("path", "kind", "expect"),
    [
        (PK / "net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv", "krx-netbuy",
         ["KRX net purchases of individual, 2021-01-15 .. 2021-01-22, 906 stocks",
          "total net buying: 4,585,384,731,204 KRW", "005930 삼성전자: 2,054,064,769,700 KRW",
          "035420 NAVER: -402,464,806,000 KRW", "read 906 rows"]),
        (PK / "market_cap_by_ticker_ALL_20210104.csv", "krx-marketcap",
         ["KRX market caps of 2,531 listings", "KOSPI: 917 listings",
          "005930 삼성전자: 495,491,951,650,000 KRW"]),
        (PK / "etf_pdf_152100_20210402.csv", "krx-pdf",
         ["PDF of ETF 152100 effective 2021-04-02, 200 constituents", "dropped 1 cash rows",
          "renormalized 1 holdings snapshots", "weights sum to 1.000000"]),
        (PK / "investor_value_by_date_005930_20210115_20210122.csv", "pykrx-investor",
         ["6 days 2021-01-15 .. 2021-01-22", "individual: 2,054,064,769,700 KRW"]),
        (US / "etf_flows_2026q1_slice.csv", "etf-flows",
         ["5 ETFs x 66 days 2026-01-02 .. 2026-04-03 (USD)", "empty flow cells"]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_check_real_files(path, kind, expect, capsys):
    assert main(["data", "check", str(path), "--kind", kind]) == 0
    out = capsys.readouterr().out
    for part in expect:
        assert part in out, f"{part!r} not in output:\n{out}"
    assert "data-quality summary" in out


def test_check_spy_total_flow_matches_file(capsys):
    raw = pd.read_csv(US / "etf_flows_2026q1_slice.csv")
    spy = raw.loc[raw["ticker"] == "SPY", "flow_usd"].sum()
    assert main(["data", "check", str(US / "etf_flows_2026q1_slice.csv"), "--kind",
                 "etf-flows", "--top", "5"]) == 0
    assert f"SPY: {spy:,.0f} USD" in capsys.readouterr().out


def test_check_bad_file_exits_2_with_one_line(tmp_path, capsys):
    p = tmp_path / "nb.csv"
    p.write_text("date,stock,investor,net_buy\n2021-01-04,A,foreign,1\n2021-01-04,B,foreign,"
                 "abc\n")
    assert main(["data", "check", str(p), "--kind", "generic-netbuy"]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("flowbt: error: nb.csv, line 3, column 'net_buy': ")
    assert "'abc' is not a number" in lines[0] and "Fix:" in lines[0]
    assert "Traceback" not in cap.err


def test_check_debug_shows_traceback(tmp_path, capsys):
    p = tmp_path / "empty.csv"
    p.write_text("")
    assert main(["--debug", "data", "check", str(p), "--kind", "krx-netbuy"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "empty.csv: the file is empty" in err


def test_check_wrong_kind_names_the_expected_column(capsys):
    path = PK / "market_cap_by_ticker_ALL_20210104.csv"
    assert main(["data", "check", str(path), "--kind", "krx-pdf"]) == 2
    err = capsys.readouterr().err
    assert "market_cap_by_ticker_ALL_20210104.csv" in err
    assert "cannot tell the ETF code and date" in err


def test_every_kind_has_a_report(tmp_path):
    """Each kind loads a small valid file (the real fixtures where they exist)."""
    (tmp_path / "tv.csv").write_text("날짜,기관합계,개인,외국인합계,전체\n2021-01-15,1,2,-3,0\n")
    (tmp_path / "mc.csv").write_text("티커,시가총액,상장주식수\n005930,10,2\n")
    (tmp_path / "etf_pdf_152100_20210402.csv").write_text(
        "티커,계약수,금액,비중\n005930,10,100,99\n010010,0,0,1\n")
    (tmp_path / "so.csv").write_text("date,ticker,shares,nav\n2026-03-30,X,1,2\n"
                                     "2026-03-31,X,2,2\n")
    (tmp_path / "h.csv").write_text("date,etf,ticker,weight\n2021-04-02,X,A,100\n")
    (tmp_path / "px.csv").write_text("date,SPY\n2024-01-02,1\n2024-01-03,2\n")
    (tmp_path / "nb.csv").write_text("date,stock,investor,net_buy\n2021-01-04,A,개인,5\n")
    (tmp_path / "mk.csv").write_text("date,stock,market_cap,close\n2021-01-04,A,5,1\n")
    (tmp_path / "wd.csv").write_text("date,stock,net_buy_foreign,net_buy_개인,market_cap\n"
                                     "2021-01-04,A,5,-2,100\n")
    files = {
        "krx-netbuy": PK / "net_purchases_by_ticker_KOSPI_inv1000_20210115_20210122.csv",
        "krx-marketcap": PK / "market_cap_by_ticker_ALL_20210104.csv",
        "krx-pdf": PK / "etf_pdf_152100_20210402.csv",
        "pykrx-investor": tmp_path / "tv.csv",
        "pykrx-marketcap": tmp_path / "mc.csv",
        "pykrx-pdf": tmp_path / "etf_pdf_152100_20210402.csv",
        "etf-flows": US / "etf_flows_2026q1_slice.csv",
        "etf-shares-nav": tmp_path / "so.csv",
        "holdings": tmp_path / "h.csv",
        "holdings-wide": US / "top_holdings_XLB_slice.csv",
        "prices": tmp_path / "px.csv",
        "generic-netbuy": tmp_path / "nb.csv",
        "generic-market": tmp_path / "mk.csv",
        "generic-wide": tmp_path / "wd.csv",
    }
    assert set(files) == set(KINDS)
    for kind, path in files.items():
        report = check_file(path, kind)
        assert report.startswith(path.name) and "data-quality summary" in report, kind
    assert "total net flow: 2 USD" in check_file(files["etf-shares-nav"], "etf-shares-nav")
    assert "dropped 1 cash rows" in check_file(files["pykrx-pdf"], "pykrx-pdf")
    wide = check_file(files["holdings-wide"], "holdings-wide", etf="XLB")
    assert "holdings of 1 ETFs, 10 snapshots" in wide and "XLB latest: LIN 16.92%" in wide


def test_inflow_and_outflow_lists_hold_only_their_sign():
    # every ETF's total over the slice, by plain pandas: the inflow list is the positive ones
    raw = pd.read_csv(US / "etf_flows_2026q1_slice.csv")
    totals = raw.groupby("ticker")["flow_usd"].sum()
    text = check_file(US / "etf_flows_2026q1_slice.csv", "etf-flows")
    inflows = text.split("largest inflows over the period:")[1].split("largest outflows")[0]
    outflows = text.split("largest outflows over the period:")[1]
    for t, v in totals.items():
        assert (f"    {t}:" in inflows) == (v > 0), t
        assert (f"    {t}:" in outflows) == (v < 0), t


def test_a_bad_file_does_not_make_the_next_file_of_its_layout_unreadable(tmp_path):
    from datasets.check import _DETECTED, detect_kind

    _DETECTED.clear()
    head = "date,stock,investor,net_buy\n"
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(head + "2021-01-15,005930,foreign,not-a-number\n")
    good.write_text(head + "2021-01-18,005930,foreign,5\n")
    from engine.errors import DataError

    with pytest.raises(DataError):
        detect_kind(bad)
    assert detect_kind(good) == "generic-netbuy"  # same header: was "no known kind"


def test_a_known_layout_with_a_bad_cell_is_named_not_called_unknown(tmp_path, capsys):
    # without --kind: the columns are a long net-buying file's, one value is not a number
    p = tmp_path / "netbuy.csv"
    p.write_text("date,stock,investor,net_buy\n2021-01-15,005930,foreign,5\n"
                 "2021-01-15,000660,foreign,lots\n")
    assert main(["data", "check", str(p)]) == 2
    err = capsys.readouterr().err
    assert "netbuy.csv, line 3, column 'net_buy'" in err
    assert "--kind generic-netbuy" in err and "no known kind" not in err


def test_a_file_of_no_known_layout_still_says_so(tmp_path, capsys):
    p = tmp_path / "notes.csv"
    p.write_text("colour,size\nred,3\n")
    assert main(["data", "check", str(p)]) == 2
    assert "no known kind reads this file" in capsys.readouterr().err
