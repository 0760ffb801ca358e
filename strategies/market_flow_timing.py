"""Market flow timing: hold KOSPI, KOSDAQ or cash by who is buying the market.

Every ``rebalance_every_bars`` bars the strategy reads the named signal (one column per market,
e.g. :func:`engine.app.inputs.krx_market_flow_bp`: foreign + institution net buying in bp of the
market's cap, summed over a trailing window and optionally z-scored). The market with the
highest signal is held at ``invest_weight`` (the rest in ``CASH``) when its signal is at least
``enter_threshold``; otherwise everything goes to ``CASH``.

Hysteresis: a market already held is kept while its signal stays >= ``exit_threshold``
(<= ``enter_threshold``) and it is not beaten by more than ``switch_margin`` -- this keeps
the strategy from flapping around the threshold. A bar on which the signal is NaN for every
market is skipped (no rebalance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies._common import log_frame, rebalance_mask, signal_frame, weights_frame, weights_row
from strategies.base import CASH, Context, Decisions
from strategies.params import ParamError, check_bars, check_finite, check_fraction

__all__ = ["MarketFlowTiming", "MarketFlowTimingParams"]


@dataclass(frozen=True)
class MarketFlowTimingParams:
    """Parameters of :class:`MarketFlowTiming`.

    Parameters
    ----------
    signal : str
        Signal frame name (dates x markets); columns must be the markets' price columns.
    markets : tuple of str
        Markets that can be held (price columns), in tie-break order.
    enter_threshold : float
        Minimum signal (units of the signal, e.g. bp or z) to hold a market at all.
    exit_threshold : float
        A held market stays held while its signal >= this (must be <= ``enter_threshold``).
    switch_margin : float
        A held market is replaced only by one whose signal is higher by more than this.
    invest_weight : float
        Fraction of the portfolio in the chosen market (0..1); the rest is cash.
    rebalance_every_bars : int
        Decide on every n-th bar counted from the first bar of the data.
    """

    signal: str = "krx_flow"
    markets: tuple[str, ...] = ("KOSPI", "KOSDAQ")
    enter_threshold: float = 0.0
    exit_threshold: float = 0.0
    switch_margin: float = 0.0
    invest_weight: float = 1.0
    rebalance_every_bars: int = 5

    def __post_init__(self) -> None:
        if not self.markets:
            raise ParamError("markets", list(self.markets), "must not be empty")
        check_finite("enter_threshold", self.enter_threshold)
        check_finite("exit_threshold", self.exit_threshold)
        if self.exit_threshold > self.enter_threshold:
            raise ParamError("exit_threshold", self.exit_threshold,
                             f"must be <= enter_threshold ({self.enter_threshold:g})")
        check_fraction("invest_weight", self.invest_weight)
        check_finite("switch_margin", self.switch_margin)
        if self.switch_margin < 0:
            raise ParamError("switch_margin", self.switch_margin, "must be >= 0")
        check_bars("rebalance_every_bars", self.rebalance_every_bars)


class MarketFlowTiming:
    """KOSPI vs KOSDAQ vs cash by market-wide net buying (see the module docstring)."""

    def __init__(self, params: MarketFlowTimingParams | None = None) -> None:
        self.params = params or MarketFlowTimingParams()

    def static_weights(self, ctx: Context | None = None) -> pd.Series:
        """Benchmark: the first market held at ``invest_weight`` (buy and hold)."""
        p = self.params
        return pd.Series({p.markets[0]: p.invest_weight, CASH: 1.0 - p.invest_weight})

    def decide(self, ctx: Context) -> Decisions:
        p = self.params
        markets = list(p.markets)
        missing = [m for m in markets if m not in ctx.prices.columns]
        if missing:
            raise KeyError(f"markets {missing} have no prices")
        sig = signal_frame(ctx, p.signal)
        absent = [m for m in markets if m not in sig.columns]
        if absent:
            raise KeyError(f"signal {p.signal!r} has no columns {absent}")
        s_all = sig[markets].to_numpy(np.float64)
        cols, dates = list(ctx.prices.columns), ctx.dates
        rows, log = {}, []
        held: str | None = None  # state carried bar to bar; depends only on past bars
        for i in np.flatnonzero(rebalance_mask(len(dates), p.rebalance_every_bars)):
            s = s_all[i]
            if not np.isfinite(s).any():
                continue
            best = int(np.argmax(np.where(np.isfinite(s), s, -np.inf)))  # first max wins ties
            choice = markets[best] if s[best] >= p.enter_threshold else None
            if held is not None:
                h = markets.index(held)
                keep = np.isfinite(s[h]) and s[h] >= p.exit_threshold
                if keep and (choice is None or choice == held
                             or s[best] - s[h] <= p.switch_margin):
                    choice = held
            w = {choice: p.invest_weight} if choice is not None else {}
            rows[i] = weights_row(w, cols)
            if choice != held:
                detail = ", ".join(f"{m}={x:.3g}" for m, x in zip(markets, s, strict=True))
                log.append((dates[i], "switch", f"hold {choice or CASH}", detail))
            held = choice
        return Decisions(weights_frame(dates, cols, rows), log_frame(log))

    def target_weights(self, ctx: Context) -> pd.DataFrame:
        return self.decide(ctx).weights
