"""Shocks: OLS betas against statsmodels, and a hand-computed two-asset propagation equals the
shock result of `flowbt stress`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from datasets import load_us_etf_adjclose
from engine.app.config import load_config
from engine.app.runner import prepare
from engine.app.stress import _columns, _sim
from engine.app.stress_config import validate_stress
from engine.app.stress_paths import variant_params
from engine.app.stress_sections import return_sample, run_shocks
from engine.stress.shocks import ols_betas, portfolio_move, propagate


def test_ols_betas_match_statsmodels():
    px = load_us_etf_adjclose()[["VOO", "XLK", "XLP", "IWM"]].loc["2019":"2021"]
    r = px.pct_change(fill_method=None).iloc[1:]
    got = ols_betas(r[["XLP", "IWM"]], r[["VOO", "XLK"]])
    for a in ("XLP", "IWM"):
        fit = sm.OLS(r[a], sm.add_constant(r[["VOO", "XLK"]])).fit()
        np.testing.assert_allclose(got.loc[a, ["alpha", "beta_VOO", "beta_XLK"]].to_numpy(
            np.float64), fit.params.to_numpy(), rtol=1e-10)
        np.testing.assert_allclose(got.loc[a, ["se_VOO", "se_XLK"]].to_numpy(np.float64),
                                   fit.bse.to_numpy()[1:], rtol=1e-10)
        assert got.loc[a, "r2"] == pytest.approx(fit.rsquared, rel=1e-10)


def _two_asset_config(tmp_path):
    f = tmp_path / "two.toml"
    f.write_text('''
name = "two"
[data]
source = "us_etf"
start = "2015-01-02"
end = "2019-12-31"
[simulation]
fee_rate = 0.0
slippage_rate = 0.0
init_cash = 1000.0
benchmarks = ["VOO"]
[strategy]
kind = "core_satellite"
rebalance = "none"
[strategy.sleeves.a]
XLP = 0.6
[strategy.sleeves.b]
XLK = 0.4
[stress]
seed = 5
sections = ["shocks"]
[stress.montecarlo]
history_start = "2015-01-02"
[[stress.shocks]]
name = "voo_down_7"
factor = "VOO"
move = -0.07
lookback_days = 500
horizon_days = 30
n_paths = 50
''')
    return load_config(f)


def test_hand_computed_two_asset_propagation_equals_the_shock_result(tmp_path):
    cfg = _two_asset_config(tmp_path)
    px = load_us_etf_adjclose()[["VOO", "XLP", "XLK"]].loc["2015-01-02":"2019-12-31"]
    r = px.pct_change(fill_method=None).iloc[-500:]
    b_xlp = np.polyfit(r["VOO"], r["XLP"], 1)[0]  # the slope of a straight-line fit
    b_xlk = np.polyfit(r["VOO"], r["XLK"], 1)[0]
    hand = 0.6 * b_xlp * -0.07 + 0.4 * b_xlk * -0.07
    variants = variant_params(cfg)
    cols = _columns(variants)
    sc = validate_stress(cfg.stress)
    prep = prepare(cfg)
    rets, block, _ = return_sample(prep.market.prices[cols], sc.montecarlo)
    table, betas = run_shocks(cfg, sc, prep, variants, cols, _sim(cfg), rets, block)
    row = table[table["variant"] == "two"].iloc[0]
    assert row["immediate_return"] == pytest.approx(hand, rel=1e-9)
    voo = table[table["variant"] == "VOO"].iloc[0]
    assert voo["immediate_return"] == pytest.approx(-0.07, rel=1e-12)
    b = betas.set_index("asset")
    assert b.loc["XLP", "beta"] == pytest.approx(b_xlp, rel=1e-9)
    assert b.loc["VOO", "beta"] == pytest.approx(1.0, rel=1e-12)


def test_shock_is_prefix_invariant(tmp_path):
    """Data after the as-of date changes neither the betas nor the shock."""
    cfg = _two_asset_config(tmp_path)
    sc = validate_stress({**cfg.stress, "shocks": [{**cfg.stress["shocks"][0],
                                                     "as_of": "2018-06-29"}]})
    out = []
    for end in ("2018-06-29", "2019-12-31"):
        c = load_config(cfg.file, overrides={"data.end": end})
        variants = variant_params(c)
        cols = _columns(variants)
        prep = prepare(c)
        rets = prep.market.prices[cols].loc["2015-01-02":"2018-06-29"].pct_change(
            fill_method=None).iloc[1:]
        out.append(run_shocks(c, sc, prep, variants, cols, _sim(c), rets, 10.0))
    pd.testing.assert_frame_equal(out[0][1], out[1][1])
    pd.testing.assert_frame_equal(out[0][0], out[1][0])


def test_propagate_and_portfolio_move():
    betas = pd.DataFrame({"beta_m": [1.5, 0.2], "beta_s": [0.1, -1.0]}, index=["A", "B"])
    mv = propagate(betas, {"m": -0.1, "s": 0.02})
    np.testing.assert_allclose(mv.to_numpy(), [1.5 * -0.1 + 0.1 * 0.02, 0.2 * -0.1 - 0.02])
    w = pd.Series({"A": 0.3, "B": 0.7})
    assert portfolio_move(w, mv) == pytest.approx(0.3 * mv["A"] + 0.7 * mv["B"])
    with pytest.raises(KeyError):
        portfolio_move(pd.Series({"C": 1.0}), mv)
    with pytest.raises(KeyError, match="no beta"):
        propagate(betas, {"z": 0.1})
