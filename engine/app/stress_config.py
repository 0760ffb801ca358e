"""The ``[stress]`` table of a run config, validated (pydantic) for ``flowbt stress``.

Schema (every window, shock, path count, horizon, seed and probability is a key; see
examples/stress_core_satellite.toml)::

    [stress]
    seed = 20261201                          # root of every path's SeedSequence
    sections = ["windows", "shocks", "montecarlo", "tree"]   # what to run

    [stress.montecarlo]
    n_paths = 10000
    horizon_days = 252                       # simulated sessions
    chunk_paths = 1000                       # paths per chunk (written as each finishes)
    block_length_days = 0                    # 0 = Politis-White (arch), else the mean block
    history_start = "2011-02-01"             # sample of joint daily returns (default [data])
    history_end = "2025-09-26"

    [stress.proxies]                         # stand-ins for assets that did not trade yet
    VOO = { asset = "SPY" }                  # spliced: SPY's returns before VOO's first price
    RSP = { index = "SPX", expense_ratio = 0.002 }   # an index level net of an expense drag

    [[stress.windows]]                       # historical windows (default: STANDARD_WINDOWS)
    name = "covid_2020"
    start = "2020-02-19"
    end = "2020-03-23"

    [[stress.shocks]]
    name = "sp500_down_7pct"
    factor = "VOO"                           # an asset / index / "TNX_bp" / an FF5 factor /
                                             #   "USD/KRW" (KRW investor: beta 1, KRW returns)
    factors = "etf"                          # "etf" (asset and index returns, 10-year yield
                                             #   changes in bp) or "ff5" (Fama-French 5 + Mom)
    move = -0.07                             # fraction (bp for TNX_bp)
    lookback_days = 756
    horizon_days = 90
    n_paths = 2000

    [[stress.tree.branches]]
    name = "base"
    probability = 0.60                       # branch probabilities sum to 1 (within 1e-9)
    drift_mult = { equity = 1.0 }            # per asset group (group names below)
    vol_mult = { equity = 1.0 }
    shock = { }                              # first-day move per group (fraction)
    response = { }                           # sleeves of the response allocation
                                             #   (empty = the strategy itself)
    [stress.tree]
    horizon_days = 252
    n_paths = 2000
    groups = { equity = ["VOO", "RSP"], defensive = ["XLP"] }
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import ConfigError

__all__ = ["STANDARD_WINDOWS", "StressConfig", "validate_stress"]

#: Probabilities of a scenario tree must sum to 1 within this.
PROB_TOL = 1e-9

#: The historical windows run when the config lists none (name, first day, last day).
STANDARD_WINDOWS = [
    ("dotcom_2000_2002", "2000-03-01", "2002-10-31"),
    ("gfc_2007_2009", "2007-10-01", "2009-03-31"),
    ("us_downgrade_2011", "2011-07-22", "2011-10-03"),
    ("china_oil_2015_2016", "2015-08-10", "2016-02-11"),
    ("q4_2018", "2018-10-01", "2018-12-24"),
    ("covid_2020", "2020-02-19", "2020-03-23"),
    ("rate_shock_2022", "2022-01-03", "2022-10-12"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowConfig(_Strict):
    name: str
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self):
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class ProxyConfig(_Strict):
    asset: str | None = None
    index: str | None = None
    expense_ratio: float = Field(0.0, ge=0.0, lt=0.2, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one(self):
        if (self.asset is None) == (self.index is None):
            raise ValueError("a proxy names exactly one of asset = '<ticker>' or "
                             "index = '<SPX|NDX|RUT>'")
        return self


class MonteCarloConfig(_Strict):
    n_paths: int = Field(10_000, gt=0)
    horizon_days: int = Field(252, gt=0)
    chunk_paths: int = Field(1000, gt=0)
    block_length_days: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    history_start: dt.date | None = None
    history_end: dt.date | None = None


class ShockConfig(_Strict):
    name: str
    factor: str
    factors: Literal["etf", "ff5"] = "etf"
    move: float = Field(allow_inf_nan=False)
    lookback_days: int = Field(756, gt=20)
    as_of: dt.date | None = None
    horizon_days: int = Field(90, gt=0)
    n_paths: int = Field(2000, gt=0)


class BranchConfig(_Strict):
    name: str
    probability: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    drift_mult: dict[str, float] = Field(default_factory=dict)
    vol_mult: dict[str, float] = Field(default_factory=dict)
    shock: dict[str, float] = Field(default_factory=dict)
    response: dict[str, dict[str, float]] = Field(default_factory=dict)


class TreeConfig(_Strict):
    horizon_days: int = Field(252, gt=0)
    n_paths: int = Field(2000, gt=0)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    branches: list[BranchConfig] = Field(default_factory=list)


class StressConfig(_Strict):
    seed: int = 0
    sections: list[Literal["windows", "shocks", "montecarlo", "tree"]] = Field(
        default_factory=lambda: ["windows", "shocks", "montecarlo", "tree"])
    montecarlo: MonteCarloConfig = Field(default_factory=MonteCarloConfig)
    proxies: dict[str, ProxyConfig] = Field(default_factory=dict)
    windows: list[WindowConfig] = Field(default_factory=lambda: [
        WindowConfig(name=n, start=s, end=e) for n, s, e in STANDARD_WINDOWS])
    shocks: list[ShockConfig] = Field(default_factory=list)
    tree: TreeConfig = Field(default_factory=TreeConfig)


def validate_stress(table: dict[str, Any], *, file: str | None = None,
                    assets: list[str] | None = None) -> StressConfig:
    """Validate the ``[stress]`` table; errors name the dotted key (``stress.tree...``).

    ``assets`` (the strategy's assets) are checked against the tree's groups.
    """
    from engine.app.config import _raise_from  # one error format for every table

    try:
        sc = StressConfig.model_validate(table)
    except ValidationError as exc:
        _raise_from(exc, "stress", table, file)
    tree = sc.tree
    if tree.branches:
        total = sum(b.probability for b in tree.branches)
        if abs(total - 1.0) > PROB_TOL:
            raise ConfigError("stress.tree.branches.*.probability",
                              [b.probability for b in tree.branches],
                              f"branch probabilities sum to {total!r}, not 1 (within "
                              f"{PROB_TOL:g}); fix stress.tree.branches[*].probability",
                              file=file)
        names = [b.name for b in tree.branches]
        if len(set(names)) != len(names):
            raise ConfigError("stress.tree.branches.*.name", names, "branch names repeat",
                              file=file)
    for i, b in enumerate(tree.branches):
        for fld in ("drift_mult", "vol_mult", "shock"):
            for g, v in getattr(b, fld).items():
                if g not in tree.groups and (assets is None or g not in assets):
                    raise ConfigError(f"stress.tree.branches.{i}.{fld}.{g}", v,
                                      f"{g!r} is neither a group of stress.tree.groups "
                                      f"({sorted(tree.groups)}) nor an asset", file=file)
    names = [w.name for w in sc.windows]
    if len(set(names)) != len(names):
        raise ConfigError("stress.windows.*.name", names, "window names repeat", file=file)
    return sc
