"""Signal evaluation against plain pandas / statsmodels, and ground truth on the synthetic market."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasets.synthetic import make_market
from engine.evaluation import evaluate_signal, forward_returns, newey_west_se


def _flow_signal(strength, n_days=600, n_stocks=200, seed=3):
    m = make_market(n_days, n_stocks, 0, seed=seed, signal_strength=strength,
                    signal_horizon_days=10)
    f = m.flows
    k = [f.investors.index("foreign"), f.investors.index("pension")]
    sig = pd.DataFrame(1e4 * f.net_buy[:, :, k].sum(2) / f.market_cap, index=f.dates,
                       columns=f.stocks)
    return sig, f.frame("close")


@pytest.fixture(scope="module")
def small():
    return _flow_signal(0.1, n_days=120, n_stocks=40, seed=5)


def test_forward_returns_start_after_the_publication_lag():
    p = pd.DataFrame({"A": [100.0, 110.0, 99.0, 120.0, 60.0]})
    np.testing.assert_allclose(forward_returns(p, 2, lag_bars=1)["A"].to_numpy()[:2],
                               [120 / 110 - 1, 60 / 99 - 1], rtol=0, atol=1e-15)
    assert forward_returns(p, 2, lag_bars=1)["A"].iloc[2:].isna().all()


def test_ic_and_quantiles_equal_plain_pandas(small):
    sig, px = small
    got = evaluate_signal(sig, px, horizons=(1, 5), quantiles=4).set_index("horizon")
    for h in (1, 5):
        fwd = px.shift(-(1 + h)) / px.shift(-1) - 1
        rank, pear, qmeans = [], [], []
        for d in sig.index:
            a, b = sig.loc[d], fwd.loc[d]
            ok = a.notna() & b.notna()
            if ok.sum() < 3:
                continue
            rank.append(a[ok].corr(b[ok], method="spearman"))
            pear.append(a[ok].corr(b[ok]))
            q = np.ceil(a[ok].rank(pct=True) * 4).clip(upper=4)
            qmeans.append(b[ok].groupby(q).mean().reindex([1.0, 2.0, 3.0, 4.0]))
        np.testing.assert_allclose(got.loc[h, "rank_ic"], np.mean(rank), rtol=1e-12)
        np.testing.assert_allclose(got.loc[h, "pearson_ic"], np.mean(pear), rtol=1e-12)
        qm = pd.concat(qmeans, axis=1).mean(axis=1)
        np.testing.assert_allclose(got.loc[h, ["q1", "q2", "q3", "q4"]].to_numpy(float),
                                   qm.to_numpy(), rtol=1e-12)
        assert got.loc[h, "n"] == len(rank)


@pytest.mark.parametrize("lags", [0, 1, 5, 20])
def test_newey_west_equals_statsmodels_hac(lags):
    sm = pytest.importorskip("statsmodels.api")
    x = np.random.default_rng(lags).standard_normal(300).cumsum() * 0.01 + 0.3
    fit = sm.OLS(x, np.ones_like(x)).fit(cov_type="HAC",
                                         cov_kwds={"maxlags": lags, "use_correction": False})
    np.testing.assert_allclose(newey_west_se(x, lags), fit.bse[0], rtol=1e-10)


def test_a_leak_of_the_next_return_is_invisible_after_the_lag():
    rng = np.random.default_rng(0)
    px = pd.DataFrame(np.exp(rng.standard_normal((300, 30)).cumsum(0) * 0.01))
    nxt = px.shift(-1) / px - 1  # the return from t to t+1: not tradable on a signal of t
    lag0 = evaluate_signal(nxt, px, horizons=(1,), lag_bars=0)
    lag1 = evaluate_signal(nxt, px, horizons=(1,), lag_bars=1)
    np.testing.assert_allclose(lag0["rank_ic"].iloc[0], 1.0, rtol=1e-12)
    assert abs(lag1["rank_ic_t"].iloc[0]) < 3


def test_null_market_ic_is_within_three_standard_errors_of_zero():
    sig, px = _flow_signal(0.0)
    r = evaluate_signal(sig, px)
    se = r["rank_ic"] / r["rank_ic_t"]
    assert (r["rank_ic"].abs() < 3 * se.abs()).all(), r
    assert (r["pearson_ic_t"].abs() < 3).all(), r


def test_planted_signal_is_found():
    sig, px = _flow_signal(0.1)
    r = evaluate_signal(sig, px).set_index("horizon")
    assert r.loc[5, "rank_ic_t"] > 3 and r.loc[20, "rank_ic_t"] > 3, r
    assert r.loc[5, "top_minus_bottom"] > 0
    d = r.attrs["decay"].set_index("lag")["rank_ic"]
    assert d.loc[0] > d.loc[20]  # the edge decays with the signal's age


def test_time_series_mode_on_two_assets():
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2020-01-01", periods=400)
    ret = pd.DataFrame(rng.standard_normal((400, 2)) * 0.01, index=idx, columns=["A", "B"])
    px = (1 + ret).cumprod()
    sig = ret.shift(-2)  # known at t, predicts the return t+1 -> t+2 (after the lag)
    r = evaluate_signal(sig, px, horizons=(1,))
    assert r.attrs["mode"] == "time_series" and list(r["asset"]) == ["A", "B"]
    x, y = sig["A"], (px.shift(-2) / px.shift(-1) - 1)["A"]
    ok = x.notna() & y.notna()
    np.testing.assert_allclose(r.set_index("asset").loc["A", "rank_ic"],
                               x[ok].corr(y[ok], method="spearman"),
                               rtol=1e-12)
