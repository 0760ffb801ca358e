"""Synthesis oracles: seeded constituent flow panels and holdings, and the naive references.

Part of the oracle registry (:mod:`benchmarks.oracles` re-exports every name here):
:func:`make_synthesis_case` / :func:`make_synthesis_arrays` generate seeded inputs;
:func:`synthesize_oracle` is the naive pandas synthesis (also the "naive pandas way" timed by
``benchmarks/bench_synthesis.py``), :func:`synthesize_dense_oracle` and
:func:`synthesis_coverage_oracle` the dense NumPy references, :func:`synthesize_scipy` the
scipy.sparse one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.investors import INVESTORS
from engine.market import ConstituentFlows, Holdings, HoldingsCSR

__all__ = ["SynthArrays", "daily_holdings", "make_synthesis_arrays", "make_synthesis_case",
           "synthesis_coverage_oracle", "synthesize_dense_oracle", "synthesize_oracle",
           "synthesize_scipy"]


# --------------------------------------------------------------------------------------------
# Synthesis inputs
# --------------------------------------------------------------------------------------------


@dataclass
class SynthArrays:
    """A synthetic constituent panel at array level (big sizes: no pandas long tables)."""

    dates: pd.DatetimeIndex
    stocks: pd.Index
    investors: tuple[str, ...]
    etfs: pd.Index
    net_buy: np.ndarray  # (T, N, K)
    market_cap: np.ndarray  # (T, N)
    csr: HoldingsCSR
    snapshot_dates: list = field(default_factory=list)  # effective date per CSR snapshot

    def flows(self) -> ConstituentFlows:
        close = self.market_cap / 1e6
        return ConstituentFlows(self.dates, self.stocks, self.investors, self.net_buy,
                                self.market_cap, close)

    def holdings_table(self) -> pd.DataFrame:
        """The long (etf, effective_date, stock, weight) table equivalent to ``csr``."""
        nnz = np.diff(self.csr.indptr)
        snap = np.repeat(np.arange(len(self.csr.etf)), nnz)
        ok = self.csr.stock >= 0
        stock = np.where(ok, self.csr.stock, 0)
        codes = np.where(ok, np.asarray(self.stocks)[stock], "ZZ_NOT_IN_PANEL")
        return pd.DataFrame({
            "etf": np.asarray(self.etfs)[self.csr.etf[snap]],
            "effective_date": self.dates[self.csr.start[snap]],
            "stock": codes,
            "weight": self.csr.weight,
        })

    def holdings(self) -> Holdings:
        return Holdings(self.holdings_table())


def make_synthesis_arrays(
    n_days: int, n_stocks: int, n_investors: int, n_etfs: int, *, seed: int = 0,
    dtype="float64", min_holdings: int = 50, max_holdings: int = 500,
    rebalance_every_days: int = 63, absent_frac: float = 0.1, stagger: bool = False,
) -> SynthArrays:
    """A seeded constituent panel with holdings, at any size.

    Market caps are heavy tailed (log-normal, 5e10 .. 5e14 KRW); net buying is a few bp of
    market cap per day, with fat tails; each stock is listed for one interval of the sample
    (``absent_frac`` of stock-days NaN, stocks leaving and entering the universe); ETFs hold
    ``min_holdings..max_holdings`` listed stocks with random weights, rebalanced every
    ``rebalance_every_days`` sessions (all on the same days unless ``stagger``).
    """
    rng = np.random.default_rng(seed)
    T, N, K, E = n_days, n_stocks, n_investors, n_etfs
    dates = pd.bdate_range("2000-01-04", periods=T)
    stocks = pd.Index([f"S{i:05d}" for i in range(N)])
    investors = tuple(INVESTORS[:K])
    etfs = pd.Index([f"E{e:03d}" for e in range(E)])
    log_cap = rng.normal(np.log(2e12), 1.3, N).clip(np.log(5e10), np.log(5e14))
    drift = rng.normal(0.0, 0.01, (T, N)).cumsum(axis=0)
    mcap = np.exp(log_cap[None, :] + drift).astype(dtype)
    # listing interval per stock: absent before listing or after delisting
    absent_len = (rng.uniform(0, 2 * absent_frac, N) * T).astype(np.int64)
    first = (rng.uniform(0, 1, N) * absent_len).astype(np.int64)
    last = T - (absent_len - first)
    t_idx = np.arange(T)[:, None]
    listed = (t_idx >= first[None, :]) & (t_idx < last[None, :])
    mcap[~listed] = np.nan
    x = rng.standard_normal((T, N, K), dtype=np.float64 if dtype == "float64" else np.float32)
    x *= (mcap * 3e-4)[:, :, None].astype(x.dtype)
    # ETFs: snapshots on rebalance days
    etf_l, start_l, stop_l, ptr, st_l, w_l = [], [], [], [0], [], []
    for e in range(E):
        size = int(rng.integers(min_holdings, max_holdings + 1))
        offset = int(rng.integers(0, rebalance_every_days)) if stagger else 0
        starts = list(range(offset, T, rebalance_every_days))
        if starts[0] != 0 and not stagger:
            starts = [0, *starts]
        for j, s0 in enumerate(starts):
            stop = starts[j + 1] if j + 1 < len(starts) else T
            candidates = np.flatnonzero(listed[s0])
            k = min(size, len(candidates))
            pick = np.sort(rng.choice(candidates, k, replace=False))
            w = rng.pareto(1.5, k) + 0.1
            w /= w.sum()
            etf_l.append(e)
            start_l.append(s0)
            stop_l.append(stop)
            st_l.append(pick.astype(np.int64))
            w_l.append(w)
            ptr.append(ptr[-1] + k)
    csr = HoldingsCSR(np.asarray(etf_l, np.int64), np.asarray(start_l, np.int64),
                      np.asarray(stop_l, np.int64), np.asarray(ptr, np.int64),
                      np.concatenate(st_l), np.concatenate(w_l))
    return SynthArrays(dates, stocks, investors, etfs, x, mcap, csr)


def make_synthesis_case(seed: int = 0, *, n_days: int = 40, n_stocks: int = 30,
                        n_investors: int = 3, n_etfs: int = 4, dtype="float64",
                        rebalance_every_days: int = 9, stagger: bool = True,
                        nan_cell_frac: float = 0.05) -> tuple[ConstituentFlows, Holdings]:
    """A small case for tests: staggered snapshots starting after day 0 (NaN warm-up), NaN
    stock-days, NaN single cells and ETFs with 3..12 constituents."""
    a = make_synthesis_arrays(n_days, n_stocks, n_investors, n_etfs, seed=seed, dtype=dtype,
                              min_holdings=3, max_holdings=12,
                              rebalance_every_days=rebalance_every_days, stagger=stagger)
    rng = np.random.default_rng(seed + 1)
    x = a.net_buy.copy()
    x[rng.random(x.shape) < nan_cell_frac] = np.nan
    flows = ConstituentFlows(a.dates, a.stocks, a.investors, x, a.market_cap,
                             a.market_cap / 1e6)
    return flows, a.holdings()


# --------------------------------------------------------------------------------------------
# Synthesis oracles
# --------------------------------------------------------------------------------------------


def daily_holdings(holdings: Holdings, dates: pd.DatetimeIndex, lag_days: int = 0,
                   etfs=None) -> pd.DataFrame:
    """Long (date, etf, stock, weight) table of the weights usable on each date (pandas)."""
    tab = holdings.table
    if etfs is not None:
        tab = tab[tab["etf"].isin(list(etfs))]
    snaps = tab[["etf", "effective_date"]].drop_duplicates().copy()
    snaps["usable"] = snaps["effective_date"] + pd.Timedelta(days=int(lag_days))
    grid = pd.MultiIndex.from_product([snaps["etf"].unique(), dates], names=["etf", "date"])
    grid = grid.to_frame(index=False).sort_values("date")
    snaps = snaps.sort_values("usable")
    live = pd.merge_asof(grid, snaps, left_on="date", right_on="usable", by="etf")
    live = live.dropna(subset=["effective_date"])
    return live.merge(tab, on=["etf", "effective_date"])[["date", "etf", "stock", "weight"]]


def synthesize_oracle(flows: ConstituentFlows, holdings: Holdings, method: str = "bp",
                      lag_days: int = 0, etfs=None, cumulative: bool = False,
                      uncovered_nan: bool = True) -> pd.DataFrame:
    """The naive pandas way: long frame merged with holdings and market caps, multiply,
    group-by-sum. Same labels and NaN policy as :func:`engine.synthesize_flows`.

    ``uncovered_nan=False`` leaves an ETF-day with no constituent present at 0, the policy of
    the array-level :func:`engine.synthesis.synthesize_arrays` that the benchmark times (so the
    timed pandas baseline does the same work, no more)."""
    T, N, K = flows.shape
    src = flows.net_buy_shares if method == "shares" else flows.net_buy
    long = pd.DataFrame({
        "date": np.repeat(flows.dates, N * K),
        "stock": np.tile(np.repeat(np.asarray(flows.stocks), K), T),
        "investor": np.tile(np.asarray(flows.investors), T * N),
        "net_buy": src.reshape(-1).astype(np.float64),
    })
    caps = pd.DataFrame({
        "date": np.repeat(flows.dates, N),
        "stock": np.tile(np.asarray(flows.stocks), T),
        "market_cap": flows.market_cap.reshape(-1).astype(np.float64),
    })
    hold = daily_holdings(holdings, flows.dates, lag_days, etfs)
    m = hold.merge(caps, on=["date", "stock"], how="left").merge(
        long, on=["date", "stock"], how="left")
    if method == "bp":
        cap = m["market_cap"].where(m["market_cap"] > 0)
        m["term"] = 1e4 * m["weight"] * m["net_buy"] / cap
    elif method == "weighted_amount":
        m["term"] = m["weight"] * m["net_buy"]
    else:  # amount, shares: membership
        m["term"] = m["net_buy"].where(m["weight"] > 0, 0.0)
    m = m.dropna(subset=["investor"])  # constituents not in the panel
    s = m.groupby(["date", "etf", "investor"])["term"].sum()  # NaN terms count as 0
    etf_index = holdings.etfs if etfs is None else pd.Index(list(etfs))
    cols = pd.MultiIndex.from_product([etf_index, list(flows.investors)],
                                      names=["etf", "investor"])
    out = s.unstack(["etf", "investor"]).reindex(index=flows.dates, columns=cols)
    active = hold.groupby(["date", "etf"]).size().unstack("etf").reindex(
        index=flows.dates, columns=etf_index).notna()
    mask = np.repeat(active.to_numpy(), K, axis=1)
    out = out.where(~mask | out.notna(), 0.0).where(mask)
    # An ETF-day with a usable snapshot but no constituent present (absent that day or not in
    # the panel) is unknown, not zero flow: NaN. Found independently of the kernels: a merge of
    # the daily holdings with a per-stock-day "present" flag.
    if not uncovered_nan:
        out.index.name = None
        return (out.cumsum() if cumulative else out).astype(flows.dtype)
    present = ~np.isnan(src).all(axis=2)
    if method == "bp":
        present &= flows.market_cap > 0
    flag = pd.DataFrame({"date": np.repeat(flows.dates, N),
                         "stock": np.tile(np.asarray(flows.stocks), T),
                         "present": present.reshape(-1)})
    cov_frame = hold.merge(flag, on=["date", "stock"], how="left")
    cov_frame["w_present"] = (cov_frame["weight"]
                              * cov_frame["present"].fillna(False).astype(np.float64))
    cov = cov_frame.groupby(["date", "etf"])["w_present"].sum()
    for date, etf in cov.index[cov.to_numpy() == 0.0]:
        out.loc[date, etf] = np.nan
    if cumulative:
        out = out.cumsum()  # NaN days add nothing and stay NaN, as in synthesize_flows
    out.index.name = None
    return out.astype(flows.dtype)


def synthesize_dense_oracle(x: np.ndarray, market_cap: np.ndarray, csr: HoldingsCSR,
                            n_etfs: int, method: str = "bp") -> np.ndarray:
    """A dense NumPy loop over snapshots (array-level oracle for bigger sizes), (T, E, K)."""
    T, N, K = x.shape
    out = np.full((T, n_etfs, K), np.nan)
    xs = np.nan_to_num(x.astype(np.float64), nan=0.0)
    if method == "bp":
        cap = market_cap.astype(np.float64)
        inv = np.where(cap > 0, 1.0 / np.where(cap > 0, cap, 1.0), 0.0)
        xs = xs * inv[:, :, None]
    for s in range(len(csr.etf)):
        lo, hi = csr.indptr[s], csr.indptr[s + 1]
        st, w = csr.stock[lo:hi], csr.weight[lo:hi]
        ok = st >= 0
        st, w = st[ok], w[ok]
        c = {"bp": 1e4 * w, "weighted_amount": w}.get(method, (w > 0).astype(float))
        t0, t1 = csr.start[s], csr.stop[s]
        out[t0:t1, csr.etf[s], :] = np.einsum("i,tik->tk", c, xs[t0:t1][:, st, :])
    return out


def synthesis_coverage_oracle(x: np.ndarray, market_cap: np.ndarray, csr: HoldingsCSR,
                               n_etfs: int, method: str = "bp") -> np.ndarray:
    """Weight of the constituents present per ETF-day, (T, E); NaN without a snapshot.

    Present: any of the stock's K values is a number (and, for ``bp``, its market cap > 0).
    """
    T = x.shape[0]
    present = ~np.isnan(x).all(axis=2)
    if method == "bp":
        with np.errstate(invalid="ignore"):
            present &= market_cap > 0
    out = np.full((T, n_etfs), np.nan)
    for s in range(len(csr.etf)):
        lo, hi = csr.indptr[s], csr.indptr[s + 1]
        st, w = csr.stock[lo:hi], csr.weight[lo:hi]
        ok = st >= 0
        t0, t1 = csr.start[s], csr.stop[s]
        out[t0:t1, csr.etf[s]] = present[t0:t1][:, st[ok]].astype(np.float64) @ w[ok]
    return out


def synthesize_scipy(x: np.ndarray, market_cap: np.ndarray, csr: HoldingsCSR,
                     n_etfs: int) -> np.ndarray:
    """``bp`` synthesis with scipy.sparse, one sparse (E x N) @ dense (N x T_p*K) product per
    global rebalance period, including the scaling, transposes and reshapes it needs."""
    import scipy.sparse as sp

    T, N, K = x.shape
    out = np.full((T, n_etfs, K), np.nan, x.dtype)
    bounds = np.unique(np.concatenate([[0, T], csr.start, csr.stop]))
    snap_of_entry = np.repeat(np.arange(len(csr.etf)), np.diff(csr.indptr))
    for p in range(len(bounds) - 1):
        t0, t1 = bounds[p], bounds[p + 1]
        live = (csr.start <= t0) & (csr.stop >= t1)
        sel = live[snap_of_entry] & (csr.stock >= 0)
        rows = csr.etf[snap_of_entry[sel]]
        W = sp.csr_matrix((1e4 * csr.weight[sel], (rows, csr.stock[sel])), shape=(n_etfs, N))
        cap = market_cap[t0:t1]
        inv = np.where(cap > 0, 1.0 / cap, 0.0)  # NaN cap -> NaN compare False -> 0
        y = np.nan_to_num(x[t0:t1] * inv[:, :, None], nan=0.0)  # (Tp, N, K)
        X = np.ascontiguousarray(y.transpose(1, 0, 2)).reshape(N, (t1 - t0) * K)
        R = (W @ X).reshape(n_etfs, t1 - t0, K).transpose(1, 0, 2)
        active = np.zeros(n_etfs, bool)
        active[csr.etf[live]] = True
        out[t0:t1][:, active, :] = R[:, active, :]
    return out
