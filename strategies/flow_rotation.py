"""Flow rotation: overweight the sector ETFs with the strongest flow signal.

Every ``rebalance_every_bars`` bars, the ETFs of ``universe`` are ranked by the named flow
signal on that bar (e.g. constituent-synthesized foreign + pension flow in bp, z-scored over a
window, or ETF-level flow in % of AUM); the top ``top_k`` are overweighted inside the satellite
sleeve:

.. math::

    w_{sleeve}(e) = s \\cdot \\Big[(1 - \\tau) \\frac{1}{n} + \\tau \\frac{1[e \\in top_k]}{k}\\Big]

with sleeve weight ``s = sleeve_weight``, tilt ``tau = tilt`` and ``n`` the universe size. The
``core`` weights are held as they are and ``CASH`` takes the remainder. ``tilt = 0`` is the
benchmark: equal weight over the universe (:meth:`FlowRotation.static_weights`).

A bar on which fewer than ``top_k`` ETFs of the universe have a finite signal is skipped
(no rebalance). Ties are broken by universe order (stable sort), so a rerun gives the same
ranks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategies._common import (
    check_fractions,
    log_frame,
    rebalance_mask,
    signal_frame,
    weights_frame,
    weights_row,
)
from strategies.base import CASH, Context, Decisions
from strategies.params import (
    ParamError,
    check_bars,
    check_fraction,
    check_weights_table,
    is_whole,
)

__all__ = ["FlowRotation", "FlowRotationParams"]


@dataclass(frozen=True)
class FlowRotationParams:
    """Parameters of :class:`FlowRotation` (every field can be set in TOML).

    Parameters
    ----------
    signal : str
        Name of the signal frame in the context (dates x ETFs); higher = stronger inflow.
    universe : tuple of str
        ETFs to rank (price columns). Empty: every signal column that is also a price column.
    top_k : int
        Number of ETFs overweighted.
    tilt : float
        0..1; 1 puts the whole sleeve in the top k, 0 is equal weight.
    sleeve_weight : float
        Fraction of the portfolio in the rotation sleeve (0..1).
    core : dict of str to float
        Fixed weights held outside the sleeve (fractions); ``CASH`` gets ``1 - core - sleeve``.
    rebalance_every_bars : int
        Decide on every n-th bar counted from the first bar of the data.
    """

    signal: str = "sector_flow"
    universe: tuple[str, ...] = ()
    top_k: int = 3
    tilt: float = 1.0
    sleeve_weight: float = 1.0
    core: dict[str, float] = field(default_factory=dict)
    rebalance_every_bars: int = 21

    def __post_init__(self) -> None:
        if not (is_whole(self.top_k) and self.top_k >= 1):
            raise ParamError("top_k", self.top_k, "must be a whole number >= 1")
        check_fraction("tilt", self.tilt, hint="1 puts the whole sleeve in the top k, 0 is "
                       "equal weight")
        check_fraction("sleeve_weight", self.sleeve_weight)
        check_weights_table("core", self.core, max_total=1.0 - self.sleeve_weight)
        check_fractions({**self.core, "_sleeve": self.sleeve_weight}, "core + sleeve")
        if self.universe and self.top_k > len(self.universe):
            raise ParamError("top_k", self.top_k,
                             f"exceeds the universe size {len(self.universe)}")
        check_bars("rebalance_every_bars", self.rebalance_every_bars)


class FlowRotation:
    """Rank ETFs by a flow signal and overweight the top k (see the module docstring)."""

    def __init__(self, params: FlowRotationParams | None = None) -> None:
        self.params = params or FlowRotationParams()

    def _universe(self, ctx: Context) -> list[str]:
        p = self.params
        if p.universe:
            missing = [e for e in p.universe if e not in ctx.prices.columns]
            if missing:
                raise KeyError(f"universe ETFs {missing} have no prices")
            return list(p.universe)
        sig = ctx.signal(p.signal)
        cols = [c for c in sig.columns if c in ctx.prices.columns and c != CASH]
        if len(cols) < p.top_k:
            raise KeyError(f"signal {p.signal!r} has {len(cols)} priced ETFs, fewer than top_k")
        return cols

    def sleeve_weights(self, ranks_top: list[str], universe: list[str]) -> dict[str, float]:
        """Sleeve weights (fractions of the portfolio) given the top-k ETFs."""
        p = self.params
        n = len(universe)
        w = {e: p.sleeve_weight * (1.0 - p.tilt) / n for e in universe}
        for e in ranks_top:
            w[e] += p.sleeve_weight * p.tilt / len(ranks_top)
        return w

    def static_weights(self, ctx: Context | None = None) -> pd.Series:
        """The benchmark allocation: core + equal-weight sleeve + cash (tilt 0)."""
        p = self.params
        universe = list(p.universe) if (p.universe or ctx is None) else self._universe(ctx)
        if not universe:
            raise ValueError("static_weights needs params.universe (or a context)")
        w = {e: p.sleeve_weight / len(universe) for e in universe}
        for a, x in p.core.items():
            w[a] = w.get(a, 0.0) + x
        w[CASH] = w.get(CASH, 0.0) + 1.0 - sum(w.values())
        return pd.Series(w, dtype=np.float64)

    def decide(self, ctx: Context) -> Decisions:
        p = self.params
        universe = self._universe(ctx)
        sig = signal_frame(ctx, p.signal)[universe].to_numpy(np.float64)
        cols = list(ctx.prices.columns)
        dates = ctx.dates
        rows, log, prev_top = {}, [], None
        for i in np.flatnonzero(rebalance_mask(len(dates), p.rebalance_every_bars)):
            s = sig[i]
            finite = np.isfinite(s)
            if finite.sum() < p.top_k:
                continue
            # stable sort on -signal: ties keep universe order; NaNs go last
            order = np.argsort(np.where(finite, -s, np.inf), kind="stable")
            top = [universe[j] for j in order[: p.top_k]]
            w = self.sleeve_weights(top, universe)
            for a, x in p.core.items():
                w[a] = w.get(a, 0.0) + x
            rows[i] = weights_row(w, cols)
            if top != prev_top:  # log changes of the top set only
                detail = ", ".join(f"{universe[j]}={s[j]:.3g}" for j in order[: p.top_k])
                log.append((dates[i], "rank", f"overweight {'+'.join(top)}", detail))
            prev_top = top
        return Decisions(weights_frame(dates, cols, rows), log_frame(log))

    def target_weights(self, ctx: Context) -> pd.DataFrame:
        return self.decide(ctx).weights
