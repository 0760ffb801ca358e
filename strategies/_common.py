"""Small helpers shared by the flow strategies: schedules, weight rows, signal lookup.

Nothing here computes a signal; the helpers only read what the context holds and lay out
weights frames in the shape :func:`strategies.base.check_weights` expects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from engine.errors import DataError
from strategies.base import CASH, Context

__all__ = ["empty_log", "holds", "rebalance_mask", "signal_frame", "signal_series", "weights_row",
           "weights_frame"]


def rebalance_mask(n_bars: int, every_bars: int, offset_bars: int = 0) -> np.ndarray:
    """Boolean mask of decision bars: bar ``i`` decides when ``i >= offset_bars`` and
    ``(i - offset_bars) % every_bars == 0``.

    Counting from the first bar of the context keeps the schedule identical when later data is
    appended (prefix invariance).
    """
    if every_bars < 1:
        raise ValueError(f"rebalance every_bars must be >= 1, got {every_bars}")
    i = np.arange(n_bars)
    return (i >= offset_bars) & ((i - offset_bars) % every_bars == 0)


def signal_frame(ctx: Context, name: str) -> pd.DataFrame:
    """A named signal as a DataFrame on ``ctx.dates``.

    ``name`` is a signal name, or ``"signal:column"`` for one column of a signal frame.
    Rows of ``ctx.dates`` the signal lacks are NaN (nothing filled).

    Raises
    ------
    DataError
        When the signal has values on dates that are not price dates: reindexing would drop
        them silently (issue #10 item 2; the builders of :mod:`engine.app.inputs` put every
        signal on the market's dates and count what they drop).
    """
    sig_name, _, col = name.partition(":")
    s = ctx.signal(sig_name)
    f = s.to_frame() if isinstance(s, pd.Series) else s
    if col:
        if col not in f.columns:
            raise KeyError(f"signal {sig_name!r} has no column {col!r}; it has {list(f.columns)}")
        f = f[[col]]
    dates = ctx.dates
    off = ~pd.DatetimeIndex(f.index).isin(dates)
    if off.any() and f.loc[off].notna().to_numpy().any():
        bad = f.loc[off]
        first = pd.Timestamp(bad.index[bad.notna().any(axis=1).to_numpy()][0]).date()
        raise DataError(
            f"signal {sig_name!r} has {int(bad.notna().to_numpy().sum())} values on dates "
            f"that are not price dates (first {first}); they would be dropped",
            column=col or None,
            fix="build the signal on the price dates (the [signals] builders do), or "
                "reindex it onto prices.index and aggregate what falls between sessions")
    return f.reindex(dates)


def signal_series(ctx: Context, name: str) -> pd.Series:
    """A named one-column signal (or ``"signal:column"``) as a float Series on ``ctx.dates``.

    Raises
    ------
    KeyError
        If the signal has several columns and ``name`` does not pick one.
    """
    f = signal_frame(ctx, name)
    if f.shape[1] != 1:
        raise KeyError(f"signal {name!r} has {f.shape[1]} columns; name one as "
                       f"'{name.partition(':')[0]}:<column>'")
    return f.iloc[:, 0].astype(np.float64)


def holds(value, op: str, threshold: float):
    """``value <op> threshold`` for ``op`` in {"<=", ">="}, element-wise; a non-finite value
    (NaN, or +-inf from a zero price) is False: an unknown value never activates a rule."""
    with np.errstate(invalid="ignore"):
        hit = np.less_equal(value, threshold) if op == "<=" else np.greater_equal(value, threshold)
    return hit & np.isfinite(value)


def weights_row(weights: Mapping[str, float], columns: Iterable[str]) -> np.ndarray:
    """One row of weights over ``columns`` (missing assets 0); cash absorbs the remainder."""
    cols = list(columns)
    row = np.zeros(len(cols))
    pos = {c: i for i, c in enumerate(cols)}
    for a, w in weights.items():
        if a not in pos:
            raise KeyError(f"asset {a!r} is not in the price columns {cols}")
        row[pos[a]] += w
    row[pos[CASH]] += 1.0 - row.sum()
    if -1e-12 < row[pos[CASH]] < 0.0:
        row[pos[CASH]] = 0.0  # float residue of 1 - sum; never a short cash position
    return row


def weights_frame(dates: pd.DatetimeIndex, columns: Iterable[str],
                  rows: Mapping[int, np.ndarray]) -> pd.DataFrame:
    """A weights frame on ``dates`` with the given rows (by bar position); others all-NaN."""
    cols = list(columns)
    w = np.full((len(dates), len(cols)), np.nan)
    for i, r in rows.items():
        w[i] = r
    return pd.DataFrame(w, index=dates, columns=cols)


def empty_log() -> pd.DataFrame:
    from strategies.base import LOG_COLUMNS

    return pd.DataFrame(columns=LOG_COLUMNS)


def log_frame(records: list[tuple]) -> pd.DataFrame:
    """A decisions log from ``(date, rule, action, detail)`` tuples."""
    from strategies.base import LOG_COLUMNS

    if not records:
        return empty_log()
    return pd.DataFrame(records, columns=LOG_COLUMNS)


def check_fractions(weights: Mapping[str, float], what: str) -> None:
    """Weights must be >= 0 and sum to <= 1 (cash takes the rest)."""
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"{what}: weights must be >= 0, got {dict(weights)}")
    total = sum(weights.values())
    if total > 1.0 + 1e-9:
        raise ValueError(f"{what}: weights sum to {total}, more than 1")
