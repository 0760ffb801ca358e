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


def test_store_holdings_round_trip(tmp_path):
    tab = _table()
    st = _store(tmp_path, tab)
    assert len(st.partitions("holdings")) == 4  # 2021 .. 2024: rows come by year
    want = Holdings(tab)
    got = st.holdings()
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.etfs.equals(want.etfs)
    dates = pd.bdate_range("2021-10-01", "2024-06-28")
    stocks = pd.Index(["b", "005930", "A", "000660", "Z9"])  # 삼성SDI not in the panel
    for etfs in (None, ["타이거", "E2"]):
        a, csr_a = want.to_csr(dates, stocks, etfs, 1)
        b, csr_b = got.to_csr(dates, stocks, etfs, 1)
        assert a.equals(b)
        for x, y in zip(csr_a, csr_b, strict=True):
            np.testing.assert_array_equal(x, y)
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
