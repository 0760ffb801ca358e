"""Checks shared by the strategies' frozen Params dataclasses (their ``__post_init__``).

Every check raises :class:`ParamError` naming the field (dotted, relative to the dataclass
that raised, list items numbered from 0) so that ``engine.app.config`` can report the full key
path the user typed, e.g. ``strategy.triggers.2.condition.threshold``. The same checks run when
a Params object is built from Python, so a bad value never reaches a backtest either way.

Plausible ranges (README "Design decisions", "Config errors"):

* weights and fractions of the portfolio are in [0, 1];
* drawdowns and returns are fractions: a price series can't fall 100 % or more, so a drawdown
  or return threshold of -1 or below can never be reached (:data:`THRESHOLD_HINT`);
* a return threshold above :data:`MAX_RETURN` (+500 %) is refused as a percent typed where a
  fraction is meant (``10`` for 10 %);
* bar counts are >= 1 (or >= 0 where 0 means "off") and at most :data:`MAX_BARS` (40 years
  of sessions: no bundled or synthetic series is longer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real

__all__ = [
    "MAX_BARS",
    "MAX_RETURN",
    "THRESHOLD_HINT",
    "ParamError",
    "check_bars",
    "check_finite",
    "check_fraction",
    "check_weights_table",
    "is_whole",
]

#: Appended to every error about a drawdown / return threshold.
THRESHOLD_HINT = "thresholds are fractions: -0.07 means -7%"
#: Largest accepted return threshold (+500 %); above it a percent was almost surely typed.
MAX_RETURN = 5.0
#: Largest accepted bar count (window, hold, rebalance interval): 40 years of 252 sessions.
MAX_BARS = 40 * 252


class ParamError(ValueError):
    """A bad parameter value, naming its field so a config error can give the full key path.

    ``engine.app.config`` appends ``field`` (dotted, relative to the dataclass that raised) to the
    location pydantic reports for the dataclass, e.g. ``strategy.triggers.1.condition`` +
    ``window_bars``.

    Examples
    --------
    >>> str(ParamError("window_bars", 0, "must be >= 1"))
    'window_bars = 0: must be >= 1'
    """

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field} = {value!r}: {problem}")


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def check_finite(field: str, value: object) -> None:
    """``value`` is a finite number (NaN compares False with everything: a NaN threshold would
    silently never fire)."""
    if not (_is_number(value) and math.isfinite(value)):
        raise ParamError(field, value, "must be a finite number")


def check_fraction(field: str, value: object, *, lo: float = 0.0, hi: float = 1.0,
                   lo_open: bool = False, hi_open: bool = False, hint: str = "") -> None:
    """``value`` is a number in the interval [lo, hi] (ends open when asked); NaN fails."""
    ok = _is_number(value) and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ParamError(field, value, f"must be a fraction in {interval}"
                         + (f"; {hint}" if hint else ""))


def is_whole(value: object) -> bool:
    """An integer (NumPy integers included), not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_bars(field: str, value: object, *, lo: int = 1, hi: int = MAX_BARS) -> None:
    """``value`` is an integer count of bars in [lo, hi]."""
    if not (is_whole(value) and lo <= value <= hi):
        raise ParamError(field, value, f"must be a whole number of bars, >= {lo} and <= {hi}"
                         + (" (0 = off)" if lo == 0 else ""))


def check_weights_table(field: str, weights: Mapping[str, float], *,
                        max_total: float = 1.0) -> float:
    """Each weight a fraction in [0, 1], the total at most ``max_total`` (+1e-9); return it.

    ``field`` names the table; an error names ``field.<asset>`` for a bad weight.
    """
    total = 0.0
    for asset, w in weights.items():
        check_fraction(f"{field}.{asset}", w)
        total += float(w)
    if total > max_total + 1e-9:
        raise ParamError(field, dict(weights),
                         f"weights sum to {total:.6f}, more than {max_total:g}")
    return total
