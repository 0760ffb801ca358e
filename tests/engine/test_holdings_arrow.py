"""holdings_from_arrow: the Holdings of a store's Arrow chunks is the one the general path
(``Holdings(table.to_pandas())``) gives, and whatever the general path would sort or refuse
is declined (None), so that path names the bad row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from engine.errors import DataError
from engine.holdings_arrow import holdings_from_arrow
from engine.market import Holdings

ETFS = ["KODEX 200", "E2", "타이거", "ZZ", "E"]  # "E" a prefix of "E2"
STOCKS = ["005930", "000660", "삼성SDI", "A", "b", "Z9", "Q1", "Q", "é"]


def _year_tables(seed=0, years=(2019, 2020, 2021), unit="us"):
    """One pyarrow table per year (as the store's partitions: sorted by (etf, date, stock)
    inside, dictionary-encoded etf/stock with each year's own dictionary, in the order the
    values first appear)."""
    rng = np.random.default_rng(seed)
    out = []
    for y in years:
        rows = []
        for etf in ETFS:
            for d in pd.date_range(f"{y}-01-01", f"{y}-12-31",
                                   freq=f"{int(rng.integers(40, 150))}D"):
                held = rng.choice(STOCKS, rng.integers(1, 7), replace=False)
                w = rng.random(len(held))
                rows += [(etf, d, s, x / w.sum()) for s, x in zip(held, w, strict=True)]
        f = pd.DataFrame(rows, columns=["etf", "effective_date", "stock", "weight"])
        f = f.sort_values(["etf", "effective_date", "stock"], ignore_index=True)
        out.append(pa.table({
            "etf": pa.array(f["etf"].tolist()).dictionary_encode(),
            "effective_date": pa.array(f["effective_date"].to_numpy(f"datetime64[{unit}]")),
            "stock": pa.array(f["stock"].tolist()).dictionary_encode(),
            "weight": pa.array(f["weight"].to_numpy()),
        }))
    return out


def _rechunk(table, size):
    """The same rows in batches of ``size`` (batches cut through snapshots)."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=size))


def _general(table):
    return Holdings(table.to_pandas())


def _assert_same(got: Holdings, want: Holdings):
    a, b = got.layout_arrays(), want.layout_arrays()
    for k in Holdings.LAYOUT_ARRAYS:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        assert a[k].dtype.kind == b[k].dtype.kind, k
    assert got.etfs.equals(want.etfs)
    pd.testing.assert_frame_equal(got.table, want.table)
    dates = pd.bdate_range("2019-01-01", "2022-03-01")
    stocks = pd.Index(STOCKS[::-1])
    for lag in (0, 5):
        ea, csr_a = want.to_csr(dates, stocks, None, lag)
        eb, csr_b = got.to_csr(dates, stocks, None, lag)
        assert ea.equals(eb)
        for x, y in zip(csr_a, csr_b, strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("chunk", [None, 1, 7, 50])
@pytest.mark.parametrize("unit", ["us", "ns"])
def test_equals_the_general_path(seed, chunk, unit):
    table = pa.concat_tables(_year_tables(seed, unit=unit))  # years one after another
    if chunk is not None:
        table = _rechunk(table, chunk)
    got = holdings_from_arrow(table)
    assert got is not None
    _assert_same(got, _general(table))


def test_years_in_any_order_and_unused_dictionary_entries():
    years = _year_tables(3)
    # an entry no row uses stays a name (as the general path's unused categories)
    extra = years[0].column("stock").chunk(0).dictionary.to_pylist() + ["UNUSED"]
    t0 = years[0]
    idx = t0.column("stock").chunk(0).indices
    years[0] = t0.set_column(2, "stock", pa.DictionaryArray.from_arrays(idx, pa.array(extra)))
    table = pa.concat_tables([years[2], years[0], years[1]])
    got = holdings_from_arrow(table)
    assert got is not None and "UNUSED" in list(got._codes[2])
    _assert_same(got, _general(table))


def test_one_snapshot():
    table = pa.table({"etf": pa.array(["X"]).dictionary_encode(),
                      "effective_date": pa.array(np.array(["2020-01-02"], "datetime64[us]")),
                      "stock": pa.array(["A"]).dictionary_encode(), "weight": [1.0]})
    _assert_same(holdings_from_arrow(table), _general(table))


def _with(table, **cols):
    """``table`` with columns replaced (lists of Python values; etf/stock re-encoded)."""
    for name, values in cols.items():
        arr = pa.array(values)
        if name in ("etf", "stock"):
            arr = arr.dictionary_encode()
        table = table.set_column(table.column_names.index(name), name, arr)
    return table


def _base():
    return pa.concat_tables(_year_tables(4)).combine_chunks()


def _cols(table):
    return {c: table.column(c).to_pylist() if c not in ("etf", "stock")
            else [str(x) for x in table.column(c).to_pylist()] for c in table.column_names}


def test_declines_a_stock_twice_and_the_general_path_names_it():
    c = _cols(_base())
    i = next(i for i in range(1, len(c["etf"])) if c["etf"][i] == c["etf"][i - 1]
             and c["effective_date"][i] == c["effective_date"][i - 1])
    c["stock"][i] = c["stock"][i - 1]
    for chunk in (None, i):  # inside a chunk, and across the cut between two
        table = _with(_base(), stock=c["stock"])
        table = _rechunk(table, chunk) if chunk else table
        assert holdings_from_arrow(table) is None
        with pytest.raises(DataError, match="appears twice"):
            _general(table)


def test_declines_stocks_out_of_order_which_the_general_path_sorts():
    c = _cols(_base())
    i = next(i for i in range(1, len(c["etf"])) if c["etf"][i] == c["etf"][i - 1]
             and c["effective_date"][i] == c["effective_date"][i - 1])
    for k in ("stock", "weight"):
        c[k][i - 1], c[k][i] = c[k][i], c[k][i - 1]
    for chunk in (None, i):
        table = _with(_base(), stock=c["stock"], weight=c["weight"])
        table = _rechunk(table, chunk) if chunk else table
        assert holdings_from_arrow(table) is None
        _assert_same(_general(table), _general(_base()))


def test_declines_a_snapshot_split_over_two_places():
    years = _year_tables(5)
    # a snapshot of the second year with its first row where it is and the others moved
    # to the end of the table (its rows in two places)
    f = years[1].to_pandas()
    key = list(zip(f["etf"].astype(str), f["effective_date"], strict=True))
    size = pd.Series(key).map(pd.Series(key).value_counts())
    i = int(np.flatnonzero(size.to_numpy() >= 2)[0])  # first row of a snapshot of 2+
    j = i + int(size[i])
    moved = years[1].slice(i + 1, j - i - 1)
    rest = pa.concat_tables([years[1].slice(0, i + 1), years[1].slice(j)])
    table = pa.concat_tables([years[0], rest, moved])
    assert holdings_from_arrow(table) is None
    _assert_same(_general(table), _general(pa.concat_tables(years[:2])))


@pytest.mark.parametrize("bad", ["nan", "sum", "null_weight", "null_stock", "null_date"])
def test_declines_what_the_general_path_refuses(bad):
    c = _cols(_base())
    if bad == "nan":
        c["weight"][3] = float("nan")
    elif bad == "sum":
        c["weight"][3] += 0.5
    elif bad == "null_weight":
        c["weight"][3] = None
    elif bad == "null_stock":
        c["stock"][3] = None
    else:
        c["effective_date"][3] = None
    table = _with(_base(), **{k: v for k, v in c.items() if k != "etf"})
    assert holdings_from_arrow(table) is None
    with pytest.raises(DataError):
        _general(table)


def test_declines_other_column_types():
    base = _base()
    plain = base.set_column(0, "etf", base.column("etf").cast(pa.string()))
    assert holdings_from_arrow(plain) is None
    tz = base.set_column(1, "effective_date",
                         base.column("effective_date").cast(pa.timestamp("us", tz="UTC")))
    assert holdings_from_arrow(tz) is None
    ints = base.set_column(2, "stock", pa.array(
        np.arange(base.num_rows) % 5).dictionary_encode())
    assert holdings_from_arrow(ints) is None
    f32 = base.set_column(3, "weight", base.column("weight").cast(pa.float32()))
    assert holdings_from_arrow(f32) is None
    assert holdings_from_arrow(base.slice(0, 0)) is None
    assert holdings_from_arrow(base.drop_columns(["weight"])) is None
