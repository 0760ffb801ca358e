"""Store.holdings(): snapshots read back from the yearly Parquet partitions as they went in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasets.store import SYNTHETIC_SRC, create_store, open_store
from engine.market import Holdings


def _table(seed=0):
    """Three ETFs, snapshots over three years (three partitions), non-ASCII codes."""
    rng = np.random.default_rng(seed)
    stocks = ["005930", "000660", "삼성SDI", "A", "b", "Z9"]
    rows = []
    for etf in ["KODEX 200", "E2", "타이거"]:
        for d in pd.date_range("2021-11-01", "2024-02-01", freq="91D"):
            held = sorted(rng.choice(stocks, rng.integers(2, 6), replace=False))
            w = rng.random(len(held))
            rows += [(etf, d, s, x / w.sum()) for s, x in zip(held, w, strict=True)]
    return pd.DataFrame(rows, columns=["etf", "effective_date", "stock", "weight"])


def _store(tmp_path, tab):
    st = create_store(tmp_path / "store")
    st.add_rows("holdings", tab.assign(src_weight=np.int32(SYNTHETIC_SRC)),
                {"weight": ["weight"]})
    st.write_manifest()
    return open_store(tmp_path / "store")


def assert_same_csr(a: Holdings, b: Holdings, etf_lists, lag_days: int) -> None:
    """``a`` and ``b`` lay out the same CSR for each ETF list on a panel of business days
    2021-10 .. 2024-06 and five stocks (삼성SDI not in it)."""
    dates = pd.bdate_range("2021-10-01", "2024-06-28")
    stocks = pd.Index(["b", "005930", "A", "000660", "Z9"])
    for etfs in etf_lists:
        ea, ca = a.to_csr(dates, stocks, etfs, lag_days)
        eb, cb = b.to_csr(dates, stocks, etfs, lag_days)
        assert ea.equals(eb)
        for x, y in zip(ca, cb, strict=True):
            np.testing.assert_array_equal(x, y)


def test_store_holdings_round_trip(tmp_path):
    tab = _table()
    st = _store(tmp_path, tab)
    assert len(st.partitions("holdings")) == 4  # 2021 .. 2024: rows come by year
    want = Holdings(tab)
    got = st.holdings()
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.etfs.equals(want.etfs)
    assert_same_csr(want, got, (None, ["타이거", "E2"]), lag_days=1)
    for etf in want.etfs:
        pd.testing.assert_index_equal(got.snapshot_dates(etf), want.snapshot_dates(etf))
        assert got._stocks_of(etf).equals(pd.Index(sorted(tab.loc[tab["etf"] == etf, "stock"]
                                                           .unique())))


def test_store_holdings_of_some_etfs(tmp_path):
    tab = _table(1)
    st = _store(tmp_path, tab)
    got = st.holdings(etfs=["타이거", "nope"])
    assert list(got.etfs) == ["타이거"]
    want = Holdings(tab[tab["etf"] == "타이거"])
    pd.testing.assert_frame_equal(got.table, want.table)
    assert st.holdings(etfs=["nope"]) is None
    assert create_store(tmp_path / "empty").holdings() is None
