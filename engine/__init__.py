"""flowbt engine, the core: data model, numba kernels and their wrappers, simulation, metrics.

Heavy parts (numba kernels, vectorbt) are imported lazily so that ``import engine`` and
``flowbt --help`` stay fast.
"""

from __future__ import annotations

import importlib

from engine.errors import ConfigError, DataError, DataQuality
from engine.investors import INVESTORS, Investor, canonical_investor
from engine.market import CASH, ConstituentFlows, EtfData, Holdings, HoldingsCSR, Market
from engine.prices import cash_index, with_cash

__all__ = [
    "CASH",
    "INVESTORS",
    "ConfigError",
    "ConstituentFlows",
    "DataError",
    "DataQuality",
    "EtfData",
    "Holdings",
    "HoldingsCSR",
    "Investor",
    "Market",
    "canonical_investor",
    "cash_index",
    "with_cash",
]

# Public names served from submodules on first access (keeps numba/vectorbt out of import time).
_LAZY = {
    "synthesize_flows": "engine.synthesis",
    "divergence": "engine.signals",
    "rolling_sum": "engine.signals",
    "rolling_zscore": "engine.signals",
    "ewma": "engine.signals",
    "streaks": "engine.signals",
    "etf_flows_from_shares": "engine.signals",
    "flow_pct_aum": "engine.signals",
    "volume_spike": "engine.signals",
    "relative_strength": "engine.signals",
    "tracking_difference": "engine.signals",
    "tracking_error": "engine.signals",
    "premium_discount": "engine.signals",
    "simulate": "engine.simulation",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
