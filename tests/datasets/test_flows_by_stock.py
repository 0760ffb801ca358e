"""The stock-grouped copy of ``flows`` (``flowbt data compact``): reads give the same panel
with or without it, after appends and after re-imports that rewrite a compacted month."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pytest

from datasets.flows_by_stock import COMPACT_DIR, compact_flows, compaction_status
from datasets.store import create_store, open_store

INV = ("foreign", "individual", "pension")


def _rows(dates, stocks, investors, seed, keep=0.8):
    """Import-like rows: a random subset of (date, stock), values with NaNs sprinkled in."""
    rng = np.random.default_rng(seed)
    d, s = np.meshgrid(pd.DatetimeIndex(dates).as_unit("ns"), np.asarray(stocks, object),
                       indexing="ij")
    m = rng.random(d.shape) < keep
    f = pd.DataFrame({"date": d[m], "stock": s[m]})
    n = len(f)
    f["market_cap"] = rng.uniform(1e9, 1e12, n)
    f["close"] = np.where(rng.random(n) < 0.05, np.nan, rng.uniform(1e3, 1e5, n))
    f["src_market"] = np.int32(1)
    for k in investors:
        f[f"net_buy_{k}"] = np.where(rng.random(n) < 0.1, np.nan, rng.normal(0, 1e8, n))
        f[f"net_buy_shares_{k}"] = rng.normal(0, 1e3, n).round()
        f[f"src_net_buy_{k}"] = np.int32(1)
    return f


def _add(st, frame):
    groups = {"market": ["market_cap", "close"]}
    for c in frame.columns:
        if c.startswith("net_buy_") and not c.startswith("net_buy_shares_"):
            k = c[len("net_buy_"):]
            groups[c] = [c, f"net_buy_shares_{k}"]
    st.add_rows("flows", frame, groups)
    st.write_manifest()


def _oracle(frames, stocks, col, start=None, end=None):
    """The (dates x stocks) grid of ``col`` by pandas pivots of the rows given, combined
    (each frame fills the cells the others lack; the tests never give a cell two values)."""
    out = None
    for f in frames:
        f = f[f["stock"].isin(stocks)]
        if start is not None:
            f = f[f["date"] >= pd.Timestamp(start)]
        if end is not None:
            f = f[f["date"] <= pd.Timestamp(end)]
        g = f.assign(_v=f[col] if col in f else np.nan).pivot(
            index="date", columns="stock", values="_v")
        out = g if out is None else out.combine_first(g)
    return out.sort_index().sort_index(axis=1)


STOCKS = [f"A{i:04d}" for i in range(40)]


@pytest.fixture
def store(tmp_path):
    st = create_store(tmp_path / "store")
    dates = pd.bdate_range("2021-01-01", "2021-04-30")
    first = _rows(dates, STOCKS, INV, seed=1)
    _add(st, first)
    return open_store(st.path), [first]


def _partitions_opened(read):
    """The months ('YYYY-MM') whose ``flows/`` partition ``read()`` opens, and its result."""
    import datasets.flows_by_stock as fbs

    seen = []
    orig = fbs._read_partition

    def spy(path, *a, **k):
        seen.append(path.stem)
        return orig(path, *a, **k)

    with mock.patch.object(fbs, "_read_partition", spy):
        out = read()
    return sorted(seen), out


def _check(st, frames, stocks, investors=INV, start=None, end=None, shares=True, *,
           from_partitions):
    """Both reads equal each other and a pandas pivot; the compacted read opens exactly the
    partitions ``from_partitions`` (the other months come from the copy)."""
    got, opened = {}, {}
    for c in (True, False):
        opened[c], got[c] = _partitions_opened(lambda c=c: st.flows(
            stocks=stocks, investors=investors, shares=shares, start=start, end=end,
            compacted=c))
    a, b = got[True], got[False]
    assert opened[True] == sorted(from_partitions)
    # the reference read every month of the range from its partition
    assert len(opened[False]) > len(opened[True])
    assert a.dates.equals(b.dates) and a.stocks.equals(b.stocks)
    assert a.investors == b.investors
    for name in ("net_buy", "market_cap", "close", "net_buy_shares"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    # and both equal an independent pivot of the rows imported
    want = sorted(set(stocks) & set(pd.concat(frames)["stock"]))
    ref = _oracle(frames, want, "market_cap", start, end)
    assert list(a.stocks) == list(ref.columns) and a.dates.equals(pd.DatetimeIndex(ref.index))
    np.testing.assert_array_equal(a.market_cap, ref.to_numpy())
    np.testing.assert_array_equal(a.close, _oracle(frames, want, "close", start, end)
                                  .reindex(index=ref.index, columns=ref.columns).to_numpy())
    for j, k in enumerate(a.investors):
        r = _oracle(frames, want, f"net_buy_{k}", start, end).reindex(
            index=ref.index, columns=ref.columns)
        np.testing.assert_array_equal(a.net_buy[:, :, j], r.to_numpy())
    return a


def test_compacted_reads_equal_partition_reads_and_a_pandas_pivot(store):
    st, frames = store
    r = compact_flows(st)
    assert r["through"] == "2021-04" and r["months"] == 4 and r["stocks"] == 40
    assert compaction_status(st) == {"compacted": True, "through": "2021-04",
                                     "valid_through": "2021-04", "months_after": 0,
                                     "damaged": None}
    sel = STOCKS[3:30:4] + ["NOPE"]
    _check(st, frames, sel, from_partitions=[])
    _check(st, frames, sel, investors=["pension", "foreign"], shares=False,
           from_partitions=[])
    _check(st, frames, sel, start="2021-02-10", end="2021-03-31", from_partitions=[])
    # without the closes: NaN there, the rest unchanged
    a, b = st.flows(stocks=sel, close=False), st.flows(stocks=sel)
    assert np.isnan(a.close).all() and np.isfinite(b.close).any()
    np.testing.assert_array_equal(a.net_buy, b.net_buy)
    np.testing.assert_array_equal(a.market_cap, b.market_cap)
    # a whole read (no stocks) never uses the copy and still equals the pivot
    full = st.flows()
    np.testing.assert_array_equal(full.market_cap, _oracle(frames, STOCKS, "market_cap")
                                  .to_numpy())


def test_copy_files_hold_stocks_in_row_groups_and_a_small_footer(store):
    import pyarrow.parquet as pq

    st, _ = store
    compact_flows(st, stocks_per_file=16)
    files = sorted((st.path / COMPACT_DIR).glob("*.parquet"))
    assert len(files) == 3  # 40 stocks, 16 a file
    # a second compaction writes new names and leaves only its own files
    compact_flows(st, stocks_per_file=16)
    again = sorted((st.path / COMPACT_DIR).glob("*.parquet"))
    assert len(again) == 3 and not set(again) & set(files)
    files = again
    md = pq.ParquetFile(files[0]).metadata
    assert md.num_row_groups == 16
    t = pq.read_table(files[0], columns=["stock", "date"]).to_pandas()
    assert t["stock"].is_monotonic_increasing
    assert t.groupby("stock")["date"].apply(lambda d: d.is_monotonic_increasing).all()
    assert not any(c.startswith("src_") for c in md.schema.names)


def test_an_appended_month_is_read_from_its_partition(store):
    st, frames = store
    compact_flows(st)
    new = _rows(pd.bdate_range("2021-05-03", "2021-05-07"), STOCKS[::2], INV, seed=2)
    _add(st, new)
    st = open_store(st.path)
    s = compaction_status(st)
    assert s["valid_through"] == "2021-04" and s["months_after"] == 1
    a = _check(st, frames + [new], STOCKS[::3], from_partitions=["2021-05"])
    assert a.dates[-1] == pd.Timestamp("2021-05-07")


def test_a_reimport_into_a_compacted_month_is_never_served_stale(store):
    st, frames = store
    compact_flows(st)
    # rows the first import lacked, in February (a compacted month): its partition is
    # rewritten, so the copy serves January only and February on comes from the partitions
    full = pd.MultiIndex.from_product([pd.bdate_range("2021-02-01", "2021-02-26")
                                       .as_unit("ns"), STOCKS])
    have = pd.MultiIndex.from_frame(frames[0][["date", "stock"]])
    gaps = full.difference(have)
    extra = _rows(pd.bdate_range("2021-02-01", "2021-02-26"), STOCKS, INV, seed=3, keep=1.0)
    extra = extra.set_index(["date", "stock"]).loc[gaps].reset_index()
    assert len(extra) > 0
    _add(st, extra)
    st = open_store(st.path)
    s = compaction_status(st)
    assert s["valid_through"] == "2021-01" and s["months_after"] == 3
    _check(st, frames + [extra], STOCKS[1::3],
           from_partitions=["2021-02", "2021-03", "2021-04"])
    # a new investor group, added to March only: same investor axis either way
    more = _rows(pd.bdate_range("2021-03-01", "2021-03-05"), STOCKS[:5], ("institution",),
                 seed=4, keep=1.0).drop(columns=["market_cap", "close", "src_market"])
    _add(st, more)
    st = open_store(st.path)
    a = _check(st, frames + [extra, more], STOCKS[:8], investors=["institution", "foreign"],
               from_partitions=["2021-02", "2021-03", "2021-04"])
    assert a.investors == ("institution", "foreign")
    assert np.isfinite(a.net_buy[:, :, 0]).sum() == np.isfinite(
        more.filter(like="net_buy_institution").iloc[:, 0]).sum()
    # compacting again serves everything from the copy
    compact_flows(st)
    assert compaction_status(st)["months_after"] == 0
    _check(st, frames + [extra, more], STOCKS[:8], investors=["institution", "foreign"],
           from_partitions=[])


def test_a_removed_partition_stops_the_copy_before_it(store):
    st, frames = store
    compact_flows(st)
    (st.path / "flows" / "2021-03.parquet").unlink()
    s = compaction_status(st)
    assert s["valid_through"] == "2021-02"
    f = frames[0]
    kept = f[f["date"].dt.month != 3]
    _check(st, [kept], STOCKS[::5], from_partitions=["2021-04"])


@pytest.mark.parametrize("unit", ["D", "h"])
def test_date_positions_equal_numpy_unique(unit):
    from datasets.store import _date_positions

    rng = np.random.default_rng(0)
    base = np.datetime64("2020-01-01", "ns").astype(np.int64)
    step = np.timedelta64(1, unit).astype("timedelta64[ns]").astype(np.int64)
    d = base + rng.choice(np.arange(0, 4000, 7), 5000) * step  # gaps, repeats, unsorted
    pieces = [d[:1200], d[1200:1201], d[1201:]]
    pos, dates = _date_positions(pieces)
    u, inv = np.unique(d, return_inverse=True)
    np.testing.assert_array_equal(np.concatenate([pos(p) for p in pieces]), inv)
    np.testing.assert_array_equal(dates.asi8, u)



def test_a_full_grid_with_a_later_investor_group_reads_nan_before_it(tmp_path):
    # every (date, stock) has a row (the copy's files are whole blocks of stocks over every
    # date), but one investor's column starts in April only: NaN before, either way
    st = create_store(tmp_path / "store")
    first = _rows(pd.bdate_range("2021-01-01", "2021-03-31"), STOCKS, INV, seed=5, keep=1.0)
    later = _rows(pd.bdate_range("2021-04-01", "2021-04-30"), STOCKS, INV + ("institution",),
                  seed=6, keep=1.0)
    _add(st, first)
    _add(st, later)
    st = open_store(st.path)
    compact_flows(st, stocks_per_file=8)
    a = _check(st, [first, later], STOCKS[2:30], investors=["institution", "foreign"],
               from_partitions=[])
    april = a.dates >= pd.Timestamp("2021-04-01")
    assert np.isnan(a.net_buy[~april, :, 0]).all()
    assert np.isfinite(a.net_buy[april, :, 0]).mean() > 0.8


# -- a copy swapped under a reader, or damaged: never wrong data, the partitions serve ------
@pytest.fixture
def two_months(tmp_path):
    st = create_store(tmp_path / "store")
    rows = _rows(pd.bdate_range("2021-01-01", "2021-02-26"), STOCKS, INV, seed=1)
    _add(st, rows)
    st = open_store(st.path)
    compact_flows(st, stocks_per_file=8)
    return st, rows


def _same_as_partitions(st, stocks=STOCKS[:20], **kw):
    """The compacted read (with a DataQuality) equals the partitions-only read; returns the
    quality and the months opened from the partitions by the compacted read."""
    from engine.errors import DataQuality

    q = DataQuality()
    opened, a = _partitions_opened(lambda: st.flows(stocks=stocks, investors=INV, quality=q,
                                                    **kw))
    b = st.flows(stocks=stocks, investors=INV, compacted=False, **kw)
    assert a.dates.equals(b.dates) and a.stocks.equals(b.stocks)
    for name in ("net_buy", "market_cap", "close", "net_buy_shares"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    return q, opened


def _copy_item(q):
    items = [i for i in q.items if COMPACT_DIR in i.source]
    assert len(items) == 1, q.summary()
    return items[0]


def test_a_reader_holding_the_index_of_before_a_compaction_reads_the_partitions(
        two_months, monkeypatch):
    import datasets.flows_by_stock as fbs

    st, _ = two_months
    old_index = fbs._load_index(st.path)  # a reader loaded the index ...
    # ... an import adds a month with a new stock sorting first, and a compaction swaps
    _add(st, _rows(pd.bdate_range("2021-03-01", "2021-03-31"), ["A0000a", *STOCKS], INV,
                   seed=2))
    st = open_store(st.path)
    compact_flows(st, stocks_per_file=8)
    monkeypatch.setattr(fbs, "_load_index", lambda p: old_index)  # ... files opened after
    q, opened = _same_as_partitions(st, end="2021-02-28")
    assert opened == ["2021-01", "2021-02"]  # its files are gone: the partitions serve
    assert "missing" in _copy_item(q).rule or "No such file" in _copy_item(q).rule


def test_row_groups_not_holding_the_stocks_the_index_names_are_never_used(
        two_months, monkeypatch):
    import shutil

    import datasets.flows_by_stock as fbs

    st, _ = two_months
    old_index = fbs._load_index(st.path)
    _add(st, _rows(pd.bdate_range("2021-03-01", "2021-03-31"), ["A0000a", *STOCKS], INV,
                   seed=2))
    st = open_store(st.path)
    compact_flows(st, stocks_per_file=8)
    # the new generation's files under the old names (as when names were reused): every
    # file's row groups are shifted by the new first stock
    new = fbs._load_index(st.path)
    root = st.path / COMPACT_DIR
    for f_old, f_new in zip(old_index["files"], new["files"], strict=False):  # 5 vs 6
        shutil.copy(root / f_new["name"], root / f_old["name"])
    monkeypatch.setattr(fbs, "_load_index", lambda p: old_index)
    q, opened = _same_as_partitions(st, end="2021-02-28")
    assert opened == ["2021-01", "2021-02"]
    assert "do not hold the stocks" in _copy_item(q).rule


@pytest.mark.parametrize("damage", ["truncated index", "garbage index", "missing file",
                                    "truncated file"])
def test_a_damaged_copy_is_read_around_and_reported(two_months, damage, capsys):
    from engine.app.cli import main

    st, rows = two_months
    root = st.path / COMPACT_DIR
    files = sorted(root.glob("*.parquet"))
    if damage == "truncated index":
        (root / "index.json").write_text((root / "index.json").read_text()[:100])
    elif damage == "garbage index":
        (root / "index.json").write_text('{"format": 1, "through": 3}\n')
    elif damage == "missing file":
        files[0].unlink()
    else:
        files[0].write_bytes(files[0].read_bytes()[:200])
    # stocks of the first file only: the damaged one is read
    q, opened = _same_as_partitions(st, stocks=STOCKS[:5])
    assert opened == ["2021-01", "2021-02"]
    item = _copy_item(q)
    assert item.count == 2 and "flowbt data compact --store" in item.rule
    assert str(root) in item.rule
    # and equals an independent pivot of the rows imported
    a = st.flows(stocks=STOCKS[:5])
    np.testing.assert_array_equal(a.market_cap, _oracle([rows], STOCKS[:5], "market_cap")
                                  .to_numpy())
    s = compaction_status(st)
    if damage != "truncated file":  # the status does not open the files
        assert s["damaged"] and s["months_after"] == 2 and not s["compacted"]
        assert main(["data", "compact", "--store", str(st.path), "--status"]) == 0
        out = capsys.readouterr().out
        assert "damaged stock-grouped copy" in out and "flowbt data compact --store" in out
    # compacting again repairs it: the copy serves again, nothing reported
    compact_flows(st, stocks_per_file=8)
    q, opened = _same_as_partitions(st, stocks=STOCKS[:5])
    assert opened == [] and q.clean
    assert compaction_status(st)["damaged"] is None


def test_status_counts_only_the_partitions_within_start_end(two_months):
    st, _ = two_months
    _add(st, _rows(pd.bdate_range("2021-03-01", "2021-05-31"), STOCKS, INV, seed=2))
    st = open_store(st.path)
    assert compaction_status(st)["months_after"] == 3  # March to May
    assert compaction_status(st, start="2021-04-15")["months_after"] == 2
    assert compaction_status(st, end="2021-03-31")["months_after"] == 1
    assert compaction_status(st, end="2021-02-28")["months_after"] == 0


def test_no_investors_from_the_copy_is_the_market_caps_alone(store):
    """investors=[] on a compacted store: a (T, N, 0) net-buy panel and the same market caps
    as the partitions and a pandas pivot give."""
    st, frames = store
    compact_flows(st)
    sel = STOCKS[2:20:3]
    a = st.flows(stocks=sel, investors=[])
    b = st.flows(stocks=sel, investors=[], compacted=False)
    assert a.net_buy.shape == (len(a.dates), len(sel), 0) and a.investors == ()
    np.testing.assert_array_equal(a.market_cap, b.market_cap)
    np.testing.assert_array_equal(a.market_cap, _oracle(frames, sel, "market_cap").to_numpy())
