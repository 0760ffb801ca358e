"""TOML run configuration, validated into typed objects.

Schema (every key; see examples/core_satellite.toml)::

    name = "core_satellite_reference"        # required, names the strategy variant

    [data]
    source = "us_etf"                        # "us_etf" | "krx_market" | "synthetic" | "store"
    # path = "store/"                        # source = "store": a flowbt store directory
    # max_stale_sessions = 0                 # market-cap snapshot may serve N later sessions
    start = "2011-02-01"                     # optional, inclusive (ISO date)
    end = "2025-09-26"                       # optional, inclusive
    [data.synthetic]                         # only (and required) for source = "synthetic":
    n_days = 1500                            #   keyword arguments of datasets.make_market
                                             #   (SyntheticConfig: typed, ranges; no others)
    seed = 1

    [signals.<name>]                         # optional; engine.app.inputs.INPUTS[source](market, **rest)
    source = "synthesized_flow"
    ...                                      # checked against the builder's keyword arguments

    [simulation]
    fee_rate = 0.0005                        # fraction of traded value, [0, 0.02]; > 0.005 warns
    slippage_rate = 0.0005                   # fraction, [0, 0.02]; > 0.005 warns
    execution_lag_bars = 1                   # decisions at t trade at the close of t + lag, 0..21
    init_cash = 100000.0                     # currency units, finite, > 0
    benchmarks = ["VOO", "RSP", "static"]    # tickers bought and held, "static" = base allocation
    benchmark_start = "first_decision"       # or "first_bar": when benchmarks are bought
    expense_drag = false                     # true on index levels: apply expense ratios
    expense_ratio = {}                       # asset -> fraction per year in [0, 0.2); needed
                                             #   by (and only with) expense_drag = true
    chunk_variants = 100                     # variants per vectorbt call (sweeps)

    [strategy]
    kind = "core_satellite"                  # strategies.REGISTRY key
    ...                                      # the Params dataclass fields

    [contributions]                          # optional: dollar-cost averaging; [fx] optional:
    amount = 1000000.0                       #   a KRW investor in USD assets (schema in
                                             #   engine.app.investor_config)

    [sweep]                                  # cartesian grid over dotted key paths
    "strategy.triggers.2.condition.threshold" = [-0.03, -0.05, -0.07]

Errors raise :class:`engine.errors.ConfigError` naming the dotted key path and the bad value
(list items are numbered from 0, like the sweep paths).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.app.config_checks import (
    accepted_keys,
    check_keys,
    join_path,
    param_warnings,
    short_value,
)
from engine.app.investor_config import HINTS as INVESTOR_HINTS
from engine.app.investor_config import ContributionsConfig, FxConfig, check_investor
from engine.errors import ConfigError

__all__ = [
    "Config",
    "DataConfig",
    "SimulationConfig",
    "config_hash",
    "load_config",
    "set_path",
    "set_paths",
    "sweep_grid",
    "validate_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Upper bound (inclusive) of fee_rate and slippage_rate: 2 % of traded value a trade. The
#: highest retail commissions in the data's markets are below 1 % (KRX online brokers charge
#: ~0.015 %, US brokers 0; Korea's securities transaction tax is ~0.2 % of sells), so a larger
#: value is a percent typed where a fraction is meant (0.05 for "5 bp" is 5 %).
MAX_COST_RATE = 0.02
#: Above this (0.5 % a trade, 10x a typical 5 bp) a cost rate runs but is printed as a warning.
WARN_COST_RATE = 0.005
#: Upper bound (exclusive) of an annual expense ratio as a fraction (20 %/yr).
MAX_EXPENSE_RATIO = 0.2
#: Largest execution lag: a month of sessions between a decision and its trade.
MAX_LAG_BARS = 21
#: Bounds of a synthetic market (what a 2-core machine generates in minutes; see
#: benchmarks/results/generate.md for 7,500 x 3,000 x 200).
MAX_SYNTHETIC_DAYS, MAX_SYNTHETIC_STOCKS, MAX_SYNTHETIC_ETFS = 20_000, 10_000, 1_000

#: Hints appended to a range error of a key with this leaf name (the unit the user meant).
HINTS = {
    "fee_rate": "a fraction of traded value: 0.0005 means 5 bp; more than 0.02 (2 % a trade) "
                "is refused as a percent typed for a fraction",
    "slippage_rate": "a fraction of traded value: 0.0005 means 5 bp; more than 0.02 (2 % a "
                     "trade) is refused as a percent typed for a fraction",
    "execution_lag_bars": "bars between a decision and its trade: 1 = the next close",
    "init_cash": "starting value in the data's currency, a positive finite number",
    "signal_strength": "a correlation in [0, 1): 0.1 is the README's planted strength",
    "listing_fraction": "a fraction of stocks: 0.2 means 20%",
    "cash_rate_pct": "percent per year: 2.5 means 2.5%",
    **INVESTOR_HINTS,
}


class SyntheticConfig(_Strict):
    """Keyword arguments of ``datasets.make_market``, typed and range-checked.

    The field names are exactly make_market's keyword parameters (pinned by
    tests/engine/app/test_config_values.py); an unknown key is refused naming
    ``data.synthetic.<key>`` and listing the parameters read from make_market's signature.
    """

    n_days: int = Field(1500, ge=2, le=MAX_SYNTHETIC_DAYS)
    n_stocks: int = Field(300, ge=1, le=MAX_SYNTHETIC_STOCKS)
    n_etfs: int = Field(30, ge=1, le=MAX_SYNTHETIC_ETFS)  # the ETF closes are the prices
    investors: list[str] | None = None
    start: dt.date = dt.date(2000, 1, 4)
    signal_strength: float = Field(0.0, ge=0.0, lt=1.0, allow_inf_nan=False)
    seed: int = Field(0, ge=0)
    dtype: Literal["float64", "float32"] = "float64"
    listing_fraction: float = Field(0.2, ge=0.0, le=1.0, allow_inf_nan=False)
    cash_rate_pct: float = Field(2.5, ge=-5.0, le=50.0, allow_inf_nan=False)
    signal_horizon_days: int = Field(1, ge=1, le=252)

    def make_market_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``datasets.make_market``: the three sizes (make_market
        requires them; the config defaults them) and the other keys the config set, so
        make_market's own defaults apply to the rest."""
        out = {"n_days": self.n_days, "n_stocks": self.n_stocks, "n_etfs": self.n_etfs,
               **self.model_dump(exclude_unset=True)}
        if "start" in out:
            out["start"] = out["start"].isoformat()
        return out


class DataConfig(_Strict):
    source: Literal["us_etf", "krx_market", "synthetic", "store"] = "us_etf"
    start: dt.date | None = None
    end: dt.date | None = None
    synthetic: SyntheticConfig | None = None
    #: store directory (``source = "store"``; relative paths are relative to the config file)
    path: str | None = None
    #: sessions a market-cap snapshot may serve later days (``flowbt signals
    #: --max-stale-sessions``); each use is counted in the data-quality summary
    max_stale_sessions: int = Field(0, ge=0)


class SimulationConfig(_Strict):
    fee_rate: float = Field(0.0, ge=0.0, le=MAX_COST_RATE, allow_inf_nan=False)
    slippage_rate: float = Field(0.0, ge=0.0, le=MAX_COST_RATE, allow_inf_nan=False)
    execution_lag_bars: int = Field(1, ge=0, le=MAX_LAG_BARS)
    init_cash: float = Field(100_000.0, gt=0.0, allow_inf_nan=False)
    benchmarks: list[str] = Field(default_factory=list)
    #: "first_decision": benchmarks are bought on the strategy's first decision (a strategy
    #: that warms up sits in cash before it, and so do its benchmarks); "first_bar": bought on
    #: the first bar of the data whatever the strategy does.
    benchmark_start: Literal["first_decision", "first_bar"] = "first_decision"
    expense_drag: bool = False
    expense_ratio: dict[str, float] = Field(default_factory=dict)
    chunk_variants: int | None = Field(None, gt=0)


class SignalConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    source: str

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class _Top(_Strict):
    name: str
    data: DataConfig = Field(default_factory=DataConfig)
    signals: dict[str, SignalConfig] = Field(default_factory=dict)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    strategy: dict[str, Any]
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    contributions: ContributionsConfig | None = None
    fx: FxConfig | None = None
    # Validated by engine.app.stress_config when `flowbt stress` runs (its own schema).
    stress: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """A validated run configuration.

    Attributes
    ----------
    name : str
    data, simulation : DataConfig, SimulationConfig
    signals : dict[str, SignalConfig]
    strategy_kind : str
    strategy_params : object
        Instance of the strategy's frozen Params dataclass.
    sweep : dict[str, list]
        Dotted key path -> values.
    raw : dict
        The TOML table as read (with overrides applied); hashed into ``run.json``.
    file : str or None
    warnings : tuple of str
        Values that run but look wrong (e.g. a fee above 0.5 % a trade), each naming its key
        path; every command prints them and writes them to run.json.
    """

    name: str
    data: DataConfig
    signals: dict[str, SignalConfig]
    simulation: SimulationConfig
    strategy_kind: str
    strategy_params: Any
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    file: str | None = None
    warnings: tuple[str, ...] = ()
    stress: dict[str, Any] = field(default_factory=dict)
    #: ``[contributions]`` and ``[fx]`` (None when absent), run by ``flowbt backtest``
    contributions: ContributionsConfig | None = None
    fx: FxConfig | None = None

    @property
    def hash(self) -> str:
        return config_hash(self.raw)


def _loc_path(prefix: str, loc: tuple) -> str:
    parts = [prefix] if prefix else []
    for p in loc:
        # pydantic adds validator / union markers ("function-after[...]") in some locs
        if isinstance(p, str) and "[" in p:
            continue
        parts.append(str(p))
    return ".".join(parts)


def _value_at(raw: Any, loc: tuple) -> Any:
    cur = raw
    for p in loc:
        try:
            cur = cur[p] if not isinstance(cur, list) else cur[int(p)]
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return cur


def _raise_from(exc: ValidationError, prefix: str, raw: Any, file: str | None,
                model: Any = None) -> None:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = _loc_path(prefix, loc)
    value = err.get("input", _value_at(raw, loc))
    problem = err["msg"]
    cause = (err.get("ctx") or {}).get("error")
    if getattr(cause, "field", None):
        # A dataclass __post_init__ check (strategies.params.ParamError): pydantic locates the
        # dataclass; the error names the field inside it.
        key, value, problem = join_path(key or prefix, cause.field), cause.value, cause.problem
        # the value as typed (-7, not the -7.0 pydantic coerced it to)
        value = _typed_value(raw, (*loc, *cause.field.split(".")), value)
    elif err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        accepted = accepted_keys(model, loc[:-1])
        problem = "unknown key" + (f"; accepted keys: {', '.join(accepted)}" if accepted else "")
    else:
        hint = HINTS.get(str(loc[-1])) if loc else None
        if hint and err["type"] not in ("missing",):
            problem = f"{problem}; {hint}"
    raise ConfigError(key or prefix or "<config>", short_value(value), problem, file=file) from None


def _typed_value(raw: Any, loc: tuple, default: Any) -> Any:
    """The value at ``loc`` in the table as read, or ``default`` when there is none."""
    cur = raw
    for p in loc:
        try:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        except (KeyError, IndexError, TypeError, ValueError):
            return default
    return cur


@functools.cache
def _adapter(params_cls: type):
    """pydantic TypeAdapter of a Params class, built once (a sweep validates 1,000s of tables)."""
    from pydantic import TypeAdapter

    return TypeAdapter(params_cls)


def validate_config(raw: dict, *, file: str | None = None) -> Config:
    """Validate a config table (as read from TOML) into a :class:`Config`.

    Raises
    ------
    ConfigError
        Naming the dotted key path and the bad value.
    """
    import strategies

    _check_synthetic_keys(raw, file)
    try:
        top = _Top.model_validate(raw)
    except ValidationError as exc:
        _raise_from(exc, "", raw, file, _Top)
    if top.data.source == "store" and not top.data.path:
        raise ConfigError("data.path", top.data.path, 'source = "store" needs path = "DIR" '
                          "(a store written by `flowbt data import` or `flowbt data synth`)",
                          file=file)
    if top.data.source == "synthetic" and top.data.synthetic is None:
        raise ConfigError("data.synthetic", None, "source 'synthetic' needs a [data.synthetic] "
                          "table", file=file)
    if top.data.source != "synthetic" and top.data.synthetic is not None:
        raise ConfigError("data.synthetic", short_value(raw["data"]["synthetic"]),
                          f"only used with data.source = 'synthetic' (source is "
                          f"{top.data.source!r}); remove the table or change the source",
                          file=file)
    _check_simulation(top.simulation, file)
    check_investor(top.data.source, top.contributions, top.fx, file)
    _check_signals(top.signals, file)
    table = dict(top.strategy)
    kind = table.pop("kind", None)
    if kind is None:
        raise ConfigError("strategy.kind", None, "missing; one of "
                          f"{sorted(strategies.REGISTRY)}", file=file)
    try:
        params_cls, _ = strategies.get(kind)
    except (KeyError, ImportError, AttributeError) as exc:
        raise ConfigError("strategy.kind", kind, str(exc).strip('"'), file=file) from None
    check_keys(params_cls, table, "strategy", file)
    try:
        params = _adapter(params_cls).validate_python(table)
    except ValidationError as exc:
        _raise_from(exc, "strategy", table, file, params_cls)
    except (ValueError, TypeError) as exc:  # __post_init__ checks pydantic did not wrap
        if getattr(exc, "field", None):
            raise ConfigError(f"strategy.{exc.field}", short_value(exc.value), exc.problem,
                              file=file) from None
        raise ConfigError("strategy", short_value(table), str(exc), file=file) from None
    _check_sleeve_refs(params, file)
    _check_rule_periods(params, top.signals, file)
    for key in top.sweep:
        # A sweep prepares data, signals and simulation settings once and varies the strategy
        # over them; a swept data/signals/simulation key would be silently ignored.
        if not key.startswith("strategy."):
            raise ConfigError(f"sweep.{key}", top.sweep[key],
                              "a sweep varies strategy parameters only (keys under 'strategy.'); "
                              "run one sweep per data, signals or simulation setting", file=file)
        _check_path(raw, key, file)
    warnings = (*_simulation_warnings(top.simulation), *param_warnings(params, "strategy"))
    if top.sweep and (top.contributions is not None or top.fx is not None):
        tables = " and ".join(f"[{t}]" for t in ("contributions", "fx")
                              if getattr(top, t) is not None)
        warnings = (*warnings, f"{tables}: run by flowbt backtest only; flowbt sweep "
                               "compares the strategy variants without them")
    return Config(name=top.name, data=top.data, signals=top.signals,
                  simulation=top.simulation, strategy_kind=kind, strategy_params=params,
                  sweep=top.sweep, raw=raw, file=file, warnings=tuple(warnings),
                  stress=top.stress, contributions=top.contributions, fx=top.fx)


def _check_synthetic_keys(raw: Any, file: str | None) -> None:
    """``[data.synthetic]`` keys must be keyword parameters of ``datasets.make_market``: read
    from its signature here (the application layer may import datasets), so a typo is named
    with the list of real parameters instead of reaching make_market as a TypeError."""
    data = raw.get("data") if isinstance(raw, dict) else None
    table = data.get("synthetic") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return
    accepted = make_market_parameters()
    for key, value in table.items():
        if key not in accepted:
            raise ConfigError(f"data.synthetic.{key}", short_value(value),
                              "not a parameter of datasets.make_market; accepted keys: "
                              + ", ".join(accepted), file=file)


def make_market_parameters() -> list[str]:
    """Keyword parameters of ``datasets.make_market`` (from its signature), in order."""
    import inspect

    from datasets import make_market

    return [p.name for p in inspect.signature(make_market).parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          inspect.Parameter.KEYWORD_ONLY)]


def _simulation_warnings(sim: SimulationConfig) -> list[str]:
    """Values of [simulation] that run but are probably not what the user meant."""
    out = []
    for key in ("fee_rate", "slippage_rate"):
        v = getattr(sim, key)
        if v > WARN_COST_RATE:
            out.append(f"simulation.{key} = {v!r}: {v:.2%} of traded value a trade, more than "
                       f"{WARN_COST_RATE:.1%} ({WARN_COST_RATE * 1e4:.0f} bp); fractions: 0.0005 "
                       "means 5 bp")
    return out


def _check_simulation(sim: SimulationConfig, file: str | None) -> None:
    """Checks of [simulation] beyond the per-field types and bounds."""
    seen: set[str] = set()
    for i, ticker in enumerate(sim.benchmarks):
        if ticker in seen:
            raise ConfigError(f"simulation.benchmarks.{i}", ticker,
                              "listed twice in simulation.benchmarks", file=file)
        seen.add(ticker)
    for asset, ratio in sim.expense_ratio.items():
        if not (math.isfinite(ratio) and 0.0 <= ratio < MAX_EXPENSE_RATIO):
            raise ConfigError(f"simulation.expense_ratio.{asset}", ratio,
                              f"must be a fraction per year in [0, {MAX_EXPENSE_RATIO}), e.g. "
                              "0.0003 for 3 bp", file=file)
    if sim.expense_drag and not sim.expense_ratio:
        # The data's own expense ratios would be applied to ETF adjusted closes, which
        # already net them: the fee would be charged twice.
        raise ConfigError("simulation.expense_drag", True,
                          "applies expense ratios to index levels only; ETF closes already net "
                          "their expense ratios. Set simulation.expense_ratio = {ASSET = "
                          "fraction per year, ...} for the index-level columns, or set "
                          "expense_drag = false", file=file)
    if sim.expense_ratio and not sim.expense_drag:
        # Explicit beats implicit: the ratios would be silently ignored without the drag.
        raise ConfigError("simulation.expense_ratio", short_value(sim.expense_ratio),
                          "only applied with simulation.expense_drag = true (it is false); "
                          "set expense_drag = true or remove expense_ratio", file=file)


def _check_signals(signals: dict[str, SignalConfig], file: str | None) -> None:
    """Each [signals.NAME] table against the keyword arguments of its builder, so a misspelt
    parameter fails here rather than as a TypeError mid-run."""
    if not signals:
        return
    import inspect

    from engine.app.inputs import INPUTS  # lazily: pulls in the data layer

    for name, sc in signals.items():
        if sc.source not in INPUTS:
            raise ConfigError(f"signals.{name}.source", sc.source,
                              f"unknown signal source; one of {sorted(INPUTS)}", file=file)
        builder = INPUTS[sc.source]
        params = list(inspect.signature(builder).parameters.values())[1:]  # [0] is the market
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            continue
        accepted = {p.name for p in params
                    if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)}
        given = sc.params()
        for key, value in given.items():
            if key not in accepted:
                raise ConfigError(f"signals.{name}.{key}", short_value(value),
                                  f"not a parameter of signal source {sc.source!r}; "
                                  f"parameters: {sorted(accepted)}", file=file)
        for p in params:
            if p.name in accepted and p.default is inspect.Parameter.empty \
                    and p.name not in given:
                raise ConfigError(f"signals.{name}.{p.name}", None,
                                  f"missing; required by signal source {sc.source!r}",
                                  file=file)


def _check_rule_periods(params: Any, signals: dict[str, SignalConfig],
                        file: str | None) -> None:
    """A rule that counts periods in a row (``period`` = "W"/"M", flow warnings) must read a
    signal of that period: on a monthly signal a weekly rule would never see two months in a
    row, silently."""
    for f in dataclasses.fields(params) if dataclasses.is_dataclass(params) else ():
        items = getattr(params, f.name)
        if not isinstance(items, (tuple, list)):
            continue
        for i, item in enumerate(items):
            period, sig = getattr(item, "period", None), getattr(item, "signal", None)
            if period is None or not isinstance(sig, str):
                continue
            sc = signals.get(sig.split(":")[0])
            freq = sc.params().get("freq") if sc is not None else None
            if freq in ("W", "M") and freq != period:
                raise ConfigError(f"strategy.{f.name}.{i}.period", period,
                                  f"signal {sig!r} has freq {freq!r}; set period = {freq!r}",
                                  file=file)


def _check_sleeve_refs(params: Any, file: str | None) -> None:
    """Sleeve names used by actions (``funding = "sleeve:<name>"``, ``scale_sleeve``) must be
    sleeves of the strategy; otherwise the first firing would raise a KeyError mid-backtest.

    Generic over Params classes with a ``sleeves`` table and sequences of rules carrying an
    ``action`` (core_satellite's triggers, flow_warnings' warnings).
    """
    sleeves = getattr(params, "sleeves", None)
    if not isinstance(sleeves, dict) or not dataclasses.is_dataclass(params):
        return
    for f in dataclasses.fields(params):
        items = getattr(params, f.name)
        if not isinstance(items, (tuple, list)):
            continue
        for i, item in enumerate(items):
            action = getattr(item, "action", None)
            for fld, sleeve in getattr(action, "sleeves_used", {}).items():
                if sleeve not in sleeves:
                    raise ConfigError(f"strategy.{f.name}.{i}.action.{fld}",
                                      getattr(action, fld),
                                      f"sleeve {sleeve!r} is not defined; sleeves: "
                                      f"{sorted(sleeves)}", file=file)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read and validate a TOML config; ``overrides`` maps dotted key paths to values."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("<toml>", str(path), f"not valid TOML: {exc}", file=str(path)) from None
    return validate_config(set_paths(raw, overrides or {}), file=str(path))


# ------------------------------------------------------------------------------- key paths
def _split(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _check_path(raw: dict, path: str, file: str | None) -> None:
    cur: Any = raw
    for p in _split(path):
        ok = (isinstance(cur, dict) and p in cur) or (
            isinstance(cur, list) and isinstance(p, int) and p < len(cur))
        if not ok:
            raise ConfigError(f"sweep.{path}", path, f"key {p!r} does not exist in the config",
                              file=file)
        cur = cur[p]


def set_path(raw: dict, path: str, value: Any) -> dict:
    """Return a deep copy of ``raw`` with the dotted ``path`` set to ``value``.

    Numeric parts index lists (``strategy.triggers.2.condition.threshold``).

    Examples
    --------
    >>> set_path({"a": [{"b": 1}]}, "a.0.b", 2)
    {'a': [{'b': 2}]}
    """
    return set_paths(raw, {path: value})


def set_paths(raw: dict, overrides: dict[str, Any]) -> dict:
    """Return a deep copy of ``raw`` with every dotted path of ``overrides`` set."""
    out = copy.deepcopy(raw)
    for path, value in overrides.items():
        _set_in_place(out, path, value)
    return out


def _set_in_place(out: dict, path: str, value: Any) -> None:
    cur: Any = out
    parts = _split(path)
    for p in parts[:-1]:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(path, value, f"key {p!r} does not exist in the config") from None
    last = parts[-1]
    if isinstance(cur, list) and not (isinstance(last, int) and last < len(cur)):
        raise ConfigError(path, value, f"index {last!r} is out of range")
    cur[last] = value


def sweep_grid(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of a ``[sweep]`` table: one {path: value} dict per variant.

    Examples
    --------
    >>> sweep_grid({"a": [1, 2], "b.c": [0.1]})
    [{'a': 1, 'b.c': 0.1}, {'a': 2, 'b.c': 0.1}]
    """
    keys = list(sweep)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(sweep[k] for k in keys))]


def config_hash(raw: dict) -> str:
    """SHA-256 of the config table in canonical JSON (sorted keys)."""
    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
