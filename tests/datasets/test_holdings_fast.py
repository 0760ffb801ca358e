"""The vectorized holdings reader (datasets.arrow_holdings) gives the text loader's store and errors.

Every comparison runs the same files through the default import (the batch reader, or the
per-file fast reader) and through ``vectorized=False`` (the row-level text loader,
:func:`datasets.holdings_files.load_holdings` over :class:`datasets._csv.Table`, the
reference), and checks that the fast reader really ran on the clean files and declined the
others (so a parity that holds only because both sides read with the text loader fails).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from datasets.arrow_holdings import holdings_batch, holdings_table
from datasets.holdings_files import load_holdings
from datasets.store_import import import_files, rows_of_file
from engine.errors import DataError, DataQuality

HEAD = "date,etf,ticker,weight\n"


def _items(q: DataQuality):
    return [(i.source, i.action, i.what, i.count, i.rule) for i in q.items], dict(q.rows_read)


def _store_contents(d):
    parts = {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*.parquet"))}
    return parts, json.loads((d / "manifest.json").read_text())


def _quarterly_files(tmp_path, n_files=5):
    """Issuer files of the synthetic market: one per quarter, each ETF's first snapshot of the
    quarter, weights in percent printed with 17 digits, a CASH row per snapshot (as
    benchmarks/bench_import.py writes them), rows in (date, etf, ticker) order."""
    from datasets.synthetic import make_market

    tmp_path.mkdir(parents=True, exist_ok=True)
    m = make_market(320, 40, 6, seed=5, start="2003-10-01")
    tab = m.holdings.table
    q = pd.DatetimeIndex(tab["effective_date"]).to_period("Q")
    out = []
    for per, g in tab.groupby(q):
        g = g[g["effective_date"] == g.groupby("etf")["effective_date"].transform("min")]
        snap = pd.DataFrame({"date": g["effective_date"].dt.strftime("%Y-%m-%d"),
                             "etf": g["etf"], "ticker": g["stock"],
                             "weight": g["weight"] * 99.0})
        cash = snap.groupby(["date", "etf"], as_index=False)["weight"].sum()
        cash["weight"] = 100.0 - cash["weight"]
        snap = pd.concat([snap, cash.assign(ticker="CASH")[snap.columns]], ignore_index=True)
        p = tmp_path / f"holdings_{per}.csv"
        snap.sort_values(["date", "etf", "ticker"]).to_csv(p, index=False,
                                                           float_format="%.17g")
        out.append(p)
    assert len(out) >= n_files
    return m, out[:n_files]


def test_batched_and_per_file_imports_give_the_text_loaders_store(tmp_path):
    _, files = _quarterly_files(tmp_path / "files")
    got = holdings_batch(files, [None] * len(files))
    assert got is not None and got[2].sum() == len(got[0])  # the batch reader takes them
    stores, records = {}, {}
    for name, kw in (("text", {"vectorized": False}), ("per_file", {"batched": False}),
                     ("batch", {}), ("two_batches", {"batch_files": 3})):
        q = DataQuality()
        res = import_files(files, tmp_path / name, progress=False, quality=q, **kw)
        stores[name], records[name] = _store_contents(tmp_path / name), _items(q)
        assert res.rows == {"holdings": int(got[2].sum())}
    for name in ("per_file", "batch", "two_batches"):
        assert stores[name] == stores["text"], name
        assert records[name] == records["text"], name
    assert any(r[2] == "cash rows" and r[3] > 0 for r in records["text"][0])
    assert any(r[2] == "holdings snapshots to sum to 1" and r[3] > 0 for r in records["text"][0])


def test_the_store_reads_back_the_issuer_weights(tmp_path):
    # independent of both readers: the weights in the files (99% of each snapshot, the rest
    # cash) come back as the generator's fractions
    from datasets.store import open_store

    m, files = _quarterly_files(tmp_path / "files", n_files=2)
    import_files(files, tmp_path / "s", progress=False)
    got = open_store(tmp_path / "s").holdings().table
    snaps = got[["etf", "effective_date"]].drop_duplicates()
    assert len(snaps) == 2 * 6  # each ETF's first snapshot of each of the two quarters
    want = m.holdings.table.merge(snaps, on=["etf", "effective_date"]).sort_values(
        ["etf", "effective_date", "stock"]).reset_index(drop=True)
    assert (got["stock"].astype(str).to_numpy() == want["stock"].astype(str).to_numpy()).all()
    np.testing.assert_allclose(got["weight"].to_numpy(), want["weight"].to_numpy(), rtol=1e-12)


EDGE = {
    # cash by code (CASH, KRD, USD), by name (원화예금, "Cash & Equivalents"), a name column
    "names.csv": "date,etf,ticker,weight,name\n"
                 "2021-04-02,152100,005930,59,삼성전자\n"
                 "2021-04-02,152100,KRD010010001,1,원화예금\n"
                 '2021-04-02,152100,000660,38,"SK hynix, Inc."\n'
                 "2021-04-02,152100,XYZ,2,Cash & Equivalents\n"
                 "2021-04-02,069500,USD,0.5,\n"
                 "2021-04-02,069500,005930,99.5,삼성전자\n",
    # rows in no order, two dates, slash and compact dates, exponent and signed weights
    "unsorted.csv": HEAD + "2021/04/05,B,Z,+5e1\n2021-04-02,A,Y,.5e2\n20210405,B,Y,50.\n"
                           "2021-04-02,A,X,50\n",
    # a BOM and CRLF line ends
    "bom.csv": "\ufeff" + (HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Y,40\n").replace("\n", "\r\n"),
    # codes with spaces around them are stripped (the text loader's Table.text)
    "spaces.csv": HEAD + "2021-04-02, A ,X ,60\n2021-04-02,A, Y,40\n",
    # a snapshot within the 2% tolerance, renormalized; negative cash (an overdraft)
    "tolerance.csv": HEAD + "2021-04-02,A,X,61\n2021-04-02,A,Y,40\n2021-04-02,A,CASH,-2.5\n",
}


@pytest.mark.parametrize("name", sorted(EDGE))
def test_edge_files_give_the_text_loaders_table(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(EDGE[name].encode("utf-8"))
    q_fast, q_text = DataQuality(), DataQuality()
    assert holdings_table(p) is not None  # the fast reader decides these
    fast = rows_of_file(p, "holdings", quality=q_fast)
    text = rows_of_file(p, "holdings", quality=q_text, vectorized=False)
    (tf, ff, gf), (tt, ft, gt) = fast[0], text[0]
    assert tf == tt == "holdings" and gf == gt
    pd.testing.assert_frame_equal(ff, ft, check_exact=True)
    assert ff["weight"].to_numpy().view(np.int64).tolist() == \
        ft["weight"].to_numpy().view(np.int64).tolist()
    assert _items(q_fast) == _items(q_text)
    # and load_holdings (vectorized by default) holds the text loader's Holdings
    pd.testing.assert_frame_equal(load_holdings(p).table,
                                  load_holdings(p, vectorized=False).table, check_exact=True)


def test_weight_unit_fraction_and_partial_snapshots(tmp_path):
    p = tmp_path / "top.csv"
    p.write_text(HEAD + "2021-04-02,SPY,AAPL,0.07\n2021-04-02,SPY,MSFT,0.06\n"
                        "2021-04-02,QQQ,AAPL,0.6\n2021-04-02,QQQ,MSFT,0.4\n")
    kw = {"weight_unit": "fraction", "allow_partial": True}
    q_fast, q_text = DataQuality(), DataQuality()
    assert holdings_table(p, **kw) is not None
    fast = rows_of_file(p, "holdings", quality=q_fast, **kw)[0][1]
    text = rows_of_file(p, "holdings", quality=q_text, vectorized=False, **kw)[0][1]
    pd.testing.assert_frame_equal(fast, text, check_exact=True)
    assert _items(q_fast) == _items(q_text)
    assert q_fast.count("kept as given", "partial snapshots (weights sum below 100%, not "
                        "renormalized)") == 1
    # SPY kept as given (13% of the fund), QQQ renormalized to 1
    assert fast.loc[fast["etf"] == "SPY", "weight"].sum() == pytest.approx(0.13)
    h_fast = load_holdings(p, **kw)
    assert h_fast.partial and load_holdings(p, vectorized=False, **kw).partial


def test_parquet_holdings_give_the_text_loaders_table(tmp_path):
    p = tmp_path / "h.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2021-04-02"] * 3), "etf": ["A"] * 3,
                  "ticker": ["X", "Y", "CASH"], "weight": [59.5, 40.0, 0.5]}).to_parquet(
        p, index=False)
    assert holdings_table(p) is not None
    q_fast, q_text = DataQuality(), DataQuality()
    fast = rows_of_file(p, "holdings", quality=q_fast)[0][1]
    text = rows_of_file(p, "holdings", quality=q_text, vectorized=False)[0][1]
    pd.testing.assert_frame_equal(fast, text, check_exact=True)
    assert _items(q_fast) == _items(q_text)


def test_effective_date_option_gives_the_text_loaders_store(tmp_path):
    p = tmp_path / "pdf_152100.csv"
    p.write_text(HEAD + "2021-04-01,152100,005930,60\n2021-04-01,152100,000660,40\n")
    for name, vec in (("fast", True), ("text", False)):
        q = DataQuality()
        import_files([p], tmp_path / name, progress=False, quality=q, vectorized=vec,
                     effective_date="2021-03-31")
        assert q.count("re-dated", "holdings snapshots to --effective-date 2021-03-31") == 1
    assert _store_contents(tmp_path / "fast") == _store_contents(tmp_path / "text")


BAD = [
    (HEAD + "2021-04-02,A,X,6o\n2021-04-02,A,Y,40\n", "line 2, column 'weight'"),
    (HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Y,\n", "line 3, column 'weight'"),
    (HEAD + "2021-04-02,A,X,1,234\n", "malformed CSV"),
    (HEAD + '2021-04-02,A,X,"1,5"\n2021-04-02,A,Y,40\n', "thousands separators"),
    (HEAD + "2021-02-30,A,X,60\n2021-02-30,A,Y,40\n", "cannot be parsed"),
    (HEAD + "2021-04-02,,X,60\n2021-04-02,A,Y,40\n", "ETF ticker is empty"),
    (HEAD + "2021-04-02,A,,60\n2021-04-02,A,Y,40\n", "holding ticker is empty"),
    (HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Y,20\n2021-04-02,A,X,20\n", "duplicate row"),
    (HEAD + "2021-04-02,A,X,110\n2021-04-02,A,Y,-10\n", "negative"),
    (HEAD + "2021-04-02,A,X,0.6\n2021-04-02,A,Y,0.4\n", "not 100%"),
    (HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Y,50\n", "not 100%"),
    (HEAD + "2021-04-02,A,CASH,100\n", "holds only cash"),
    (HEAD + "2021-04-02,A,X,inf\n", "not a number"),
    (HEAD, "no data rows"),
    ("date,etf,ticker,weight,extra\n2021-04-02,A,X,100,1\n", "unknown column 'extra'"),
]


@pytest.mark.parametrize(("text", "match"), BAD)
def test_a_bad_file_gives_the_text_loaders_error(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text, encoding="utf-8")
    q = DataQuality()
    assert holdings_table(p, quality=q) is None and not q.items and not q.rows_read
    msgs = []
    for vec in (True, False):
        with pytest.raises(DataError, match=match) as exc:
            rows_of_file(p, "holdings", quality=DataQuality(), vectorized=vec)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1]
    assert "bad.csv" in msgs[0]


@pytest.mark.parametrize("batch_files", [250, 2])
def test_a_bad_file_in_a_batch_gives_the_per_file_error_and_counts(tmp_path, batch_files):
    _, files = _quarterly_files(tmp_path / "files", n_files=4)
    lines = files[2].read_text().splitlines(keepends=True)
    lines[7] = lines[7].rsplit(",", 1)[0] + ",12%\n"  # a unit in a weight cell
    files[2].write_text("".join(lines))
    out = {}
    for name, vec in (("fast", True), ("text", False)):
        q = DataQuality()
        with pytest.raises(DataError) as exc:
            import_files(files, tmp_path / name, progress=False, quality=q, vectorized=vec,
                         kind="holdings", batch_files=batch_files)
        out[name] = (str(exc.value), _items(q))
    assert out["fast"] == out["text"]
    msg = out["fast"][0]
    assert files[2].name in msg and "line 8" in msg and "column 'weight'" in msg \
        and "12%" in msg
    # the files up to the bad one were read and counted, as one file at a time does, the
    # file after it not
    read = out["fast"][1][1]
    assert files[1].name in read and files[2].name in read and files[3].name not in read


def test_unusual_files_go_to_the_text_loader_and_read_the_same(tmp_path):
    files = {
        # CP949 (a KRX-style download): the fast reader takes UTF-8 only
        "cp949.csv": ("date,etf,ticker,weight,name\n2021-04-02,K,005930,60,삼성전자\n"
                      "2021-04-02,K,000660,40,에스케이하이닉스\n").encode("cp949"),
        # a blank line: dropped and counted by the text loader (line numbers kept)
        "blank.csv": (HEAD + "2021-04-02,A,X,60\n\n2021-04-02,A,Y,40\n").encode(),
        # thousands separators in quotes: the text loader reads them
        "thousands.csv": (HEAD + '2021-04-02,A,X,"1,000"\n2021-04-02,A,Y,-900\n').encode(),
    }
    paths = []
    for name, raw in files.items():
        p = tmp_path / "in" / name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(raw)
        paths.append(p)
    assert all(holdings_table(p) is None for p in paths[:2])
    for p in paths[:2]:
        q_fast, q_text = DataQuality(), DataQuality()
        fast = rows_of_file(p, "holdings", quality=q_fast)[0][1]
        text = rows_of_file(p, "holdings", quality=q_text, vectorized=False)[0][1]
        pd.testing.assert_frame_equal(fast, text, check_exact=True)
        assert _items(q_fast) == _items(q_text)
    q = DataQuality()
    rows_of_file(paths[1], "holdings", quality=q)
    assert q.count("dropped", "blank lines") == 1
    with pytest.raises(DataError, match="negative") as a:
        rows_of_file(paths[2], "holdings", quality=DataQuality())
    with pytest.raises(DataError, match="negative") as b:
        rows_of_file(paths[2], "holdings", quality=DataQuality(), vectorized=False)
    assert str(a.value) == str(b.value)
    import_files(paths[:2], tmp_path / "fast", progress=False)
    import_files(paths[:2], tmp_path / "text", progress=False, vectorized=False)
    assert _store_contents(tmp_path / "fast") == _store_contents(tmp_path / "text")


def test_files_of_another_header_in_a_batch_read_the_same(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text(HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Y,40\n")
    b = tmp_path / "b.csv"
    b.write_text("weight,ticker,etf,date\n70,X,A,2021-07-01\n30,Z,A,2021-07-01\n")
    c = tmp_path / "c.csv"  # no newline at the end
    c.write_text(HEAD + "2021-10-01,A,X,50\n2021-10-01,A,Z,50")
    assert holdings_batch([a, b, c], [None] * 3) is None  # two layouts: one at a time
    assert holdings_batch([a, c], [None] * 2) is not None
    for name, vec in (("fast", True), ("text", False)):
        import_files([a, b, c], tmp_path / name, progress=False, vectorized=vec)
    assert _store_contents(tmp_path / "fast") == _store_contents(tmp_path / "text")


def test_two_files_of_one_snapshot_are_compared_as_by_the_text_loader(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text(HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Y,40\n2021-04-02,B,X,100\n")
    same = tmp_path / "same.csv"  # the same snapshot again, other bytes: no conflict
    same.write_text(HEAD + "2021-04-02,A,Y,40\n2021-04-02,A,X,60\n")
    other = tmp_path / "other.csv"  # the A snapshot with another constituent
    other.write_text(HEAD + "2021-04-02,A,X,60\n2021-04-02,A,Z,40\n")
    for name, vec in (("fast", True), ("text", False)):
        import_files([a, same], tmp_path / name, progress=False, vectorized=vec)
    assert _store_contents(tmp_path / "fast") == _store_contents(tmp_path / "text")
    msgs = []
    for name, vec in (("fast2", True), ("text2", False)):
        # within one import, and against a store that already holds the snapshot
        for files, store in (([a, other], name), ([other], name.replace("2", ""))):
            with pytest.raises(DataError, match="different constituents") as exc:
                import_files(files, tmp_path / store, progress=False, vectorized=vec)
            msgs.append(str(exc.value))
    assert msgs[0] == msgs[2] and msgs[1] == msgs[3]
    assert "a.csv and other.csv" in msgs[0] and "(e.g. Y, Z)" in msgs[0]
    assert "a.csv and other.csv" in msgs[1]


def test_parquet_files_of_other_column_types_in_a_batch_read_the_same(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2021-04-02"] * 2), "etf": ["A"] * 2,
                  "ticker": ["X", "Y"], "weight": [60.0, 40.0]}).to_parquet(a, index=False)
    # weights as integers and dates as text: a batch of both is not one Arrow table
    pd.DataFrame({"date": ["2021-07-01"] * 2, "etf": ["A"] * 2, "ticker": ["X", "Z"],
                  "weight": np.array([70, 30], dtype=np.int64)}).to_parquet(b, index=False)
    assert holdings_batch([a, b], [None, None]) is None
    assert holdings_table(a) is not None and holdings_table(b) is not None
    for name, vec in (("fast", True), ("text", False)):
        import_files([a, b], tmp_path / name, progress=False, vectorized=vec)
    assert _store_contents(tmp_path / "fast") == _store_contents(tmp_path / "text")


def test_a_file_of_lone_carriage_returns_imports_as_the_text_loader_reads_it(tmp_path):
    # old Mac line ends: the kind detection's fast readers used to raise csv.Error (naming
    # no file) from the header line; they hand the file to the text loader now
    p = tmp_path / "cr.csv"
    p.write_bytes(b"date,etf,ticker,weight\r2021-04-02,A,X,60\r2021-04-02,A,Y,40\r")
    assert holdings_table(p) is None
    res = import_files([p], tmp_path / "s", progress=False)
    assert res.rows == {"holdings": 2}
    from datasets.store import open_store

    got = open_store(tmp_path / "s").holdings().table
    assert got["stock"].tolist() == ["X", "Y"] and got["weight"].tolist() == [0.6, 0.4]
