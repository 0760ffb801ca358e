"""Many price paths simulated at once with vectorbt's own order functions.

:func:`simulate_paths` is ``engine.simulation.simulate`` for P paths that each have their own
prices (a Monte Carlo): the same ``from_orders(size_type="targetpercent", cash_sharing=True,
call_seq="auto", fees, slippage, min_size=1e-8)`` semantics, but one small loop per path over
that path's own order bars only, instead of one vectorbt call on a (T, P x A) frame.

Why not call ``Portfolio.from_orders``: each path has its own close, so the frames would be
(T, P x A) -- 30 M cells for 10,000 paths x 252 bars x 12 assets, most of them bars without an
order -- and the Portfolio wrapper adds a MultiIndex of 120,000 columns. The kernel below
calls vectorbt's numba functions (``order_nb``, ``process_order_nb``, ``approx_order_value_nb``,
``insert_argsort_nb``) in the order ``simulate_from_orders_nb`` does for one group, so fills,
fees, partial fills and the sell-first call sequence are vectorbt's. Equity is valued on every
bar from the cash and units after each order bar, as ``engine.simulation`` does. Pinned to
``flowbt backtest``'s machinery to 1e-9 by tests/engine/stress/test_fast_path.py.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from vectorbt.portfolio.enums import Direction, ProcessOrderState, SizeType, log_dt, order_dt
from vectorbt.portfolio.nb import approx_order_value_nb, order_nb, process_order_nb
from vectorbt.utils.array_ import insert_argsort_nb

__all__ = ["simulate_paths", "simulate_paths_nb"]

#: vectorbt's default ``min_size`` (``vbt.settings.portfolio``), used by engine.simulation.
MIN_SIZE = 1e-8


@njit(cache=True)
def simulate_paths_nb(close: np.ndarray, ptr: np.ndarray, exe: np.ndarray,
                      state: np.ndarray, targets: np.ndarray, fees: np.ndarray,
                      slippage: np.ndarray, init_cash: float, min_size: float,
                      equity: np.ndarray, fees_paid: np.ndarray) -> None:
    """Equity of every path from its orders.

    Parameters
    ----------
    close : ndarray, shape (P, T, A)
        Closes of the strategy's assets on each path (no NaN where held).
    ptr : ndarray of int64, shape (P + 1,)
        Path p's orders are rows ``ptr[p]:ptr[p + 1]`` of ``exe`` / ``state`` (increasing bars).
    exe : ndarray of int64, shape (R,)
        Execution bar of each order row (decision bar + execution lag, < T).
    state : ndarray of int64, shape (R,)
        Row of ``targets`` ordered (target percent of every asset).
    targets : ndarray, shape (S, A)
    fees, slippage : ndarray, shape (A,)
        Fractions of traded value per asset (0 on CASH).
    init_cash : float
    min_size : float
        Smallest order size (units), vectorbt's default 1e-8.
    equity : ndarray, shape (P, T)
        Written: portfolio value at every close.
    fees_paid : ndarray, shape (P,)
        Written: fees plus slippage cost, currency units.
    """
    n_p, n_t, n_a = close.shape
    records = np.empty(1, dtype=order_dt)
    dummy_logs = np.empty(0, dtype=log_dt)
    order_value = np.empty(n_a)
    call_seq = np.empty(n_a, dtype=np.int64)
    for p in range(n_p):
        cash = init_cash
        free_cash = init_cash
        position = np.zeros(n_a)
        debt = np.zeros(n_a)
        paid = 0.0
        t0 = 0
        for r in range(ptr[p], ptr[p + 1]):
            i = exe[r]
            for t in range(t0, i):  # value the bars before this order with the old holdings
                v = cash
                for j in range(n_a):
                    if position[j] != 0.0:
                        v += position[j] * close[p, t, j]
                equity[p, t] = v
            t0 = i
            tv = targets[state[r]]
            value = cash
            for j in range(n_a):
                if position[j] != 0.0:
                    value += position[j] * close[p, i, j]
            for j in range(n_a):
                call_seq[j] = j
                order_value[j] = approx_order_value_nb(tv[j], SizeType.TargetPercent,
                                                       Direction.Both, cash, position[j],
                                                       free_cash, close[p, i, j], value)
            insert_argsort_nb(order_value, call_seq)
            for q in range(n_a):
                j = call_seq[q]
                order = order_nb(size=tv[j], price=close[p, i, j],
                                 size_type=SizeType.TargetPercent, direction=Direction.Both,
                                 fees=fees[j], fixed_fees=0.0, slippage=slippage[j],
                                 min_size=min_size, max_size=np.inf, size_granularity=np.nan,
                                 reject_prob=0.0, lock_cash=False, allow_partial=True,
                                 raise_reject=False, log=False)
                st = ProcessOrderState(cash=cash, position=position[j], debt=debt[j],
                                       free_cash=free_cash, val_price=close[p, i, j],
                                       value=value, oidx=0, lidx=0)
                res, new = process_order_nb(i, j, p, st, False, order, records, dummy_logs)
                if new.oidx > 0:  # filled: slippage is paid through the fill price
                    paid += res.fees + abs(res.price - close[p, i, j]) * res.size
                cash = new.cash
                free_cash = new.free_cash
                position[j] = new.position
                debt[j] = new.debt
        for t in range(t0, n_t):
            v = cash
            for j in range(n_a):
                if position[j] != 0.0:
                    v += position[j] * close[p, t, j]
            equity[p, t] = v
        fees_paid[p] = paid


def simulate_paths(close: np.ndarray, ptr: np.ndarray, pos: np.ndarray, state: np.ndarray,
                   targets: np.ndarray, *, fee_rate: float, slippage_rate: float,
                   execution_lag_bars: int, init_cash: float,
                   cash_column: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Equity (P, T) and costs (P,) of decisions on P paths; next-bar (lagged) execution.

    Parameters
    ----------
    close : ndarray, shape (P, T, A)
        Closes in the decisions' asset order.
    ptr, pos, state, targets
        Decision rows as in ``strategies.core_satellite_paths.PathDecisions`` (decision bars).
    fee_rate, slippage_rate : float
        Fractions of traded value (0 on the CASH column).
    execution_lag_bars : int
        A decision at bar t trades at the close of t + lag; later than the last bar: dropped.
    init_cash : float
    cash_column : int, optional
        Column of CASH (no fees, no slippage).

    Returns
    -------
    equity : ndarray, shape (P, T)
    costs : ndarray, shape (P,)
    """
    close = np.ascontiguousarray(close, dtype=np.float64)
    n_p, n_t, n_a = close.shape
    exe = np.asarray(pos, dtype=np.int64) + int(execution_lag_bars)
    ok = exe < n_t
    path = np.repeat(np.arange(n_p), np.diff(ptr))
    exe, st, path = exe[ok], np.asarray(state, dtype=np.int64)[ok], path[ok]
    ptr2 = np.concatenate([[0], np.cumsum(np.bincount(path, minlength=n_p))]).astype(np.int64)
    fees = np.full(n_a, float(fee_rate))
    slip = np.full(n_a, float(slippage_rate))
    if cash_column is not None:
        fees[cash_column] = 0.0
        slip[cash_column] = 0.0
    equity = np.empty((n_p, n_t))
    costs = np.empty(n_p)
    simulate_paths_nb(close, ptr2, exe, st, np.ascontiguousarray(targets, dtype=np.float64),
                      fees, slip, float(init_cash), MIN_SIZE, equity, costs)
    return equity, costs
