"""Store.holdings() over appends, ETF filters and cache trouble: the Holdings read from the
layout cache (datasets/holdings_layout.py) is the one the partitions give, bit for bit, and
a cache that cannot serve is counted in the data-quality summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasets.holdings_layout import LAYOUT_FILE
from datasets.store import SYNTHETIC_SRC, Store, create_store, open_store
from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, Holdings
from engine.synthesis import synthesize_flows

STOCKS = ["005930", "000660", "삼성SDI", "A", "b", "Z9", "Q1"]
ETFS = ["KODEX 200", "E2", "타이거", "ZZ"]
UNUSABLE = "unusable, read from holdings/ instead:"


def _table(seed=0, start="2021-11-01", end="2024-02-01"):
    """Four ETFs, snapshots over several years (several partitions), non-ASCII codes."""
    rng = np.random.default_rng(seed)
    rows = []
    for etf in ETFS:
        for d in pd.date_range(start, end, freq=f"{int(rng.integers(60, 120))}D"):
            held = sorted(rng.choice(STOCKS, rng.integers(2, 6), replace=False))
            w = rng.random(len(held))
            rows += [(etf, d, s, x / w.sum()) for s, x in zip(held, w, strict=True)]
    return pd.DataFrame(rows, columns=["etf", "effective_date", "stock", "weight"])


def _add(st: Store, tab: pd.DataFrame) -> None:
    st.add_rows("holdings", tab.assign(src_weight=np.int32(SYNTHETIC_SRC)),
                {"weight": ["weight"]})
    st.write_manifest()


def _store(path, tab):
    st = create_store(path)
    _add(st, tab)
    return open_store(path)


def _flows(seed=0):
    """A panel over the snapshots' years; one stock of the holdings (Q1) left out."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", "2024-06-28")
    stocks = pd.Index(["b", "005930", "A", "000660", "Z9", "삼성SDI"])
    nb = rng.standard_normal((len(dates), len(stocks), 2)) * 1e9
    nb[rng.random(nb.shape) < 0.05] = np.nan
    cap = np.exp(rng.normal(27, 1, (len(dates), len(stocks))))
    return ConstituentFlows(dates, stocks, ("foreign", "individual"), nb, cap, cap / 1e6)


def _assert_same(got: Holdings, want: Holdings):
    """Same table, ETFs, layout arrays, CSR and synthesis (bit for bit, attrs too)."""
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.etfs.equals(want.etfs)
    a, b = got.layout_arrays(), want.layout_arrays()
    for k in Holdings.LAYOUT_ARRAYS:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    flows = _flows()
    for etfs in (None, list(want.etfs[::-1])):
        for lag in (0, 3):
            ea, csr_a = want.to_csr(flows.dates, flows.stocks, etfs, lag)
            eb, csr_b = got.to_csr(flows.dates, flows.stocks, etfs, lag)
            assert ea.equals(eb)
            for x, y in zip(csr_a, csr_b, strict=True):
                np.testing.assert_array_equal(x, y)
            with pytest.warns(UserWarning):  # Q1 is not in the panel
                sw = synthesize_flows(flows, want, etfs=etfs, lag_days=lag)
            with pytest.warns(UserWarning):
                sg = synthesize_flows(flows, got, etfs=etfs, lag_days=lag)
            pd.testing.assert_frame_equal(sg, sw, check_exact=True)
            assert sg.attrs == sw.attrs


def _partitions_not_read(monkeypatch):
    import pyarrow.parquet as pq

    def refuse(*a, **k):
        raise AssertionError("read a holdings partition")
    monkeypatch.setattr(pq, "read_table", refuse)


def test_store_built_at_once_or_incrementally_reads_the_same(tmp_path):
    """Appends (each read in between, so the cache goes stale and is rewritten each time),
    one of them a new ETF's snapshot inside an earlier year, end with the Holdings of the
    store written at once, from the cache and from the partitions."""
    tabs = [_table(2, "2019-03-01", "2020-12-31"), _table(3, "2021-01-05", "2022-06-30"),
            _table(4, "2022-07-01", "2024-03-01"),
            pd.DataFrame({"etf": "AAA", "effective_date": pd.Timestamp("2020-05-04"),
                          "stock": ["A", "Z9"], "weight": [0.25, 0.75]})]
    whole = pd.concat(tabs, ignore_index=True)
    once = _store(tmp_path / "once", whole)
    inc = create_store(tmp_path / "inc")
    for i, tab in enumerate(tabs):
        _add(inc, tab)
        q = DataQuality()
        got = inc.holdings(quality=q)
        _assert_same(got, inc.holdings(layout_cache=False))
        if i:  # the cache of the previous read is stale now: counted, rewritten
            assert q.count(UNUSABLE) == len(inc.partitions("holdings"))
            assert "stale" in q.summary() and "rewritten" in q.summary()
        else:
            assert q.clean  # no cache yet is nothing wrong
    assert "AAA" in got.etfs
    q = DataQuality()
    from_cache = open_store(inc.path).holdings(quality=q)
    assert q.clean
    _assert_same(from_cache, once.holdings())
    _assert_same(once.holdings(), Holdings(whole))
    _assert_same(from_cache, once.holdings(layout_cache=False))


@pytest.mark.parametrize("etfs", [["타이거"], ["타이거", "E2"], ["E2", "ZZ", "nope"], ETFS])
def test_etf_filter_from_the_cache_equals_the_partitions(tmp_path, monkeypatch, etfs):
    st = _store(tmp_path / "s", _table(1))
    st.holdings()  # writes the cache
    want = st.holdings(etfs=etfs, layout_cache=False)
    with monkeypatch.context() as m:
        _partitions_not_read(m)
        got = st.holdings(etfs=etfs)
        assert st.holdings(etfs=["nope"]) is None
    assert list(got.etfs) == sorted(set(etfs) & set(ETFS))
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.etfs.equals(want.etfs)
    flows = _flows()
    with pytest.warns(UserWarning):
        sw = synthesize_flows(flows, want)
    with pytest.warns(UserWarning):
        sg = synthesize_flows(flows, got)
    pd.testing.assert_frame_equal(sg, sw, check_exact=True)


def test_a_store_written_before_the_cache_reads_the_same(tmp_path):
    """Stores on users' disks have partitions only: read as before, nothing counted."""
    tab = _table(5)
    st = _store(tmp_path / "s", tab)
    assert not (st.path / LAYOUT_FILE).exists()
    q = DataQuality()
    _assert_same(st.holdings(quality=q), Holdings(tab))
    assert q.clean and (st.path / LAYOUT_FILE).is_file()
    m = st.market(quality=q)
    assert q.clean
    _assert_same(m.holdings, Holdings(tab))


def test_a_damaged_cache_is_counted_and_rewritten(tmp_path):
    tab = _table(6)
    st = _store(tmp_path / "s", tab)
    st.holdings()
    path = st.path / LAYOUT_FILE
    path.write_bytes(path.read_bytes()[:-200])
    q = DataQuality()
    _assert_same(st.holdings(quality=q), Holdings(tab))
    assert q.count(UNUSABLE) == len(st.partitions("holdings"))
    assert "damaged" in q.summary() and "rewritten" in q.summary()
    q = DataQuality()
    _assert_same(st.holdings(quality=q), Holdings(tab))
    assert q.clean  # the rewritten cache serves again


def test_an_unwritable_store_says_the_cache_was_not_rewritten(tmp_path, monkeypatch):
    import datasets.holdings_layout as holdings_layout

    tab = _table(7)
    st = _store(tmp_path / "s", tab)
    st.holdings()
    new = _table(8, "2024-03-01", "2024-09-01")
    _add(st, new[new["etf"] == "E2"].assign(etf="NEW"))
    monkeypatch.setattr(holdings_layout.np, "savez", _refuse)
    q = DataQuality()
    got = st.holdings(quality=q)
    assert "NEW" in got.etfs and "not rewritten" in q.summary()
    _assert_same(got, st.holdings(layout_cache=False))


def _refuse(*a, **k):
    raise PermissionError(13, "Permission denied")


def test_partitions_read_in_one_scan_equal_those_read_one_by_one(tmp_path, monkeypatch):
    """The one-scan read of the year partitions gives the Holdings the per-file read gives;
    a partition with another column type is read file by file (pandas aligns it)."""
    import pyarrow.parquet as pq

    import datasets.store as store_mod

    st = _store(tmp_path / "s", _table(seed=9, start="2019-03-01"))
    paths = list(st.partitions("holdings"))
    assert len(paths) >= 4
    assert store_mod._read_holdings_parts(paths, ["etf", "stock"]) is not None
    scanned = st.holdings(layout_cache=False)
    monkeypatch.setattr(store_mod, "_read_holdings_parts", lambda paths, cols: None)
    _assert_same(scanned, st.holdings(layout_cache=False))
    monkeypatch.undo()
    # one partition rewritten with float32 weights: another schema
    t = pq.read_table(paths[1])
    pq.write_table(t.set_column(t.schema.get_field_index("weight"), "weight",
                                t["weight"].cast("float32")), paths[1])
    assert store_mod._read_holdings_parts(paths, ["etf", "stock"]) is None


def test_the_arrow_path_serves_the_store_and_equals_the_general_path(tmp_path, monkeypatch):
    """Store.holdings() takes the partitions' Arrow chunks straight to the Holdings
    (engine/holdings_arrow.py); without that path (pandas categoricals and Holdings()) the
    answer is the same, filtered or not."""
    import engine.holdings_arrow as holdings_arrow

    st = _store(tmp_path / "s", _table(seed=11, start="2019-03-01"))
    served = []
    real = holdings_arrow.holdings_from_arrow

    def counted(table):
        h = real(table)
        served.append(h is not None)
        return h
    monkeypatch.setattr(holdings_arrow, "holdings_from_arrow", counted)
    fast = st.holdings(layout_cache=False)
    fast_some = st.holdings(etfs=["E2", "ZZ"], layout_cache=False)
    assert served == [True, True]
    monkeypatch.setattr(holdings_arrow, "holdings_from_arrow", lambda table: None)
    _assert_same(fast, st.holdings(layout_cache=False))
    _assert_same(fast_some, st.holdings(etfs=["E2", "ZZ"], layout_cache=False))


def test_a_partition_with_a_stock_twice_is_named_by_the_general_path(tmp_path):
    """A partition written by hand with a duplicate row: the Arrow path declines it and
    the error names the stock, ETF and date (as Holdings() does)."""
    import pyarrow.parquet as pq

    st = _store(tmp_path / "s", _table(seed=12))
    path = st.partitions("holdings")[0]
    t = pq.read_table(path)
    pq.write_table(_first_row_twice(t), path)
    with pytest.raises(DataError, match="appears twice in the"):
        open_store(st.path).holdings(layout_cache=False)


def _first_row_twice(t):
    import pyarrow as pa

    return pa.concat_tables([t.slice(0, 1), t])
