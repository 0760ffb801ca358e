"""Real-data loaders: figures checked against what KRX returned (raw JSON recordings) and
against each other (a stock's daily series sums to its weekly total, a market-wide breakdown
equals the sum over stocks)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from datasets.etf_flows import load_etf_flows, load_etf_shares_nav
from datasets.generic import compose_flows, load_generic_flows, read_long_netbuy, read_prices
from datasets.holdings_files import (
    check_holdings_in_flows,
    load_holdings,
    load_top_holdings_wide,
)
from datasets.krx import (
    flows_from_krx,
    load_krx_pdf,
    read_krx_investor_by_date,
    read_krx_marketcap,
    read_krx_netbuy,
    read_krx_pdf,
)
from datasets.pykrx_files import (
    flows_from_pykrx,
    load_pykrx_pdf,
    read_pykrx_investor_value,
    read_pykrx_marketcap,
    read_pykrx_marketcap_by_date,
)
from engine.errors import DataError, DataQuality
from tests.conftest import FIXTURES

PK = FIXTURES / "pykrx"
NB_INDIV = PK / "net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv"
NB_FININV = PK / "net_purchases_by_ticker_KOSPI_inv1000_20210115_20210122.csv"
NB_KOSDAQ = PK / "net_purchases_by_ticker_KOSDAQ_inv8000_20210115_20210122.csv"
MCAP = PK / "market_cap_by_ticker_ALL_20210104.csv"
PDF = PK / "etf_pdf_152100_20210402.csv"
INV_005930 = PK / "investor_value_by_date_005930_20210115_20210122.csv"
BREAKDOWN = PK / "investor_breakdown_KOSPI_20210115_20210122.csv"
US = FIXTURES / "us"


def _krw(s: str) -> float:
    return float(s.replace(",", ""))


def _raw(name: str) -> dict:
    return json.loads((PK / "raw" / name).read_text(encoding="utf-8"))


def _breakdown() -> pd.Series:
    """KOSPI market-wide net buying by investor type (KRW), straight from the CSV."""
    b = pd.read_csv(BREAKDOWN, dtype=str)
    return b.set_index("INVST_TP_NM")["NETBID_TRDVAL"].map(_krw)


# -- KRX net purchases -------------------------------------------------------------------------

def test_kospi_net_purchases_match_krx_recording():
    raw = _raw("net_purchases_KOSPI_inv8000_20210115_20210122.json")
    assert "invstTpCd=8000" in raw["request_body"] and "mktId=STK" in raw["request_body"]
    rows = raw["response"]["output"]
    q = DataQuality()
    f = read_krx_netbuy(NB_INDIV, quality=q)
    assert len(f) == len(rows) == 906
    assert q.rows_read[NB_INDIV.name] == 906 and q.clean
    # Totals KRX printed, summed from the raw JSON and pinned as numbers.
    total_raw = sum(_krw(r["NETBID_TRDVAL"]) for r in rows)
    assert total_raw == 4_585_384_731_204
    assert f["net_buy_krw"].sum() == total_raw
    assert f["net_buy_shares"].sum() == sum(_krw(r["NETBID_TRDVOL"]) for r in rows) == 94_945_008
    # Every stock, not just the sum.
    want = pd.Series({r["ISU_SRT_CD"]: _krw(r["NETBID_TRDVAL"]) for r in rows})
    pd.testing.assert_series_equal(f["net_buy_krw"].sort_index(), want.sort_index(),
                                   check_names=False, check_index_type=False, rtol=0, atol=0)
    assert f.loc["005930", "net_buy_krw"] == 2_054_064_769_700
    assert f.loc["005930", "net_buy_shares"] == 23_285_329
    assert f.loc["005930", "name"] == "삼성전자"
    assert f.loc["035420", "net_buy_krw"] == -402_464_806_000  # NAVER, largest net selling


def test_net_purchases_sum_to_market_wide_breakdown():
    """The per-stock files summed over stocks equal KRX's market-wide investor breakdown."""
    brk = _breakdown()
    assert read_krx_netbuy(NB_INDIV)["net_buy_krw"].sum() == brk["개인"] == 4_585_384_731_204
    fin = read_krx_netbuy(NB_FININV)["net_buy_krw"].sum()
    assert fin == brk["금융투자"] == -532_741_458_192


def test_kosdaq_net_purchases_load():
    f = read_krx_netbuy(NB_KOSDAQ)
    assert len(f) == 1395
    assert f["net_buy_krw"].sum() == 99_098_562_339
    assert f.loc["236810", "net_buy_krw"] == 88_252_747_800  # 엔비티, first row


def test_korean_header_cp949_download_equals_raw_field_names(tmp_path):
    raw = pd.read_csv(NB_INDIV, dtype=str)
    kor = raw.rename(columns={
        "ISU_SRT_CD": "종목코드", "ISU_NM": "종목명", "ASK_TRDVOL": "매도거래량",
        "BID_TRDVOL": "매수거래량", "NETBID_TRDVOL": "순매수거래량", "ASK_TRDVAL": "매도거래대금",
        "BID_TRDVAL": "매수거래대금", "NETBID_TRDVAL": "순매수거래대금"})
    p = tmp_path / "투자자별_순매수.csv"
    kor.to_csv(p, index=False, encoding="cp949")
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")  # the fixture really is CP949
    a, b = read_krx_netbuy(NB_INDIV), read_krx_netbuy(p)
    pd.testing.assert_frame_equal(a.drop(columns="line"), b.drop(columns="line"))


def test_utf8_bom_and_euc_kr(tmp_path):
    raw = pd.read_csv(NB_FININV, dtype=str).head(20)
    for enc in ("utf-8-sig", "euc-kr"):
        p = tmp_path / f"nb_{enc}.csv"
        raw.to_csv(p, index=False, encoding=enc)
        f = read_krx_netbuy(p)
        assert f.index[0] == "034730" and f["net_buy_krw"].iloc[0] == 42_142_686_000
        assert f["name"].iloc[1] == "NAVER"


# -- KRX market cap ----------------------------------------------------------------------------

def test_market_cap_snapshot_loads_all_2531_listings():
    f = read_krx_marketcap(MCAP)
    assert len(f) == 2531 and f.index.is_unique
    assert f["market"].value_counts().to_dict() == {"KOSDAQ": 1471, "KOSPI": 917, "KONEX": 143}
    assert f.loc["005930", "market_cap_krw"] == 495_491_951_650_000
    assert f.loc["005930", "close_krw"] == 83_000
    assert f.loc["005930", "listed_shares"] == 5_969_782_550
    # KRX's market cap is close x listed shares for every listing.
    np.testing.assert_allclose(f["market_cap_krw"], f["close_krw"] * f["listed_shares"],
                               rtol=1e-12)
    assert f.loc["060310", "line"] == 2  # first data row is file line 2


def test_market_cap_korean_header_cp949(tmp_path):
    raw = pd.read_csv(MCAP, dtype=str)
    kor = raw.rename(columns={"ISU_SRT_CD": "종목코드", "ISU_ABBRV": "종목명", "MKT_NM": "시장구분",
                              "TDD_CLSPRC": "종가", "MKTCAP": "시가총액", "LIST_SHRS": "상장주식수"})
    p = tmp_path / "전종목시세.csv"
    kor.to_csv(p, index=False, encoding="cp949")
    pd.testing.assert_frame_equal(read_krx_marketcap(p), read_krx_marketcap(MCAP))


# -- KRX PDF -----------------------------------------------------------------------------------

def test_arirang200_pdf_weights_sum_to_100_and_cash_dropped():
    raw = _raw("etf_pdf_152100_20210402.json")["response"]["output"]
    published = sum(float(r["COMPST_RTO"]) for r in raw)
    np.testing.assert_allclose(published, 100.0, atol=0.01)  # within rounding
    rows = read_krx_pdf(PDF)
    np.testing.assert_allclose(rows["weight"].sum(), 1.0, atol=1e-4)
    assert rows["cash"].sum() == 1
    assert rows.loc[rows["cash"], "name"].item() == "원화예금"
    q = DataQuality()
    h = load_krx_pdf(PDF, quality=q)
    tab = h.table
    assert len(tab) == 200 and (tab["etf"] == "152100").all()
    assert (tab["effective_date"] == pd.Timestamp("2021-04-02")).all()
    assert not tab["stock"].str.startswith("KRD").any()
    np.testing.assert_allclose(tab["weight"].sum(), 1.0, rtol=1e-12)
    noncash = sum(float(r["COMPST_RTO"]) for r in raw if not r["COMPST_ISU_CD"].startswith("KRD"))
    w = h.weights_at("152100", "2021-04-02")
    np.testing.assert_allclose(w["005930"], 31.74 / noncash, rtol=1e-12)
    np.testing.assert_allclose(w["000660"], 6.28 / noncash, rtol=1e-12)
    assert q.count("dropped", "cash rows") == 1
    assert q.count("renormalized") == 1


def test_pdf_korean_header_cp949_and_explicit_etf_date(tmp_path):
    raw = pd.read_csv(PDF, dtype=str)
    kor = raw.rename(columns={"COMPST_ISU_CD": "종목코드", "COMPST_ISU_NM": "구성종목명",
                              "COMPST_ISU_CU1_SHRS": "주식수(계약수)", "VALU_AMT": "평가금액",
                              "COMPST_AMT": "시가총액", "COMPST_RTO": "비중"})
    p = tmp_path / "pdf.csv"
    kor.to_csv(p, index=False, encoding="cp949")
    h = load_krx_pdf(p, etf="152100", date="2021-04-02")
    pd.testing.assert_frame_equal(h.table, load_krx_pdf(PDF).table)


# -- investor by date --------------------------------------------------------------------------

def test_samsung_daily_investor_value_sums_to_weekly_net_purchases():
    f = read_krx_investor_by_date(INV_005930)
    assert list(f.index) == list(pd.bdate_range("2021-01-15", "2021-01-22"))  # reversed
    assert list(f.columns) == ["foreign", "institution", "other_corp", "individual"]
    assert f.loc["2021-01-22", "individual"] == 870_709_684_700
    assert f.loc["2021-01-15", "foreign"] == -246_282_164_100
    weekly = read_krx_netbuy(NB_INDIV).loc["005930", "net_buy_krw"]
    assert f["individual"].sum() == weekly == 2_054_064_769_700
    np.testing.assert_allclose(f.sum(axis=1), 0.0, atol=0.5)  # net buying nets out


# -- pykrx exports -----------------------------------------------------------------------------

def _pykrx_investor_csv(tmp_path, encoding="utf-8"):
    """What ``get_market_trading_value_by_date(..., '005930').to_csv()`` writes (ascending)."""
    raw = pd.read_csv(INV_005930, dtype=str).iloc[::-1]
    df = pd.DataFrame({
        "날짜": pd.to_datetime(raw["TRD_DD"]).dt.strftime("%Y-%m-%d").to_numpy(),
        "기관합계": raw["TRDVAL1"].map(_krw).astype("int64").to_numpy(),
        "기타법인": raw["TRDVAL2"].map(_krw).astype("int64").to_numpy(),
        "개인": raw["TRDVAL3"].map(_krw).astype("int64").to_numpy(),
        "외국인합계": raw["TRDVAL4"].map(_krw).astype("int64").to_numpy(),
        "전체": 0})
    p = tmp_path / "trading_value_005930.csv"
    df.to_csv(p, index=False, encoding=encoding)
    return p


def test_pykrx_investor_value_simple_matches_krx(tmp_path):
    p = _pykrx_investor_csv(tmp_path, encoding="cp949")
    pd.testing.assert_frame_equal(read_pykrx_investor_value(p),
                                  read_krx_investor_by_date(INV_005930), check_freq=False)


def test_pykrx_investor_value_detail(tmp_path):
    """detail=True columns, built from KRX's real KOSPI breakdown (one row, the week)."""
    brk = _breakdown()
    cols = ["금융투자", "보험", "투신", "사모", "은행", "기타금융", "연기금", "기관합계", "기타법인",
            "개인", "외국인", "기타외국인", "전체"]
    src = {c: ("연기금 등" if c == "연기금" else c) for c in cols}
    df = pd.DataFrame({c: [int(brk[src[c]])] for c in cols}, index=pd.Index(["2021-01-22"],
                                                                           name="날짜"))
    p = tmp_path / "detail.csv"
    df.to_csv(p)
    f = read_pykrx_investor_value(p)
    assert f.shape == (1, 12)
    assert f.loc["2021-01-22", "pension"] == -2_386_476_769_712
    assert f.loc["2021-01-22", "institution"] == -3_991_594_490_983
    assert f.loc["2021-01-22", "other_foreign"] == 12_360_894_865
    # foreign is the total 외국인 + 기타외국인 (= KRX's market-wide foreign figure, as in the
    # non-detail file); like institution it aggregates a part, so drop both parts' totals
    assert f.loc["2021-01-22", "foreign"] == int(brk["외국인"]) + 12_360_894_865 == -689_556_883_883
    np.testing.assert_allclose(
        f.drop(columns=["institution", "other_foreign"]).sum(axis=1), 0.0, atol=0.5)


def test_pykrx_marketcap_and_pdf_match_krx(tmp_path):
    raw = pd.read_csv(MCAP, dtype=str)
    num = {c: raw[c].map(_krw).astype("int64") for c in
           ("TDD_CLSPRC", "MKTCAP", "ACC_TRDVOL", "ACC_TRDVAL", "LIST_SHRS")}
    df = pd.DataFrame({"종가": num["TDD_CLSPRC"].to_numpy(), "시가총액": num["MKTCAP"].to_numpy(),
                       "거래량": num["ACC_TRDVOL"].to_numpy(), "거래대금": num["ACC_TRDVAL"].to_numpy(),
                       "상장주식수": num["LIST_SHRS"].to_numpy()},
                      index=pd.Index(raw["ISU_SRT_CD"], name="티커"))
    p = tmp_path / "market_cap_20210104.csv"
    df.to_csv(p)
    f = read_pykrx_marketcap(p)
    k = read_krx_marketcap(MCAP)
    assert len(f) == 2531
    np.testing.assert_array_equal(f["market_cap_krw"].to_numpy(), k["market_cap_krw"].to_numpy())
    assert f.loc["005930", "volume_shares"] == _krw(raw.set_index("ISU_SRT_CD").loc["005930",
                                                                                    "ACC_TRDVOL"])
    # get_etf_portfolio_deposit_file as pykrx builds it: '-' -> 0, KRD010010001 -> '010010'.
    pdf = pd.read_csv(PDF, dtype=str)
    tick = pdf["COMPST_ISU_CD"].map(lambda x: x[3:9] if len(x) > 6 else x)
    frame = pd.DataFrame({
        "계약수": pdf["COMPST_ISU_CU1_SHRS"].str.replace(",", "").replace("-", "0").astype(float)
        .to_numpy(),
        "금액": pdf["VALU_AMT"].str.replace(",", "").replace("-", "0").astype("int64").to_numpy(),
        "비중": pdf["COMPST_RTO"].astype("float32").to_numpy()}, index=pd.Index(tick, name="티커"))
    pp = tmp_path / "etf_pdf_152100_20210402.csv"
    frame.to_csv(pp)
    q = DataQuality()
    h = load_pykrx_pdf(pp, quality=q)
    assert q.count("dropped", "cash rows") == 1
    ref = load_krx_pdf(PDF).table
    pd.testing.assert_series_equal(h.table["stock"], ref["stock"])
    np.testing.assert_allclose(h.table["weight"], ref["weight"], rtol=1e-6)  # float32 in pykrx


def test_pykrx_marketcap_by_date(tmp_path):
    p = tmp_path / "mcap_005930.csv"
    pd.DataFrame({"시가총액": [10, 12], "거래량": [1, 2], "거래대금": [5, 6], "상장주식수": [3, 3]},
                 index=pd.Index(["2021-01-18", "2021-01-15"], name="날짜")).to_csv(p)
    f = read_pykrx_marketcap_by_date(p)
    assert list(f.index) == [pd.Timestamp("2021-01-15"), pd.Timestamp("2021-01-18")]
    assert f["market_cap_krw"].tolist() == [12.0, 10.0]


# -- composition -------------------------------------------------------------------------------

def test_flows_from_krx_compose_week():
    q = DataQuality()
    f = flows_from_krx({NB_INDIV: ("2021-01-22", "8000"), NB_FININV: ("2021-01-22", "1000")},
                       {"2021-01-22": MCAP}, quality=q)
    T, N, K = f.shape
    assert (T, K) == (1, 2) and N == 2531
    assert f.investors == ("financial_investment", "individual")
    i = f.stocks.get_loc("005930")
    assert f.net_buy[0, i, 1] == 2_054_064_769_700
    assert f.net_buy_shares[0, i, 1] == 23_285_329
    assert f.market_cap[0, i] == 495_491_951_650_000
    np.testing.assert_allclose(np.nansum(f.net_buy[0, :, 1]), 4_585_384_731_204, rtol=0)
    # Listed stocks without a row for an investor stay NaN and are counted, never zero.
    listed_missing = int((np.isnan(f.net_buy) & np.isfinite(f.market_cap)[:, :, None]).sum())
    assert listed_missing == (2531 - 906) + (2531 - 865)
    assert q.count("left NaN") == listed_missing


def test_flows_from_krx_dates_from_file_names():
    # Dates come from the names: net buying for the period ending 01-22, caps on 01-04.
    with pytest.raises(DataError, match=r"stock 005930 on 2021-01-22 .* no market cap"):
        flows_from_krx([NB_INDIV], [MCAP])
    with pytest.raises(DataError, match="no net-buying row has a market cap"):
        flows_from_krx([NB_INDIV], [MCAP], on_missing_market="drop")


def test_flows_from_pykrx(tmp_path):
    p = _pykrx_investor_csv(tmp_path)
    mc = tmp_path / "mc.csv"
    pd.DataFrame({"종가": [89700, 88000, 87000, 85000, 87000, 86800],
                  "시가총액": [535e12, 525e12, 519e12, 507e12, 519e12, 518e12]},
                 index=pd.Index(pd.bdate_range("2021-01-15", "2021-01-22").strftime("%Y-%m-%d"),
                                name="날짜")).to_csv(mc)
    f = flows_from_pykrx({"005930": p}, marketcap_by_date={"005930": mc})
    assert f.shape == (6, 1, 4)
    assert f.investor("individual")["005930"].sum() == 2_054_064_769_700


def test_generic_long_fill_rule_and_parquet(tmp_path):
    nb = tmp_path / "nb.csv"
    nb.write_text("date,stock,investor,net_buy,net_buy_shares\n"
                  "2021-01-05,A,외국인합계,\"1,000\",10\n"
                  "2021-01-04,A,foreign,500,5\n"
                  "2021-01-04,B,9000,-200,-2\n"
                  "2021-01-04,B,individual,200,2\n", encoding="utf-8")
    mk = tmp_path / "mk.csv"
    mk.write_text("date,stock,market_cap,close\n2021-01-04,A,1e6,10\n2021-01-04,B,2e6,20\n"
                  "2021-01-05,A,1.1e6,11\n2021-01-05,B,0,\n", encoding="utf-8")
    q = DataQuality()
    f = load_generic_flows(nb, mk, quality=q)
    assert f.investors == ("foreign", "individual")
    assert list(f.stocks) == ["A", "B"]
    assert f.net_buy[1, 0, 0] == 1000.0 and f.net_buy[0, 1, 0] == -200.0
    # B is not listed on 01-05 (market cap 0, no flows): absent, counted.
    assert np.isnan(f.market_cap[1, 1]) and np.isnan(f.net_buy[1, 1]).all()
    assert q.count("set absent (NaN)") == 1
    # A on 01-04 and 01-05 has no individual row: NaN, counted (2 cells).
    assert np.isnan(f.net_buy[0, 0, 1]) and np.isnan(f.net_buy[1, 0, 1])
    assert q.count("left NaN", "net-buy cells of listed stock-days without a row") == 2
    # Parquet gives the same panel.
    pq = tmp_path / "nb.parquet"
    read = read_long_netbuy(nb)
    pd.DataFrame({"date": read["date"], "stock": read["stock"], "investor": read["investor"],
                  "net_buy": read["net_buy"]}).to_parquet(pq)
    g = load_generic_flows(pq, mk)
    np.testing.assert_array_equal(g.net_buy, f.net_buy)


def test_compose_flows_investor_axis_and_float32():
    nb = pd.DataFrame({"date": pd.to_datetime(["2021-01-04"]), "stock": ["A"],
                       "investor": ["pension"], "net_buy": [3.0]})
    mk = pd.DataFrame({"date": pd.to_datetime(["2021-01-04"]), "stock": ["A"],
                       "market_cap": [10.0], "close": [1.0]})
    f = compose_flows(nb, mk, investors=["foreign", "연기금"], dtype="float32")
    assert f.investors == ("foreign", "pension") and f.dtype == np.float32
    assert np.isnan(f.net_buy[0, 0, 0]) and f.net_buy[0, 0, 1] == 3.0


# -- ETF flows ---------------------------------------------------------------------------------

def test_etf_flows_slice():
    q = DataQuality()
    e = load_etf_flows(US / "etf_flows_2026q1_slice.csv", quality=q)
    raw = pd.read_csv(US / "etf_flows_2026q1_slice.csv")
    assert list(e.etfs) == ["IVV", "IWM", "QQQ", "SPY", "VOO"]
    assert len(e.dates) == 66 and e.currency == "USD"
    fl = e.frame("flow")
    np.testing.assert_allclose(fl.sum(), raw.groupby("ticker")["flow_usd"].sum(), rtol=1e-12)
    assert fl.loc["2026-01-02", "IVV"] == 616_330_000.0
    # US holidays are empty in the export: NaN and counted, not zero.
    assert fl.loc["2026-01-19"].isna().all()
    assert q.count("left NaN", "empty flow cells") == int(raw["flow_usd"].isna().sum()) > 0


def test_etf_shares_nav_flow_formula():
    e = load_etf_shares_nav(US / "etf_shares_2026q1_slice.csv", nav_from="close")
    so, nav, fl = e.frame("shares_outstanding"), e.frame("nav"), e.frame("flow")
    want = (so.loc["2026-03-31", "IWM"] - so.loc["2026-03-30", "IWM"]) * nav.loc["2026-03-30",
                                                                                "IWM"]
    np.testing.assert_allclose(fl.loc["2026-03-31", "IWM"], want, rtol=1e-12)
    assert fl.loc["2026-03-31", "IWM"] == pytest.approx(-1_000_000 * 239.6100006103516)
    assert np.isnan(fl.iloc[0]).all()
    # NAV missing on 03-28 (no price): the next flow is NaN, not zero.
    assert np.isnan(fl.loc["2026-03-30", "IWM"])


def test_etf_shares_nav_panel_in_millions(tmp_path):
    p = tmp_path / "panel.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2021-07-07", "2021-07-08"]), "ticker": ["X", "X"],
                  "Assets_MUSD": [10.0, 10.5], "NAV": [25.0, 25.5], "Volume": [100.0, 90.0],
                  "Expense": [0.25, 0.25], "SharesOut_M": [0.4, 0.42]}).to_parquet(p)
    e = load_etf_shares_nav(p)
    np.testing.assert_allclose(e.frame("shares_outstanding")["X"], [400_000, 420_000])
    np.testing.assert_allclose(e.frame("flow")["X"].iloc[1], 20_000 * 25.0)
    np.testing.assert_allclose(e.expense_ratio, [0.0025])


# -- holdings and prices -----------------------------------------------------------------------

def test_issuer_holdings_cash_and_renormalization(tmp_path):
    p = tmp_path / "holdings.csv"
    p.write_text("date,etf,ticker,weight,name\n"
                 "2021-04-02,152100,005930,60,삼성전자\n"
                 "2021-04-02,152100,000660,38,SK하이닉스\n"
                 "2021-04-02,152100,KRD010010001,2,원화예금\n"
                 "2021-05-03,152100,005930,100,삼성전자\n", encoding="cp949")
    q = DataQuality()
    h = load_holdings(p, quality=q)
    np.testing.assert_allclose(h.weights_at("152100", "2021-04-30").to_numpy(),
                               [0.38 / 0.98, 0.60 / 0.98], rtol=1e-12)
    assert q.count("dropped", "cash rows") == 1
    assert q.count("renormalized") == 1  # the 05-03 snapshot already sums to 1
    f = flows_from_krx({NB_INDIV: ("2021-01-22", "8000")}, {"2021-01-22": MCAP})
    assert check_holdings_in_flows(h, f).empty


def test_prices_wide_descending_and_long(tmp_path):
    p = tmp_path / "px.csv"
    p.write_text("date,SPY,QQQ\n2024-01-04,101,\n2024-01-03,100,400\n")
    q = DataQuality()
    px = read_prices(p, quality=q)
    assert list(px.index) == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04")]
    assert np.isnan(px.loc["2024-01-04", "QQQ"]) and q.count("left NaN") == 1
    lp = tmp_path / "long.csv"
    lp.write_text("date,ticker,close\n2024-01-04,SPY,101\n2024-01-03,SPY,100\n"
                  "2024-01-03,QQQ,400\n")
    pd.testing.assert_frame_equal(read_prices(lp), px[["QQQ", "SPY"]], check_freq=False)


def test_top_holdings_wide_real_slice():
    q = DataQuality()
    path = US / "top_holdings_XLB_slice.csv"
    h = load_top_holdings_wide(path, etf="XLB", quality=q)
    raw = pd.read_csv(path)
    # 12 rows, 01/03/2022 scraped three times: 10 snapshots, 2 rows dropped and counted.
    assert len(h.snapshot_dates("XLB")) == 10
    assert q.count("dropped", "rows of a repeated date (the last one kept)") == 2
    # 'n/a' holdings are dropped and counted (one per row where its weight is non-zero).
    assert q.count("dropped", "holdings without a ticker ('n/a')") == int(
        (raw.drop_duplicates("Unnamed: 0", keep="last")["n/a"] != 0).sum())
    w = h.weights_at("XLB", "2021-12-16")
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-12)
    row = raw.iloc[0]
    listed = row.drop(["Unnamed: 0", "SUM", "n/a"]).astype(float)
    np.testing.assert_allclose(w["LIN"], 17.16 / listed[listed > 0].sum(), rtol=1e-12)


def test_krx_codes_restore_leading_zeros(tmp_path):
    p = tmp_path / "mc.csv"
    p.write_text("ISU_SRT_CD,ISU_ABBRV,TDD_CLSPRC,MKTCAP\n5930,삼성전자,83000,10\n"
                 "KR7000660001,SK하이닉스,1,1\n0001A0,new,1,1\n")
    q = DataQuality()
    f = read_krx_marketcap(p, quality=q)
    assert list(f.index) == ["005930", "000660", "0001A0"]
    assert q.count("zero-padded") == 1


def test_negative_cash_weight_is_dropped_not_an_error(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("date,etf,ticker,weight\n2021-04-02,X,A,60.5\n2021-04-02,X,B,40\n"
                 "2021-04-02,X,USD,-0.5\n")
    h = load_holdings(p)
    np.testing.assert_allclose(h.weights_at("X", "2021-04-02")["A"], 60.5 / 100.5, rtol=1e-12)
