"""Synthetic market, part 1: calendar, stock universe and the return factor model.

Pure NumPy below the calendar helper; every random draw comes from a ``np.random.Generator``
passed in (see :func:`datasets.synthetic.make_market` for the full model description).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

__all__ = [
    "SECTORS",
    "Universe",
    "make_universe",
    "make_returns",
    "trading_calendar",
    "KRX_PRICE_LIMIT",
    "MARKET_VOL",
    "SECTOR_VOL",
]

#: Sector names (the first is the semiconductor-like sector that holds the largest stock).
SECTORS: tuple[str, ...] = (
    "semiconductor", "battery", "bio", "auto", "financials", "chemicals", "steel",
    "internet", "retail", "construction", "telecom", "utilities",
)
#: Relative number of stocks per sector (bio and retail are crowded on KRX, telecom is tiny).
_SECTOR_PROB = np.array([10, 8, 16, 8, 10, 10, 6, 10, 10, 6, 3, 3], dtype=np.float64)

#: KRX daily price limit since 2015-06-15 (fraction): a simple return is clipped to +-30%.
KRX_PRICE_LIMIT = 0.30

#: Market-cap calibration: share of the largest stock in total market cap (2021-01-04 all-listing
#: snapshot: Samsung Electronics 0.204) and the log-sd of the body (1.52 there).
TOP1_SHARE = 0.204
#: Log-sd of the lognormal body (the snapshot's log-sd is 1.52, its median/mean 0.138): with a
#: head of the top 0.5% this gives top-10 share 0.41 (real 0.41) and median/mean 0.19.
LOG_CAP_SD = 1.60
#: Share of the ranks (top) lifted onto a power law above the lognormal body.
HEAD_FRACTION = 0.005
#: Average cap per stock (KRW): KOSPI + KOSDAQ on 2021-01-04 was about 2,400 trillion
#: KRW over 2,531 listings.
TOTAL_CAP_PER_STOCK_KRW = 2.4e15 / 2531


#: Base daily vol of the market factor and vol of the sector factors (fractions per day).
MARKET_VOL = 0.014
SECTOR_VOL = 0.007


def trading_calendar(start, n_days: int) -> pd.DatetimeIndex:
    """``n_days`` XKRX sessions from the first session on or after ``start``.

    The sessions are exchange_calendars' XKRX 1990-2040, bundled (:mod:`datasets.calendar`:
    building the calendar takes ~13 s). Sessions needed beyond its last session
    are extended with weekdays (Monday-Friday, no holidays): stated in ``meta["calendar"]``.

    Parameters
    ----------
    start : str or Timestamp
    n_days : int

    Returns
    -------
    pd.DatetimeIndex, shape (n_days,)
        tz-naive session dates.
    """
    from datasets.calendar import XKRX_FIRST, XKRX_LAST, xkrx_sessions

    start = pd.Timestamp(start).normalize()
    first, last = XKRX_FIRST, XKRX_LAST
    if start < first:
        raise ValueError(f"start {start.date()} is before XKRX's first session {first.date()}")
    if start <= last:
        # exchange_calendars' XKRX sessions, bundled (building the calendar takes ~13 s)
        s = xkrx_sessions()
        sessions = s[s.searchsorted(start):][:n_days]
    else:
        sessions = pd.DatetimeIndex([])
    if len(sessions) < n_days:
        base = sessions[-1] if len(sessions) else start - pd.Timedelta(days=1)
        extra = pd.bdate_range(base + pd.Timedelta(days=1), periods=n_days - len(sessions))
        sessions = sessions.append(extra)
    # Plain values: no CustomBusinessDay freq (vectorbt on pandas 3 rejects non-fixed freqs).
    return pd.DatetimeIndex(sessions.as_unit("ns").to_numpy(), name="date")


@dataclass(frozen=True)
class Universe:
    """Static stock attributes, all shape (N,) unless stated.

    Attributes
    ----------
    stocks : pd.Index of str
    sector : ndarray of int64, positions in :data:`SECTORS`
    group : ndarray of int64, business group id or -1
    cap0_krw : float64, market cap on day 0 (KRW, latent before listing)
    shares : float64, listed shares (constant)
    list_day : int64, first listed day (0 for stocks listed from the start)
    beta : float64, market beta
    sigma_idio : float64, idiosyncratic daily vol (fraction)
    flow_scale : float64, turnover multiplier of flows (small caps trade more of their cap)
    """

    stocks: pd.Index
    sector: np.ndarray
    group: np.ndarray
    cap0_krw: np.ndarray
    shares: np.ndarray
    list_day: np.ndarray
    beta: np.ndarray
    sigma_idio: np.ndarray
    flow_scale: np.ndarray


def _top1_exponent(n: int, share: float) -> float:
    """Tail exponent ``a`` of caps ``~ rank**-a`` for the top decile so that rank 1 has ``share``.

    Solved by bisection on the lognormal body plus power-law head used in :func:`make_universe`.
    """
    lo, hi = 0.0, 4.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        c = _head_caps(n, mid)
        if c[0] / c.sum() < share:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _head_caps(n: int, a: float) -> np.ndarray:
    """Deterministic rank-ordered cap profile (descending, sums arbitrary): lognormal quantiles
    for the body, the top ``max(1, n * HEAD_FRACTION)`` ranks lifted along ``rank**-a`` above the body."""
    from scipy.stats import norm

    q = norm.ppf((np.arange(n, 0, -1) - 0.5) / n)  # descending normal quantiles
    caps = np.exp(LOG_CAP_SD * q)
    h = max(1, int(n * HEAD_FRACTION))
    ranks = np.arange(1, h + 1, dtype=np.float64)
    head = caps[h - 1] * (h / ranks) ** a
    caps[:h] = np.maximum(caps[:h], head)
    return caps


def make_universe(
    n_stocks: int, n_days: int, rng: np.random.Generator, *, listing_fraction: float = 0.2
) -> Universe:
    """Draw the stock universe: caps (heavy tail), sectors, groups, listing days, betas, vols.

    Market caps follow a deterministic rank profile (lognormal body with sd
    :data:`LOG_CAP_SD`, power-law head solved so that the largest stock is :data:`TOP1_SHARE`
    of the market), shuffled over stock codes. The largest stock sits in the semiconductor
    sector and in business group 0 (Samsung-like).
    """
    n = int(n_stocks)
    a = _top1_exponent(n, TOP1_SHARE) if n > 1 else 0.0
    prof = _head_caps(n, a)
    prof = prof / prof.sum() * TOTAL_CAP_PER_STOCK_KRW * n
    # Small multiplicative jitter keeps ranks but makes caps look drawn, not tabulated.
    jitter = np.exp(0.05 * rng.standard_normal(n))
    jitter[0] = 1.0
    order = rng.permutation(n)  # order[r] = stock position of the rank-r cap
    cap0 = np.empty(n)
    cap0[order] = prof * jitter
    sector = rng.choice(len(SECTORS), size=n, p=_SECTOR_PROB / _SECTOR_PROB.sum()).astype(np.int64)
    sector[order[0]] = 0
    # Business groups: about one stock in six belongs to one; group 0 holds the largest stock.
    n_groups = int(max(2, min(30, n // 40))) if n >= 8 else 1
    group = np.full(n, -1, dtype=np.int64)
    in_group = rng.random(n) < 1.0 / 6.0
    group[in_group] = rng.integers(0, n_groups, size=int(in_group.sum()))
    group[order[0]] = 0
    for g in range(n_groups):  # every group gets at least 3 members so its ETF is diversified
        have = int((group == g).sum())
        if have < 3:
            free = np.flatnonzero(group == -1)
            take = rng.choice(free, size=min(3 - have, len(free)), replace=False)
            group[take] = g
    # Prices: lognormal around 20,000 KRW, as KRX listings mostly trade 1,000-500,000 KRW.
    close0 = np.exp(np.log(20_000.0) + 1.2 * rng.standard_normal(n))
    shares = np.round(cap0 / close0)
    shares = np.maximum(shares, 1000.0)
    listed_late = rng.random(n) < listing_fraction
    listed_late[order[: max(1, n // 10)]] = False  # the large caps are listed from the start
    list_day = np.where(listed_late, rng.integers(1, max(2, n_days), size=n), 0).astype(np.int64)
    rel = cap0 / np.median(cap0)
    beta = np.clip(1.0 + 0.25 * rng.standard_normal(n), 0.3, 1.8)
    sigma_idio = np.clip(
        0.018 * rel ** -0.12 * np.exp(0.25 * rng.standard_normal(n)), 0.006, 0.06
    )
    # Flow scale: small caps turn over more of their cap; a lognormal stock effect gives the
    # heavy tails of the real cross-section (calibrated on the one-week KRX net purchases).
    flow_scale = rel ** -0.25 * np.exp(0.8 * rng.standard_normal(n))
    stocks = pd.Index([f"{i + 1:06d}" for i in range(n)], dtype="str")
    return Universe(
        stocks=stocks, sector=sector, group=group, cap0_krw=cap0, shares=shares,
        list_day=list_day, beta=beta, sigma_idio=sigma_idio, flow_scale=flow_scale,
    )


def _student_t_unit(rng: np.random.Generator, df: float, size) -> np.ndarray:
    """Student-t draws scaled to unit variance (fat tails with a stated df)."""
    return rng.standard_t(df, size=size) * np.sqrt((df - 2.0) / df)


def make_returns(
    uni: Universe,
    n_days: int,
    signal_z: np.ndarray,
    signal_strength: float,
    rng: np.random.Generator,
    signal_horizon_days: int = 1,
) -> np.ndarray:
    """Daily simple returns (T, N) from market + sector + idiosyncratic factors.

    .. math::
        r_{t,i} = \\mu + \\beta_i \\sigma^m_t m_t + \\sigma^s s_{t,g(i)}
                  + \\sigma_i \\left(\\frac{\\lambda}{\\sqrt{h}} \\sum_{j=1}^{h} z_{t-j,i}
                  + \\sqrt{1-\\lambda^2}\\,\\varepsilon_{t,i}\\right)

    ``m``, ``s``, ``eps`` are unit-variance Student-t (df 5, 5, 4); ``sigma^m_t`` has a
    log-AR(1) stochastic volatility; ``z`` is the informed-investor signal (shape (T, N),
    standard normal), ``lambda = signal_strength``, ``h = signal_horizon_days``: the signal
    of day t moves each of the next h returns with correlation ``lambda / sqrt(h)`` and the
    idiosyncratic variance stays ``sigma_i^2`` (h = 1: the next day only). The first days have
    fewer signal terms. The return is
    clipped at the KRX price limit of +-30%.

    Parameters
    ----------
    uni : Universe
    n_days : int
    signal_z : ndarray, shape (T, N)
    signal_strength : float in [0, 1)
    rng : np.random.Generator
    signal_horizon_days : int >= 1
        Sessions over which one day's signal moves returns.

    Returns
    -------
    ndarray, shape (T, N), float64
    """
    T, N = int(n_days), len(uni.stocks)
    lam = float(signal_strength)
    # Market: 1.4%/day base vol with log-AR(1) vol clustering (phi 0.98, shock sd 0.12) and
    # Student-t(5) shocks: excess kurtosis about 10 over 10 years (KOSPI 2005-2026: 1.40%/day,
    # excess kurtosis 14.6); drift 0.03%/day.
    h_innov = rng.standard_normal(T)
    h = lfilter([0.12], [1.0, -0.98], h_innov)
    h_var = 0.12**2 / (1 - 0.98**2)
    sig_m = MARKET_VOL * np.exp(h - h_var)
    m = sig_m * _student_t_unit(rng, 5.0, T)
    s = SECTOR_VOL * _student_t_unit(rng, 5.0, (T, len(SECTORS)))
    eps = _student_t_unit(rng, 4.0, (T, N))
    r = eps
    r *= np.sqrt(1.0 - lam * lam)
    if lam != 0.0:
        h = int(signal_horizon_days)
        k = lam / np.sqrt(h)  # sum of h unit signals scaled to variance lam^2
        for j in range(1, min(h, T - 1) + 1):
            r[j:] += k * signal_z[:-j]
    r *= uni.sigma_idio[None, :]
    r += uni.beta[None, :] * m[:, None]
    r += s[:, uni.sector]
    r += 0.0003
    np.clip(r, -KRX_PRICE_LIMIT, KRX_PRICE_LIMIT, out=r)
    return r
