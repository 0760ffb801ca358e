"""flowbt datasets: loaders for real formats, the bundled real data, the synthetic market.

* ``load_<name>()`` -- shipped real data (see datasets/README.md for provenance).
* ``make_market(...)`` -- seeded synthetic KRX-like market (see datasets/CALIBRATION.md).
* File loaders for KRX portal exports, pykrx exports, ETF flow files, issuer holdings files and
  generic long CSV/Parquet live in their own modules (``datasets.krx``, ``datasets.pykrx_files``,
  ``datasets.etf_flows``, ``datasets.holdings_files``, ``datasets.generic``).

Names are resolved lazily so that ``import datasets`` is cheap (no numba, no Parquet I/O).
"""

from __future__ import annotations

import importlib

_LAZY: dict[str, str] = {
    # bundled real data
    "load_us_etf_adjclose": "datasets.bundled",
    "load_us_index_close": "datasets.bundled",
    "load_us_rates": "datasets.bundled",
    "load_krx_investor_netbuy": "datasets.bundled",
    "load_krx_market_index": "datasets.bundled",
    "load_us_etf_flows_2026q1": "datasets.bundled",
    "load_us_etf_shares_nav": "datasets.bundled",
    "load_us_market": "datasets.bundled",
    "load_krx_market": "datasets.bundled",
    "load_usdkrw": "datasets.fx_data",
    # synthetic market
    "make_market": "datasets.synthetic",
    "write_market": "datasets.synth_store",
    "read_market": "datasets.synth_store",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'datasets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
