"""Replication by sampling (engine.tracking) against an independent share-count computation.

The oracle below holds *shares*: at the close a snapshot becomes usable it spends the
portfolio's current value on the chosen stocks at their weights (top N by weight, renormalized)
and then values the shares at each close; returns are ``value.pct_change()``. The
implementation uses relative prices and weights; the two meet only if both are right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataQuality
from engine.market import Holdings
from engine.tracking import replication_returns, replication_tracking, tracking_error

DATES = pd.bdate_range("2024-01-01", periods=8)
PRICES = pd.DataFrame({
    "a": [10.0, 10.5, 10.2, 11.0, 11.3, 10.9, 11.5, 12.0],
    "b": [20.0, 19.0, 19.5, 18.0, 18.5, 19.2, 19.0, 18.7],
    "c": [5.0, 5.1, 5.3, 5.2, 5.0, 4.9, 5.4, 5.6],
    "d": [8.0, 8.2, 8.1, 8.3, 8.6, 8.4, 8.2, 8.0],
}, index=DATES)
# two snapshots: the second (effective on the 4th session) reorders the weights
HOLD = Holdings(pd.DataFrame({
    "etf": "E",
    "effective_date": [DATES[0]] * 4 + [DATES[3]] * 4,
    "stock": ["a", "b", "c", "d"] * 2,
    "weight": [0.4, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.4],
}))


def _oracle(prices: pd.DataFrame, snapshots: list[tuple[pd.Timestamp, dict]], n: int | None):
    """Share-count portfolio: rebuilt at the close of each snapshot's date, NaN before."""
    value = pd.Series(np.nan, index=prices.index)
    shares = None
    snaps = dict(snapshots)
    for t in prices.index:
        if shares is not None:
            value[t] = sum(shares[s] * prices.at[t, s] for s in shares)
        if t in snaps:
            w = pd.Series(snaps[t]).sort_index().sort_values(ascending=False, kind="stable")
            w = w.iloc[:n] if n is not None else w
            w = w / w.sum()
            v = value[t] if shares is not None else 1.0
            shares = {s: v * w[s] / prices.at[t, s] for s in w.index}
            value[t] = v
    return value.pct_change(fill_method=None)


SNAPS = [(DATES[0], {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}),
         (DATES[3], {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4})]


@pytest.mark.parametrize("n", [None, 1, 2, 3, 4])
def test_returns_match_a_share_count_portfolio(n):
    got = replication_returns(HOLD, PRICES, "E", n)["return"]
    want = _oracle(PRICES, SNAPS, n)
    assert got.iloc[0] != got.iloc[0]  # NaN: the portfolio is bought at the first close
    np.testing.assert_allclose(got.to_numpy()[1:], want.to_numpy()[1:], rtol=0, atol=1e-14)


def test_lag_days_delays_the_rebalance():
    # with a 1-day lag each snapshot is usable (bought) one session later
    got = replication_returns(HOLD, PRICES, "E", 2, lag_days=1)["return"]
    want = _oracle(PRICES, [(DATES[1], SNAPS[0][1]), (DATES[4], SNAPS[1][1])], 2)
    assert got.iloc[:2].isna().all()
    np.testing.assert_allclose(got.to_numpy()[2:], want.to_numpy()[2:], atol=1e-14)


def test_sampled_minus_full_and_the_annualized_error():
    res = replication_tracking(HOLD, PRICES, [2])
    td = _oracle(PRICES, SNAPS, 2) - _oracle(PRICES, SNAPS, None)
    np.testing.assert_allclose(res.daily["tracking_difference"].to_numpy()[1:],
                               td.to_numpy()[1:], atol=1e-14)
    # numpy's own sample std, 252 sessions a year
    want_te = np.std(td.dropna().to_numpy(), ddof=1) * np.sqrt(252)
    row = res.summary.iloc[0]
    assert row["tracking_error"] == pytest.approx(want_te, rel=1e-12)
    assert row["sessions"] == 7
    assert row["n_constituents"] == 4
    # the top two carry 0.7 of the first snapshot's weight (3 sessions), 0.7 of the second's (4)
    assert row["weight_held"] == pytest.approx(0.7)
    assert tracking_error(td) == pytest.approx(want_te, rel=1e-12)


def test_n_at_least_all_constituents_is_full_replication_exactly():
    res = replication_tracking(HOLD, PRICES, [4, 10])
    assert (res.daily["tracking_difference"].dropna() == 0.0).all()
    assert (res.summary["tracking_error"] == 0.0).all()
    assert (res.summary["tracking_difference_total"] == 0.0).all()


def test_prefix_invariance():
    full = replication_tracking(HOLD, PRICES, [2]).daily
    for k in range(2, len(DATES)):
        part = replication_tracking(HOLD, PRICES.iloc[:k], [2]).daily
        pd.testing.assert_frame_equal(part, full.iloc[:k].reset_index(drop=True))


def test_a_missing_price_of_a_held_stock_is_nan_and_counted():
    p = PRICES.copy()
    p.loc[DATES[5], "a"] = np.nan
    q = DataQuality()
    r = replication_returns(HOLD, p, "E", None, quality=q)["return"]
    assert r.iloc[5] != r.iloc[5] and r.iloc[6] != r.iloc[6]  # both returns touching it
    assert np.isfinite(r.iloc[[1, 2, 3, 4, 7]]).all()
    assert [i.count for i in q.items] == [2]
    # top 3 of the second snapshot leaves "a" (weight 0.1) out: unaffected
    r3 = replication_returns(HOLD, p, "E", 3)["return"]
    assert np.isfinite(r3.iloc[5]) and np.isfinite(r3.iloc[6])


def test_a_constituent_absent_from_the_prices_is_never_dropped():
    r = replication_returns(HOLD, PRICES.drop(columns="d"), "E", None)["return"]
    assert r.iloc[1:].isna().all()
    # the top 3 of the first snapshot don't need "d"
    r3 = replication_returns(HOLD, PRICES.drop(columns="d"), "E", 3)["return"]
    assert r3.iloc[1:4].notna().all() and r3.iloc[4:].isna().all()


def test_bad_sample_sizes_are_refused():
    with pytest.raises(ValueError):
        replication_tracking(HOLD, PRICES, [0])
    with pytest.raises(ValueError):
        replication_returns(HOLD, PRICES, "E", 0)
