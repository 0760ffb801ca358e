"""Cut the bundled real-data slice (``datasets/data/*.parquet``) from the shared raw data.

Run by hand, never by tests::

    .venv/bin/python benchmarks/make_bundle.py --src /work/shared/data --out datasets/data

What it does, file by file, is exactly what ``datasets/README.md`` documents: which rows and
columns are kept, which units are converted (KRX net buying from KRW 100 million to KRW, KRX
market cap from KRW trillion to KRW) and which Korean column names become English ones. Before
writing, it cross-checks the KRX unit conversions against independent KRX recordings (pykrx test
data) and stops if they disagree. The output is deterministic: the same inputs give the same
frames (Parquet, zstd level 9, no pandas index metadata beyond the date index).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

#: KRX market-wide net buying in the source is in KRW 100 million (억원).
KRW_PER_EOK = 1e8
#: KRX market cap (시총) in the source is in KRW trillion (조원).
KRW_PER_JO = 1e12

#: US index levels are kept from this date on (older history is not needed by the examples).
INDEX_START = "1990-01-01"

#: ETFs kept from the ~2,980-fund shares/NAV panel: the 27 ETFs of ``us_etf_adjclose``, which are
#: the ones the examples and the README's reference allocation use.
EXAMPLE_ETFS = (
    "SPY VOO IVV RSP QQQ TQQQ IWM IJR IJH IWO IWN VUG VTI VXUS IEMG "
    "XLK XLF XLE XLB XLI XLP XLU XLRE XLV XLY XLC MDY"
).split()

#: Korean source names -> canonical investor ids (engine.investors).
KRX_INVESTORS = {"외국인": "foreign", "기관": "institution", "개인": "individual"}
KRX_MARKETS = ("KOSPI", "KOSDAQ")
#: KRX index-file fields -> English names with units.
KRX_INDEX_FIELDS = {
    "종가": ("close", 1.0),
    "시총": ("market_cap_krw", KRW_PER_JO),
    "PER": ("per", 1.0),
    "PBR": ("pbr", 1.0),
    "ROE": ("roe_pct", 1.0),
}

PARQUET_KW = {"compression": "zstd", "compression_level": 9}


def _check_dates(df: pd.DataFrame, name: str) -> None:
    idx = df.index
    if not isinstance(idx, pd.DatetimeIndex) or not idx.is_unique or not idx.is_monotonic_increasing:
        raise SystemExit(f"{name}: index must be unique increasing dates")


def cut_us_etf_adjclose(src: Path) -> pd.DataFrame:
    """All 27 ETFs, all history, float64 USD (kept as is)."""
    df = pd.read_parquet(src / "us_etf_adjclose.parquet").astype(np.float64)
    _check_dates(df, "us_etf_adjclose")
    return df


def cut_us_index_close(src: Path) -> pd.DataFrame:
    """SPX, NDX, RUT from ``INDEX_START`` on; rows where all three are NaN are dropped."""
    df = pd.read_parquet(src / "us_index_close.parquet").astype(np.float64)
    df = df.loc[INDEX_START:].dropna(how="all")
    _check_dates(df, "us_index_close")
    return df


def cut_us_rates(src: Path) -> pd.DataFrame:
    """13-week T-bill and 10-year yields, percent per year, all history."""
    df = pd.read_parquet(src / "us_rates_daily.parquet")[["IRX_pct", "TNX_pct"]].astype(np.float64)
    _check_dates(df, "us_rates_daily")
    return df


def cut_krx_investor_netbuy(src: Path) -> pd.DataFrame:
    """Market-wide net buying, renamed ``{market}_{investor}_krw`` and converted 억원 -> KRW."""
    raw = pd.read_parquet(src / "krx_market_investor_netbuy_daily.parquet")
    out = {}
    for m in KRX_MARKETS:
        for ko, en in KRX_INVESTORS.items():
            out[f"{m}_{en}_krw"] = raw[f"{m}_순매수_{ko}"].astype(np.float64) * KRW_PER_EOK
    df = pd.DataFrame(out, index=raw.index)
    _check_dates(df, "krx_market_investor_netbuy_daily")
    return df


def cut_krx_market_index(src: Path) -> pd.DataFrame:
    """KOSPI/KOSDAQ close, market cap (조원 -> KRW), PER, PBR, ROE; all history, float64."""
    raw = pd.read_parquet(src / "krx_market_index_daily.parquet")
    out = {}
    for m in KRX_MARKETS:
        for ko, (en, scale) in KRX_INDEX_FIELDS.items():
            out[f"{m}_{en}"] = raw[f"{m}_{ko}"].astype(np.float64) * scale
    df = pd.DataFrame(out, index=raw.index)
    _check_dates(df, "krx_market_index_daily")
    return df


def cut_us_etf_flows_2026q1(src: Path) -> pd.DataFrame:
    """Daily flows of 51 ETFs as published (long: date, ticker, flow_usd), sorted."""
    df = pd.read_parquet(src / "us_etf_daily_flows_2026q1.parquet")
    df = df.sort_values(["date", "ticker"], kind="stable").reset_index(drop=True)
    return df


def cut_us_etf_shares_nav(src: Path) -> pd.DataFrame:
    """The shares/NAV panel restricted to ``EXAMPLE_ETFS``; all rows and columns kept as is."""
    df = pd.read_parquet(src / "us_etf_shares_nav_panel.parquet")
    df = df[df["ticker"].isin(EXAMPLE_ETFS)]
    df = df.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    if df.duplicated(["ticker", "date"]).any():
        raise SystemExit("us_etf_shares_nav_panel: duplicate (ticker, date) rows")
    return df


def cross_check_krx_units(src: Path, netbuy: pd.DataFrame, index: pd.DataFrame) -> list[str]:
    """Compare the converted KRX series with independent KRX recordings (pykrx test data).

    Returns the lines of evidence; raises SystemExit when a check fails. Checks:

    1. KOSPI and KOSDAQ market cap on 2021-01-04 equal the sum of ``MKTCAP`` (KRW) over the
       listings of that market in ``pykrx/market_cap_by_ticker_ALL_20210104.csv``.
    2. Institution and individual KOSPI net buying summed over 2021-01-15..22 equal KRX's
       ``NETBID_TRDVAL`` (KRW) for 기관합계 and 개인 in
       ``pykrx/investor_breakdown_KOSPI_20210115_20210122.csv``; foreign equals 외국인 + 기타외국인
       (the source's 외국인 is the foreign total, canonical ``foreign``).
    3. KOSDAQ individual net buying over the same week equals the per-stock sum in
       ``pykrx/net_purchases_by_ticker_KOSDAQ_inv8000_20210115_20210122.csv``.
    """
    pk = src / "pykrx"
    lines = []

    def agree(what: str, ours: float, theirs: float, rel: float = 1e-6) -> None:
        ok = abs(ours - theirs) <= rel * abs(theirs)
        lines.append(f"{what}: bundle {ours:,.0f} KRW vs KRX {theirs:,.0f} KRW -> "
                     f"{'OK' if ok else 'MISMATCH'}")
        if not ok:
            raise SystemExit(lines[-1])

    mc = pd.read_csv(pk / "market_cap_by_ticker_ALL_20210104.csv", thousands=",",
                     dtype={"ISU_SRT_CD": str})
    for m in KRX_MARKETS:
        agree(f"{m} market cap 2021-01-04", index.loc["2021-01-04", f"{m}_market_cap_krw"],
              float(mc.loc[mc["MKT_NM"] == m, "MKTCAP"].sum()))
    ib = pd.read_csv(pk / "investor_breakdown_KOSPI_20210115_20210122.csv", thousands=",")
    krx = dict(zip(ib["INVST_TP_NM"], ib["NETBID_TRDVAL"].astype(float), strict=True))
    week = netbuy.loc["2021-01-15":"2021-01-22"].sum()
    agree("KOSPI institution net buy 2021-01-15..22", week["KOSPI_institution_krw"], krx["기관합계"])
    agree("KOSPI individual net buy 2021-01-15..22", week["KOSPI_individual_krw"], krx["개인"])
    agree("KOSPI foreign net buy 2021-01-15..22", week["KOSPI_foreign_krw"],
          krx["외국인"] + krx["기타외국인"])
    n8 = pd.read_csv(pk / "net_purchases_by_ticker_KOSDAQ_inv8000_20210115_20210122.csv",
                     thousands=",")
    agree("KOSDAQ individual net buy 2021-01-15..22", week["KOSDAQ_individual_krw"],
          float(n8["NETBID_TRDVAL"].sum()))
    return lines


#: output file name -> cut function
CUTS = {
    "us_etf_adjclose.parquet": cut_us_etf_adjclose,
    "us_index_close.parquet": cut_us_index_close,
    "us_rates_daily.parquet": cut_us_rates,
    "krx_investor_netbuy_krw.parquet": cut_krx_investor_netbuy,
    "krx_market_index_krw.parquet": cut_krx_market_index,
    "us_etf_daily_flows_2026q1.parquet": cut_us_etf_flows_2026q1,
    "us_etf_shares_nav_example_etfs.parquet": cut_us_etf_shares_nav,
}


def describe(name: str, df: pd.DataFrame, path: Path) -> str:
    """One markdown table row: file, rows x cols, date range, size, sha256 prefix."""
    dates = df.index if isinstance(df.index, pd.DatetimeIndex) else pd.DatetimeIndex(df["date"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return (f"| `{name}` | {len(df):,} x {df.shape[1]} | {dates.min().date()} .. "
            f"{dates.max().date()} | {path.stat().st_size / 1024:,.0f} KiB | `{digest}` |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1]
                        / "datasets" / "data")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    frames = {name: cut(args.src) for name, cut in CUTS.items()}
    evidence = cross_check_krx_units(args.src, frames["krx_investor_netbuy_krw.parquet"],
                                     frames["krx_market_index_krw.parquet"])
    rows = ["| file | rows x cols | range | size | sha256 |", "|---|---|---|---|---|"]
    for name, df in frames.items():
        path = args.out / name
        keep_index = isinstance(df.index, pd.DatetimeIndex)
        df.to_parquet(path, index=keep_index, **PARQUET_KW)
        rows.append(describe(name, df, path))
    print("\n".join(rows))
    print("\nKRX unit cross-checks:")
    print("\n".join(f"- {line}" for line in evidence))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
