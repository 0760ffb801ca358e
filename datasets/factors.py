"""Fama-French 5 daily factors (a bundled slice), for stress betas.

Kept beside ``datasets/bundled.py`` rather than in it so the stress work stays additive; the
file sits in ``datasets/data/`` with the other bundled data (provenance in datasets/README.md).
"""

from __future__ import annotations

import importlib.resources

import pandas as pd

from engine.errors import DataError

__all__ = ["load_ff5_daily_pct"]

FILE = "ff5_daily_pct.parquet"


def load_ff5_daily_pct() -> pd.DataFrame:
    """Fama-French 5 research factors, daily, in percent per day.

    ==========  ===========================================================================
    size        5,303 days x 6 (80 KiB), float64
    range       2005-01-03 .. 2026-01-30
    units       percent per day (0.5 = 0.5 %)
    columns     Mkt-RF, SMB, HML, RMW, CMA (factor returns), RF (one-day T-bill return)
    source      Kenneth R. French data library, via GitHub michaelshpan/autoresearch-portfolio
                (the raw file is /work/shared/data/ff5_mom_daily_pct.parquet, cut from 2005)
    license     Fama/French (free use with attribution)
    ==========  ===========================================================================
    """
    res = importlib.resources.files("datasets") / "data" / FILE
    with importlib.resources.as_file(res) as path:
        if not path.exists():
            raise DataError("bundled data file is missing", file=str(path),
                            fix="reinstall flowbt")
        df = pd.read_parquet(path)
    if not df.index.is_monotonic_increasing or df.index.has_duplicates:
        raise DataError("dates are not sorted and unique", file=FILE)
    return df
