"""The ``[contributions]`` and ``[fx]`` tables of a run configuration (the investor's view).

Schema (examples/dca_core_satellite.toml, examples/krw_investor.toml)::

    [contributions]                  # dollar-cost averaging (engine.contributions)
    amount = 1000000.0               # per period, in `currency`, finite, > 0 (required)
    frequency = "M"                  # "W" | "M" | "Q" (or "weekly" | "monthly" | "quarterly"):
                                     #   the first session of each week / month / quarter
    currency = "KRW"                 # optional; default the prices' currency. "KRW" on USD
                                     #   prices needs [fx] (it saves into the KRW curves)
    initial = 0.0                    # optional lump sum on the first contribution session
    start = "2012-01-01"             # optional, inclusive; default the first session
    end = "2024-12-31"               # optional, inclusive; default the last session

    [fx]                             # a KRW-based investor holding USD assets (engine.fx)
    investor_currency = "KRW"        # the only one with a shipped rate series
    hedged = [false, true]           # false | true | a list: every listed case runs
    hedge_ratio = 1.0                # fraction of the value hedged, (0, 1], when hedged
    hedge_cost_pct = 1.5             # percent per year (USD minus KRW rate), [0, 20]
    source = "bundled"               # FRED DEXKOUS, datasets/data/usdkrw_daily.parquet

The contributions and the KRW curves are computed after the simulation, from its equity
(``engine.app.investor``); a sweep ignores both tables (it compares strategy variants).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.errors import ConfigError

__all__ = ["FREQUENCY_CODES", "ContributionsConfig", "FxConfig", "check_investor",
           "source_currency"]

#: ``[contributions] frequency`` -> the period code of :func:`engine.contributions.contribution_schedule`.
FREQUENCY_CODES = {"W": "W", "M": "M", "Q": "Q", "weekly": "W", "monthly": "M",
                   "quarterly": "Q"}
#: Largest hedge carry accepted, percent per year (twice the widest USD-KRW rate gap on record).
MAX_HEDGE_COST_PCT = 20.0
#: Currency of the price panel of each data source whose currency is fixed (a store's is read
#: from the store when the backtest runs).
SOURCE_CURRENCY = {"us_etf": "USD", "krx_market": "KRW", "synthetic": "KRW"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContributionsConfig(_Strict):
    amount: float = Field(gt=0.0, allow_inf_nan=False)
    frequency: Literal["W", "M", "Q", "weekly", "monthly", "quarterly"] = "M"
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    initial: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def freq(self) -> str:
        """The period code ("W", "M" or "Q")."""
        return FREQUENCY_CODES[self.frequency]


class FxConfig(_Strict):
    investor_currency: Literal["KRW"] = "KRW"
    hedged: bool | list[bool] = False
    hedge_ratio: float = Field(1.0, gt=0.0, le=1.0, allow_inf_nan=False)
    hedge_cost_pct: float = Field(0.0, ge=0.0, le=MAX_HEDGE_COST_PCT, allow_inf_nan=False)
    source: Literal["bundled"] = "bundled"

    @field_validator("hedged")
    @classmethod
    def _cases(cls, v):
        if isinstance(v, list) and (not v or len(set(v)) != len(v)):
            raise ValueError("a list of distinct cases: [false, true], [true] or [false]")
        return v

    @property
    def cases(self) -> list[str]:
        """"unhedged" / "hedged" in the order the config lists them."""
        flags = self.hedged if isinstance(self.hedged, list) else [self.hedged]
        return ["hedged" if f else "unhedged" for f in flags]


#: Range hints of these keys (appended to pydantic's message by engine.app.config).
HINTS = {
    "amount": "the contribution per period in `currency` units, a positive finite number",
    "frequency": "'W', 'M' or 'Q' (weekly, monthly, quarterly): the first session of each",
    "hedge_cost_pct": "percent per year: 1.5 means 1.5 %/yr (USD minus KRW short rate); "
                      "a hedge that earns carry is not modelled (cost >= 0)",
    "hedge_ratio": "the hedged fraction of the value: 1.0 = fully hedged",
    "initial": "a lump sum in `currency` units on the first contribution session, >= 0",
}


def source_currency(source: str) -> str | None:
    """Currency of a data source's prices, None when only the data says (a store)."""
    return SOURCE_CURRENCY.get(source)


def check_investor(source: str, contributions: ContributionsConfig | None,
                   fx: FxConfig | None, file: str | None,
                   price_currency: str | None = None) -> None:
    """Checks across tables: dates in order, FX only on USD prices, a savable currency.

    ``price_currency`` is the prices' currency when known (the backtest passes a store's);
    otherwise it comes from ``source`` and a store is checked when it is read.

    Raises
    ------
    ConfigError
        Naming the key.
    """
    cur = price_currency or source_currency(source)
    if contributions is not None:
        c = contributions
        if c.start is not None and c.end is not None and c.start > c.end:
            raise ConfigError("contributions.end", str(c.end),
                              f"before contributions.start {c.start}", file=file)
    if fx is not None and cur is not None and cur != "USD":
        raise ConfigError("fx", f"investor_currency = {fx.investor_currency!r}",
                          f"the prices of data.source = {source!r} are in {cur}, not USD: "
                          "there are no USD assets to convert; remove [fx] or use USD data "
                          "(source = 'us_etf')", file=file)
    if contributions is not None and contributions.currency is not None and cur is not None:
        have = [cur] + ([fx.investor_currency] if fx is not None else [])
        if contributions.currency not in have:
            need = (" (add an [fx] table to save KRW into USD assets)"
                    if contributions.currency == "KRW" and cur == "USD" else "")
            raise ConfigError("contributions.currency", contributions.currency,
                              f"the equity curves are in {' and '.join(have)}{need}", file=file)
