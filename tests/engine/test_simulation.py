"""engine.simulation: next-bar execution, fees, CASH accrual, missing prices, chunking, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import datasets
from engine.errors import DataError
from engine.market import CASH
from engine.metrics import information_ratio, tracking_error
from engine.prices import with_cash
from engine.simulation import simulate

DATES = pd.bdate_range("2024-01-01", periods=6)
PX = with_cash(pd.DataFrame({"A": [10.0, 11, 12, 11, 13, 14], "B": [5.0, 5, 5.5, 6, 6, 5.5]},
                            index=DATES), 5.0)


def frame(rows: dict, index) -> pd.DataFrame:
    return pd.DataFrame(rows, index=pd.DatetimeIndex(index))


def test_decision_at_t_trades_at_the_next_close():
    w = frame({"A": [1.0], "B": [0.0], CASH: [0.0]}, [DATES[1]])
    res = simulate(PX, {"v": w}, init_cash=100.0)
    o = res.orders
    assert o["date"].tolist() == [DATES[2]] and o["asset"].tolist() == ["A"]
    np.testing.assert_allclose(o["price"], [12.0])
    # Flat until the trade, then A's moves from the execution close on.
    np.testing.assert_allclose(res.equity["v"], [100, 100, 100, 100 * 11 / 12, 100 * 13 / 12,
                                                 100 * 14 / 12], rtol=1e-12)
    lag0 = simulate(PX, {"v": w}, init_cash=100.0, execution_lag_bars=0)
    assert lag0.orders["date"].tolist() == [DATES[1]]


def test_fees_and_slippage_are_charged_on_etfs_not_on_cash():
    w = frame({"A": [0.5], CASH: [0.5]}, [DATES[0]])
    res = simulate(PX, {"v": w}, init_cash=1000.0, fee_rate=0.01, slippage_rate=0.002)
    o = res.orders.set_index("asset")
    assert o.loc[CASH, "fees"] == 0.0
    assert o.loc[CASH, "price"] == pytest.approx(PX[CASH].iloc[1])
    assert o.loc["A", "price"] == pytest.approx(11 * 1.002)
    assert o.loc["A", "fees"] == pytest.approx(0.01 * o.loc["A", "value"])
    slip = (11 * 1.002 - 11) * o.loc["A", "size"]
    assert res.fees["v"] == pytest.approx(o.loc["A", "fees"] + slip)
    free = simulate(PX, {"v": w}, init_cash=1000.0)
    assert res.equity["v"].iloc[-1] < free.equity["v"].iloc[-1]


def test_cash_accrues_the_short_rate():
    w = frame({CASH: [1.0]}, [DATES[0]])
    res = simulate(PX, {"cash": w}, init_cash=1.0)
    np.testing.assert_allclose(res.equity["cash"].iloc[1:], PX[CASH].iloc[1:] / PX[CASH].iloc[1],
                               rtol=1e-12)
    assert res.equity["cash"].iloc[-1] > 1.0


def test_missing_price_where_held_is_an_error_not_a_skip():
    px = PX.copy()
    px.loc[DATES[4], "B"] = np.nan
    held = frame({"A": [0.5], "B": [0.5], CASH: [0.0]}, [DATES[0]])
    with pytest.raises(DataError, match=r"holds B on 2024-01-05"):
        simulate(px, {"v": held})
    # Selling on the bar whose price is missing is an error too (the sale needs a price).
    sold = frame({"A": [0.5, 1.0], "B": [0.5, 0.0], CASH: [0.0, 0.0]}, [DATES[0], DATES[3]])
    with pytest.raises(DataError, match=r"holds B on 2024-01-05"):
        simulate(px, {"v": sold})
    # Not held: the NaN is harmless.
    ok = simulate(px, {"v": frame({"A": [1.0], "B": [0.0], CASH: [0.0]}, [DATES[0]])})
    assert np.isfinite(ok.equity["v"]).all()
    with pytest.raises(DataError, match="not a date of the prices"):
        simulate(PX, {"v": frame({"A": [1.0], CASH: [0.0]}, ["2024-01-06"])})
    with pytest.raises(DataError, match="no prices for assets"):
        simulate(PX, {"v": frame({"Z": [1.0], CASH: [0.0]}, [DATES[0]])})


def test_last_decision_without_a_next_bar_is_counted_unexecuted():
    w = frame({"A": [1.0, 0.0], CASH: [0.0, 1.0]}, [DATES[0], DATES[-1]])
    res = simulate(PX, {"v": w})
    assert res.unexecuted == {"v": 1}
    assert len(res.orders) == 1


@pytest.fixture(scope="module")
def real():
    prices = datasets.load_us_market(start="2015-01-02", end="2016-12-30").prices
    idx = prices.index
    monthly = idx[np.r_[True, idx.month[1:] != idx.month[:-1]]]
    rng = np.random.default_rng(7)
    variants = {}
    for k in range(5):
        raw = rng.random((len(monthly), 4))
        w = pd.DataFrame(raw / raw.sum(axis=1, keepdims=True), index=monthly,
                         columns=["VOO", "RSP", "XLK", CASH])
        variants[f"v{k}"] = w
    variants["VOO"] = frame({"VOO": [1.0], CASH: [0.0]}, idx[:1])
    return prices, variants


def test_chunked_and_one_call_agree(real):
    prices, variants = real
    one = simulate(prices, variants, fee_rate=5e-4, slippage_rate=5e-4, benchmarks=["VOO"])
    chunked = simulate(prices, variants, fee_rate=5e-4, slippage_rate=5e-4, benchmarks=["VOO"],
                       chunk_variants=2, keep_weights=False, keep_orders=False)
    pd.testing.assert_frame_equal(one.equity, chunked.equity, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(one.metrics, chunked.metrics, rtol=1e-10, atol=1e-14)
    assert one.portfolio is not None and chunked.portfolio is None
    # Each variant alone gives the same equity (groups do not interact).
    alone = simulate(prices, {"v3": variants["v3"]}, fee_rate=5e-4, slippage_rate=5e-4)
    np.testing.assert_allclose(alone.equity["v3"], one.equity["v3"], rtol=1e-12)


def test_actual_weights_and_metrics(real):
    prices, variants = real
    res = simulate(prices, variants, benchmarks=["VOO"])
    w = res.weights["v0"]
    np.testing.assert_allclose(w.sum(axis=1).iloc[2:], 1.0, atol=1e-9)
    # Right after an execution bar the actual weights equal the decided targets.
    first_exec = prices.index[1]
    np.testing.assert_allclose(w.loc[first_exec, variants["v0"].columns],
                               variants["v0"].iloc[0], atol=1e-9)
    r = res.returns
    m = res.metrics
    te = (r["v1"] - r["VOO"]).iloc[1:].std(ddof=1) * np.sqrt(252)
    assert m.loc["v1", "tracking_error_vs_VOO"] == pytest.approx(te, rel=1e-12)
    ir = (r["v1"] - r["VOO"]).iloc[1:].mean() * 252 / te
    assert m.loc["v1", "information_ratio_vs_VOO"] == pytest.approx(ir, rel=1e-12)
    assert m.loc["VOO", "tracking_error_vs_VOO"] == 0.0
    assert np.isnan(m.loc["VOO", "information_ratio_vs_VOO"])
    sharpe = r["v2"].mean() / r["v2"].std(ddof=1) * np.sqrt(252)
    assert m.loc["v2", "sharpe_ratio"] == pytest.approx(sharpe, rel=1e-9)
    dd = (res.equity["v2"] / res.equity["v2"].cummax() - 1).min()
    assert m.loc["v2", "max_drawdown"] == pytest.approx(dd, rel=1e-9)
    assert m.loc["v2", "total_return"] == pytest.approx(
        res.equity["v2"].iloc[-1] / res.equity["v2"].iloc[0] - 1, rel=1e-12)
    pd.testing.assert_series_equal(res.tracking_error("VOO"),
                                   tracking_error(r, r["VOO"]), check_names=False)
    pd.testing.assert_series_equal(res.information_ratio("VOO"),
                                   information_ratio(r, r["VOO"]), check_names=False)


def test_turnover_of_a_full_switch():
    w = frame({"A": [1.0, 0.0], "B": [0.0, 1.0], CASH: [0.0, 0.0]}, [DATES[0], DATES[2]])
    res = simulate(PX, {"v": w}, init_cash=1.0)
    # Initial buy excluded; the switch trades 100 % out and 100 % in: (1 + 1) / 2 = 1 per
    # 6 bars, i.e. 252 / 6 per year.
    assert res.turnover["v"] == pytest.approx(1.0 * 252 / 6, rel=1e-9)


def test_expense_drag_on_index_levels():
    dates = pd.DatetimeIndex(["2024-01-01", "2024-07-01", "2025-01-01"])
    px = pd.DataFrame({"IDX": [100.0, 100.0, 100.0], CASH: 1.0}, index=dates)
    w = frame({"IDX": [1.0], CASH: [0.0]}, dates[:1])
    res = simulate(px, {"v": w}, execution_lag_bars=0, expense_ratio={"IDX": 0.01})
    assert res.equity["v"].iloc[-1] == pytest.approx(0.99 ** (366 / 365.25), rel=1e-12)


def test_group_value_equals_vectorbt(real):
    """Our array-level value equals Portfolio.value() / asset_value() (pins _group_value)."""
    prices, variants = real
    res = simulate(prices, variants, fee_rate=1e-3, slippage_rate=1e-3)
    pf = res.portfolio
    np.testing.assert_allclose(res.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-12)
    av = pf.asset_value(group_by=False)
    for v in ("v0", "v4"):
        np.testing.assert_allclose(res.weights[v].to_numpy(),
                                   av[v].to_numpy() / pf.value()[v].to_numpy()[:, None],
                                   rtol=1e-12, atol=1e-15)


def test_compressed_bars_equal_full_simulation(real):
    """Sweeps simulate only the bars with orders; results equal the full-axis simulation."""
    prices, variants = real
    kw = dict(fee_rate=1e-3, slippage_rate=2e-3, benchmarks=["VOO"])
    full = simulate(prices, variants, **kw)
    comp = simulate(prices, variants, keep_portfolio=False, **kw)
    assert full.portfolio is not None and comp.portfolio is None
    pd.testing.assert_frame_equal(comp.equity, full.equity, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(comp.metrics, full.metrics, rtol=1e-9, atol=1e-15)
    pd.testing.assert_frame_equal(comp.orders, full.orders, rtol=1e-12, atol=0)
    for v in variants:
        pd.testing.assert_frame_equal(comp.weights[v], full.weights[v], rtol=1e-12, atol=1e-15)
