"""Malformed inputs: each must raise DataError naming the file, the line (1-based file line,
header = line 1), the column, what is wrong and the fix -- never load with silent drops or
zeros. The hand-written cases below are joined by the bad files built from the real samples
in tests/data/ (``tests/datasets/_real_cases.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from datasets.etf_flows import load_etf_flows, load_etf_shares_nav
from datasets.generic import load_generic_flows, read_long_market, read_long_netbuy, read_prices
from datasets.holdings_files import (
    check_holdings_in_flows,
    load_holdings,
    load_top_holdings_wide,
)
from datasets.krx import load_krx_pdf, read_krx_marketcap, read_krx_netbuy
from datasets.pykrx_files import load_pykrx_pdf, read_pykrx_investor_value
from engine.errors import DataError
from engine.market import ConstituentFlows, Holdings
from tests.datasets._real_cases import REAL_CASES

MK_OK = "date,stock,market_cap,close\n2021-01-04,A,1000,10\n2021-01-04,B,2000,20\n"
NB_HEAD = "date,stock,investor,net_buy\n"
KRX_NB_HEAD = ("ISU_SRT_CD,ISU_NM,ASK_TRDVOL,BID_TRDVOL,NETBID_TRDVOL,ASK_TRDVAL,BID_TRDVAL,"
               "NETBID_TRDVAL\n")
PYKRX_HEAD = "날짜,기관합계,기타법인,개인,외국인합계,전체\n"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]  # name -> text (written as UTF-8 unless bytes)
    call: Callable[[dict], object]  # paths by name -> loader call
    expect: list[str]  # substrings of the message (file, line, column, what)
    encodings: dict[str, str] = field(default_factory=dict)


def _netbuy(p):
    return read_long_netbuy(p["nb.csv"])


CASES = [
    Case("missing column", {"nb.csv": "date,stock,investor\n2021-01-04,A,foreign\n"}, _netbuy,
         ["nb.csv", "line 1", "column 'net_buy'", "missing column 'net_buy'"]),
    Case("unknown column (typo)",
         {"nb.csv": "date,stock,investor,net_buy,netbuy_sharez\n2021-01-04,A,foreign,1,2\n"},
         _netbuy, ["nb.csv", "line 1", "column 'netbuy_sharez'", "unknown column"]),
    Case("wrong kind of file",
         {"mc.csv": "ISU_SRT_CD,ISU_ABBRV,TDD_CLSPRC,MKTCAP\n005930,삼성전자,\"83,000\",\"1,000\"\n"},
         lambda p: read_krx_netbuy(p["mc.csv"]),
         ["mc.csv", "line 1", "column 'NETBID_TRDVAL'", "순매수거래대금", "KRX net purchases"]),
    Case("CP949 bytes declared as UTF-8",
         {"kor.csv": "종목코드,종목명,순매수거래대금\n005930,삼성전자,\"1,000\"\n"},
         lambda p: read_krx_netbuy(p["kor.csv"], encoding="utf-8"),
         ["kor.csv", "line 1", "cannot be decoded as utf-8", "cp949"], {"kor.csv": "cp949"}),
    Case("undecodable garbage",
         {"junk.csv": b"date,stock,investor,net_buy\n2021-01-04,A,foreign,1\n"
                      b"2021-01-05,\xff\xfe\xff\xfe,foreign,2\n"},
         lambda p: read_long_netbuy(p["junk.csv"]),
         ["junk.csv", "line 3", "neither UTF-8 nor CP949"]),
    Case("duplicate (date, stock, investor)",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-01-04,B,foreign,2\n"
                              "2021-01-04,A,외국인합계,3\n"},
         _netbuy, ["nb.csv", "line 4", "column 'investor'", "duplicate row",
                   "stock=A, investor=foreign", "first seen at line 2"]),
    Case("unsorted dates in a time series",
         {"tv.csv": PYKRX_HEAD + "2021-01-15,1,1,-1,-1,0\n2021-01-19,1,1,-1,-1,0\n"
                                 "2021-01-18,1,1,-1,-1,0\n"},
         lambda p: read_pykrx_investor_value(p["tv.csv"]),
         ["tv.csv", "line 4", "column '날짜'", "out of order", "2021-01-18 follows 2021-01-19"]),
    Case("unparseable date",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-13-01,A,foreign,1\n"},
         _netbuy, ["nb.csv", "line 3", "column 'date'", "'2021-13-01' cannot be parsed",
                   "YYYY-MM-DD"]),
    Case("date in an unknown format",
         {"nb.csv": NB_HEAD + "4 Jan 2021,A,foreign,1\n"},
         _netbuy, ["nb.csv", "line 2", "column 'date'", "cannot be parsed"]),
    Case("zero market cap where flows exist",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-01-04,B,foreign,5\n",
          "mk.csv": "date,stock,market_cap,close\n2021-01-04,A,1000,10\n2021-01-04,B,0,20\n"},
         lambda p: load_generic_flows(p["nb.csv"], p["mk.csv"]),
         ["mk.csv", "line 3", "column 'market_cap'", "market cap is 0 for stock B",
          "net buying exists"]),
    Case("negative market cap",
         {"mk.csv": "date,stock,market_cap,close\n2021-01-04,A,1000,10\n2021-01-04,B,-5,20\n"},
         lambda p: read_long_market(p["mk.csv"]),
         ["mk.csv", "line 3", "column 'market_cap'", "market cap is -5", ">= 0"]),
    Case("net buying without a market cap row",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-01-04,C,foreign,5\n",
          "mk.csv": MK_OK},
         lambda p: load_generic_flows(p["nb.csv"], p["mk.csv"]),
         ["nb.csv", "line 3", "column 'stock'", "stock C on 2021-01-04", "no market cap"]),
    Case("empty cell in a required numeric column",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-01-04,B,foreign,\n"},
         _netbuy, ["nb.csv", "line 3", "column 'net_buy'", "net buying is missing"]),
    Case("NaN text in a required numeric column",
         {"mk.csv": "date,stock,market_cap,close\n2021-01-04,A,NaN,10\n"},
         lambda p: read_long_market(p["mk.csv"]),
         ["mk.csv", "line 2", "column 'market_cap'", "market cap is missing"]),
    Case("non-numeric text in a numeric column",
         {"krx.csv": KRX_NB_HEAD + "005930,삼성전자,1,2,1,10,20,10\n"
                                   "000660,SK하이닉스,1,2,1,10,20,12OO\n"},
         lambda p: read_krx_netbuy(p["krx.csv"]),
         ["krx.csv", "line 3", "column 'NETBID_TRDVAL'", "'12OO' is not a number"]),
    Case("decimal comma (European number format)",
         {"mk.csv": "date,stock,market_cap,close\n2021-01-04,A,\"1.234,5\",10\n"},
         lambda p: read_long_market(p["mk.csv"]),
         ["mk.csv", "line 2", "column 'market_cap'", "'1.234,5' has misplaced thousands"]),
    Case("net buying inconsistent with buy - sell",
         {"krx.csv": KRX_NB_HEAD + "005930,삼성전자,1,2,1,\"1,000\",\"3,000\",\"2,001\"\n"},
         lambda p: read_krx_netbuy(p["krx.csv"]),
         ["krx.csv", "line 2", "column 'NETBID_TRDVAL'", "is not buy 3,000 - sell 1,000"]),
    Case("duplicate stock in a KRX snapshot",
         {"mc.csv": "ISU_SRT_CD,ISU_ABBRV,TDD_CLSPRC,MKTCAP\n005930,a,1,1\n000660,b,1,1\n"
                    "005930,a,1,1\n"},
         lambda p: read_krx_marketcap(p["mc.csv"]),
         ["mc.csv", "line 4", "column 'stock'", "duplicate row for (stock=005930)"]),
    Case("holdings weights not summing to 100% after cash",
         {"h.csv": "date,etf,ticker,weight\n2021-04-02,X,A,50\n2021-04-02,X,B,25\n"
                   "2021-04-02,X,CASH,5\n"},
         lambda p: load_holdings(p["h.csv"]),
         ["h.csv", "line 2", "column 'weight'", "weights of X on 2021-04-02 sum to 80.00%"]),
    Case("holdings weights given as fractions but read as percent",
         {"h.csv": "date,etf,ticker,weight\n2021-04-02,X,A,0.6\n2021-04-02,X,B,0.4\n"},
         lambda p: load_holdings(p["h.csv"]),
         ["h.csv", "line 2", "sum to 1.00%", "weight_unit"]),
    Case("wide holdings row off its SUM column",
         {"XLB.csv": "date,LIN,SHW,SUM\n12/16/2021,60,38,98\n12/17/2021,60,30,98\n"},
         lambda p: load_top_holdings_wide(p["XLB.csv"]),
         ["XLB.csv", "line 3", "column 'SUM'", "SUM 98.00% differs from the row's weights 90.00%"]),
    Case("wide holdings with dates out of order",
         {"XLB.csv": "date,LIN,SHW\n12/17/2021,60,40\n12/16/2021,60,40\n"},
         lambda p: load_top_holdings_wide(p["XLB.csv"]),
         ["XLB.csv", "line 3", "column 'date'", "2021-12-16 follows 2021-12-17"]),
    Case("negative holdings weight",
         {"h.csv": "date,etf,ticker,weight\n2021-04-02,X,A,110\n2021-04-02,X,F,-10\n"},
         lambda p: load_holdings(p["h.csv"]),
         ["h.csv", "line 3", "column 'weight'", "weight of F is negative"]),
    Case("empty file",
         {"empty.csv": ""},
         lambda p: read_krx_netbuy(p["empty.csv"]),
         ["empty.csv", "the file is empty"]),
    Case("empty DataFrame saved by pandas (pykrx when KRX refuses)",
         {"tv.csv": '""\n'},
         lambda p: read_pykrx_investor_value(p["tv.csv"]),
         ["tv.csv", "empty table (no columns, no rows)"]),
    Case("header only (KRX refused the request)",
         {"nb.csv": KRX_NB_HEAD},
         lambda p: read_krx_netbuy(p["nb.csv"]),
         ["nb.csv", "no data rows", "not zero flow"]),
    Case("negative shares outstanding",
         {"so.csv": "date,ticker,shares,nav\n2026-03-30,SPY,100,500\n2026-03-31,SPY,-1,501\n"},
         lambda p: load_etf_shares_nav(p["so.csv"]),
         ["so.csv", "line 3", "column 'shares'", "shares outstanding is -1", ">= 0"]),
    Case("unknown investor type",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-01-04,A,martians,1\n"},
         _netbuy, ["nb.csv", "line 3", "column 'investor'", "unknown investor type 'martians'"]),
    Case("pykrx file with buy value instead of net buying",
         {"tv.csv": PYKRX_HEAD + "2021-01-15,10,1,30,20,61\n"},
         lambda p: read_pykrx_investor_value(p["tv.csv"]),
         ["tv.csv", "line 2", "column '전체'", "not net buying", "순매수"]),
    Case("pykrx detail institution total off its parts",
         {"tv.csv": "날짜,금융투자,보험,투신,사모,은행,기타금융,연기금,기관합계,기타법인,개인,"
                    "외국인,기타외국인,전체\n2021-01-15,1,1,1,1,1,1,1,8,0,-7,-1,0,0\n"},
         lambda p: read_pykrx_investor_value(p["tv.csv"]),
         ["tv.csv", "line 2", "column '기관합계'", "differs from the sum of its parts 7"]),
    Case("unknown investor column in a pykrx file",
         {"tv.csv": "날짜,기관합계,외계인,전체\n2021-01-15,1,-1,0\n"},
         lambda p: read_pykrx_investor_value(p["tv.csv"]),
         ["tv.csv", "line 1", "column '외계인'", "unknown investor column"]),
    Case("empty pykrx frame with its columns",
         {"tv.csv": PYKRX_HEAD},
         lambda p: read_pykrx_investor_value(p["tv.csv"]),
         ["tv.csv", "no data rows", "not zero flow"]),
    Case("repeated column in the header",
         {"nb.csv": "date,stock,investor,net_buy,net_buy\n2021-01-04,A,foreign,1,1\n"},
         _netbuy, ["nb.csv", "line 1", "column 'net_buy'", "appears twice"]),
    Case("row with too many fields",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1\n2021-01-04,B,foreign,1,000\n"},
         _netbuy, ["nb.csv", "line 3", "malformed CSV", "quote fields that contain commas"]),
    Case("first data row with an extra field (pandas would make it the index)",
         {"nb.csv": NB_HEAD + "2021-01-04,A,foreign,1,5\n2021-01-04,B,foreign,1\n"},
         _netbuy, ["nb.csv", "line 2", "5 fields where the header has 4"]),
    Case("duplicate (date, ticker) in a flow export",
         {"fl.csv": "date,ticker,flow_usd\n2026-01-02,SPY,1\n2026-01-02,QQQ,2\n"
                    "20260102,SPY,3\n"},
         lambda p: load_etf_flows(p["fl.csv"]),
         ["fl.csv", "line 4", "column 'ticker'", "duplicate row for (date=2026-01-02, "
                                                 "ticker=SPY)"]),
    Case("empty flow cell in strict mode",
         {"fl.csv": "date,ticker,flow_usd\n2026-01-02,SPY,1\n2026-01-05,SPY,\n"},
         lambda p: load_etf_flows(p["fl.csv"], strict=True),
         ["fl.csv", "line 3", "column 'flow_usd'", "flow is missing"]),
    Case("shares panel without NAV",
         {"so.csv": "date,ticker,shares,price\n2026-03-30,SPY,100,500\n"},
         lambda p: load_etf_shares_nav(p["so.csv"]),
         ["so.csv", "line 1", "column 'nav'", "no NAV column", "nav_from='close'"]),
    Case("zero price",
         {"px.csv": "date,SPY,QQQ\n2024-01-02,100,400\n2024-01-03,0,401\n"},
         lambda p: read_prices(p["px.csv"]),
         ["px.csv", "line 3", "column 'SPY'", "close of SPY is 0", "> 0"]),
    Case("repeated date in a wide price file",
         {"px.csv": "date,SPY\n2024-01-02,100\n2024-01-02,101\n"},
         lambda p: read_prices(p["px.csv"]),
         ["px.csv", "line 3", "column 'date'", "2024-01-02 appears twice"]),
    Case("PDF constituent without shares",
         {"etf_pdf_152100_20210402.csv":
          "COMPST_ISU_CD,COMPST_ISU_NM,COMPST_ISU_CU1_SHRS,VALU_AMT,COMPST_RTO\n"
          "005930,삼성전자,\"8,140.00\",\"674,806,000\",60\n000660,SK하이닉스,-,-,39\n"
          "KRD010010001,원화예금,-,-,1\n"},
         lambda p: load_krx_pdf(p["etf_pdf_152100_20210402.csv"]),
         ["etf_pdf_152100_20210402.csv", "line 3", "column 'COMPST_ISU_CU1_SHRS'",
          "missing for non-cash holding 000660"]),
    Case("PDF without ETF code or date",
         {"pdf.csv": "티커,계약수,금액,비중\n005930,8140,674806000,100\n"},
         lambda p: load_pykrx_pdf(p["pdf.csv"]),
         ["pdf.csv", "cannot tell the ETF code and date", "etf= and date="]),
    Case("bad date in a Korean CP949 download",
         {"kor.csv": "일자,기관합계,기타법인,개인,외국인합계,전체\n2021/01/22,1,1,-1,-1,0\n"
                     "2021/01/2l,1,1,-1,-1,0\n"},
         lambda p: read_pykrx_investor_value(p["kor.csv"]),
         ["kor.csv", "line 3", "column '일자'", "'2021/01/2l' cannot be parsed"],
         {"kor.csv": "cp949"}),
]


CASES = CASES + REAL_CASES

#: Cases about the whole file (empty, no rows, no ETF code): no line or column to name.
WHOLE_FILE = {"empty file", "empty DataFrame saved by pandas (pykrx when KRX refuses)",
              "header only (KRX refused the request)", "empty pykrx frame with its columns",
              "PDF without ETF code or date"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_names_file_line_column(case: Case, tmp_path):
    paths = {}
    for name, content in case.files.items():
        p = tmp_path / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding=case.encodings.get(name, "utf-8"))
        paths[name] = p
    with pytest.raises(DataError) as info:
        case.call(paths)
    msg = str(info.value)
    for part in case.expect:
        assert part in msg, f"{part!r} not in {msg!r}"
    assert "\n" not in msg  # the CLI prints one line
    # every message names a file of the case, a location and the fix
    assert any(name in msg for name in case.files), msg
    if case.id not in WHOLE_FILE:
        assert ("line " in msg) or ("row " in msg) or ("column '" in msg), msg
    assert "Fix:" in msg, msg


def test_at_least_eighty_distinct_files():
    assert len({c.id for c in CASES}) == len(CASES) >= 80
    assert len(REAL_CASES) >= 40  # built from the real samples in tests/data/


def test_holdings_naming_stocks_absent_from_flow_panel():
    flows = ConstituentFlows(
        dates=pd.DatetimeIndex(["2021-04-02"]), stocks=pd.Index(["005930", "000660"]),
        investors=("foreign",), net_buy=np.ones((1, 2, 1)), market_cap=np.full((1, 2), 1e12),
        close=np.ones((1, 2)))
    h = Holdings(pd.DataFrame({"etf": "152100", "effective_date": "2021-04-02",
                               "stock": ["005930", "000660", "035420"],
                               "weight": [0.6, 0.3, 0.1]}))
    with pytest.raises(DataError) as info:
        check_holdings_in_flows(h, flows, source="pdf.csv")
    msg = str(info.value)
    for part in ("pdf.csv", "column 'stock'", "152100 on 2021-04-02", "1 stocks absent",
                 "035420 at 10.00%", "max_missing_weight"):
        assert part in msg
    # Tolerated below the threshold, and then returned for the record.
    missing = check_holdings_in_flows(h, flows, max_missing_weight=0.1)
    assert missing["stock"].tolist() == ["035420"]


def test_line_numbers_survive_blank_lines(tmp_path):
    p = tmp_path / "nb.csv"
    p.write_text(NB_HEAD + "2021-01-04,A,foreign,1\n\n\n2021-01-04,B,foreign,x\n")
    with pytest.raises(DataError, match=r"nb\.csv, line 5, column 'net_buy'"):
        read_long_netbuy(p)


def test_parquet_rows_are_positions(tmp_path):
    p = tmp_path / "nb.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2021-01-04", "2021-01-04"]), "stock": ["A", "A"],
                  "investor": ["foreign", "foreign"], "net_buy": [1.0, 2.0]}).to_parquet(p)
    with pytest.raises(DataError, match=r"nb\.parquet, row 1, column 'investor': duplicate"):
        read_long_netbuy(p)


@pytest.mark.parametrize("cell", ["3021-01-15", "20211315", "1600-01-04"])
def test_dates_outside_the_nanosecond_range_are_refused_not_wrapped(tmp_path, cell):
    # pandas parses a year like 3021 (a typo of 2021) in a coarser unit; stored as
    # datetime64[ns] it wrapped round to the 1830s without a word
    p = tmp_path / "netbuy.csv"
    p.write_text("date,stock,investor,net_buy\n2021-01-15,005930,foreign,5\n"
                 f"{cell},000660,foreign,7\n")
    with pytest.raises(DataError, match="cannot be parsed") as e:
        read_long_netbuy(p)
    msg = str(e.value)
    assert "netbuy.csv" in msg and "line 3" in msg and "column 'date'" in msg


def test_dates_at_the_edges_of_the_accepted_years_are_read_exactly(tmp_path):
    p = tmp_path / "netbuy.csv"
    p.write_text("date,stock,investor,net_buy\n1678-01-03,005930,foreign,5\n"
                 "2261-12-30,000660,foreign,7\n")
    got = read_long_netbuy(p)
    assert sorted(pd.DatetimeIndex(got["date"]).strftime("%Y-%m-%d")) == [
        "1678-01-03", "2261-12-30"]
