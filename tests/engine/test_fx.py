"""KRW-based investor (engine.fx) against hand computations, and the bundled USD/KRW series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasets.fx_data import load_usdkrw
from engine.errors import DataError, DataQuality
from engine.fx import align_fx, krw_equity, krw_returns

D = pd.to_datetime(["2024-01-05", "2024-01-08", "2024-01-09"])  # Fri, Mon (3 days), Tue
E = pd.Series([100.0, 105.0, 99.75], index=D)  # +5 %, -5 %
X = pd.Series([1300.0, 1326.0, 1312.74], index=D)  # +2 %, -1 %


def test_unhedged_is_usd_equity_times_rate():
    got = krw_equity(E, X)
    np.testing.assert_allclose(got.to_numpy(), [130_000.0, 139_230.0, 130_945.815], rtol=1e-12)


def test_fully_hedged_by_hand_without_cost():
    # day 1: (1.05)(1.02) - 1 - 0.02 = 0.051 ; day 2: (0.95)(0.99) - 1 + 0.01 = -0.0495
    want = 130_000.0 * np.cumprod([1.0, 1.051, 1 - 0.0495])
    np.testing.assert_allclose(krw_equity(E, X, hedged=True).to_numpy(), want, rtol=1e-12)


def test_hedge_cost_uses_calendar_days():
    c = 3.0  # percent per year
    r = krw_returns(E, X, hedge_ratio=1.0, hedge_cost_pct_per_year=c)
    r0 = krw_returns(E, X, hedge_ratio=1.0)
    np.testing.assert_allclose((r0 - r).to_numpy(), [0.0, 0.03 * 3 / 365, 0.03 * 1 / 365],
                               rtol=1e-12, atol=1e-15)


def test_half_hedge_and_zero_hedge():
    r_half = krw_returns(E, X, hedge_ratio=0.5)
    np.testing.assert_allclose(r_half.iloc[1], 1.05 * 1.02 - 1 - 0.5 * 0.02, rtol=1e-12)
    hedged0 = krw_equity(E, X, hedged=True, hedge_ratio=0.0)
    np.testing.assert_allclose(hedged0.to_numpy(), krw_equity(E, X).to_numpy(), rtol=1e-12)


def test_dataframe_equity_and_fx_fill_counted():
    eq = pd.DataFrame({"a": E, "b": E * 2})
    fx = X.drop(D[1])  # the Monday rate is missing -> carried from Friday
    q = DataQuality()
    got = krw_equity(eq, fx, quality=q)
    np.testing.assert_allclose(got["b"].to_numpy(), 2 * E.to_numpy() * [1300, 1300, 1312.74])
    assert q.count(action="carried forward") == 1
    with pytest.raises(DataError, match="no USD/KRW rate"):
        align_fx(X, pd.to_datetime(["2024-01-04", "2024-01-05"]))
    with pytest.raises(ValueError, match="hedge_ratio"):
        krw_returns(E, X, hedge_ratio=1.5)


def test_bundled_usdkrw_is_krw_per_usd():
    fx = load_usdkrw()
    assert fx.index[0] == pd.Timestamp("1995-01-03")
    assert len(fx) > 7_000
    # KRW per USD: hundreds to ~two thousand (USD per KRW would be ~0.001)
    assert fx.between(700.0, 2100.0).all()
    # the 1997 crisis: the won lost more than 40 % against the dollar within 1997-1998
    y97 = fx.loc["1997-01-01":"1998-12-31"]
    assert y97.max() / y97.iloc[0] > 1.4
