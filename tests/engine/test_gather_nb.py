"""The vector-code gather kernel (engine.nb.gather_nb): its two IR building blocks against
NumPy, and the whole kernel against the dense oracle for every investor count up to 17
(each K is its own specialization: 8-, 4-, 2- and 1-lane pieces), method, dtype and
NaN pattern."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from benchmarks.oracles import (
    make_synthesis_arrays,
    synthesis_coverage_oracle,
    synthesize_dense_oracle,
)
from engine.nb.gather_nb import _axpy_rows, _scale_row, aligned_rows_nb, lane_count
from engine.synthesis import Method, synthesize_arrays


@njit
def _axpy(acc, Y, rows, coef, lo, hi, wt):
    _axpy_rows(acc, Y, rows, coef, lo, hi, wt)


@njit
def _scale(Y, r, x, t, i, s, kt, wt):
    return _scale_row(Y, r, x, t, i, s, kt, wt)


@pytest.mark.parametrize("W", [1, 3, 4, 8, 13, 16, 24])
@pytest.mark.parametrize("lo,hi", [(0, 0), (0, 1), (2, 4), (1, 6), (0, 37)])
def test_axpy_rows_matches_numpy(W, lo, hi):
    rng = np.random.default_rng(W * 100 + hi)
    Y = rng.standard_normal((50, W))
    rows = rng.integers(0, 50, 40)
    coef = rng.standard_normal(40)
    acc = rng.standard_normal(W)
    want = acc + coef[lo:hi] @ Y[rows[lo:hi]]
    _axpy(acc, Y, rows, coef, lo, hi, (0,) * W)
    np.testing.assert_allclose(acc, want, rtol=1e-13, atol=1e-13)


def test_axpy_rows_leaves_lanes_past_width_alone():
    Y = np.ones((3, 16))
    acc = np.full(16, 7.0)
    _axpy(acc, Y, np.array([0, 1, 2]), np.ones(3), 0, 3, (0,) * 12)
    np.testing.assert_array_equal(acc, [10.0] * 12 + [7.0] * 4)


@pytest.mark.parametrize("K", [1, 3, 7, 8, 12, 15, 16])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scale_row_scales_zeroes_nan_and_flags_presence(K, dtype):
    W = lane_count(K)
    rng = np.random.default_rng(K)
    x = rng.standard_normal((2, 4, K)).astype(dtype)
    x[1, 1, :] = np.nan  # absent stock
    x[1, 2, ::2] = np.nan  # some investors missing
    Y = np.full((5, W), 99.0)
    for i in range(4):
        r = 3 - i  # the scratch row need not be the stock's position
        s = 0.5 if i != 3 else np.nan  # row 3: market cap unusable
        got = _scale(Y, r, x, 1, i, s, (0,) * K, (0,) * W)
        want = np.nan_to_num(x[1, i].astype(np.float64) * s, nan=0.0)
        np.testing.assert_array_equal(Y[r, :K], want)
        present = i in (0, 2) if K > 1 or i == 0 else i == 0
        assert got is present
        assert Y[r, K] == float(present)
        np.testing.assert_array_equal(Y[r, K + 1:], 0.0)
    np.testing.assert_array_equal(Y[4], 99.0)  # untouched


def test_aligned_rows_start_on_cache_lines():
    for n in (1, 5, 300):
        Y = aligned_rows_nb(n, 16)
        assert Y.shape == (n, 16) and Y.flags.c_contiguous
        assert Y.ctypes.data % 64 == 0


def _nan_panel(K, dtype, seed):
    a = make_synthesis_arrays(40, 60, K, 7, seed=seed, dtype=dtype, min_holdings=3,
                              max_holdings=25, rebalance_every_days=9, stagger=True)
    x = a.net_buy.copy()
    rng = np.random.default_rng(seed)
    x[rng.random(x.shape) < 0.05] = np.nan  # single investors missing on present days
    cap = a.market_cap.copy()
    cap[rng.random(cap.shape) < 0.02] = 0.0  # unusable market caps (bp skips them)
    return a, x, cap


# Each investor count compiles its own specialization (a few seconds each): the default run keeps
# the lane-layout boundaries (1 lane chunk, 7|8 and 15|16 around a padding step, the 12 of the
# KRX data, 17 past two rows); `make test-slow` runs every count.
_K_DEFAULT = {1, 7, 8, 12, 15, 16, 17}


@pytest.mark.parametrize("K", [k if k in _K_DEFAULT else pytest.param(k, marks=pytest.mark.slow)
                               for k in range(1, 18)])
def test_kernel_matches_dense_oracle_for_every_investor_count(K):
    a, x, cap = _nan_panel(K, "float64", seed=K)
    out, cov = synthesize_arrays(x, cap, a.csr, 7, Method.BP)
    np.testing.assert_allclose(out, synthesize_dense_oracle(x, cap, a.csr, 7, "bp"),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov, synthesis_coverage_oracle(x, cap, a.csr, 7, "bp"),
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize("method", list(Method))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_matches_oracle_and_by_stock_for_every_method(method, dtype):
    a, x, cap = _nan_panel(12, dtype, seed=5)
    out, cov = synthesize_arrays(x, cap, a.csr, 7, method)
    alt, alt_cov = synthesize_arrays(x, cap, a.csr, 7, method, layout="by_stock")
    name = "shares" if method is Method.SHARES else method.value
    want = synthesize_dense_oracle(x, cap, a.csr, 7, name)
    assert out.dtype == np.dtype(dtype)
    rtol = 1e-12 if dtype == "float64" else 1e-6
    scale = np.nanmax(np.abs(want))
    np.testing.assert_allclose(out, want.astype(dtype), rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(out, alt, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(cov, synthesis_coverage_oracle(x, cap, a.csr, 7, name),
                               rtol=0, atol=1e-14)
    np.testing.assert_allclose(cov, alt_cov, rtol=0, atol=1e-14)


def test_non_contiguous_input_gives_the_same_numbers():
    a, x, cap = _nan_panel(12, "float64", seed=2)
    want, want_cov = synthesize_arrays(x, cap, a.csr, 7, Method.BP)
    wide = np.full(x.shape[:2] + (24,), np.inf)
    wide[:, :, ::2] = x  # a strided view with the same values
    got, got_cov = synthesize_arrays(wide[:, :, ::2], cap, a.csr, 7, Method.BP)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_cov, want_cov)
    fortran = np.asfortranarray(x)
    np.testing.assert_array_equal(synthesize_arrays(fortran, cap, a.csr, 7, Method.BP)[0],
                                  want)


def test_large_offset_does_not_swamp_the_flows():
    """A 1e8 common offset on every flow: the result moves by exactly the offset's share."""
    a, x, cap = _nan_panel(12, "float64", seed=4)
    x = np.nan_to_num(x, nan=0.0)
    cap = np.where(cap > 0, cap, 1e12)
    base = synthesize_arrays(x, cap, a.csr, 7, Method.WEIGHTED_AMOUNT)[0]
    shifted = synthesize_arrays(x + 1e8, cap, a.csr, 7, Method.WEIGHTED_AMOUNT)[0]
    cov = synthesize_arrays(x, cap, a.csr, 7, Method.WEIGHTED_AMOUNT)[1]
    np.testing.assert_allclose(shifted - base, np.broadcast_to(1e8 * cov[:, :, None], base.shape),
                               rtol=1e-9)
