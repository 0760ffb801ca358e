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
from engine.holdings_rows import (
    _label_codes,
    _raise_missing,
    _run_order,
    _snapshot_runs,
    _take_runs,
)
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
        # net buying is looked at only where a market cap is <= 0 (rare), not over the
        # whole (T, N, K) panel
        bad = self.market_cap <= 0
        if bad.any():
            bad[bad] = np.isfinite(self.net_buy[bad]).any(axis=1)
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
        Long table with columns ``etf`` (str, or categorical: :meth:`datasets.store.Store.holdings`
        hands those), ``effective_date`` (datetime64), ``stock`` (str or categorical),
        ``weight`` (fraction, each snapshot sums to 1 within ``WEIGHT_SUM_TOL``; cash rows
        already removed by the loader). Sorted by (etf, effective_date, stock) on construction;
        ``etf`` and ``stock`` are str in the ``table`` attribute whatever they were given as.
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

    Construction keeps its own integer codes of the ETFs and stocks (their order is the
    sorted order of the names), dates and weights, and the rows of each snapshot in (etf,
    date) order; everything here and in :func:`engine.synthesis.synthesize_flows` works on
    those. When the given table cannot be kept as it is (categorical columns, or rows out of
    order) the sorted str ``table`` is built from them on first access (a take per column),
    so a Holdings read from the store builds no string per row unless someone asks for them.
    Arrow-backed str columns given in order are kept as they are (immutable) and the table
    is built from them on first access too.
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
        categorical = any(isinstance(t[c].dtype, pd.CategoricalDtype) for c in ("etf", "stock"))
        eff = t["effective_date"]
        if not (isinstance(eff.dtype, np.dtype) and eff.dtype.kind == "M"):
            eff = pd.to_datetime(eff)
        # a copy of the weights (8 bytes a row): a write through the caller's
        # ``frame["weight"].array`` is not covered by copy-on-write and would reach them
        weight = t["weight"].to_numpy(np.float64, copy=True)
        nan = np.isnan(weight)
        if nan.any():
            pos = int(np.flatnonzero(nan)[0])
            raise DataError("holdings weight is NaN", row=pos, row_kind="position", column="weight")
        # Integer codes whose order is the string order: duplicates are adjacent rows and
        # snapshots are runs of a table grouped by snapshot, and to_csr maps 3,000 codes
        # instead of 6.6 M strings. Dates are compared as int64 (no factorize of them).
        # the per-row ETF codes and dates are not kept (each row's are its snapshot's)
        etf_code, etf_names = _label_codes(t["etf"], "etf", own=False)
        stock_code, stock_names = _label_codes(t["stock"], "stock")
        day = eff.to_numpy()
        if day.dtype.kind == "M":
            day_key = day.view(np.int64)
            if len(day_key) and day_key.min() == np.iinfo(np.int64).min:  # NaT
                _raise_missing(np.where(np.isnat(day), -1, 0), "effective_date")
        else:  # pragma: no cover - tz-aware dates: Timestamps, ranked
            day_key, _ = pd.factorize(day, sort=True)
            _raise_missing(day_key, "effective_date")
        n = len(weight)
        # Rows need no re-order when each snapshot is one run with its stocks increasing
        # (what the loaders and the store write); the runs themselves may come in any
        # order (a store's yearly partitions), they are put in order here (24,000 runs,
        # not 6.6 M rows). Otherwise a stable sort of all rows, as pandas would.
        same_snap, run_start = _snapshot_runs(etf_code, day_key)
        # non-increasing stock codes inside a run: a duplicate, or rows out of order
        step_bad = same_snap & (stock_code[1:] <= stock_code[:-1])
        run_order = _run_order(etf_code, day_key, run_start)
        in_order = run_order is None
        if run_order is False or (
                step_bad.any() and (same_snap & (stock_code[1:] < stock_code[:-1])).any()):
            # one int64 key: a stable sort of it is the lexicographic order; the day codes
            # are needed only here
            day_code, day_values = pd.factorize(day_key, sort=True)
            n_e, n_d, n_s = len(etf_names) or 1, len(day_values) or 1, len(stock_names) or 1
            if n_e * n_d * n_s < 2**62:
                key = (etf_code.astype(np.int64) * n_d + day_code) * n_s + stock_code
                order = np.argsort(key, kind="stable")
            else:  # pragma: no cover - more (ETF, day, stock) combinations than int64 holds
                order = np.lexsort((stock_code, day_code, etf_code))
            etf_code, stock_code, day, day_key, weight = (
                etf_code[order], stock_code[order], day[order], day_key[order], weight[order])
            same_snap, run_start = _snapshot_runs(etf_code, day_key)
            step_bad = same_snap & (stock_code[1:] <= stock_code[:-1])
            run_order, in_order = None, False
        run_stop = np.append(run_start[1:], n).astype(np.int64)
        # snapshot s (in (etf, day) order) is rows snap_lo[s]:snap_hi[s]
        snap_lo, snap_hi = ((run_start, run_stop) if run_order is None
                            else (run_start[run_order], run_stop[run_order]))
        if step_bad.any():  # duplicates: name the first in sorted order
            dup = np.flatnonzero(step_bad) + 1
            if run_order is not None:
                rank = np.empty(len(run_order), np.int64)
                rank[run_order] = np.arange(len(run_order))
                run = np.searchsorted(run_start, dup, "right") - 1
                dup = dup[np.lexsort((dup, rank[run]))]
            i = dup[0]
            raise DataError(
                f"stock {stock_names[stock_code[i]]} appears twice in the "
                f"{etf_names[etf_code[i]]} snapshot of {pd.Timestamp(day[i]).date()}",
                fix="merge duplicate holdings rows",
            )
        sums = np.add.reduceat(weight, run_start) if n else np.empty(0)
        if run_order is not None:
            sums = sums[run_order]
        if self.partial:
            off = np.flatnonzero((sums > 1.0 + WEIGHT_SUM_TOL) | (sums <= 0.0))
        else:
            off = np.flatnonzero(np.abs(sums - 1.0) > WEIGHT_SUM_TOL)
        if len(off):
            i = snap_lo[off[0]]
            raise DataError(
                f"weights of {etf_names[etf_code[i]]} on {pd.Timestamp(day[i]).date()} sum to "
                f"{sums[off[0]]:.4f}, not {'at most ' if self.partial else ''}1 "
                f"(tolerance {WEIGHT_SUM_TOL})",
                column="weight",
                fix="give weights as fractions of the non-cash portfolio"
                    + ("" if self.partial else
                       "; for a top-N list of part of the fund use Holdings(..., partial=True)"),
            )
        object.__setattr__(self, "_codes", (pd.Index(etf_names), stock_code,
                                            pd.Index(stock_names)))
        object.__setattr__(self, "_weight", weight)
        snap_etf = etf_code[snap_lo]
        # per snapshot, in (etf, day) order: its rows, ETF code and effective date (24,000
        # snapshots instead of 6.6 M rows to order and compare in to_csr, weights_at, ...)
        object.__setattr__(self, "_snaps", (snap_lo, snap_hi, snap_etf, day[snap_lo]))
        # the ETFs of the snapshots (a categorical's unused categories are in etf_names)
        first = np.flatnonzero(np.r_[True, snap_etf[1:] != snap_etf[:-1]]) if len(snap_etf) \
            else np.empty(0, np.int64)
        object.__setattr__(self, "_etfs", pd.Index(etf_names).take(snap_etf[first]))
        arrow = [t[c].array for c in ("etf", "stock")
                 if isinstance(t[c].dtype, pd.StringDtype) and t[c].dtype.storage == "pyarrow"]
        if in_order and len(arrow) == 2:
            # Arrow-backed str columns given in order: the table is built on first read from
            # them (immutable Arrow data, a shallow copy is ours) and the snapshots' dates
            # and weights, so construction touches no new page for it
            object.__setattr__(self, "_given", (arrow[0].copy(), arrow[1].copy()))
            object.__delattr__(self, "table")
        elif in_order and not categorical:
            # str columns given in order: kept as the table (nothing to build); the weights
            # to_csr lays out are its column (no second copy)
            object.__setattr__(self, "table", pd.DataFrame(
                {"etf": t["etf"].astype(str).array,
                 "effective_date": np.array(day, copy=True),  # our own, as the weights
                 "stock": t["stock"].astype(str).array, "weight": weight}, copy=False))
        else:
            object.__delattr__(self, "table")  # built by __getattr__ on first read

    def __getattr__(self, name: str):
        # reached only when ordinary lookup fails: ``table`` before its first read
        if name == "table" and "_codes" in self.__dict__:
            etf_names, stock_code, stock_names = self._codes
            lo, hi, snap_etf, snap_day = self._snaps
            given = self.__dict__.get("_given")
            if given is not None:  # the rows were in order: one run per snapshot, in order
                etf, stock = given
            else:
                etf = etf_names.take(np.repeat(snap_etf, hi - lo))
                stock = stock_names.take(_take_runs(stock_code, lo, hi))
            t = pd.DataFrame({"etf": etf,
                              "effective_date": np.repeat(snap_day, hi - lo),
                              "stock": stock,
                              # a copy: a write into the table never reaches the weights
                              # to_csr lays out
                              "weight": _take_runs(self._weight, lo, hi)}, copy=False)
            object.__setattr__(self, "table", t)
            return t
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    #: Names of the arrays :meth:`layout_arrays` gives and :meth:`from_layout_arrays` takes.
    LAYOUT_ARRAYS = ("etf_names", "stock_names", "stock_code", "weight", "snap_indptr",
                     "snap_etf", "snap_day", "partial")

    def layout_arrays(self) -> dict[str, np.ndarray]:
        """What this Holdings keeps, as plain arrays (no object dtype, so ``np.save`` and
        ``np.load(allow_pickle=False)`` take them), with each snapshot's rows contiguous in
        (etf, effective_date) order.

        Returns
        -------
        dict
            ``etf_names`` (E,) and ``stock_names`` (M,) str, sorted; ``stock_code`` (n,)
            int, positions in ``stock_names``, increasing inside a snapshot; ``weight`` (n,)
            float64 fractions; per snapshot S in (etf, date) order: ``snap_indptr`` (S + 1,)
            int64 (its rows ``snap_indptr[s]:snap_indptr[s + 1]``), ``snap_etf`` (S,) int
            positions in ``etf_names``, ``snap_day`` (S,) datetime64 effective dates;
            ``partial`` () bool. :meth:`from_layout_arrays` gives back an equal Holdings.

        Raises
        ------
        ValueError
            A name ends in a NUL character, which a numpy str array drops (the name would
            come back as another one): this Holdings has no layout.
        """
        etf_names, stock_code, stock_names = self._codes
        for kind, names in (("ETF", etf_names), ("stock", stock_names)):
            nul = names.str.endswith("\x00") if len(names) else np.zeros(0, bool)
            if nul.any():
                raise ValueError(f"{kind} {names[np.flatnonzero(nul)[0]]!r} ends in a NUL "
                                 "character, which a numpy str array does not keep")
        lo, hi, snap_etf, snap_day = self._snaps
        indptr = np.zeros(len(lo) + 1, np.int64)
        np.cumsum(hi - lo, out=indptr[1:])
        return {"etf_names": np.asarray(etf_names, dtype=str),
                "stock_names": np.asarray(stock_names, dtype=str),
                "stock_code": _take_runs(stock_code, lo, hi),
                "weight": _take_runs(self._weight, lo, hi),
                "snap_indptr": indptr, "snap_etf": np.asarray(snap_etf),
                "snap_day": np.asarray(snap_day), "partial": np.asarray(self.partial)}

    @classmethod
    def from_layout_arrays(cls, arrays, *, etfs=None) -> Holdings | None:
        """The Holdings :meth:`layout_arrays` gave ``arrays`` of, without checking the
        snapshots again (they were checked when that Holdings was built): for a read cache
        of one (:mod:`datasets.holdings_layout`), not for new data.

        Parameters
        ----------
        arrays : mapping
            :meth:`layout_arrays`' arrays (any mapping of those names).
        etfs : iterable of str, optional
            Keep only these ETFs' snapshots (names not held are ignored); None when none
            is left.

        Raises
        ------
        ValueError
            The arrays do not fit together (lengths, code ranges, order): not a layout.
        """
        a = {k: np.asarray(arrays[k]) for k in cls.LAYOUT_ARRAYS}
        etf_names = pd.Index(a["etf_names"].astype(object), dtype="str")
        stock_names = pd.Index(a["stock_names"].astype(object), dtype="str")
        indptr, snap_etf, snap_day = a["snap_indptr"], a["snap_etf"], a["snap_day"]
        code, weight = a["stock_code"], a["weight"]
        n, S = len(code), len(snap_etf)
        if not (len(weight) == n and len(indptr) == S + 1 and len(snap_day) == S
                and snap_day.dtype.kind == "M" and weight.dtype == np.float64
                and code.dtype.kind == "i" and snap_etf.dtype.kind == "i"
                and (S == 0 or (indptr[0] == 0 and indptr[-1] == n
                                and bool((np.diff(indptr) > 0).all())))
                and (n == 0 or (0 <= code.min() and code.max() < len(stock_names)))
                and (S == 0 or (0 <= snap_etf.min() and snap_etf.max() < len(etf_names)))
                and etf_names.is_monotonic_increasing and stock_names.is_monotonic_increasing):
            raise ValueError("the arrays are not a Holdings layout")
        # (etf, day) increasing over the snapshots
        e, d = snap_etf, snap_day.view(np.int64)
        if not bool(((e[1:] > e[:-1]) | ((e[1:] == e[:-1]) & (d[1:] > d[:-1]))).all()):
            raise ValueError("the snapshots of the layout are not in (etf, date) order")
        lo, hi = indptr[:-1], indptr[1:]
        if etfs is not None:
            want = etf_names.get_indexer(pd.Index([str(x) for x in etfs]).unique())
            keep = np.flatnonzero(np.isin(snap_etf, want[want >= 0]))
            if len(keep) == 0:
                return None
            lo, hi = lo[keep], hi[keep]
            code, weight = _take_runs(code, lo, hi), _take_runs(weight, lo, hi)
            indptr = np.zeros(len(keep) + 1, np.int64)
            np.cumsum(hi - lo, out=indptr[1:])
            lo, hi = indptr[:-1], indptr[1:]
            snap_etf, snap_day = snap_etf[keep], snap_day[keep]
        elif S == 0:
            return None
        self = object.__new__(cls)
        object.__setattr__(self, "partial", bool(a["partial"]))
        object.__setattr__(self, "_codes", (etf_names, code, stock_names))
        object.__setattr__(self, "_weight", weight)
        object.__setattr__(self, "_snaps", (lo, hi, snap_etf, snap_day))
        first = np.flatnonzero(np.r_[True, snap_etf[1:] != snap_etf[:-1]])
        object.__setattr__(self, "_etfs", etf_names.take(snap_etf[first]))
        return self

    @property
    def etfs(self) -> pd.Index:
        """ETF names, sorted."""
        return self._etfs.copy()

    def _snap_range(self, etf) -> tuple[int, int]:
        """Snapshots ``lo:hi`` (positions in ``_snaps``) of one ETF; empty when it has none."""
        code = int(self._codes[0].get_indexer([etf])[0]) if isinstance(etf, str) else -1
        if code < 0:
            return 0, 0
        snap_etf = self._snaps[2]
        return (int(np.searchsorted(snap_etf, code, "left")),
                int(np.searchsorted(snap_etf, code, "right")))

    def _stocks_of(self, etf: str) -> pd.Index:
        """Stock codes in any snapshot of ``etf``, sorted (empty for an unknown ETF)."""
        lo, hi = self._snap_range(etf)
        codes = _take_runs(self._codes[1], self._snaps[0][lo:hi], self._snaps[1][lo:hi])
        return self._codes[2].take(np.unique(codes))

    def snapshot_dates(self, etf: str) -> pd.DatetimeIndex:
        """Effective dates of one ETF's snapshots."""
        lo, hi = self._snap_range(etf)
        return pd.DatetimeIndex(self._snaps[3][lo:hi])


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
        lo, hi = self._snap_range(etf)
        snap_lo, snap_hi, _, snap_day = self._snaps
        # snapshot dates increase: the usable ones are a prefix, the last of it is in force
        usable = pd.DatetimeIndex(snap_day[lo:hi]) + pd.Timedelta(days=int(lag_days)) <= date
        n = int(usable.sum())
        if n == 0:
            return pd.Series(dtype=np.float64, name="weight")
        rows = slice(int(snap_lo[lo + n - 1]), int(snap_hi[lo + n - 1]))
        stocks = self._codes[2].take(self._codes[1][rows]).to_numpy()
        return pd.Series(self._weight[rows].copy(), index=stocks, name="weight")

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
        return self._csr(dates, stocks, etfs, lag_days)

    def _csr(self, dates, stocks, etfs=None, lag_days: int = 0, *, own: bool = True,
             stock_dtype=np.int64) -> tuple[pd.Index, HoldingsCSR]:
        """:meth:`to_csr`; ``own=False``: the weights may be a view of the Holdings' own
        (no copy when the snapshots kept are one run of rows), ``stock_dtype``:
        of the stock positions (int32 for the gather kernel). For callers that never write
        into the CSR nor hand it out (:func:`engine.synthesis._layout`)."""
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
        etf_names, stock_code, stock_names = self._codes
        snap_lo, snap_hi, snap_etf, snap_day = self._snaps
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
        indptr = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(snap_hi[kept] - snap_lo[kept], out=indptr[1:])
        lo, hi = snap_lo[kept], snap_hi[kept]
        stock_map = stock_pos.get_indexer(stock_names).astype(stock_dtype)
        weight = _take_runs(self._weight, lo, hi, copy=own)
        csr = HoldingsCSR(
            snap_e[keep].astype(np.int64),
            start[keep],
            stop[keep],
            indptr,
            stock_map[_take_runs(stock_code, lo, hi, copy=False)],
            # a copy (own): the caller may write into its CSR, never into the Holdings
            weight,
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
            h = self.holdings
            lines.append(f"holdings: {len(h.etfs)} ETFs, {len(h._snaps[2])} snapshots, "
                         f"{len(h._weight)} rows")
        if self.etfs is not None:
            lines.append(f"etfs: {len(self.etfs.etfs)} ETFs x {len(self.etfs.dates)} days")
        if self.prices is not None:
            lines.append(f"prices: {self.prices.shape[1]} assets x {self.prices.shape[0]} days")
        return "\n".join(lines) if lines else "empty market"
