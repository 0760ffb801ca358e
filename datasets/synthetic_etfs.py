"""Synthetic market, part 3: ETFs (holdings on a rebalance schedule, NAV, close, shares, flows).

Kinds, as made for the constituent-flow method (README "Concepts"):

* ``index``: cap-weighted top-``n`` of the whole market (KOSPI200-like ``n = 200``; also 50,
  100, 300, 500); several ETFs may track the same index (KODEX/TIGER/ARIRANG 200).
* ``sector``: cap-weighted top-``n`` of one sector (``n`` in 10, 10, 20, 30), each weight
  capped at :data:`SECTOR_WEIGHT_CAP` (semiconductor top-10-like).
* ``group``: equal weight over one business group's listed members (Samsung-group-like).

Rebalance: every ETF on the session after the second Thursday of March, June, September and
December (KRX index futures expiry), effective that session, chosen from the market caps of the
session before (point in time); the first snapshot is effective on day 0, chosen from day-0 caps.
Between rebalances the fund holds the shares it bought, so weights drift with prices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from datasets.synthetic_returns import SECTORS

__all__ = ["EtfSpec", "etf_specs", "rebalance_rows", "build_holdings", "etf_paths",
           "SECTOR_WEIGHT_CAP", "CREATION_UNIT_SHARES"]

#: Maximum single-stock weight in sector ETFs (fraction).
SECTOR_WEIGHT_CAP = 0.25
#: Shares per creation unit: shares outstanding move in multiples of this.
CREATION_UNIT_SHARES = 10_000.0

_INDEX_SIZES = (200, 200, 200, 100, 50, 300, 500, 200)
_SECTOR_SIZES = (10, 10, 20, 30)


@dataclass(frozen=True)
class EtfSpec:
    """One ETF: ``kind`` ('index'|'sector'|'group'), constituents ``n`` (index/sector), the
    sector or group position it follows (-1 if none), expense ratio (fraction per year)."""

    name: str
    kind: str
    n: int
    sector: int
    group: int
    expense_ratio: float


def etf_specs(n_etfs: int, n_groups: int, rng: np.random.Generator) -> list[EtfSpec]:
    """The ETF mix: ~8% index, ~12% group, the rest sector ETFs (at least one of each kind
    once ``n_etfs >= 3``). Expense ratios: index 0.05-0.30%, sector 0.30-0.50%, group
    0.15-0.45% per year (KRX listings' typical ranges)."""
    n = int(n_etfs)
    n_index = max(1, int(round(0.08 * n)))
    n_group = 0 if n < 3 else max(1, int(round(0.12 * n)))
    n_sector = n - n_index - n_group
    if n_sector < 0:
        n_index, n_sector = n, 0
    specs: list[EtfSpec] = []
    for j in range(n_index):
        er = float(np.round(rng.uniform(0.0005, 0.0030), 5))
        specs.append(EtfSpec(f"E{len(specs):03d}", "index", _INDEX_SIZES[j % len(_INDEX_SIZES)],
                             -1, -1, er))
    for j in range(n_sector):
        er = float(np.round(rng.uniform(0.0030, 0.0050), 5))
        specs.append(EtfSpec(f"E{len(specs):03d}", "sector",
                             _SECTOR_SIZES[(j // len(SECTORS)) % len(_SECTOR_SIZES)],
                             j % len(SECTORS), -1, er))
    for j in range(n_group):
        er = float(np.round(rng.uniform(0.0015, 0.0045), 5))
        specs.append(EtfSpec(f"E{len(specs):03d}", "group", 0, -1, j % n_groups, er))
    return specs


def rebalance_rows(dates: pd.DatetimeIndex) -> np.ndarray:
    """Row positions of rebalance sessions: 0, then the first session after the second
    Thursday of each March/June/September/December inside ``dates``."""
    out = [0]
    years = range(dates[0].year, dates[-1].year + 1)
    for y in years:
        for mo in (3, 6, 9, 12):
            first = pd.Timestamp(year=y, month=mo, day=1)
            second_thu = first + pd.Timedelta(days=(3 - first.weekday()) % 7 + 7)
            pos = int(dates.searchsorted(second_thu, "right"))
            if 0 < pos < len(dates) and pos != out[-1]:
                out.append(pos)
    return np.asarray(sorted(set(out)), dtype=np.int64)


def _cap_weights(w: np.ndarray, cap: float) -> np.ndarray:
    """Scale ``w`` (sums to 1) so no weight exceeds ``cap``; excess goes pro rata to the rest."""
    w = w.copy()
    if cap * len(w) <= 1.0:
        return np.full(len(w), 1.0 / len(w))
    for _ in range(100):
        over = w > cap + 1e-12
        if not over.any():
            break
        excess = (w[over] - cap).sum()
        w[over] = cap
        free = ~over & (w < cap)
        w[free] += excess * w[free] / w[free].sum()
    return w


def _select(spec: EtfSpec, caps: np.ndarray, sector: np.ndarray, group: np.ndarray):
    """Constituent positions and weights of ``spec`` given the selection day's caps (NaN =
    unlisted)."""
    listed = np.isfinite(caps)
    if spec.kind == "index":
        cand = np.flatnonzero(listed)
    elif spec.kind == "sector":
        cand = np.flatnonzero(listed & (sector == spec.sector))
    else:
        cand = np.flatnonzero(listed & (group == spec.group))
    if len(cand) == 0:  # no listed member yet (tiny universes): hold the whole listed market
        cand = np.flatnonzero(listed)
    if spec.kind == "group":
        pos = np.sort(cand)
        return pos, np.full(len(pos), 1.0 / len(pos))
    top = cand[np.argsort(-caps[cand], kind="stable")[: spec.n]]
    pos = np.sort(top)
    w = caps[pos] / caps[pos].sum()
    if spec.kind == "sector":
        w = _cap_weights(w, SECTOR_WEIGHT_CAP)
    return pos, w


def build_holdings(
    specs: list[EtfSpec], dates: pd.DatetimeIndex, stocks: pd.Index, market_cap: np.ndarray,
    sector: np.ndarray, group: np.ndarray, rows: np.ndarray,
):
    """Holdings table and the per-ETF list of (row, positions, weights) snapshots.

    ``market_cap`` is (T, N) float64 with NaN before listing. Snapshot at row ``s > 0`` uses
    the caps of row ``s - 1``.
    """
    recs_etf, recs_date, recs_stock, recs_w = [], [], [], []
    snaps: list[list[tuple[int, np.ndarray, np.ndarray]]] = []
    codes = np.asarray(stocks, dtype=object)
    for spec in specs:
        mine = []
        for s in rows:
            sel_row = max(int(s) - 1, 0)
            pos, w = _select(spec, market_cap[sel_row], sector, group)
            mine.append((int(s), pos, w))
            recs_etf.append(np.full(len(pos), spec.name, dtype=object))
            recs_date.append(np.full(len(pos), dates[s].to_datetime64()))
            recs_stock.append(codes[pos])
            recs_w.append(w)
        snaps.append(mine)
    table = pd.DataFrame({
        "etf": np.concatenate(recs_etf),
        "effective_date": pd.DatetimeIndex(np.concatenate(recs_date)).as_unit("ns"),
        "stock": np.concatenate(recs_stock),
        "weight": np.concatenate(recs_w),
    })
    return table, snaps


def etf_paths(
    specs: list[EtfSpec], snaps, dates: pd.DatetimeIndex, close: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """NAV, close, shares outstanding, volume and flow (KRW) per ETF, each shape (T, E).

    * gross index: buy-and-hold of each snapshot from the close of the day before it is
      effective (day 0 for the first) to the next rebalance;
    * ``nav[t] = nav[t-1] * (1 + R[t] + te[t]) * (1 - er * days / 365)``: ``R`` the gross index
      return, ``te`` iid N(0, 2 bp) tracking noise (cash drag, sampling), ``er`` the expense
      ratio charged daily on calendar days;
    * ``close = nav * (1 + p)``, ``p`` an AR(1) premium/discount (phi 0.5, sd 10 bp);
    * shares outstanding: ``so[t] = max(CU, so[t-1] + CU * round(f[t] * so[t-1] / CU))`` with
      ``f[t] = 0.3 f[t-1] + sd_e n[t] - 0.05 R[t-1]`` (fraction of AUM; sd 0.4% for index,
      0.8% otherwise; retail buys the dip); ``flow[t] = (so[t] - so[t-1]) * nav[t-1]`` (KRW);
    * volume: ``so * turnover`` with lognormal turnover (median 1.5% of shares a day) plus the
      creation/redemption shares.
    """
    T, E = len(dates), len(specs)
    gross = np.empty((T, E))
    for e, mine in enumerate(snaps):
        level = 1.0
        gross[0, e] = 1.0
        for j, (s, pos, w) in enumerate(mine):
            base = max(s - 1, 0)
            stop = mine[j + 1][0] if j + 1 < len(mine) else T
            rel = close[base:stop, pos] / close[base, pos]
            path = level * (rel @ w)  # value of the held shares, base row included
            gross[base + 1:stop, e] = path[1:]
            level = path[-1] if stop - base > 1 else level
    ret = np.zeros((T, E))
    ret[1:] = gross[1:] / gross[:-1] - 1.0
    er = np.array([s.expense_ratio for s in specs])
    days = np.zeros(T)
    days[1:] = np.diff(dates.asi8) / 86_400e9
    te = 2e-4 * rng.standard_normal((T, E))
    te[0] = 0.0
    growth = (1.0 + ret + te) * (1.0 - er[None, :] * days[:, None] / 365.0)
    nav0 = np.round(rng.uniform(5_000.0, 40_000.0, E), -1)
    nav = nav0[None, :] * np.cumprod(growth, axis=0)
    prem_e = 1e-3 * np.sqrt(1 - 0.25) * rng.standard_normal((T, E))
    prem = np.empty((T, E))
    prem[0] = prem_e[0] / np.sqrt(1 - 0.25)
    for t in range(1, T):
        prem[t] = 0.5 * prem[t - 1] + prem_e[t]
    etf_close = nav * (1.0 + prem)
    # AUM at start: index ETFs 1-5 trillion KRW, others 20-500 billion (log-uniform).
    is_index = np.array([s.kind == "index" for s in specs])
    aum0 = np.exp(np.where(is_index, rng.uniform(np.log(1e12), np.log(5e12), E),
                           rng.uniform(np.log(2e10), np.log(5e11), E)))
    cu = CREATION_UNIT_SHARES
    so = np.empty((T, E))
    so[0] = np.maximum(cu, np.round(aum0 / nav0 / cu) * cu)
    sd = np.where(is_index, 0.004, 0.008)
    noise = rng.standard_normal((T, E))
    f = np.zeros(E)
    for t in range(1, T):
        f = 0.3 * f + sd * noise[t] - 0.05 * ret[t - 1]
        so[t] = np.maximum(cu, so[t - 1] + cu * np.round(f * so[t - 1] / cu))
    flow = np.zeros((T, E))
    flow[1:] = (so[1:] - so[:-1]) * nav[:-1]
    turnover = np.exp(np.log(0.015) + 0.6 * rng.standard_normal((T, E)))
    volume = np.round(so * turnover)
    volume[1:] += np.abs(so[1:] - so[:-1])
    return {"nav": nav, "close": etf_close, "shares_outstanding": so, "volume": volume,
            "flow": flow}
