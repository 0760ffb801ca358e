"""The vectorized import path (datasets.arrow_long) gives the text loaders' store and errors.

Every comparison runs the same files through ``vectorized=True`` and ``vectorized=False``
(the row-level text loaders, the reference), and checks that the fast path really ran on the
clean files (so a parity that holds only because both sides fell back would fail).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from datasets import daily_files
from datasets.arrow_long import market_rows, netbuy_rows
from datasets.store_import import import_files, rows_of_file
from engine.errors import DataError, DataQuality


def _market_files(tmp_path, fmt: str, n_days=6, n_stocks=9):
    from datasets.synthetic import make_market

    tmp_path.mkdir(parents=True, exist_ok=True)
    m = make_market(n_days, n_stocks, 0, seed=3, start="2000-01-25",
                    investors=("foreign", "institution", "individual"))
    out = []
    for t, d in enumerate(m.flows.dates):
        nb, mk = daily_files.long_day(m.flows, t)
        nb = nb.sample(frac=1.0, random_state=t)  # row order is free in a keyed file
        mk = mk.copy()
        mk.loc[mk.index[:2], "close"] = np.nan  # empty closes are counted
        out += [daily_files.write(nb, tmp_path / f"nb_{d:%Y%m%d}.{fmt}"),
                daily_files.write(mk, tmp_path / f"mk_{d:%Y%m%d}.{fmt}")]
    return m, out


def _store_contents(d):
    parts = {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*.parquet"))}
    return parts, json.loads((d / "manifest.json").read_text())


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_fast_import_gives_the_same_store_bit_for_bit(tmp_path, fmt):
    m, files = _market_files(tmp_path / "files", fmt)
    assert all(netbuy_rows(p) is not None for p in files if p.name.startswith("nb_"))
    assert all(market_rows(p) is not None for p in files if p.name.startswith("mk_"))
    q_fast, q_slow = DataQuality(), DataQuality()
    # two batches: the second merges into partitions the first wrote
    import_files(files, tmp_path / "fast", progress=False, quality=q_fast, batch_files=5)
    import_files(files, tmp_path / "slow", progress=False, quality=q_slow, batch_files=5,
                 vectorized=False)
    fast, slow = _store_contents(tmp_path / "fast"), _store_contents(tmp_path / "slow")
    assert sorted(fast[0]) == sorted(slow[0]) and fast[0]
    for name in fast[0]:
        assert fast[0][name] == slow[0][name], name
    assert fast[1] == slow[1]
    assert q_fast.items == q_slow.items and q_fast.rows_read == q_slow.rows_read
    assert any("empty close cells" in str(i) for i in q_fast.items)
    # and both equal the generator's panel (independent of either reader)
    from datasets.store import open_store

    got = open_store(tmp_path / "fast").flows()
    assert np.array_equal(got.net_buy, m.flows.net_buy, equal_nan=True)
    assert np.array_equal(got.market_cap, m.flows.market_cap, equal_nan=True)


def _rows_both(path, kind):
    out = []
    for vec in (True, False):
        q = DataQuality()
        out.append((rows_of_file(path, kind, quality=q, vectorized=vec), q))
    return out


def _assert_same_rows(a, b):
    (ra, qa), (rb, qb) = a, b
    assert len(ra) == len(rb)
    for (ta, fa, ga), (tb, fb, gb) in zip(ra, rb, strict=True):
        assert ta == tb and ga == gb
        pd.testing.assert_frame_equal(fa, fb, check_exact=True)
    assert qa.items == qb.items and qa.rows_read == qb.rows_read


NB_HEAD = "date,stock,investor,net_buy,net_buy_shares\n"
MK_HEAD = "date,stock,market_cap,close\n"


@pytest.mark.parametrize(("text", "kind"), [
    # Korean investor names, KRX codes, slash dates, unsorted rows, no shares column
    ("date,stock,investor,net_buy\n2021/01/05,000660,외국인합계,-5.5\n"
     "2021/01/04,005930,9000,1e3\n2021/01/04,005930,개인,+7\n", "generic-netbuy"),
    (NB_HEAD + "2021-01-05,000660,foreign,-5.5,1.\n2021-01-04,005930,9000,1e3,-0\n",
     "generic-netbuy"),
    # an empty share count is an error of the text loader (the fast path must agree)
    (NB_HEAD + "2021-01-04,005930,foreign,-5.5,\n", "generic-netbuy-error"),
    # codes with surrounding spaces are stripped (text path), one stock-day
    (NB_HEAD + "20210104, 005930 ,foreign,1,2\n20210104,005930,individual,3,4\n",
     "generic-netbuy"),
    # thousands separators: the text loader reads them (fallback, same rows)
    (NB_HEAD + '2021-01-04,005930,foreign,"1,234,567",1\n', "generic-netbuy"),
    (MK_HEAD + "2021-01-04,005930,500,10\n2021-01-04,000660,0,\n2021-01-05,005930,1.5e2,-\n",
     "generic-market"),
])
def test_edge_files_give_the_same_rows(tmp_path, text, kind):
    p = tmp_path / "f.csv"
    p.write_text(text, encoding="utf-8")
    if kind.endswith("-error"):
        assert netbuy_rows(p) is None
        with pytest.raises(DataError, match="net buying in shares is missing"):
            rows_of_file(p, "generic-netbuy", quality=DataQuality())
        return
    _assert_same_rows(*_rows_both(p, kind))


def test_parquet_column_types_give_the_same_rows(tmp_path):
    nb = pd.DataFrame({"date": [pd.Timestamp("2021-01-04 15:30"), pd.Timestamp("2021-01-04")],
                       "stock": pd.Categorical(["005930", "000660"]),
                       "investor": ["foreign", "institution"],
                       "net_buy": np.array([12, -3], dtype=np.int64),
                       "net_buy_shares": [-0.0, 2.5]})
    nb.to_parquet(tmp_path / "nb.parquet", index=False)
    assert netbuy_rows(tmp_path / "nb.parquet") is not None
    _assert_same_rows(*_rows_both(tmp_path / "nb.parquet", "generic-netbuy"))


@pytest.mark.parametrize(("text", "kind", "match"), [
    (NB_HEAD + "2021-01-04,005930,foreign,1,1\n2021-01-04,005930,foreign,2,1\n",
     "generic-netbuy", "duplicate row"),
    (NB_HEAD + "2021-01-04,005930,foreign,12a,1\n", "generic-netbuy", "not a number"),
    (NB_HEAD + "2021-01-04,005930,foreign,,1\n", "generic-netbuy", "net buying is missing"),
    (NB_HEAD + "2021-01-04,005930,martian,1,1\n", "generic-netbuy", "unknown investor"),
    (NB_HEAD + "2021-13-04,005930,foreign,1,1\n", "generic-netbuy", "cannot be parsed"),
    (NB_HEAD + "2021-01-04,,foreign,1,1\n", "generic-netbuy", "stock code is empty"),
    (NB_HEAD + "2021-01-04,005930,foreign,1,1\n\n2021-01-05,005930,foreign,1,1\n"
     "2021-01-05,005930,foreign,1,1\n", "generic-netbuy", "line 5"),
    (NB_HEAD + "2021-01-04,005930,foreign,1e999,1\n", "generic-netbuy", "not finite"),
    ("date,stock,net_buy\n2021-01-04,005930,1\n", "generic-netbuy", "missing column"),
    (MK_HEAD + "2021-01-04,005930,-5,1\n", "generic-market", "must be >= 0"),
    (MK_HEAD + "2021-01-04,005930,5,-1\n", "generic-market", "must be >= 0"),
    (MK_HEAD + "2021-01-04,005930,5,1\n2021-01-04,005930,6,1\n", "generic-market",
     "duplicate row"),
])
def test_a_bad_file_gives_the_text_loaders_error(tmp_path, text, kind, match):
    p = tmp_path / "bad.csv"
    p.write_text(text, encoding="utf-8")
    reader = netbuy_rows if kind == "generic-netbuy" else market_rows
    q = DataQuality()
    assert reader(p, quality=q) is None and not q.items and not q.rows_read  # fell back
    msgs = []
    for vec in (True, False):
        with pytest.raises(DataError, match=match) as exc:
            rows_of_file(p, kind, quality=DataQuality(), vectorized=vec)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1]
    assert "bad.csv" in msgs[0] and "line" in msgs[0]


def test_a_bad_parquet_file_in_an_import_gives_the_same_error(tmp_path):
    _, files = _market_files(tmp_path / "files", "parquet", n_days=3)
    bad = pd.read_parquet(files[1])
    bad.loc[bad.index[4], "market_cap"] = -1.0
    bad.to_parquet(files[1], index=False)
    msgs = []
    for vec, name in ((True, "fast"), (False, "slow")):
        with pytest.raises(DataError) as exc:
            import_files(files, tmp_path / name, progress=False, vectorized=vec,
                         kind=None)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1]
    assert files[1].name in msgs[0] and "row 4" in msgs[0] and "market_cap" in msgs[0]


# -- the batch path (datasets.arrow_long.netbuy_batch / market_batch) ----------------------


def test_batch_readers_take_clean_parquet_files(tmp_path):
    from datasets.arrow_long import market_batch, netbuy_batch

    _, files = _market_files(tmp_path, "parquet", n_days=4)
    nb = [p for p in files if p.name.startswith("nb_")]
    mk = [p for p in files if p.name.startswith("mk_")]
    got = netbuy_batch(nb, [10, 11, 12, 13])
    assert got is not None
    rows, file_rows, groups, reads = got
    # the batch's rows are the per-file readers' rows one file after the other
    per_file = [netbuy_rows(p) for p in nb]
    assert list(file_rows) == [len(b) for b, _, _ in per_file]
    assert list(reads) == [len(pd.read_parquet(p)) for p in nb]
    want = pd.concat([b for b, _, _ in per_file], ignore_index=True)
    pd.testing.assert_frame_equal(rows[["date", "stock"]], want, check_exact=True)
    off = np.cumsum([0] + list(file_rows))
    for j, (_, net, _) in enumerate(per_file):
        assert sorted(groups[j]) == sorted(f"net_buy_{k}" for k in net)
        for k, v in net.items():
            np.testing.assert_array_equal(rows[f"net_buy_{k}"].to_numpy()[off[j]:off[j + 1]], v)
            assert (rows[f"src_net_buy_{k}"].to_numpy()[off[j]:off[j + 1]] == 10 + j).all()
    mrows, mfile_rows, empty, _ = market_batch(mk, [1, 2, 3, 4])
    assert list(empty) == [2, 2, 2, 2] and list(mfile_rows) == [len(market_rows(p)) for p in mk]
    pd.testing.assert_frame_equal(
        mrows.drop(columns="src_market"),
        pd.concat([market_rows(p) for p in mk], ignore_index=True), check_exact=True)


@pytest.mark.parametrize("batched", [True, False])
def test_batched_and_per_file_imports_give_the_text_loaders_store(tmp_path, batched):
    """Same store bytes, manifest and data-quality list (in order), with a file skipped as
    already imported in the middle of a batch and re-importing changing nothing."""
    _, files = _market_files(tmp_path / "files", "parquet", n_days=5)
    files = files[:4] + [files[1]] + files[4:]  # a repeat: skipped, recorded in order
    q_fast, q_slow = DataQuality(), DataQuality()
    res = import_files(files, tmp_path / "fast", progress=False, quality=q_fast, batch_files=4,
                       batched=batched)
    import_files(files, tmp_path / "slow", progress=False, quality=q_slow, batch_files=4,
                 vectorized=False)
    assert res.skipped == [files[1].name]
    fast, slow = _store_contents(tmp_path / "fast"), _store_contents(tmp_path / "slow")
    assert fast == slow and fast[0]
    assert q_fast.items == q_slow.items and q_fast.rows_read == q_slow.rows_read
    q_again = DataQuality()
    again = import_files(files, tmp_path / "fast", progress=False, batched=batched,
                         quality=q_again)
    assert again.added == [] and _store_contents(tmp_path / "fast") == fast
    assert q_again.count("skipped") == len(set(files))  # each file reported, none re-read


def _shuffled_copy(src, dst, seed=1):
    f = pd.read_parquet(src)
    f.sample(frac=1.0, random_state=seed).to_parquet(dst, index=False)
    return dst


def test_overlapping_files_in_and_out_of_a_batch_keep_the_first_file(tmp_path):
    """The same day given by a CSV file (per-file path) and, later, by a Parquet file of the
    batch: the CSV file's id is kept (file order), as in the text loaders' store."""
    _, files = _market_files(tmp_path / "files", "parquet", n_days=3)
    nb = [p for p in files if p.name.startswith("nb_")]
    csv = tmp_path / "files" / "nb_day2.csv"
    pd.read_parquet(nb[1]).to_csv(csv, index=False, float_format="%.17g",
                                  date_format="%Y-%m-%d")
    later = _shuffled_copy(nb[1], tmp_path / "files" / "nb_day2_again.parquet")
    order = [nb[0], csv, later, nb[2]]
    import_files(order, tmp_path / "fast", progress=False, kind="generic-netbuy")
    import_files(order, tmp_path / "slow", progress=False, kind="generic-netbuy",
                 vectorized=False)
    fast, slow = _store_contents(tmp_path / "fast"), _store_contents(tmp_path / "slow")
    assert fast == slow
    from datasets.store import open_store

    st = open_store(tmp_path / "fast")
    day = pd.read_parquet(nb[1])["date"].iloc[0]
    flows = st.read_table("flows", start=day, end=day)
    assert (flows["src_net_buy_foreign"] == 2).all()  # the CSV file (id 2), not id 3


def test_a_conflict_inside_a_batch_names_both_files_as_the_text_loaders_do(tmp_path):
    _, files = _market_files(tmp_path / "files", "parquet", n_days=3)
    nb = [p for p in files if p.name.startswith("nb_")]
    bad = pd.read_parquet(nb[1])
    bad.loc[bad.index[3], "net_buy"] += 1.0
    other = tmp_path / "files" / "nb_other.parquet"
    bad.to_parquet(other, index=False)
    msgs = []
    for kw in ({}, {"batched": False}, {"vectorized": False}):
        with pytest.raises(DataError, match="disagree") as exc:
            import_files(nb + [other], tmp_path / f"s{len(msgs)}", progress=False, **kw)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1] == msgs[2]
    assert f"{nb[1].name} and {other.name} disagree" in msgs[0]  # the earlier file first


def test_a_bad_file_in_a_batch_gives_the_per_file_error_and_counts(tmp_path):
    """One bad Parquet file among clean ones: the batch declines, the per-file path names
    file, row and column; the files before it are counted as one by one."""
    _, files = _market_files(tmp_path / "files", "parquet", n_days=4)
    bad = pd.read_parquet(files[5])
    bad.loc[bad.index[2], "market_cap"] = -3.0
    bad.to_parquet(files[5], index=False)
    from datasets.arrow_long import market_batch

    assert market_batch([p for p in files if p.name.startswith("mk_")], [1, 2, 3, 4]) is None
    out = []
    for kw in ({}, {"vectorized": False}):
        q = DataQuality()
        with pytest.raises(DataError) as exc:
            import_files(files, tmp_path / f"s{len(out)}", progress=False, quality=q,
                         **kw)
        out.append((str(exc.value), q.items, q.rows_read))
    assert out[0] == out[1]
    assert files[5].name in out[0][0] and "row 2" in out[0][0] and "market_cap" in out[0][0]
    assert not (tmp_path / "s0" / "flows").exists()  # nothing of the failed batch written


def test_batched_import_reports_the_rows_the_per_file_import_reports(tmp_path):
    """A batch's net-buying and market rows of the same stock-days go to the store as one
    frame; the rows reported (``flowbt data import``'s "N flows rows") still count both."""
    _, files = _market_files(tmp_path / "files", "parquet", n_days=4)
    fast = import_files(files, tmp_path / "fast", progress=False, batch_files=8)
    slow = import_files(files, tmp_path / "slow", progress=False, batch_files=8,
                        vectorized=False)
    want = sum(len(pd.read_parquet(p)) for p in files if p.name.startswith("mk_")) + sum(
        len(pd.read_parquet(p)[["date", "stock"]].drop_duplicates())
        for p in files if p.name.startswith("nb_"))
    assert slow.rows == {"flows": want}
    assert fast.rows == slow.rows
