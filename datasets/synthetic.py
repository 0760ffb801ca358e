"""Seeded synthetic KRX-like market with a known signal planted in the investor flows.

No public source has years of per-stock net buying by investor type with market caps, nor years
of Korean ETF holdings; :func:`make_market` builds both, calibrated on the real files (see
``datasets/CALIBRATION.md``, written by ``benchmarks/calibrate_synthetic.py``), and returns the
same :class:`engine.market.Market` the real loaders return.

The model (exact; the code is in ``synthetic_returns``, ``synthetic_flows``, ``synthetic_etfs``)
-------------------------------------------------------------------------------------------------
Calendar
    XKRX sessions from ``start`` (exchange_calendars), extended with weekdays past 2040-12-28.
Universe
    Caps on day 0: lognormal body (log-sd 1.6) with a power-law head (top 0.5% of ranks) solved so that the largest
    stock is 20.4% of the market (Samsung Electronics on 2021-01-04), scaled to about 950
    billion KRW per stock on average. Twelve sectors; about one stock in six in a business group
    (group 0 holds the largest stock). ``listing_fraction`` of the stocks (none of the top
    decile) list on a uniform random later day and are NaN before it; nothing delists.
Returns (simple, per day, clipped at the +-30% KRX limit)
    ``r[t,i] = 0.0003 + beta_i m[t] + s[t,sector(i)]
    + sigma_i (lambda z[t-1,i] + sqrt(1 - lambda^2) eps[t,i])``; ``m`` Student-t(5) with
    log-AR(1) stochastic volatility (base 1.4%/day), ``s`` Student-t(5) at 0.7%/day, ``eps``
    Student-t(4), ``sigma_i`` about 1.8%/day (higher for small caps), ``beta_i ~ N(1, 0.25)``.
    ``close[t] = close[t-1] (1 + r[t])``; ``market_cap = close * shares`` (shares constant).
Flows (fraction of market cap; KRW = fraction x market cap)
    Per atomic investor ``a``: demand ``d = g_i v[t,i] (sigma_a u + kappa_a M[t,a] + beta_a
    x[t,i])``, net ``n = d - w_a sum_b d_b``. ``u`` is unit normal; for foreign and pension
    ``u = sqrt(0.5) z[t,i] + sqrt(0.5) e``. ``M`` is the investor's AR(1) market mood, ``x`` the
    stock's same-day standardized return (foreigners chase it, individuals fade it: they buy on
    falls), ``w_a`` the investor's share of trading, ``g_i`` the stock's flow scale and ``v`` a
    lognormal stock-day activity. See :mod:`datasets.synthetic_flows`.
The planted signal
    ``z[t,i]`` (iid N(0, 1)) is known to foreigners and pension funds on day ``t`` and moves the
    idiosyncratic return of day ``t + 1`` with correlation ``lambda = signal_strength`` (or,
    with ``signal_horizon_days = h > 1``, each of days ``t+1..t+h`` with ``lambda / sqrt(h)``). At
    ``signal_strength = 0`` no return depends on any earlier flow (the null world): flows follow
    past and same-day returns only.
Investors
    The atomic types (foreign excluding other_foreign, other_foreign, the seven institutional
    sub-types, other_corp, individual) sum to exactly zero per stock-day (every buy has a
    seller, as the rows of KRX's investor breakdown). ``institution`` (기관합계) is returned as
    the sum of financial_investment..pension, so the 12 canonical columns sum to
    ``institution`` (counted twice), and a requested subset sums to zero only when it covers the
    atomic set once (e.g. ``("foreign", "other_foreign", "institution", "other_corp",
    "individual")``).
ETFs
    See :mod:`datasets.synthetic_etfs`: index (cap-weighted top 50-500), sector (top 10-30,
    capped at 25%), group (equal weight); quarterly rebalances; NAV from the holdings minus the
    expense ratio plus tracking noise; close = NAV x (1 + premium); shares outstanding moved by
    ETF-level flows in creation units.
Prices
    ETF closes plus ``CASH`` accruing ``cash_rate_pct`` (constant, percent per year).

Speed: the flow loop is one fused numba kernel (:func:`datasets._synthetic_nb.flow_block_nb`,
``cache=True``, parallel over days) on NumPy draws made block by block; the NumPy reference is
:func:`datasets.synthetic_flows.flow_chunk`. 7,500 days x 3,000 stocks x 12 investors x 200 ETFs
in float32 takes about 20 s warm and 4 GB peak (``benchmarks/results/generate.md``).

Determinism: every draw comes from ``np.random.SeedSequence(seed)`` children in a fixed order
and fixed chunk sizes; all arithmetic is float64 and ``dtype`` is applied last, so the same seed
gives bit-identical arrays, and the float32 market equals the float64 one cast to float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from datasets._synthetic_nb import flow_block_nb
from datasets.synthetic_etfs import build_holdings, etf_paths, etf_specs, rebalance_rows
from datasets.synthetic_flows import (
    ACTIVITY_LOG_SD,
    ATOMIC,
    FLOW_PARAMS,
    SIGNAL_SHARE,
    market_moods,
    output_parts,
)
from datasets.synthetic_returns import (
    MARKET_VOL,
    SECTOR_VOL,
    SECTORS,
    make_returns,
    make_universe,
    trading_calendar,
)
from engine.investors import INVESTORS
from engine.market import ConstituentFlows, EtfData, Holdings, Market
from engine.prices import with_cash

__all__ = ["make_market", "CHUNK_DAYS", "MODEL_VERSION"]

#: Days generated per block of flows: fixed (never memory dependent) so that the order of
#: random draws, hence the output, does not depend on the machine. Temporaries per block:
#: CHUNK_DAYS x N x 11 float64 noise (34 MB at N = 3,000).
CHUNK_DAYS = 128
#: Bumped whenever the model or the order of draws changes (same seed -> different market).
MODEL_VERSION = 1


def _check_investors(investors: Sequence[str] | None) -> tuple[str, ...]:
    if investors is None:
        return INVESTORS
    inv = tuple(str(i) for i in investors)
    bad = [i for i in inv if i not in INVESTORS]
    if bad or len(set(inv)) != len(inv) or not inv:
        raise ValueError(f"investors must be distinct ids from {INVESTORS}, got {inv}")
    return inv


def make_market(
    n_days: int,
    n_stocks: int,
    n_etfs: int,
    *,
    investors: Sequence[str] | None = None,
    start="2000-01-04",
    signal_strength: float = 0.0,
    seed: int = 0,
    dtype="float64",
    listing_fraction: float = 0.2,
    cash_rate_pct: float = 2.5,
    signal_horizon_days: int = 1,
) -> Market:
    """Generate a synthetic KRX-like market (model in the module docstring).

    Parameters
    ----------
    n_days : int
        Trading sessions (>= 2).
    n_stocks : int
        Stocks (>= 1).
    n_etfs : int
        ETFs (>= 0); the mix is ~8% index, ~12% group, the rest sector ETFs.
    investors : sequence of str, optional
        Canonical investor ids to return, in that order (default: all 12 of
        :data:`engine.investors.INVESTORS`).
    start : str or Timestamp
        First session on or after this date (XKRX calendar).
    signal_strength : float in [0, 1)
        Correlation of the informed investors' private signal at t with the idiosyncratic
        return at t + 1. 0 = flows carry no information about future returns.
    seed : int
    dtype : {"float64", "float32"}
        dtype of every array in flows and ETF data (holdings weights stay float64).
    listing_fraction : float in [0, 1]
        Share of stocks listed after day 0 (NaN before their listing day).
    cash_rate_pct : float
        Constant short rate accrued by ``CASH`` in ``prices`` (percent per year).
    signal_horizon_days : int >= 1
        Sessions over which one day's private signal moves idiosyncratic returns (each of days
        t+1..t+h with correlation ``signal_strength / sqrt(h)``). 1 = the next day only; use
        h > 1 to test strategies that trade at the next bar (the default execution lag), since
        with h = 1 the information is spent before a next-bar trade.

    Returns
    -------
    Market
        ``flows`` (net_buy (T, N, K) KRW, market_cap KRW, close KRW/share, net_buy_shares),
        ``holdings``, ``etfs`` (KRW), ``prices`` (ETF closes + CASH, float64) and ``meta`` with
        ``sectors`` (Series stock -> sector), ``groups`` (stock -> group id, -1 none),
        ``etf_kind``, ``etf_sector``, ``etf_group``, ``etf_size``, ``signal`` (the planted
        ``z``, (T, N) float64 DataFrame, for tests and research only), ``params``, ``model``.

    Notes
    -----
    The same arguments give bit-identical arrays on every run. Changing ``n_days`` or
    ``n_stocks`` changes the draw shapes, so a shorter market is not a prefix of a longer one
    with the same seed (slice with :meth:`engine.market.ConstituentFlows.slice_dates` instead).
    ``meta["signal"]`` exposes the planted signal: strategies must not read it.

    Examples
    --------
    >>> m = make_market(30, 40, 4, seed=1)
    >>> m.flows.shape, m.etfs.close.shape, sorted(set(m.meta["etf_kind"]))
    ((30, 40, 12), (30, 4), ['group', 'index', 'sector'])
    """
    T, N, E = int(n_days), int(n_stocks), int(n_etfs)
    if T < 2 or N < 1 or E < 0:
        raise ValueError(f"need n_days >= 2, n_stocks >= 1, n_etfs >= 0; got {T}, {N}, {E}")
    lam = float(signal_strength)
    if not 0.0 <= lam < 1.0:
        raise ValueError(f"signal_strength must be in [0, 1), got {lam}")
    if int(signal_horizon_days) < 1:
        raise ValueError(f"signal_horizon_days must be >= 1, got {signal_horizon_days}")
    out_dtype = np.dtype(dtype)
    if out_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if not 0.0 <= float(listing_fraction) <= 1.0:
        raise ValueError(f"listing_fraction must be in [0, 1], got {listing_fraction}")
    inv = _check_investors(investors)
    ss = np.random.SeedSequence(int(seed))
    rng_uni, rng_sig, rng_ret, rng_flow, rng_etf = (np.random.default_rng(s) for s in ss.spawn(5))

    dates = trading_calendar(start, T)
    uni = make_universe(N, T, rng_uni, listing_fraction=listing_fraction)
    z = rng_sig.standard_normal((T, N))
    ret = make_returns(uni, T, z, lam, rng_ret, signal_horizon_days=int(signal_horizon_days))
    close0 = uni.cap0_krw / uni.shares
    close = np.cumprod(1.0 + ret, axis=0)
    close *= close0[None, :]
    listed = np.arange(T)[:, None] >= uni.list_day[None, :]  # (T, N) bool
    cap = close * uni.shares[None, :]
    cap_obs = np.where(listed, cap, np.nan)

    # Flows, in time blocks so temporaries stay at CHUNK_DAYS x N x A floats; the kernel writes
    # KRW and shares straight into the output arrays (one pass, cast to dtype at the write).
    ret_sd = np.sqrt((uni.beta * MARKET_VOL) ** 2 + SECTOR_VOL**2 + uni.sigma_idio**2)
    moods = market_moods(T, FLOW_PARAMS, rng_flow)
    K = len(inv)
    parts = output_parts(inv)
    net_buy = np.empty((T, N, K), dtype=out_dtype)
    net_sh = np.empty((T, N, K), dtype=out_dtype)
    close_obs = np.where(listed, close, np.nan)
    p = FLOW_PARAMS
    for lo in range(0, T, CHUNK_DAYS):
        hi = min(T, lo + CHUNK_DAYS)
        # Draw order per block is fixed (activity, then demand noise): see CHUNK_DAYS.
        act_noise = rng_flow.standard_normal((hi - lo, N))
        noise = rng_flow.standard_normal((hi - lo, N, len(ATOMIC)))
        flow_block_nb(
            noise, act_noise, z[lo:hi], ret[lo:hi] / ret_sd[None, :], moods[lo:hi],
            uni.flow_scale, cap_obs[lo:hi], close_obs[lo:hi], p.sigma, p.kappa, p.beta,
            p.trade_share, p.informed, SIGNAL_SHARE, ACTIVITY_LOG_SD, parts,
            net_buy[lo:hi], net_sh[lo:hi],
        )

    flows = ConstituentFlows(
        dates=dates, stocks=uni.stocks, investors=inv, net_buy=net_buy,
        market_cap=cap_obs.astype(out_dtype), close=close_obs.astype(out_dtype),
        net_buy_shares=net_sh, currency="KRW",
    )

    n_groups = int(uni.group.max()) + 1
    specs = etf_specs(E, max(n_groups, 1), rng_etf)
    rows = rebalance_rows(dates)
    if E:
        table, snaps = build_holdings(specs, dates, uni.stocks, cap_obs, uni.sector, uni.group,
                                      rows)
        paths = etf_paths(specs, snaps, dates, close, rng_etf)
    else:
        table = pd.DataFrame({"etf": pd.Series([], dtype="str"),
                              "effective_date": pd.DatetimeIndex([]).as_unit("ns"),
                              "stock": pd.Series([], dtype="str"),
                              "weight": np.array([], dtype=np.float64)})
        paths = {k: np.empty((T, 0)) for k in ("nav", "close", "shares_outstanding", "volume",
                                               "flow")}
    names = pd.Index([s.name for s in specs], dtype="str")
    etfs = EtfData(
        dates=dates, etfs=names,
        **{k: v.astype(out_dtype) for k, v in paths.items()},
        expense_ratio=np.array([s.expense_ratio for s in specs], dtype=np.float64),
        currency="KRW",
    )
    prices = with_cash(pd.DataFrame(paths["close"], index=dates, columns=names), cash_rate_pct)
    prices.columns.name = None

    meta = {
        "source": "synthetic",
        "generator": "datasets.make_market",
        "model_version": MODEL_VERSION,
        "params": {
            "n_days": T, "n_stocks": N, "n_etfs": E, "investors": list(inv),
            "start": str(pd.Timestamp(start).date()), "signal_strength": lam, "signal_horizon_days": int(signal_horizon_days), "seed": int(seed),
            "dtype": str(out_dtype), "listing_fraction": float(listing_fraction),
            "cash_rate_pct": float(cash_rate_pct),
        },
        "sectors": pd.Series([SECTORS[s] for s in uni.sector], index=uni.stocks, name="sector",
                             dtype="str"),
        "groups": pd.Series(uni.group, index=uni.stocks, name="group"),
        "list_day": pd.Series(dates[uni.list_day], index=uni.stocks, name="list_date"),
        "etf_kind": pd.Series([s.kind for s in specs], index=names, name="kind", dtype="str"),
        "etf_sector": pd.Series([SECTORS[s.sector] if s.kind == "sector" else None
                                 for s in specs], index=names, name="sector", dtype="str"),
        "etf_group": pd.Series([s.group for s in specs], index=names, name="group",
                               dtype=np.int64),
        "etf_size": pd.Series([s.n for s in specs], index=names, name="size", dtype=np.int64),
        "rebalance_dates": dates[rows],
        "atomic_investors": list(ATOMIC),
        "signal": pd.DataFrame(z, index=dates, columns=uni.stocks),
        "cash_rate_pct": float(cash_rate_pct),
        "calendar": "XKRX (exchange_calendars), weekdays after 2040-12-28",
        "model": __doc__,
    }
    return Market(flows=flows, holdings=Holdings(table), etfs=etfs, prices=prices, meta=meta)
