"""The bundled USD/KRW exchange rate (for the KRW-based investor, :mod:`engine.fx`).

``datasets/data/usdkrw_daily.parquet`` is a cut of the ``KRW_USD`` column of the project's
``macro_daily.parquet`` (GitHub repo maeraego/Kospi-dashboard, which republishes FRED series).
The series is FRED ``DEXKOUS`` ("South Korean Won to U.S. Dollar Spot Exchange Rate", noon
buying rates in New York certified by the Federal Reserve Bank of New York): **KRW per one USD**
(e.g. 1,145.9 on a typical day). FRED data is public domain (US government work).

The cut dropped the 279 rows on which FRED publishes no value (US holidays); nothing was filled.
A consumer that needs a rate on such a day must say how it fills (see :func:`engine.fx.align_fx`,
which carries the last known rate forward and counts every filled day).
"""

from __future__ import annotations

import importlib.resources

import pandas as pd

from engine.errors import DataError

__all__ = ["USDKRW_FILE", "load_usdkrw"]

#: Bundled file name (under ``datasets/data``).
USDKRW_FILE = "usdkrw_daily.parquet"


def load_usdkrw() -> pd.Series:
    """Daily USD/KRW spot rate in KRW per USD (FRED DEXKOUS).

    ==========  ===========================================================================
    size        7,929 days (106 KiB), float64
    range       1995-01-03 .. 2026-08-14 (FRED publication days; US holidays absent)
    units       KRW per 1 USD (a rise = the won weakens = a USD asset gains in KRW)
    source      FRED DEXKOUS via GitHub repo maeraego/Kospi-dashboard (``KRW_USD`` column)
    license     public domain (FRED / Federal Reserve H.10 data)
    ==========  ===========================================================================

    Returns
    -------
    pd.Series, shape (7929,)
        Named ``usdkrw``, index ``date`` (unique, increasing).

    Examples
    --------
    >>> fx = load_usdkrw()
    >>> bool(fx.between(700, 2100).all()), fx.name
    (True, 'usdkrw')
    """
    res = importlib.resources.files("datasets") / "data" / USDKRW_FILE
    with importlib.resources.as_file(res) as path:
        if not path.exists():
            raise DataError("bundled data file is missing", file=str(path),
                            fix="reinstall flowbt")
        s = pd.read_parquet(path)["usdkrw"]
    if not s.index.is_unique or not s.index.is_monotonic_increasing:
        raise DataError("dates are not unique and increasing", file=USDKRW_FILE)
    if s.isna().any() or (s <= 0).any():
        raise DataError("a rate is missing or not positive", file=USDKRW_FILE, column="usdkrw")
    return s.astype("float64")
