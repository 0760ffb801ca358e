"""The data model: validation, point-in-time holdings lookup, CSR layout for kernels."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from engine import CASH, ConstituentFlows, DataError, EtfData, Holdings, Market
from engine.investors import INVESTORS


def _flows(T=5, N=3, K=2, dtype=np.float64, **kw):
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2024-01-01", periods=T)
    args = dict(
        dates=dates,
        stocks=[f"S{i}" for i in range(N)],
        investors=INVESTORS[:K],
        net_buy=rng.normal(size=(T, N, K)).astype(dtype),
        market_cap=np.full((T, N), 1e12, dtype),
        close=np.full((T, N), 100.0, dtype),
    )
    args.update(kw)
    return ConstituentFlows(**args)


def _holdings():
    return Holdings(
        pd.DataFrame(
            {
                "etf": ["A", "A", "A", "B", "B"],
                "effective_date": ["2024-01-01", "2024-01-01", "2024-01-04", "2024-01-03", "2024-01-03"],
                "stock": ["S0", "S1", "S2", "S1", "ZZ"],
                "weight": [0.6, 0.4, 1.0, 0.5, 0.5],
            }
        )
    )


def test_flows_arrays_are_contiguous_and_keep_float32():
    f = _flows(dtype=np.float32, net_buy=np.asfortranarray(np.ones((5, 3, 2), np.float32)))
    assert f.net_buy.flags.c_contiguous and f.net_buy.dtype == np.float32
    assert f.market_cap.dtype == np.float32
    assert f.shape == (5, 3, 2)


def test_flows_reject_bad_shape_and_zero_market_cap():
    with pytest.raises(DataError, match="shape"):
        _flows(market_cap=np.ones((4, 3)))
    mc = np.full((5, 3), 1e12)
    mc[2, 1] = 0.0
    with pytest.raises(DataError, match=r"market cap is 0.0 for stock S1 on 2024-01-03"):
        _flows(market_cap=mc)
    # a cap <= 0 is an error only where net buying exists: one investor's is enough, and
    # the message counts every such cell (the earlier one of two is named)
    nb = np.full((5, 3, 2), np.nan)
    nb[2, 1, 1] = 5.0
    nb[4, 0, 0] = 1.0
    mc[4, 0] = -3.0
    mc[0, 2] = 0.0  # no net buying here: allowed
    with pytest.raises(DataError, match=r"market cap is 0.0 for stock S1 on 2024-01-03 where "
                                        r"net buying exists \(2 such cells\)"):
        _flows(market_cap=mc, net_buy=nb)
    nb[2, 1, 1] = nb[4, 0, 0] = np.nan
    assert _flows(market_cap=mc, net_buy=nb).market_cap[0, 2] == 0.0


def test_flows_allow_nan_market_cap_where_stock_absent():
    mc = np.full((5, 3), 1e12)
    nb = np.ones((5, 3, 2))
    mc[1, 2] = np.nan
    nb[1, 2] = np.nan
    f = _flows(market_cap=mc, net_buy=nb)
    assert np.isnan(f.market_cap[1, 2])


def test_flows_reject_unknown_investor_and_duplicate_stock():
    with pytest.raises(DataError, match="unknown investor"):
        _flows(investors=("foreign", "martians"))
    with pytest.raises(DataError, match="appears twice"):
        _flows(stocks=["S0", "S0", "S1"])


def test_flows_slice_dates_is_inclusive():
    f = _flows()
    s = f.slice_dates(end=f.dates[2])
    assert len(s.dates) == 3
    np.testing.assert_array_equal(s.net_buy, f.net_buy[:3])


def test_holdings_reject_bad_weight_sum_and_duplicates():
    bad = pd.DataFrame({"etf": ["A", "A"], "effective_date": ["2024-01-01"] * 2,
                        "stock": ["x", "y"], "weight": [0.5, 0.3]})
    with pytest.raises(DataError, match=r"sum to 0.8000"):
        Holdings(bad)
    dup = pd.DataFrame({"etf": ["A", "A"], "effective_date": ["2024-01-01"] * 2,
                        "stock": ["x", "x"], "weight": [0.5, 0.5]})
    with pytest.raises(DataError, match="appears twice"):
        Holdings(dup)


def test_weights_at_honours_publication_lag():
    h = _holdings()
    assert h.weights_at("A", "2023-12-31").empty
    assert h.weights_at("A", "2024-01-04").to_dict() == {"S2": 1.0}
    assert h.weights_at("A", "2024-01-04", lag_days=1).to_dict() == {"S0": 0.6, "S1": 0.4}


def test_to_csr_point_in_time_ranges_and_missing_stock():
    f = _flows()  # sessions 2024-01-01 .. 2024-01-05
    etfs, csr = _holdings().to_csr(f.dates, f.stocks)
    assert list(etfs) == ["A", "B"]
    # A: first snapshot rows [0, 3), second [3, 5); B: [2, 5)
    np.testing.assert_array_equal(csr.etf, [0, 0, 1])
    np.testing.assert_array_equal(csr.start, [0, 3, 2])
    np.testing.assert_array_equal(csr.stop, [3, 5, 5])
    np.testing.assert_array_equal(csr.indptr, [0, 2, 3, 5])
    # ZZ is not in the flow panel -> -1, so the kernel can count the missing weight
    np.testing.assert_array_equal(csr.stock, [0, 1, 2, 1, -1])
    np.testing.assert_allclose(csr.weight, [0.6, 0.4, 1.0, 0.5, 0.5])


def test_to_csr_lag_shifts_start_and_drops_superseded_snapshots():
    f = _flows()
    _, csr = _holdings().to_csr(f.dates, f.stocks, etfs=["A"], lag_days=1)
    np.testing.assert_array_equal(csr.start, [1, 4])
    np.testing.assert_array_equal(csr.stop, [4, 5])
    # two snapshots effective the same week: the first is superseded before any session
    h = Holdings(pd.DataFrame({"etf": ["A", "A"], "effective_date": ["2023-01-01", "2023-06-01"],
                               "stock": ["S0", "S1"], "weight": [1.0, 1.0]}))
    _, csr = h.to_csr(f.dates, f.stocks)
    assert len(csr.etf) == 1 and csr.stock.tolist() == [1]


def test_etfdata_and_market_describe():
    d = pd.bdate_range("2024-01-01", periods=3)
    e = EtfData(d, ["SPY"], close=np.ones((3, 1)), expense_ratio=[0.0009])
    assert e.frame("close").shape == (3, 1)
    with pytest.raises(KeyError):
        e.frame("nav")
    m = Market(flows=_flows(), holdings=_holdings(), etfs=e,
               prices=pd.DataFrame({"SPY": [1.0, 1.1, 1.2], CASH: 1.0}, index=d))
    text = m.describe()
    assert "5 days x 3 stocks x 2 investors" in text and "2 ETFs" in text


def test_to_csr_agrees_with_weights_at_on_every_day():
    """The vectorized CSR layout against the obvious per-(ETF, day) lookup, with a lag, a
    requested ETF order different from the sorted one and snapshots between sessions."""
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2024-01-01", periods=60)
    stocks = pd.Index([f"S{i}" for i in range(8)])
    rows = []
    for etf in ["E2", "E0", "E1"]:
        for d in pd.date_range("2023-12-20", periods=5, freq="17D"):
            held = rng.choice(8, size=rng.integers(1, 6), replace=False)
            w = rng.random(len(held))
            rows += [(etf, d, f"S{i}", x / w.sum()) for i, x in zip(held, w, strict=True)]
    h = Holdings(pd.DataFrame(rows, columns=["etf", "effective_date", "stock", "weight"]))
    for lag in (0, 3):
        etfs, csr = h.to_csr(dates, stocks, etfs=["E1", "E2", "E0"], lag_days=lag)
        assert list(etfs) == ["E1", "E2", "E0"]
        for e_pos, etf in enumerate(etfs):
            for t, d in enumerate(dates):
                expect = h.weights_at(etf, d, lag_days=lag)
                s = np.flatnonzero((csr.etf == e_pos) & (csr.start <= t) & (t < csr.stop))
                assert len(s) == (0 if expect.empty else 1)
                if len(s):
                    lo, hi = csr.indptr[s[0]], csr.indptr[s[0] + 1]
                    got = pd.Series(csr.weight[lo:hi], index=stocks[csr.stock[lo:hi]])
                    pd.testing.assert_series_equal(
                        got.sort_index(), expect.sort_index(), check_names=False
                    )


def test_holdings_sort_shuffled_table_like_pandas_and_find_problems_anywhere():
    """Holdings sorts on factorized codes; the order must be pandas' string order
    (digits, upper, lower, non-ASCII) whatever the input order, and a duplicate or a bad
    weight sum is found wherever it sits in a shuffled table."""
    rng = np.random.default_rng(3)
    codes = ["A", "a", "B1", "b0", "삼성", "005930", "10", "9", "Z z", "é"]
    rows = [(e, d, s, 0.2) for e in ["E2", "e1", "삼", "E10"]
            for d in ["2024-01-02", "2023-12-29", "2024-03-04"]
            for s in rng.choice(codes, 5, replace=False)]
    df = pd.DataFrame(rows, columns=["etf", "effective_date", "stock", "weight"])
    shuffled = df.sample(frac=1.0, random_state=1)
    got = Holdings(shuffled).table
    want = (shuffled.assign(effective_date=pd.to_datetime(shuffled["effective_date"]))
            .sort_values(["etf", "effective_date", "stock"], kind="stable")
            .reset_index(drop=True))
    for col in ("etf", "stock"):
        assert got[col].tolist() == want[col].tolist()
    assert (got["effective_date"].to_numpy() == want["effective_date"].to_numpy()).all()
    assert list(Holdings(shuffled).etfs) == sorted(df["etf"].unique())
    dup = pd.concat([shuffled, shuffled.iloc[[7]]]).sample(frac=1.0, random_state=2)
    with pytest.raises(DataError, match="appears twice"):
        Holdings(dup)
    bad = shuffled.copy()
    bad.iloc[11, bad.columns.get_loc("weight")] = 0.5
    with pytest.raises(DataError, match=r"sum to 1\.3000"):
        Holdings(bad)


def test_holdings_of_a_shuffled_table_equal_those_of_the_sorted_one():
    """Holdings() skips its re-order when the rows are sorted already; a shuffled table
    (the re-order path) must give the same table and the same CSR layout."""
    from benchmarks.oracles import make_synthesis_case

    flows, h = make_synthesis_case(seed=3)
    tab = h.table
    want = tab.sort_values(["etf", "effective_date", "stock"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(tab, want)
    mine = tab.sample(frac=1.0, random_state=0)
    shuffled = Holdings(mine)
    pd.testing.assert_frame_equal(shuffled.table, want)
    # the caller writing into its table afterwards changes neither Holdings
    sorted_copy = tab.copy()
    again = Holdings(sorted_copy)
    for frame in (mine, sorted_copy):
        frame.loc[frame.index[0], "weight"] = 99.0
        frame.iloc[1, frame.columns.get_loc("stock")] = "CHANGED"
        frame["etf"] = "Z"
    pd.testing.assert_frame_equal(shuffled.table, want)
    pd.testing.assert_frame_equal(again.table, want)
    for etfs in (None, list(h.etfs[::-1]), [h.etfs[2], h.etfs[0]]):
        a, csr_a = h.to_csr(flows.dates, flows.stocks[::-1], etfs, 2)
        b, csr_b = shuffled.to_csr(flows.dates, flows.stocks[::-1], etfs, 2)
        assert a.equals(b)
        for x, y in zip(csr_a, csr_b, strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


def test_holdings_weights_are_not_shared_with_the_callers_frame():
    """Copy-on-write does not cover a write through ``Series.array`` (pandas 3 lets it reach
    every frame sharing the column): Holdings() must own its weights, or a caller editing its
    frame afterwards changes the Holdings' table (past its weight-sum check, and out of step
    with the layout synthesize_flows caches) -- and the reverse."""
    def frame():
        return pd.DataFrame({"etf": ["A", "A", "B"], "stock": ["x", "y", "x"],
                             "effective_date": pd.to_datetime(["2024-01-02"] * 3),
                             "weight": [0.5, 0.5, 1.0]})

    mine = frame()
    h = Holdings(mine)
    mine["weight"].array[0] = 7.0
    assert h.table["weight"].tolist() == [0.5, 0.5, 1.0]
    # the str table of rows given in order is built on first read: from what was given
    mine = frame()
    h = Holdings(mine)
    mine["etf"].array[0] = "Z"
    mine["stock"].array[0] = "z"
    mine["effective_date"].array[0] = pd.Timestamp("2030-01-01")
    assert h.table["etf"].tolist() == ["A", "A", "B"]
    assert h.table["stock"].tolist() == ["x", "y", "x"]
    assert (h.table["effective_date"] == pd.Timestamp("2024-01-02")).all()
    mine = frame()
    h = Holdings(mine)
    h.table["weight"].array[1] = 7.0
    assert mine["weight"].tolist() == [0.5, 0.5, 1.0]


def _as_categorical(tab, categories=None):
    """``tab`` with categorical etf/stock; ``categories``: (etf, stock) category lists."""
    etf_cats, stock_cats = categories or (None, None)
    return tab.assign(etf=pd.Categorical(tab["etf"], categories=etf_cats),
                      stock=pd.Categorical(tab["stock"], categories=stock_cats))


def _runs_shuffled(tab, seed):
    """``tab`` (sorted) with its snapshots (runs of one etf and date) in a random order, each
    snapshot's rows kept together and in order: how a store's yearly partitions come."""
    snap = tab.groupby(["etf", "effective_date"], sort=False).ngroup().to_numpy()
    perm = np.random.default_rng(seed).permutation(snap.max() + 1)
    return tab.iloc[np.argsort(perm[snap], kind="stable")]


def _assert_same_holdings(got, want, flows):
    """Everything a Holdings exposes, against the Holdings built from the sorted str table."""
    from engine.synthesis import synthesize_flows

    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.etfs.equals(want.etfs)
    for etf in want.etfs:
        pd.testing.assert_index_equal(got.snapshot_dates(etf), want.snapshot_dates(etf))
        for d in want.snapshot_dates(etf)[::3]:
            pd.testing.assert_series_equal(got.weights_at(etf, d, 2), want.weights_at(etf, d, 2))
    for etfs, lag in ((None, 0), (list(want.etfs[::-1]), 2), ([want.etfs[1]], 5)):
        a, csr_a = want.to_csr(flows.dates, flows.stocks[::-1], etfs, lag)
        b, csr_b = got.to_csr(flows.dates, flows.stocks[::-1], etfs, lag)
        assert a.equals(b)
        for x, y in zip(csr_a, csr_b, strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_want = synthesize_flows(flows, want, cumulative=True)
        s_got = synthesize_flows(flows, got, cumulative=True)
    pd.testing.assert_frame_equal(s_got, s_want, check_exact=True)
    assert s_got.attrs == s_want.attrs


def test_holdings_from_categoricals_equal_those_from_strings():
    """Categorical etf/stock columns (sorted or unsorted categories, unused ones, shuffled
    rows or shuffled snapshots) give the Holdings the sorted str table gives: same table
    (str columns), ETFs, snapshot dates, weights, CSR arrays and synthesis, bit for bit."""
    from benchmarks.oracles import make_synthesis_case

    flows, h = make_synthesis_case(seed=4)
    tab = h.table.copy()
    # one constituent the flow panel lacks, with a non-ASCII code: the unmatched path
    i = tab.index[tab["etf"] == h.etfs[0]][0]
    tab.loc[i, "stock"] = "삼성전자"
    want = Holdings(tab)
    pd.testing.assert_frame_equal(  # the reference itself: pandas' sort of the str table
        want.table, tab.sort_values(["etf", "effective_date", "stock"]).reset_index(drop=True))
    etfs, stocks = sorted(tab["etf"].unique()), sorted(tab["stock"].unique())
    cases = {
        "sorted categories": _as_categorical(tab),
        "unsorted and unused categories": _as_categorical(
            tab, (["ZZ_UNUSED", *etfs[::-1]], [*stocks[::-1], "UNUSED", "0"])),
        "shuffled rows": _as_categorical(tab.sample(frac=1.0, random_state=5)),
        "shuffled snapshots, categorical": _as_categorical(_runs_shuffled(tab, 6)),
        "shuffled snapshots, str": _runs_shuffled(tab, 7),
        # object columns: pandas' factorize, not Arrow's (str columns: runs, dictionary)
        "object columns": tab.astype({"etf": object, "stock": object}),
        "object columns, shuffled snapshots": _runs_shuffled(
            tab.astype({"etf": object, "stock": object}), 8),
    }
    assert tab["etf"].dtype == "str" and tab["etf"].dtype.storage == "pyarrow"
    for name, table in cases.items():
        got = Holdings(table)
        try:
            _assert_same_holdings(got, want, flows)
        except AssertionError as exc:  # pragma: no cover - names the failing case
            raise AssertionError(f"{name}: {exc}") from exc


def test_holdings_categorical_with_non_str_categories_reads_as_str():
    """Integer stock codes as categories compare as their str (like ``astype(str)``)."""
    tab = pd.DataFrame({"etf": ["A", "A", "A"], "effective_date": ["2024-01-02"] * 3,
                        "stock": [10, 9, 100], "weight": [0.2, 0.3, 0.5]})
    want = Holdings(tab.assign(stock=tab["stock"].astype(str)))
    got = Holdings(tab.assign(stock=pd.Categorical(tab["stock"])))
    assert got.table["stock"].tolist() == ["10", "100", "9"]  # string order
    pd.testing.assert_frame_equal(got.table, want.table)
    # categories that become equal as str (1 and "1") are one stock, and a duplicate
    merged = tab.assign(stock=pd.Categorical([1, "1", 2], categories=[1, "1", 2]))
    with pytest.raises(DataError, match="stock 1 appears twice in the A snapshot of 2024-01-02"):
        Holdings(merged)


def _error(table, **kw):
    with pytest.raises(DataError) as info:
        Holdings(table, **kw)
    return str(info.value)


def test_holdings_errors_the_same_from_categoricals_and_shuffled_snapshots():
    """Duplicates, bad sums and NaN weights name the same row, ETF and date whichever way the
    table comes; the first problem in sorted order is the one named."""
    from benchmarks.oracles import make_synthesis_case

    _, h = make_synthesis_case(seed=5)
    tab = h.table.copy()
    snaps = tab.groupby(["etf", "effective_date"]).ngroup().to_numpy()
    # a duplicate in a late snapshot and one in an early one: the early one is named
    late, early = np.flatnonzero(snaps == snaps.max() - 1)[0], np.flatnonzero(snaps == 3)[0]
    dup = pd.concat([tab, tab.iloc[[late, early]]]).sort_values(
        ["etf", "effective_date", "stock"], kind="stable").reset_index(drop=True)
    bad_sum = tab.copy()
    for row in (late, early):
        bad_sum.iloc[row, bad_sum.columns.get_loc("weight")] += 0.5
    for broken, match in ((dup, "appears twice"), (bad_sum, r"sum to 1\.5000")):
        msg = _error(broken)
        assert re.search(match, msg)
        r = tab.iloc[early]
        assert f"{r['etf']}" in msg and str(r["effective_date"].date()) in msg
        for variant in (_as_categorical(broken), _runs_shuffled(broken, 1),
                        _as_categorical(_runs_shuffled(broken, 2), (
                            sorted(tab["etf"].unique())[::-1], None)),
                        broken.sample(frac=1.0, random_state=3)):
            assert _error(variant) == msg
    nan = _as_categorical(tab)
    nan.iloc[4, nan.columns.get_loc("weight")] = np.nan
    assert "position 4" in _error(nan) and "NaN" in _error(nan)
    assert _error(nan) == _error(nan.assign(etf=nan["etf"].astype(str),
                                            stock=nan["stock"].astype(str)))
    partial = _as_categorical(bad_sum)
    assert "at most 1" in _error(partial, partial=True)


@pytest.mark.parametrize("column", ["etf", "stock", "effective_date"])
@pytest.mark.parametrize("kind", ["object", "str", "category"])
@pytest.mark.parametrize("n", [3, 400])
def test_holdings_reject_missing_labels(column, kind, n):
    """A row without an ETF, stock or date is refused, naming the row (it used to be taken
    silently, with a code of -1 that to_csr read as the last ETF); ``n`` 400: one ETF's
    long run, where str columns are encoded by runs."""
    m = n - 1
    tab = pd.DataFrame({"etf": ["A"] * m + ["B"], "effective_date": ["2024-01-02"] * n,
                        "stock": [f"s{i:03d}" for i in range(m)] + ["x"],
                        "weight": [1.0 / m] * m + [1.0]})
    tab[column] = tab[column].astype(object)
    tab.loc[n - 1, column] = None
    if kind != "object" and column != "effective_date":
        tab = tab.assign(etf=tab["etf"].astype(kind), stock=tab["stock"].astype(kind))
    msg = _error(tab)
    assert f"holdings {column} is missing" in msg and f"position {n - 1}" in msg


def test_holdings_built_lazily_pickle_and_replace():
    """A Holdings whose str table is not built yet pickles, and ``replace`` builds it."""
    import pickle
    from dataclasses import replace

    tab = _holdings().table
    h = Holdings(_as_categorical(tab))
    again = pickle.loads(pickle.dumps(h))
    pd.testing.assert_frame_equal(again.table, tab)
    part = replace(h, partial=True)
    assert part.partial and part.etfs.equals(h.etfs)
    pd.testing.assert_frame_equal(part.table, tab)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        h.nope  # noqa: B018


@pytest.mark.parametrize("categorical", [False, True])
def test_holdings_keep_their_own_dates_and_codes(categorical):
    """The caller writing into its frame afterwards (``.loc`` or through ``.array``, which
    copy-on-write does not cover) changes neither the Holdings' table nor its snapshots."""
    def frame():
        f = pd.DataFrame({"etf": ["A", "A", "B"], "stock": ["x", "y", "x"],
                          "effective_date": pd.to_datetime(["2024-01-02"] * 3),
                          "weight": [0.5, 0.5, 1.0]})
        return f.astype({"etf": "category", "stock": "category"}) if categorical else f

    want = Holdings(frame()).table
    for write in ("loc", "array"):
        mine = frame()
        h = Holdings(mine)
        if write == "loc":
            mine.loc[0, "effective_date"] = pd.Timestamp("2030-01-01")
            mine.loc[1, "stock"] = "x"
        else:
            mine["effective_date"].array[0] = pd.Timestamp("2030-01-01")
            mine["stock"].array[1] = "x"
        pd.testing.assert_frame_equal(h.table, want)
        assert h.snapshot_dates("A").tolist() == [pd.Timestamp("2024-01-02")]
        assert h.weights_at("A", "2024-01-02").to_dict() == {"x": 0.5, "y": 0.5}


def _holdings_tab():
    return pd.DataFrame({
        "etf": ["B", "B", "A", "A", "A", "B"],
        "effective_date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-01-02",
                                          "2024-01-02", "2024-02-01", "2024-01-05"]),
        "stock": ["y", "x", "x", "z", "x", "z"],
        "weight": [0.6, 0.4, 0.5, 0.5, 1.0, 1.0]})


def test_to_csr_is_the_callers_and_the_layout_csr_the_same_values():
    """to_csr's arrays are new (a write into them never reaches the Holdings); the layout's
    (int32 positions, weights a view) hold the same values."""
    h = Holdings(_holdings_tab())
    dates = pd.bdate_range("2024-01-01", periods=60)
    etfs, csr = h.to_csr(dates, ["z", "x", "y"])
    before = h.table.copy()
    csr.weight[:] = 7.0
    csr.stock[:] = 0
    pd.testing.assert_frame_equal(h.table, before)
    _, fresh = h.to_csr(dates, ["z", "x", "y"])
    assert fresh.stock.dtype == np.int64
    _, lay = h._csr(dates, ["z", "x", "y"], own=False, stock_dtype=np.int32)
    assert lay.stock.dtype == np.int32
    for x, y in zip(lay, fresh, strict=True):
        np.testing.assert_array_equal(x, y)
    assert np.shares_memory(lay.weight, h._weight)  # one run of rows: no copy
