"""Bad files built from the real samples in tests/data/ (one mutation each, at a known line
and column), for the table-driven test in test_bad_input.py and the corruption property test.

Each case copies a real file, changes one thing a user's file really gets wrong (text in a
number, an empty cell, a duplicated row, an unparseable or out-of-order date, a negative or
inconsistent value, a missing column, a CP949 re-save, a truncated row) and names the
substrings the DataError must contain: the file, ``line N``, ``column 'C'`` and the fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]  # name -> text (written as UTF-8 unless bytes)
    call: Callable[[dict], object]  # paths by name -> loader call
    expect: list[str]  # substrings of the message (file, line, column, what, fix)
    encodings: dict[str, str] = field(default_factory=dict)


def read_rows(rel: str) -> list[list[str]]:
    with open(DATA / rel, newline="", encoding="utf-8") as fh:
        return [r for r in csv.reader(fh)]


def write_rows(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def set_cell(rows, line: int, column: str, value: str) -> list[list[str]]:
    """Copy of ``rows`` with the cell at file ``line`` (header = 1) and ``column`` set."""
    rows = [list(r) for r in rows]
    rows[line - 1][rows[0].index(column)] = value
    return rows


def drop_column(rows, column: str):
    j = rows[0].index(column)
    return [r[:j] + r[j + 1:] for r in rows]


def materialize(case: Case, tmp: Path) -> dict[str, Path]:
    paths = {}
    for name, content in case.files.items():
        p = tmp / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding=case.encodings.get(name, "utf-8"))
        paths[name] = p
    return paths


def _cases() -> list[Case]:
    from datasets.etf_flows import load_etf_flows, load_etf_shares_nav
    from datasets.generic import read_prices
    from datasets.holdings_files import load_top_holdings_wide
    from datasets.krx import load_krx_pdf, read_krx_marketcap, read_krx_netbuy
    from datasets.pykrx_files import read_pykrx_investor_value

    out: list[Case] = []
    fix = "Fix:"

    # --- KRX per-stock net purchases (3 real files; the portal's English-header CSV) ------
    for stem in ("net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122",
                 "net_purchases_by_ticker_KOSPI_inv1000_20210115_20210122",
                 "net_purchases_by_ticker_KOSDAQ_inv8000_20210115_20210122"):
        rows = read_rows(f"pykrx/{stem}.csv")
        name = f"{stem}.csv"
        short = stem.split("_by_ticker_")[1]

        def call(p, name=name):
            return read_krx_netbuy(p[name])

        out += [
            Case(f"krx netbuy {short}: text in NETBID_TRDVAL",
                 {name: write_rows(set_cell(rows, 5, "NETBID_TRDVAL", "12OO"))}, call,
                 [name, "line 5", "column 'NETBID_TRDVAL'", "'12OO' is not a number", fix]),
            Case(f"krx netbuy {short}: net off buy - sell",
                 {name: write_rows(set_cell(rows, 7, "NETBID_TRDVAL", "1"))}, call,
                 [name, "line 7", "column 'NETBID_TRDVAL'", "is not buy", fix]),
            Case(f"krx netbuy {short}: duplicated row",
                 {name: write_rows(rows[:4] + [rows[2]] + rows[4:])}, call,
                 [name, "line 5", "column 'stock'", "duplicate row", fix]),
            Case(f"krx netbuy {short}: CP949 re-save with text in a number",
                 {name: write_rows(set_cell(rows, 3, "NETBID_TRDVAL", "n/a?"))}, call,
                 [name, "line 3", "column 'NETBID_TRDVAL'", "is not a number", fix],
                 {name: "cp949"}),
        ]
    rows = read_rows("pykrx/net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv")
    name = "net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv"
    out += [
        Case("krx netbuy: net column missing",
             {name: write_rows(drop_column(rows, "NETBID_TRDVAL"))},
             lambda p, name=name: read_krx_netbuy(p[name]),
             [name, "line 1", "column 'NETBID_TRDVAL'", "missing column", fix]),
        Case("krx netbuy: empty net cell",
             {name: write_rows(set_cell(rows, 9, "NETBID_TRDVAL", ""))},
             lambda p, name=name: read_krx_netbuy(p[name]),
             [name, "line 9", "column 'NETBID_TRDVAL'", fix]),
        Case("krx netbuy: truncated last row",
             {name: write_rows(rows[:-1] + [rows[-1][:3]])},
             lambda p, name=name: read_krx_netbuy(p[name]),
             [name, f"line {len(rows)}", fix]),
    ]

    # --- KRX all-listing market caps -------------------------------------------------------
    rows = read_rows("pykrx/market_cap_by_ticker_ALL_20210104.csv")
    name = "market_cap_by_ticker_ALL_20210104.csv"

    def mc(p, name=name):
        return read_krx_marketcap(p[name])

    out += [
        Case("krx marketcap: text in MKTCAP", {name: write_rows(set_cell(rows, 4, "MKTCAP", "1e"))},
             mc, [name, "line 4", "column 'MKTCAP'", "is not a number", fix]),
        Case("krx marketcap: negative MKTCAP",
             {name: write_rows(set_cell(rows, 6, "MKTCAP", "-101,253,674,860"))}, mc,
             [name, "line 6", "column 'MKTCAP'", fix]),
        Case("krx marketcap: empty MKTCAP", {name: write_rows(set_cell(rows, 8, "MKTCAP", ""))},
             mc, [name, "line 8", "column 'MKTCAP'", fix]),
        Case("krx marketcap: duplicated listing", {name: write_rows(rows[:11] + [rows[3]])}, mc,
             [name, "line 12", "column 'stock'", "duplicate row", fix]),
        Case("krx marketcap: CP949 re-save, text in the close",
             {name: write_rows(set_cell(rows, 10, "TDD_CLSPRC", "2,26O"))}, mc,
             [name, "line 10", "column 'TDD_CLSPRC'", "misplaced thousands separators", fix],
             {name: "cp949"}),
        Case("krx marketcap: market-cap column missing",
             {name: write_rows(drop_column(rows, "MKTCAP"))}, mc,
             [name, "line 1", "column 'MKTCAP'", "missing column", fix]),
    ]

    # --- KRX portfolio deposit file (ARIRANG 200) ------------------------------------------
    rows = read_rows("pykrx/etf_pdf_152100_20210402.csv")
    name = "etf_pdf_152100_20210402.csv"

    def pdf(p, name=name):
        return load_krx_pdf(p[name])

    out += [
        Case("krx pdf: text in COMPST_RTO",
             {name: write_rows(set_cell(rows, 4, "COMPST_RTO", "3.1x"))}, pdf,
             [name, "line 4", "column 'COMPST_RTO'", "is not a number", fix]),
        Case("krx pdf: negative weight",
             {name: write_rows(set_cell(rows, 3, "COMPST_RTO", "-6.28"))}, pdf,
             [name, "line 3", "column 'COMPST_RTO'", "must be >= 0", fix]),
        Case("krx pdf: truncated to its first 50 holdings",
             {name: write_rows(rows[:51])}, pdf,
             [name, "line 2", "column 'weight'", "not 100%", "--allow-partial"]),
        Case("krx pdf: constituent listed twice",
             {name: write_rows(rows[:5] + [rows[2]] + rows[5:])}, pdf,
             [name, "line 6", "duplicate row", fix]),
        Case("krx pdf: shares missing for a stock",
             {name: write_rows(set_cell(rows, 3, "COMPST_ISU_CU1_SHRS", "-"))}, pdf,
             [name, "line 3", "column 'COMPST_ISU_CU1_SHRS'", "missing for non-cash", fix]),
        Case("krx pdf: CP949 re-save with a weight typo",
             {name: write_rows(set_cell(rows, 2, "COMPST_RTO", "31,74"))}, pdf,
             [name, "line 2", "column 'COMPST_RTO'", fix], {name: "cp949"}),
    ]

    # --- pykrx daily net buying by investor (Samsung, newest first) ------------------------
    rows = read_rows("pykrx/investor_value_by_date_005930_20210115_20210122.csv")
    name = "investor_value_by_date_005930_20210115_20210122.csv"

    def iv(p, name=name):
        return read_pykrx_investor_value(p[name])

    out += [
        Case("pykrx investor: bad date", {name: write_rows(set_cell(rows, 3, "TRD_DD",
                                                                    "2021/01/2l"))}, iv,
             [name, "line 3", "column 'TRD_DD'", "cannot be parsed", fix]),
        Case("pykrx investor: dates out of order",
             {name: write_rows([rows[0], rows[1], rows[3], rows[2]] + rows[4:])}, iv,
             [name, "line 4", "column 'TRD_DD'", "out of order", fix]),
        Case("pykrx investor: text in TRDVAL1",
             {name: write_rows(set_cell(rows, 2, "TRDVAL1", "-562,644,916,9OO"))}, iv,
             [name, "line 2", "column 'TRDVAL1'", "misplaced thousands separators", fix]),
        Case("pykrx investor: total not zero (buy value, not net)",
             {name: write_rows(set_cell(rows, 4, "TRDVAL_TOT", "5,000,000"))}, iv,
             [name, "line 4", "column 'TRDVAL_TOT'", "not net buying", fix]),
        Case("pykrx investor: repeated date",
             {name: write_rows(rows[:3] + [rows[2]] + rows[3:])}, iv,
             [name, "line 4", "column 'TRD_DD'", fix]),
        Case("pykrx investor: empty cell",
             {name: write_rows(set_cell(rows, 5, "TRDVAL3", ""))}, iv,
             [name, "line 5", "column 'TRDVAL3'", fix]),
    ]

    # --- US ETF daily flows (etf.com exports) ----------------------------------------------
    rows = read_rows("us/etf_flows_2026q1_slice.csv")
    name = "etf_flows_2026q1_slice.csv"

    def fl(p, name=name, **kw):
        return load_etf_flows(p[name], **kw)

    out += [
        Case("etf flows: text in flow_usd",
             {name: write_rows(set_cell(rows, 6, "flow_usd", "-2.8bn"))}, fl,
             [name, "line 6", "column 'flow_usd'", "is not a number", fix]),
        Case("etf flows: bad date", {name: write_rows(set_cell(rows, 8, "date", "2026-02-30"))},
             fl, [name, "line 8", "column 'date'", "cannot be parsed", fix]),
        Case("etf flows: duplicated row", {name: write_rows(rows[:10] + [rows[4]] + rows[10:])},
             fl, [name, "line 11", "column 'ticker'", "duplicate row", fix]),
        Case("etf flows: ticker column missing", {name: write_rows(drop_column(rows, "ticker"))},
             fl, [name, "line 1", "column 'ticker'", "missing column", fix]),
        Case("etf flows: empty ticker", {name: write_rows(set_cell(rows, 12, "ticker", ""))},
             fl, [name, "line 12", "column 'ticker'", fix]),
        Case("etf flows: empty flow in strict mode",
             {name: write_rows(set_cell(rows, 3, "flow_usd", ""))},
             lambda p: fl(p, strict=True), [name, "line 3", "column 'flow_usd'",
                                            "flow is missing", fix]),
    ]

    # --- US shares outstanding x price panel -----------------------------------------------
    rows = read_rows("us/etf_shares_2026q1_slice.csv")
    name = "etf_shares_2026q1_slice.csv"

    def sh(p, name=name):
        return load_etf_shares_nav(p[name], nav_from="close")

    out += [
        Case("etf shares: negative shares", {name: write_rows(set_cell(rows, 4, "shares",
                                                                       "-283800000"))}, sh,
             [name, "line 4", "column 'shares'", ">= 0", fix]),
        Case("etf shares: text in shares", {name: write_rows(set_cell(rows, 5, "shares",
                                                                      "283.8M"))}, sh,
             [name, "line 5", "column 'shares'", "is not a number", fix]),
        Case("etf shares: bad date", {name: write_rows(set_cell(rows, 6, "date", "03/31/26x"))},
             sh, [name, "line 6", "column 'date'", "cannot be parsed", fix]),
        Case("etf shares: duplicated row", {name: write_rows(rows[:7] + [rows[3]] + rows[7:])},
             sh, [name, "line 8", "duplicate row", fix]),
        Case("etf shares: no NAV and no nav_from",
             {name: write_rows(rows)}, lambda p, name=name: load_etf_shares_nav(p[name]),
             [name, "line 1", "column 'nav'", "nav_from='close'"]),
    ]

    # --- XLB top-holdings history (wide) ---------------------------------------------------
    rows = read_rows("us/top_holdings_XLB_slice.csv")
    name = "XLB.csv"

    def wide(p, name=name, **kw):
        return load_top_holdings_wide(p[name], **kw)

    out += [
        Case("holdings wide: text in a weight", {name: write_rows(set_cell(rows, 3, "SHW",
                                                                           "8.37%%"))}, wide,
             [name, "line 3", "column 'SHW'", "is not a number", fix]),
        Case("holdings wide: SUM off the row", {name: write_rows(set_cell(rows, 4, "LIN",
                                                                          "7.16"))}, wide,
             [name, "line 4", "column 'SUM'", "differs from the row's weights", fix]),
        Case("holdings wide: negative weight",
             {name: write_rows(set_cell(set_cell(rows, 2, "APD", "-6.58"), 2, "SUM", "86.82"))},
             wide, [name, "line 2", "column 'weight'", "is negative", fix]),
        Case("holdings wide: dates out of order",
             {name: write_rows([rows[0], rows[2], rows[1]] + rows[3:])}, wide,
             [name, "line 3", "column 'Unnamed: 0'", "out of order", fix]),
        Case("holdings wide: bad date", {name: write_rows(set_cell(rows, 5, "Unnamed: 0",
                                                                   "12/32/2021"))}, wide,
             [name, "line 5", "column 'Unnamed: 0'", "cannot be parsed", fix]),
        Case("holdings wide: top-10 cut without --allow-partial",
             {name: write_rows([r[:11] + [r[-1]] for r in rows])}, wide,
             [name, "column 'SUM'", fix]),
        Case("holdings wide: row above 100%",
             {name: write_rows(set_cell(set_cell(rows, 2, "LIN", "27.16"), 2, "SUM",
                                        "109.98"))}, wide,
             [name, "line 2", "column 'weight'", "not 100%", fix]),
        Case("holdings wide: repeated date refused on request", {name: write_rows(rows)},
             lambda p: wide(p, on_repeated_date="error"),
             [name, "column 'Unnamed: 0'", "appears twice", fix]),
    ]

    # --- closes: the real IWM/SPY/QQQ prices of the shares slice, wide ---------------------
    sh_rows = pd.read_csv(DATA / "us" / "etf_shares_2026q1_slice.csv")
    px = sh_rows.pivot(index="date", columns="ticker", values="price").dropna()
    px_rows = [["date", *px.columns]] + [[d, *(f"{v:.4f}" for v in r)]
                                         for d, r in zip(px.index, px.to_numpy(), strict=True)]
    name = "closes.csv"
    col = px.columns[0]

    def prices(p, name=name):
        return read_prices(p[name])

    out += [
        Case("prices: zero close", {name: write_rows(set_cell(px_rows, 3, col, "0"))}, prices,
             [name, "line 3", f"column '{col}'", "> 0", fix]),
        Case("prices: negative close", {name: write_rows(set_cell(px_rows, 2, col, "-1"))},
             prices, [name, "line 2", f"column '{col}'", fix]),
        Case("prices: text in a close", {name: write_rows(set_cell(px_rows, 2, col, "abc"))},
             prices, [name, "line 2", f"column '{col}'", "is not a number", fix]),
        Case("prices: repeated date", {name: write_rows(px_rows[:3] + [px_rows[2]] + px_rows[3:])},
             prices, [name, "line 4", "column 'date'", "appears twice", fix]),
        Case("prices: bad date", {name: write_rows(set_cell(px_rows, 2, "date", "2026-13-01"))},
             prices, [name, "line 2", "column 'date'", "cannot be parsed", fix]),
    ]
    return out


REAL_CASES = _cases()
