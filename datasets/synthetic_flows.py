"""Synthetic market, part 2: net buying by investor type that clears to zero per stock-day.

Model (fractions of market cap, per stock ``i``, day ``t``, atomic investor ``a``)::

    demand  d[t,i,a] = g_i * v[t,i] * (sigma_a * u[t,i,a] + kappa_a * M[t,a] + beta_a * x[t,i])
    net     n[t,i,a] = d[t,i,a] - w_a * sum_b d[t,i,b]           (sum_a w_a = 1)

* ``g_i`` stock flow scale (small caps trade more of their cap), ``v`` a lognormal
  (mean 1) stock-day activity shared by all investors (volume bursts give fat tails);
* ``u`` unit normal; for the informed investors (foreign, pension)
  ``u = sqrt(q) z[t,i] + sqrt(1-q) e[t,i,a]`` with ``z`` the private signal that moves the
  NEXT day's idiosyncratic return (see :func:`datasets.synthetic_returns.make_returns`);
* ``M[t,a]`` a unit-variance AR(1) market-wide mood per investor (persistence ``phi_a``);
* ``x[t,i] = r[t,i] / sd_i`` the stock's same-day standardized return: foreigners chase it
  (``beta > 0``), individuals fade it (``beta < 0``, they buy on falls);
* market clearing: every investor also absorbs the share ``w_a`` (its share of trading) of
  the aggregate excess demand, so the atomic investors sum to exactly zero per stock-day.

Atomic set (mutually exclusive, as the rows of KRX's investor breakdown, whose total is 0):
foreign (외국인, excluding other_foreign), other_foreign, financial_investment, insurance,
investment_trust, private_fund, bank, other_finance, pension, other_corp, individual.
``institution`` (기관합계) is the sum of the seven institutional sub-types.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.signal import lfilter

from engine.investors import INVESTORS

__all__ = ["ATOMIC", "INSTITUTION_PARTS", "FlowParams", "FLOW_PARAMS", "market_moods",
           "flow_chunk", "investor_map", "output_parts", "SIGNAL_SHARE",
           "ACTIVITY_LOG_SD"]

#: Institutional sub-types whose sum is ``institution`` (기관합계).
INSTITUTION_PARTS: tuple[str, ...] = (
    "financial_investment", "insurance", "investment_trust", "private_fund", "bank",
    "other_finance", "pension",
)
#: Mutually exclusive investor types; their net buying sums to zero per stock-day.
ATOMIC: tuple[str, ...] = tuple(i for i in INVESTORS if i != "institution")


class FlowParams(NamedTuple):
    """Per atomic investor parameters, each an array of shape (A,) in :data:`ATOMIC` order.

    trade_share : share ``w_a`` of trading, absorbs that share of aggregate demand (sums to 1)
    sigma : idiosyncratic demand scale (fraction of cap per day for a flow-scale-1 stock)
    kappa : loading on the investor's market-wide mood (same units)
    phi : AR(1) persistence of the mood (per day)
    beta : response to the same-day standardized stock return (same units)
    informed : 1.0 for investors whose idiosyncratic demand carries the private signal
    """

    trade_share: np.ndarray
    sigma: np.ndarray
    kappa: np.ndarray
    phi: np.ndarray
    beta: np.ndarray
    informed: np.ndarray


def _params() -> FlowParams:
    # w: shares of KOSPI trading value 2021-01-15..22 (pykrx investor_breakdown_KOSPI file:
    # individuals 67%, foreign 13.2%, pension 9.5%, ...), except financial investment (6.6%
    # there): much of its trading is arbitrage that nets out per stock, and 1.5% keeps its
    # per-stock net buying as small as the real cross-section. sigma, kappa, phi and beta were
    # tuned against the targets of benchmarks/calibrate_synthetic.py (datasets/CALIBRATION.md).
    rows = {
        #                     w      sigma    kappa    phi   beta   informed
        "foreign":          (0.135, 6.0e-4, 3.8e-4, 0.7,  2.5e-4, 1.0),
        "other_foreign":    (0.002, 4.0e-5, 0.0,    0.0,  0.0,    0.0),
        "financial_investment": (0.015, 5.0e-5, 1.0e-4, 0.3, 0.0, 0.0),
        "insurance":        (0.006, 5.0e-5, 1.0e-4, 0.5,  0.0,    0.0),
        "investment_trust": (0.011, 8.0e-5, 2.1e-4, 0.5,  0.0,    0.0),
        "private_fund":     (0.005, 6.0e-5, 1.0e-4, 0.5,  0.0,    0.0),
        "bank":             (0.001, 1.5e-5, 2.0e-5, 0.5,  0.0,    0.0),
        "other_finance":    (0.001, 1.5e-5, 2.0e-5, 0.5,  0.0,    0.0),
        "pension":          (0.095, 6.0e-4, 3.4e-4, 0.6,  0.0,    1.0),
        "other_corp":       (0.008, 1.0e-4, 2.0e-5, 0.3,  0.0,    0.0),
        "individual":       (0.0,   2.7e-3, 1.0e-4, 0.3, -9.0e-4, 0.0),
    }
    arr = np.array([rows[a] for a in ATOMIC], dtype=np.float64)
    # Individuals take the remainder so the shares sum to 1 exactly (in float64).
    arr[-1, 0] = 1.0 - arr[:-1, 0].sum()
    return FlowParams(*(np.ascontiguousarray(arr[:, j]) for j in range(6)))


#: Default flow parameters (see :class:`FlowParams`).
FLOW_PARAMS: FlowParams = _params()

#: Share of an informed investor's idiosyncratic demand that is the common private signal.
SIGNAL_SHARE = 0.5
#: Log-sd of the stock-day activity multiplier ``v``.
ACTIVITY_LOG_SD = 0.7


def market_moods(n_days: int, params: FlowParams, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) market-wide moods, shape (T, A)."""
    A = len(params.phi)
    e = rng.standard_normal((int(n_days), A))
    out = np.empty_like(e)
    for a in range(A):
        phi = params.phi[a]
        out[:, a] = lfilter([np.sqrt(1.0 - phi * phi)], [1.0, -phi], e[:, a])
    return out


def flow_chunk(
    flow_scale: np.ndarray,
    signal_z: np.ndarray,
    ret_std: np.ndarray,
    moods: np.ndarray,
    params: FlowParams,
    act_noise: np.ndarray,
    noise: np.ndarray,
) -> np.ndarray:
    """Net buying as a fraction of market cap for a block of days, shape (L, N, A).

    The NumPy reference of :func:`datasets._synthetic_nb.flow_block_nb` (which fuses this,
    :func:`investor_map` and the KRW/share conversion in one pass); tests compare the two.

    Parameters
    ----------
    flow_scale : ndarray, shape (N,)
    signal_z : ndarray, shape (L, N), the informed signal of these days
    ret_std : ndarray, shape (L, N), same-day standardized returns
    moods : ndarray, shape (L, A)
    params : FlowParams
    act_noise : ndarray, shape (L, N), standard normal (log activity)
    noise : ndarray, shape (L, N, A), standard normal (demand noise); not modified

    Returns
    -------
    ndarray, shape (L, N, A), float64; sums to 0 over the last axis up to rounding.
    """
    act = np.exp(ACTIVITY_LOG_SD * act_noise - 0.5 * ACTIVITY_LOG_SD**2)
    d = noise.copy()
    q = SIGNAL_SHARE
    for a in np.flatnonzero(params.informed > 0):
        d[:, :, a] *= np.sqrt(1.0 - q)
        d[:, :, a] += np.sqrt(q) * signal_z
    d *= params.sigma
    d += moods[:, None, :] * params.kappa
    d += ret_std[:, :, None] * params.beta
    act *= flow_scale[None, :]
    d *= act[:, :, None]
    total = d.sum(axis=2)
    d -= total[:, :, None] * params.trade_share
    return d


def output_parts(investors: tuple[str, ...]) -> np.ndarray:
    """Atomic positions summed into each output column, (K, P) int64 padded with -1."""
    parts = [INSTITUTION_PARTS if inv == "institution" else (inv,) for inv in investors]
    out = np.full((len(investors), max(len(p) for p in parts)), -1, dtype=np.int64)
    for k, p in enumerate(parts):
        out[k, : len(p)] = [ATOMIC.index(x) for x in p]
    return out


def investor_map(atomic_net: np.ndarray, investors: tuple[str, ...], out: np.ndarray) -> None:
    """Write the requested investor columns of ``atomic_net`` (L, N, A) into ``out`` (L, N, K).

    ``institution`` is summed from :data:`INSTITUTION_PARTS` in that fixed order (explicit
    adds, not a BLAS product, so the result is bit-identical on every machine).
    """
    for k, inv in enumerate(investors):
        parts = INSTITUTION_PARTS if inv == "institution" else (inv,)
        acc = atomic_net[:, :, ATOMIC.index(parts[0])].copy()
        for p in parts[1:]:
            acc += atomic_net[:, :, ATOMIC.index(p)]
        out[:, :, k] = acc
