"""Constituent-synthesized ETF flows: :func:`synthesize_flows` (README "Concepts").

The wrapper lays holdings out for the kernels in :mod:`engine.nb.synthesis_nb`, calls them,
and puts the labels back. Nothing here loops over days or stocks in Python.
"""

from __future__ import annotations

import enum
import warnings
import weakref
from typing import NamedTuple

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, Holdings, HoldingsCSR

__all__ = ["Method", "NoUsableHoldingsWarning", "UnmatchedConstituentsWarning",
           "clear_layout_cache", "synthesize_arrays", "synthesize_flows"]

#: Basis points per unit fraction.
BP_PER_UNIT = 1e4

class Method(enum.Enum):
    """How constituent net buying is folded into one number per ETF and investor.

    ``bp``: 1e4 * sum_i w_i * net_buy_value_i / market_cap_i (the method, basis points of
    each constituent's market cap, weighted). ``amount``: sum of net-buy values of the
    constituents (weights ignored except membership, weight > 0). ``shares``: sum of net-buy
    shares of the constituents (needs ``net_buy_shares``). ``weighted_amount``: sum of
    w_i * net_buy_value_i.
    """

    BP = "bp"
    AMOUNT = "amount"
    SHARES = "shares"
    WEIGHTED_AMOUNT = "weighted_amount"


class UnmatchedConstituentsWarning(UserWarning):
    """Holdings name stocks that the flow panel does not have (their terms are skipped)."""


class NoUsableHoldingsWarning(UserWarning):
    """An ETF has no usable holdings snapshot on any flow date (its synthesis is all NaN)."""


def _weightless_days(active: np.ndarray, dates: pd.DatetimeIndex,
                     etf_index: pd.Index) -> tuple[dict, dict]:
    """Per ETF: the first flow date with usable weights (None if none) and the number of flow
    dates without them (issue #10 item 8)."""
    usable = active >= 0
    n_usable = usable.sum(axis=0)
    first_pos = usable.argmax(axis=0) if len(dates) else np.zeros(len(etf_index), np.int64)
    first: dict[str, pd.Timestamp | None] = {}
    none_days: dict[str, int] = {}
    for j, etf in enumerate(etf_index):
        first[etf] = pd.Timestamp(dates[first_pos[j]]) if n_usable[j] else None
        none_days[etf] = int(len(dates) - n_usable[j])
    return first, none_days


#: Methods whose holding coefficient is the weight itself (bp puts its 1e4 in the per
#: stock-day scale); the others count membership.
_WEIGHTED = (Method.BP, Method.WEIGHTED_AMOUNT)


def _coefficients(method: Method, weight: np.ndarray) -> np.ndarray:
    """Holding coefficient ``c`` of the kernels' sum (see :mod:`engine.nb.synthesis_nb`)."""
    return weight if method in _WEIGHTED else (weight > 0).astype(np.float64)


def _coverage_gaps(snap_weight: np.ndarray, coverage: np.ndarray,
                   active: np.ndarray) -> dict:
    """Where the constituents present fall short of the usable snapshot.

    Parameters
    ----------
    snap_weight : ndarray, shape (S,), float64
        Each snapshot's weight in the panel (``engine.nb.synthesis_nb.snapshot_weight_nb``).
    coverage : ndarray, shape (T, E), float64
        Weight present per ETF-day (NaN without a usable snapshot).
    active : ndarray, shape (T, E), int64
        Usable snapshot per ETF-day, -1 when none.

    Returns
    -------
    dict
        ``uncovered`` (T, E) bool mask (usable snapshot, coverage 0); counts
        ``uncovered_etf_days``, ``absent_etf_days`` (0 < coverage < the snapshot's weight in
        the panel) and ``absent_weight_days`` (float, the missing weight summed).
    """
    from engine.nb.synthesis_nb import coverage_gaps_nb

    uncovered = np.empty(coverage.shape, dtype=bool)
    shortfall = np.empty(coverage.size, dtype=np.float64)
    # tolerance: coverage and the snapshot total are float64 sums of the same weights
    n_unc, n_short = coverage_gaps_nb(coverage, active, snap_weight, 1e-12, uncovered,
                                      shortfall)
    return {
        "uncovered": uncovered,
        "uncovered_etf_days": int(n_unc),
        "absent_etf_days": int(n_short),
        # NumPy's sum of the same values in the same order as the masked array it replaced
        "absent_weight_days": float(shortfall[:n_short].sum()),
    }


class _Layout(NamedTuple):
    """What :func:`synthesize_flows` derives from the holdings for one flow panel's dates and
    stocks (and ``etfs``, ``lag_days``); cached per :class:`Holdings` by :func:`_layout`."""

    etf_index: pd.Index
    csr: HoldingsCSR  # stock positions int32, weights possibly a view of the Holdings'
    active: np.ndarray  # (T, E) int64, engine.nb.synthesis_nb.active_snapshot_nb
    kernel_holdings: tuple  # _kernel_holdings(csr)
    snap_weight: np.ndarray  # (S,) float64, weight of each snapshot in the panel
    any_unmatched: bool  # some constituent is not in the panel (csr.stock < 0)


#: Layouts per Holdings object, newest last, at most _LAYOUTS_KEPT each. Safe to reuse:
#: Holdings is frozen and keeps its own copy of the weights, codes and snapshot rows
#: (derived once, in __post_init__), so the same (dates, stocks, etfs, lag_days)
#: always lays out the same way; the cached arrays never leave this module (synthesize_flows
#: returns fresh outputs and writes into none of them). Weak keys: a layout dies with its
#: Holdings.
_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Two: a caller alternating between two panels (full history and a slice) keeps both.
#: At the benchmark size a layout is ~150 MB (CSR 105 MB, int32 positions 26 MB, active 12 MB).
_LAYOUTS_KEPT = 2


def _kernel_holdings(csr: HoldingsCSR, stock32: np.ndarray | None = None,
                     any_missing: bool | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, stock, weight)`` of the holdings in the panel, stock positions int32, for
    :func:`engine.nb.gather_nb.synthesize_gather_nb`. ``stock32`` / ``any_missing``:
    ``csr.stock`` as int32 and whether any is -1, when the caller has them already."""
    indptr, stock, weight = csr.indptr, csr.stock, csr.weight
    if stock32 is not None and any_missing is False:
        return indptr, stock32, weight
    keep = stock >= 0  # constituents not in the panel: reported by the caller
    if not keep.all():
        indptr = np.concatenate([[0], np.cumsum(keep)])[indptr].astype(np.int64)
        stock, weight = stock[keep], weight[keep]
    # int32 positions: the holdings of every live snapshot are re-read each day (55,000
    # rows at the benchmark size); smaller, they leave more of L2 to the gathered rows
    # (benchmarks/bench_synthesis.py times both: 0.376 s with int64, 0.359 s with int32)
    return indptr, stock.astype(np.int32), weight


def _layout(holdings: Holdings, dates: pd.DatetimeIndex, stocks: pd.Index, etfs,
            lag_days: int) -> _Layout:
    """The holdings laid out on ``dates`` x ``stocks``, from the cache when this Holdings
    object has laid them out on the same panel already (see :data:`_LAYOUTS`)."""
    from engine.nb.synthesis_nb import active_snapshot_nb, snapshot_weight_nb

    etf_key = None if etfs is None else tuple(str(e) for e in etfs)
    etfs = None if etfs is None else list(etf_key)  # a generator is read once, here
    kept = _LAYOUTS.setdefault(holdings, [])
    for d, st, ek, lag, lay in kept:
        if ek == etf_key and lag == lag_days and d.equals(dates) and st.equals(stocks):
            return lay
    # int32 stock positions gathered directly, the weights a view of the Holdings' own
    # where they are one run: this CSR stays in the layout, read only
    etf_index, csr = holdings._csr(dates, stocks, etfs, lag_days, own=False,
                                   stock_dtype=np.int32)
    snap_weight, n_missing = snapshot_weight_nb(csr.indptr, csr.stock, csr.weight,
                                                np.empty(0, np.int32))
    lay = _Layout(
        etf_index, csr, active_snapshot_nb(len(dates), len(etf_index), csr.etf, csr.start,
                                           csr.stop),
        _kernel_holdings(csr, csr.stock, n_missing > 0), snap_weight, n_missing > 0)
    kept.append((dates, stocks, etf_key, lag_days, lay))
    del kept[:-_LAYOUTS_KEPT]
    return lay


def clear_layout_cache(holdings: Holdings | None = None) -> None:
    """Forget the cached layouts of ``holdings`` (default: of every Holdings object), so the
    next :func:`synthesize_flows` call lays the holdings out again (benchmarks time both)."""
    if holdings is None:
        _LAYOUTS.clear()
    else:
        _LAYOUTS.pop(holdings, None)


def synthesize_arrays(
    x: np.ndarray, market_cap: np.ndarray, csr: HoldingsCSR, n_etfs: int, method: Method,
    *, layout: str = "by_etf", with_coverage: bool = True, active: np.ndarray | None = None,
    kernel_holdings: tuple | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Array-level synthesis (no labels): ``(out (T, E, K), coverage (T, E))``.

    Raw kernel output: an ETF-day with a usable snapshot but no constituent present is 0
    here; :func:`synthesize_flows` turns it into NaN (using ``coverage``) and counts it.

    Parameters
    ----------
    x : ndarray, shape (T, N, K), float32 or float64
        Net buying (values, or shares for ``Method.SHARES``); copied once if not
        C-contiguous.
    market_cap : ndarray, shape (T, N)
    csr : HoldingsCSR
        From :meth:`engine.market.Holdings.to_csr` on the same dates and stocks.
    n_etfs : int
        E.
    method : Method
    layout : {"by_etf", "by_stock"}
        Kernel; both give the same numbers (to rounding). ``by_etf``
        (:mod:`engine.nb.gather_nb`, the default) is the faster one measured; ``by_stock``
        (:mod:`engine.nb.synthesis_nb`) is kept as the alternative the benchmark reports.
    with_coverage : bool
        Compute ``coverage`` (otherwise it is returned uninitialized). With ``by_etf`` and
        ``bp`` or ``weighted_amount`` it comes out of the same gather at almost no cost.
    active : ndarray, shape (T, E), int64, optional
        ``engine.nb.synthesis_nb.active_snapshot_nb`` of ``csr`` when the caller has it
        already (``by_etf`` uses it; computed here otherwise).
    kernel_holdings : tuple, optional
        ``_kernel_holdings(csr)`` when the caller has it already (``by_etf``).
    """
    import numba

    from engine.nb import gather_nb
    from engine.nb import synthesis_nb as snb

    x = np.ascontiguousarray(x)
    T, N, K = x.shape
    out = np.empty((T, n_etfs, K), x.dtype)
    coverage = np.empty((T, n_etfs), np.float64)
    per_market_cap = method is Method.BP
    if layout == "by_stock":
        coef = _coefficients(method, csr.weight)
        bounds = np.unique(np.concatenate([[0, T], csr.start, csr.stop])).astype(np.int64)
        lay = snb.by_stock_layout_nb(N, n_etfs, bounds, csr.etf, csr.start, csr.stop,
                                     csr.indptr, csr.stock.astype(np.int64, copy=False),
                                     coef, csr.weight)
        snb.synthesize_by_stock_nb(x, market_cap, BP_PER_UNIT, per_market_cap, *lay, out,
                                   coverage)
    elif layout == "by_etf":
        indptr, stock, weight = (_kernel_holdings(csr) if kernel_holdings is None
                                 else kernel_holdings)
        if active is None:
            active = snb.active_snapshot_nb(T, n_etfs, csr.etf, csr.start, csr.stop)
        # with c = w the coverage comes out of the gather's coverage lane
        gather_nb.synthesize_gather_nb(
            x, market_cap, BP_PER_UNIT, per_market_cap, (0,) * K,
            (0,) * gather_nb.lane_count(K), active, indptr, stock,
            _coefficients(method, weight), weight, method in _WEIGHTED, with_coverage,
            4 * numba.get_num_threads(), out, coverage)
    else:
        raise ValueError(f"layout must be 'by_etf' or 'by_stock', got {layout!r}")
    return out, coverage


def synthesize_flows(
    flows: ConstituentFlows, holdings: Holdings, *, method: str | Method = "bp",
    lag_days: int = 0, cumulative: bool = False, etfs=None, return_coverage: bool = False,
    layout: str = "by_etf", quality: DataQuality | None = None,
):
    """Fold constituents' net buying by investor into one flow per ETF, investor and day.

    .. math::

        S_{t,e,k} = 10^4 \\sum_i w_{e,t,i} \\, \\frac{\\mathrm{net\\_buy}_{t,i,k}}
        {\\mathrm{market\\_cap}_{t,i}} \\quad \\text{(bp)}

    Parameters
    ----------
    flows : ConstituentFlows
        Net buying (T, N, K) and market caps (T, N); float32 or float64.
    holdings : Holdings
        Point-in-time snapshots.
    method : {"bp", "amount", "shares", "weighted_amount"}
        See :class:`Method`. ``bp`` is in basis points; the others in ``flows.currency``
        (``shares`` in shares).
    lag_days : int
        Publication lag of the holdings in calendar days (a snapshot is usable from the first
        session on or after ``effective_date + lag_days``).
    cumulative : bool
        Return the running sum over time (the position chart) instead of daily values.
    etfs : sequence of str, optional
        ETFs to synthesize, in output order (default: all, sorted).
    return_coverage : bool
        Also return the (dates x etfs) frame of the weight (fraction) of constituents present
        each day.
    layout : {"by_etf", "by_stock"}
        Kernel layout, for benchmarking; the result does not depend on it.
    quality : DataQuality, optional
        Receives the counts of the Notes (source ``"synthesize_flows"``); they are in
        ``attrs`` either way.

    Returns
    -------
    DataFrame, shape (T, E*K)
        Index ``flows.dates``, columns MultiIndex ``(etf, investor)``, dtype of ``flows``
        (accumulation is float64). ``attrs``:

        * ``"unmatched_weight_days"`` (float: sum over days of the weight of constituents
          missing from the flow panel), ``"unmatched_constituents"`` (dict etf -> sorted
          stock codes);
        * ``"absent_etf_days"`` (int: ETF-days with a usable snapshot on which some but not
          all of the weight was present, i.e. 0 < coverage < the snapshot's weight in the
          panel), ``"absent_weight_days"`` (float: the missing weight summed over those
          days);
        * ``"uncovered_etf_days"`` (int: ETF-days with a usable snapshot and coverage 0,
          set NaN);
        * ``"first_usable_date"`` (dict etf -> Timestamp of the first flow date with usable
          weights, None when no flow date has any), ``"no_weights_days"`` (dict etf -> flow
          dates without usable weights, NaN) and ``"no_weights_etf_days"`` (their sum).
    coverage : DataFrame, shape (T, E), only with ``return_coverage=True``
        NaN before an ETF's first usable snapshot, 0 on uncovered days.

    Notes
    -----
    * NaN before an ETF's first usable snapshot (daily and cumulative): counted per ETF in
      ``attrs`` and, with ``quality``, as "set NaN"; an ETF whose first snapshot becomes
      usable only after the last flow date (a snapshot that post-dates every flow) raises a
      :class:`NoUsableHoldingsWarning` naming it and its first usable date.
    * A stock is absent on a day when its net buying is NaN for every investor or, for
      ``bp``, its market cap is NaN or <= 0. ``coverage`` is the weight of the constituents
      present that day.
    * No constituent present (coverage 0) on a day with a usable snapshot: NaN for every
      investor of that ETF, not 0 (no data is not zero flow). Counted as
      ``attrs["uncovered_etf_days"]`` and, with ``quality``, as "set NaN".
    * Some constituents absent (0 < coverage < 1, or below the snapshot's weight in the
      panel when some constituents are unmatched): they contribute 0 and the sum is **not**
      renormalized. Renormalizing (dividing by coverage) would scale the present stocks'
      flow up as if the absent ones had traded like them, inflating the flow of a few stocks
      on thin days; callers who want it can divide by coverage themselves
      (``return_coverage=True``). Counted as ``attrs["absent_etf_days"]`` /
      ``["absent_weight_days"]`` and, with ``quality``, as "treated as 0". A single NaN
      investor cell of a present stock counts as 0 for that investor (loaders count such
      cells when they read the panel).
    * A constituent not in the flow panel at all contributes nothing; it is never dropped
      silently: an :class:`UnmatchedConstituentsWarning` names the count, the ``attrs``
      list the stocks and, with ``quality``, its constituent-days are counted as
      "treated as 0".
    * ``cumulative=True``: running sum of the daily values per (etf, investor); days on which
      the daily value is NaN add nothing and are NaN themselves.
    * The holdings' layout on the panel (CSR, active snapshot per ETF-day, int32 positions,
      snapshot weights) is kept on ``holdings`` for the next call with the same dates,
      stocks, ``etfs`` and ``lag_days`` (two panels per Holdings, released with it;
      :func:`clear_layout_cache`); the result does not depend on it.
    * Point in time: the value on day ``t`` uses rows ``<= t`` only (appending days never
      changes earlier values; ``tests/engine/test_signal_properties.py``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from engine.market import ConstituentFlows, Holdings
    >>> dates = pd.bdate_range("2024-01-02", periods=2)
    >>> f = ConstituentFlows(dates, ["A", "B"], ("foreign",),
    ...     net_buy=np.array([[[1e9], [-1e9]], [[0.0], [2e9]]]),
    ...     market_cap=np.full((2, 2), 1e12), close=np.ones((2, 2)))
    >>> h = Holdings(pd.DataFrame({"etf": "X", "effective_date": "2024-01-02",
    ...     "stock": ["A", "B"], "weight": [0.7, 0.3]}))
    >>> synthesize_flows(f, h).round(6)  # doctest: +NORMALIZE_WHITESPACE
    etf               X
    investor    foreign
    2024-01-02      4.0
    2024-01-03      6.0
    >>> synthesize_flows(f, h, method="amount", cumulative=True)["X"]["foreign"].tolist()
    [0.0, 2000000000.0]
    """
    from engine.nb.synthesis_nb import cumulate_nb

    method = Method(method)
    if method is Method.SHARES:
        if flows.net_buy_shares is None:
            raise DataError(
                "method='shares' needs net buying in shares, the flow panel has none",
                column="net_buy_shares", fix="load net_buy_shares or use method='amount'",
            )
        x = flows.net_buy_shares
    else:
        x = flows.net_buy
    if lag_days < 0:
        raise ValueError(f"lag_days must be >= 0, got {lag_days}")
    lay = _layout(holdings, flows.dates, flows.stocks, etfs, lag_days)
    etf_index, csr, active = lay.etf_index, lay.csr, lay.active
    T, N, K = x.shape
    E = len(etf_index)
    # coverage is always computed: it decides which ETF-days have no data at all
    out, coverage = synthesize_arrays(x, flows.market_cap, csr, E, method, layout=layout,
                                      with_coverage=True, active=active,
                                      kernel_holdings=lay.kernel_holdings)
    gaps = _coverage_gaps(lay.snap_weight, coverage, active)
    if gaps["uncovered_etf_days"]:
        out[gaps["uncovered"]] = np.nan  # every investor of an ETF-day without any constituent

    unmatched: dict[str, list[str]] = {}
    weight_days = 0.0
    if lay.any_unmatched:
        missing = csr.stock < 0
        snap_of_entry = np.repeat(np.arange(len(csr.etf)), np.diff(csr.indptr))
        days = (csr.stop - csr.start)[snap_of_entry]
        weight_days = float((csr.weight * days)[missing].sum())
        if quality is not None:
            quality.add("synthesize_flows", "treated as 0",
                        "constituent-days not in the flow panel", int(days[missing].sum()),
                        rule="held stocks the flow panel lacks contribute 0; "
                        "attrs['unmatched_constituents'] lists them")
        known = set(flows.stocks)
        for e_pos in np.unique(csr.etf[snap_of_entry[missing]]):
            etf = etf_index[e_pos]
            # from the Holdings' codes: its string table may not be built (store reads)
            unmatched[etf] = sorted(set(holdings._stocks_of(etf)) - known)
        warnings.warn(
            f"{sum(map(len, unmatched.values()))} constituents of {len(unmatched)} ETFs are not "
            f"in the flow panel ({weight_days:.2f} weight-days skipped); see "
            "attrs['unmatched_constituents']",
            UnmatchedConstituentsWarning, stacklevel=2,
        )

    panel = out.reshape(T, E * K)
    if cumulative:
        cum = np.empty_like(panel)
        cumulate_nb(panel, cum)
        panel = cum
    columns = pd.MultiIndex.from_product([etf_index, list(flows.investors)],
                                         names=["etf", "investor"])
    df = pd.DataFrame(panel, index=flows.dates, columns=columns, copy=False)
    df.attrs["method"] = method.value
    df.attrs["unmatched_weight_days"] = weight_days
    df.attrs["unmatched_constituents"] = unmatched
    df.attrs["absent_etf_days"] = gaps["absent_etf_days"]
    df.attrs["absent_weight_days"] = gaps["absent_weight_days"]
    df.attrs["uncovered_etf_days"] = gaps["uncovered_etf_days"]
    first, none_days = _weightless_days(active, flows.dates, etf_index)
    df.attrs["first_usable_date"] = first
    df.attrs["no_weights_days"] = none_days
    df.attrs["no_weights_etf_days"] = int(sum(none_days.values()))
    never = [e for e, d in first.items() if d is None]
    if never:
        snaps = {e: holdings.snapshot_dates(e)[0] for e in never[:5]}
        detail = ", ".join(
            f"{e} (first snapshot {snaps[e].date()}, usable from "
            f"{(snaps[e] + pd.Timedelta(days=int(lag_days))).date()})" for e in never[:5])
        warnings.warn(
            f"{len(never)} ETFs have no usable holdings on any of the {len(flows.dates)} flow "
            f"dates ({flows.dates[0].date()} .. {flows.dates[-1].date()}), so their synthesized "
            f"flow is all NaN: {detail}; load holdings effective on or before the flows, or "
            "flows up to the snapshot (lag_days shifts the first usable date)",
            NoUsableHoldingsWarning, stacklevel=2)
    if quality is not None:
        quality.add("synthesize_flows", "treated as 0",
                    "ETF-days with some constituents absent (NaN net buying or market cap)",
                    gaps["absent_etf_days"],
                    rule="absent constituents contribute 0, not renormalized; "
                    f"{gaps['absent_weight_days']:.2f} weight-days")
        quality.add("synthesize_flows", "set NaN", "ETF-days with no constituent present",
                    gaps["uncovered_etf_days"], rule="no data is not zero flow")
        worst = sorted((e for e in none_days if none_days[e]), key=lambda e: -none_days[e])
        quality.add(
            "synthesize_flows", "set NaN", "ETF-days without usable holdings weights",
            df.attrs["no_weights_etf_days"],
            rule="no snapshot usable yet; " + "; ".join(
                f"{e}: {none_days[e]} days, first usable "
                f"{first[e].date() if first[e] is not None else 'never (after the last flow)'}"
                for e in worst[:3]) + (f"; {len(worst) - 3} more ETFs" if len(worst) > 3 else ""))
    if return_coverage:
        cov = pd.DataFrame(coverage, index=flows.dates, columns=etf_index, copy=False)
        return df, cov
    return df
