"""Write a synthetic :class:`engine.market.Market` to a flowbt store and read it back exactly.

The synthetic market is written in the same versioned, partitioned layout that
``flowbt data import`` writes (:mod:`datasets.store`; ``manifest.json`` carries the format
version), so every command reads a synthetic store and an imported one the same way. On top
of the common tables a synthetic store keeps side tables only the generator has::

    stocks.parquet       stock, sector, group, list_date
    signal.parquet       the planted signal z (dates x stocks, float64), for research and tests
    etf_info.parquet     etf, kind, sector, group, size, expense_ratio (fraction per year)

and the generator's parameters under ``manifest["synthetic"]``. Values are stored in the
market's dtype, so :func:`read_store` returns arrays equal to the written ones bit for bit
(NaN where NaN). Every value's ``src_*`` id is 0, "the synthetic generator".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from datasets.store import FORMAT_VERSION, SYNTHETIC_SRC, create_store, open_store
from engine.errors import DataError
from engine.market import EtfData, Market

__all__ = ["write_store", "read_store", "write_market", "read_market", "FORMAT_VERSION",
           "STORE_CHUNK_DAYS"]

#: Kept for callers of format 1; partitions are now calendar months of ``flows``.
STORE_CHUNK_DAYS = 250

_ETF_FIELDS = EtfData.FIELDS


def _ns(idx) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(idx).as_unit("ns")


def write_store(market: Market, out_dir) -> Path:
    """Write ``market`` (as :func:`datasets.synthetic.make_market` returns it) as a store.

    Parameters
    ----------
    market : Market
        Needs ``flows``, ``holdings``, ``etfs``, ``prices`` and the generator's ``meta``.
    out_dir : str or Path
        A new or empty directory, or an existing synthetic store (overwritten).

    Returns
    -------
    Path
        ``out_dir``.
    """
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    if (out / "manifest.json").is_file():
        old = open_store(out)
        if old.files:
            raise DataError("this store holds imported files; a synthetic market would mix "
                            "with them", file=str(out), fix="write it to another --out")
        # the stock-grouped copy of the old flows too (it would no longer be served anyway)
        for sub in ("flows", "periods", "holdings", "etfs", "prices", "flows_by_stock"):
            shutil.rmtree(out / sub, ignore_errors=True)
        # and the files beside them (create_store wants an empty directory: a rewrite
        # used to fail on the old stocks.parquet), the holdings' layout cache among them
        # (its partitions' identities could repeat in new files written within one tick)
        from datasets.holdings_layout import LAYOUT_FILE

        for name in (LAYOUT_FILE, "stocks.parquet", "signal.parquet", "etf_info.parquet"):
            (out / name).unlink(missing_ok=True)
        (out / "manifest.json").unlink()
    f = market.flows
    T, N, K = f.shape
    store = create_store(out, dtype=str(f.dtype), currency=f.currency)
    dates = _ns(f.dates)
    stocks = np.asarray(f.stocks, dtype=object)
    if not pd.Index(f.stocks).is_monotonic_increasing:
        raise DataError("synthetic stock codes are not sorted; the store's grid is sorted")
    month = dates.strftime("%Y-%m").to_numpy()
    bounds = np.flatnonzero(np.r_[True, month[1:] != month[:-1], True])
    (out / "flows").mkdir(exist_ok=True)
    src = pa.array(np.full(0, 0, np.int32))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        L = hi - lo
        src = pa.array(np.full(L * N, SYNTHETIC_SRC, dtype=np.int32))
        cols = {
            "date": pa.array(np.repeat(dates.to_numpy()[lo:hi], N)),
            "stock": pa.array(np.tile(stocks, L), type=pa.string()),
            "market_cap": pa.array(f.market_cap[lo:hi].ravel()),
            "close": pa.array(f.close[lo:hi].ravel()),
            "src_market": src,
        }
        for k, inv in enumerate(f.investors):
            cols[f"net_buy_{inv}"] = pa.array(np.ascontiguousarray(f.net_buy[lo:hi, :, k]).ravel())
            cols[f"net_buy_shares_{inv}"] = pa.array(
                np.ascontiguousarray(f.net_buy_shares[lo:hi, :, k]).ravel()
                if f.net_buy_shares is not None else np.full(L * N, np.nan, f.dtype))
            cols[f"src_net_buy_{inv}"] = src
        pq.write_table(pa.table(cols), out / "flows" / f"{month[lo]}.parquet")
    groups = store.groups("flows")
    groups["market"] = ["market_cap", "close"]
    for inv in f.investors:
        groups[f"net_buy_{inv}"] = [f"net_buy_{inv}", f"net_buy_shares_{inv}"]

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
    h = market.holdings.table.assign(src_weight=np.int32(SYNTHETIC_SRC))
    store.add_rows("holdings", h, {"weight": ["weight"]})
    e = market.etfs
    E = len(e.etfs)
    long = pd.DataFrame({"date": np.repeat(_ns(e.dates).to_numpy(), E),
                         "etf": np.tile(np.asarray(e.etfs, dtype=object), len(e.dates))})
    for name in _ETF_FIELDS:
        long[name] = getattr(e, name).ravel()
        long[f"src_{name}"] = np.int32(SYNTHETIC_SRC)
    if E:
        store.add_rows("etfs", long, {n: [n] for n in _ETF_FIELDS})
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
    prices = market.prices
    pl = prices.rename_axis(index="date", columns="asset").stack(future_stack=True) \
        .rename("close").reset_index()
    pl["date"] = _ns(pl["date"])
    pl["src_close"] = np.int32(SYNTHETIC_SRC)
    store.add_rows("prices", pl, {"close": ["close"]})
    store.manifest.update({
        "etf_currency": e.currency,
        "etf_order": [str(x) for x in e.etfs],
        "price_columns": [str(c) for c in prices.columns],
        "calendar": "synthetic",
        "synthetic": {
            "rebalance_dates": [str(d.date()) for d in pd.DatetimeIndex(meta["rebalance_dates"])],
            **{k: meta[k] for k in ("source", "generator", "model_version", "params",
                                    "atomic_investors", "cash_rate_pct", "calendar", "model")
               if k in meta}},
    })
    store.write_manifest()
    return out


def read_store(store_dir, *, max_stale_sessions: int = 0, quality=None) -> Market:
    """Read a store (synthetic or imported) into a :class:`Market`, generator meta included.

    Raises
    ------
    DataError
        No manifest, or another format version (:func:`datasets.store.open_store`).
    """
    d = Path(store_dir)
    store = open_store(d)
    m = store.market(max_stale_sessions=max_stale_sessions, quality=quality)
    meta = dict(m.meta)
    syn = store.manifest.get("synthetic")
    if syn:
        meta["rebalance_dates"] = _ns(pd.DatetimeIndex(syn.get("rebalance_dates", [])))
    st_path = d / "stocks.parquet"
    if st_path.is_file():
        st = pd.read_parquet(st_path)
        sidx = pd.Index(st["stock"].to_numpy(dtype=object), dtype="str")
        meta.update({
            "sectors": pd.Series(st["sector"].to_numpy(dtype=object), index=sidx,
                                 name="sector", dtype="str"),
            "groups": pd.Series(st["group"].to_numpy(np.int64), index=sidx, name="group"),
            "list_day": pd.Series(_ns(st["list_date"]), index=sidx, name="list_date"),
        })
    info_path = d / "etf_info.parquet"
    if info_path.is_file():
        info = pd.read_parquet(info_path)
        names = pd.Index(info["etf"].to_numpy(dtype=object), dtype="str")
        meta.update({
            "etf_kind": pd.Series(info["kind"].to_numpy(dtype=object), index=names,
                                  name="kind", dtype="str"),
            "etf_sector": pd.Series(info["sector"].to_numpy(dtype=object), index=names,
                                    name="sector", dtype="str"),
            "etf_group": pd.Series(info["group"].to_numpy(np.int64), index=names, name="group"),
            "etf_size": pd.Series(info["size"].to_numpy(np.int64), index=names, name="size"),
        })
    sig_path = d / "signal.parquet"
    if sig_path.is_file():
        sig = pd.read_parquet(sig_path)
        sig.index = _ns(sig.index)
        sig.columns = pd.Index(list(sig.columns), dtype="str")
        meta["signal"] = sig
    from dataclasses import replace

    return replace(m, meta=meta)


#: Names the ``datasets`` package re-exports (``datasets.write_market`` / ``read_market``).
write_market = write_store
read_market = read_store
