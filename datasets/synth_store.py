"""Write a synthetic :class:`engine.market.Market` to a Parquet store and read it back exactly.

Store layout (a directory)::

    meta.json            format version, generator parameters, model text, calendar, dtype
    flows.parquet        one row per (date, stock) on the full grid, date-major, written in
                         row groups of STORE_CHUNK_DAYS days: date, stock, market_cap, close,
                         net_buy_<investor> (KRW), net_buy_shares_<investor> (shares); NaN = absent
    stocks.parquet       stock, sector, group, list_date
    signal.parquet       the planted signal z (dates x stocks, float64), for research and tests
    holdings.parquet     etf, effective_date, stock, weight (fraction)
    etfs.parquet         one row per (date, etf): close, nav, shares_outstanding, volume, flow
    etf_info.parquet     etf, kind, sector, group, size, expense_ratio (fraction per year)
    prices.parquet       ETF closes + CASH (dates x assets)

Values are stored in the market's dtype, so :func:`read_store` returns arrays equal to the
written ones bit for bit (NaN where NaN).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.market import ConstituentFlows, EtfData, Holdings, Market

__all__ = ["write_store", "read_store", "write_market", "read_market", "FORMAT_VERSION",
           "STORE_CHUNK_DAYS"]

#: Store format version written to meta.json; :func:`read_store` refuses other versions.
FORMAT_VERSION = 1
#: Days per Parquet row group of flows.parquet (bounds memory when writing).
STORE_CHUNK_DAYS = 250

_ETF_FIELDS = ("close", "nav", "shares_outstanding", "volume", "flow")


def _ns(idx) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(idx).as_unit("ns")


def write_store(market: Market, out_dir) -> Path:
    """Write ``market`` (as :func:`datasets.synthetic.make_market` returns it) under ``out_dir``.

    Parameters
    ----------
    market : Market
        Needs ``flows``, ``holdings``, ``etfs``, ``prices`` and the generator's ``meta``.
    out_dir : str or Path
        Created if missing; existing store files are overwritten.

    Returns
    -------
    Path
        ``out_dir``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    f = market.flows
    T, N, K = f.shape
    dates = _ns(f.dates)
    stocks = np.asarray(f.stocks, dtype=object)
    schema = None
    writer = None
    try:
        for lo in range(0, T, STORE_CHUNK_DAYS):
            hi = min(T, lo + STORE_CHUNK_DAYS)
            L = hi - lo
            cols = {
                "date": pa.array(np.repeat(dates.to_numpy()[lo:hi], N)),
                "stock": pa.array(np.tile(stocks, L), type=pa.string()),
                "market_cap": pa.array(f.market_cap[lo:hi].ravel()),
                "close": pa.array(f.close[lo:hi].ravel()),
            }
            for k, inv in enumerate(f.investors):
                cols[f"net_buy_{inv}"] = pa.array(np.ascontiguousarray(f.net_buy[lo:hi, :, k]).ravel())
            if f.net_buy_shares is not None:
                for k, inv in enumerate(f.investors):
                    cols[f"net_buy_shares_{inv}"] = pa.array(
                        np.ascontiguousarray(f.net_buy_shares[lo:hi, :, k]).ravel())
            table = pa.table(cols)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(out / "flows.parquet", schema)
            writer.write_table(table, row_group_size=L * N)
    finally:
        if writer is not None:
            writer.close()

    meta = market.meta
    pd.DataFrame({
        "stock": pd.Series(stocks, dtype=object),
        # the generator's meta holds every stock and ETF: these reindexes only reorder
        "sector": meta["sectors"].reindex(f.stocks).to_numpy(dtype=object),
        "group": meta["groups"].reindex(f.stocks).to_numpy(dtype=np.int64),
        "list_date": _ns(meta["list_day"].reindex(f.stocks)),
    }).to_parquet(out / "stocks.parquet", index=False)
    if "signal" in meta:
        sig = meta["signal"]
        pd.DataFrame(sig.to_numpy(), columns=[str(c) for c in sig.columns],
                     index=_ns(sig.index).rename("date")).to_parquet(out / "signal.parquet")
    market.holdings.table.to_parquet(out / "holdings.parquet", index=False)
    e = market.etfs
    E = len(e.etfs)
    long = {"date": np.repeat(_ns(e.dates).to_numpy(), E),
            "etf": np.tile(np.asarray(e.etfs, dtype=object), len(e.dates))}
    for name in _ETF_FIELDS:
        long[name] = getattr(e, name).ravel()
    pd.DataFrame(long).to_parquet(out / "etfs.parquet", index=False)
    etf_names = pd.Index(e.etfs, dtype="str")
    pd.DataFrame({
        "etf": etf_names,
        # every ETF is in the meta too: a reorder
        "kind": meta["etf_kind"].reindex(etf_names).to_numpy(dtype=object),
        "sector": meta["etf_sector"].reindex(etf_names).to_numpy(dtype=object),
        "group": meta["etf_group"].reindex(etf_names).to_numpy(dtype=np.int64),
        "size": meta["etf_size"].reindex(etf_names).to_numpy(dtype=np.int64),
        "expense_ratio": e.expense_ratio,
    }).to_parquet(out / "etf_info.parquet", index=False)
    prices = market.prices.copy()
    prices.index = _ns(prices.index).rename("date")
    prices.to_parquet(out / "prices.parquet")
    doc = {
        "format_version": FORMAT_VERSION,
        "dtype": str(f.dtype),
        "currency": f.currency,
        "etf_currency": e.currency,
        "n_days": T, "n_stocks": N, "investors": list(f.investors),
        "rebalance_dates": [str(d.date()) for d in pd.DatetimeIndex(meta["rebalance_dates"])],
        **{k: meta[k] for k in ("source", "generator", "model_version", "params",
                                "atomic_investors", "cash_rate_pct", "calendar", "model")
           if k in meta},
    }
    (out / "meta.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return out


def read_store(store_dir) -> Market:
    """Read a store written by :func:`write_store` back into a :class:`Market`.

    Raises
    ------
    DataError
        If a file is missing, the format version differs, or flows.parquet is not the full
        date-major (date, stock) grid.
    """
    import pyarrow.parquet as pq

    d = Path(store_dir)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        raise DataError("not a synthetic market store (meta.json missing)", file=str(d),
                        fix="write one with `flowbt data synth --out DIR`")
    doc = json.loads(meta_path.read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise DataError(f"store format {doc.get('format_version')} is not {FORMAT_VERSION}",
                        file=str(meta_path), fix="regenerate the store with this flowbt")
    dtype = np.dtype(doc["dtype"])
    inv = tuple(doc["investors"])
    T, N, K = int(doc["n_days"]), int(doc["n_stocks"]), len(inv)
    fpath = d / "flows.parquet"
    pf = pq.ParquetFile(fpath)
    if pf.metadata.num_rows != T * N:
        raise DataError(f"{pf.metadata.num_rows} rows, expected {T} days x {N} stocks",
                        file=str(fpath), fix="the store is incomplete: regenerate it")
    key = pq.read_table(fpath, columns=["date", "stock"])
    date_col = key.column("date").to_numpy()
    stock_col = key.column("stock").to_numpy(zero_copy_only=False)
    dates = _ns(pd.DatetimeIndex(date_col[::N]))
    stocks = pd.Index(stock_col[:N].astype(object), dtype="str")
    if not (np.array_equal(np.repeat(dates.to_numpy(), N), date_col.astype("datetime64[ns]"))
            and np.array_equal(np.tile(stock_col[:N], T), stock_col)):
        raise DataError("rows are not the date-major (date, stock) grid", file=str(fpath),
                        column="date", fix="regenerate the store with `flowbt data synth`")
    del key, date_col, stock_col
    has_shares = f"net_buy_shares_{inv[0]}" in pf.schema_arrow.names

    def col(name):
        return pq.read_table(fpath, columns=[name]).column(name).to_numpy().astype(
            dtype, copy=False).reshape(T, N)

    net_buy = np.empty((T, N, K), dtype=dtype)
    nbs = np.empty((T, N, K), dtype=dtype) if has_shares else None
    for k, name in enumerate(inv):
        net_buy[:, :, k] = col(f"net_buy_{name}")
        if has_shares:
            nbs[:, :, k] = col(f"net_buy_shares_{name}")
    flows = ConstituentFlows(dates=dates, stocks=stocks, investors=inv, net_buy=net_buy,
                             market_cap=col("market_cap"), close=col("close"),
                             net_buy_shares=nbs, currency=doc.get("currency", "KRW"))
    holdings = Holdings(pd.read_parquet(d / "holdings.parquet"))
    info = pd.read_parquet(d / "etf_info.parquet")
    names = pd.Index(info["etf"].to_numpy(dtype=object), dtype="str")
    E = len(names)
    el = pd.read_parquet(d / "etfs.parquet")
    edates = _ns(pd.DatetimeIndex(el["date"].to_numpy()[::E])) if E else dates
    etfs = EtfData(
        dates=edates, etfs=names,
        **{n: el[n].to_numpy().astype(dtype, copy=False).reshape(len(edates), E)
           for n in _ETF_FIELDS},
        expense_ratio=info["expense_ratio"].to_numpy(np.float64),
        currency=doc.get("etf_currency", "KRW"),
    )
    prices = pd.read_parquet(d / "prices.parquet")
    prices.index = _ns(prices.index)
    st = pd.read_parquet(d / "stocks.parquet")
    sidx = pd.Index(st["stock"].to_numpy(dtype=object), dtype="str")
    meta = {k: v for k, v in doc.items()
            if k not in ("format_version", "dtype", "currency", "etf_currency", "n_days",
                         "n_stocks", "investors")}
    meta.update({
        "sectors": pd.Series(st["sector"].to_numpy(dtype=object), index=sidx, name="sector",
                             dtype="str"),
        "groups": pd.Series(st["group"].to_numpy(np.int64), index=sidx, name="group"),
        "list_day": pd.Series(_ns(st["list_date"]), index=sidx, name="list_date"),
        "etf_kind": pd.Series(info["kind"].to_numpy(dtype=object), index=names, name="kind",
                             dtype="str"),
        "etf_sector": pd.Series(info["sector"].to_numpy(dtype=object), index=names,
                                name="sector", dtype="str"),
        "etf_group": pd.Series(info["group"].to_numpy(np.int64), index=names, name="group"),
        "etf_size": pd.Series(info["size"].to_numpy(np.int64), index=names, name="size"),
        "rebalance_dates": _ns(pd.DatetimeIndex(doc.get("rebalance_dates", []))),
        "store": str(d),
    })
    sig_path = d / "signal.parquet"
    if sig_path.is_file():
        sig = pd.read_parquet(sig_path)
        sig.index = _ns(sig.index)
        sig.columns = pd.Index(list(sig.columns), dtype="str")
        meta["signal"] = sig
    return Market(flows=flows, holdings=holdings, etfs=etfs, prices=prices, meta=meta)


#: Names the ``datasets`` package re-exports (``datasets.write_market`` / ``read_market``).
write_market = write_store
read_market = read_store
