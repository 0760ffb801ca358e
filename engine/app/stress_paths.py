"""Strategy and benchmarks on bootstrapped paths: the chunk function of ``flowbt stress``.

A chunk is a range of path ids. For each path it draws the bootstrap rows from the path's own
seed (so the result does not depend on chunking or scheduling), builds the price paths,
decides every variant on all of them at once with the fast decision path
(``strategies.core_satellite_paths``) and simulates them with ``engine.stress.simulate``
(vectorbt's order functions). The same function serves the Monte Carlo, the shocks'
continuations and the scenario tree's branches.

Variants: the strategy (the config's name), then each ``[simulation] benchmarks`` entry: a
ticker is bought on the first day and held, ``"static"`` is the strategy without its
triggers -- as ``engine.app.runner.benchmark_weights`` does for ``flowbt backtest``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.market import CASH

__all__ = ["fan_column", "mc_chunk", "path_dates", "run_variants", "variant_params"]


def fan_column(day: int) -> str:
    """Chunk column of the paths' value at the close of ``day`` (fan chart)."""
    return f"value_d{int(day):04d}"


def variant_params(cfg, sleeves: dict | None = None) -> dict:
    """Name -> CoreSatelliteParams of the strategy and its benchmarks.

    ``sleeves`` replaces the strategy's sleeves (a scenario branch's response allocation).
    """
    from strategies.core_satellite import CoreSatelliteParams

    params = cfg.strategy_params
    if cfg.strategy_kind != "core_satellite" or not isinstance(params, CoreSatelliteParams):
        raise ConfigError("strategy.kind", cfg.strategy_kind,
                          "flowbt stress runs paths through the core_satellite fast path; "
                          "use a core_satellite strategy")
    if sleeves:
        try:
            params = dataclasses.replace(params, sleeves=sleeves)
        except ValueError as exc:
            raise ConfigError("stress.tree.branches.*.response", sleeves, str(exc)) from None
    out = {cfg.name: params}
    for b in cfg.simulation.benchmarks:
        if b == "static":
            out[b] = dataclasses.replace(params, triggers=())
        else:
            out[b] = CoreSatelliteParams(sleeves={"hold": {b: 1.0}}, rebalance="none")
    return out


def path_dates(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    """Day 0 (the last historical session) and ``horizon`` business days after it."""
    nxt = pd.bdate_range(pd.Timestamp(last) + pd.offsets.BDay(1), periods=horizon)
    return pd.DatetimeIndex([pd.Timestamp(last), *nxt], name="date")


def run_variants(variants: dict, prices: np.ndarray, columns: list[str],
                 dates: pd.DatetimeIndex, sim: dict) -> dict:
    """Decide and simulate every variant on every path.

    Returns
    -------
    dict
        name -> (equity (P, T), PathDecisions).
    """
    from engine.stress.simulate import simulate_paths
    from strategies.core_satellite_paths import decide_paths

    col = {c: i for i, c in enumerate(columns)}
    cache: dict = {}
    out = {}
    for name, params in variants.items():
        d = decide_paths(params, prices, columns, dates, cache=cache)
        missing = [a for a in d.assets if a != CASH and a not in col]
        if missing:
            raise ConfigError("strategy.sleeves", missing, "assets without prices on the paths")
        close = np.empty((prices.shape[0], prices.shape[1], len(d.assets)))
        for j, a in enumerate(d.assets):
            close[:, :, j] = prices[:, :, col[a]] if a in col else 1.0
        eq, _ = simulate_paths(close, d.ptr, d.pos, d.state, d.targets,
                               fee_rate=sim["fee_rate"], slippage_rate=sim["slippage_rate"],
                               execution_lag_bars=sim["execution_lag_bars"],
                               init_cash=sim["init_cash"],
                               cash_column=d.assets.index(CASH))
        out[name] = (eq, d)
    return out


def mc_chunk(lo: int, hi: int, *, returns: np.ndarray, start_prices: np.ndarray,
             columns: list[str], last_date: str, horizon: int, block_length: float, seed: int,
             variants: dict, sim: dict, drift_mult=None, vol_mult=None,
             first_day=None, lead_in_days: int = 0, stream: int | None = None,
             marks: tuple[int, ...] = (), fan_days: tuple[int, ...] = (),
             fx_column: int | None = None) -> pd.DataFrame:
    """Outcomes of paths ``lo..hi-1`` for every variant: one row per path and variant.

    Columns: path, variant, cagr, max_drawdown, final_value, total_return, and for each
    trigger of the variant ``fire_day_<trigger>`` (days from the start to its first fire,
    NaN = did not fire within the horizon); with ``marks``, ``return_<m>d`` = equity ``m`` days
    after day ``lead_in_days`` over equity on that day, minus 1 (a shock's 1/30/90-day returns);
    with ``fan_days``, ``value_d<day>`` = the portfolio value (currency) at the close of that
    day, float32 (the fan chart's input: the run keeps its percentiles, mc_fan.csv).

    ``fx_column``: the column of ``columns`` holding USD/KRW (KRW per USD, bootstrapped jointly
    with the assets but held by no variant): the outcomes are then those of a KRW-based
    investor, ``equity_usd[t] * X[t] / X[0]`` (KRW value in units of day 0's USD, so
    ``init_cash`` stays the scale): every USD asset, cash included, moves with the rate one
    for one (engine.fx, unhedged).
    """
    from engine.stress.montecarlo import bootstrap_paths, outcomes

    ids = list(range(lo, hi))
    prices = bootstrap_paths(returns, start_prices, ids, horizon, block_length, seed,
                             drift_mult=drift_mult, vol_mult=vol_mult, first_day=first_day,
                             lead_in_days=lead_in_days, stream=stream)
    dates = path_dates(pd.Timestamp(last_date), horizon)
    res = run_variants(variants, prices, columns, dates, sim)
    if fx_column is not None:
        fx = prices[:, :, fx_column] / prices[:, :1, fx_column]
        res = {k: (eq * fx, d) for k, (eq, d) in res.items()}
    trig_names = sorted({t.name for p in variants.values() for t in p.triggers})
    frames = []
    for name, (eq, d) in res.items():
        o = outcomes(eq, sim["init_cash"])
        f = pd.DataFrame({"path": np.asarray(ids, dtype=np.int64), "variant": name, **o})
        for m in marks:
            f[f"return_{m}d"] = eq[:, lead_in_days + m] / eq[:, lead_in_days] - 1.0
        for day in fan_days:
            f[fan_column(day)] = eq[:, day].astype(np.float32)
        fired = {t.name: fp for t, fp in zip(d.params.triggers, d.fire_pos, strict=True)}
        for t in trig_names:
            fp = fired.get(t)
            f[f"fire_day_{t}"] = (np.where(fp >= 0, fp, np.nan).astype(np.float64)
                                  if fp is not None else np.nan)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
