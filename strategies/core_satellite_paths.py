"""The core/satellite decisions on many price paths (or many variants) at once.

``CoreSatellite.decide`` handles one price history through pandas; Monte Carlo needs the same
decisions on 10,000 bootstrapped paths and a sweep on 1,000 parameter variants. This module
computes exactly those decisions with arrays:

1. **Trigger conditions** depend on the data only (not on the portfolio), so each condition's
   measure is computed for all paths at once (the same NumPy expressions as
   :func:`strategies.triggers.condition_measure`, along the time axis) and its fire positions
   follow (the first True date, or every False -> True transition with ``rearm``).
2. **Targets**: the target in force after a sequence of firing days is a pure function of that
   sequence. Each distinct sequence is computed once with :func:`strategies.triggers.apply_action`
   (the same function, in the same order, as ``decide``) and numbered as a *state*.
3. **Schedule**: calendar rebalances, event days and drift-band rebalances come from
   :func:`engine.nb.rebalance_nb.rebalance_schedule_nb`, the decision loop as a kernel.

The result, :class:`PathDecisions`, is a compact CSR of decision rows per path; ``frames(p)``
rebuilds the :class:`~strategies.base.Decisions` of path ``p`` as ``decide`` returns them
(pinned by tests/strategies/test_core_satellite_paths.py on random paths, with and without
drift band and re-arming triggers). Signal conditions (``on = "signal"``) need signal panels
per path and are refused here (:class:`ValueError`); use ``decide`` for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.market import CASH
from engine.nb.rebalance_nb import KIND_DRIFT, rebalance_schedule_nb
from strategies.base import LOG_COLUMNS, Decisions
from strategies.core_satellite import CoreSatellite, CoreSatelliteParams, calendar_positions
from strategies.triggers import Condition, apply_action, compare, describe_action, measure_values

__all__ = ["PathDecisions", "decide_paths", "measures"]


@dataclass(frozen=True)
class PathDecisions:
    """Decisions of one strategy on P price paths sharing one date index.

    Attributes
    ----------
    assets : list of str, length A
        Columns of the targets (CASH last), as ``CoreSatellite.assets()``.
    dates : pd.DatetimeIndex, length T
    targets : ndarray, shape (S, A)
        Target weights of each state (state 0 = the initial allocation).
    ptr : ndarray of int64, shape (P + 1,)
        Path p's decision rows are ``ptr[p]:ptr[p + 1]`` of the arrays below.
    pos, state, kind : ndarray of int64, shape (R,)
        Decision position (bar), its target state, 0 = scheduled / 1 = drift band.
    drift_dev : ndarray, shape (R,)
        Deviation that triggered a drift row (NaN elsewhere).
    drift_asset : ndarray of int64, shape (R,)
        Column of that asset (-1 elsewhere).
    fire_pos : list of ndarray, one per trigger
        ``fire_pos[k]`` is (P,) the first fire position of trigger k on each path, -1 if it
        never fires (``fire_all`` holds every firing for re-arming triggers).
    fire_all : list of list of ndarray
        ``fire_all[k][p]``: all fire positions of trigger k on path p.
    fire_value : list of list of ndarray
        The measured value at each of those fires (for the log's detail).
    anchor_notes : list of list, one per trigger
        ``anchor_notes[k][p]``: None, or ``(requested anchor date, text)`` where the
        condition's anchor moved on path p (a NaN on the anchor session): logged as an
        "anchor moved" row, as ``decide`` logs it.
    """

    params: CoreSatelliteParams
    assets: list[str]
    dates: pd.DatetimeIndex
    targets: np.ndarray
    ptr: np.ndarray
    pos: np.ndarray
    state: np.ndarray
    kind: np.ndarray
    drift_dev: np.ndarray
    drift_asset: np.ndarray
    fire_pos: list[np.ndarray]
    fire_all: list[list[np.ndarray]]
    fire_value: list[list[np.ndarray]]
    anchor_notes: list[list[tuple | None]] | None = None

    @property
    def n_paths(self) -> int:
        return len(self.ptr) - 1

    def weights(self, p: int) -> pd.DataFrame:
        """Target weights of path ``p`` on its decision dates (as ``decide(...).weights``)."""
        a, b = self.ptr[p], self.ptr[p + 1]
        w = pd.DataFrame(self.targets[self.state[a:b]], index=self.dates[self.pos[a:b]],
                         columns=self.assets)
        w.index.name = self.dates.name
        return w

    def log(self, p: int) -> pd.DataFrame:
        """The trigger / drift log of path ``p`` (as ``decide(...).log``, same order)."""
        trig = self.params.triggers
        rows: list[tuple] = []
        # decide() logs a day's trigger events (in listed order) before a drift row found
        # after that day; drift rows are dated at their own (later) position.
        events = []
        for k in range(len(trig)):
            for q, v in zip(self.fire_all[k][p], self.fire_value[k][p], strict=True):
                events.append((int(q), 0, k, float(v)))
        a, b = self.ptr[p], self.ptr[p + 1]
        for r in range(a, b):
            if self.kind[r] == KIND_DRIFT:
                events.append((int(self.pos[r]), 1, r, 0.0))
        events.sort()
        # decide() lists the anchor notes (in trigger order) before the events, then sorts
        # by date, stably: a note precedes the events of its own date.
        for k, notes in enumerate(self.anchor_notes or []):
            if notes[p] is not None:
                d, text = notes[p]
                rows.append((d, trig[k].name, "anchor moved", text))
        for q, typ, k, v in events:
            if typ == 0:
                t = trig[k]
                c = t.condition
                rows.append((self.dates[q], t.name, describe_action(t.action),
                             f"{c.name} {c.measure}={v:+.4f} {c.op} {c.threshold:g}"))
            else:
                rows.append((self.dates[q], "drift_band", "rebalance",
                             f"{self.assets[self.drift_asset[k]]} drifted "
                             f"{self.drift_dev[k]:+.4f} > {self.params.drift_band:g}"))
        logf = pd.DataFrame(sorted(rows, key=lambda r: r[0]), columns=LOG_COLUMNS)
        logf["date"] = logf["date"].astype(self.dates.dtype)
        for c in LOG_COLUMNS[1:]:
            logf[c] = logf[c].astype("str")
        return logf

    def frames(self, p: int) -> Decisions:
        """Path ``p``'s decisions as :class:`strategies.base.Decisions`."""
        return Decisions(self.weights(p), self.log(p))

    def n_events(self) -> np.ndarray:
        """Log rows per path (anchor notes + trigger fires + drift rebalances), shape (P,)."""
        n = np.zeros(self.n_paths, dtype=np.int64)
        for fa in self.fire_all:
            n += np.array([len(x) for x in fa], dtype=np.int64)
        for notes in self.anchor_notes or []:
            n += np.array([x is not None for x in notes], dtype=np.int64)
        path_of_row = np.repeat(np.arange(self.n_paths), np.diff(self.ptr))
        return n + np.bincount(path_of_row[self.kind == KIND_DRIFT], minlength=self.n_paths)


def measures(cond: Condition, x: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
    """A condition's measure on many series at once: ``x`` (T, P) -> (T, P), NaN where undefined.

    :func:`strategies.triggers.measure_values`, the definition
    :func:`strategies.triggers.condition_measure` uses, so the values are bit-for-bit equal.
    """
    return measure_values(cond, x, dates)[0]


def _fires(hit: np.ndarray, rearm: bool) -> list[np.ndarray]:
    """Fire positions per column of ``hit`` (T, P), as :func:`strategies.triggers.fire_dates`."""
    if not rearm:
        first = np.where(hit.any(axis=0), np.argmax(hit, axis=0), -1)
        return [np.array([f]) if f >= 0 else np.zeros(0, dtype=np.int64) for f in first]
    prev = np.vstack([np.zeros((1, hit.shape[1]), dtype=bool), hit[:-1]])
    trans = hit & ~prev
    return [np.flatnonzero(trans[:, p]) for p in range(hit.shape[1])]


def decide_paths(params: CoreSatelliteParams, prices: np.ndarray, columns: Sequence[str],
                 dates: pd.DatetimeIndex, *, cache: dict | None = None) -> PathDecisions:
    """The decisions of ``CoreSatellite(params)`` on every path of ``prices``.

    Parameters
    ----------
    params : CoreSatelliteParams
    prices : ndarray, shape (P, T, N)
        Closes of N columns on P paths (CASH may be absent: its price is then 1).
    columns : sequence of str, length N
        Names of the price columns.
    dates : pd.DatetimeIndex, length T
        Shared dates (calendar rebalances and anchors depend on them).
    cache : dict, optional
        Shared between calls on the same ``prices`` (a sweep): condition measures are keyed by
        everything but the threshold, so variants differing in thresholds compute them once.

    Returns
    -------
    PathDecisions
    """
    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim != 3:
        raise ValueError(f"prices must be (paths, bars, columns), got shape {prices.shape}")
    n_p, n_t, _ = prices.shape
    dates = pd.DatetimeIndex(dates)
    if len(dates) != n_t:
        raise ValueError(f"{len(dates)} dates for {n_t} bars")
    col = {str(c): i for i, c in enumerate(columns)}
    cache = {} if cache is None else cache
    # Sweep variants usually share sleeves and actions (only thresholds change): the strategy's
    # assets, static weights and the target of each fire sequence are computed once per chunk.
    sleeves_key = tuple((n, tuple(m.items())) for n, m in params.sleeves.items())
    actions_key = tuple(t.action for t in params.triggers)
    base_key = ("base", sleeves_key, actions_key)
    if base_key not in cache:
        strat = CoreSatellite(params)
        assets = strat.assets()
        static = strat.static_weights().reindex(assets, fill_value=0.0).to_numpy(np.float64)
        cache[base_key] = (assets, static, strat.sleeve_members)
    assets, static, sleeves = cache[base_key]
    assets = list(assets)

    # 1. Fire positions of each trigger on each path (data only, not portfolio state).
    fire_all, fire_value, fire_first, anchor_notes = [], [], [], []
    for trig in params.triggers:
        c = trig.condition
        if c.on != "asset":
            raise ValueError(f"trigger {trig.name!r}: signal conditions cannot be evaluated "
                             "on simulated price paths; use CoreSatellite.decide")
        if c.name not in col:
            raise KeyError(f"condition asset {c.name!r} is not in the prices; available: "
                           f"{sorted(col)}")
        key = ("measure", c.name, c.measure, c.window_bars, c.anchor)
        if key not in cache:
            cache[key] = measure_values(c, prices[:, :, col[c.name]].T, dates)
        m, notes = cache[key]
        anchor_notes.append(notes)
        hit = compare(c, m)
        fa = _fires(hit, trig.rearm)
        fire_all.append(fa)
        fire_value.append([m[f, p] for p, f in enumerate(fa)])
        fire_first.append(np.array([f[0] if len(f) else -1 for f in fa], dtype=np.int64))

    # 2. States: the target after each distinct sequence of firing days (apply_action).
    memo: dict[tuple, int] = {(): 0}
    targets = [static]
    # Targets after a sequence of firing days (as actions): shared by the variants of a chunk.
    seq_targets = cache.setdefault(("targets", sleeves_key), {})
    ev_ptr = np.zeros(n_p + 1, dtype=np.int64)
    ev_pos: list[int] = []
    ev_state: list[int] = []
    for p in range(n_p):
        days: dict[int, list[int]] = {}
        for k in range(len(params.triggers)):
            for q in fire_all[k][p]:
                days.setdefault(int(q), []).append(k)
        seq: tuple = ()
        for q in sorted(days):
            prev = memo[seq]
            seq = (*seq, tuple(days[q]))
            if seq not in memo:
                akey = tuple(tuple(actions_key[k] for k in day) for day in seq)
                if akey not in seq_targets:
                    target = pd.Series(targets[prev], index=assets)
                    for k in days[q]:
                        target = apply_action(target, sleeves, params.triggers[k].action)
                    seq_targets[akey] = target.reindex(assets, fill_value=0.0).to_numpy(
                        np.float64)
                targets.append(seq_targets[akey])
                memo[seq] = len(targets) - 1
            ev_pos.append(q)
            ev_state.append(memo[seq])
        ev_ptr[p + 1] = len(ev_pos)
    tgt = np.vstack(targets)

    # 3. The schedule (calendar, events, drift band) in one kernel call.
    calendar = np.zeros(n_t, dtype=np.bool_)
    calendar[calendar_positions(dates, params.rebalance)] = True
    if params.drift_band > 0:
        missing = [a for a in assets if a != CASH and a not in col]
        if missing:
            raise KeyError(f"drift band needs prices for {missing}")
        px = np.empty((n_p, n_t, len(assets)))
        for j, a in enumerate(assets):
            px[:, :, j] = prices[:, :, col[a]] if a in col else 1.0
    shape = (n_p, max(n_t, 1))
    out_pos = np.empty(shape, dtype=np.int64)
    out_state = np.empty(shape, dtype=np.int64)
    out_kind = np.empty(shape, dtype=np.int64)
    out_dev = np.empty(shape)
    out_asset = np.empty(shape, dtype=np.int64)
    count = np.zeros(n_p, dtype=np.int64)
    if n_t:
        if params.drift_band <= 0:  # the kernel reads no prices without a band
            px_k = np.broadcast_to(np.ones((1, 1, 1)), (n_p, n_t, 1))
            tg_k, band = np.ones((len(tgt), 1)), 0.0
        else:
            px_k, tg_k, band = px, tgt, float(params.drift_band)
        rebalance_schedule_nb(px_k, calendar, ev_ptr, np.asarray(ev_pos, dtype=np.int64),
                              np.asarray(ev_state, dtype=np.int64), tg_k, band, out_pos,
                              out_state, out_kind, out_dev, out_asset, count)
    keep = np.arange(shape[1])[None, :] < count[:, None]
    ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    return PathDecisions(params=params, assets=assets, dates=dates, targets=tgt, ptr=ptr,
                         pos=out_pos[keep], state=out_state[keep], kind=out_kind[keep],
                         drift_dev=out_dev[keep], drift_asset=out_asset[keep],
                         fire_pos=fire_first, fire_all=fire_all, fire_value=fire_value,
                         anchor_notes=anchor_notes)
