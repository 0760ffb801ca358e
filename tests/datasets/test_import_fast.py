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

from datasets.arrow_long import market_rows, netbuy_rows
from datasets.store_import import import_files, rows_of_file
from engine.errors import DataError, DataQuality


def _market_files(tmp_path, fmt: str, n_days=6, n_stocks=9):
    from datasets.synthetic import make_market

    tmp_path.mkdir(parents=True, exist_ok=True)
    m = make_market(n_days, n_stocks, 0, seed=3, start="2000-01-25",
                    investors=("foreign", "institution", "individual"))
    f = m.flows
    T, N, K = f.shape
    out = []
    for t, d in enumerate(f.dates):
        nb = pd.DataFrame({"date": d, "stock": np.repeat(np.asarray(f.stocks), K),
                           "investor": np.tile(list(f.investors), N),
                           "net_buy": f.net_buy[t].ravel(),
                           "net_buy_shares": f.net_buy_shares[t].ravel()}).dropna()
        nb = nb.sample(frac=1.0, random_state=t)  # row order is free in a keyed file
        mk = pd.DataFrame({"date": d, "stock": np.asarray(f.stocks),
                           "market_cap": f.market_cap[t], "close": f.close[t]})
        mk = mk[mk["market_cap"].notna()].copy()
        mk.loc[mk.index[:2], "close"] = np.nan  # empty closes are counted
        for name, frame in (("nb", nb), ("mk", mk)):
            p = tmp_path / f"{name}_{d:%Y%m%d}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(p, index=False)
            else:
                frame.to_csv(p, index=False, float_format="%.17g", date_format="%Y-%m-%d")
            out.append(p)
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
