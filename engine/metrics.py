"""Performance metrics: vectorbt's returns accessor plus what it lacks.

From vectorbt (``returns.vbt.returns(freq=..., year_freq=...)``): total and annualized return,
annualized volatility, Sharpe, Sortino, max drawdown, Calmar. Added here: tracking error and
information ratio against a benchmark, and turnover.

Conventions (one default, used everywhere)
------------------------------------------
* One bar is one trading day; a year is :data:`PERIODS_PER_YEAR` bars (vectorbt
  ``freq="1D"``, ``year_freq="252 days"``).
* Standard deviations use ``ddof=1`` (:data:`DDOF`), also for the tracking error.
* Zero variance gives NaN, not inf.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.conventions import DDOF, PERIODS_PER_YEAR

__all__ = [
    "ANNUALIZED",
    "DDOF",
    "PERIODS_PER_YEAR",
    "annualized_warning",
    "information_ratio",
    "performance_metrics",
    "tracking_error",
]


#: Columns of :func:`performance_metrics` (and of metrics.csv) that extrapolate to a year.
ANNUALIZED = ("annualized_return", "annualized_volatility", "sharpe_ratio", "sortino_ratio",
              "calmar_ratio", "turnover_per_year")


def annualized_warning(n_bars: int, periods_per_year: int = PERIODS_PER_YEAR) -> str | None:
    """The warning every command prints when annualized figures cover less than a year.

    Over a few sessions an annualized return is the run's return raised to a large power (3
    sessions up 3 % "annualize" to +1,187 %): such figures are kept (they are what vectorbt
    computes) but flagged ``annualized_valid = False`` in the metrics and named here.

    Examples
    --------
    >>> print(annualized_warning(3))  # doctest: +NORMALIZE_WHITESPACE
    annualized figures (annualized_return, annualized_volatility, sharpe_ratio, sortino_ratio,
    calmar_ratio, turnover_per_year) extrapolate a run of 3 bars (0.01 years) to a year: not
    meaningful under 252 bars; flagged annualized_valid = False in metrics.csv
    >>> annualized_warning(252) is None
    True
    """
    if n_bars >= periods_per_year:
        return None
    return (f"annualized figures ({', '.join(ANNUALIZED)}) extrapolate a run of {n_bars} bars "
            f"({n_bars / periods_per_year:.2f} years) to a year: not meaningful under "
            f"{periods_per_year} bars; flagged annualized_valid = False in metrics.csv")


def _active(returns: pd.DataFrame, benchmark: pd.Series) -> pd.DataFrame:
    """Active returns, first row (no return yet) dropped."""
    a = returns.sub(benchmark, axis=0)
    return a.iloc[1:]


def tracking_error(returns: pd.DataFrame, benchmark: pd.Series,
                   periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Annualized standard deviation of active returns (ddof=1).

    .. math:: TE = \\sqrt{P}\\,\\operatorname{std}(r_t - b_t)

    Parameters
    ----------
    returns : pd.DataFrame, shape (T, V)
        Simple returns per bar of each variant.
    benchmark : pd.Series, shape (T,)
        Simple returns per bar of the benchmark.
    periods_per_year : int

    Returns
    -------
    pd.Series, shape (V,)
        Fractions per year; 0 for the benchmark itself.

    Examples
    --------
    >>> r = pd.DataFrame({"a": [0.0, 0.01, -0.01, 0.02]})
    >>> b = pd.Series([0.0, 0.0, 0.0, 0.0])
    >>> round(float(tracking_error(r, b, 1).iloc[0]), 6)
    0.015275
    """
    a = _active(returns, benchmark)
    return a.std(ddof=DDOF) * np.sqrt(periods_per_year)


def information_ratio(returns: pd.DataFrame, benchmark: pd.Series,
                      periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Annualized mean active return over tracking error (NaN when TE is 0).

    .. math:: IR = P\\,\\overline{(r - b)} / TE
    """
    a = _active(returns, benchmark)
    te = a.std(ddof=DDOF) * np.sqrt(periods_per_year)
    ir = a.mean() * periods_per_year / te.where(te > 0)
    return ir


def performance_metrics(returns: pd.DataFrame, *, freq: str = "1D",
                        year_freq: str = f"{PERIODS_PER_YEAR} days") -> pd.DataFrame:
    """vectorbt's returns-accessor metrics for every column of ``returns``.

    Parameters
    ----------
    returns : pd.DataFrame, shape (T, V)
        Simple returns per bar (the first row is 0: no return before the first bar).
    freq, year_freq : str
        Passed to ``returns.vbt.returns``; the defaults annualize with 252 bars per year.

    Returns
    -------
    pd.DataFrame, shape (V, 9)
        total_return, annualized_return, annualized_volatility, sharpe_ratio, sortino_ratio,
        max_drawdown (<= 0) and calmar_ratio; risk-free rate 0 (compare with the CASH
        benchmark for excess returns). ``years`` is the run length (bars / 252, the count
        vectorbt annualizes with) and ``annualized_valid`` is False when it is under one year:
        the annualized columns (:data:`ANNUALIZED`) then extrapolate a short run and must not
        be read as yearly figures (:func:`annualized_warning` says so in the command output).
    """
    import vectorbt  # noqa: F401  (registers the .vbt accessor)

    acc = returns.vbt.returns(freq=freq, year_freq=year_freq)
    out = pd.DataFrame(
        {
            "total_return": acc.total(),
            "annualized_return": acc.annualized(),
            "annualized_volatility": acc.annualized_volatility(ddof=DDOF),
            "sharpe_ratio": acc.sharpe_ratio(ddof=DDOF),
            "sortino_ratio": acc.sortino_ratio(),
            "max_drawdown": acc.max_drawdown(),
            "calmar_ratio": acc.calmar_ratio(),
        }
    )
    out = out.replace([np.inf, -np.inf], np.nan)
    years = len(returns) * pd.Timedelta(freq) / pd.Timedelta(year_freq)  # bars / 252
    out["years"] = years
    out["annualized_valid"] = years >= 1.0
    return out
