"""By-ETF gather kernel for constituent synthesis, with its inner loops written as vector code.

The sum (README "Concepts", notation of :mod:`engine.nb.synthesis_nb`), for day ``t``:

.. math::

    S_{t,e,k} = \\sum_{i \\in e} c_{e,i} \\, Y_{t,i,k}, \\qquad
    Y_{t,i,k} = s_{t,i} \\, x_{t,i,k} \\ (\\text{NaN} \\to 0)

Per day, :func:`synthesize_gather_nb` writes ``Y`` once into a per-worker (N, W) float64
scratch (one row per stock, ``W`` = K + 1 rounded up to 8 lanes, 64-byte aligned; lane K
holds 1.0 when any of the stock's K terms is present, the coverage lane), then for each ETF
adds its constituents' rows, weighted, into W accumulators held in registers. ``x`` is read
once, in order; the rows are gathered from L2.

Why the inner loops are LLVM IR (:func:`_axpy_rows`, :func:`_scale_row`) and not Python
loops: with K = 12 investors the natural loop ``for k in range(K)`` is too short for LLVM's
loop vectorizer (it vectorizes 4 x 4 lanes at a time and leaves 12 to the scalar remainder),
and numba disables the SLP vectorizer by default (numba#8705), so a fixed-length loop is
fully unrolled into scalar code. Written with explicit ``<8 x double>`` / ``<4 x double>``
values, each constituent row costs one broadcast and two vector multiply-adds (K = 12), the
accumulators stay in registers across the constituent loop, and two accumulator sets
alternate to hide the multiply-add latency. The lane count is a compile-time constant taken
from the length of a tuple argument (``kt``, ``wt``), so each K gets its own specialization
in the cache.

What bounds it (``benchmarks/bench_synthesis.py`` measures and prints this split every run;
figures from 2026-11-23 at 7500 x 3000 x 12 x 200): the kernel takes ~0.36 s, of which
~0.11 s is the pass over ``x`` (2.2 GB read, the output written) and ~0.25 s the gathers.
Every useful multiply-add consumes one loaded value (random holdings leave none to reuse
from a register across ETFs), so even on rows that sit in L1 :func:`_axpy_rows` runs at
~70% of the dense-matmul rate (the benchmark's "gather ceiling"); the rows come from L2, two
cache lines each, at about 4 cycles per row instead of 1.6. It scales ~2x from one thread
to two.

Alternatives tried in throwaway prototypes on 2026-11-23, not kept in the repository
(seconds, each beside the kernel in the same run; the session-1 date-blocked layout with
Python loops measured 0.55 in its benchmark table): this gather on blocks of 2-4 dates
(rows of 256-512 B) 0.38-0.42 vs 0.38 for one date; stock tiles of 128-1024 rows so
gathered rows stay in L1 0.36-0.55 (the per-(ETF, tile) call costs a mispredicted loop
exit; empty tiles alone take 0.15); a by-stock scatter of each ``x`` row, scaled in
registers, into an (E, K) accumulator in L1 (no scratch at all) 0.37, with ETF targets that
never repeat nearby 0.35 (so not store-forwarding stalls); software prefetch of rows 2-16
ahead or of the next day's ``x`` 0.40-0.52 (worse: prefetches take the fill buffers the
gathers need); 2 MB pages for the scratch no change; 4-lane vectors 0.37 vs 8-lane 0.36;
13 lanes (no padding) 0.46 vs 16. int32 stock positions were kept (the benchmark times the
int64 variant beside them).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic

__all__ = ["synthesize_gather_nb", "lane_count", "aligned_rows_nb"]

#: Widest vector the IR asks for (doubles). 8 is one AVX-512 register; on a CPU without
#: AVX-512 LLVM splits each into two 4-lane halves, so the code stays correct everywhere.
VECTOR_LANES = 8
#: Independent accumulator sets in :func:`_axpy_rows` (rows alternate between them).
ACC_SETS = 2


def lane_count(n_investors: int) -> int:
    """Lanes per scratch row for K investors: K values, the coverage lane, padding to 8.

    >>> lane_count(12), lane_count(7), lane_count(8)
    (16, 8, 16)
    """
    return (int(n_investors) + 1 + 7) // 8 * 8


def _chunks(n: int) -> list[tuple[int, int]]:
    """(offset, width) pieces covering ``n`` lanes, widest first (8, 4, 2, 1 doubles)."""
    out, off = [], 0
    for w in (VECTOR_LANES, 4, 2, 1):
        while n - off >= w:
            out.append((off, w))
            off += w
    return out


class _Vec:
    """Vector types, splats and multiply-add intrinsics for one codegen call."""

    def __init__(self, builder):
        self.b = builder
        self.f64 = ir.DoubleType()
        self.i32 = ir.IntType(32)
        self.i64 = ir.IntType(64)
        self.i8p = ir.IntType(8).as_pointer()
        self._fma = {}
        try:
            # LLVM's tuning for AVX-512 servers prefers 256-bit vectors and splits wider IR
            # values unless the function asks for 512-bit ones; llvmlite's attribute set
            # only lists flag attributes, so the string attribute is added to the set as is.
            set.add(builder.function.attributes, '"min-legal-vector-width"="512"')
        except (AttributeError, TypeError):  # pragma: no cover - only a speed hint
            pass

    def ty(self, w, elem=None):
        elem = elem or self.f64
        return elem if w == 1 else ir.VectorType(elem, w)

    def zero(self, w):
        return ir.Constant(self.ty(w), 0.0 if w == 1 else [0.0] * w)

    def splat(self, c, w):
        if w == 1:
            return c
        v = self.b.insert_element(ir.Constant(self.ty(w), ir.Undefined), c,
                                  ir.Constant(self.i32, 0))
        mask = ir.Constant(ir.VectorType(self.i32, w), [0] * w)
        return self.b.shuffle_vector(v, ir.Constant(self.ty(w), ir.Undefined), mask)

    def fma(self, a, x, y):
        """a * x + y, fused (one rounding)."""
        w = 1 if isinstance(a.type, ir.DoubleType) else a.type.count
        if w not in self._fma:
            name = "llvm.fma.f64" if w == 1 else f"llvm.fma.v{w}f64"
            fnty = ir.FunctionType(self.ty(w), [self.ty(w)] * 3)
            self._fma[w] = cgutils.get_or_insert_function(self.b.module, fnty, name)
        return self.b.call(self._fma[w], [a, x, y])

    def load(self, base, byte_off, ty, align):
        p = self.b.gep(base, [ir.Constant(self.i64, byte_off)])
        return self.b.load(self.b.bitcast(p, ty.as_pointer()), align=align, typ=ty)

    def store(self, value, base, byte_off, align):
        p = self.b.gep(base, [ir.Constant(self.i64, byte_off)])
        self.b.store(value, self.b.bitcast(p, value.type.as_pointer()), align=align)


def _check_row_array(arr, name, ndim):
    if not (isinstance(arr, types.Array) and arr.ndim == ndim and arr.layout == "C"):
        raise TypingError(f"{name} must be a C-contiguous {ndim}-D array, got {arr}")


@intrinsic
def _axpy_rows(typingctx, acc, Y, rows, coef, lo, hi, wt):
    """``acc[:W] += sum(coef[h] * Y[rows[h], :W] for h in range(lo, hi))`` with W = len(wt).

    ``acc`` (>= W,) and ``Y`` (R, >= W) are C-contiguous float64; ``rows`` (int32 or int64)
    and ``coef`` (float64) are 1-D. Accumulates in registers (two alternating sets), adds to ``acc`` once.
    """
    _check_row_array(acc, "acc", 1)
    _check_row_array(Y, "Y", 2)
    if acc.dtype != types.float64 or Y.dtype != types.float64:
        raise TypingError("acc and Y must be float64")
    if not isinstance(wt, types.UniTuple):
        raise TypingError("wt must be a tuple whose length is the lane count")
    W = wt.count
    sig = types.void(acc, Y, rows, coef, types.int64, types.int64, wt)

    def codegen(context, builder, signature, args):
        acc_v, y_v, rows_v, coef_v, lo_v, hi_v, _ = args
        V = _Vec(builder)
        A = cgutils.create_struct_proxy(signature.args[0])(context, builder, value=acc_v)
        Ya = cgutils.create_struct_proxy(signature.args[1])(context, builder, value=y_v)
        R = cgutils.create_struct_proxy(signature.args[2])(context, builder, value=rows_v)
        C = cgutils.create_struct_proxy(signature.args[3])(context, builder, value=coef_v)
        chunks = _chunks(W)
        row_bytes = builder.extract_value(Ya.strides, 0)
        ybase = builder.bitcast(Ya.data, V.i8p)
        # allocas in the entry block: LLVM promotes them to registers
        accs = [[cgutils.alloca_once_value(builder, V.zero(w)) for _, w in chunks]
                for _ in range(ACC_SETS)]

        def add_row(h, s):
            r = builder.load(cgutils.gep(builder, R.data, h))
            r = builder.sext(r, V.i64) if r.type.width < 64 else r
            c = builder.load(cgutils.gep(builder, C.data, h))
            row = builder.gep(ybase, [builder.mul(r, row_bytes)])
            for q, (o, w) in enumerate(chunks):
                y = V.load(row, 8 * o, V.ty(w), 8)
                builder.store(V.fma(V.splat(c, w), y, builder.load(accs[s][q])), accs[s][q])

        n = builder.sub(hi_v, lo_v)
        steps = builder.sdiv(n, ir.Constant(V.i64, ACC_SETS))
        with cgutils.for_range(builder, steps) as loop:
            h0 = builder.add(lo_v, builder.mul(loop.index, ir.Constant(V.i64, ACC_SETS)))
            for s in range(ACC_SETS):
                add_row(builder.add(h0, ir.Constant(V.i64, s)), s)
        done = builder.add(lo_v, builder.mul(steps, ir.Constant(V.i64, ACC_SETS)))
        with cgutils.for_range(builder, builder.sub(hi_v, done)) as loop:
            add_row(builder.add(done, loop.index), 0)
        abase = builder.bitcast(A.data, V.i8p)
        for q, (o, w) in enumerate(chunks):
            tot = builder.load(accs[0][q])
            for s in range(1, ACC_SETS):
                tot = builder.fadd(tot, builder.load(accs[s][q]))
            V.store(builder.fadd(V.load(abase, 8 * o, V.ty(w), 8), tot), abase, 8 * o, 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _scale_row(typingctx, Y, r, x, t, i, s, kt, wt):
    """Write ``Y[r, :K] = s * x[t, i, :K]`` (NaN -> 0), ``Y[r, K]`` = 1.0 if any of those K
    products is a number else 0.0, ``Y[r, K+1:W]`` = 0; returns that flag (bool).

    ``x`` (T, N, K) float32 or float64 and ``Y`` (N, >= W) float64, both C-contiguous;
    K = len(kt), W = len(wt) > K. float32 input is widened before the multiply.
    """
    _check_row_array(Y, "Y", 2)
    _check_row_array(x, "x", 3)
    if x.dtype not in (types.float32, types.float64) or Y.dtype != types.float64:
        raise TypingError("x must be float32 or float64 and Y float64")
    K, W = kt.count, wt.count
    if W <= K:
        raise TypingError("the row needs a lane after the K values (W > K)")
    sig = types.boolean(Y, types.int64, x, types.int64, types.int64, types.float64, kt, wt)
    x_bytes = x.dtype.bitwidth // 8

    def codegen(context, builder, signature, args):
        y_v, r_v, x_v, t_v, i_v, s_v, _, _ = args
        V = _Vec(builder)
        Ya = cgutils.create_struct_proxy(signature.args[0])(context, builder, value=y_v)
        Xa = cgutils.create_struct_proxy(signature.args[2])(context, builder, value=x_v)
        xelem = context.get_value_type(signature.args[2].dtype)
        xs = cgutils.unpack_tuple(builder, Xa.strides, 3)
        xrow = builder.gep(builder.bitcast(Xa.data, V.i8p),
                           [builder.add(builder.mul(t_v, xs[0]), builder.mul(i_v, xs[1]))])
        ys = builder.extract_value(Ya.strides, 0)
        yrow = builder.gep(builder.bitcast(Ya.data, V.i8p), [builder.mul(r_v, ys)])
        present = ir.Constant(ir.IntType(1), 0)
        for o, w in _chunks(K):
            v = V.load(xrow, x_bytes * o, V.ty(w, xelem), x_bytes)
            if xelem != V.f64:
                v = builder.fpext(v, V.ty(w))
            v = builder.fmul(v, V.splat(s_v, w))
            nan = builder.fcmp_unordered("uno", v, v)
            V.store(builder.select(nan, V.zero(w), v), yrow, 8 * o, 8)
            ok = builder.not_(nan)
            if w > 1:
                ok = builder.icmp_unsigned("!=", builder.bitcast(ok, ir.IntType(w)),
                                           ir.Constant(ir.IntType(w), 0))
            present = builder.or_(present, ok)
        flag = builder.select(present, ir.Constant(V.f64, 1.0), ir.Constant(V.f64, 0.0))
        V.store(flag, yrow, 8 * K, 8)
        for lane in range(K + 1, W):
            V.store(ir.Constant(V.f64, 0.0), yrow, 8 * lane, 8)
        return present

    return sig, codegen


@njit(cache=True)
def aligned_rows_nb(n_rows, n_lanes):
    """A (n_rows, n_lanes) float64 scratch whose rows start on 64-byte boundaries (when
    ``n_lanes`` is a multiple of 8), so an 8-lane load never straddles two cache lines."""
    buf = np.zeros(n_rows * n_lanes + 8, np.float64)
    off = (8 - (buf.ctypes.data // 8) % 8) % 8
    return buf[off:off + n_rows * n_lanes].reshape((n_rows, n_lanes))


@njit(parallel=True, cache=True, error_model="numpy")
def synthesize_gather_nb(
    x, market_cap, numerator, per_market_cap, kt, wt, active_snap, snap_ptr, snap_stock,
    snap_coef, snap_weight, coverage_lane, with_coverage, n_chunks, out, coverage,
):
    """Synthesize ETF flows day by day, ETF by ETF (fills ``out`` and ``coverage``).

    Parameters
    ----------
    x : ndarray, shape (T, N, K), float32 or float64, C-contiguous
        Net buying; NaN = absent.
    market_cap : ndarray, shape (T, N)
        Read only when ``per_market_cap``.
    numerator : float
        ``s = numerator / market_cap`` when ``per_market_cap`` (1e4 for bp), else ``s = 1``.
    per_market_cap : bool
    kt, wt : tuple
        Any tuples of length K and :func:`lane_count` (K): their lengths specialize the
        vector code.
    active_snap : ndarray, shape (T, E), int64
        Snapshot usable by ETF ``e`` on day ``t``; -1 when none.
    snap_ptr : ndarray, shape (S + 1,), int64
        Constituents of snapshot ``s`` are ``snap_*[snap_ptr[s]:snap_ptr[s+1]]``.
    snap_stock : ndarray, shape (nnz,), int32 or int64
        Stock positions, all >= 0, ascending within a snapshot (the gathers walk forward).
    snap_coef, snap_weight : ndarray, shape (nnz,), float64
        Coefficient ``c`` and weight.
    coverage_lane : bool
        ``snap_coef`` equals ``snap_weight``, so coverage comes out of the coverage lane of
        the same gather; otherwise (``amount``, ``shares``) it is summed in a second pass.
    with_coverage : bool
        Fill ``coverage`` (else it is left untouched).
    n_chunks : int
        Parallel work items (contiguous runs of days).
    out : ndarray, shape (T, E, K), float32 or float64
    coverage : ndarray, shape (T, E), float64
        Weight of the constituents present that day; NaN without a usable snapshot.
    """
    T, N, K = x.shape
    E = out.shape[1]
    W = len(wt)
    n_chunks = max(1, min(T, n_chunks))
    for ch in prange(n_chunks):
        Y = aligned_rows_nb(N, W)
        acc = aligned_rows_nb(1, W)[0]
        for t in range(ch * T // n_chunks, (ch + 1) * T // n_chunks):
            for i in range(N):
                s = 1.0
                if per_market_cap:
                    m = market_cap[t, i]
                    s = numerator / m if m > 0.0 else np.nan  # absent: every term NaN -> 0
                _scale_row(Y, i, x, t, i, s, kt, wt)
            for e in range(E):
                sn = active_snap[t, e]
                if sn < 0:
                    for k in range(K):
                        out[t, e, k] = np.nan
                    if with_coverage:
                        coverage[t, e] = np.nan
                    continue
                acc[:] = 0.0
                _axpy_rows(acc, Y, snap_stock, snap_coef, snap_ptr[sn], snap_ptr[sn + 1], wt)
                for k in range(K):
                    out[t, e, k] = acc[k]
                if with_coverage:
                    if coverage_lane:
                        coverage[t, e] = acc[K]
                    else:
                        cov = 0.0
                        for h in range(snap_ptr[sn], snap_ptr[sn + 1]):
                            cov += snap_weight[h] * Y[snap_stock[h], K]
                        coverage[t, e] = cov
