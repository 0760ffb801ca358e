"""Simulation of many target-weight variants at once on vectorbt.

``simulate(prices, {variant: weights})`` stacks every variant side by side and makes one
``vectorbt.Portfolio.from_orders`` call per chunk of variants::

    from_orders(close, size, size_type="targetpercent", group_by=variant,
                cash_sharing=True, call_seq="auto", fees=..., slippage=...)

One group per variant; ``call_seq="auto"`` executes a group's sells before its buys.

Timing (README "Concepts", point in time)
----------------------------------
A weights row dated t (decided with data up to the close of t) is executed at the close of bar
``t + execution_lag_bars`` of the price index. The size array is the decisions frame shifted
onto the price index: NaN = no order on that bar. A decision whose execution bar falls past the
last price is not executed (counted in ``SimResult.unexecuted``).

Scale
-----
Variants are simulated in chunks (``chunk_variants``), in process or over ``n_jobs`` processes
(``engine.app.scale`` runs sweep chunks on Dask). When the vectorbt Portfolio is not kept, each
chunk's ``from_orders`` call only sees the bars on which some variant trades (orders are sized
and filled at their own bar's close, so nothing between order bars changes them); the equity is
then valued on every bar from the order records. This keeps a 1,000-variant, 30-year sweep
under ~1.5 GB instead of ~13 GB for one bare call (benchmarks/results/simulation.md).

CASH
----
``CASH`` is an asset whose price accrues the T-bill rate (:func:`engine.prices.with_cash`); a
CASH weight is a holding of that asset and vectorbt's own cash stays ~0 (only fee/slippage
residue). Why not leave it as vectorbt cash: vectorbt cash earns nothing, so the T-bill accrual
would have to be patched into the value series after the fact, and the weights, orders and
turnover would not show moves into and out of cash. Fees and slippage are 0 on the CASH column
(moving to a money-market account is not an ETF trade).

Missing prices
--------------
Where a variant holds (or is asked to buy) an asset whose price is NaN, :func:`simulate` raises
:class:`engine.errors.DataError` naming the variant, asset and date -- nothing is filled.

Expense ratios
--------------
``expense_ratio`` (asset -> annual fraction) is for simulating on index levels: those prices
are multiplied by ``(1 - er) ** (calendar days elapsed / 365.25)`` so the holding loses the fee
continuously. Do not pass it for ETF closes, which already net the fee.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.conventions import DAYS_PER_YEAR
from engine.errors import DataError
from engine.market import CASH
from engine.metrics import (
    PERIODS_PER_YEAR,
    information_ratio,
    performance_metrics,
    tracking_error,
)

__all__ = ["SimResult", "build_size", "simulate"]

#: Log columns of a SimResult (the strategy's log plus the variant).
SIM_LOG_COLUMNS = ["date", "variant", "rule", "action", "detail"]


@dataclass
class SimResult:
    """Results of :func:`simulate` (one column / key per variant).

    Attributes
    ----------
    equity : pd.DataFrame, shape (T, V)
        Portfolio value in currency units (starts at ``init_cash``).
    returns : pd.DataFrame, shape (T, V)
        Simple returns per bar (first row 0).
    weights : dict[str, pd.DataFrame] or None
        Actual weights after trading at each close (T x assets), per variant; None when not
        kept (sweeps).
    orders : pd.DataFrame
        Long frame: variant, date, asset, size (units, + buy / - sell), price, value, fees.
    turnover : pd.Series, shape (V,)
        Traded value / portfolio value, halved, per year; the initial allocation excluded.
    fees : pd.Series, shape (V,)
        Total fees and slippage cost paid, currency units.
    metrics : pd.DataFrame, shape (V, M)
        vectorbt returns metrics, turnover, fees, final value, and ``tracking_error_vs_<b>`` /
        ``information_ratio_vs_<b>`` for each benchmark variant ``b``.
    portfolio : vectorbt Portfolio or None
        The Portfolio when the run was a single chunk and it was kept.
    log : pd.DataFrame
        Trigger / warning log (date, variant, rule, action, detail), filled by the runner.
    unexecuted : dict[str, int]
        Decisions per variant whose execution bar fell past the last price.
    """

    equity: pd.DataFrame
    returns: pd.DataFrame
    weights: dict[str, pd.DataFrame] | None
    orders: pd.DataFrame
    turnover: pd.Series
    fees: pd.Series
    metrics: pd.DataFrame
    portfolio: object | None = None
    log: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SIM_LOG_COLUMNS))
    unexecuted: dict[str, int] = field(default_factory=dict)

    def tracking_error(self, benchmark: str) -> pd.Series:
        """Annualized tracking error of every variant against variant ``benchmark``."""
        return tracking_error(self.returns, self.returns[benchmark])

    def information_ratio(self, benchmark: str) -> pd.Series:
        """Information ratio of every variant against variant ``benchmark``."""
        return information_ratio(self.returns, self.returns[benchmark])


# ------------------------------------------------------------------------------- size arrays
def build_size(prices: pd.DataFrame, weights: pd.DataFrame, assets: Sequence[str],
               execution_lag_bars: int, variant: str = "") -> tuple[np.ndarray, int]:
    """Shift a decisions frame onto the price index as a vectorbt ``size`` array.

    Parameters
    ----------
    prices : pd.DataFrame, shape (T, >= A)
        Closes on the simulation's dates.
    weights : pd.DataFrame
        Decisions (decision dates x assets); rows sum to 1 or are all-NaN.
    assets : sequence of str, length A
        Column order of the output; assets missing from ``weights`` get 0 on decision rows.
    execution_lag_bars : int
        Bars between the decision close and the execution close (>= 0).

    Returns
    -------
    size : ndarray, shape (T, A)
        Target percent on execution bars, NaN elsewhere.
    unexecuted : int
        Decisions whose execution bar is past the last price.

    Raises
    ------
    DataError
        A decision date is not a date of ``prices``, or a held asset has no price.
    """
    # columns only (no dates lost); an asset without prices is refused by _orders_of /
    # _check_held_prices before any NaN column could be held
    px = prices.reindex(columns=list(assets)).to_numpy(np.float64)
    exe, w, unexecuted = _orders_of(pd.DatetimeIndex(prices.index), px, weights, list(assets),
                                    execution_lag_bars, variant)
    size = np.full(px.shape, np.nan)
    size[exe] = w
    return size, unexecuted


def _orders_of(dates: pd.DatetimeIndex, px: np.ndarray, weights: pd.DataFrame,
               assets: list[str], execution_lag_bars: int,
               variant: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Sparse :func:`build_size`: execution bars (R,), target rows (R, A), unexecuted count.

    ``px`` is (T, A) closes in ``assets`` order. A sweep keeps 1,000s of variants, so the
    dense (T, A) size array is only built per chunk, on the bars that have orders.
    """
    n = len(dates)
    where = {a: i for i, a in enumerate(assets)}
    unknown = [a for a in weights.columns if a not in where]
    if unknown:
        raise DataError(f"variant {variant!r}: weights name assets without prices: {unknown}",
                        fix="add their prices or remove them from the strategy")
    # A live row (not all-NaN) means "hold exactly these": assets it does not name get 0.
    # An all-NaN row means "no rebalance" and is dropped here.
    w = np.full((len(weights), len(assets)), np.nan)
    w[:, [where[a] for a in weights.columns]] = weights.to_numpy(np.float64)
    live = ~np.isnan(w).all(axis=1)
    # a live row's unnamed assets are 0 by the contract ("hold exactly these"); all-NaN rows
    # (no rebalance) were removed just above, so no decision is lost
    w = np.nan_to_num(w[live], nan=0.0)
    pos = dates.get_indexer(pd.DatetimeIndex(weights.index))
    if (pos < 0).any():
        bad = weights.index[np.argmax(pos < 0)]
        raise DataError(f"variant {variant!r}: decision date {bad} is not a date of the prices",
                        fix="decide only on price dates")
    exe = pos[live] + int(execution_lag_bars)
    ok = exe < n
    exe, w = exe[ok], w[ok]
    _check_held_prices(dates, px, exe, w, assets, variant)
    return exe, w, int((~ok).sum())


def _check_held_prices(dates: pd.DatetimeIndex, px: np.ndarray, exe: np.ndarray,
                       w: np.ndarray, assets: list[str], variant: str) -> None:
    """Raise if a variant holds an asset on a bar where its price is NaN.

    An asset is held on bar t if the target in force before or after t's order is > 0 (a sale
    on t needs t's price too); only assets with a missing price somewhere are checked. This
    also keeps the compressed-bar simulation exact: vectorbt never values a position at a
    stale price.
    """
    gaps = np.flatnonzero(np.isnan(px).any(axis=0))
    if len(gaps) == 0 or len(exe) == 0:
        return
    bars = np.arange(len(dates))
    k = np.searchsorted(exe, bars, side="right") - 1      # target in force after bar t
    kp = np.searchsorted(exe, bars, side="left") - 1      # ... before bar t's order (a sale
    held = ((k >= 0)[:, None] & (w[np.maximum(k, 0)][:, gaps] > 0)) | (  # needs a price too)
        (kp >= 0)[:, None] & (w[np.maximum(kp, 0)][:, gaps] > 0))
    bad = held & np.isnan(px[:, gaps])
    if bad.any():
        t, j = np.argwhere(bad)[0]
        a = assets[gaps[j]]
        raise DataError(
            f"variant {variant!r} holds {a} on {dates[t].date()} but its price is missing there",
            column=str(a),
            fix="set [data] start/end to a range where every held asset has prices",
        )


def _apply_expense_drag(prices: pd.DataFrame, expense_ratio: Mapping[str, float]) -> pd.DataFrame:
    """Index levels net of expense ratios (annual fractions), compounding by calendar day."""
    out = prices.copy()
    days = (prices.index - prices.index[0]).days.to_numpy(np.float64)
    for asset, er in expense_ratio.items():
        if asset in out.columns and asset != CASH:
            out[asset] = out[asset].to_numpy() * (1.0 - float(er)) ** (days / DAYS_PER_YEAR)
    return out


# ------------------------------------------------------------------------------------ chunks
def _simulate_chunk(close: np.ndarray, dates: pd.DatetimeIndex, assets: list[str],
                    variants: list[str], orders: list[tuple[np.ndarray, np.ndarray]],
                    fee_rate: float,
                    slippage_rate: float, init_cash: float, freq: str, keep_weights: bool,
                    keep_orders: bool, keep_portfolio: bool) -> dict:
    """One from_orders call for ``variants``; returns compact results (picklable).

    Unless the Portfolio is kept, vectorbt only sees the bars on which some variant of the chunk
    has an order (``size`` rows not all-NaN): between order bars nothing in the simulation
    depends on the prices (orders execute and are sized at the close of their own bar), so the
    order records are identical; their bar index is mapped back and the equity is valued on
    every bar from the records. A monthly rebalance over 7,560 bars runs ~400 rows instead.
    Pinned by tests/engine/test_simulation.py::test_compressed_bars_equal_full_simulation.
    """
    import vectorbt as vbt

    n_a, n_v = len(assets), len(variants)
    if keep_portfolio:
        rows = np.arange(len(dates))
    else:
        rows = np.unique(np.concatenate([exe for exe, _ in orders]))
        if len(rows) == 0:  # nothing to trade: keep one row so vectorbt has a shape
            rows = np.zeros(1, dtype=np.int64)
    size_c = np.full((len(rows), n_v * n_a), np.nan)
    for k, (exe, w) in enumerate(orders):
        size_c[np.searchsorted(rows, exe), k * n_a:(k + 1) * n_a] = w
    cols = pd.MultiIndex.from_product([variants, assets], names=["variant", "asset"])
    close_df = pd.DataFrame(np.tile(close[rows], (1, n_v)), index=dates[rows], columns=cols,
                            copy=False)
    size_df = pd.DataFrame(size_c, index=dates[rows], columns=cols, copy=False)
    is_cash = np.array([a == CASH for a in assets] * n_v)
    fees = np.where(is_cash, 0.0, fee_rate)[None, :]
    slip = np.where(is_cash, 0.0, slippage_rate)[None, :]
    pf = vbt.Portfolio.from_orders(
        close_df, size_df, size_type="targetpercent", group_by="variant", cash_sharing=True,
        call_seq="auto", init_cash=init_cash, fees=fees, slippage=slip, freq=freq,
    )
    rec_c = pf.orders.values
    rec = rec_c.copy()
    rec["idx"] = rows[rec_c["idx"]]
    col_map = pf.orders.col_mapper.col_map
    equity, units_c = _group_value(rec_c, col_map, rows, close, n_v, n_a, init_cash)
    out: dict = {"variants": variants, "equity": equity}
    col = rec["col"]
    vi = col // n_a
    signed = np.where(rec["side"] == 0, rec["size"], -rec["size"])
    traded = rec["size"] * rec["price"]
    # Turnover: |traded value| / portfolio value at that bar, excluding each variant's first
    # order bar (the initial allocation from cash is not turnover).
    # Records are appended in time order, so a variant's first record is its first order bar.
    first_bar = np.full(n_v, -1, dtype=np.int64)
    seen, first_pos = np.unique(vi, return_index=True)
    first_bar[seen] = rec["idx"][first_pos]
    frac = traded / equity[rec["idx"], vi]
    frac = np.where(rec["idx"] == first_bar[vi], 0.0, frac)
    out["turnover_sum"] = np.bincount(vi, weights=frac, minlength=n_v) / 2.0
    # Slippage is paid through the fill price; count it with fees as a cost.
    slip_cost = np.abs(rec["price"] - close[rec["idx"], col % n_a]) * rec["size"]
    out["fees"] = np.bincount(vi, weights=rec["fees"] + slip_cost, minlength=n_v)
    if keep_orders:
        out["orders"] = pd.DataFrame({
            "variant": np.asarray(variants, dtype=object)[vi],
            "date": dates[rec["idx"]],
            "asset": np.asarray(assets, dtype=object)[col % n_a],
            "size": signed,
            "price": rec["price"],
            "value": np.sign(signed) * traded,
            "fees": rec["fees"],
        })
    if keep_weights:
        held = _units_on_bars(units_c, rows, len(dates)).reshape(len(dates), n_v, n_a)
        av = np.where(held != 0.0, held * close[:, None, :], 0.0)
        w = av / equity[:, :, None]
        out["weights"] = {v: pd.DataFrame(w[:, k, :], index=dates, columns=assets)
                          for k, v in enumerate(variants)}
    if keep_portfolio:
        out["portfolio"] = pf
    return out


def _group_value(rec: np.ndarray, col_map, rows: np.ndarray, close: np.ndarray, n_v: int,
                 n_a: int, init_cash: float) -> tuple[np.ndarray, np.ndarray]:
    """Value per group (T, V) and units after each simulated row (R, V*A), from the records.

    ``rec`` indexes the ``rows`` that were simulated (all bars, or only the order bars). Units
    and cash come from the same vectorbt dispatch functions as ``pf.value()``, on that axis;
    between order bars they are constant, so they are carried to every bar and valued at the
    (forward-filled) close like vectorbt does. Pinned to ``pf.value()`` by
    tests/engine/test_simulation.py::test_group_value_equals_vectorbt.
    """
    from vectorbt.portfolio import dispatch
    from vectorbt.portfolio.enums import Direction

    n_t = close.shape[0]
    shape = (len(rows), n_v * n_a)
    group_lens = np.full(n_v, n_a, dtype=np.int64)
    units_c = dispatch.assets(dispatch.asset_flow(shape, rec, col_map, Direction.Both))
    cash_flow = dispatch.cash_flow(shape, rec, col_map, False)
    cash_c = dispatch.cash_grouped(shape, dispatch.cash_flow_grouped(cash_flow, group_lens),
                                   group_lens, np.full(n_v, float(init_cash)))
    # Units and cash are constant from one simulated row to the next: value each stretch of
    # bars with one small matrix product (close (L, A) @ units (A, V)).
    # An empty position is worth 0 even where the close is NaN (an asset not listed yet); a
    # held position is valued at the forward-filled close, as vectorbt does.
    # audit (#10): only positions with units != 0 use `filled`, and _check_held_prices refused
    # any held asset with a NaN close, so the fills value empty positions only
    filled = np.nan_to_num(pd.DataFrame(close).ffill().bfill().to_numpy(), nan=0.0)
    if len(rows) == n_t:  # every bar simulated (the Portfolio is kept): one vectorized pass
        held = units_c.reshape(n_t, n_v, n_a)
        return cash_c + np.where(held != 0.0, held * filled[:, None, :], 0.0).sum(axis=2), units_c
    value = np.full((n_t, n_v), float(init_cash))
    bounds = np.append(rows, n_t)
    for j in range(len(rows)):
        a, b = bounds[j], bounds[j + 1]
        if b > a:
            value[a:b] = cash_c[j] + filled[a:b] @ units_c[j].reshape(n_v, n_a).T
    return value, units_c


def _units_on_bars(units_c: np.ndarray, rows: np.ndarray, n_t: int) -> np.ndarray:
    """Units held (T, V*A) on every bar from the units after each simulated row."""
    k = np.searchsorted(rows, np.arange(n_t), side="right") - 1
    units = units_c[np.maximum(k, 0)]
    units[k < 0] = 0.0
    return units


def simulate(
    prices: pd.DataFrame,
    weights: Mapping[str, pd.DataFrame],
    *,
    fee_rate: float = 0.0,
    slippage_rate: float = 0.0,
    execution_lag_bars: int = 1,
    init_cash: float = 1.0,
    expense_ratio: Mapping[str, float] | None = None,
    freq: str = "1D",
    chunk_variants: int | None = None,
    n_jobs: int = 1,
    benchmarks: Sequence[str] = (),
    keep_weights: bool = True,
    keep_orders: bool = True,
    keep_portfolio: bool = True,
    benchmark_returns: pd.DataFrame | None = None,
) -> SimResult:
    """Simulate every variant's target weights with next-bar execution; one group per variant.

    Parameters
    ----------
    prices : pd.DataFrame, shape (T, assets)
        Closes (incl. ``CASH`` when a variant holds cash), strictly increasing dates.
    weights : Mapping[str, pd.DataFrame]
        Variant name -> decisions (decision dates x assets), rows sum to 1 or all-NaN.
    fee_rate, slippage_rate : float
        Fractions of traded value (0 on CASH).
    execution_lag_bars : int
        Decisions at t trade at the close of t + lag (default 1).
    init_cash : float
        Starting value of every variant, currency units.
    expense_ratio : Mapping[str, float], optional
        Annual fractions subtracted from index-level prices (see the module notes).
    freq : str
        Bar frequency for vectorbt (pandas 3 needs a fixed one).
    chunk_variants : int, optional
        Variants per from_orders call (memory ~ T * chunk * assets * 8 bytes per array).
    n_jobs : int
        Processes over chunks (1 = in process, deterministic order either way).
    benchmarks : sequence of str
        Variant names to compute tracking error / information ratio against.
    keep_weights, keep_orders, keep_portfolio : bool
        Keep the big per-bar outputs (turn off for sweeps).
    benchmark_returns : pd.DataFrame, optional
        (T x benchmarks) returns simulated elsewhere (a sweep simulates its benchmarks once);
        tracking error / information ratio are computed against these instead.

    Returns
    -------
    SimResult
    """
    if not weights:
        raise ValueError("simulate needs at least one variant")
    if not prices.index.is_monotonic_increasing or prices.index.has_duplicates:
        raise DataError("price dates are not strictly increasing", fix="sort and deduplicate")
    for b in benchmarks:
        if b not in weights:
            raise ValueError(f"benchmark {b!r} is not a variant; variants: {list(weights)}")
    assets: list[str] = []
    for w in weights.values():
        assets.extend(a for a in w.columns if a not in assets)
    missing = [a for a in assets if a not in prices.columns]
    if missing:
        raise DataError(f"no prices for assets {missing}", fix="add them to the price panel")
    if CASH in assets:  # keep CASH last: readable weights, stable column order
        assets = [a for a in assets if a != CASH] + [CASH]
    px = prices[assets]
    if expense_ratio:
        px = _apply_expense_drag(px, expense_ratio)
    dates = pd.DatetimeIndex(px.index)
    close = px.to_numpy(np.float64)

    variants = list(weights)
    orders, unexecuted = [], {}
    for v in variants:
        exe, w, u = _orders_of(dates, close, weights[v], assets, execution_lag_bars, v)
        orders.append((exe, w))
        unexecuted[v] = u

    chunk = len(variants) if not chunk_variants else max(1, int(chunk_variants))
    groups = [list(range(i, min(i + chunk, len(variants))))
              for i in range(0, len(variants), chunk)]
    single = len(groups) == 1
    common = dict(fee_rate=fee_rate, slippage_rate=slippage_rate, init_cash=init_cash,
                  freq=freq, keep_weights=keep_weights, keep_orders=keep_orders,
                  keep_portfolio=keep_portfolio and single)
    jobs = [(close, dates, assets, [variants[k] for k in g], [orders[k] for k in g])
            for g in groups]
    if n_jobs > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn")) as ex:
            futs = [ex.submit(_simulate_chunk, *j, **common) for j in jobs]
            parts = [f.result() for f in futs]
    else:
        parts = [_simulate_chunk(*j, **common) for j in jobs]
    return _assemble(parts, dates, variants, benchmarks, freq, unexecuted, keep_weights,
                     keep_orders, benchmark_returns)


def _assemble(parts: list[dict], dates: pd.DatetimeIndex, variants: list[str],
              benchmarks: Sequence[str], freq: str, unexecuted: dict[str, int],
              keep_weights: bool, keep_orders: bool,
              benchmark_returns: pd.DataFrame | None = None) -> SimResult:
    """Concatenate chunk results and compute metrics on the whole set."""
    equity = pd.DataFrame(np.hstack([p["equity"] for p in parts]), index=dates,
                          columns=pd.Index(variants, name="variant"))
    eq = equity.to_numpy()
    ret = np.zeros_like(eq)
    ret[1:] = eq[1:] / eq[:-1] - 1.0
    returns = pd.DataFrame(ret, index=dates, columns=equity.columns)
    years = len(dates) / PERIODS_PER_YEAR
    turnover = pd.Series(np.concatenate([p["turnover_sum"] for p in parts]) / years,
                         index=equity.columns, name="turnover_per_year")
    fees = pd.Series(np.concatenate([p["fees"] for p in parts]), index=equity.columns,
                     name="total_fees")
    metrics = compute_metrics(returns, equity, turnover, fees, benchmarks, freq,
                              benchmark_returns)
    orders = (pd.concat([p["orders"] for p in parts], ignore_index=True) if keep_orders
              else pd.DataFrame(columns=["variant", "date", "asset", "size", "price", "value",
                                         "fees"]))
    weights = None
    if keep_weights:
        weights = {}
        for p in parts:
            weights.update(p["weights"])
    return SimResult(equity=equity, returns=returns, weights=weights, orders=orders,
                     turnover=turnover, fees=fees, metrics=metrics,
                     portfolio=parts[0].get("portfolio"), unexecuted=unexecuted)


def compute_metrics(returns: pd.DataFrame, equity: pd.DataFrame, turnover: pd.Series,
                    fees: pd.Series, benchmarks: Sequence[str], freq: str = "1D",
                    benchmark_returns: pd.DataFrame | None = None) -> pd.DataFrame:
    """Metrics table (variant x metric): vectorbt's, turnover, fees, TE / IR vs benchmarks.

    ``benchmark_returns`` (dates x benchmarks) supplies benchmarks simulated separately (a
    sweep chunk); otherwise ``benchmarks`` name columns of ``returns``.
    """
    m = performance_metrics(returns, freq=freq)
    m["final_value"] = equity.iloc[-1]
    m["turnover_per_year"] = turnover
    m["total_fees"] = fees
    bench = benchmark_returns if benchmark_returns is not None else returns[list(benchmarks)]
    for b in bench.columns:
        m[f"tracking_error_vs_{b}"] = tracking_error(returns, bench[b])
        m[f"information_ratio_vs_{b}"] = information_ratio(returns, bench[b])
    m.index.name = "variant"
    return m
