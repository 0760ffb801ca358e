"""Config -> market -> context -> strategy -> simulate; shared by backtest, sweep and demo.

The steps are separate functions so that a sweep prepares the market and signals once and
then only re-decides and re-simulates per variant.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.app.config import Config
from engine.errors import ConfigError, DataError
from engine.market import CASH, Market
from strategies.base import LOG_COLUMNS, Context, Decisions

__all__ = [
    "Prepared",
    "RunResult",
    "benchmark_start_date",
    "benchmark_weights",
    "data_hash",
    "decide",
    "first_decision",
    "load_market",
    "prepare",
    "run_backtest",
    "sim_kwargs",
]

#: Name of the benchmark holding the strategy's base allocation without triggers.
STATIC = "static"


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything a run needs before deciding: the market and the point-in-time context."""

    config: Config
    market: Market
    ctx: Context


@dataclass(frozen=True, eq=False)
class RunResult:
    """A backtest: the simulation (strategy + benchmarks) and each variant's decisions."""

    config: Config
    prepared: Prepared
    decisions: dict[str, Decisions]
    sim: object  # engine.simulation.SimResult (kept untyped: vectorbt stays out of import time)
    #: ``[fx]`` and ``[contributions]`` tables (engine.app.investor.InvestorResult)
    investor: object = None


def _cut(df: pd.DataFrame | None, start, end) -> pd.DataFrame | None:
    if df is None:
        return None
    idx = df.index
    mask = np.ones(len(idx), dtype=bool)
    if start is not None:
        mask &= idx >= pd.Timestamp(start)
    if end is not None:
        mask &= idx <= pd.Timestamp(end)
    return df.loc[mask]


def store_path(cfg: Config):
    """``[data] path`` resolved against the config file's directory."""
    from pathlib import Path

    p = Path(cfg.data.path)
    if not p.is_absolute() and cfg.file:
        p = Path(cfg.file).resolve().parent / p
    return p


def _store_market(cfg: Config, start, end) -> Market:
    """A store as the market: flows, point-in-time holdings, ETF data, prices (+ CASH)."""
    from datasets.synth_store import read_store
    from engine.errors import DataQuality
    from engine.prices import with_cash

    q = DataQuality()
    market = read_store(store_path(cfg), max_stale_sessions=cfg.data.max_stale_sessions,
                        quality=q)
    if market.prices is not None and CASH not in market.prices.columns:
        # an imported store has no short rate: CASH is flat (0 %), and the summary says so
        q.add(str(cfg.data.path), "filled", "CASH prices at a 0% rate", len(market.prices),
              rule="the store has no short-rate series")
        market = dataclasses.replace(market, prices=with_cash(market.prices, 0.0))
    return market


def load_market(cfg: Config, start=None, end=None) -> Market:
    """Load the configured market, cut to ``[start, end]`` (arguments override the config)."""
    import datasets

    start = start if start is not None else cfg.data.start
    end = end if end is not None else cfg.data.end
    src = cfg.data.source
    if src == "us_etf":
        market = datasets.load_us_market(start=start, end=end)
    elif src == "krx_market":
        market = datasets.load_krx_market(start=start, end=end)
    elif src == "store":
        market = _store_market(cfg, start, end)
    else:
        market = datasets.make_market(**cfg.data.synthetic.make_market_kwargs())
    if market.prices is None:
        raise DataError(f"data source {src!r} has no price panel to simulate on")
    prices = _cut(market.prices, start, end)
    if len(prices) < 2:
        raise ConfigError("data.start", str(start), f"fewer than 2 price dates in [{start}, {end}]")
    return dataclasses.replace(market, prices=prices)


def _flows_frame(market: Market) -> pd.DataFrame | None:
    if market.etfs is None or market.etfs.flow is None:
        return None
    f = market.etfs.frame("flow")
    f.attrs["currency"] = market.etfs.currency
    return f


def prepare(cfg: Config, start=None, end=None) -> Prepared:
    """Load the market and build the context (signals from ``engine.app.inputs.INPUTS``)."""
    market = load_market(cfg, start, end)
    signals = {}
    if cfg.signals:
        from engine.app.inputs import INPUTS  # lazily: only configs with signals need it

        for name, sc in cfg.signals.items():
            if sc.source not in INPUTS:
                raise ConfigError(f"signals.{name}.source", sc.source,
                                  f"unknown signal source; known: {sorted(INPUTS)}")
            sig = INPUTS[sc.source](market, **sc.params())
            signals[name] = _cut(sig, market.prices.index[0], market.prices.index[-1])
    ctx = Context(prices=market.prices, signals=signals, flows=_flows_frame(market))
    return Prepared(cfg, market, ctx)


def make_strategy(kind: str, params):
    """Instantiate the strategy class registered for ``kind``."""
    import strategies

    _, cls = strategies.get(kind)
    return cls(params)


def decide(cfg: Config, ctx: Context) -> Decisions:
    """The configured strategy's decisions on ``ctx``.

    A :class:`ConfigError` the strategy raises against its inputs (a KRW flow for a USD rule)
    gets the config file, like the errors of validation.
    """
    try:
        return make_strategy(cfg.strategy_kind, cfg.strategy_params).decide(ctx)
    except ConfigError as exc:
        if exc.file is not None or cfg.file is None:
            raise
        raise ConfigError(exc.key_path, exc.value, exc.problem, file=cfg.file) from None


def first_decision(weights: pd.DataFrame) -> pd.Timestamp | None:
    """Date of the first non-NaN row of a decisions frame (None if it never decides)."""
    rows = weights.notna().any(axis=1).to_numpy()
    return pd.Timestamp(weights.index[int(np.argmax(rows))]) if rows.any() else None


def benchmark_start_date(cfg: Config, ctx: Context,
                         decisions: Decisions | None = None) -> pd.Timestamp:
    """When the benchmarks are bought: the strategy's first decision (default) or the first bar.

    ``decisions`` are the strategy's (computed here when not given). A strategy that never
    decides leaves the benchmarks on the first bar.
    """
    if cfg.simulation.benchmark_start == "first_bar":
        return ctx.dates[0]
    if decisions is None:
        decisions = decide(cfg, ctx)
    first = first_decision(decisions.weights)
    return first if first is not None else ctx.dates[0]


def benchmark_weights(cfg: Config, ctx: Context,
                      decisions: Decisions | None = None) -> dict[str, pd.DataFrame]:
    """Decisions of each ``[simulation] benchmarks`` entry.

    A ticker is bought on the start date and held (100 %). ``"static"`` is the strategy without
    its triggers (same sleeves and rebalancing) when its Params has a ``triggers`` field;
    otherwise the strategy's ``static_weights()`` rebalanced on each month's first session
    from the start date.

    The start date is :func:`benchmark_start_date`: by default the strategy's first decision
    (``[simulation] benchmark_start = "first_decision"``), so that a strategy sitting in cash
    while its signals warm up is compared with benchmarks that wait too; ``"first_bar"`` buys
    them on the first bar of the data.
    """
    from strategies.core_satellite import calendar_positions

    out: dict[str, pd.DataFrame] = {}
    start = benchmark_start_date(cfg, ctx, decisions)
    first = pd.DatetimeIndex([start])
    for name in cfg.simulation.benchmarks:
        if name == STATIC:
            params = cfg.strategy_params
            if dataclasses.is_dataclass(params) and any(
                    f.name == "triggers" for f in dataclasses.fields(params)):
                static = dataclasses.replace(params, triggers=())
                w = make_strategy(cfg.strategy_kind, static).decide(ctx).weights
                if start > ctx.dates[0]:  # hold its allocation as of the start date from then
                    before = w.loc[w.index <= start].dropna(how="all")
                    w = w.loc[w.index > start]
                    if len(before):
                        w = pd.concat([before.iloc[[-1]].set_axis([start]), w])
                out[name] = w
                continue
            strat = make_strategy(cfg.strategy_kind, params)
            if not hasattr(strat, "static_weights"):
                raise ConfigError("simulation.benchmarks", name,
                                  f"strategy {cfg.strategy_kind!r} has no static allocation")
            w = strat.static_weights(ctx)  # common signature: static_weights(ctx=None)
            pos = calendar_positions(ctx.dates[ctx.dates >= start], "monthly")
            pos = pos + int(ctx.dates.searchsorted(start))
            out[name] = pd.DataFrame(np.tile(w.to_numpy(), (len(pos), 1)),
                                     index=ctx.dates[pos], columns=w.index)
        else:
            if name not in ctx.prices.columns:
                raise ConfigError("simulation.benchmarks", name,
                                  "not a price column of the data (nor 'static')")
            out[name] = pd.DataFrame({name: [1.0], CASH: [0.0]}, index=first)
    return out


def sim_kwargs(cfg: Config, market: Market) -> dict:
    """Keyword arguments of :func:`engine.simulation.simulate` from ``[simulation]``."""
    s = cfg.simulation
    expense = None
    if s.expense_drag:
        # Only the config's explicit ratios, for index-level columns: the data's ETF expense
        # ratios are already netted in the adjusted closes (config validation refuses
        # expense_drag without simulation.expense_ratio).
        expense = dict(s.expense_ratio)
        if not expense:
            raise ConfigError("simulation.expense_drag", True, "needs simulation.expense_ratio "
                              "for the index-level columns it applies to")
        unknown = sorted(set(expense) - set(map(str, market.prices.columns)))
        if unknown:
            raise ConfigError(f"simulation.expense_ratio.{unknown[0]}", expense[unknown[0]],
                              "not a price column of the data")
    return dict(fee_rate=s.fee_rate, slippage_rate=s.slippage_rate,
                execution_lag_bars=s.execution_lag_bars, init_cash=s.init_cash,
                expense_ratio=expense)


def run_identity(cfg, prices: pd.DataFrame) -> dict:
    """The run.json fields every config-driven run shares (backtest, sweep): what ran on what.

    Config name, file and hash; the data hash, source and dates of the price panel used; the
    benchmark start rule; the config's warnings plus the under-a-year note of
    :func:`engine.metrics.annualized_warning`; the package versions and the config as run (the
    report's parameters table reads it). Callers add their own fields.
    """
    from engine.app.backtest import package_versions
    from engine.metrics import annualized_warning

    short = annualized_warning(len(prices))
    return {
        "name": cfg.name,
        "config_file": cfg.file,
        "config_hash": cfg.hash,
        "data_hash": data_hash(prices),
        "data_source": cfg.data.source,
        "start": str(prices.index[0].date()),
        "end": str(prices.index[-1].date()),
        "n_bars": len(prices),
        "benchmark_start": cfg.simulation.benchmark_start,
        "warnings": [*cfg.warnings, *([short] if short else [])],
        "packages": package_versions(),
        "config": cfg.raw,
    }


def data_hash(prices: pd.DataFrame) -> str:
    """SHA-256 of the price panel used (values, dates and column names)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(prices.to_numpy(np.float64)).tobytes())
    h.update(np.asarray(prices.index.asi8).tobytes())
    h.update("|".join(map(str, prices.columns)).encode())
    return h.hexdigest()


def variant_log(decisions: dict[str, Decisions]) -> pd.DataFrame:
    """Concatenate the decisions' logs with a ``variant`` column."""
    frames = [d.log.assign(variant=v) for v, d in decisions.items() if len(d.log)]
    cols = ["date", "variant", *[c for c in LOG_COLUMNS if c != "date"]]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def run_backtest(cfg: Config, start=None, end=None) -> RunResult:
    """Run the strategy and its benchmarks in one simulation."""
    from engine.simulation import simulate

    prep = prepare(cfg, start, end)
    decisions = {cfg.name: decide(cfg, prep.ctx)}
    weights = {cfg.name: decisions[cfg.name].weights}
    for name, w in benchmark_weights(cfg, prep.ctx, decisions[cfg.name]).items():
        if name in weights:
            raise ConfigError("simulation.benchmarks", name, "clashes with the config name")
        weights[name] = w
    sim = simulate(prep.market.prices, weights, benchmarks=list(cfg.simulation.benchmarks),
                   **sim_kwargs(cfg, prep.market))
    sim.log = variant_log(decisions)
    from engine.app.investor import investor_sections

    return RunResult(cfg, prep, decisions, sim,
                     investor_sections(cfg, prep.market, sim.equity))
