"""Regime allocation: named scenarios with allocations, the active one chosen by signal rules.

README "Concepts": "Scenario responses with probabilities: base 60% (keep, overweight XLI/XLF), bull 25%
(raise VUG, buy QQQ in steps), bear 15% (raise XLP/XLU, cash to 20%)". Each :class:`Scenario`
carries its allocation (fractions; ``CASH`` takes any remainder), an optional
:class:`Ramp` (an asset bought in steps funded from cash while the scenario stays active) and
its probability.

Two uses:

* **Switching** (:class:`RegimeAllocation`): at each bar the first :class:`RegimeRule` whose
  conditions all hold on that bar's signal values picks the active scenario; no rule ->
  ``default``; a scenario is kept at least ``min_hold_bars`` bars. A weights row is emitted when the scenario changes, when a ramp steps, and
  every ``rebalance_every_bars`` bars (0 = only on changes).
* **Scenario tree**: each scenario's static allocation (:meth:`RegimeAllocation.scenario_weights`)
  with its probability is a branch of ``flowbt backtest``'s scenario tree (``scenarios.csv``,
  built by ``engine.app.stress_sections.regime_tree`` on ``engine.stress.tree``): outcome
  distributions on bootstrapped paths per scenario and their probability-weighted mixture.
  (The earlier probability-weighted average of metrics over one shared history is gone:
  Sharpe ratios and drawdowns are not linear, so their weighted average is no expectation.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from strategies._common import (
    check_fractions,
    holds,
    log_frame,
    rebalance_mask,
    signal_series,
    weights_frame,
    weights_row,
)
from strategies.base import CASH, Context, Decisions
from strategies.params import (
    ParamError,
    check_bars,
    check_finite,
    check_fraction,
    check_weights_table,
)

__all__ = [
    "DEFAULT_SCENARIOS",
    "Ramp",
    "RegimeAllocation",
    "RegimeParams",
    "RegimeRule",
    "Scenario",
    "SignalCondition",
]

#: Tolerance on scenario probabilities summing to 1.
PROB_SUM_TOL = 1e-6


@dataclass(frozen=True)
class Ramp:
    """Buy ``asset`` in steps while a scenario is active, funded from its cash.

    The asset's weight is ``min(step * (1 + n), max_weight)`` where ``n`` counts the
    ``every_bars`` periods since the scenario became active; cash falls by the same amount.
    """

    asset: str
    step: float
    max_weight: float
    every_bars: int = 21

    def __post_init__(self) -> None:
        check_fraction("step", self.step, lo_open=True)
        check_fraction("max_weight", self.max_weight)
        check_bars("every_bars", self.every_bars)


@dataclass(frozen=True)
class Scenario:
    """A named allocation. ``weights`` are fractions (<= 1 in total; cash takes the rest)."""

    name: str
    probability: float
    weights: dict[str, float]
    ramp: Ramp | None = None

    def __post_init__(self) -> None:
        check_fraction("probability", self.probability, hint="probabilities are fractions: "
                       "0.60 means 60%")


@dataclass(frozen=True)
class SignalCondition:
    """``signal <op> threshold`` on the signal's value at the decision bar.

    ``signal`` is a signal name (a single-column frame or a Series) or ``"name:column"``.
    """

    signal: str
    op: Literal["<=", ">="]
    threshold: float

    def __post_init__(self) -> None:
        check_finite("threshold", self.threshold)  # NaN would silently never hold


@dataclass(frozen=True)
class RegimeRule:
    """Activate ``scenario`` when all ``conditions`` hold (rules are tried in order)."""

    scenario: str
    conditions: tuple[SignalCondition, ...]


_REFERENCE = {"RSP": 0.25, "VOO": 0.20, "VXUS": 0.15, "XLI": 0.08, "XLF": 0.07, "MDY": 0.06,
              "XLP": 0.04, "VUG": 0.10}

#: the README's three scenarios on the reference core/satellite allocation (cash 5 %).
DEFAULT_SCENARIOS = (
    # base: keep the reference, overweight XLI/XLF (+2 pp each) funded from MDY/XLP
    Scenario("base", 0.60, {**_REFERENCE, "XLI": 0.10, "XLF": 0.09, "MDY": 0.04, "XLP": 0.02}),
    # bull: raise VUG to 15 %, buy QQQ in 2.5 pp steps up to 7.5 % out of an 8 % cash buffer
    Scenario("bull", 0.25, {**_REFERENCE, "RSP": 0.22, "VOO": 0.18, "VXUS": 0.13, "XLP": 0.03,
                            "VUG": 0.15},
             ramp=Ramp("QQQ", step=0.025, max_weight=0.075, every_bars=21)),
    # bear: raise XLP/XLU, cash to 20 %
    Scenario("bear", 0.15, {"RSP": 0.20, "VOO": 0.15, "VXUS": 0.10, "XLI": 0.05, "XLF": 0.04,
                            "MDY": 0.03, "XLP": 0.10, "XLU": 0.08, "VUG": 0.05}),
)


@dataclass(frozen=True)
class RegimeParams:
    """Parameters of :class:`RegimeAllocation`.

    Parameters
    ----------
    scenarios : tuple of Scenario
        Probabilities must sum to 1.
    rules : tuple of RegimeRule
        Tried in order at each bar; the first whose conditions all hold wins.
    default : str
        Scenario active when no rule holds (or a rule's signal is NaN).
    rebalance_every_bars : int
        Also re-emit the active allocation every n bars (0 = only on changes and ramp steps).
    min_hold_bars : int
        A scenario stays active at least this many bars before another may replace it (stops
        flapping around a threshold; 1 = switch whenever the rules say so).
    """

    scenarios: tuple[Scenario, ...] = DEFAULT_SCENARIOS
    rules: tuple[RegimeRule, ...] = ()
    default: str = "base"
    rebalance_every_bars: int = 0
    min_hold_bars: int = 1

    def __post_init__(self) -> None:
        names = [s.name for s in self.scenarios]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ParamError(f"scenarios.{i}.name", name, "scenario names must be unique")
        if self.default not in names:
            raise ParamError("default", self.default, f"is not a scenario ({names})")
        total = sum(s.probability for s in self.scenarios)
        if abs(total - 1.0) > PROB_SUM_TOL:
            raise ParamError("scenarios", [f"{s.name}: {s.probability:g}" for s in self.scenarios],
                             f"scenario probabilities sum to {total:.6f}, not 1")
        for i, s in enumerate(self.scenarios):
            check_weights_table(f"scenarios.{i}.weights", s.weights)
            check_fractions(s.weights, f"scenario {s.name}")
            if s.ramp is not None:
                cash = 1.0 - sum(s.weights.values()) + s.weights.get(CASH, 0.0)
                if s.ramp.max_weight > cash + 1e-12:
                    raise ParamError(f"scenarios.{i}.ramp.max_weight", s.ramp.max_weight,
                                     f"scenario {s.name}: more than the scenario's cash "
                                     f"({cash:.4f}) that funds the ramp")
        for i, r in enumerate(self.rules):
            if r.scenario not in names:
                raise ParamError(f"rules.{i}.scenario", r.scenario,
                                 f"is not a scenario ({names})")
        check_bars("rebalance_every_bars", self.rebalance_every_bars, lo=0)
        check_bars("min_hold_bars", self.min_hold_bars)

    @property
    def probabilities(self) -> dict[str, float]:
        return {s.name: s.probability for s in self.scenarios}


class RegimeAllocation:
    """Switch between named scenario allocations by rules on signals."""

    def __init__(self, params: RegimeParams | None = None) -> None:
        self.params = params or RegimeParams()
        self._by_name = {s.name: s for s in self.params.scenarios}

    def scenario_weights(self, name: str, n_ramp_steps: int | None = None) -> pd.Series:
        """Static allocation of one scenario (ramp at ``n_ramp_steps`` steps; None = full)."""
        s = self._by_name[name]
        w = dict(s.weights)
        if s.ramp is not None:
            steps = np.inf if n_ramp_steps is None else n_ramp_steps
            w[s.ramp.asset] = w.get(s.ramp.asset, 0.0) + min(s.ramp.step * steps,
                                                              s.ramp.max_weight)
        w[CASH] = w.get(CASH, 0.0) + 1.0 - sum(w.values())
        return pd.Series(w, dtype=np.float64)

    def static_weights(self, ctx: Context | None = None) -> pd.Series:
        """The default scenario's allocation (before any ramp step)."""
        return self.scenario_weights(self.params.default, n_ramp_steps=0)

    def scenario_variants(self, ctx: Context, rebalance_every_bars: int = 21
                          ) -> dict[str, pd.DataFrame]:
        """One static weights frame per scenario (full ramp), rebalanced every
        ``rebalance_every_bars`` bars: each scenario's allocation held over ``ctx``'s history
        (``engine.simulation.simulate(ctx.prices, variants)``).
        """
        cols, dates = list(ctx.prices.columns), ctx.dates
        bars = np.flatnonzero(rebalance_mask(len(dates), rebalance_every_bars))
        out = {}
        for s in self.params.scenarios:
            row = weights_row(self.scenario_weights(s.name).drop(CASH).to_dict(), cols)
            out[s.name] = weights_frame(dates, cols, {int(i): row for i in bars})
        return out

    def active_scenarios(self, ctx: Context) -> pd.Series:
        """The scenario active on each bar (str Series on ``ctx.dates``)."""
        p = self.params
        cond_values = {}
        for r in p.rules:
            for c in r.conditions:
                if c.signal not in cond_values:
                    cond_values[c.signal] = signal_series(ctx, c.signal).to_numpy()
        active: list[str] = []
        since = 0
        for i in range(len(ctx.dates)):
            name = p.default
            for r in p.rules:
                if all(holds(cond_values[c.signal][i], c.op, c.threshold) for c in r.conditions):
                    name = r.scenario
                    break
            if active and name != active[-1]:
                if i - since < p.min_hold_bars:
                    name = active[-1]  # too early to leave the current scenario
                else:
                    since = i
            active.append(name)
        return pd.Series(active, index=ctx.dates, dtype=object, name="scenario")

    def decide(self, ctx: Context) -> Decisions:
        p = self.params
        cols, dates = list(ctx.prices.columns), ctx.dates
        active = self.active_scenarios(ctx).to_numpy()
        periodic = (rebalance_mask(len(dates), p.rebalance_every_bars)
                    if p.rebalance_every_bars else np.zeros(len(dates), bool))
        rows, log = {}, []
        prev, since, prev_ramp = None, 0, 0.0
        for i, name in enumerate(active):
            changed = name != prev
            if changed:
                since = i
            s = self._by_name[name]
            n_steps = 0 if s.ramp is None else 1 + (i - since) // s.ramp.every_bars
            w = self.scenario_weights(name, n_ramp_steps=n_steps)
            ramp_w = 0.0 if s.ramp is None else float(w[s.ramp.asset])
            stepped = not changed and ramp_w != prev_ramp
            if changed or stepped or periodic[i]:
                rows[i] = weights_row(w.drop(CASH).to_dict(), cols)
                if changed:
                    log.append((dates[i], "regime", f"activate {name}", f"from {prev}"))
                elif stepped:
                    log.append((dates[i], "ramp", f"{s.ramp.asset} step {n_steps}",
                                f"weight {ramp_w:.4f}"))
            prev, prev_ramp = name, ramp_w
        return Decisions(weights_frame(dates, cols, rows), log_frame(log))

    def target_weights(self, ctx: Context) -> pd.DataFrame:
        return self.decide(ctx).weights
