"""synthesize_flows against the naive pandas oracle, its NaN/point-in-time policy and the
method's motivating case."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks.oracles import (
    make_synthesis_arrays,
    make_synthesis_case,
    synthesize_dense_oracle,
    synthesize_oracle,
    synthesize_scipy,
)
from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, Holdings
from engine.synthesis import (
    Method,
    UnmatchedConstituentsWarning,
    synthesize_arrays,
    synthesize_flows,
)

METHODS = ["bp", "amount", "weighted_amount", "shares"]


def _with_shares(flows: ConstituentFlows) -> ConstituentFlows:
    close = flows.close
    return replace(flows, net_buy_shares=np.round(flows.net_buy / close[:, :, None]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("lag_days", [0, 3])
@pytest.mark.parametrize("cumulative", [False, True])
def test_matches_pandas_oracle(method, dtype, lag_days, cumulative):
    flows, holdings = make_synthesis_case(seed=7, dtype=dtype)
    flows = _with_shares(flows)
    got = synthesize_flows(flows, holdings, method=method, lag_days=lag_days,
                           cumulative=cumulative)
    want = synthesize_oracle(flows, holdings, method, lag_days, cumulative=cumulative)
    assert got.dtypes.unique().tolist() == [np.dtype(dtype)]
    # warm-up NaN rows exist (snapshots start after day 0) and match
    assert got.iloc[0].isna().any()
    rtol = 1e-10 if dtype == "float64" else 2e-5
    scale = np.nanmax(np.abs(want.to_numpy(np.float64)))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("stagger", [False, True])
def test_layouts_and_array_oracles_agree(stagger):
    a = make_synthesis_arrays(60, 80, 4, 6, seed=3, min_holdings=5, max_holdings=40,
                              rebalance_every_days=10, stagger=stagger)
    by_stock, cov1 = synthesize_arrays(a.net_buy, a.market_cap, a.csr, 6, Method.BP,
                                       layout="by_stock")
    by_etf, cov2 = synthesize_arrays(a.net_buy, a.market_cap, a.csr, 6, Method.BP,
                                     layout="by_etf")
    dense = synthesize_dense_oracle(a.net_buy, a.market_cap, a.csr, 6, "bp")
    scipy_out = synthesize_scipy(a.net_buy, a.market_cap, a.csr, 6)
    np.testing.assert_allclose(by_stock, dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(by_etf, dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scipy_out, dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov1, cov2, rtol=0, atol=1e-12)


def test_csr_of_generated_table_roundtrips():
    """The benchmark builds HoldingsCSR directly; it must equal Holdings.to_csr of its table."""
    a = make_synthesis_arrays(50, 40, 2, 5, seed=1, min_holdings=3, max_holdings=10,
                              rebalance_every_days=7, stagger=True)
    _, csr = a.holdings().to_csr(a.dates, a.stocks)
    for got, want in zip(csr, a.csr, strict=True):
        np.testing.assert_array_equal(got, want)


def test_nan_before_first_snapshot_and_coverage():
    flows, holdings = make_synthesis_case(seed=2)
    out, cov = synthesize_flows(flows, holdings, return_coverage=True)
    first = holdings.table.groupby("etf")["effective_date"].min()
    for etf, d in first.items():
        before = out.index < d
        assert out.loc[before, etf].isna().all().all()
        assert cov.loc[before, etf].isna().all()
        # after the first snapshot: NaN exactly on the days no constituent is present
        uncovered = (~before) & (cov[etf] == 0).to_numpy()
        assert out.loc[uncovered, etf].isna().all().all()
        assert out.loc[~before & ~uncovered, etf].notna().all().all()
    c = cov.to_numpy()
    assert np.nanmax(c) <= 1 + 1e-9 and np.nanmin(c) >= 0
    # stocks absent some days: coverage falls below 1 somewhere
    assert np.nanmin(c) < 1 - 1e-6


def test_absent_stock_contributes_nothing():
    dates = pd.bdate_range("2024-01-02", periods=3)
    nb = np.array([[[1e9], [2e9]], [[1e9], [np.nan]], [[1e9], [2e9]]])
    cap = np.array([[1e12, 1e12], [1e12, np.nan], [1e12, 1e12]])
    f = ConstituentFlows(dates, ["A", "B"], ("foreign",), nb, cap, np.ones((3, 2)))
    h = Holdings(pd.DataFrame({"etf": "X", "effective_date": dates[0], "stock": ["A", "B"],
                               "weight": [0.5, 0.5]}))
    out, cov = synthesize_flows(f, h, return_coverage=True)
    np.testing.assert_allclose(out[("X", "foreign")].to_numpy(), [15.0, 5.0, 15.0], rtol=1e-12)
    np.testing.assert_allclose(cov["X"].to_numpy(), [1.0, 0.5, 1.0], rtol=1e-12)
    cum = synthesize_flows(f, h, cumulative=True)
    np.testing.assert_allclose(cum[("X", "foreign")].to_numpy(), [15.0, 20.0, 35.0], rtol=1e-12)


def _gap_case() -> tuple[ConstituentFlows, Holdings]:
    """1 ETF, 2 stocks (50/50), 3 days: both present, both absent, one absent.

    Day 1: A has net buying but a NaN market cap (absent for ``bp``), B has a market cap but
    NaN net buying (absent for every method). Day 2: B absent again.
    """
    dates = pd.bdate_range("2024-01-02", periods=3)
    nb = np.array([[[1e9], [1e9]], [[3e9], [np.nan]], [[1e9], [np.nan]]])
    cap = np.array([[1e12, 1e12], [np.nan, 1e12], [1e12, 1e12]])
    f = ConstituentFlows(dates, ["A", "B"], ("foreign",), nb, cap, np.ones((3, 2)))
    h = Holdings(pd.DataFrame({"etf": "X", "effective_date": dates[0], "stock": ["A", "B"],
                               "weight": [0.5, 0.5]}))
    return f, h


@pytest.mark.parametrize("layout", ["by_etf", "by_stock"])
def test_day_without_any_constituent_is_nan_and_counted(layout):
    """The reviewer's repro: it used to give [10, 0, 5] bp and cumulative [10, 10, 15]."""
    f, h = _gap_case()
    q = DataQuality()
    out, cov = synthesize_flows(f, h, return_coverage=True, layout=layout, quality=q)
    daily = out[("X", "foreign")].to_numpy()
    # day 0: 1e4 * (0.5 * 1e9/1e12 + 0.5 * 1e9/1e12) = 10 bp; day 2: only A, not
    # renormalized: 1e4 * 0.5 * 1e9/1e12 = 5 bp (renormalizing would give 10)
    np.testing.assert_allclose(daily, [10.0, np.nan, 5.0], rtol=1e-12)
    np.testing.assert_allclose(cov["X"].to_numpy(), [1.0, 0.0, 0.5], rtol=0, atol=1e-15)
    cum = synthesize_flows(f, h, cumulative=True, layout=layout)[("X", "foreign")]
    np.testing.assert_allclose(cum.to_numpy(), [10.0, np.nan, 15.0], rtol=1e-12)
    assert out.attrs["uncovered_etf_days"] == 1
    assert out.attrs["absent_etf_days"] == 1
    np.testing.assert_allclose(out.attrs["absent_weight_days"], 0.5, rtol=1e-12)
    assert q.count("set NaN", "ETF-days with no constituent present") == 1
    assert q.count("treated as 0") == 1
    assert [i.source for i in q.items] == ["synthesize_flows", "synthesize_flows"]
    # the user-side renormalization the docstring points to
    np.testing.assert_allclose((out["X"]["foreign"] / cov["X"]).to_numpy(),
                               [10.0, np.nan, 10.0], rtol=1e-12)


def test_presence_depends_on_method():
    """For ``amount`` the market cap is not read: A (NaN cap, 3e9 net buying) is present on
    day 1, so that day is partly covered, not NaN."""
    f, h = _gap_case()
    out, cov = synthesize_flows(f, h, method="amount", return_coverage=True)
    np.testing.assert_allclose(out[("X", "foreign")].to_numpy(), [2e9, 3e9, 1e9], rtol=1e-12)
    np.testing.assert_allclose(cov["X"].to_numpy(), [1.0, 0.5, 0.5], rtol=0, atol=1e-15)
    assert out.attrs["uncovered_etf_days"] == 0
    assert out.attrs["absent_etf_days"] == 2


def test_full_coverage_records_nothing():
    dates = pd.bdate_range("2024-01-02", periods=2)
    f = ConstituentFlows(dates, ["A", "B"], ("foreign",), np.ones((2, 2, 1)) * 1e9,
                         np.full((2, 2), 1e12), np.ones((2, 2)))
    h = Holdings(pd.DataFrame({"etf": "X", "effective_date": dates[0], "stock": ["A", "B"],
                               "weight": [0.3, 0.7]}))
    q = DataQuality()
    out = synthesize_flows(f, h, quality=q)
    assert q.clean
    assert (out.attrs["absent_etf_days"], out.attrs["uncovered_etf_days"]) == (0, 0)
    assert out.attrs["absent_weight_days"] == 0.0


def test_weights_change_at_effective_date_with_lag():
    dates = pd.bdate_range("2024-01-01", periods=6)  # Mon..Mon
    nb = np.ones((6, 2, 1)) * np.array([1e9, -1e9])[None, :, None]
    cap = np.full((6, 2), 1e12)
    f = ConstituentFlows(dates, ["A", "B"], ("foreign",), nb, cap, np.ones((6, 2)))
    h = Holdings(pd.DataFrame({
        "etf": "X", "stock": ["A", "B", "A", "B"],
        "effective_date": [dates[0]] * 2 + [dates[2]] * 2, "weight": [1.0, 0.0, 0.0, 1.0]}))
    s0 = synthesize_flows(f, h)[("X", "foreign")].to_numpy()
    np.testing.assert_allclose(s0, [10, 10, -10, -10, -10, -10], rtol=1e-12)
    s1 = synthesize_flows(f, h, lag_days=1)[("X", "foreign")].to_numpy()  # usable Thu
    np.testing.assert_allclose(s1, [np.nan, 10, 10, -10, -10, -10], rtol=1e-12)


def test_unmatched_constituents_are_reported():
    flows, holdings = make_synthesis_case(seed=4)
    tab = holdings.table.copy()
    first = tab.iloc[0]
    extra = pd.DataFrame({"etf": [first["etf"]], "effective_date": [first["effective_date"]],
                          "stock": ["NOT_LISTED"], "weight": [0.0]})
    # move some weight to the unknown stock so the snapshot still sums to 1
    tab.loc[0, "weight"] -= 0.01
    extra["weight"] = 0.01
    h2 = Holdings(pd.concat([tab, extra]))
    q = DataQuality()
    with pytest.warns(UnmatchedConstituentsWarning, match="1 constituents of 1 ETFs"):
        out = synthesize_flows(flows, h2, quality=q)
    assert out.attrs["unmatched_constituents"] == {first["etf"]: ["NOT_LISTED"]}
    # the snapshot is used from its effective date until the ETF's next snapshot
    snaps = h2.snapshot_dates(first["etf"])
    nxt = snaps[snaps > first["effective_date"]]
    end = nxt[0] if len(nxt) else flows.dates[-1] + pd.Timedelta(days=1)
    n_days = int(((flows.dates >= first["effective_date"]) & (flows.dates < end)).sum())
    assert n_days > 0
    assert q.count("treated as 0", "constituent-days not in the flow panel") == n_days
    np.testing.assert_allclose(out.attrs["unmatched_weight_days"], 0.01 * n_days, rtol=1e-9)
    want = synthesize_oracle(flows, h2)
    pd.testing.assert_frame_equal(out, want, check_exact=False, rtol=1e-10, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert synthesize_flows(flows, holdings).attrs["unmatched_weight_days"] == 0.0


def test_shares_without_share_panel_is_a_data_error():
    flows, holdings = make_synthesis_case(seed=1)
    with pytest.raises(DataError, match="net_buy_shares"):
        synthesize_flows(flows, holdings, method="shares")
    with pytest.raises(ValueError):
        synthesize_flows(flows, holdings, method="value")


def test_output_is_a_view_and_input_not_mutated():
    flows, holdings = make_synthesis_case(seed=5)
    before = flows.net_buy.copy()
    out = synthesize_flows(flows, holdings)
    np.testing.assert_array_equal(flows.net_buy, before)
    assert out.shape == (len(flows.dates), len(holdings.etfs) * len(flows.investors))
    assert list(out.columns.names) == ["etf", "investor"]


def test_motivating_case_amount_says_buy_bp_says_sell():
    """Foreigners buy ~980 bn KRW of the mega-cap and sell tens of bn of each other stock.

    The ETF holds 10 stocks. The issue calls it "equal-weight" and also gives the mega-cap a
    7% weight; both cannot hold for 10 stocks (equal weight is 10%), so the mega-cap gets 7%
    and the nine others share the remaining 93% equally (10.33% each): close to equal weight
    and exactly the 7% of the story. Market caps are realistic for the day the story is told:
    the mega-cap (Samsung Electronics) about 480 trillion KRW, the others 5..50 trillion.

    The amount sum is dominated by the one 980 bn purchase (+710 bn in total: "strong
    buying"); normalized by each stock's market cap, the purchase is ~20 bp of Samsung (1.4 bp
    at its 7% weight) while the sales are 5..60 bp of the smaller stocks (about -20 bp at
    their weights), so the weighted bp sum is clearly negative (about -18 bp).
    """
    stocks = ["005930"] + [f"S{i}" for i in range(9)]
    caps_krw = np.array([480e12, 5e12, 8e12, 10e12, 15e12, 20e12, 25e12, 30e12, 40e12, 50e12])
    sells_krw = -np.array([30e9, 20e9, 25e9, 40e9, 35e9, 30e9, 45e9, 20e9, 30e9])
    nb = np.concatenate([[980e9], sells_krw])[None, :, None]  # (1 day, 10 stocks, foreign)
    f = ConstituentFlows(pd.DatetimeIndex(["2024-03-15"]), stocks, ("foreign",), nb,
                         caps_krw[None, :], np.ones((1, 10)))
    w = np.r_[0.07, np.full(9, 0.93 / 9)]
    h = Holdings(pd.DataFrame({"etf": "KOSPI10", "effective_date": "2024-03-01",
                               "stock": stocks, "weight": w}))
    amount = synthesize_flows(f, h, method="amount").iloc[0, 0]
    bp = synthesize_flows(f, h, method="bp").iloc[0, 0]
    np.testing.assert_allclose(amount, 980e9 + sells_krw.sum(), rtol=1e-12)
    assert amount > 500e9  # strong buying by amount
    want_bp = 1e4 * np.sum(w * nb[0, :, 0] / caps_krw)
    np.testing.assert_allclose(bp, want_bp, rtol=1e-12)
    assert bp < -5.0  # net selling of the portfolio, in bp
    # the mega-cap's own contribution, from the code: the same case with every other
    # stock's net buying zeroed (synthesis is linear in net buying)
    only_mega = nb.copy()
    only_mega[0, 1:, 0] = 0.0
    mega_bp = synthesize_flows(replace(f, net_buy=only_mega), h, method="bp").iloc[0, 0]
    np.testing.assert_allclose(mega_bp, 1.429, rtol=1e-3)  # 1e4 * 0.07 * 980e9 / 480e12
    assert abs(mega_bp) < abs(bp) / 10  # tiny next to the portfolio's -18 bp


def test_array_level_kernel_matches_pandas_with_zero_when_uncovered():
    """synthesize_arrays (the path the benchmark times) keeps 0 on ETF-days with no constituent
    present; the pandas way with the same policy agrees, and the wrapper differs from it only
    on exactly those days (NaN there)."""
    # few holdings and many absent stock-days, so that some ETF-days have no constituent
    a = make_synthesis_arrays(40, 60, 3, 5, seed=0, dtype="float64", min_holdings=3,
                              max_holdings=6, absent_frac=0.3)
    flows, holdings = a.flows(), a.holdings()
    arr = synthesize_arrays(a.net_buy, a.market_cap, a.csr, 5, Method.BP,
                            with_coverage=False)[0].reshape(40, -1)
    zero_policy = synthesize_oracle(flows, holdings, "bp", uncovered_nan=False).to_numpy()
    np.testing.assert_allclose(arr, zero_policy, rtol=1e-12, atol=1e-12, equal_nan=True)
    wrapper = synthesize_flows(flows, holdings, method="bp").to_numpy()
    uncovered = np.isnan(wrapper) & ~np.isnan(arr)
    assert uncovered.any()  # the generator leaves some ETF-days without constituents
    assert (arr[uncovered] == 0).all()
    np.testing.assert_allclose(wrapper[~uncovered], arr[~uncovered], rtol=1e-12, equal_nan=True)


def _same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert repr(got.attrs) == repr(want.attrs)


def test_cached_layout_gives_what_a_fresh_holdings_gives():
    """synthesize_flows reuses a Holdings' layout per (dates, stocks, etfs, lag_days): calls
    on other slices, ETF lists and lags must give exactly what a Holdings object that never
    laid itself out gives, also when coming back to an earlier panel."""
    import gc
    import weakref

    from engine.synthesis import _layout, clear_layout_cache

    flows, holdings = make_synthesis_case(seed=11)
    tab = holdings.table
    first_etfs = list(holdings.etfs[::-1][:2])
    calls = [
        (flows, {}),
        (flows.slice_dates(end=flows.dates[25]), {}),
        (flows, {}),  # back to the first panel (cached)
        (flows.slice_dates(start=flows.dates[7]), {"lag_days": 3}),
        (flows, {"etfs": first_etfs}),
        (flows, {"etfs": iter(first_etfs)}),  # a generator: read once
        (flows, {"etfs": [first_etfs[0]], "cumulative": True}),
        (flows, {"method": "amount", "lag_days": 3}),
        (flows.slice_dates(end=flows.dates[25]), {}),
    ]
    for f, kw in calls:
        fresh_kw = dict(kw, etfs=first_etfs) if "etfs" in kw and not isinstance(
            kw["etfs"], list) else kw
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, gcov = synthesize_flows(f, holdings, return_coverage=True, **kw)
            want, wcov = synthesize_flows(f, Holdings(tab), return_coverage=True, **fresh_kw)
        _same_frame(got, want)
        pd.testing.assert_frame_equal(gcov, wcov, check_exact=True)
    # the cache is hit (same object), cleared on request, and dies with its Holdings
    lay = _layout(holdings, flows.dates, flows.stocks, None, 0)
    assert _layout(holdings, flows.dates, flows.stocks, None, 0) is lay
    clear_layout_cache(holdings)
    assert _layout(holdings, flows.dates, flows.stocks, None, 0) is not lay
    ref = weakref.ref(holdings)
    del holdings, lay
    gc.collect()
    assert ref() is None


def test_coverage_gaps_kernel_matches_numpy_masks():
    """The one-pass kernel against the NumPy masks it replaced, bit for bit, with exact
    zeros, NaN coverage, days without a usable snapshot and values at the tolerance."""
    from engine.nb.synthesis_nb import coverage_gaps_nb, snapshot_weight_nb
    from engine.synthesis import _coverage_gaps

    rng = np.random.default_rng(2)
    T, E, S = 300, 7, 40
    snap_weight = rng.uniform(0.5, 1.0, S)
    active = rng.integers(-1, S, (T, E))
    full = np.append(snap_weight, np.nan)[active]
    coverage = full * rng.choice([0.0, 0.3, 1.0, np.nan, 0.999], (T, E))
    coverage[::17] = (full - 1e-12)[::17]  # at the tolerance: not short
    coverage[::19] = (full - 2e-12)[::19]  # just past it: short
    usable = active >= 0
    uncovered = usable & (coverage == 0.0)
    short = usable & (coverage > 0.0) & (coverage < full - 1e-12)
    got = _coverage_gaps(snap_weight, coverage, active)
    np.testing.assert_array_equal(got["uncovered"], uncovered)
    assert got["uncovered_etf_days"] == int(uncovered.sum()) > 0
    assert got["absent_etf_days"] == int(short.sum()) > 0
    assert got["absent_weight_days"] == float((full - coverage)[short].sum())
    assert coverage_gaps_nb(coverage, np.full_like(active, -1), snap_weight, 1e-12,
                            np.empty((T, E), bool), np.empty(T * E)) == (0, 0)
    # snapshot weights in the panel: np.bincount's sums, bit for bit (empty snapshots, -1)
    counts = rng.integers(0, 30, S)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    stock = rng.integers(-1, 50, indptr[-1])
    weight = rng.random(indptr[-1]) / 7
    snap = np.repeat(np.arange(S), counts)
    want = np.bincount(snap[stock >= 0], weight[stock >= 0], minlength=S)
    assert (counts == 0).any()
    stock32 = np.empty(len(stock), np.int32)
    got_w, n_missing = snapshot_weight_nb(indptr, stock, weight, stock32)
    np.testing.assert_array_equal(got_w, want)
    assert n_missing == int((stock < 0).sum()) > 0
    np.testing.assert_array_equal(stock32, stock)
    # int32 positions already (the layout's): the same sums, nothing written
    got32, n32 = snapshot_weight_nb(indptr, stock.astype(np.int32), weight,
                                    np.empty(0, np.int32))
    np.testing.assert_array_equal(got32, want)
    assert n32 == n_missing
