"""Wide daily files (kind ``generic-wide``): reading, store parity with the long files, errors.

The oracle for the reading is an independent pandas pivot of the long rows of the same data;
the oracle for the store is the store the long files give (byte for byte where the files
carry the same sources) and the generator's panel. Every fast-path comparison also checks that
the batched Arrow reader really ran (``wide_batch`` is not None), so a parity that held only
because both sides fell back to the text loader would fail.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from datasets import daily_files
from datasets.arrow_wide import wide_batch
from datasets.check import detect_kind
from datasets.generic import read_long_netbuy, read_wide_daily
from datasets.store import open_store
from datasets.store_import import import_files
from engine.errors import DataError, DataQuality

INV = ("foreign", "institution", "individual")


def _market(n_days=8, n_stocks=9, start="2000-01-20"):
    from datasets.synthetic import make_market

    return make_market(n_days, n_stocks, 0, seed=5, start=start, investors=INV)


def _write(m, out, *, fmt="parquet", market=True, long=False):
    """Per day a wide file (market columns or not) and, with ``long``, the long net-buy and
    market files of the same data."""
    out.mkdir(parents=True, exist_ok=True)
    f = m.flows
    wide, nb_files, mk_files = [], [], []
    for t, d in enumerate(f.dates):
        wide.append(daily_files.write(daily_files.wide_day(f, t, market=market),
                                      out / f"wide_{d:%Y%m%d}.{fmt}"))
        if long:
            nb, mk = daily_files.long_day(f, t)
            nb_files.append(daily_files.write(nb, out / f"nb_{d:%Y%m%d}.parquet"))
            mk_files.append(daily_files.write(mk, out / f"mk_{d:%Y%m%d}.parquet"))
    return wide, nb_files, mk_files


def _parts(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*.parquet"))}


def _manifest(d):
    return json.loads((d / "manifest.json").read_text())


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_wide_read_equals_a_pandas_pivot_of_the_long_file(tmp_path, fmt):
    m = _market()
    wide, nb, _ = _write(m, tmp_path, fmt=fmt, long=True)
    got = read_wide_daily(wide[2])
    long = read_long_netbuy(nb[2])
    piv = long.pivot(index=["date", "stock"], columns="investor",
                     values=["net_buy", "net_buy_shares"])
    got = got.set_index(["date", "stock"]).sort_index()
    piv = piv.loc[got.index]  # the wide file lists the listed stocks of the day
    for k in INV:
        np.testing.assert_array_equal(got[f"net_buy_{k}"].to_numpy(),
                                      piv[("net_buy", k)].to_numpy())
        np.testing.assert_array_equal(got[f"net_buy_shares_{k}"].to_numpy(),
                                      piv[("net_buy_shares", k)].to_numpy())
    assert got["has_net_buy"].all()


def test_wide_files_give_the_long_files_store_byte_for_byte(tmp_path):
    m = _market(n_days=30, start="2000-01-10")  # two months
    wide_nb, nb, mk = _write(m, tmp_path / "f", market=False, long=True)
    # net buying from wide files instead of long ones, the same market files, the same order
    assert wide_batch(wide_nb, list(range(1, len(wide_nb) + 1))) is not None
    long_order = [x for pair in zip(nb, mk, strict=True) for x in pair]
    wide_order = [x for pair in zip(wide_nb, mk, strict=True) for x in pair]
    import_files(long_order, tmp_path / "long", progress=False)
    import_files(wide_order, tmp_path / "wide", progress=False)
    import_files(wide_order, tmp_path / "wide1", progress=False, batched=False)
    a, b, c = _parts(tmp_path / "long"), _parts(tmp_path / "wide"), _parts(tmp_path / "wide1")
    assert len(a) == 2 and a == b == c
    assert _manifest(tmp_path / "long")["groups"] == _manifest(tmp_path / "wide")["groups"]


def test_wide_files_with_market_caps_hold_the_long_values_and_the_generators(tmp_path):
    m = _market(n_days=30, start="2000-01-10")
    wide, nb, mk = _write(m, tmp_path / "f", long=True)
    assert wide_batch(wide, list(range(1, len(wide) + 1))) is not None
    import_files([x for pair in zip(nb, mk, strict=True) for x in pair], tmp_path / "long",
                 progress=False)
    r = import_files(wide, tmp_path / "wide", progress=False)
    assert set(r.kinds.values()) == {"generic-wide"}
    x, y = open_store(tmp_path / "long").flows(), open_store(tmp_path / "wide").flows()
    for name in ("net_buy", "net_buy_shares", "market_cap", "close"):
        np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
    np.testing.assert_array_equal(y.net_buy, m.flows.net_buy)
    np.testing.assert_array_equal(y.market_cap, m.flows.market_cap)
    # one source per stock-day: each wide file's id is its rows' src for every group
    t = open_store(tmp_path / "wide").read_table("flows")
    assert (t["src_market"] == t["src_net_buy_foreign"]).all()


def test_partitions_keep_statistics_of_keys_only_and_read_back_the_files_values(tmp_path):
    # the writer keeps min/max of the keys, not of the value columns or the src ids
    # (nothing reads those); what a partition reads back is the files' values bit for bit
    import pyarrow.parquet as pq

    m = _market(n_days=12, start="2000-01-24")
    wide, _, _ = _write(m, tmp_path / "f")
    import_files(wide, tmp_path / "s", progress=False)
    parts = sorted((tmp_path / "s" / "flows").glob("*.parquet"))
    assert len(parts) == 2
    for p in parts:
        rg = pq.ParquetFile(p).metadata.row_group(0)
        cols = {rg.column(j).path_in_schema: rg.column(j) for j in range(rg.num_columns)}
        assert all(cols[c].is_stats_set for c in ("date", "stock"))
        assert not any(cols[c].is_stats_set for c in ("market_cap", "net_buy_foreign",
                                                      "net_buy_shares_individual",
                                                      "src_market", "src_net_buy_foreign"))
    got = open_store(tmp_path / "s").flows()
    for name in ("net_buy", "net_buy_shares", "market_cap", "close"):
        np.testing.assert_array_equal(getattr(got, name), getattr(m.flows, name))


def test_fast_and_per_file_wide_imports_give_the_same_store_and_quality(tmp_path):
    m = _market(n_days=30, start="2000-01-10")
    wide, _, _ = _write(m, tmp_path / "f")
    # a close left empty is counted, both ways
    fr = pd.read_parquet(wide[3])
    fr.loc[fr.index[:2], "close"] = np.nan
    fr.to_parquet(wide[3], index=False)
    assert wide_batch(wide, list(range(1, len(wide) + 1))) is not None
    qa, qb = DataQuality(), DataQuality()
    # files shuffled (order-free); small batches: the later ones merge into written months
    order = list(np.random.default_rng(0).permutation(len(wide)))
    files = [wide[i] for i in order]
    import_files(files, tmp_path / "a", progress=False, quality=qa, batch_files=7)
    import_files(files, tmp_path / "b", progress=False, quality=qb, batched=False)
    assert _parts(tmp_path / "a") == _parts(tmp_path / "b")
    assert _manifest(tmp_path / "a") == _manifest(tmp_path / "b")
    assert qa.items == qb.items and qa.rows_read == qb.rows_read
    assert any("empty close cells" in i.what and i.count == 2 for i in qa.items)
    # the values do not depend on the order (the src ids do)
    import_files(wide, tmp_path / "c", progress=False)
    ta = open_store(tmp_path / "a").read_table("flows")
    tc = open_store(tmp_path / "c").read_table("flows")
    vals = [c for c in ta.columns if not c.startswith("src_")]
    pd.testing.assert_frame_equal(ta[vals], tc[vals])


def test_appending_a_day_equals_importing_everything_at_once(tmp_path):
    m = _market(n_days=12, start="2000-01-20")
    wide, _, _ = _write(m, tmp_path / "f")
    import_files(wide, tmp_path / "once", progress=False)
    import_files(wide[:-1], tmp_path / "inc", progress=False)
    r = import_files(wide[-1:], tmp_path / "inc", progress=False)
    assert r.partitions_written == 1
    assert _parts(tmp_path / "once") == _parts(tmp_path / "inc")


def test_importing_twice_changes_nothing_and_a_conflict_names_both_files(tmp_path):
    m = _market()
    wide, _, _ = _write(m, tmp_path / "f")
    import_files(wide, tmp_path / "s", progress=False)
    before = _parts(tmp_path / "s")
    r = import_files(wide, tmp_path / "s", progress=False)
    assert r.added == [] and len(r.skipped) == len(wide)
    assert _parts(tmp_path / "s") == before
    # a second file of the same day with one value changed
    fr = pd.read_parquet(wide[2])
    fr.loc[fr.index[4], "net_buy_individual"] += 1.0
    other = tmp_path / "f" / "fixed_day.parquet"
    fr.to_parquet(other, index=False)
    with pytest.raises(DataError) as e:
        import_files([other], tmp_path / "s", progress=False)
    msg = str(e.value)
    assert wide[2].name in msg and other.name in msg and fr["stock"].iloc[4] in msg
    assert e.value.column == "net_buy_individual"
    assert _parts(tmp_path / "s") == before
    # the same two files in one new batch: the same error
    with pytest.raises(DataError, match="disagree"):
        import_files([wide[2], other], tmp_path / "t", progress=False)


def test_wide_is_detected_and_checked(tmp_path):
    from datasets.check import check_file

    m = _market()
    wide, _, _ = _write(m, tmp_path)
    csv, _, _ = _write(m, tmp_path / "csv", fmt="csv")
    assert detect_kind(wide[0]) == "generic-wide"
    assert detect_kind(csv[0]) == "generic-wide"
    text = check_file(wide[0], "generic-wide")
    assert "wide" in text and "foreign" in text and "with market caps" in text


def test_an_empty_investor_cell_is_absent_and_an_empty_row_is_dropped(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("date,stock,net_buy_foreign,net_buy_individual\n"
                 "2021-01-15,000001,5,-3\n"
                 "2021-01-15,000002,,7\n"
                 "2021-01-15,000003,,\n")
    q = DataQuality()
    f = read_wide_daily(p, quality=q)
    assert list(f["stock"]) == ["000001", "000002"]
    assert np.isnan(f["net_buy_foreign"].iloc[1]) and f["net_buy_individual"].iloc[1] == 7
    assert any(i.what == "rows without any value" and i.count == 1 for i in q.items)
    # with market caps, a row without net buying keeps its market cap (as a market-only row)
    p2 = tmp_path / "w2.csv"
    p2.write_text("date,stock,net_buy_foreign,market_cap,close\n"
                  "2021-01-15,000001,5,100,1\n"
                  "2021-01-15,000002,,200,2\n")
    import_files([p2], tmp_path / "s", progress=False)
    t = open_store(tmp_path / "s").read_table("flows").set_index("stock")
    assert t.loc["000002", "market_cap"] == 200 and t.loc["000002", "src_net_buy_foreign"] == -1
    assert t.loc["000001", "src_net_buy_foreign"] == 1


@pytest.mark.parametrize("header,rows,match,column,row", [
    ("date,stock,net_buy_martians", ["2021-01-15,000001,5"], "no known investor",
     "net_buy_martians", 1),
    ("date,stock,net_buy_foreign,net_buy_9000", ["2021-01-15,000001,5,5"], "both give foreign",
     "net_buy_9000", 1),
    ("date,stock,net_buy_foreign,volume", ["2021-01-15,000001,5,1"], "unknown column",
     "volume", 1),
    ("date,net_buy_foreign", ["2021-01-15,5"], "missing column 'stock'", "stock", 1),
    ("date,stock,net_buy_shares_foreign", ["2021-01-15,000001,5"], "no net_buy_foreign",
     "net_buy_shares_foreign", 1),
    ("date,stock,net_buy_foreign,close", ["2021-01-15,000001,5,1"], "without market_cap",
     "close", 1),
    ("date,stock,net_buy_foreign", ["2021-01-15,000001,5", "2021-01-15,000002,abc"],
     "not a number", "net_buy_foreign", 3),
    ("date,stock,net_buy_foreign,net_buy_shares_foreign",
     ["2021-01-15,000001,5,1", "2021-01-15,000002,6,"], "is empty", "net_buy_shares_foreign",
     3),
    ("date,stock,net_buy_foreign,market_cap", ["2021-01-15,000001,5,"], "market cap is missing",
     "market_cap", 2),
    ("date,stock,net_buy_foreign,market_cap", ["2021-01-15,000001,5,-1"], "must be >= 0",
     "market_cap", 2),
    ("date,stock,net_buy_foreign", ["2021-01-15,000001,5", "2021-01-15,000001,6"],
     "duplicate row", "stock", 3),
    ("date,stock,net_buy_foreign", ["2021-13-45,000001,5"], "cannot be parsed", "date", 2),
])
def test_a_bad_wide_file_names_file_row_and_column(tmp_path, header, rows, match, column, row):
    p = tmp_path / "bad_wide.csv"
    p.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(DataError, match=match) as e:
        import_files([p], tmp_path / "s", progress=False, kind="generic-wide")
    assert e.value.file == "bad_wide.csv" and e.value.column == column and e.value.row == row
    assert e.value.fix


def test_a_bad_parquet_file_in_a_wide_batch_gives_the_text_loaders_error(tmp_path):
    m = _market()
    wide, _, _ = _write(m, tmp_path / "f")
    fr = pd.read_parquet(wide[4])
    fr.loc[fr.index[3], "market_cap"] = -5.0
    fr.to_parquet(wide[4], index=False)
    assert wide_batch(wide, list(range(1, len(wide) + 1))) is None  # the batch declines
    with pytest.raises(DataError, match="market cap is -5") as e:
        import_files(wide, tmp_path / "s", progress=False)
    assert e.value.file == wide[4].name and e.value.row == 3 and e.value.column == "market_cap"
    # nothing of the batch was written
    assert not list((tmp_path / "s").rglob("*.parquet"))


def test_a_month_split_across_batches_is_written_once_and_equals_one_file_at_a_time(tmp_path):
    m = _market(n_days=45, start="2000-01-10")
    wide, _, _ = _write(m, tmp_path / "f")
    # in date order, 7 files per batch: most batches end inside a month, which is carried
    # to the next batch and joined with its days
    r = import_files(wide, tmp_path / "a", progress=False, batch_files=7)
    import_files(wide, tmp_path / "b", progress=False, batched=False)
    assert _parts(tmp_path / "a") == _parts(tmp_path / "b")
    assert _manifest(tmp_path / "a") == _manifest(tmp_path / "b")
    assert r.partitions_written == len(_parts(tmp_path / "a"))  # no month written twice
    assert r.rows["flows"] == int(np.isfinite(m.flows.market_cap).sum())


def test_an_error_after_a_carried_month_leaves_a_consistent_store(tmp_path):
    m = _market(n_days=45, start="2000-01-10")
    wide, _, _ = _write(m, tmp_path / "f")
    fr = pd.read_parquet(wide[30])
    fr.loc[fr.index[1], "market_cap"] = -1.0
    fr.to_parquet(wide[30], index=False)
    with pytest.raises(DataError, match="market cap is -1"):
        import_files(wide, tmp_path / "s", progress=False, batch_files=7)
    # every file in the manifest has its rows in the store, and only those files do
    st = open_store(tmp_path / "s")
    listed = {f["id"] for f in st.files}
    t = st.read_table("flows")
    assert set(pd.unique(t["src_market"])) == listed
    days = pd.DatetimeIndex(pd.unique(t["date"]))
    assert set(days) == {pd.Timestamp(f["name"][5:13]) for f in st.files}
    # the rest imports afterwards (the bad file fixed) into the same store as all at once
    fr.loc[fr.index[1], "market_cap"] = m.flows.market_cap[30][np.isfinite(
        m.flows.market_cap[30])][1]
    fr.to_parquet(wide[30], index=False)
    import_files(wide, tmp_path / "s", progress=False, batch_files=7)
    import_files(wide, tmp_path / "all", progress=False)
    a = open_store(tmp_path / "s").read_table("flows")
    b = open_store(tmp_path / "all").read_table("flows")
    vals = [c for c in a.columns if not c.startswith("src_")]
    pd.testing.assert_frame_equal(a[vals], b[vals])


def test_the_manifest_text_is_the_indented_json_dump_as_records_are_added(tmp_path):
    from datasets.store import manifest_text

    def ref(d):
        return json.dumps(d, indent=2, ensure_ascii=False, default=str) + "\n"

    doc = {"format_version": 2, "files": [], "groups": {"flows": {"market": ["market_cap"]}},
           "name": "한국"}
    cache: list = []
    assert manifest_text(doc, cache) == ref(doc)
    for i in range(4):
        doc["files"].append({"id": i, "name": f"f{i}.parquet", "rows": 3, "options": {},
                             "nested": {"a": [1, {"b": pd.Timestamp("2021-01-04")}]}})
        assert manifest_text(doc, cache) == ref(doc)
    doc["files"].reverse()  # reordered records are serialized again
    assert manifest_text(doc, cache) == ref(doc)
    del doc["files"][1:]
    assert manifest_text(doc, cache) == ref(doc) and len(cache) == 1


def test_the_writer_gives_the_same_bytes_for_a_chunked_and_a_one_chunk_table(tmp_path):
    # what lets a month's columns stay chunked by file (datasets.arrow_wide): columns well
    # above one data page (1 MB), dictionary-encoded keys, nulls
    import pyarrow as pa

    from datasets.store import write_table_atomic

    rng = np.random.default_rng(0)
    n, k = 300_000, 30
    v = rng.standard_normal(n) * 1e9
    v[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({
        "date": np.repeat(np.arange(k).astype("datetime64[D]"), n // k).astype("datetime64[ns]"),
        "stock": pd.Series(np.tile([f"{i:06d}" for i in range(n // k)], k), dtype=object),
        "net_buy_foreign": v, "src_net_buy_foreign": np.repeat(np.arange(k, dtype=np.int32),
                                                               n // k)})
    one = pa.Table.from_pandas(frame, preserve_index=False)
    chunked = pa.concat_tables([one.slice(i * (n // k), n // k) for i in range(k)])
    assert chunked.column(2).num_chunks == k and one.column(2).num_chunks == 1
    write_table_atomic(one, tmp_path / "one.parquet")
    write_table_atomic(chunked, tmp_path / "chunked.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "chunked.parquet").read_bytes()


# --- values and dates the fast path must read as the text loader does, or leave to it --------

@pytest.fixture
def fresh_detection(monkeypatch):
    """An empty kind-detection cache: it is keyed by header, and these files share headers
    with other tests' files while their contents decide the kind."""
    import datasets.check

    monkeypatch.setattr(datasets.check, "_DETECTED", {})

def _int_file(path, net, cap):
    """A one-day wide Parquet file whose value columns are stored as integers."""
    pd.DataFrame({"date": pd.to_datetime(["2021-01-15"] * len(net)),
                  "stock": [f"{i:06d}" for i in range(1, len(net) + 1)],
                  "net_buy_foreign": net, "market_cap": cap}).to_parquet(path, index=False)
    return path


@pytest.mark.parametrize(("net", "cap", "want_net", "want_cap"), [
    # 2**53 + 1 is a tie between two float64: nearest even is 2**53; 2**53 + 3 rounds up
    (np.array([2**53 + 1, -(2**53) - 3, 5], np.int64), np.array([2**63 - 1, 10**12, 1], np.int64),
     [2.0**53, -(2.0**53) - 4, 5.0], [2.0**63, 1e12, 1.0]),
    (np.array([2**64 - 1, 2**53 + 3, 0], np.uint64), np.array([2**53 + 1, 7, 2**60 + 1], np.uint64),
     [2.0**64, 2.0**53 + 4, 0.0], [2.0**53, 7.0, 2.0**60]),
], ids=["int64", "uint64"])
def test_integers_above_2_53_are_read_as_the_text_loader_reads_them(tmp_path, net, cap,
                                                                    want_net, want_cap,
                                                                    fresh_detection):
    p = _int_file(tmp_path / "big_20210115.parquet", net, cap)
    text = read_wide_daily(p)
    assert text["net_buy_foreign"].tolist() == want_net
    assert text["market_cap"].tolist() == want_cap
    wb = wide_batch([p], [1])  # the fast path reads it (a safe cast raised ArrowInvalid)
    assert wb is not None
    fast = wb.frame()
    assert fast["net_buy_foreign"].tolist() == want_net
    assert fast["market_cap"].tolist() == want_cap
    import_files([p], tmp_path / "a", progress=False)
    import_files([p], tmp_path / "b", progress=False, batched=False)
    assert _parts(tmp_path / "a") == _parts(tmp_path / "b")
    assert detect_kind(p) == "generic-wide"


def _date_file(path, value, unit):
    """A wide Parquet file of two rows dated ``value`` (an integer count of ``unit``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({
        "date": pa.array([value] * 2, pa.int64()).cast(pa.timestamp(unit)),
        "stock": ["000001", "000002"], "net_buy_foreign": [1.0, 2.0]}), path)
    return path


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (33_000_000_000_000_000, "us", "3015-09-24"),  # a typo year: no datetime64[ns] holds it
    (9_000_000_000, "s", "2255-03-14"),  # fits in ns but read: inside the range
    (int(np.datetime64("2262-01-05", "s").astype(np.int64)), "s", "2262-01-05"),
    (int(np.datetime64("1677-06-01", "ms").astype(np.int64)), "ms", "1677-06-01"),
], ids=["us-3015", "s-2255", "s-2262", "ms-1677"])
def test_a_date_the_text_loader_refuses_falls_back_to_its_error(tmp_path, value, unit, shown,
                                                               capsys, fresh_detection):
    from engine.app.cli import main

    p = _date_file(tmp_path / "day.parquet", value, unit)
    if shown == "2255-03-14":  # the control: an odd unit and a late but accepted day
        assert wide_batch([p], [1]) is not None
        import_files([p], tmp_path / "s", progress=False)
        assert str(open_store(tmp_path / "s").read_table("flows")["date"].iloc[0].date()) == shown
        return
    assert wide_batch([p], [1]) is None  # declined, not a raw ArrowInvalid
    with pytest.raises(DataError, match=shown) as e:
        import_files([p], tmp_path / "s", progress=False, kind="generic-wide")
    assert e.value.file == "day.parquet" and e.value.column == "date"
    # detected: no kind reads it, but its columns are a wide file's: the bad cell is named
    with pytest.raises(DataError, match=shown) as e:
        import_files([p], tmp_path / "s", progress=False)
    assert e.value.file == "day.parquet" and e.value.column == "date"
    assert "--kind generic-wide" in str(e.value)
    # detection and the check: a worded error, exit 2, no traceback
    assert main(["data", "check", str(p), "--kind", "generic-wide"]) == 2
    err = capsys.readouterr().err
    assert "day.parquet" in err and "'date'" in err and shown in err and "Traceback" not in err
    assert main(["data", "check", str(p)]) == 2
    err = capsys.readouterr().err
    assert "'date'" in err and shown in err and "generic-wide" in err and "Traceback" not in err


def test_a_long_file_dated_after_2261_falls_back_to_the_text_loaders_error(tmp_path):
    from datasets.arrow_long import netbuy_rows

    p = tmp_path / "nb.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2262-01-05"]), "stock": ["000001"],
                  "investor": ["foreign"], "net_buy": [1.0]}).to_parquet(p, index=False)
    assert netbuy_rows(p) is None
    with pytest.raises(DataError, match="2262-01-05") as e:
        read_long_netbuy(p)
    assert e.value.column == "date"


def test_any_arrow_error_in_a_file_read_leaves_the_batch_to_the_text_loader(tmp_path,
                                                                           monkeypatch,
                                                                           fresh_detection):
    import pyarrow as pa

    import datasets.arrow_wide as aw

    m = _market()
    wide, _, _ = _write(m, tmp_path / "f")
    import_files(wide, tmp_path / "ref", progress=False, batched=False)
    real = aw._read_one

    def flaky(path, *a, **k):
        if path == wide[3]:
            raise pa.ArrowInvalid("some check pyarrow refuses")
        return real(path, *a, **k)

    monkeypatch.setattr(aw, "_read_one", flaky)
    assert wide_batch(wide, list(range(1, len(wide) + 1))) is None
    assert detect_kind(wide[3]) == "generic-wide"
    import_files(wide, tmp_path / "s", progress=False)
    assert _parts(tmp_path / "s") == _parts(tmp_path / "ref")


@pytest.mark.parametrize("batch_files", [1, 7, 20])
def test_months_written_while_the_next_batch_is_read_give_the_one_batch_store(tmp_path,
                                                                               batch_files):
    # each batch's new months are written in background threads and its manifest after
    # them: the store (partitions and manifest) is the one of a single batch, byte for byte
    m = _market(n_days=70, start="2000-01-10")
    wide, _, _ = _write(m, tmp_path / "f")
    import_files(wide, tmp_path / "one", progress=False)
    import_files(wide, tmp_path / "many", progress=False, batch_files=batch_files)
    assert _parts(tmp_path / "many") == _parts(tmp_path / "one")
    assert _manifest(tmp_path / "many") == _manifest(tmp_path / "one")
    assert not list((tmp_path / "many").rglob("*.tmp"))


@pytest.mark.parametrize("bad", ["reversed", "repeated", "missing marker", "space"])
def test_a_file_listing_other_stocks_than_the_one_before_is_checked(tmp_path, bad):
    # the stock codes of a file repeating the list of the file before are checked once; a
    # later file of the month with another list is checked in full (here the sixth of eight
    # January files, after five that list the same stocks)
    m = _market()
    wide, _, _ = _write(m, tmp_path / "f")
    ids = list(range(1, len(wide) + 1))
    lists = [tuple(pd.read_parquet(p)["stock"]) for p in wide]
    assert len(set(lists[:5])) == 1 and wide_batch(wide, ids) is not None
    fr = pd.read_parquet(wide[5])
    if bad == "reversed":
        fr = fr.iloc[::-1]
    elif bad == "repeated":
        fr.loc[fr.index[1], "stock"] = fr["stock"].iloc[0]
    elif bad == "missing marker":
        fr.loc[fr.index[-1], "stock"] = "nan"
    else:
        fr.loc[fr.index[0], "stock"] = " " + fr["stock"].iloc[0]
    fr.to_parquet(wide[5], index=False)
    assert wide_batch(wide, ids) is None  # the batch declines: the text loader decides
    # and the import gives what the text loader gives for the files one at a time
    if bad in ("repeated", "missing marker"):
        with pytest.raises(DataError, match="twice|repeated|duplicate|stock code is empty") as e:
            import_files(wide, tmp_path / "s", progress=False)
        assert e.value.file == wide[5].name and e.value.column == "stock"
    else:
        import_files(wide, tmp_path / "s", progress=False)
        import_files(wide, tmp_path / "one", progress=False, batched=False)
        assert _parts(tmp_path / "s") == _parts(tmp_path / "one")


def test_a_file_read_ahead_is_what_its_batch_reads(tmp_path):
    # read in the thread that hashed it (datasets.arrow_wide.read_ahead): the same table and
    # day as the batch's own read; another header, or a file the batch would not take, is
    # left to the batch, which declines as before
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datasets.arrow_wide import PreRead, read_ahead

    m = _market()
    wide, nb, _ = _write(m, tmp_path / "f", long=True)
    ids = list(range(1, len(wide) + 1))
    pre = [read_ahead(pq.ParquetFile(p)) for p in wide]
    assert all(isinstance(r, PreRead) for r in pre)
    for p, r in zip(wide, pre, strict=True):
        assert r.table.equals(pq.read_table(p))
        assert r.day == pd.Timestamp(p.stem.split("_")[1]).value
    a, b = wide_batch(wide, ids, blobs=pre), wide_batch(wide, ids)
    assert a is not None and b is not None
    for mo in b.months:
        assert pa.Table.from_pydict(a.months[mo].values).equals(
            pa.Table.from_pydict(b.months[mo].values))
        assert a.months[mo].stock.equals(b.months[mo].stock)
    assert read_ahead(pq.ParquetFile(nb[0])) is None  # a long file: not a wide header
    fr = pd.read_parquet(wide[2])
    fr.loc[fr.index[0], "date"] = fr["date"].iloc[0] - pd.Timedelta(days=1)
    fr.to_parquet(wide[2], index=False)
    assert read_ahead(pq.ParquetFile(wide[2])) is None  # two days: the batch decides
    other = pd.read_parquet(wide[3]).drop(columns=["close"])
    other.to_parquet(tmp_path / "other.parquet", index=False)
    pre[3] = read_ahead(pq.ParquetFile(tmp_path / "other.parquet"))
    assert isinstance(pre[3], PreRead)
    ok = [0, 1, 3, 4]
    assert wide_batch([wide[i] for i in ok], ok, blobs=[pre[i] for i in ok]) is None
    # alone (no other file's columns to disagree with): declined for its header
    assert wide_batch([wide[0]], [1], blobs=[pre[3]]) is None


def test_only_new_wide_files_are_read_ahead(tmp_path, monkeypatch):
    # every new file is decoded ahead of its batch (the speed of a bulk import), and a file
    # the import skips (already in the store) is only hashed, never decoded
    import datasets.arrow_wide as aw

    m = _market()
    wide, _, _ = _write(m, tmp_path / "f")
    read = []
    real = aw.read_ahead
    monkeypatch.setattr(aw, "read_ahead", lambda *a: read.append(real(*a)) or read[-1])
    import_files(wide[:-1], tmp_path / "s", progress=False)
    assert len(read) == len(wide) - 1
    # each one read and checked there (with the header names the thread read), not declined
    assert all(isinstance(r, aw.PreRead) for r in read)
    read.clear()
    res = import_files(wide, tmp_path / "s", progress=False)
    assert res.added == [wide[-1].name] and len(res.skipped) == len(wide) - 1
    assert len(read) == 1
    import_files(wide, tmp_path / "all", progress=False)
    assert _parts(tmp_path / "s") == _parts(tmp_path / "all")
