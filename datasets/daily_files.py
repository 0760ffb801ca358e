"""A flow panel written as the daily files users import (``generic-wide`` and
``generic-netbuy`` + ``generic-market``).

The tests and ``benchmarks/bench_import.py`` build stores from files the way a user does:
these frames are one session of a :class:`~engine.market.ConstituentFlows` panel in the generic layouts
:mod:`datasets.generic` documents, so every writer of such files makes the same columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.market import ConstituentFlows


def wide_day(f: ConstituentFlows, t: int, *, market: bool = True, shares: bool = True) -> pd.DataFrame:
    """Session ``t`` of ``f`` as one ``generic-wide`` frame: a row per listed stock.

    Parameters
    ----------
    f : ConstituentFlows
        The panel, shape (T, N, K).
    t : int
        Session position in ``f.dates``.
    market : bool
        Add ``market_cap`` and ``close`` (KRW, KRW per share).
    shares : bool
        Add ``net_buy_shares_<investor>`` (shares) after the ``net_buy_<investor>`` (KRW)
        columns.

    Returns
    -------
    DataFrame
        ``date, stock[, market_cap, close], net_buy_<k>..., [net_buy_shares_<k>...]``; the
        stocks with a market cap that day (listed), in panel order.
    """
    ok = np.isfinite(f.market_cap[t])
    cols: dict = {"date": f.dates[t], "stock": np.asarray(f.stocks)[ok]}
    if market:
        cols.update(market_cap=f.market_cap[t][ok], close=f.close[t][ok])
    for j, k in enumerate(f.investors):
        cols[f"net_buy_{k}"] = f.net_buy[t, ok, j]
    if shares:
        for j, k in enumerate(f.investors):
            cols[f"net_buy_shares_{k}"] = f.net_buy_shares[t, ok, j]
    return pd.DataFrame(cols)


def long_day(f: ConstituentFlows, t: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Session ``t`` of ``f`` as a ``generic-netbuy`` and a ``generic-market`` frame.

    Returns
    -------
    netbuy : DataFrame
        ``date, stock, investor, net_buy, net_buy_shares``, a row per (stock, investor)
        with a net buy (KRW; shares), stock-major.
    market : DataFrame
        ``date, stock, market_cap, close``, a row per listed stock (an empty close kept).
    """
    _, n, k = f.shape
    nb = pd.DataFrame({"date": f.dates[t], "stock": np.repeat(np.asarray(f.stocks), k),
                       "investor": np.tile(list(f.investors), n),
                       "net_buy": f.net_buy[t].ravel(),
                       "net_buy_shares": f.net_buy_shares[t].ravel()}).dropna()
    mk = pd.DataFrame({"date": f.dates[t], "stock": np.asarray(f.stocks),
                       "market_cap": f.market_cap[t], "close": f.close[t]})
    return nb, mk.dropna(subset=["market_cap"])


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` to ``path``: Parquet (pandas defaults, no index) or, for ``.csv``, text with
    every float to 17 significant digits (read back bit for bit) and ISO dates."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False, float_format="%.17g", date_format="%Y-%m-%d")
    else:
        frame.to_parquet(path, index=False)
    return path
