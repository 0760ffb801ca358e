"""Declarative triggers: a condition on an asset or a signal -> an action on the target weights.

A :class:`Trigger` pairs a :class:`Condition` (a measure compared with a threshold) with an
:class:`Action` (set an asset's weight, scale a sleeve to a total, move to cash) and a funding
rule that says where the weight comes from (pro rata from the rest, from a named sleeve, from
cash). Everything is a frozen dataclass so it can be written in TOML and validated by pydantic
(see ``engine.app.config``).

Semantics
---------
* :func:`evaluate_condition` is causal: its value at t uses prices / signal values <= t only
  (a NaN measure -- before an anchor date, before a window fills, a missing price -- is False).
* A trigger fires on the first date its condition is True and then latches (fires once). With
  ``rearm=True`` it re-arms on the first date the condition is False again and can fire on the
  next False -> True transition. :func:`fire_dates` turns a condition into those dates.
* :func:`apply_action` is pure: weights in, new weights out (non-negative, sum 1, CASH kept).

Funding
-------
When an action raises a weight by ``delta``, ``delta`` is taken from the funding source in
proportion to the source's current weights: ``"pro_rata"`` = every other asset (CASH included),
``"cash"`` = the CASH asset, ``"sleeve:<name>"`` = the named sleeve's assets. If the source holds
less than ``delta``, the source is emptied and the remainder is taken pro rata from everything
else not being raised (so an action never fails mid-backtest; the log's detail says
"shortfall"). When an action lowers a weight, the freed weight goes to the same source in
proportion to its weights (equally if they are all 0; to every other asset if the source is
the asset being lowered).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.market import CASH
from engine.peaks import drawdown_from_peak
from strategies._common import holds, signal_series
from strategies.base import Context
from strategies.params import (
    MAX_RETURN,
    THRESHOLD_HINT,
    ParamError,
    check_bars,
    check_finite,
    check_fraction,
)

__all__ = [
    "Action",
    "Condition",
    "ParamError",
    "Trigger",
    "apply_action",
    "compare",
    "condition_measure",
    "describe_action",
    "evaluate_condition",
    "fire_dates",
]

#: Weights below this are treated as zero when funding (fractions).
_EPS = 1e-12


@dataclass(frozen=True)
class Condition:
    """A measure on an asset or a signal compared with a threshold.

    Parameters
    ----------
    on : {"asset", "signal"}
        Read ``ctx.prices[name]`` or a signal of the context.
    name : str
        Asset ticker, or signal name (``"signal_name:column"`` for a column of a signal frame).
    measure : {"return_since_anchor", "drawdown", "return_window", "value"}
        ``return_since_anchor``: ``x[t] / x[anchor] - 1``; ``drawdown``: ``x[t] / max(x[anchor..t])
        - 1`` (<= 0); ``return_window``: ``x[t] / x[t - window_bars] - 1``; ``value``: ``x[t]``.
    op : {"<=", ">="}
    threshold : float
        Fraction for returns and drawdowns (-0.07 = -7 %), raw value for ``value``.
    window_bars : int
        Window of ``return_window`` in bars.
    anchor : str, optional
        ISO date; the anchor is the first session on or after it (the measure is NaN, hence the
        condition False, before it). None = the first date of the context.
    """

    on: Literal["asset", "signal"]
    name: str
    measure: Literal["return_since_anchor", "drawdown", "return_window", "value"]
    op: Literal["<=", ">="]
    threshold: float
    window_bars: int = 21
    anchor: str | None = None

    def __post_init__(self) -> None:
        # NaN compares False with everything: a NaN threshold would silently never fire.
        check_finite("threshold", self.threshold)
        self._check_reachable()
        check_bars("window_bars", self.window_bars)
        if self.anchor is not None:
            # Checked here, not when the condition is first evaluated mid-backtest.
            # Strict YYYY-MM-DD: fromisoformat alone also takes "20240101" and ISO week dates.
            try:
                ok = dt.date.fromisoformat(str(self.anchor)).isoformat() == self.anchor
            except ValueError:
                ok = False
            if not ok:
                raise ParamError("anchor", self.anchor, "is not an ISO date (YYYY-MM-DD)")

    def _check_reachable(self) -> None:
        """A drawdown or return threshold that no positive price series can reach (or that every
        series meets on its first day) is an error, not a trigger that silently never fires.

        Only for ``on = "asset"``: prices are positive; a signal (a flow, a z-score) may be
        negative, where drawdowns and returns have no such bounds.
        """
        if self.on != "asset":
            return
        t, op = self.threshold, self.op
        if self.measure == "drawdown":
            # x / max(x) - 1 is in (-1, 0] for positive prices
            if t <= -1.0:
                raise ParamError("threshold", t, "a drawdown is always > -1 (a price can't "
                                 f"fall 100 %), so this trigger can never fire; {THRESHOLD_HINT}")
            if t > 0.0:
                never = "never holds" if op == ">=" else "holds on the first day"
                raise ParamError("threshold", t, f"a drawdown is <= 0, so '{op} {t:g}' {never}; "
                                 f"{THRESHOLD_HINT}")
        elif self.measure in ("return_since_anchor", "return_window"):
            if t <= -1.0:
                raise ParamError("threshold", t, "a return is always > -1 (a price can't fall "
                                 f"100 %), so this trigger can never fire; {THRESHOLD_HINT}")
            if t > MAX_RETURN:
                raise ParamError("threshold", t, f"a return above +{MAX_RETURN:.0%} is refused "
                                 f"as a percent typed for a fraction; {THRESHOLD_HINT} "
                                 "(0.10 means +10%)")


@dataclass(frozen=True)
class Action:
    """What a trigger does to the target weights.

    Parameters
    ----------
    kind : {"set_weight", "scale_sleeve", "to_cash"}
        ``set_weight``: ``asset`` gets weight ``target``; ``scale_sleeve``: the sleeve's assets
        are scaled together so the sleeve totals ``target``; ``to_cash``: CASH gets ``target``.
    target : float
        Fraction of the portfolio, 0..1.
    asset : str, optional
        For ``set_weight``.
    sleeve : str, optional
        For ``scale_sleeve``.
    funding : str
        ``"pro_rata"`` | ``"cash"`` | ``"sleeve:<name>"`` (see the module notes).
    """

    kind: Literal["set_weight", "scale_sleeve", "to_cash"]
    target: float
    asset: str | None = None
    sleeve: str | None = None
    funding: str = "pro_rata"

    def __post_init__(self) -> None:
        check_fraction("target", self.target)  # also refuses NaN
        if self.kind == "set_weight" and not self.asset:
            raise ParamError("asset", self.asset, "a set_weight action needs an asset")
        if self.kind == "scale_sleeve" and not self.sleeve:
            raise ParamError("sleeve", self.sleeve, "a scale_sleeve action needs a sleeve")
        if not (self.funding in ("pro_rata", "cash")
                or (self.funding.startswith("sleeve:") and len(self.funding) > len("sleeve:"))):
            raise ParamError("funding", self.funding,
                             "is not 'pro_rata', 'cash' or 'sleeve:<name>'")

    @property
    def sleeves_used(self) -> dict[str, str]:
        """Field -> sleeve name for every sleeve this action refers to (checked by the
        strategy's params against its sleeves)."""
        used = {}
        if self.kind == "scale_sleeve" and self.sleeve:
            used["sleeve"] = self.sleeve
        if self.funding.startswith("sleeve:"):
            used["funding"] = self.funding.split(":", 1)[1]
        return used


@dataclass(frozen=True)
class Trigger:
    """A named condition -> action rule; fires once and latches unless ``rearm``."""

    name: str
    condition: Condition
    action: Action
    rearm: bool = False


# ------------------------------------------------------------------------------------ conditions
def _series(cond: Condition, ctx: Context) -> pd.Series:
    """The raw series a condition reads, on ``ctx.dates``."""
    if cond.on == "asset":
        if cond.name not in ctx.prices.columns:
            raise KeyError(
                f"condition asset {cond.name!r} is not in the prices; "
                f"available: {sorted(map(str, ctx.prices.columns))}"
            )
        s = ctx.prices[cond.name]
    else:
        s = signal_series(ctx, cond.name)
    return s.astype(np.float64)


def measure_values(cond: Condition, x: np.ndarray, dates: pd.DatetimeIndex
                   ) -> tuple[np.ndarray, list[tuple | None]]:
    """A condition's measure on one series ``(T,)`` or many ``(T, P)`` (time on axis 0).

    The one definition behind :func:`condition_measure` and the fast decision path
    (:func:`strategies.core_satellite_paths.measures`), so both give bit-for-bit equal values,
    including the anchor moved to the first session with a value (see
    :func:`condition_measure`). NumPy, not pandas: a sweep or Monte Carlo run evaluates every
    condition of every variant or path.

    Returns
    -------
    out : np.ndarray, shape of ``x``
        NaN where undefined.
    notes : list, one per column
        ``None``, or ``(requested anchor date, text)`` where the anchor moved.
    """
    x = np.asarray(x, dtype=np.float64)
    X = x.reshape(len(x), -1)
    out = np.full(X.shape, np.nan)
    notes: list[tuple | None] = [None] * X.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        if cond.measure == "value":
            out = X.copy()
        elif cond.measure == "return_window":
            w = cond.window_bars
            if 0 < w < len(X):
                out[w:] = X[w:] / X[:-w] - 1.0
        elif cond.measure not in ("return_since_anchor", "drawdown"):
            raise ValueError(f"unknown measure {cond.measure!r}")
        elif len(X):
            start = dates[0] if cond.anchor is None else pd.Timestamp(cond.anchor)
            after = np.asarray(dates >= start)
            if after.any():
                a0 = int(np.argmax(after))
                finite = np.isfinite(X[a0:])
                has = finite.any(axis=0)
                anchor = np.where(has, a0 + np.argmax(finite, axis=0), -1)
                for j in np.flatnonzero(anchor != a0):
                    a = int(anchor[j])
                    what = (f"anchor moved to {dates[a].date()}" if a >= 0
                            else "never armed: no later value either")
                    notes[j] = (dates[a0], f"{cond.name} has no value on the anchor session "
                                           f"{dates[a0].date()}; {what}")
                for a in np.unique(anchor[anchor >= 0]):
                    cols = np.flatnonzero(anchor == a)
                    seg = X[a:, cols]
                    if cond.measure == "return_since_anchor":
                        out[a:, cols] = seg / seg[0] - 1.0
                    else:
                        out[a:, cols] = drawdown_from_peak(seg)
    return out.reshape(x.shape), notes


def condition_measure(cond: Condition, ctx: Context) -> pd.Series:
    """The measured value of a condition on every date of ``ctx`` (NaN where undefined).

    Causal: the value at t uses data <= t only (pinned by
    tests/strategies/test_triggers.py::test_condition_measure_is_prefix_invariant).

    Anchored measures (``return_since_anchor``, ``drawdown``) start at the first session on or
    after the anchor date *with a value*: a NaN price there (a holiday row, an asset not
    listed yet) would otherwise make ``x[t] / x[anchor]`` NaN for ever and the trigger could
    never fire. Where the anchor moves, ``attrs["anchor_note"]`` holds ``(date, text)`` -- the
    date of the requested anchor session and what happened -- which the strategies write to
    their decisions log (issue #10 item 6,
    tests/strategies/test_trust_drops.py::test_nan_price_at_anchor_moves_it_and_logs).
    """
    dates = ctx.dates
    out, notes = measure_values(cond, _series(cond, ctx).to_numpy(np.float64), dates)
    note = notes[0]
    res = pd.Series(out, index=dates, name=cond.name)
    if note is not None:
        res.attrs["anchor_note"] = note
    return res


def evaluate_condition(cond: Condition, ctx: Context) -> pd.Series:
    """Boolean series on ``ctx.dates``: is the condition true at t (data <= t only)?

    A NaN measure is False.

    Examples
    --------
    >>> px = pd.DataFrame({"A": [100.0, 104.0, 95.0], "CASH": 1.0},
    ...                   index=pd.date_range("2024-01-01", periods=3))
    >>> c = Condition(on="asset", name="A", measure="drawdown", op="<=", threshold=-0.05)
    >>> evaluate_condition(c, Context(px)).tolist()
    [False, False, True]
    """
    m = condition_measure(cond, ctx)
    return pd.Series(compare(cond, m.to_numpy(np.float64)), index=ctx.dates, name=cond.name)


def compare(cond: Condition, measure: np.ndarray) -> np.ndarray:
    """``measure <op> threshold`` as a boolean array; NaN is False."""
    return holds(measure, cond.op, cond.threshold)


def fire_dates(hit: pd.Series, rearm: bool) -> pd.DatetimeIndex:
    """Dates a trigger fires given its condition series.

    Without re-arm: the first True date only (latch). With re-arm: every False -> True
    transition (the first date counts as a transition when True).
    """
    h = hit.to_numpy(bool)
    if not rearm:
        pos = np.flatnonzero(h)[:1]
    else:
        prev = np.concatenate([[False], h[:-1]])
        pos = np.flatnonzero(h & ~prev)
    return pd.DatetimeIndex(hit.index[pos])


# ---------------------------------------------------------------------------------------- actions
def _take(w: np.ndarray, amount: float, src: np.ndarray) -> float:
    """Take ``amount`` from positions ``src`` pro rata to their weights (in place); return
    the shortfall."""
    if amount <= 0 or len(src) == 0:
        return max(amount, 0.0)
    avail = float(w[src].sum())
    if avail <= _EPS:
        return amount
    taken = min(amount, avail)
    w[src] *= 1.0 - taken / avail
    return amount - taken


def _give(w: np.ndarray, amount: float, src: np.ndarray) -> None:
    """Give ``amount`` to positions ``src`` pro rata to their weights (equally if all 0)."""
    if amount <= 0 or len(src) == 0:
        return
    avail = float(w[src].sum())
    if avail <= _EPS:
        w[src] += amount / len(src)
    else:
        w[src] *= 1.0 + amount / avail


def _funding_sources(funding: str, names: list[str], raised: set[str],
                     sleeves: Mapping[str, Sequence[str]]) -> list[str]:
    if funding == "pro_rata":
        return [a for a in names if a not in raised]
    if funding == "cash":
        return [CASH] if CASH not in raised else []
    name = funding.split(":", 1)[1]
    if name not in sleeves:
        raise KeyError(f"funding sleeve {name!r} is not defined; sleeves: {sorted(sleeves)}")
    return [a for a in sleeves[name] if a in names and a not in raised]


def apply_action(weights: pd.Series, sleeves: Mapping[str, Sequence[str]],
                 action: Action) -> pd.Series:
    """Apply ``action`` to target ``weights``; return new weights (sum 1, non-negative, CASH).

    Parameters
    ----------
    weights : pd.Series
        Current target weights (assets incl. CASH), summing to 1.
    sleeves : Mapping[str, Sequence[str]]
        Sleeve name -> its assets.
    action : Action

    Returns
    -------
    pd.Series
        New weights; assets the action introduces (e.g. a new ``set_weight`` asset) are added.

    Examples
    --------
    >>> w = pd.Series({"A": 0.6, "B": 0.35, "CASH": 0.05})
    >>> apply_action(w, {}, Action("set_weight", 0.05, asset="C", funding="cash")).round(6).to_dict()
    {'A': 0.6, 'B': 0.35, 'CASH': 0.0, 'C': 0.05}
    >>> apply_action(w, {"core": ["A"]}, Action("scale_sleeve", 0.7, sleeve="core")).round(6).to_dict()
    {'A': 0.7, 'B': 0.2625, 'CASH': 0.0375}
    """
    # Plain lists and arrays, not pandas label indexing: a sweep applies actions ~10^4 times.
    names = [str(a) for a in weights.index]
    vals = list(weights.to_numpy(np.float64))
    if CASH not in names:
        names.append(CASH)
        vals.append(0.0)
    if action.kind in ("set_weight", "to_cash"):
        members = [CASH if action.kind == "to_cash" else action.asset]
    elif action.kind == "scale_sleeve":
        if action.sleeve not in sleeves:
            raise KeyError(f"sleeve {action.sleeve!r} is not defined; sleeves: {sorted(sleeves)}")
        members = list(sleeves[action.sleeve])
    else:  # pragma: no cover - Literal validated upstream
        raise ValueError(f"unknown action kind {action.kind!r}")
    for a in members:
        if a not in names:
            names.append(a)
            vals.append(0.0)
    w = np.asarray(vals, dtype=np.float64)
    pos = {a: i for i, a in enumerate(names)}
    mem = np.array([pos[a] for a in members], dtype=np.int64)
    if action.kind == "scale_sleeve":
        total = float(w[mem].sum())
        share = w[mem] / total if total > _EPS else np.full(len(mem), 1.0 / len(mem))
        new = share * action.target
    else:
        new = np.array([action.target])
    delta = float(new.sum() - w[mem].sum())
    raised = set(members)
    src_names = _funding_sources(action.funding, names, raised, sleeves)
    src = np.array([pos[a] for a in src_names], dtype=np.int64)
    if delta > 0:
        short = _take(w, delta, src)
        if short > _EPS:  # documented fallback: the rest pro rata from everything else
            others = np.array([pos[a] for a in names if a not in raised and a not in src_names],
                              dtype=np.int64)
            short = _take(w, short, others)
        if short > 1e-9:
            raise ValueError(
                f"action {describe_action(action)} needs {delta:.6f} but only "
                f"{delta - short:.6f} is available outside the raised assets"
            )
    else:
        if len(src) == 0:  # e.g. lowering CASH with funding "cash": give to everything else
            src = np.array([pos[a] for a in names if a not in raised], dtype=np.int64)
        _give(w, -delta, src)
    w[mem] = new
    w = np.clip(w, 0.0, None)
    return pd.Series(w / w.sum(), index=names)


def describe_action(action: Action) -> str:
    """Short text for the trigger log, e.g. ``"set_weight IWM 0.05 (funding cash)"``."""
    what = {"set_weight": action.asset, "scale_sleeve": action.sleeve, "to_cash": CASH}[action.kind]
    return f"{action.kind} {what} {action.target:g} (funding {action.funding})"
