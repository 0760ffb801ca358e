"""Dollar-cost averaging (engine.contributions): the scale-invariance method is exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.contributions import (
    align_contributions,
    contribution_schedule,
    dca,
    equity_with_contributions,
    money_weighted_return,
    time_weighted_return,
)
from engine.errors import DataError


def _account(prices: np.ndarray, targets: np.ndarray, fee_rate: float,
             deposits: np.ndarray, init_cash: float) -> np.ndarray:
    """Independent oracle: ONE account with cash deposits, rebalanced with proportional fees.

    Starts fully in the cash asset (last column). Row t of ``targets`` (NaN row = no trade) is
    executed at the close of t + 1; a deposit at the close of t is spread over the current
    holdings pro rata (after that bar's trades).
    """
    T, A = prices.shape
    units = np.zeros(A)
    units[-1] = init_cash / prices[0, -1]
    eq = np.zeros(T)
    for t in range(T):
        p = prices[t]
        value = units @ p
        if t >= 1 and not np.isnan(targets[t - 1]).any():
            w = targets[t - 1]
            after = value
            for _ in range(200):  # fixed point: fees are paid out of the traded portfolio
                after = value - fee_rate * np.abs(w * after - units * p).sum()
            units = w * after / p
            value = after
        if deposits[t]:
            if value > 0:
                units = units * (1.0 + deposits[t] / value)
            else:
                units[-1] = deposits[t] / p[-1]
            value = units @ p
        eq[t] = value
    return eq


@pytest.fixture
def market():
    rng = np.random.default_rng(3)
    T, A = 260, 4
    dates = pd.bdate_range("2022-01-03", periods=T)
    px = np.exp(np.cumsum(rng.normal(0.0003, 0.015, (T, A)), axis=0)) * 50
    px[:, -1] = np.cumprod(np.full(T, 1.0001))  # cash asset
    targets = np.full((T, A), np.nan)
    for t in range(0, T, 10):
        w = rng.dirichlet(np.ones(A))
        targets[t] = w
    return dates, px, targets


def test_cohort_method_equals_a_single_account_with_deposits(market):
    dates, px, targets = market
    fee = 0.002
    unit = _account(px, targets, fee, np.zeros(len(dates)), 1.0)
    contrib = contribution_schedule(dates, 500.0, freq="M", initial=10_000.0)
    deposits = align_contributions(contrib, dates).to_numpy()
    oracle = _account(px, targets, fee, deposits, 0.0)
    got = equity_with_contributions(pd.Series(unit, index=dates), contrib)
    np.testing.assert_allclose(got.to_numpy(), oracle, rtol=1e-9, atol=1e-9)
    # the fees matter here: without them the final value would differ
    no_fee = _account(px, targets, 0.0, deposits, 0.0)
    assert abs(no_fee[-1] - oracle[-1]) > 1.0


def test_dataframe_of_variants_matches_columnwise(market):
    dates, px, _ = market
    R = pd.DataFrame({"a": px[:, 0] / px[0, 0], "b": px[:, 1] / px[0, 1]}, index=dates)
    c = contribution_schedule(dates, 100.0, freq="W")
    got = equity_with_contributions(R, c)
    for col in R:
        pd.testing.assert_series_equal(got[col], equity_with_contributions(R[col], c),
                                       check_names=False, rtol=1e-12)


def test_buy_and_hold_cohorts_by_hand():
    d = pd.bdate_range("2024-01-01", periods=4)
    R = pd.Series([2.0, 4.0, 3.0, 6.0], index=d)
    c = pd.Series([10.0, 20.0], index=[d[0], d[2]])
    # cohort 1: 10 * R/2 ; cohort 2 from d[2]: 20 * R/3
    want = [10.0, 20.0, 15.0 + 20.0, 30.0 + 40.0]
    np.testing.assert_allclose(equity_with_contributions(R, c).to_numpy(), want, rtol=1e-12)


def test_weekend_contribution_moves_to_next_session():
    d = pd.bdate_range("2024-01-05", periods=3)  # Fri, Mon, Tue
    c = pd.Series([1.0, 2.0], index=pd.to_datetime(["2024-01-06", "2024-01-08"]))
    np.testing.assert_allclose(align_contributions(c, d).to_numpy(), [0.0, 3.0, 0.0])
    with pytest.raises(DataError, match="after the last session"):
        align_contributions(pd.Series([1.0], index=pd.to_datetime(["2024-02-01"])), d)


def test_constant_growth_gives_equal_money_and_time_weighted_returns():
    dates = pd.bdate_range("2015-01-01", "2020-12-31")
    years = (dates - dates[0]).days / 365.25
    R = pd.Series(1.07 ** np.asarray(years), index=dates)
    res = dca(R, contribution_schedule(dates, 1000.0, freq="M"))
    np.testing.assert_allclose(res.money_weighted_return, 0.07, atol=1e-9)
    np.testing.assert_allclose(res.time_weighted_return, 0.07, atol=1e-9)
    assert res.invested.iloc[-1] == 1000.0 * 72
    assert res.equity.iloc[-1] > res.invested.iloc[-1]


def test_money_weighted_differs_from_time_weighted_when_timing_matters():
    d = pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"])
    R = pd.Series([1.0, 2.0, 1.0], index=d)  # +100 % then -50 %: TWR 0
    c = pd.Series([100.0, 100.0], index=d[:2])  # the second lump buys the top
    res = dca(R, c)
    assert res.equity.iloc[-1] == pytest.approx(150.0)
    np.testing.assert_allclose(res.time_weighted_return, 0.0, atol=1e-12)
    assert res.money_weighted_return < -0.1
    # hand check of the IRR root: 100 (1+r)^2 + 100 (1+r) = 150
    r = res.money_weighted_return
    years = (d[2] - d[:2]).days / 365.25
    np.testing.assert_allclose(100 * (1 + r) ** years[0] + 100 * (1 + r) ** years[1], 150.0,
                               rtol=1e-9)
    assert np.isnan(money_weighted_return(pd.Series(dtype=float), 1.0, d[-1]))
    assert np.isnan(time_weighted_return(R.iloc[:1]))  # one date: no period to annualize
    np.testing.assert_allclose(time_weighted_return(R.iloc[:2]), 2.0 ** (365.25 / 366) - 1,
                               rtol=1e-12)  # +100 % over the 366 days of 2020


def test_schedule_monthly_first_sessions():
    d = pd.bdate_range("2024-01-01", "2024-06-30")
    s = contribution_schedule(d, 50.0, freq="M", start="2024-02-15")
    assert list(s.index.strftime("%Y-%m-%d")) == ["2024-02-15", "2024-03-01", "2024-04-01",
                                                  "2024-05-01", "2024-06-03"]
    assert (s == 50.0).all()


def test_with_the_simulator(market):
    """End to end with engine.simulation.simulate as the unit portfolio."""
    from engine.simulation import simulate

    dates, px, targets = market
    # simulate starts in vectorbt cash, which earns nothing, until the first trade at bar 1;
    # the oracle starts in the cash column. A cash asset flat over that first step makes
    # the two starts the same money.
    px = px.copy()
    px[1:, -1] = px[:-1, -1].copy()
    cols = ["A", "B", "C", "CASH"]
    prices = pd.DataFrame(px, index=dates, columns=cols)
    w = pd.DataFrame(targets, index=dates, columns=cols)
    # No fees: flowbt charges none on CASH while the oracle account would, so only the
    # fee-free case has one exact answer on both sides (fees are pinned by the cohort test).
    sim = simulate(prices, {"s": w}, init_cash=1.0)
    R = sim.equity["s"]
    c = contribution_schedule(dates, 100.0, freq="M")
    res = dca(R, c)
    # Independent: ONE account that receives each deposit in cash and trades the same targets.
    deposits = align_contributions(c, dates).to_numpy()
    oracle = _account(px, targets, 0.0, deposits, 0.0)
    np.testing.assert_allclose(res.equity.to_numpy(), oracle, rtol=1e-9, atol=1e-9)
    assert oracle[-1] != pytest.approx(deposits.sum(), rel=1e-3)  # the money moved
    r = res.money_weighted_return
    years = (dates[-1] - c.index).days / 365.25
    np.testing.assert_allclose((c.to_numpy() * (1 + r) ** np.asarray(years)).sum(), oracle[-1],
                               rtol=1e-9)
