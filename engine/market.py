"""The data model: one :class:`Market` bundle that every loader and the generator return.

Layout (README "Concepts" and "Contracts")
-----------------------------------
* Time is axis 0 everywhere. Arrays are C-contiguous NumPy (float64 by default, float32
  allowed, one dtype per container) with their pandas labels beside them.
* ``ConstituentFlows.net_buy`` has shape ``(T, N, K)`` so that the investor axis is the
  contiguous innermost one: the synthesis kernel reads one stock-day's K investors in one go.
* Absence: a stock not listed / not trading on a day has ``NaN`` market cap, close and net
  buying on that day. Kernels treat a NaN term as "contributes nothing" (never as zero flow
  silently: loaders count every such cell in the data-quality summary).
* Holdings are point-in-time snapshots ``(etf, effective_date, stock, weight)``; a snapshot is
  usable on the first session on or after ``effective_date + lag_days`` (calendar days) and until
  the next snapshot of that ETF becomes usable.

Any part of a :class:`Market` may be absent (a US-only market has no constituent flows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.investors import INVESTORS

__all__ = [
    "CASH",
    "ConstituentFlows",
    "EtfData",
    "Holdings",
    "HoldingsCSR",
    "Market",
    "as_float_array",
]

#: Name of the cash asset in price panels and target weights.
CASH = "CASH"

#: Tolerance on holdings weights summing to 1 after cash removal (fractions).
WEIGHT_SUM_TOL = 0.02

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def as_float_array(a, dtype, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``a`` as a C-contiguous float array of ``dtype``; check its shape.

    Raises
    ------
    DataError
        If the shape differs from ``shape`` or the dtype is not float32/float64.
    """
    dtype = np.dtype(dtype)
    if dtype not in _FLOAT_DTYPES:
        raise DataError(f"{name}: dtype {dtype} is not supported", fix="use float64 or float32")
    arr = np.ascontiguousarray(np.asarray(a, dtype=dtype))
    if shape is not None and arr.shape != tuple(shape):
        raise DataError(f"{name}: shape {arr.shape} does not match the expected {tuple(shape)}")
    return arr


@dataclass(frozen=True, eq=False)
class ConstituentFlows:
    """Daily net buying by investor type for every constituent stock.

    Parameters
    ----------
    dates : pd.DatetimeIndex, shape (T,)
        Trading sessions, strictly increasing, tz-naive.
    stocks : pd.Index, shape (N,)
        Stock codes (str), unique.
    investors : tuple of str, shape (K,)
        Canonical investor ids (:data:`engine.investors.INVESTORS`), unique.
    net_buy : ndarray, shape (T, N, K)
        Net buying value (buy - sell) in ``currency``; NaN where the stock is absent.
    market_cap : ndarray, shape (T, N)
        Market capitalization in ``currency``; > 0 where present, NaN where absent.
    close : ndarray, shape (T, N)
        Close price in ``currency`` per share; NaN where absent.
    net_buy_shares : ndarray, shape (T, N, K), optional
        Net buying in shares.
    currency : str
        ``"KRW"`` for KRX data.
    """

    dates: pd.DatetimeIndex
    stocks: pd.Index
    investors: tuple[str, ...]
    net_buy: np.ndarray
    market_cap: np.ndarray
    close: np.ndarray
    net_buy_shares: np.ndarray | None = None
    currency: str = "KRW"

    def __post_init__(self) -> None:
        dates = pd.DatetimeIndex(self.dates)
        if not dates.is_monotonic_increasing or not dates.is_unique:
            raise DataError("flow dates must be strictly increasing and unique")
        stocks = pd.Index(self.stocks).astype(str)
        if not stocks.is_unique:
            dup = stocks[stocks.duplicated()][0]
            raise DataError(f"stock {dup!r} appears twice in the flow panel")
        investors = tuple(self.investors)
        unknown = [i for i in investors if i not in INVESTORS]
        if unknown:
            raise DataError(f"unknown investor ids {unknown}", fix=f"use {INVESTORS}")
        if len(set(investors)) != len(investors):
            raise DataError("investor ids must be unique")
        nb = np.asarray(self.net_buy)
        dtype = nb.dtype if nb.dtype in _FLOAT_DTYPES else np.dtype(np.float64)
        T, N, K = len(dates), len(stocks), len(investors)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "stocks", stocks)
        object.__setattr__(self, "investors", investors)
        object.__setattr__(self, "net_buy", as_float_array(nb, dtype, "net_buy", (T, N, K)))
        object.__setattr__(
            self, "market_cap", as_float_array(self.market_cap, dtype, "market_cap", (T, N))
        )
        object.__setattr__(self, "close", as_float_array(self.close, dtype, "close", (T, N)))
        if self.net_buy_shares is not None:
            object.__setattr__(
                self,
                "net_buy_shares",
                as_float_array(self.net_buy_shares, dtype, "net_buy_shares", (T, N, K)),
            )
        bad = (self.market_cap <= 0) & np.isfinite(self.net_buy).any(axis=2)
        if bad.any():
            t, i = np.argwhere(bad)[0]
            raise DataError(
                f"market cap is {self.market_cap[t, i]} for stock {stocks[i]} on "
                f"{dates[t].date()} where net buying exists ({int(bad.sum())} such cells)",
                column="market_cap",
                fix="market caps must be > 0; mark an unlisted stock-day NaN instead",
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, N, K)``."""
        return self.net_buy.shape  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return self.net_buy.dtype

    def investor(self, name: str) -> pd.DataFrame:
        """Net buying of one investor type as a (dates x stocks) DataFrame (a copy)."""
        k = self.investors.index(name)
        return pd.DataFrame(self.net_buy[:, :, k], index=self.dates, columns=self.stocks)

    def frame(self, field_name: str) -> pd.DataFrame:
        """``market_cap`` or ``close`` as a (dates x stocks) DataFrame."""
        return pd.DataFrame(getattr(self, field_name), index=self.dates, columns=self.stocks)

    def slice_dates(self, end=None, start=None) -> ConstituentFlows:
        """The panel restricted to ``start <= date <= end`` (label based, inclusive)."""
        lo = 0 if start is None else self.dates.searchsorted(pd.Timestamp(start), "left")
        hi = len(self.dates) if end is None else self.dates.searchsorted(pd.Timestamp(end), "right")
        nbs = None if self.net_buy_shares is None else self.net_buy_shares[lo:hi]
        return replace(
            self,
            dates=self.dates[lo:hi],
            net_buy=self.net_buy[lo:hi],
            market_cap=self.market_cap[lo:hi],
            close=self.close[lo:hi],
            net_buy_shares=nbs,
        )

    def astype(self, dtype) -> ConstituentFlows:
        nbs = None if self.net_buy_shares is None else self.net_buy_shares.astype(dtype)
        return replace(
            self,
            net_buy=self.net_buy.astype(dtype),
            market_cap=self.market_cap.astype(dtype),
            close=self.close.astype(dtype),
            net_buy_shares=nbs,
        )


class HoldingsCSR(NamedTuple):
    """Holdings laid out for kernels, one row per (ETF, snapshot).

    All index arrays are int64, weights float64. Snapshot ``s`` of ETF ``etf[s]`` is usable for
    flow-date rows ``start[s] <= t < stop[s]`` and holds stocks ``stock[indptr[s]:indptr[s+1]]``
    (column positions in the flow panel) with ``weight[indptr[s]:indptr[s+1]]`` (fractions).
    Constituents absent from the flow panel have stock position ``-1``.
    """

    etf: np.ndarray  # (S,)
    start: np.ndarray  # (S,)
    stop: np.ndarray  # (S,)
    indptr: np.ndarray  # (S + 1,)
    stock: np.ndarray  # (nnz,)
    weight: np.ndarray  # (nnz,)


@dataclass(frozen=True, eq=False)
class Holdings:
    """Point-in-time ETF holdings snapshots (portfolio deposit files).

    Parameters
    ----------
    table : pd.DataFrame
        Long table with columns ``etf`` (str), ``effective_date`` (datetime64), ``stock`` (str),
        ``weight`` (fraction, each snapshot sums to 1 within ``WEIGHT_SUM_TOL``; cash rows already
        removed by the loader). Sorted by (etf, effective_date, stock) on construction.
    partial : bool
        The snapshots may list only part of the fund (top-N holdings files loaded with
        ``allow_partial=True``): each snapshot then sums to at most 1 (within
        ``WEIGHT_SUM_TOL``) and its weights are kept as given, never renormalized (issue #10
        item 5). The flow synthesis treats the missing part as absent, not as zero flow of
        the listed stocks scaled up.

    Notes
    -----
    A snapshot is usable from the first session on or after ``effective_date + lag_days``
    (calendar days) until the next snapshot of the same ETF becomes usable. Before its first
    snapshot an ETF has no weights (synthesized flow is NaN there).
    """

    table: pd.DataFrame
    partial: bool = False

    def __post_init__(self) -> None:
        t = self.table
        missing = {"etf", "effective_date", "stock", "weight"} - set(t.columns)
        if missing:
            raise DataError(f"holdings table lacks columns {sorted(missing)}")
        # no .copy(): pandas >= 3 is copy-on-write, so the caller writing into its table
        # later copies its own columns and never reaches these (a deep copy was 0.1 s of
        # strings at 6.8 M rows)
        t = t.loc[:, ["etf", "effective_date", "stock", "weight"]]
        t["etf"] = t["etf"].astype(str)
        t["stock"] = t["stock"].astype(str)
        t["effective_date"] = pd.to_datetime(t["effective_date"])
        # a copy of the weights (8 bytes a row): a write through the caller's
        # ``frame["weight"].array`` is not covered by copy-on-write and would reach them
        t["weight"] = t["weight"].to_numpy(np.float64, copy=True)
        if t["weight"].isna().any():
            pos = int(np.flatnonzero(t["weight"].isna().to_numpy())[0])
            raise DataError("holdings weight is NaN", row=pos, row_kind="position", column="weight")
        # Sorted once on integer codes (factorized with sort=True, so code order is string
        # order): duplicates are then adjacent rows and snapshots are runs. On 6.8 M rows this
        # takes ~1 s where pandas' duplicated/groupby/sort_values on strings took 2-3 s, and
        # the codes kept here make to_csr map 3,000 codes instead of 6.8 M strings.
        etf_code, etf_names = pd.factorize(t["etf"], sort=True)
        stock_code, stock_names = pd.factorize(t["stock"], sort=True)
        day = t["effective_date"].to_numpy()
        day_code, day_values = pd.factorize(day, sort=True)
        n_e, n_d, n_s = len(etf_names) or 1, len(day_values) or 1, len(stock_names) or 1
        if n_e * n_d * n_s < 2**62:
            # one int64 key: a stable sort of it is the lexicographic order, and (unlike
            # np.lexsort) fast on the already grouped tables loaders produce
            key = (etf_code.astype(np.int64) * n_d + day_code) * n_s + stock_code
            order = None  # computed below only when the rows are not in order yet
        else:  # pragma: no cover - more (ETF, day, stock) combinations than int64 holds
            order = np.lexsort((stock_code, day_code, etf_code))
            key = order  # in order iff the lexsort is the identity
        if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
            # already in order (what the loaders and the stores write): the stable sort is
            # the identity, so skip the 6.8 M-row gathers of four columns and three codes
            t = t.reset_index(drop=True)
        else:
            if order is None:
                order = np.argsort(key, kind="stable")
            t = t.take(order).reset_index(drop=True)
            etf_code, stock_code, day = etf_code[order], stock_code[order], day[order]
        same_snap = (etf_code[1:] == etf_code[:-1]) & (day[1:] == day[:-1])
        dup = np.flatnonzero(same_snap & (stock_code[1:] == stock_code[:-1]))
        if len(dup):
            r = t.iloc[dup[0] + 1]
            raise DataError(
                f"stock {r['stock']} appears twice in the {r['etf']} snapshot of "
                f"{r['effective_date'].date()}",
                fix="merge duplicate holdings rows",
            )
        snap_start = np.flatnonzero(np.r_[True, ~same_snap]) if len(t) else np.empty(0, int)
        sums = np.add.reduceat(t["weight"].to_numpy(), snap_start) if len(t) else np.empty(0)
        if self.partial:
            off = np.flatnonzero((sums > 1.0 + WEIGHT_SUM_TOL) | (sums <= 0.0))
        else:
            off = np.flatnonzero(np.abs(sums - 1.0) > WEIGHT_SUM_TOL)
        if len(off):
            r = t.iloc[snap_start[off[0]]]
            raise DataError(
                f"weights of {r['etf']} on {r['effective_date'].date()} sum to "
                f"{sums[off[0]]:.4f}, not {'at most ' if self.partial else ''}1 "
                f"(tolerance {WEIGHT_SUM_TOL})",
                column="weight",
                fix="give weights as fractions of the non-cash portfolio"
                    + ("" if self.partial else
                       "; for a top-N list of part of the fund use Holdings(..., partial=True)"),
            )
        object.__setattr__(self, "table", t)
        object.__setattr__(self, "_codes", (etf_code, pd.Index(etf_names),
                                            stock_code, pd.Index(stock_names)))
        # snapshot runs of the sorted table, for to_csr: rows snap_ptr[s]:snap_ptr[s+1] are
        # snapshot s, of ETF code snap_etf[s], effective snap_day[s] (24,000 snapshots
        # instead of 6.8 M rows to order and compare there)
        snap_ptr = np.append(snap_start, len(t)).astype(np.int64)
        object.__setattr__(self, "_snaps", (snap_ptr, etf_code[snap_start], day[snap_start]))

    @property
    def etfs(self) -> pd.Index:
        """ETF names, sorted."""
        return self._codes[1].copy()

    def snapshot_dates(self, etf: str) -> pd.DatetimeIndex:
        """Effective dates of one ETF's snapshots."""
        return pd.DatetimeIndex(
            self.table.loc[self.table["etf"] == etf, "effective_date"].unique()
        ).sort_values()

    def weights_at(self, etf: str, date, lag_days: int = 0) -> pd.Series:
        """Weights of ``etf`` usable on ``date`` (index stock, fractions); empty before the first
        usable snapshot.

        Examples
        --------
        >>> h = Holdings(pd.DataFrame({"etf": ["A", "A", "A"], "stock": ["x", "y", "x"],
        ...     "effective_date": ["2024-01-02", "2024-01-02", "2024-02-01"],
        ...     "weight": [0.5, 0.5, 1.0]}))
        >>> h.weights_at("A", "2024-01-31").to_dict()
        {'x': 0.5, 'y': 0.5}
        >>> h.weights_at("A", "2024-02-01", lag_days=1).to_dict()
        {'x': 0.5, 'y': 0.5}
        >>> h.weights_at("A", "2024-02-02", lag_days=1).to_dict()
        {'x': 1.0}
        """
        date = pd.Timestamp(date)
        sub = self.table[self.table["etf"] == etf]
        usable = sub["effective_date"] + pd.Timedelta(days=int(lag_days)) <= date
        sub = sub[usable]
        if sub.empty:
            return pd.Series(dtype=np.float64, name="weight")
        last = sub["effective_date"].max()
        snap = sub[sub["effective_date"] == last]
        return pd.Series(snap["weight"].to_numpy(), index=snap["stock"].to_numpy(), name="weight")

    def to_csr(
        self, dates: pd.DatetimeIndex, stocks: pd.Index, etfs: Sequence[str] | None = None,
        lag_days: int = 0,
    ) -> tuple[pd.Index, HoldingsCSR]:
        """Lay the snapshots out for kernels on a flow panel's ``dates`` and ``stocks``.

        Parameters
        ----------
        dates : pd.DatetimeIndex, shape (T,)
            Sessions of the flow panel.
        stocks : pd.Index, shape (N,)
            Stock codes of the flow panel.
        etfs : sequence of str, optional
            ETFs to include, in output order (default: all, sorted).
        lag_days : int
            Publication lag in calendar days.

        Returns
        -------
        etfs : pd.Index, shape (E,)
        csr : HoldingsCSR
            ``etf`` values are positions in ``etfs``; snapshots never usable inside ``dates``
            are left out.
        """
        if lag_days < 0:
            raise ValueError(f"lag_days must be >= 0, got {lag_days}")
        etfs = self.etfs if etfs is None else pd.Index([str(e) for e in etfs])
        unknown = etfs.difference(self.etfs)
        if len(unknown):
            raise KeyError(f"no holdings for ETFs {list(unknown)}")
        dates = pd.DatetimeIndex(dates).as_unit("ns")
        stock_pos = pd.Index(pd.Index(stocks).astype(str))
        # Vectorized: one pass over the long table (sorted by etf, date, stock on construction),
        # re-ordered stably by the requested ETF order. A per-ETF pandas loop took 20 s at
        # 200 ETFs x 30 years of quarterly snapshots (benchmarks/results/synthesis.md).
        etf_code, etf_names, stock_code, stock_names = self._codes
        snap_ptr, snap_etf, snap_day = self._snaps
        # ETF position of each snapshot, snapshots re-ordered stably by the requested order
        e_of_snap = etfs.get_indexer(etf_names)[snap_etf]
        sel = np.flatnonzero(e_of_snap >= 0)
        order = sel[np.argsort(e_of_snap[sel], kind="stable")]
        snap_e = e_of_snap[order]
        snap_d = (pd.DatetimeIndex(snap_day[order]).as_unit("ns")
                  + pd.Timedelta(days=int(lag_days)))
        # usable from the first session on or after effective_date + lag, until the next
        # snapshot of the same ETF becomes usable (or the end of the panel)
        start = dates.searchsorted(snap_d, "left").astype(np.int64)
        stop = np.full(len(start), len(dates), dtype=np.int64)
        same_etf_next = snap_e[1:] == snap_e[:-1]
        stop[:-1] = np.where(same_etf_next, start[1:], len(dates))
        keep = stop > start  # superseded before any session of the panel -> left out
        kept = order[keep]
        counts = snap_ptr[kept + 1] - snap_ptr[kept]
        indptr = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        if len(kept) and kept[-1] - kept[0] + 1 == len(kept) and (np.diff(kept) == 1).all():
            # consecutive snapshots (all ETFs in sorted order, or one ETF): one row slice
            rows = slice(int(snap_ptr[kept[0]]), int(snap_ptr[kept[-1] + 1]))
        else:
            rows = (np.arange(indptr[-1], dtype=np.int64)
                    + np.repeat(snap_ptr[kept] - indptr[:-1], counts))
        stock_map = stock_pos.get_indexer(stock_names).astype(np.int64)
        csr = HoldingsCSR(
            snap_e[keep].astype(np.int64),
            start[keep],
            stop[keep],
            indptr,
            stock_map[stock_code[rows]],
            # a copy: the caller may write into its CSR, never into the table
            np.array(self.table["weight"].to_numpy(np.float64)[rows], copy=True),
        )
        return etfs, csr


@dataclass(frozen=True, eq=False)
class EtfData:
    """ETF-level market data on one calendar.

    Parameters
    ----------
    dates : pd.DatetimeIndex, shape (T,)
    etfs : pd.Index, shape (E,)
    close, nav : ndarray, shape (T, E), optional
        Close price and net asset value per share (currency units).
    shares_outstanding : ndarray, shape (T, E), optional
        Shares outstanding (shares, not millions).
    volume : ndarray, shape (T, E), optional
        Traded shares.
    flow : ndarray, shape (T, E), optional
        Net creation/redemption flow in ``currency`` as published, or derived as
        ``(SO[t] - SO[t-1]) * NAV[t-1]``.
    expense_ratio : ndarray, shape (E,), optional
        Expense ratio as a fraction per year (0.0003 = 3 bp).
    currency : str
    """

    dates: pd.DatetimeIndex
    etfs: pd.Index
    close: np.ndarray | None = None
    nav: np.ndarray | None = None
    shares_outstanding: np.ndarray | None = None
    volume: np.ndarray | None = None
    flow: np.ndarray | None = None
    expense_ratio: np.ndarray | None = None
    currency: str = "USD"

    FIELDS = ("close", "nav", "shares_outstanding", "volume", "flow")

    def __post_init__(self) -> None:
        dates = pd.DatetimeIndex(self.dates)
        if not dates.is_monotonic_increasing or not dates.is_unique:
            raise DataError("ETF dates must be strictly increasing and unique")
        etfs = pd.Index(self.etfs).astype(str)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "etfs", etfs)
        present = [getattr(self, f) for f in self.FIELDS if getattr(self, f) is not None]
        dtype = np.asarray(present[0]).dtype if present else np.dtype(np.float64)
        if dtype not in _FLOAT_DTYPES:
            dtype = np.dtype(np.float64)
        for f in self.FIELDS:
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, as_float_array(v, dtype, f, (len(dates), len(etfs))))
        if self.expense_ratio is not None:
            object.__setattr__(
                self, "expense_ratio",
                as_float_array(self.expense_ratio, np.float64, "expense_ratio", (len(etfs),)),
            )

    def frame(self, field_name: str) -> pd.DataFrame:
        """One field as a (dates x etfs) DataFrame; raises KeyError if absent."""
        v = getattr(self, field_name)
        if v is None:
            raise KeyError(f"ETF data has no {field_name!r}")
        return pd.DataFrame(v, index=self.dates, columns=self.etfs)


@dataclass(frozen=True, eq=False)
class Market:
    """Everything a backtest needs, real or synthetic; any part may be ``None``.

    Parameters
    ----------
    flows : ConstituentFlows, optional
    holdings : Holdings, optional
    etfs : EtfData, optional
    prices : pd.DataFrame, optional
        Asset closes for simulation, (dates x assets); includes a ``CASH`` column whose
        price accrues the short rate (see :func:`engine.prices.with_cash`).
    quality : DataQuality
        What the loaders filled or dropped.
    meta : dict
        Free-form provenance (source files, generator parameters, seed).
    """

    flows: ConstituentFlows | None = None
    holdings: Holdings | None = None
    etfs: EtfData | None = None
    prices: pd.DataFrame | None = None
    quality: DataQuality = field(default_factory=DataQuality)
    meta: dict = field(default_factory=dict)

    def describe(self) -> str:
        """A few lines saying what the market holds."""
        lines = []
        if self.flows is not None:
            T, N, K = self.flows.shape
            lines.append(
                f"flows: {T} days x {N} stocks x {K} investors ({self.flows.dtype}), "
                f"{self.flows.dates[0].date()} .. {self.flows.dates[-1].date()}"
            )
        if self.holdings is not None:
            tab = self.holdings.table
            lines.append(
                f"holdings: {tab['etf'].nunique()} ETFs, "
                f"{tab.groupby('etf')['effective_date'].nunique().sum()} snapshots, {len(tab)} rows"
            )
        if self.etfs is not None:
            lines.append(f"etfs: {len(self.etfs.etfs)} ETFs x {len(self.etfs.dates)} days")
        if self.prices is not None:
            lines.append(f"prices: {self.prices.shape[1]} assets x {self.prices.shape[0]} days")
        return "\n".join(lines) if lines else "empty market"
