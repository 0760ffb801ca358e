"""This machine's roofline: memory read bandwidth and dense matmul FLOP rate, measured now.

* Bandwidth: a numba ``prange`` sum over a float64 array much larger than the last-level
  cache (default 2 GB; this machine reports a 480 MB L3), on all numba threads. The array is
  filled before timing (page faults are not bandwidth).
* Matmul rate: ``np.dot`` of two n x n float64 matrices (2 n^3 flops), BLAS threads as the
  environment sets them (threadpoolctl info reported when installed).

* Gather rate (a ceiling, not part of the roofline): flowbt's own synthesis inner loop
  (:func:`engine.nb.gather_nb._axpy_rows`: broadcast a coefficient, one 8-lane multiply-add
  per 8 loaded values) over rows that stay in L1, on all numba threads. It is the fastest a
  kernel can go that needs one loaded value per multiply-add, which is what sparse holdings
  with no shared structure allow: a dense matmul reuses each loaded value from registers
  many times, a gather of random constituents cannot.

Roofline time of a kernel = max(bytes read / bandwidth, useful flops / matmul rate).

Run alone: ``python -m benchmarks.roofline``.
"""

from __future__ import annotations

import numpy as np

from benchmarks._results import median_time

__all__ = ["Roofline", "measure", "roofline_time"]


class Roofline(dict):
    """``{"bandwidth_gbs", "matmul_gflops", "threads", "blas", ...}``."""


def _sum_kernel():
    from numba import njit, prange

    # fastmath lets the reduction vectorize (several partial sums): without it the loop is
    # bound by the add latency, not by memory
    @njit(parallel=True, cache=False, fastmath=True)
    def psum(a):
        n = a.shape[0]
        n_chunks = 64
        parts = np.zeros(n_chunks)
        for c in prange(n_chunks):
            lo = c * n // n_chunks
            hi = (c + 1) * n // n_chunks
            s = 0.0
            for i in range(lo, hi):
                s += a[i]
            parts[c] = s
        return parts.sum()

    return psum


def _gather_kernel():
    from numba import njit, prange

    from engine.nb.gather_nb import _axpy_rows

    @njit(parallel=True, cache=False)
    def gather(Y, rows, coef, n_rep, n_chunks, wt):
        out = np.zeros(n_chunks)
        for c in prange(n_chunks):
            acc = np.zeros(Y.shape[1])
            for _ in range(n_rep):
                _axpy_rows(acc, Y, rows, coef, 0, rows.shape[0], wt)
            out[c] = acc[0]
        return out

    return gather


def gather_rate(repeats: int = 5, lanes: int = 16, n_rows: int = 64) -> float:
    """GFLOP/s of the synthesis gather loop on L1-resident rows, all numba threads."""
    import numba

    from engine.nb.gather_nb import aligned_rows_nb

    gather = _gather_kernel()
    rng = np.random.default_rng(0)
    Y = aligned_rows_nb(n_rows, lanes)
    Y[:] = rng.standard_normal((n_rows, lanes))
    rows = rng.integers(0, n_rows, 4096)
    coef = rng.standard_normal(4096) * 1e-3
    threads = numba.get_num_threads()
    wt = (0,) * lanes
    n_rep = 200  # ~0.5 s per repeat on 2 cores
    gather(Y, rows, coef, 1, threads, wt)  # compile
    t = median_time(gather, repeats, Y, rows, coef, n_rep, threads, wt).median
    return 2.0 * lanes * len(rows) * n_rep * threads / t / 1e9


def measure(bandwidth_bytes: float = 2e9, matmul_n: int = 4000, repeats: int = 5) -> Roofline:
    """Measure read bandwidth (GB/s, 1e9 bytes), dense matmul rate and gather rate (GFLOP/s)."""
    import numba

    psum = _sum_kernel()
    a = np.ones(int(bandwidth_bytes) // 8)
    psum(a[:1000])  # compile
    psum(a)  # warm
    t_bw = median_time(psum, repeats, a).median
    t_np = median_time(np.sum, repeats // 2, a).median
    nbytes = a.nbytes
    del a
    rng = np.random.default_rng(0)
    m1 = rng.standard_normal((matmul_n, matmul_n))
    m2 = rng.standard_normal((matmul_n, matmul_n))
    np.dot(m1, m2)
    t_mm = median_time(np.dot, max(2, repeats // 2), m1, m2).median
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} {i.get('num_threads')} threads "
            f"({i.get('architecture')})" for i in threadpool_info()
        )
    except ImportError:  # pragma: no cover
        blas = "threadpoolctl not installed"
    return Roofline(
        gather_gflops=gather_rate(repeats),
        bandwidth_gbs=nbytes / t_bw / 1e9,
        numpy_sum_gbs=nbytes / t_np / 1e9,
        matmul_gflops=2 * matmul_n**3 / t_mm / 1e9,
        bandwidth_bytes=nbytes,
        matmul_n=matmul_n,
        threads=numba.get_num_threads(),
        blas=blas,
    )


def roofline_time(roof: Roofline, bytes_read: float, flops: float) -> float:
    """``max(bytes_read / bandwidth, flops / matmul rate)`` in seconds."""
    return max(bytes_read / (roof["bandwidth_gbs"] * 1e9), flops / (roof["matmul_gflops"] * 1e9))


if __name__ == "__main__":  # pragma: no cover
    r = measure()
    print(f"read bandwidth {r['bandwidth_gbs']:.1f} GB/s (numba, {r['threads']} threads; "
          f"np.sum {r['numpy_sum_gbs']:.1f} GB/s); dense matmul {r['matmul_gflops']:.1f} "
          f"GFLOP/s; BLAS: {r['blas']}; synthesis gather on L1 rows {r['gather_gflops']:.1f} "
          "GFLOP/s")
