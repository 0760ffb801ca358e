"""A USD/KRW shock for a KRW-based investor holding the (USD) reference portfolio: every USD
asset's KRW value moves with the rate one for one (beta 1 by construction)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.app.config import load_config
from engine.app.stress import run_stress
from tests.conftest import ROOT

CONFIG = ROOT / "examples" / "stress_core_satellite.toml"
SHOCK = {"name": "usdkrw_down_5pct", "factor": "USD/KRW", "move": -0.05, "horizon_days": 30,
         "n_paths": 40}


@pytest.fixture(scope="module")
def fx_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fx")
    cfg = load_config(CONFIG, overrides={"stress.sections": ["shocks"],
                                         "stress.shocks": [SHOCK]})
    run_stress(cfg, out)
    return cfg, pd.read_csv(out / "shocks.csv"), pd.read_csv(out / "shock_betas.csv")


def test_usdkrw_down_5pct_costs_every_variant_5pct_in_krw_on_the_day(fx_run):
    cfg, shocks, betas = fx_run
    assert set(shocks["variant"]) == {cfg.name, "VOO", "RSP", "static"}
    assert (shocks["currency"] == "KRW").all() and (shocks["factor"] == "USDKRW").all()
    # By hand: the USD prices do not move on the shock day, the KRW value is USD x rate, so
    # every portfolio (cash included) is worth 0.95 of the day before in KRW.
    np.testing.assert_allclose(shocks["immediate_return"], (1 + 0.0) * (1 - 0.05) - 1,
                               rtol=1e-12)
    assert (betas["beta"] == 1.0).all() and (betas["se"] == 0.0).all()
    assert set(betas["asset"]) >= {"VOO", "CASH"}
    assert betas["basis"].str.startswith("by construction").all()
    # No trigger is priced off the rate: none fires on the shock day.
    assert shocks["triggers_on_shock_day"].isna().all()


def test_krw_outcomes_are_usd_equity_times_the_rate_path():
    """mc_chunk(fx_column=...) against engine.fx.krw_equity on the same bootstrapped paths."""
    from engine.app.stress_paths import mc_chunk, path_dates, run_variants
    from engine.fx import krw_equity
    from engine.stress.montecarlo import bootstrap_paths
    from strategies.core_satellite import CoreSatelliteParams

    rng = np.random.default_rng(5)
    cols = ["VOO", "XLK", "CASH", "USDKRW"]
    rets = rng.normal(0.0003, 0.01, (400, 4))
    rets[:, 2] = 0.0001
    rets[:, 3] = rng.normal(0.0, 0.006, 400)
    start = np.array([400.0, 200.0, 1.0, 1380.0])
    variants = {"mix": CoreSatelliteParams(sleeves={"core": {"VOO": 0.6, "XLK": 0.3,
                                                             "CASH": 0.1}}, rebalance="monthly"),
                "VOO": CoreSatelliteParams(sleeves={"hold": {"VOO": 1.0}}, rebalance="none")}
    sim = dict(fee_rate=0.001, slippage_rate=0.0005, execution_lag_bars=1, init_cash=100_000.0)
    kw = dict(returns=rets, start_prices=start, columns=cols, last_date="2025-09-26",
              horizon=60, block_length=10.0, seed=11, variants=variants, sim=sim)
    got = mc_chunk(0, 8, **kw, fx_column=3, marks=(1, 30))
    px = bootstrap_paths(rets, start, range(8), 60, 10.0, 11)
    dates = path_dates(pd.Timestamp("2025-09-26"), 60)
    usd = run_variants(variants, px, cols, dates, sim)
    for v, (eq, _) in usd.items():
        sub = got[got["variant"] == v].reset_index(drop=True)
        for p in range(8):
            krw = krw_equity(pd.Series(eq[p], index=dates), pd.Series(px[p, :, 3], index=dates))
            krw = krw.to_numpy() / px[p, 0, 3]  # in day 0's USD
            assert sub.loc[p, "final_value"] == pytest.approx(krw[-1], rel=1e-12)
            assert sub.loc[p, "return_30d"] == pytest.approx(krw[30] / krw[0] - 1, rel=1e-12)
            dd = (krw / np.maximum.accumulate(krw) - 1).min()
            assert sub.loc[p, "max_drawdown"] == pytest.approx(dd, rel=1e-12, abs=1e-15)
