"""The holdings read cache (``holdings_layout.npz``, datasets/holdings_layout.py): a read
from it equals a read of the partitions, it is used only while the partitions are the ones
it was built from, and a damaged or unwritable cache is never the answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import datasets.holdings_layout as holdings_layout
from datasets.holdings_layout import LAYOUT_FILE
from datasets.store import SYNTHETIC_SRC, create_store, open_store
from datasets.synthetic import make_market
from engine.errors import DataError
from engine.market import Holdings
from engine.synthesis import synthesize_flows
from tests.datasets.test_store_holdings import _table, assert_same_csr


def _add(st, tab):
    st.add_rows("holdings", tab.assign(src_weight=np.int32(SYNTHETIC_SRC)),
                {"weight": ["weight"]})
    st.write_manifest()


def _store(tmp_path, tab):
    st = create_store(tmp_path / "store")
    _add(st, tab)
    return open_store(tmp_path / "store")


def _same(a: Holdings, b: Holdings):
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.etfs.equals(b.etfs) and a.partial == b.partial
    assert_same_csr(a, b, (None, list(a.etfs[::-1])), lag_days=3)
    for etf in a.etfs:
        pd.testing.assert_index_equal(a.snapshot_dates(etf), b.snapshot_dates(etf))
        pd.testing.assert_series_equal(a.weights_at(etf, "2023-05-05"),
                                       b.weights_at(etf, "2023-05-05"))


def _no_partition_reads(monkeypatch):
    import pyarrow.parquet as pq

    def refuse(*a, **k):
        raise AssertionError("read a holdings partition")
    monkeypatch.setattr(pq, "read_table", refuse)


def test_the_first_read_writes_the_cache_and_the_next_reads_only_it(tmp_path, monkeypatch):
    tab = _table()
    st = _store(tmp_path, tab)
    assert not (st.path / LAYOUT_FILE).exists()
    first = st.holdings()
    assert (st.path / LAYOUT_FILE).is_file()
    _same(first, Holdings(tab))
    with monkeypatch.context() as m:
        _no_partition_reads(m)
        cached = open_store(st.path).holdings()
        some = open_store(st.path).holdings(etfs=["타이거", "nope", "E2"])
    _same(cached, st.holdings(layout_cache=False))
    _same(cached, Holdings(tab))
    _same(some, st.holdings(etfs=["타이거", "nope", "E2"], layout_cache=False))
    assert list(some.etfs) == ["E2", "타이거"]
    assert open_store(st.path).holdings(etfs=["nope"]) is None


def test_a_filtered_first_read_answers_its_etfs_and_caches_them_all(tmp_path, monkeypatch):
    tab = _table(2)
    st = _store(tmp_path, tab)
    some = st.holdings(etfs=["E2"])
    _same(some, Holdings(tab[tab["etf"] == "E2"]))
    with monkeypatch.context() as m:
        _no_partition_reads(m)
        _same(open_store(st.path).holdings(), Holdings(tab))


def test_an_import_of_holdings_makes_the_cache_stale(tmp_path):
    tab = _table(3)
    old = tab[tab["effective_date"] < "2023-06-01"]
    st = _store(tmp_path, old)
    _same(st.holdings(), Holdings(old))
    _add(st, tab[tab["effective_date"] >= "2023-06-01"])  # rewrites the 2023 partition
    got = open_store(st.path).holdings()
    _same(got, Holdings(tab))
    _same(got, open_store(st.path).holdings(layout_cache=False))
    # the rebuilt cache serves the new snapshots
    _same(open_store(st.path).holdings(), Holdings(tab))


def test_a_removed_partition_makes_the_cache_stale(tmp_path):
    tab = _table(4)
    st = _store(tmp_path, tab)
    st.holdings()
    (st.path / "holdings" / "2024.parquet").unlink()
    got = open_store(st.path).holdings()
    _same(got, Holdings(tab[tab["effective_date"] < "2024-01-01"]))


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_cache_is_not_used_and_is_rebuilt(tmp_path, damage):
    tab = _table(5)
    st = _store(tmp_path, tab)
    st.holdings()
    p = st.path / LAYOUT_FILE
    data = bytearray(p.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # inside the weights: the zip's CRC-32 catches it
        i = data.find(np.float64(tab["weight"].iloc[0]).tobytes())
        i = i if i > 0 else len(data) // 2
        data[i] ^= 0x40
    elif damage == "garbage":
        data = bytearray(b"not a zip file" * 10)
    else:
        data = bytearray()
    p.write_bytes(bytes(data))
    got = open_store(st.path).holdings()
    _same(got, Holdings(tab))
    hit, again = holdings_layout.read_layout(open_store(st.path))
    assert hit  # rewritten whole
    _same(again, Holdings(tab))


def test_arrays_that_do_not_fit_are_refused(tmp_path):
    a = Holdings(_table(6)).layout_arrays()
    assert Holdings.from_layout_arrays(a) is not None
    for key, bad in [("stock_code", a["stock_code"][:-1]),
                     ("snap_etf", a["snap_etf"] + len(a["etf_names"])),
                     ("snap_day", a["snap_day"][::-1].copy()),
                     ("snap_indptr", a["snap_indptr"] * 2)]:
        with pytest.raises(ValueError):
            Holdings.from_layout_arrays({**a, key: bad})


def test_an_unwritable_store_is_read_from_its_partitions(tmp_path, monkeypatch):
    tab = _table(7)
    st = _store(tmp_path, tab)

    def refuse(*a, **k):
        raise PermissionError("read-only")
    monkeypatch.setattr(holdings_layout.os, "replace", refuse)
    _same(st.holdings(), Holdings(tab))
    assert not (st.path / LAYOUT_FILE).exists()
    assert not list(st.path.glob(".*.tmp"))


def test_partial_holdings_keep_their_flag():
    tab = _table(8)
    tab = tab.assign(weight=tab["weight"] * 0.5)
    h = Holdings(tab, partial=True)
    _same(Holdings.from_layout_arrays(h.layout_arrays()), h)


def test_synthesis_from_the_cache_equals_synthesis_from_the_table(tmp_path):
    m = make_market(300, 40, 6, seed=11, investors=("foreign", "individual"))
    st = _store(tmp_path, m.holdings.table)
    st.holdings()  # writes the cache
    cached = open_store(st.path).holdings()
    want = synthesize_flows(m.flows, m.holdings)
    pd.testing.assert_frame_equal(synthesize_flows(m.flows, cached), want)
    pd.testing.assert_frame_equal(
        synthesize_flows(m.flows, open_store(st.path).holdings(layout_cache=False)), want)


def test_a_filtered_read_does_not_check_the_etfs_not_asked_for(tmp_path):
    # a top-N list imported with --allow-partial sums below 1: Store.holdings() refuses it,
    # but the snapshots of the other ETFs read as they did before the cache
    tab = _table(9)
    part = tab[tab["etf"] == "E2"].assign(weight=lambda t: t["weight"] * 0.3)
    tab = pd.concat([tab[tab["etf"] != "E2"], part], ignore_index=True)
    st = _store(tmp_path, tab)
    rest = tab[tab["etf"] != "E2"]
    _same(st.holdings(etfs=["타이거", "KODEX 200"], layout_cache=False), Holdings(rest))
    _same(st.holdings(etfs=["타이거", "KODEX 200"]), Holdings(rest))
    assert not (st.path / LAYOUT_FILE).exists()
    with pytest.raises(DataError, match="weights of E2 on .* sum to"):
        st.holdings()
    with pytest.raises(DataError, match="weights of E2 on .* sum to"):
        st.holdings(etfs=["E2"])


def test_names_a_numpy_str_array_cannot_hold_are_never_cached(tmp_path):
    # numpy's str arrays drop trailing NULs: "X\0" would come back from the cache as "X"
    tab = _table(10)
    tab["stock"] = tab["stock"].replace({"A": "A\x00"})
    st = _store(tmp_path, tab)
    with pytest.raises(ValueError, match="NUL"):
        Holdings(tab).layout_arrays()
    _same(st.holdings(), Holdings(tab))
    assert not (st.path / LAYOUT_FILE).exists()
    got = open_store(st.path).holdings(etfs=["E2"])
    assert "A\x00" in set(got.table["stock"])
    _same(got, Holdings(tab[tab["etf"] == "E2"]))


def test_two_writers_in_one_process_do_not_share_a_temporary_file(tmp_path, monkeypatch):
    # two threads reading one store write the cache at the same time: each writes a file of
    # its own (a shared one, named by the pid, was truncated under the other's writes and
    # renamed away before it was complete)
    tab = _table(11)
    st = _store(tmp_path, tab)
    small = Holdings(tab[tab["etf"] == "E2"])
    inner = []
    savez = np.savez

    def racing(fh, **arrays):
        if not inner:  # the other writer, while this one has its file open
            inner.append(None)
            inner[0] = holdings_layout.write_layout(st, small, [["x", 1, 2, 3]])
        savez(fh, **arrays)
    monkeypatch.setattr(holdings_layout.np, "savez", racing)
    assert holdings_layout.write_layout(st, Holdings(tab)) is True
    assert inner == [True]
    monkeypatch.setattr(holdings_layout.np, "savez", savez)
    hit, got = holdings_layout.read_layout(open_store(st.path))
    assert hit  # the last one renamed into place, whole
    _same(got, Holdings(tab))
    assert not list(st.path.glob(".*.tmp"))


def test_a_cache_of_other_shapes_is_not_used(tmp_path):
    # a whole zip (its CRCs fine) whose arrays have other shapes: refused, not a TypeError
    tab = _table(12)
    st = _store(tmp_path, tab)
    st.holdings()
    p = st.path / LAYOUT_FILE
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    for key, bad in [("format", np.array([1, 1])), ("stock_code", np.int16(0)),
                     ("snap_day", np.array(["x"]))]:
        with open(p, "wb") as fh:
            np.savez(fh, **{**arrays, key: bad})
        assert holdings_layout.read_layout(open_store(st.path)) == (False, None), key
        _same(open_store(st.path).holdings(), Holdings(tab))


def test_a_synthetic_store_written_over_drops_the_old_layout_cache(tmp_path):
    from datasets.synth_store import write_store

    out = tmp_path / "synth"
    write_store(make_market(60, 12, 3, seed=1), out)
    open_store(out).holdings()
    assert (out / LAYOUT_FILE).is_file()
    m2 = make_market(60, 12, 3, seed=2)
    write_store(m2, out)
    assert not (out / LAYOUT_FILE).exists()
    _same(open_store(out).holdings(), m2.holdings)
