"""Random corruptions of the real sample files, fed to every loader (issue #10, "Beyond the
list").

The only outcomes allowed: a :class:`DataError` / :class:`ConfigError` that names the file
and a location (line, row or column; or a whole-file problem such as an empty table), or a
result -- and then, for a corruption that destroys content (text in a number, a truncated
row, a duplicated row), either the result equals the clean file's or the data-quality
summary differs from the clean file's (the change is counted). Any other exception type is a
bug. Re-encodings (CP949, EUC-KR, UTF-8 with BOM, UTF-16) must load to the clean result or be
refused; swapped column values must at least not crash a loader.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError, DataError, DataQuality
from tests.datasets._real_cases import DATA, read_rows, write_rows

WHOLE_FILE = ("empty", "no data rows", "cannot tell", "no holding columns")
_NUM = re.compile(r"^-?[\d,]*\.?\d+$")


def _closes_rows():
    sh = pd.read_csv(DATA / "us" / "etf_shares_2026q1_slice.csv")
    px = sh.pivot(index="date", columns="ticker", values="price").dropna()
    return [["date", *px.columns]] + [[d, *(f"{v:.4f}" for v in r)]
                                      for d, r in zip(px.index, px.to_numpy(), strict=True)]


def _loaders():
    from datasets.etf_flows import load_etf_flows, load_etf_shares_nav
    from datasets.generic import read_prices
    from datasets.holdings_files import load_top_holdings_wide
    from datasets.krx import load_krx_pdf, read_krx_marketcap, read_krx_netbuy
    from datasets.pykrx_files import read_pykrx_investor_value

    nb = "pykrx/net_purchases_by_ticker_{}_20210115_20210122.csv"
    return {
        # name: (file name, clean rows, loader(path, quality))
        "krx-netbuy KOSPI 8000": (Path(nb.format("KOSPI_inv8000")).name,
                                  read_rows(nb.format("KOSPI_inv8000"))[:40],
                                  lambda p, q: read_krx_netbuy(p, quality=q)),
        "krx-netbuy KOSDAQ 8000": (Path(nb.format("KOSDAQ_inv8000")).name,
                                   read_rows(nb.format("KOSDAQ_inv8000"))[:40],
                                   lambda p, q: read_krx_netbuy(p, quality=q)),
        "krx-marketcap": ("market_cap_by_ticker_ALL_20210104.csv",
                          read_rows("pykrx/market_cap_by_ticker_ALL_20210104.csv")[:40],
                          lambda p, q: read_krx_marketcap(p, quality=q)),
        "krx-pdf": ("etf_pdf_152100_20210402.csv", read_rows("pykrx/etf_pdf_152100_20210402.csv"),
                    lambda p, q: load_krx_pdf(p, quality=q)),
        "pykrx-investor": ("investor_value_by_date_005930_20210115_20210122.csv",
                           read_rows("pykrx/investor_value_by_date_005930_20210115_20210122.csv"),
                           lambda p, q: read_pykrx_investor_value(p, quality=q)),
        "etf-flows": ("etf_flows_2026q1_slice.csv",
                      read_rows("us/etf_flows_2026q1_slice.csv")[:60],
                      lambda p, q: load_etf_flows(p, quality=q)),
        "etf-shares-nav": ("etf_shares_2026q1_slice.csv",
                           read_rows("us/etf_shares_2026q1_slice.csv"),
                           lambda p, q: load_etf_shares_nav(p, quality=q, nav_from="close")),
        "holdings-wide": ("XLB.csv", read_rows("us/top_holdings_XLB_slice.csv"),
                          lambda p, q: load_top_holdings_wide(p, quality=q)),
        "prices": ("closes.csv", _closes_rows(), lambda p, q: read_prices(p, quality=q)),
    }


LOADERS = _loaders()


def _as_frame(obj) -> pd.DataFrame:
    """A comparable frame of any loader result (DataFrame, Holdings, EtfData)."""
    if isinstance(obj, pd.DataFrame | pd.Series):
        return pd.DataFrame(obj)
    if hasattr(obj, "table"):
        return obj.table
    return pd.concat({f: obj.frame(f) for f in obj.FIELDS if getattr(obj, f) is not None},
                     axis=1)


def _load(name: str, data: bytes):
    fname, _, loader = LOADERS[name]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / fname
        p.write_bytes(data)
        q = DataQuality()
        return loader(p, q), q


def _clean(name: str):
    return _load(name, write_rows(LOADERS[name][1]).encode("utf-8"))


CLEAN = {}


def _clean_cached(name):
    if name not in CLEAN:
        CLEAN[name] = _clean(name)
    return CLEAN[name]


#: Columns of codes and dates: digits, but text there is a code ("0001A0"), not a number.
_NOT_NUMBERS = re.compile(r"_CD|ticker|date|TRD_DD|Unnamed", re.IGNORECASE)


def _numeric_columns(rows) -> list[int]:
    return [j for j in range(len(rows[0]))
            if not _NOT_NUMBERS.search(rows[0][j])
            and all(_NUM.match(r[j].strip()) for r in rows[1:] if j < len(r) and r[j].strip())
            and any(j < len(r) and r[j].strip() for r in rows[1:])]


@st.composite
def corruption(draw):
    name = draw(st.sampled_from(sorted(LOADERS)))
    rows = [list(r) for r in LOADERS[name][1]]
    kind = draw(st.sampled_from(["text_in_number", "truncate_row", "duplicate_row",
                                 "encoding", "swap_columns"]))
    i = draw(st.integers(1, len(rows) - 1))  # a data row (line i + 1)
    encoding = "utf-8"
    if kind == "text_in_number":
        cols = _numeric_columns(rows)
        j = draw(st.sampled_from(cols))
        junk = draw(st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"),
                            min_size=1, max_size=6).filter(lambda s: re.search(r"[^\W\d_]", s)))
        rows[i][j] = junk
    elif kind == "truncate_row":
        k = draw(st.integers(1, len(rows[i]) - 1))
        rows[i] = rows[i][:k]
    elif kind == "duplicate_row":
        rows.insert(i, list(rows[i]))
    elif kind == "swap_columns":
        a, b = draw(st.lists(st.integers(0, len(rows[0]) - 1), min_size=2, max_size=2,
                             unique=True))
        for r in rows[1:]:
            if max(a, b) < len(r):
                r[a], r[b] = r[b], r[a]
    else:
        encoding = draw(st.sampled_from(["cp949", "euc-kr", "utf-8-sig", "utf-16"]))
    try:
        data = write_rows(rows).encode(encoding)
    except UnicodeEncodeError:  # junk text CP949 cannot hold: keep the file UTF-8
        data = write_rows(rows).encode("utf-8")
    return name, kind, data


def _check(name: str, kind: str, data: bytes) -> None:
    fname = LOADERS[name][0]
    try:
        got, q = _load(name, data)
    except (DataError, ConfigError) as e:
        msg = str(e)
        assert fname in msg, msg
        assert ("line " in msg or "row " in msg or "column '" in msg
                or any(w in msg for w in WHOLE_FILE)), msg
        return
    clean, q0 = _clean_cached(name)
    if kind in ("text_in_number", "truncate_row", "duplicate_row", "encoding"):
        same = _as_frame(got).equals(_as_frame(clean))
        counted = q.items != q0.items or q.rows_read != q0.rows_read
        if kind == "encoding":
            assert same, f"{name}: a re-encoded file loaded to a different result"
        else:
            assert same or counted, f"{name}: {kind} changed the result without a count"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruption())
def test_random_corruptions_of_real_files(c):
    _check(*c)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruption())
def test_random_corruptions_of_real_files_many(c):
    _check(*c)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_clean_samples_load(name):
    got, q = _clean(name)
    assert len(_as_frame(got)) > 0
    assert sum(q.rows_read.values()) > 0
