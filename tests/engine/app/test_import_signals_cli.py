"""End to end through the CLI on the real KRX files: data import -> store -> flowbt signals.

The expected bp values are computed here with plain pandas from the CSV files themselves
(not with flowbt's loaders or kernels): 1e4 * sum_i w_i * net_buy_i / market_cap_i, cash row
dropped, weights renormalized over the non-cash rows, absent constituents contributing 0.
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from datasets.store import open_store
from engine.app.cli import main
from engine.synthesis import NoUsableHoldingsWarning
from tests.conftest import FIXTURES

PK = FIXTURES / "pykrx"
NB = {"financial_investment": PK / "net_purchases_by_ticker_KOSPI_inv1000_20210115_20210122.csv",
      "individual": PK / "net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv"}
MCAP = PK / "market_cap_by_ticker_ALL_20210104.csv"
PDF = PK / "etf_pdf_152100_20210402.csv"
INV = ["financial_investment", "individual"]


def _import(store, *files, extra=()):
    return main(["data", "import", *map(str, files), "--store", str(store), *extra])


def _signals(store, out, *extra):
    return main(["signals", "--store", str(store), "--etf", "152100", "--investor", *INV,
                 "--max-stale-sessions", "15", "--out", str(out), *extra])


def _expected_bp() -> dict[str, float]:
    """Independent pandas computation from the raw CSVs."""
    num = {"thousands": ",", "dtype": {"ISU_SRT_CD": str, "COMPST_ISU_CD": str}}
    pdf = pd.read_csv(PDF, **num)
    pdf = pdf[~pdf["COMPST_ISU_CD"].str.startswith("KRD")]  # the 원화예금 cash row
    w = pdf.set_index("COMPST_ISU_CD")["COMPST_RTO"].astype(float)
    w = w / w.sum()
    cap = pd.read_csv(MCAP, **num).set_index("ISU_SRT_CD")["MKTCAP"].astype(float)
    out = {}
    for k, path in NB.items():
        nb = pd.read_csv(path, **num).set_index("ISU_SRT_CD")["NETBID_TRDVAL"].astype(float)
        term = (w * nb.reindex(w.index) / cap.reindex(w.index)).fillna(0.0)  # absent -> 0
        out[k] = 1e4 * term.sum()
    return out


def test_pdf_as_published_says_no_weights_before_its_date(tmp_path, capsys):
    store = tmp_path / "store"
    assert _import(store, *NB.values(), MCAP, PDF) == 0
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _signals(store, tmp_path / "out") == 0
    # said once, as the command's own point-in-time line, not again as a Python warning
    assert not [w for w in caught if issubclass(w.category, NoUsableHoldingsWarning)]
    out = capsys.readouterr().out
    assert "152100: no weights are usable before 2021-04-02" in out
    assert "1 of 1 periods without usable weights" in out
    sig = pd.read_parquet(tmp_path / "out" / "signals.parquet")
    assert sig["value"].isna().all() and len(sig) == 2
    q = json.loads((tmp_path / "out" / "quality.json").read_text())
    assert any(i["what"] == "periods without usable weights" and i["count"] == 1
               for i in q)
    cov = pd.read_parquet(tmp_path / "out" / "coverage.parquet")
    assert list(cov.columns[:4]) == ["date", "etf", "covered_weight", "usable"]
    assert not cov["usable"].any()


def test_effective_date_gives_the_independent_bp_values(tmp_path, capsys):
    store = tmp_path / "store"
    assert _import(store, *NB.values(), MCAP) == 0
    assert _import(store, PDF, extra=["--effective-date", "2021-01-14"]) == 0
    capsys.readouterr()
    assert _signals(store, tmp_path / "out") == 0
    out = capsys.readouterr().out
    assert "no weights are usable" not in out
    sig = pd.read_csv(tmp_path / "out" / "signals.csv", parse_dates=["date", "period_start",
                                                                     "period_end"])
    assert set(sig["unit"]) == {"bp"} and set(sig["method"]) == {"bp"}
    assert (sig["period_start"] == pd.Timestamp("2021-01-15")).all()
    assert (sig["period_end"] == pd.Timestamp("2021-01-22")).all()
    got = sig.set_index("investor")["value"]
    exp = _expected_bp()
    for k in INV:
        np.testing.assert_allclose(got[k], exp[k], rtol=1e-12, atol=1e-12)
    # the stale snapshot (2021-01-04 serving 2021-01-15, 9 XKRX sessions) is counted
    assert "with a stale market cap" in out


def test_stale_limit_too_small_leaves_the_period_without_market_caps(tmp_path, capsys):
    store = tmp_path / "store"
    assert _import(store, *NB.values(), MCAP) == 0
    assert _import(store, PDF, extra=["--effective-date", "2021-01-14"]) == 0
    assert main(["signals", "--store", str(store), "--etf", "152100", "--investor", *INV,
                 "--max-stale-sessions", "8", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "older than the stale limit" in out
    sig = pd.read_parquet(tmp_path / "o" / "signals.parquet")
    assert sig["value"].isna().all()  # no constituent with a usable market cap: NaN, not 0
    # 9 sessions is exactly enough
    assert main(["signals", "--store", str(store), "--etf", "152100", "--investor", *INV,
                 "--max-stale-sessions", "9", "--out", str(tmp_path / "o9")]) == 0
    assert pd.read_parquet(tmp_path / "o9" / "signals.parquet")["value"].notna().all()


def _tables(store) -> dict[str, pd.DataFrame]:
    s = open_store(store)
    out = {}
    for t in ("flows", "periods", "holdings"):
        f = s.read_table(t)
        out[t] = f[[c for c in f.columns if not c.startswith("src_")]]
    return out


def test_import_order_does_not_matter(tmp_path):
    files = [*NB.values(), MCAP, PDF]
    assert _import(tmp_path / "a", *files) == 0
    assert _import(tmp_path / "b", *files[::-1]) == 0
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    for t in a:
        pd.testing.assert_frame_equal(a[t], b[t], check_exact=True)


def test_importing_twice_changes_nothing(tmp_path, capsys):
    store = tmp_path / "s"
    assert _import(store, *NB.values(), MCAP, PDF) == 0
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert _import(store, MCAP, *NB.values(), PDF) == 0
    assert "4 skipped" in capsys.readouterr().out
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert before == after
    # the same bytes under another name: identical rows, nothing rewritten
    copy = tmp_path / "market_cap_by_ticker_ALL_20210104_1.csv"
    copy.write_bytes(MCAP.read_bytes())
    assert _import(store, copy) == 0
    assert {p: p.read_bytes() for p in store.rglob("*.parquet")} == \
        {p: v for p, v in before.items() if p.suffix == ".parquet"}


def test_conflicting_reimport_names_both_files_date_stock_column(tmp_path, capsys):
    store = tmp_path / "s"
    assert _import(store, MCAP) == 0
    text = MCAP.read_text(encoding="utf-8").splitlines()
    # line 2 is 060310 (3S); change its market cap
    assert text[1].startswith("060310,")
    text[1] = text[1].replace('"101,253,674,860"', '"101,253,674,861"')
    bad = tmp_path / "edited" / MCAP.name.replace(".csv", "_2.csv")
    bad.parent.mkdir()
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert _import(store, bad) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for part in (MCAP.name, bad.name, "date 2021-01-04", "stock 060310", "'market_cap'",
                 "101253674860.0 vs 101253674861.0"):
        assert part in err, (part, err)
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_period_total_is_not_mixed_with_daily_flows(tmp_path, capsys):
    store = tmp_path / "s"
    assert _import(store, NB["individual"]) == 0
    daily = tmp_path / "net_purchases_by_ticker_KOSPI_inv8000_20210118_20210118.csv"
    shutil.copy(NB["individual"], daily)
    capsys.readouterr()
    assert _import(store, daily) == 2
    err = capsys.readouterr().err
    assert NB["individual"].name in err and daily.name in err
    assert "period total of individual net buying over 2021-01-15..2021-01-22" in err
    assert "2021-01-18" in err


def _daily_files(tmp_path, n_days=25, n_stocks=12):
    """Daily generic-netbuy and generic-market files of a small synthetic market (2 months)."""
    from datasets.synthetic import make_market

    tmp_path.mkdir(parents=True, exist_ok=True)
    m = make_market(n_days, n_stocks, 0, seed=4, start="2000-01-18",
                    investors=("foreign", "individual"))
    f = m.flows
    T, N, K = f.shape
    nb = pd.DataFrame({"date": np.repeat(f.dates, N * K), "stock": np.tile(np.repeat(
        np.asarray(f.stocks), K), T), "investor": np.tile(list(f.investors), T * N),
        "net_buy": f.net_buy.ravel()}).dropna()
    mk = pd.DataFrame({"date": np.repeat(f.dates, N), "stock": np.tile(np.asarray(f.stocks), T),
                       "market_cap": f.market_cap.ravel(), "close": f.close.ravel()}).dropna()
    paths = []
    for d in f.dates:
        p1, p2 = tmp_path / f"nb_{d:%Y%m%d}.csv", tmp_path / f"mk_{d:%Y%m%d}.csv"
        nb[nb["date"] == d].to_csv(p1, index=False, float_format="%.17g", date_format="%Y-%m-%d")
        mk[mk["date"] == d].to_csv(p2, index=False, float_format="%.17g", date_format="%Y-%m-%d")
        paths.append((p1, p2))
    return m, paths


def test_appending_a_day_equals_importing_everything_at_once(tmp_path):
    m, paths = _daily_files(tmp_path / "files")
    flat = [p for pair in paths for p in pair]
    assert _import(tmp_path / "once", *flat) == 0
    assert _import(tmp_path / "inc", *flat[:-2]) == 0
    parts = sorted((tmp_path / "inc" / "flows").glob("*.parquet"))
    assert len(parts) >= 2
    stamps = {p: p.stat().st_mtime_ns for p in parts}
    assert _import(tmp_path / "inc", *flat[-2:]) == 0
    # only the last month's partition was rewritten
    changed = [p.name for p in parts if p.stat().st_mtime_ns != stamps[p]]
    assert changed == [f"{pd.Timestamp(m.flows.dates[-1]):%Y-%m}.parquet"]
    a = open_store(tmp_path / "once").flows()
    b = open_store(tmp_path / "inc").flows()
    for name in ("net_buy", "market_cap", "close"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert a.dates.equals(b.dates) and a.stocks.equals(b.stocks)
    # and equal to the generator's panel (the CSVs carry 17 significant digits)
    assert np.array_equal(a.net_buy, m.flows.net_buy, equal_nan=True)
    np.testing.assert_array_equal(a.market_cap, m.flows.market_cap)


@pytest.mark.parametrize(("path", "kind"), [
    (NB["individual"], "krx-netbuy"), (MCAP, "krx-marketcap"), (PDF, "krx-pdf"),
    (PK / "investor_value_by_date_005930_20210115_20210122.csv", "pykrx-investor"),
    (FIXTURES / "us" / "etf_flows_2026q1_slice.csv", "etf-flows"),
])
def test_data_check_detects_the_kind(path, kind, capsys):
    assert main(["data", "check", str(path)]) == 0
    assert f"detected --kind {kind}" in capsys.readouterr().out


def test_wrong_kind_says_which_kind_reads_the_file(capsys):
    assert main(["data", "check", str(MCAP), "--kind", "pykrx-marketcap"]) == 2
    err = capsys.readouterr().err
    assert "reads as --kind krx-marketcap" in err
    assert "accepted names: 티커, 종목코드, ticker)" in err  # no empty name listed
    assert ", )" not in err and ", ;" not in err


def test_zero_market_cap_is_an_error_naming_file_row_column(tmp_path, capsys):
    df = pd.read_csv(MCAP, dtype=str, keep_default_na=False)
    df.loc[2, "MKTCAP"] = "0"  # file line 4
    bad = tmp_path / "market_cap_by_ticker_ALL_20210104.csv"
    df.to_csv(bad, index=False)
    assert main(["data", "check", str(bad), "--kind", "krx-marketcap"]) == 2
    err = capsys.readouterr().err
    assert "line 4, column 'MKTCAP': market cap is 0" in err and "must be > 0" in err
    pk = tmp_path / "pykrx_cap_20210104.csv"
    pd.DataFrame({"티커": ["005930", "000660"], "종가": [83000, 126000],
                  "시가총액": [495491951650000, 0], "거래량": [1, 2], "거래대금": [1, 2],
                  "상장주식수": [5969782550, 728002365]}).to_csv(pk, index=False)
    assert main(["data", "check", str(pk), "--kind", "pykrx-marketcap"]) == 2
    assert "line 3, column '시가총액': market cap is 0" in capsys.readouterr().err


def test_signals_bundled_evaluate_writes_the_tables(tmp_path, capsys):
    import datasets

    out = tmp_path / "b"
    assert main(["signals", "--bundled", "--investor", "foreign", "institution", "--evaluate",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "evaluation (forward returns start one session after the signal)" in text
    sig = pd.read_parquet(out / "signals.parquet")
    # market-wide bp = 1e4 * net buying / market cap, straight from the bundled tables
    nb = datasets.load_krx_investor_netbuy()
    idx = datasets.load_krx_market_index()
    exp = 1e4 * nb["KOSPI_foreign_krw"] / idx["KOSPI_market_cap_krw"]
    got = sig[(sig["etf"] == "KOSPI") & (sig["investor"] == "foreign")].set_index("date")["value"]
    np.testing.assert_allclose(got.to_numpy(), exp.reindex(got.index).to_numpy(), rtol=1e-12)
    ev = pd.read_csv(out / "evaluation.csv")
    assert set(ev["horizon"]) == {1, 5, 20, 60} and set(ev["asset"]) == {"KOSPI", "KOSDAQ"}
    assert (ev["mode"] == "time_series").all()
    pos = pd.read_parquet(out / "positions.parquet")
    kp = pos[(pos["etf"] == "KOSPI") & (pos["investor"] == "foreign")].set_index("date")["value"]
    np.testing.assert_allclose(kp.to_numpy(), got.cumsum().to_numpy(), rtol=1e-9)
    run = json.loads((out / "run.json").read_text())
    assert "evaluation.csv" in run["files"]


def test_one_by_date_file_per_stock_imports_as_daily_flows(tmp_path):
    """pykrx get_market_trading_value_by_date(..., ticker): the stock comes from the name."""
    p = PK / "investor_value_by_date_005930_20210115_20210122.csv"
    assert _import(tmp_path / "s", p) == 0
    f = open_store(tmp_path / "s").flows()
    assert list(f.stocks) == ["005930"] and len(f.dates) == 6
    raw = pd.read_csv(p, thousands=",")
    raw["date"] = pd.to_datetime(raw["TRD_DD"], format="%Y/%m/%d")
    raw = raw.set_index("date").sort_index()
    for col, k in (("TRDVAL1", "institution"), ("TRDVAL3", "individual"),
                   ("TRDVAL4", "foreign")):
        np.testing.assert_array_equal(f.net_buy[:, 0, f.investors.index(k)],
                                      raw[col].to_numpy(float))
    # a market-wide file is refused, not imported as a stock
    mk = PK / "investor_breakdown_KOSPI_20210115_20210122.csv"
    assert _import(tmp_path / "s", mk, extra=["--kind", "pykrx-investor"]) == 2
