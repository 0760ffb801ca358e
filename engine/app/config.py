"""TOML run configuration, validated into typed objects.

Schema (every key; see examples/core_satellite.toml)::

    name = "core_satellite_reference"        # required, names the strategy variant

    [data]
    source = "us_etf"                        # "us_etf" | "krx_market" | "synthetic"
    start = "2011-02-01"                     # optional, inclusive (ISO date)
    end = "2025-09-26"                       # optional, inclusive
    [data.synthetic]                         # only (and required) for source = "synthetic":
    n_days = 1500                            #   keyword arguments of datasets.make_market
    seed = 1

    [signals.<name>]                         # optional; engine.app.inputs.INPUTS[source](market, **rest)
    source = "synthesized_flow"
    ...                                      # checked against the builder's keyword arguments

    [simulation]
    fee_rate = 0.0005                        # fraction of traded value, finite, [0, 0.1)
    slippage_rate = 0.0005                   # fraction, finite, [0, 0.1)
    execution_lag_bars = 1                   # decisions at t trade at the close of t + lag
    init_cash = 100000.0                     # currency units, finite, > 0
    benchmarks = ["VOO", "RSP", "static"]    # tickers bought and held, "static" = base allocation
    expense_drag = false                     # true on index levels: apply expense ratios
    expense_ratio = {}                       # asset -> fraction per year in [0, 0.2); only
                                             #   with expense_drag = true
    chunk_variants = 100                     # variants per vectorbt call (sweeps)

    [strategy]
    kind = "core_satellite"                  # strategies.REGISTRY key
    ...                                      # the Params dataclass fields

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


class SyntheticConfig(BaseModel):
    """Keyword arguments of ``datasets.make_market`` (passed through as given)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    n_days: int = Field(1500, gt=1)
    n_stocks: int = Field(300, gt=0)
    n_etfs: int = Field(30, gt=0)
    signal_strength: float = 0.0
    seed: int = 0


class DataConfig(_Strict):
    source: Literal["us_etf", "krx_market", "synthetic"] = "us_etf"
    start: dt.date | None = None
    end: dt.date | None = None
    synthetic: SyntheticConfig | None = None


#: Upper bound (exclusive) of fee_rate and slippage_rate: 10 % of traded value is already absurd;
#: a larger value is almost surely a percent typed where a fraction is meant.
MAX_COST_RATE = 0.1
#: Upper bound (exclusive) of an annual expense ratio as a fraction (20 %/yr).
MAX_EXPENSE_RATIO = 0.2


class SimulationConfig(_Strict):
    fee_rate: float = Field(0.0, ge=0.0, lt=MAX_COST_RATE, allow_inf_nan=False)
    slippage_rate: float = Field(0.0, ge=0.0, lt=MAX_COST_RATE, allow_inf_nan=False)
    execution_lag_bars: int = Field(1, ge=0)
    init_cash: float = Field(100_000.0, gt=0.0, allow_inf_nan=False)
    benchmarks: list[str] = Field(default_factory=list)
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
    stress: dict[str, Any] = field(default_factory=dict)

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


def _raise_from(exc: ValidationError, prefix: str, raw: Any, file: str | None) -> None:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = _loc_path(prefix, loc)
    value = err.get("input", _value_at(raw, loc))
    problem = err["msg"]
    cause = (err.get("ctx") or {}).get("error")
    if getattr(cause, "field", None):
        # A dataclass __post_init__ check (strategies.triggers.ParamError): pydantic locates the
        # dataclass; the error names the field inside it.
        key, value, problem = _join(key or prefix, cause.field), cause.value, cause.problem
    raise ConfigError(key or prefix or "<config>", _short(value), problem, file=file) from None


def _join(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


class _Table:
    """Stands for a whole TOML table in an error message (its repr lists the keys only)."""

    def __init__(self, keys) -> None:
        self.keys = list(keys)

    def __repr__(self) -> str:
        return "{table with keys " + ", ".join(map(str, self.keys)) + "}"


def _short(value: Any) -> Any:
    """The value as shown in an error: a long table is summarized by its keys."""
    if isinstance(value, dict) and len(repr(value)) > 120:
        return _Table(value)
    return value


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

    try:
        top = _Top.model_validate(raw)
    except ValidationError as exc:
        _raise_from(exc, "", raw, file)
    if top.data.source == "synthetic" and top.data.synthetic is None:
        raise ConfigError("data.synthetic", None, "source 'synthetic' needs a [data.synthetic] "
                          "table", file=file)
    if top.data.source != "synthetic" and top.data.synthetic is not None:
        raise ConfigError("data.synthetic", _short(raw["data"]["synthetic"]),
                          f"only used with data.source = 'synthetic' (source is "
                          f"{top.data.source!r}); remove the table or change the source",
                          file=file)
    _check_simulation(top.simulation, file)
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
    try:
        params = _adapter(params_cls).validate_python(table)
    except ValidationError as exc:
        _raise_from(exc, "strategy", table, file)
    except (ValueError, TypeError) as exc:  # __post_init__ checks pydantic did not wrap
        if getattr(exc, "field", None):
            raise ConfigError(f"strategy.{exc.field}", _short(exc.value), exc.problem,
                              file=file) from None
        raise ConfigError("strategy", _short(table), str(exc), file=file) from None
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
    return Config(name=top.name, data=top.data, signals=top.signals,
                  simulation=top.simulation, strategy_kind=kind, strategy_params=params,
                  sweep=top.sweep, raw=raw, file=file, stress=top.stress)


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
    if sim.expense_ratio and not sim.expense_drag:
        # Explicit beats implicit: the ratios would be silently ignored without the drag.
        raise ConfigError("simulation.expense_ratio", _short(sim.expense_ratio),
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
                raise ConfigError(f"signals.{name}.{key}", _short(value),
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
