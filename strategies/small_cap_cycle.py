"""Small-cap cycle: Russell 2000 (IWM) early in a recovery, S&P 600 (IJR) later.

README "Concepts": "Russell 2000 (IWM) early in a recovery, rotate to S&P 600 (IJR) after about a
year; a 10-20% small-cap sleeve". A state machine on the ``cycle_asset`` price (default IWM),
advanced bar by bar with data up to that bar only:

* ``normal``: track the running peak; a drawdown of ``bear_drawdown`` or worse -> ``bear``;
* ``bear``: track the trough; a rise of ``recovery_rise`` off the trough -> ``early``
  (recovery starts);
* ``early``: the sleeve holds ``early_asset``; after ``early_hold_bars`` bars, or earlier when
  the optional rotation signal condition holds, -> ``normal`` with the peak reset to the
  current price;
* outside ``early`` the sleeve holds ``late_asset``.

The portfolio is ``core`` + the sleeve (``sleeve_weight``) + ``CASH`` (the remainder). A weights
row is emitted on the first bar and at every sleeve switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from engine.conventions import PERIODS_PER_YEAR
from engine.peaks import drawdown_from_peak, rise_from_trough
from strategies._common import check_fractions, log_frame, signal_frame, weights_frame, weights_row
from strategies.base import CASH, Context, Decisions
from strategies.params import (
    MAX_RETURN,
    check_bars,
    check_finite,
    check_fraction,
    check_weights_table,
)

__all__ = ["SmallCapCycle", "SmallCapCycleParams"]


@dataclass(frozen=True)
class SmallCapCycleParams:
    """Parameters of :class:`SmallCapCycle`.

    Parameters
    ----------
    cycle_asset : str
        Price series whose drawdown / recovery defines the cycle.
    bear_drawdown : float
        Drawdown from the running peak that marks a bear market (fraction, 0.20 = -20 %).
    recovery_rise : float
        Rise off the trough that starts a recovery (fraction).
    early_asset, late_asset : str
        Sleeve holding early in a recovery / otherwise.
    early_hold_bars : int
        Bars the early asset is held (about a year = 252).
    rotate_signal : str, optional
        Signal (``name`` or ``name:column``) that ends the early phase sooner when
        ``rotate_signal <op> rotate_threshold``.
    rotate_op : {"<=", ">="}
    rotate_threshold : float
    sleeve_weight : float
        Small-cap sleeve, fraction of the portfolio (README "Concepts": 0.10 .. 0.20).
    core : dict of str to float
        Fixed weights outside the sleeve; CASH takes the remainder.
    """

    cycle_asset: str = "IWM"
    bear_drawdown: float = 0.20
    recovery_rise: float = 0.10
    early_asset: str = "IWM"
    late_asset: str = "IJR"
    early_hold_bars: int = PERIODS_PER_YEAR
    rotate_signal: str | None = None
    rotate_op: Literal["<=", ">="] = ">="
    rotate_threshold: float = 0.0
    sleeve_weight: float = 0.15
    core: dict[str, float] = field(default_factory=lambda: {"VOO": 0.80})

    def __post_init__(self) -> None:
        # a fall of the peak's whole value or more can never happen: a bear never starts
        check_fraction("bear_drawdown", self.bear_drawdown, lo_open=True, hi_open=True,
                       hint="a positive fraction of the peak: 0.20 means a 20% fall")
        check_fraction("recovery_rise", self.recovery_rise, lo_open=True, hi=MAX_RETURN,
                       hint="a fraction off the trough: 0.10 means +10%")
        check_bars("early_hold_bars", self.early_hold_bars)
        check_finite("rotate_threshold", self.rotate_threshold)
        check_fraction("sleeve_weight", self.sleeve_weight)
        check_weights_table("core", self.core, max_total=1.0 - self.sleeve_weight)
        check_fractions({**self.core, "_sleeve": self.sleeve_weight}, "core + sleeve")


class SmallCapCycle:
    """IWM early in a recovery, IJR otherwise (see the module docstring)."""

    def __init__(self, params: SmallCapCycleParams | None = None) -> None:
        self.params = params or SmallCapCycleParams()

    def _weights(self, sleeve_asset: str) -> dict[str, float]:
        w = dict(self.params.core)
        w[sleeve_asset] = w.get(sleeve_asset, 0.0) + self.params.sleeve_weight
        return w

    def static_weights(self, ctx: Context | None = None) -> pd.Series:
        """Benchmark: core + the late asset in the sleeve, all the time."""
        w = self._weights(self.params.late_asset)
        w[CASH] = w.get(CASH, 0.0) + 1.0 - sum(w.values())
        return pd.Series(w, dtype=np.float64)

    def phases(self, ctx: Context) -> pd.Series:
        """The cycle phase on each bar: "normal", "bear" or "early" (str Series)."""
        p = self.params
        if p.cycle_asset not in ctx.prices.columns:
            raise KeyError(f"cycle_asset {p.cycle_asset!r} has no prices")
        px = ctx.prices[p.cycle_asset].to_numpy(np.float64)
        rot = None
        if p.rotate_signal is not None:
            f = signal_frame(ctx, p.rotate_signal)
            if f.shape[1] != 1:
                raise KeyError(f"rotate_signal {p.rotate_signal!r} must name one column")
            rot = f.iloc[:, 0].to_numpy(np.float64)
        # Segment by segment: each phase starts where the previous one ended, so "the running
        # peak" of a normal phase is the peak since its start (reset after an early phase).
        n, i, state = len(px), 0, "normal"
        out = np.empty(n, dtype=object)
        while i < n:
            if state == "normal":
                hit = np.flatnonzero(drawdown_from_peak(px[i:]) <= -p.bear_drawdown)
            elif state == "bear":
                hit = np.flatnonzero(rise_from_trough(px[i:]) >= p.recovery_rise)
            else:  # early: done after early_hold_bars, or when the rotation signal holds
                ok = np.isfinite(px[i:])
                done = np.arange(n - i) >= p.early_hold_bars
                if rot is not None:
                    r = rot[i:]
                    with np.errstate(invalid="ignore"):
                        done |= (r >= p.rotate_threshold) if p.rotate_op == ">=" else (
                            r <= p.rotate_threshold)
                done[0] = False  # the bar that starts the phase is not checked
                hit = np.flatnonzero(done & ok)
            end = i + int(hit[0]) if hit.size else n
            out[i:end] = state
            state = {"normal": "bear", "bear": "early", "early": "normal"}[state]
            i = end
        return pd.Series(out, index=ctx.dates, dtype=object, name="phase")

    def decide(self, ctx: Context) -> Decisions:
        p = self.params
        dates, cols = ctx.dates, list(ctx.prices.columns)
        phase = self.phases(ctx).to_numpy()
        rows, log, prev = {}, [], None
        for i, ph in enumerate(phase):
            asset = p.early_asset if ph == "early" else p.late_asset
            if asset != prev:
                rows[i] = weights_row(self._weights(asset), cols)
                log.append((dates[i], "small_cap_cycle", f"sleeve -> {asset}", f"phase {ph}"))
                prev = asset
        return Decisions(weights_frame(dates, cols, rows), log_frame(log))

    def target_weights(self, ctx: Context) -> pd.DataFrame:
        return self.decide(ctx).weights
