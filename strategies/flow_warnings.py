"""Flow warnings: ETF-level flow rules, each mapped to a configurable response.

the README's three warnings (the defaults of :class:`FlowWarningsParams`):

* ``rsp_outflow_2w`` -- RSP in outflow two weeks in a row (equal-weight trend ending):
  cut RSP to 15 %, the freed weight going to the rest of the core sleeve;
* ``broad_risk_off`` -- SPY, VOO and IVV all in outflow the same week: raise cash to 15 %;
* ``qqq_monthly_outflow`` -- QQQ's monthly outflow above $5B (total < -5e9 USD): cut VUG to
  5 %, into cash.

Inputs are period totals from :func:`engine.app.inputs.etf_flow_usd` with ``freq = "W"`` / ``"M"``:
NaN except on each period's last session, where the total is known. A warning is therefore
evaluated only on its signal's period-end rows and can never appear before the last session of
the week (or month) it describes.

A :class:`FlowWarning` holds when every ticker's period total is < ``threshold_usd`` for the
last ``consecutive_periods`` periods. "In a row" needs every period known: a NaN total breaks
the run, also when the warning's tickers are NaN for a whole period (that period-end row is then
indistinguishable from the NaN rows between period ends, so the run breaks whenever two known
period ends are not adjacent periods of the warning's ``period``). An active warning applies its
:class:`strategies.triggers.Action` to the base allocation; warnings apply in order. With
``latch = False`` a warning is re-evaluated at each of its period ends (it switches off when the
condition fails); with ``latch = True`` it stays on once fired. A weights row is emitted on the
first bar and whenever the set of active warnings changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.periods import PERIOD_CODES
from engine.signals import streaks
from strategies._common import log_frame, signal_frame, weights_frame, weights_row
from strategies.base import CASH, Context, Decisions
from strategies.params import ParamError, check_finite, check_weights_table, is_whole
from strategies.triggers import Action, apply_action, describe_action

__all__ = ["DEFAULT_SLEEVES", "DEFAULT_WARNINGS", "FlowWarning", "FlowWarnings",
           "FlowWarningsParams", "warning_hits"]

#: FlowWarning.period -> pandas period code (weeks end on Friday, as engine.app.inputs.period_total).

#: Currency of ``threshold_usd`` (and of the flow signals a warning may read).
FLOW_CURRENCY = "USD"

#: Largest ``consecutive_periods`` per period: two years of weeks or of months.
MAX_CONSECUTIVE = {"W": 104, "M": 24}

#: the README's reference core/satellite allocation (fractions).
DEFAULT_SLEEVES = {
    "core": {"RSP": 0.25, "VOO": 0.20, "VXUS": 0.15},
    "satellite": {"XLI": 0.08, "XLF": 0.07, "MDY": 0.06, "XLP": 0.04},
    "growth": {"VUG": 0.10},
    "cash": {CASH: 0.05},
}


@dataclass(frozen=True)
class FlowWarning:
    """One warning rule.

    Parameters
    ----------
    name : str
    signal : str
        Period-total flow signal (USD), NaN except at period ends.
    tickers : tuple of str
        All must be in outflow (total < ``threshold_usd``) in the same period.
    threshold_usd : float
        0 = any outflow; -5e9 = an outflow of more than $5B.
    consecutive_periods : int
        Periods in a row the condition must hold; every one of them must be known.
    period : {"W", "M"}
        Period of the signal's totals (weeks ending Friday, calendar months): used to tell
        when a period between two known totals is missing (unknown), which breaks the run.
    action : Action
        Response applied to the base allocation while the warning is active.
    latch : bool
        Stay active once fired.
    """

    name: str
    signal: str
    tickers: tuple[str, ...]
    action: Action
    threshold_usd: float = 0.0
    consecutive_periods: int = 1
    latch: bool = False
    period: str = "W"

    def __post_init__(self) -> None:
        if self.period not in PERIOD_CODES:
            raise ParamError("period", self.period, f"warning {self.name}: must be 'W' or 'M'")
        if not self.tickers:
            raise ParamError("tickers", list(self.tickers),
                             f"warning {self.name}: must not be empty")
        check_finite("threshold_usd", self.threshold_usd)
        # two years of periods in a row is already far beyond any published flow warning
        if not (is_whole(self.consecutive_periods) and
                1 <= self.consecutive_periods <= MAX_CONSECUTIVE[self.period]):
            raise ParamError("consecutive_periods", self.consecutive_periods,
                             f"warning {self.name}: must be a whole number of periods in "
                             f"[1, {MAX_CONSECUTIVE[self.period]}] for period "
                             f"{self.period!r}")


DEFAULT_WARNINGS = (
    FlowWarning("rsp_outflow_2w", "etf_flow_weekly", ("RSP",),
                Action("set_weight", 0.15, asset="RSP", funding="sleeve:core"),
                consecutive_periods=2),
    FlowWarning("broad_risk_off", "etf_flow_weekly", ("SPY", "VOO", "IVV"),
                Action("to_cash", 0.15)),
    FlowWarning("qqq_monthly_outflow", "etf_flow_monthly", ("QQQ",),
                Action("set_weight", 0.05, asset="VUG", funding="cash"), threshold_usd=-5e9,
                period="M"),
)


@dataclass(frozen=True)
class FlowWarningsParams:
    """Parameters of :class:`FlowWarnings`: the base sleeves and the warning rules."""

    sleeves: dict[str, dict[str, float]] = field(default_factory=lambda: dict(DEFAULT_SLEEVES))
    warnings: tuple[FlowWarning, ...] = DEFAULT_WARNINGS

    def __post_init__(self) -> None:
        total = sum(check_weights_table(f"sleeves.{k}", m) for k, m in self.sleeves.items())
        if abs(total - 1.0) > 1e-6:
            raise ParamError("sleeves", self.sleeves, f"sleeve weights sum to {total:.6f}, not 1")
        names = [w.name for w in self.warnings]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ParamError(f"warnings.{i}.name", name, "warning names must be unique")


def warning_hits(warning: FlowWarning, ctx: Context) -> pd.Series:
    """Whether the warning holds at each period end (bool Series on the period-end dates).

    The period-end dates are the rows where the signal has a value for any of the tickers.
    A run counts only adjacent known periods: a period whose totals are all NaN (no row) or
    partly NaN (compares False) resets it.
    """
    f = signal_frame(ctx, warning.signal)
    missing = [t for t in warning.tickers if t not in f.columns]
    if missing:
        raise KeyError(f"warning {warning.name}: signal {warning.signal!r} has no flows for "
                       f"{missing}")
    f = f[list(warning.tickers)]
    ends = f.notna().any(axis=1)
    f = f[ends]
    out_flow = f < warning.threshold_usd  # NaN compares False: an unknown total never fires
    hit = out_flow.all(axis=1).to_numpy()
    # Runs of hits are the engine's streaks over the full calendar grid of periods: +1 for a
    # hit, -1 for a known miss, NaN for a period with no row (unknown), which resets the run
    # ("in a row" needs every period known). Only past periods enter a streak.
    per = pd.DatetimeIndex(f.index).to_period(PERIOD_CODES[warning.period])
    grid = pd.period_range(per.min(), per.max(), freq=per.freq) if len(per) else per
    # periods missing from the grid become NaN on purpose: an unknown period resets the run
    coded = pd.Series(np.where(hit, 1.0, -1.0), index=per).reindex(grid)
    # back onto the periods that have rows (every per is in grid): nothing lost
    run = streaks(coded).reindex(per).to_numpy()
    return pd.Series(run >= warning.consecutive_periods, index=f.index, name=warning.name)


class FlowWarnings:
    """Base allocation plus flow warnings with responses (see the module docstring)."""

    def __init__(self, params: FlowWarningsParams | None = None) -> None:
        self.params = params or FlowWarningsParams()

    def static_weights(self, ctx: Context | None = None) -> pd.Series:
        """The base allocation (sleeves flattened), used for the "static" benchmark."""
        w = {a: float(x) for m in self.params.sleeves.values() for a, x in m.items()}
        w[CASH] = w.get(CASH, 0.0)
        return pd.Series(w, dtype=np.float64)

    def weights_for(self, active: tuple[str, ...]) -> pd.Series:
        """Base weights with the actions of the ``active`` warnings applied in order."""
        sleeves = {k: list(v) for k, v in self.params.sleeves.items()}
        w = self.static_weights()
        for warn in self.params.warnings:
            if warn.name in active:
                w = apply_action(w, sleeves, warn.action)
        return w

    def check_currency(self, ctx: Context) -> None:
        """Refuse a warning whose flow signal is not in USD: ``threshold_usd`` is in dollars.

        The currency is the signal's ``attrs["currency"]`` (set by
        :func:`engine.app.inputs.etf_flow_usd` from the market's ETF data); a signal without
        it is taken as USD.

        Raises
        ------
        ConfigError
            Naming ``strategy.warnings.<i>.signal``, the signal's currency and the fix.
        """
        for i, warn in enumerate(self.params.warnings):
            name = warn.signal.partition(":")[0]
            if name not in ctx.signals:
                continue
            currency = getattr(ctx.signals[name], "attrs", {}).get("currency", FLOW_CURRENCY)
            if currency != FLOW_CURRENCY:
                raise ConfigError(
                    f"strategy.warnings.{i}.signal", warn.signal,
                    f"warning {warn.name}: the signal's flows are in {currency} but "
                    f"threshold_usd = {warn.threshold_usd:g} is in {FLOW_CURRENCY}; use a "
                    f"market whose ETF flows are in {FLOW_CURRENCY} (data.source = 'us_etf')")

    def decide(self, ctx: Context) -> Decisions:
        p = self.params
        self.check_currency(ctx)
        dates, cols = ctx.dates, list(ctx.prices.columns)
        pos = {d: i for i, d in enumerate(dates)}
        # state changes: (bar, warning, on/off)
        events: dict[int, dict[str, bool]] = {}
        for warn in p.warnings:
            hits = warning_hits(warn, ctx)
            on = False
            for d, h in hits.items():
                new = bool(h) or (warn.latch and on)
                if new != on:
                    events.setdefault(pos[d], {})[warn.name] = new
                on = new
        rows, log = {}, []
        active: set[str] = set()
        bars = sorted(set(events) | ({0} if len(dates) else set()))
        for i in bars:
            for name, on in events.get(i, {}).items():
                (active.add if on else active.discard)(name)
                warn = next(w for w in p.warnings if w.name == name)
                log.append((dates[i], name, describe_action(warn.action) if on else "release",
                            f"{'+'.join(warn.tickers)} {warn.signal} < {warn.threshold_usd:g} "
                            f"x{warn.consecutive_periods}"))
            order = tuple(w.name for w in p.warnings if w.name in active)
            w = self.weights_for(order)
            rows[i] = weights_row(w.drop(CASH).to_dict(), cols)
        return Decisions(weights_frame(dates, cols, rows), log_frame(log))

    def target_weights(self, ctx: Context) -> pd.DataFrame:
        return self.decide(ctx).weights
