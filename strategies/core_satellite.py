"""Core/satellite allocation: sleeves, calendar and drift-band rebalancing, declarative triggers.

The reference portfolio (README "Concepts", ``examples/core_satellite.toml``): core 60 %
(RSP 25, VOO 20, VXUS 15), satellite 25 % (XLI 8, XLF 7, MDY 6, XLP 4), growth 10 % (VUG),
cash 5 %, with three triggers (IWM +10 % from the start -> add IWM 5 %; XLK -5 % from its peak
-> VUG to 15 %; VOO -7 % -> core to 70 %).

Decision rules (all causal, pinned by the prefix-invariance tests in
tests/strategies/test_core_satellite.py)
-------------------------------------------------------------------------------------------
* The first date of the context is a decision (the initial allocation).
* Calendar rebalancing on the *first* session of each month / quarter (the last session would
  need to know that tomorrow starts a new month: look-ahead on a truncated history).
* A trigger that fires on t changes the policy (``target``) with :func:`apply_action` and
  rebalances on t. Several triggers firing on the same day apply in their listed order.
* Drift band (``drift_band > 0``): the strategy tracks its own model of the holdings (the last
  target drifted by close-to-close price moves, no fees) and rebalances on the first day any
  asset is more than ``drift_band`` (absolute fraction) away from its target.

The decisions frame holds only decision dates (rows sum to 1, CASH included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from engine.market import CASH
from strategies.base import LOG_COLUMNS, Context, Decisions
from strategies.params import ParamError
from strategies.triggers import (
    Trigger,
    apply_action,
    compare,
    condition_measure,
    describe_action,
    fire_dates,
)

__all__ = ["CoreSatellite", "CoreSatelliteParams", "calendar_positions"]

#: Tolerance on sleeve weights summing to 1.
SUM_TOL = 1e-6


@dataclass(frozen=True)
class CoreSatelliteParams:
    """Parameters of :class:`CoreSatellite` (every field is a TOML key under ``[strategy]``).

    Parameters
    ----------
    sleeves : dict[str, dict[str, float]]
        Sleeve name -> {asset: weight as a fraction of the portfolio}; all sleeves together sum
        to 1. ``CASH`` may be a sleeve member; if it is absent it gets the weight 0.
    rebalance : {"monthly", "quarterly", "none"}
        Calendar rebalancing on the first session of each period.
    drift_band : float
        Absolute drift (fraction, 0.05 = 5 points) that triggers a rebalance; 0 disables.
    triggers : tuple of Trigger
        Applied in order; see :mod:`strategies.triggers`.
    """

    sleeves: dict[str, dict[str, float]]
    rebalance: Literal["monthly", "quarterly", "none"] = "monthly"
    drift_band: float = 0.0
    triggers: tuple[Trigger, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        total = 0.0
        for name, members in self.sleeves.items():
            for asset, w in members.items():
                if not 0 <= w <= 1:  # negative, NaN or a percent typed for a fraction
                    raise ParamError(f"sleeves.{name}.{asset}", w,
                                     f"sleeve {name!r}: weight of {asset} is negative, NaN or "
                                     "above 1; weights are fractions: 0.25 means 25%")
                total += w
        if abs(total - 1.0) > SUM_TOL:
            raise ParamError("sleeves", self.sleeves, f"sleeve weights sum to {total:.6f}, not 1")
        if not 0 <= self.drift_band < 1:
            # a band of 1 (100 points) can never be left: the rebalance would silently never run
            raise ParamError("drift_band", self.drift_band, "is negative, NaN or >= 1; it is an "
                             "absolute fraction: 0.05 means 5 points (0 = off)")
        # Sleeve names a trigger refers to, checked now rather than at the first firing.
        for i, trig in enumerate(self.triggers):
            for fld, sleeve in trig.action.sleeves_used.items():
                if sleeve not in self.sleeves:
                    raise ParamError(f"triggers.{i}.action.{fld}", getattr(trig.action, fld),
                                     f"sleeve {sleeve!r} is not defined; sleeves: "
                                     f"{sorted(self.sleeves)}")
        seen: dict[str, str] = {}
        for name, members in self.sleeves.items():
            for asset in members:
                if asset in seen:
                    raise ParamError(f"sleeves.{name}.{asset}", members[asset],
                                     f"asset {asset} is in sleeves {seen[asset]!r} and {name!r}")
                seen[asset] = name


def calendar_positions(dates: pd.DatetimeIndex, rebalance: str) -> np.ndarray:
    """Positions of calendar rebalance dates: the first date plus each period's first session.

    Examples
    --------
    >>> d = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-04-01"])
    >>> calendar_positions(d, "monthly").tolist(), calendar_positions(d, "quarterly").tolist()
    ([0, 2, 3], [0, 3])
    """
    n = len(dates)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if rebalance == "none":
        return np.zeros(1, dtype=np.int64)
    months = dates.year.to_numpy() * 12 + dates.month.to_numpy() - 1
    period = months if rebalance == "monthly" else months // 3
    new = np.concatenate([[True], period[1:] != period[:-1]])
    return np.flatnonzero(new).astype(np.int64)


class CoreSatellite:
    """Sleeve allocation with calendar / drift-band rebalancing and triggers.

    Examples
    --------
    >>> px = pd.DataFrame({"A": [10.0, 11, 12], "CASH": 1.0},
    ...                   index=pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-02"]))
    >>> p = CoreSatelliteParams(sleeves={"core": {"A": 0.9}, "cash": {"CASH": 0.1}})
    >>> CoreSatellite(p).target_weights(Context(px))
                  A  CASH
    2024-01-31  0.9   0.1
    2024-02-01  0.9   0.1
    """

    def __init__(self, params: CoreSatelliteParams) -> None:
        self.params = params
        # Built once: a sweep constructs and runs 1,000s of these.
        w = {a: float(x) for members in params.sleeves.values() for a, x in members.items()}
        cash = w.pop(CASH, 0.0)
        self._static = pd.Series([*w.values(), cash], index=[*w, CASH], dtype=np.float64)
        assets = list(w)
        for t in params.triggers:
            a = t.action.asset
            if t.action.kind == "set_weight" and a not in assets and a != CASH:
                assets.append(a)
        self._assets = [*assets, CASH]

    # -------------------------------------------------------------------------------- helpers
    @property
    def sleeve_members(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.params.sleeves.items()}

    def static_weights(self, ctx: Context | None = None) -> pd.Series:
        """The base allocation (sleeves flattened, CASH last), used for the "static" benchmark.

        ``ctx`` is accepted for the common signature (strategies whose universe comes from
        the data need it); the sleeves here are fixed by the parameters."""
        return self._static.copy()

    def assets(self) -> list[str]:
        """All assets the strategy may hold: sleeve members, trigger assets, CASH last."""
        return list(self._assets)

    # ------------------------------------------------------------------------------- decisions
    def target_weights(self, ctx: Context) -> pd.DataFrame:
        return self.decide(ctx).weights

    def decide(self, ctx: Context) -> Decisions:
        """Target weights on decision dates and the log of triggers / drift rebalances."""
        p = self.params
        dates = ctx.dates
        assets = self.assets()
        n = len(dates)
        if n == 0:
            return Decisions(pd.DataFrame(columns=assets, dtype=np.float64),
                             pd.DataFrame(columns=LOG_COLUMNS))
        sleeves = self.sleeve_members
        # assets() holds every static asset, so the fill only adds 0 for trigger-only assets
        tv = self._static.reindex(assets, fill_value=0.0).to_numpy(np.float64)

        # Trigger fire positions (vectorized; conditions depend on data only, not on state).
        fires: dict[int, list[tuple[Trigger, float]]] = {}
        notes: list[tuple] = []
        for trig in p.triggers:
            m = condition_measure(trig.condition, ctx)
            if "anchor_note" in m.attrs:  # a NaN at the anchor: say where it moved (#10 item 6)
                d, text = m.attrs["anchor_note"]
                notes.append((d, trig.name, "anchor moved", text))
            measure = m.to_numpy(np.float64)
            hit = pd.Series(compare(trig.condition, measure), index=dates)
            for d in fire_dates(hit, trig.rearm):
                pos = int(dates.get_loc(d))
                fires.setdefault(pos, []).append((trig, float(measure[pos])))

        scheduled = sorted(set(calendar_positions(dates, p.rebalance).tolist()) | set(fires))
        px = None
        if p.drift_band > 0:
            missing = [a for a in assets if a != CASH and a not in ctx.prices.columns]
            if missing:
                raise KeyError(f"drift band needs prices for {missing}")
            # columns only; missing asset prices were refused just above (CASH set to 1 below)
            px = ctx.prices.reindex(columns=assets).to_numpy(np.float64, copy=True)
            if CASH not in ctx.prices.columns:
                px[:, -1] = 1.0

        rows: list[int] = []
        targets: list[np.ndarray] = []
        log: list[tuple] = []
        i = 0
        pos = scheduled[0]
        while pos is not None:
            events = fires.get(pos)
            if events:  # pandas only on the rare trigger days (a sweep decides 1,000s of times)
                target = pd.Series(tv, index=assets)
                for trig, value in events:
                    target = apply_action(target, sleeves, trig.action)
                    c = trig.condition
                    log.append((dates[pos], trig.name, describe_action(trig.action),
                                f"{c.name} {c.measure}={value:+.4f} {c.op} {c.threshold:g}"))
                # apply_action only adds assets of the strategy (all in assets()): nothing lost
                tv = target.reindex(assets, fill_value=0.0).to_numpy(np.float64)
            rows.append(pos)
            targets.append(tv)
            # Next scheduled event after pos.
            while i < len(scheduled) and scheduled[i] <= pos:
                i += 1
            nxt = scheduled[i] if i < len(scheduled) else None
            if px is not None:
                stop = n if nxt is None else nxt
                drift_at = self._first_drift(px, tv, pos, stop, p.drift_band)
                if drift_at is not None:
                    pos_d, dev, asset = drift_at
                    log.append((dates[pos_d], "drift_band", "rebalance",
                                f"{assets[asset]} drifted {dev:+.4f} > {p.drift_band:g}"))
                    pos = pos_d
                    continue
            pos = nxt
        weights = pd.DataFrame(np.vstack(targets), index=dates[rows], columns=assets)
        weights.index.name = ctx.prices.index.name
        logf = pd.DataFrame(sorted(notes + log, key=lambda r: r[0]), columns=LOG_COLUMNS)
        logf["date"] = logf["date"].astype(dates.dtype)  # typed even when empty
        for c in LOG_COLUMNS[1:]:
            logf[c] = logf[c].astype("str")
        return Decisions(weights, logf)

    @staticmethod
    def _first_drift(px: np.ndarray, target: np.ndarray, start: int, stop: int,
                     band: float) -> tuple[int, float, int] | None:
        """First position in (start, stop) where drifted holdings leave the band, or None.

        Holdings set to ``target`` at the close of ``start`` drift with prices:
        ``h[t] = target * px[t] / px[start]``, renormalized. Assets with zero target are
        ignored (their price may be NaN).
        """
        if stop - start <= 1:
            return None
        held = target > 0
        seg = px[start + 1:stop][:, held] / px[start, held]
        h = seg * target[held]
        h = h / h.sum(axis=1, keepdims=True)
        dev = h - target[held]
        with np.errstate(invalid="ignore"):
            over = np.abs(dev) > band
        hit = np.flatnonzero(over.any(axis=1))
        if len(hit) == 0:
            return None
        k = int(hit[0])
        # picks the asset to name in the log only; the drift test above already used NaN
        j = int(np.argmax(np.abs(np.nan_to_num(dev[k]))))
        return start + 1 + k, float(dev[k, j]), int(np.flatnonzero(held)[j])
