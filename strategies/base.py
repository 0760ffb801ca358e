"""The strategy contract (README "Contracts").

A strategy is a frozen-dataclass of parameters plus ``decide(ctx) -> Decisions``;
``target_weights(ctx)`` is ``decide(ctx).weights``. Strategies read prices and signals from a
point-in-time :class:`Context`, compute nothing the engine already offers, and never touch the
simulator.

Weights frame
-------------
Rows are decision dates (a subset of ``ctx.dates``, or all of them), columns are assets
including ``CASH``; each row sums to 1 (fractions) or is all-NaN, meaning "no rebalance".
A decision dated t uses data up to and including t; the simulator executes it at the next bar.

No look-ahead
-------------
For every t: ``decide(ctx.upto(t)).weights`` equals ``decide(ctx).weights.loc[:t]``.
Every strategy in ``strategies.REGISTRY`` has a hypothesis test of exactly that
(tests/strategies/test_prefix_invariance.py, plus focused ones beside each strategy's tests).

Optional: ``static_weights(ctx=None) -> pd.Series``, the base allocation without rules, used
for the ``"static"`` benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from engine.market import CASH

__all__ = ["CASH", "Context", "Decisions", "LOG_COLUMNS", "Strategy", "check_weights"]

#: Columns of a trigger / warning log.
LOG_COLUMNS = ["date", "rule", "action", "detail"]

#: Tolerance on a weights row summing to 1.
ROW_SUM_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Context:
    """Point-in-time view of what a strategy may read.

    Parameters
    ----------
    prices : pd.DataFrame
        Closes (dates x assets), including ``CASH``; the index defines ``dates``.
    signals : Mapping[str, pd.DataFrame or pd.Series]
        Named signals, each indexed by (a subset of) the same dates; built by the engine's
        signal wrappers (no look-ahead by construction).
    flows : pd.DataFrame, optional
        ETF-level flows in USD (dates x tickers), when the strategy uses them.
    """

    prices: pd.DataFrame
    signals: Mapping[str, pd.DataFrame | pd.Series] = field(default_factory=dict)
    flows: pd.DataFrame | None = None

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.prices.index)

    def upto(self, date) -> Context:
        """The view as it was on ``date``: every frame truncated to index <= date."""
        date = pd.Timestamp(date)

        def cut(x):
            return None if x is None else x.loc[x.index <= date]

        return Context(
            prices=cut(self.prices),
            signals={k: cut(v) for k, v in self.signals.items()},
            flows=cut(self.flows),
        )

    def signal(self, name: str) -> pd.DataFrame | pd.Series:
        try:
            return self.signals[name]
        except KeyError:
            raise KeyError(
                f"signal {name!r} is not in the context; available: {sorted(self.signals)}"
            ) from None


@dataclass(frozen=True)
class Decisions:
    """What a strategy decided: target weights and a log of the rules that fired.

    Parameters
    ----------
    weights : pd.DataFrame
        (decision dates x assets incl. CASH); rows sum to 1 or are all-NaN.
    log : pd.DataFrame
        Columns :data:`LOG_COLUMNS`: date (decision date), rule (name), action (what it did),
        detail (free text with the measured value).
    """

    weights: pd.DataFrame
    log: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOG_COLUMNS))


@runtime_checkable
class Strategy(Protocol):
    """A strategy: frozen parameters plus a pure decision function."""

    def decide(self, ctx: Context) -> Decisions: ...

    def target_weights(self, ctx: Context) -> pd.DataFrame: ...


def check_weights(weights: pd.DataFrame, *, tol: float = ROW_SUM_TOL) -> pd.DataFrame:
    """Validate a weights frame; return it unchanged.

    Raises
    ------
    ValueError
        If ``CASH`` is missing, a row is partially NaN, a weight is negative, or a row does not
        sum to 1 within ``tol``.
    """
    if CASH not in weights.columns:
        raise ValueError("target weights must include a CASH column")
    w = weights.to_numpy(np.float64)
    nan_rows = np.isnan(w).all(axis=1)
    partial = np.isnan(w).any(axis=1) & ~nan_rows
    if partial.any():
        raise ValueError(f"weights row {weights.index[np.argmax(partial)]} is partially NaN")
    live = w[~nan_rows]
    if (live < -tol).any():
        raise ValueError("negative target weight (shorting is not supported)")
    s = live.sum(axis=1)
    if len(s) and np.abs(s - 1.0).max() > tol:
        bad = weights.index[~nan_rows][np.argmax(np.abs(s - 1.0))]
        raise ValueError(f"weights row {bad} sums to {s[np.argmax(np.abs(s - 1.0))]}, not 1")
    return weights
