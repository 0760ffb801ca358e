"""TOML run configuration, validated into typed objects.

Schema (every key; see examples/core_satellite.toml)::

    name = "core_satellite_reference"        # required, names the strategy variant

    [data]
    source = "us_etf"                        # "us_etf" | "krx_market" | "synthetic"
    start = "2011-02-01"                     # optional, inclusive (ISO date)
    end = "2025-09-26"                       # optional, inclusive
    [data.synthetic]                         # only for source = "synthetic": keyword
    n_days = 1500                            #   arguments of datasets.make_market
    seed = 1

    [signals.<name>]                         # optional; engine.inputs.INPUTS[source](market, **rest)
    source = "synthesized_flow"
    ...

    [simulation]
    fee_rate = 0.0005                        # fraction of traded value
    slippage_rate = 0.0005                   # fraction
    execution_lag_bars = 1                   # decisions at t trade at the close of t + lag
    init_cash = 100000.0                     # currency units
    benchmarks = ["VOO", "RSP", "static"]    # tickers bought and held, "static" = base allocation
    expense_drag = false                     # true on index levels: apply expense ratios
    expense_ratio = {}                       # asset -> annual fraction (expense_drag = true)
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
import datetime as dt
import functools
import hashlib
import itertools
import json
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


class SimulationConfig(_Strict):
    fee_rate: float = Field(0.0, ge=0.0, lt=1.0)
    slippage_rate: float = Field(0.0, ge=0.0, lt=1.0)
    execution_lag_bars: int = Field(1, ge=0)
    init_cash: float = Field(100_000.0, gt=0.0)
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
    raise ConfigError(key or prefix or "<config>", _short(value), err["msg"], file=file) from None


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
    except (ValueError, TypeError) as exc:  # __post_init__ checks of the dataclass
        raise ConfigError("strategy", _short(table), str(exc), file=file) from None
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
                  sweep=top.sweep, raw=raw, file=file)


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
