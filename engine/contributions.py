"""Dollar-cost averaging: periodic contributions into a rebalanced portfolio.

vectorbt has no cash deposits, so contributions are built on top of a simulated *unit*
portfolio: its equity curve ``R(t)`` (any scale, e.g. ``SimResult.equity[variant]``).

Method (exact, "cohorts by scale invariance")
---------------------------------------------
A portfolio rebalanced to target percentages with proportional fees and slippage is
scale-invariant: doubling the capital doubles every order and every fee, so each unit of
capital grows like ``R``. Treat every contribution ``c_j`` made at the close of session
``t_j`` as its own cohort that buys the portfolio's *current* mix at that close; the cohort is
then worth ``c_j R(t) / R(t_j)`` and, summed over cohorts,

.. math:: V(t) = \\sum_{j: t_j \\le t} c_j \\frac{R(t)}{R(t_j)} = R(t) \\sum_{j: t_j \\le t} \\frac{c_j}{R(t_j)}

i.e. ``V = R * cumsum(c / R)``: the contributions buy "units" of the unit portfolio. This is
exact when every cost is proportional (no fixed fee per order, no minimum order size, no
rounding to whole shares) and when a contribution is invested in the current holdings at no
cost; it then equals a single account with deposits (``tests/engine/test_contributions.py``
checks it against an independent NumPy loop of such an account with proportional fees).
It is not the same as investing each contribution at the *target* weights (that would make
each cohort its own vectorbt group); both are defensible, this one is the one implemented.

Returns
-------
Money-weighted return (IRR, annualized, contributions as cash flows, :func:`money_weighted_return`)
and time-weighted return (the unit portfolio's annualized growth, :func:`time_weighted_return`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.conventions import DAYS_PER_YEAR
from engine.errors import ConfigError, DataError
from engine.periods import PERIOD_CODES

__all__ = [
    "DAYS_PER_YEAR",
    "DcaResult",
    "align_contributions",
    "contribution_schedule",
    "dca",
    "equity_with_contributions",
    "money_weighted_return",
    "time_weighted_return",
]

#: Day count for annualizing returns (calendar days per year).

_FREQ = {**PERIOD_CODES, "Q": "Q"}


def contribution_schedule(
    dates: pd.DatetimeIndex, amount: float, *, freq: str = "M", initial: float = 0.0,
    start=None, end=None,
) -> pd.Series:
    """Contributions of ``amount`` on the first session of every week / month / quarter.

    Parameters
    ----------
    dates : pd.DatetimeIndex, shape (T,)
        Sessions.
    amount : float
        Contribution per period (currency units).
    freq : {"W", "M", "Q"}
    initial : float
        Extra lump sum on the first session (added to that session's contribution).
    start, end : date-like, optional
        Limit the schedule (inclusive).

    Returns
    -------
    pd.Series
        Index the contribution sessions, values currency units.

    Examples
    --------
    >>> d = pd.bdate_range("2024-01-30", "2024-03-05")
    >>> contribution_schedule(d, 100.0, initial=1000.0).to_dict()
    {Timestamp('2024-01-30 00:00:00'): 1100.0, Timestamp('2024-02-01 00:00:00'): 100.0, Timestamp('2024-03-01 00:00:00'): 100.0}
    """
    if freq not in _FREQ:
        raise ConfigError("contributions.freq", freq, f"must be one of {sorted(_FREQ)}")
    d = pd.DatetimeIndex(dates)
    if start is not None:
        d = d[d >= pd.Timestamp(start)]
    if end is not None:
        d = d[d <= pd.Timestamp(end)]
    if d.empty:
        raise ConfigError("contributions", (start, end), "no session in the range")
    per = d.to_period(_FREQ[freq])
    first = np.concatenate([[True], per[1:] != per[:-1]])
    out = pd.Series(float(amount), index=d[first], name="contribution")
    out.iloc[0] += float(initial)
    return out


def align_contributions(contributions: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Contributions on ``dates``: each moved to the first session on or after it, summed.

    Raises
    ------
    DataError
        If a contribution falls after the last session.
    """
    dates = pd.DatetimeIndex(dates)
    c = pd.Series(contributions, dtype=np.float64)
    pos = dates.searchsorted(pd.DatetimeIndex(c.index), "left")
    if (pos >= len(dates)).any():
        bad = c.index[np.argmax(pos >= len(dates))]
        raise DataError(f"contribution on {pd.Timestamp(bad).date()} is after the last session "
                        f"{dates[-1].date()}", fix="end the schedule inside the backtest")
    out = np.zeros(len(dates))
    np.add.at(out, pos, c.to_numpy())
    return pd.Series(out, index=dates, name="contribution")


def equity_with_contributions(unit_equity: pd.Series | pd.DataFrame,
                              contributions: pd.Series) -> pd.Series | pd.DataFrame:
    """Equity of an account that adds ``contributions`` to the unit portfolio.

    ``V(t) = R(t) * sum_{t_j <= t} c_j / R(t_j)`` (see the module docstring).

    Parameters
    ----------
    unit_equity : pd.Series or pd.DataFrame, shape (T,) or (T, n_variants)
        Equity of the portfolio without contributions, > 0.
    contributions : pd.Series
        Contribution amounts by date (moved to the next session if not one).

    Returns
    -------
    Same type as ``unit_equity``: account value, 0 before the first contribution.

    Examples
    --------
    >>> d = pd.bdate_range("2024-01-01", periods=3)
    >>> R = pd.Series([1.0, 1.1, 1.21], index=d)
    >>> equity_with_contributions(R, pd.Series([100.0, 110.0], index=d[:2])).round(6).tolist()
    [100.0, 220.0, 242.0]
    """
    R = unit_equity.astype(np.float64)
    if (R.isna() | (R <= 0)).to_numpy().any():
        raise DataError("unit equity must be > 0 and not NaN on every session",
                        fix="start the contribution schedule after the portfolio starts")
    c = align_contributions(contributions, R.index)
    units = (R.rdiv(c, axis=0) if isinstance(R, pd.DataFrame) else c / R).cumsum()
    return R * units


def money_weighted_return(contributions: pd.Series, final_value: float, final_date) -> float:
    """Annualized money-weighted return (IRR) of contributions growing to ``final_value``.

    Solves ``sum_j c_j (1 + r) ** ((T - t_j) / 365.25) = V_T`` for r with
    :func:`scipy.optimize.brentq`.

    Returns
    -------
    float
        Fraction per year; NaN if no contribution or no positive root.

    Examples
    --------
    >>> c = pd.Series([100.0], index=pd.to_datetime(["2024-01-01"]))
    >>> round(money_weighted_return(c, 110.0, "2024-12-31") * 100, 2)   # 365 of 365.25 days
    10.01
    """
    from scipy.optimize import brentq

    c = pd.Series(contributions, dtype=np.float64)
    c = c[c != 0]
    if c.empty or not final_value > 0:
        return float("nan")
    years = ((pd.Timestamp(final_date) - pd.DatetimeIndex(c.index)).days / DAYS_PER_YEAR)
    years = np.asarray(years, dtype=np.float64)
    amounts = c.to_numpy()

    def gap(r: float) -> float:
        return float(np.sum(amounts * (1.0 + r) ** years) - final_value)

    lo, hi = -0.9999, 100.0
    if gap(lo) * gap(hi) > 0:
        return float("nan")
    return float(brentq(gap, lo, hi, xtol=1e-12, maxiter=500))


def time_weighted_return(unit_equity: pd.Series, start=None) -> float:
    """Annualized time-weighted return: ``(R_T / R_start) ** (365.25 / days) - 1``."""
    R = unit_equity.astype(np.float64)
    if start is not None:
        R = R[R.index >= pd.Timestamp(start)]
    days = (R.index[-1] - R.index[0]).days
    if days <= 0:
        return float("nan")
    return float((R.iloc[-1] / R.iloc[0]) ** (DAYS_PER_YEAR / days) - 1.0)


@dataclass(frozen=True)
class DcaResult:
    """Outcome of a contribution plan.

    Attributes
    ----------
    equity : pd.Series
        Account value (currency), 0 before the first contribution.
    invested : pd.Series
        Cumulative contributions (currency).
    money_weighted_return : float
        Annualized IRR (fraction).
    time_weighted_return : float
        Annualized growth of the unit portfolio from the first contribution (fraction).
    """

    equity: pd.Series
    invested: pd.Series
    money_weighted_return: float
    time_weighted_return: float

    def summary(self) -> dict[str, float]:
        return {
            "final_value": float(self.equity.iloc[-1]),
            "invested": float(self.invested.iloc[-1]),
            "money_weighted_return": self.money_weighted_return,
            "time_weighted_return": self.time_weighted_return,
        }


def dca(unit_equity: pd.Series, contributions: pd.Series) -> DcaResult:
    """Equity, invested capital, money- and time-weighted returns of a contribution plan.

    Parameters
    ----------
    unit_equity : pd.Series, shape (T,)
        One variant's equity without contributions (e.g. ``SimResult.equity["strategy"]``).
    contributions : pd.Series
        Amounts by date.
    """
    c = align_contributions(contributions, unit_equity.index)
    eq = equity_with_contributions(unit_equity, c)
    first = c.index[np.argmax(c.to_numpy() != 0)]
    return DcaResult(
        equity=eq.rename("equity"),
        invested=c.cumsum().rename("invested"),
        money_weighted_return=money_weighted_return(c, float(eq.iloc[-1]), eq.index[-1]),
        time_weighted_return=time_weighted_return(unit_equity, start=first),
    )
