"""Stationary block bootstrap of joint daily returns (Politis and Romano, 1994).

Whole rows (every asset on the same day) are resampled in blocks of geometric length with mean
``block_length``, wrapping around the end of the sample: cross-asset correlation is kept
exactly within a day and volatility clustering within a block. The block length is Politis
and White's (2004, with Patton, Politis and White's 2009 correction), computed by
:func:`arch.bootstrap.optimal_block_length` for each asset; one joint length is needed, and
the mean over the assets is used (documented choice; `block_length` takes an explicit value).

Seeds: path ``i`` draws from ``SeedSequence(seed, spawn_key=(i,))`` -- exactly the ``i``-th child
of ``SeedSequence(seed).spawn(n)`` -- so a path's draws do not depend on how the paths are
chunked or scheduled (pinned by tests/engine/stress/test_bootstrap.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["block_lengths", "joint_block_length", "path_rng", "stationary_indices",
           "stationary_indices_many"]


def block_lengths(returns: pd.DataFrame) -> pd.Series:
    """Politis-White stationary-bootstrap block length of each column (arch's estimate, days).

    Constant columns (a CASH accrual at a fixed rate) have no defined length and are NaN.
    """
    from arch.bootstrap import optimal_block_length

    out = pd.Series(np.nan, index=returns.columns, name="block_length_days", dtype=np.float64)
    # max == min, not std > 0: the std of a constant float column can be 1e-20, not 0.
    live = [c for c in returns.columns if np.nanmax(returns[c]) > np.nanmin(returns[c])]
    if live:
        opt = optimal_block_length(returns[live].to_numpy(np.float64))
        out[live] = opt["stationary"].to_numpy(np.float64)
    return out


def joint_block_length(returns: pd.DataFrame, exclude: Sequence[str] = ()) -> float:
    """Mean block length over the columns (NaN columns and ``exclude`` left out), at least 1."""
    bl = block_lengths(returns.drop(columns=[c for c in exclude if c in returns.columns]))
    bl = bl.dropna()  # zero-variance columns only; listed by block_lengths()
    if bl.empty:
        raise ValueError("no column with variance to estimate a block length from")
    return max(1.0, float(bl.mean()))


def path_rng(seed: int, path: int, stream: int | None = None) -> np.random.Generator:
    """The random generator of path ``path`` (independent of chunking).

    ``stream`` separates families of paths drawn from one seed (the Monte Carlo is stream
    None, each shock and scenario branch its own): entropy ``[seed, stream]``.
    """
    entropy = int(seed) if stream is None else [int(seed), int(stream)]
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(int(path),)))


def stationary_indices(n_obs: int, horizon: int, block_length: float,
                       rng: np.random.Generator) -> np.ndarray:
    """Row indices of one stationary-bootstrap path, shape (horizon,).

    Each day starts a new block with probability ``1 / block_length`` (the first day always),
    at a uniform random row; otherwise it takes the row after the previous one, wrapping
    around (circular). The path's draws are ``rng.random(2 * horizon)``: the first half decides
    the new blocks, the second half their start rows (``floor(u * n_obs)``).

    Examples
    --------
    >>> idx = stationary_indices(100, 5, 1e9, np.random.default_rng(0))
    >>> bool((np.diff(idx) % 100 == 1).all())   # one block: consecutive rows
    True
    """
    return stationary_indices_many(n_obs, horizon, block_length, [rng])[0]


def stationary_indices_many(n_obs: int, horizon: int, block_length: float,
                            rngs) -> np.ndarray:
    """:func:`stationary_indices` of many paths, shape (len(rngs), horizon).

    One ``random`` call per path's generator, the rest vectorized over paths (a Monte Carlo
    draws 10,000 paths; per-path NumPy calls on 252-element arrays would dominate).
    """
    if n_obs < 1 or horizon < 0:
        raise ValueError(f"need n_obs >= 1 and horizon >= 0, got {n_obs}, {horizon}")
    n_p = len(rngs)
    if n_p == 0 or horizon == 0:
        return np.zeros((n_p, horizon), dtype=np.int64)
    u = np.stack([rng.random(2 * horizon) for rng in rngs])
    new = u[:, :horizon] < 1.0 / float(block_length)
    new[:, 0] = True
    starts = np.minimum((u[:, horizon:] * n_obs).astype(np.int64), n_obs - 1)
    t = np.arange(horizon)
    last_start = np.maximum.accumulate(np.where(new, t, 0), axis=1)
    return (np.take_along_axis(starts, last_start, axis=1) + (t - last_start)) % n_obs
