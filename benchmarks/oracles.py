"""The oracle registry: every kernel's slow, obvious NumPy/pandas reference and its inputs.

One source for ``tests/engine/test_kernels.py``, ``tests/engine/test_synthesis.py``,
``tests/engine/test_signal_properties.py`` and ``benchmarks/``; it lives in the installed
``benchmarks`` package so that ``flowbt bench`` can import it from any working directory. An oracle is written to be
read, not to be fast: explicit windows, pandas merges and group-bys.

* :data:`SIGNALS` maps a signal name to an :class:`Oracle`: the pandas wrapper under test
  (``engine.signals``), the 2-D kernel call on arrays, the reference, and which edge cases
  make sense for it (a 1e8 offset is meaningless for returns, for instance).
* :func:`make_synthesis_case` / :func:`make_synthesis_arrays` generate seeded constituent
  flow panels and holdings; :func:`synthesize_oracle` is the naive pandas synthesis (also
  the "naive pandas way" timed by ``benchmarks/bench_synthesis.py``);
  :func:`synthesize_scipy` the scipy.sparse one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.synthesis_oracles import (  # noqa: F401  (re-exported: one registry)
    SynthArrays,
    daily_holdings,
    make_synthesis_arrays,
    make_synthesis_case,
    synthesis_coverage_oracle,
    synthesize_dense_oracle,
    synthesize_oracle,
    synthesize_scipy,
)
from engine.conventions import PERIODS_PER_YEAR

# --------------------------------------------------------------------------------------------
# Signal oracles (filled below by _register)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Oracle:
    """One derived-signal kernel and its reference.

    Attributes
    ----------
    name : str
    n_inputs : int
        How many (T, C) float arrays the kernel takes.
    kernel : callable
        ``kernel(*arrays, **params) -> ndarray`` on C arrays via the 2-D numba kernel.
    reference : callable
        ``reference(*arrays, **params) -> ndarray`` slow and obvious (NumPy loops / pandas).
    wrapper : callable
        ``wrapper(*frames, **params) -> DataFrame`` from :mod:`engine.signals`.
    params : list of dict
        Parameter sweeps.
    offset_ok : bool
        Whether adding 1e8 to the inputs is meaningful (levels, not returns or prices).
    positive : bool
        Inputs must be > 0 (prices, volumes, NAV).
    rtol, atol : float
        Comparison tolerances (float64); float32 inputs use ``rtol32``.
    """

    name: str
    n_inputs: int
    kernel: Callable
    reference: Callable
    wrapper: Callable
    params: list
    offset_ok: bool = True
    positive: bool = False
    rtol: float = 1e-9
    atol: float = 1e-12
    rtol32: float = 2e-4
    atol32: float = 1e-5
    exact: bool = False


SIGNALS: dict[str, Oracle] = {}


def _cols(fn):
    """Apply a 1-D reference column by column: ``fn(*cols, **params) -> (T,)``."""

    def ref(*arrays, **params):
        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        T, C = arrays[0].shape
        out = np.empty((T, C))
        for c in range(C):
            out[:, c] = fn(*[a[:, c] for a in arrays], **params)
        return out

    return ref


def _exact_sum(v: np.ndarray) -> float:
    """Correctly rounded sum of finite values; inf arithmetic for the rest."""
    if np.all(np.isfinite(v)):
        return math.fsum(v)
    return float(np.sum(v))


def _windows(x, window, include_today=True):
    for t in range(len(x)):
        hi = t + 1 if include_today else t
        yield t, x[max(0, hi - window):hi]


@_cols
def ref_rolling_sum(x, window, minp):
    out = np.full(len(x), np.nan)
    for t, win in _windows(x, window):
        v = win[~np.isnan(win)]
        if len(v) >= minp:
            out[t] = _exact_sum(v)
    return out


def _mean_std(v, ddof):
    """Mean relative to ``v[0]`` (exact deviations first, so a 1e8 level does not round the
    mean) and the ``ddof`` standard deviation; ``(v[0], mean_rel, std)``."""
    n = len(v)
    dev = v - v[0]
    mean_rel = math.fsum(dev) / n
    if n - ddof <= 0:
        return v[0], mean_rel, np.nan
    if np.all(v == v[0]):
        return v[0], mean_rel, 0.0
    return v[0], mean_rel, math.sqrt(math.fsum((dev - mean_rel) ** 2) / (n - ddof))


@_cols
def ref_rolling_zscore(x, window, minp, ddof=1):
    out = np.full(len(x), np.nan)
    for t, win in _windows(x, window):
        v = win[~np.isnan(win)]
        if len(v) < max(minp, 1) or np.isinf(v).any() or np.isnan(x[t]):
            continue
        base, mean_rel, std = _mean_std(v, ddof)
        if std > 0:
            out[t] = ((x[t] - base) - mean_rel) / std
    return out


@_cols
def ref_ewma(x, alpha, minp):
    out = np.full(len(x), np.nan)
    for t in range(len(x)):
        j = np.arange(t + 1)
        ok = ~np.isnan(x[: t + 1])
        if ok.sum() < max(minp, 1):
            continue
        w = (1 - alpha) ** (t - j[ok])
        out[t] = np.sum(w * x[: t + 1][ok]) / np.sum(w)
    return out


@_cols
def ref_streaks(x):
    out = np.full(len(x), np.nan)
    for t in range(len(x)):
        if np.isnan(x[t]):
            continue
        sign = np.sign(x[t])
        n = 0
        u = t
        while u >= 0 and not np.isnan(x[u]) and np.sign(x[u]) == sign and sign != 0:
            n += 1
            u -= 1
        out[t] = sign * n
    return out


def ref_etf_flows(shares, nav):
    s, n = pd.DataFrame(shares, dtype=float), pd.DataFrame(nav, dtype=float)
    return (s.diff() * n.shift(1)).to_numpy()


def ref_flow_pct_aum(flow, aum):
    prev = pd.DataFrame(aum, dtype=float).shift(1)
    return (100 * pd.DataFrame(flow, dtype=float) / prev.where(prev > 0)).to_numpy()


@_cols
def ref_volume_spike(v, window, minp):
    out = np.full(len(v), np.nan)
    for t, win in _windows(v, window, include_today=False):
        w = win[~np.isnan(win)]
        if len(w) >= max(minp, 1):
            m = np.mean(w)
            if m > 0:
                out[t] = v[t] / m
    return out


@_cols
def ref_relative_strength(a, b, window):
    out = np.full(len(a), np.nan)
    t0 = None
    for t in range(len(a)):
        if window > 0:
            if t < window:
                continue
            base = t - window
        else:
            if t0 is None and a[t] > 0 and b[t] > 0:
                t0 = t
            if t0 is None:
                continue
            base = t0
        if a[base] > 0 and b[base] > 0 and a[t] > 0 and b[t] > 0:
            out[t] = (a[t] / a[base]) / (b[t] / b[base])
    return out


@_cols
def ref_tracking_difference(r, q, window):
    out = np.full(len(r), np.nan)
    for t in range(window - 1, len(r)):
        out[t] = np.prod(1 + r[t - window + 1:t + 1]) - np.prod(1 + q[t - window + 1:t + 1])
    return out


@_cols
def ref_tracking_error(r, q, window, minp, ddof, periods_per_year):
    d = r - q
    out = np.full(len(d), np.nan)
    for t, win in _windows(d, window):
        v = win[~np.isnan(win)]
        if len(v) < max(minp, 1) or np.isinf(v).any():
            continue
        out[t] = _mean_std(v, ddof)[2] * math.sqrt(periods_per_year)
    return out


def ref_premium_discount(close, nav):
    close, nav = np.asarray(close, float), np.asarray(nav, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(nav > 0, close / np.where(nav > 0, nav, 1.0) - 1.0, np.nan)


def ref_divergence(p, f, price_band, flow_band):
    p, f = np.asarray(p, float), np.asarray(f, float)
    conds = [np.isnan(p) | np.isnan(f), (np.abs(p) <= price_band) | (np.abs(f) <= flow_band),
             (p > 0) & (f > 0), (p > 0) & (f < 0), (p < 0) & (f > 0), (p < 0) & (f < 0)]
    return np.select(conds, [-1, 0, 1, 2, 3, 4], default=-99).astype(np.int8)


def _fill(kernel, dtype=None):
    """Call a 2-D kernel with a fresh column-major ``out`` (the way the wrappers do)."""

    def call(*arrays, **params):
        T, C = arrays[0].shape
        out = np.empty((C, T), arrays[0].dtype if dtype is None else dtype).T
        return kernel(*arrays, **params, out=out)

    return call


def _register() -> None:
    """Fill :data:`SIGNALS` (imports the kernels lazily: collecting tests stays cheap)."""
    from engine import signals as sg
    from engine.nb import divergence_nb, etf_nb, rolling_nb, streaks_nb, tracking_nb

    win = [{"window": 1, "minp": 1}, {"window": 3, "minp": 3}, {"window": 10, "minp": 4}]
    add = SIGNALS.setdefault
    add("rolling_sum", Oracle(
        "rolling_sum", 1, _fill(rolling_nb.rolling_sum_nb), ref_rolling_sum,
        lambda x, window, minp: sg.rolling_sum(x, window, min_periods=minp), win,
        rtol=1e-13, atol=1e-9))
    add("rolling_zscore", Oracle(
        "rolling_zscore", 1,
        lambda x, window, minp, ddof=1: _fill(rolling_nb.rolling_zscore_nb)(x, window, minp,
                                                                             ddof),
        ref_rolling_zscore,
        lambda x, window, minp, ddof=1: sg.rolling_zscore(x, window, min_periods=minp,
                                                          ddof=ddof),
        [{"window": 3, "minp": 3}, {"window": 10, "minp": 4}, {"window": 7, "minp": 2,
                                                              "ddof": 0}],
        rtol=1e-9, atol=1e-9, rtol32=1e-5, atol32=1e-5))
    add("ewma", Oracle(
        "ewma", 1, _fill(rolling_nb.ewma_nb), ref_ewma,
        lambda x, alpha, minp: sg.ewma(x, 2.0 / alpha - 1.0, min_periods=minp),
        [{"alpha": 0.5, "minp": 0}, {"alpha": 2 / 11, "minp": 3}, {"alpha": 0.9, "minp": 1}],
        rtol=1e-11, atol=1e-9))
    add("streaks", Oracle(
        "streaks", 1, _fill(streaks_nb.streaks_nb, np.float64), ref_streaks, lambda x: sg.streaks(x), [{}],
        exact=True))
    add("etf_flows_from_shares", Oracle(
        "etf_flows_from_shares", 2, _fill(etf_nb.etf_flows_nb), ref_etf_flows,
        sg.etf_flows_from_shares, [{}], positive=True, rtol=1e-12, atol=1e-6))
    add("flow_pct_aum", Oracle(
        "flow_pct_aum", 2, _fill(etf_nb.flow_pct_aum_nb), ref_flow_pct_aum, sg.flow_pct_aum, [{}],
        positive=True, rtol=1e-12))
    add("volume_spike", Oracle(
        "volume_spike", 1, _fill(etf_nb.volume_spike_nb), ref_volume_spike,
        lambda v, window, minp: sg.volume_spike(v, window, min_periods=minp), win,
        positive=True, rtol=1e-12))
    add("relative_strength", Oracle(
        "relative_strength", 2, _fill(etf_nb.relative_strength_nb), ref_relative_strength,
        lambda a, b, window: sg.relative_strength(a, b, window or None),
        [{"window": 0}, {"window": 1}, {"window": 5}], positive=True, offset_ok=False,
        rtol=1e-12))
    add("tracking_difference", Oracle(
        "tracking_difference", 2, _fill(tracking_nb.tracking_difference_nb), ref_tracking_difference,
        lambda a, b, window: sg.tracking_difference(a, b, window), [{"window": 1}, {"window": 4}, {"window": 21}],
        offset_ok=False, rtol=1e-11, atol=1e-13))
    add("tracking_error", Oracle(
        "tracking_error", 2,
        lambda a, b, window, minp: _fill(tracking_nb.tracking_error_nb)(a, b, window, minp, 1,
                                                                        float(PERIODS_PER_YEAR)),
        lambda a, b, window, minp: ref_tracking_error(a, b, window=window, minp=minp, ddof=1,
                                                      periods_per_year=float(PERIODS_PER_YEAR)),
        lambda a, b, window, minp: sg.tracking_error(a, b, window, min_periods=minp),
        [{"window": 3, "minp": 3}, {"window": 10, "minp": 4}], offset_ok=False,
        rtol=1e-8, atol=1e-10))
    add("premium_discount", Oracle(
        "premium_discount", 2, _fill(etf_nb.premium_discount_nb), ref_premium_discount,
        sg.premium_discount, [{}], positive=True, offset_ok=False, rtol=1e-12))
    add("divergence", Oracle(
        "divergence", 2, _fill(divergence_nb.divergence_nb, np.int8), ref_divergence,
        lambda p, f, price_band, flow_band: sg.divergence(p, f, price_band=price_band,
                                                           flow_band=flow_band),
        [{"price_band": 0.0, "flow_band": 0.0}, {"price_band": 0.5, "flow_band": 0.3}],
        offset_ok=False, exact=True))


def signal_oracles() -> dict[str, Oracle]:
    """The registry, filled on first use."""
    if not SIGNALS:
        _register()
    return SIGNALS


#: Names of the derived signals (stable, for pytest parametrization without importing numba).
SIGNAL_NAMES = ("rolling_sum", "rolling_zscore", "ewma", "streaks", "etf_flows_from_shares",
                "flow_pct_aum", "volume_spike", "relative_strength", "tracking_difference",
                "tracking_error", "premium_discount", "divergence")


def make_signal_inputs(oracle: Oracle, n_rows: int, n_cols: int, rng: np.random.Generator,
                       dtype="float64") -> list[np.ndarray]:
    """Random (T, C) inputs suited to a signal: positive levels (prices, volumes, NAV,
    shares) or signed fat-tailed values (flows, returns ~1%). Column-major, the layout of a
    single-dtype DataFrame's values (what the wrappers hand to the kernels)."""
    arrays = []
    for _ in range(oracle.n_inputs):
        if oracle.positive:
            a = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_rows, n_cols)), axis=0))
        elif oracle.name.startswith("tracking"):
            a = rng.standard_t(4, (n_rows, n_cols)) * 0.01
        else:
            a = rng.standard_t(3, (n_rows, n_cols))
            a[rng.random(a.shape) < 0.05] = 0.0  # exact zeros: streak and band edges
        arrays.append(np.asfortranarray(a.astype(dtype)))
    return arrays


EDGE_CASES = ("basic", "nan", "inf", "all_nan_column", "float32", "non_contiguous",
              "c_order", "one_row", "offset")


def edge_case_inputs(oracle: Oracle, case: str, seed: int = 0) -> list[np.ndarray] | None:
    """Inputs for one edge case (``None`` when the case does not apply to the signal)."""
    rng = np.random.default_rng(seed)
    T, C = 60, 5
    if case == "one_row":
        return make_signal_inputs(oracle, 1, C, rng)
    if case == "float32":
        return make_signal_inputs(oracle, T, C, rng, dtype="float32")
    if case == "non_contiguous":
        return [a[:, ::2] for a in make_signal_inputs(oracle, T, 2 * C, rng)]
    if case == "c_order":
        return [np.ascontiguousarray(a) for a in make_signal_inputs(oracle, T, C, rng)]
    arrays = make_signal_inputs(oracle, T, C, rng)
    if case == "nan":
        for a in arrays:
            a[rng.random(a.shape) < 0.15] = np.nan
    elif case == "inf":
        for a in arrays:
            a[rng.random(a.shape) < 0.03] = np.inf
            a[rng.random(a.shape) < 0.03] = -np.inf
    elif case == "all_nan_column":
        for a in arrays:
            a[:, 1] = np.nan
    elif case == "offset":
        if not oracle.offset_ok:
            return None
        arrays = [a + 1e8 for a in arrays]
    return arrays
