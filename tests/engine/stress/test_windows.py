"""Historical windows: COVID drawdown from the prices, prefix invariance, proxies, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datasets import load_us_etf_adjclose
from engine.app.config import load_config
from engine.app.stress_config import validate_stress
from engine.app.stress_sections import run_windows
from engine.errors import DataQuality
from engine.stress.windows import splice_proxy, window_table
from tests.conftest import ROOT

CONFIG = ROOT / "examples" / "stress_core_satellite.toml"
COVID = {"name": "covid", "start": "2020-02-19", "end": "2020-03-23"}


def _windows(windows, **over):
    cfg = load_config(CONFIG, overrides={"stress.windows": windows, **over})
    q = DataQuality()
    return run_windows(cfg, validate_stress(cfg.stress), q), q


def test_covid_buy_and_hold_voo_drawdown_equals_the_price_drawdown():
    table, _ = _windows([COVID])
    voo = load_us_etf_adjclose()["VOO"].loc["2020-02-19":"2020-03-23"].to_numpy()
    direct = np.min(voo / np.maximum.accumulate(voo) - 1.0)
    row = table[table["variant"] == "VOO"].iloc[0]
    assert row["max_drawdown"] == pytest.approx(direct, rel=1e-9, abs=0)
    assert row["return"] == pytest.approx(voo[-1] / voo[0] - 1.0, rel=1e-9, abs=0)
    assert row["start"] == "2020-02-19" and row["end"] == "2020-03-23"
    strat = table[table["variant"] == "core_satellite_reference"].iloc[0]
    assert "sp500_down_7pct_core_70" in strat["triggers_fired"]
    assert np.isfinite(strat["days_to_recover"])


def test_window_is_prefix_invariant():
    late, _ = _windows([COVID])
    early, _ = _windows([COVID], **{"data.end": "2020-03-23"})
    cols = ["window", "variant", "start", "end", "sessions", "return", "max_drawdown",
            "trough_date", "n_triggers", "triggers_fired"]
    pd.testing.assert_frame_equal(early[cols], late[cols], rtol=1e-12)
    # Recovery looks past the window: with no data after it there is none.
    assert early["recovered"].str.startswith("not recovered by the end of the data").all()
    assert early["days_to_recover"].isna().all()


def test_window_without_a_proxy_is_refused_naming_the_asset_and_its_first_date():
    table, q = _windows([{"name": "y2008", "start": "2008-01-02", "end": "2008-06-30"}],
                        **{"stress.proxies": {}})
    status = table.iloc[0]["status"]
    assert status.startswith("refused") and "VOO" in status and "2010-09-09" in status
    assert "stress.proxies.VOO" in status
    assert q.count("refused") == 1


def test_declared_proxy_is_spliced_and_counted():
    w = {"name": "y2010", "start": "2010-05-03", "end": "2010-12-31"}
    table, q = _windows([w], **{"stress.proxies": {"VOO": {"asset": "SPY"},
                                                  "VXUS": {"index": "SPX",
                                                           "expense_ratio": 0.001}}})
    assert (table["status"] == "ok").all()
    spy = load_us_etf_adjclose()["SPY"].loc["2010-05-03":"2010-12-31"].to_numpy()
    voo = table[table["variant"] == "VOO"].iloc[0]
    # Before VOO's listing its return is SPY's (spliced), which the window then reports.
    assert voo["max_drawdown"] == pytest.approx(np.min(spy / np.maximum.accumulate(spy) - 1),
                                                rel=1e-9)
    assert q.count("spliced") > 0


def test_splice_proxy_with_expense_drag():
    d = pd.bdate_range("2024-01-01", periods=5)
    a = pd.Series([np.nan, np.nan, np.nan, 50.0, 51.0], index=d, name="A")
    p = pd.Series([100.0, 101.0, 99.0, 102.0, 103.0], index=d)
    s, n = splice_proxy(a, p, expense_ratio=0.01)
    days = (d - d[0]).days.to_numpy()
    net = p.to_numpy() * 0.99 ** (days / 365.25)
    np.testing.assert_allclose(s.to_numpy()[:3], net[:3] * 50.0 / net[3], rtol=1e-14)
    np.testing.assert_array_equal(s.to_numpy()[3:], [50.0, 51.0])
    assert n == 3


def test_window_table_recovery_and_log():
    d = pd.bdate_range("2024-01-01", periods=8)
    eq = pd.DataFrame({"x": [100, 110, 99, 88, 95, 105, 111, 112.0]}, index=d)
    log = pd.DataFrame({"date": [d[2], d[6]], "variant": ["x", "x"], "rule": ["r1", "r2"]})
    t = window_table(eq, log, "w", d[0], d[4]).iloc[0]
    assert t["max_drawdown"] == pytest.approx(88 / 110 - 1)
    assert t["trough_date"] == str(d[3].date())
    assert t["days_to_recover"] == 3 and t["recovered"] == str(d[6].date())
    assert t["triggers_fired"] == f"{d[2].date()} r1" and t["n_triggers"] == 1


KRX_CONFIG = ROOT / "examples" / "stress_market_flow_timing.toml"
KRX_WINDOWS = [{"name": "gfc", "start": "2007-10-31", "end": "2008-10-31"},
               {"name": "covid", "start": "2020-02-17", "end": "2020-03-31"}]


def test_kospi_windows_of_the_krx_strategy_match_the_index_prices(tmp_path):
    """The KRX market-flow-timing strategy through flowbt stress: GFC and COVID windows run,
    and the KOSPI / KOSDAQ buy-and-hold rows' drawdowns are the index's own."""
    from datasets.bundled import load_krx_market_index
    from engine.app.stress import run_stress

    cfg = load_config(KRX_CONFIG, overrides={"stress.windows": KRX_WINDOWS})
    run_stress(cfg, tmp_path)
    table = pd.read_csv(tmp_path / "windows.csv")
    assert (table["status"] == "ok").all()
    assert set(table["variant"]) == {cfg.name, "KOSPI", "KOSDAQ"}
    idx = load_krx_market_index()
    for w in KRX_WINDOWS:
        for market in ("KOSPI", "KOSDAQ"):
            px = idx[f"{market}_close"].loc[w["start"]:w["end"]].dropna().to_numpy()
            direct = np.min(px / np.maximum.accumulate(px) - 1.0)
            row = table[(table["window"] == w["name"]) & (table["variant"] == market)].iloc[0]
            assert row["max_drawdown"] == pytest.approx(direct, rel=1e-9, abs=0)
            assert row["return"] == pytest.approx(px[-1] / px[0] - 1.0, rel=1e-9, abs=0)
            assert row["sessions"] == len(px)
    # KOSPI's GFC fall from its 2007-10-31 close: about -54.5 % at the 2008-10-24 trough.
    gfc = table[(table["window"] == "gfc") & (table["variant"] == "KOSPI")].iloc[0]
    assert gfc["trough_date"] == "2008-10-24" and -0.56 < gfc["max_drawdown"] < -0.53
    strat = table[table["variant"] == cfg.name]
    assert (strat["n_triggers"] > 0).all()  # the strategy decided inside both windows


def test_paths_sections_are_refused_for_a_strategy_without_the_fast_path(tmp_path):
    from engine.app.stress import run_stress
    from engine.errors import ConfigError

    cfg = load_config(KRX_CONFIG, overrides={"stress.sections": ["windows", "montecarlo"]})
    with pytest.raises(ConfigError, match=r"stress\.sections.*windows only"):
        run_stress(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything is written
