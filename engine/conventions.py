"""Project-wide numeric conventions, each defined once (STYLE: one default, defined once).

Every module that annualizes or takes a standard deviation imports these names from here
(:mod:`engine.metrics`, :mod:`engine.signals` and :mod:`engine.nb.rolling_nb` re-export
them for their existing importers).
"""

from __future__ import annotations

__all__ = ["DAYS_PER_YEAR", "DDOF", "PERIODS_PER_YEAR"]

#: Bars per year used to annualize (one bar is one trading day): vectorbt
#: ``year_freq="252 days"`` with ``freq="1D"``.
PERIODS_PER_YEAR = 252

#: Delta degrees of freedom of every standard deviation in flowbt (1, as pandas), rolling or
#: not, including the tracking error.
DDOF = 1

#: Calendar days per year, for anything that accrues or annualizes over calendar time
#: (expense-ratio drag, money- and time-weighted returns of contributions).
DAYS_PER_YEAR = 365.25
