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
    # file loaders (real formats)
    "read_krx_netbuy": "datasets.krx",
    "read_krx_marketcap": "datasets.krx",
    "read_krx_pdf": "datasets.krx",
    "load_krx_pdf": "datasets.krx",
    "read_krx_investor_by_date": "datasets.krx",
    "flows_from_krx": "datasets.krx",
    "read_pykrx_investor_value": "datasets.pykrx_files",
    "read_pykrx_marketcap": "datasets.pykrx_files",
    "read_pykrx_marketcap_by_date": "datasets.pykrx_files",
    "read_pykrx_pdf": "datasets.pykrx_files",
    "load_pykrx_pdf": "datasets.pykrx_files",
    "flows_from_pykrx": "datasets.pykrx_files",
    "load_etf_flows": "datasets.etf_flows",
    "read_etf_flows": "datasets.etf_flows",
    "load_etf_shares_nav": "datasets.etf_flows",
    "read_etf_shares_nav": "datasets.etf_flows",
    "load_holdings": "datasets.holdings_files",
    "read_holdings": "datasets.holdings_files",
    "load_top_holdings_wide": "datasets.holdings_files",
    "check_holdings_in_flows": "datasets.holdings_files",
    "load_generic_flows": "datasets.generic",
    "read_long_netbuy": "datasets.generic",
    "read_long_market": "datasets.generic",
    "compose_flows": "datasets.generic",
    "read_prices": "datasets.generic",
    "check_file": "datasets.check",
    # the store
    "open_store": "datasets.store",
    "create_store": "datasets.store",
    "import_files": "datasets.store_import",
    "detect_kind": "datasets.check",
    "xkrx_sessions": "datasets.calendar",
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
