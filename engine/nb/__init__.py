"""numba kernels of flowbt: NumPy arrays and scalars in, arrays out; no pandas below this line.

Layout (STYLE.md "Layers")
--------------------------
* Time is axis 0. ``foo_1d_nb`` is the 1-D kernel, ``foo_nb`` the 2-D loop over columns.
* Each module is named after its concept: :mod:`engine.nb.synthesis_nb` (constituent flow
  synthesis) and :mod:`engine.nb.gather_nb` (its default kernel, explicit vector code), :mod:`engine.nb.rolling_nb` (rolling sum, z-score, EWMA),
  :mod:`engine.nb.streaks_nb`, :mod:`engine.nb.etf_nb` (ETF-level flows, volume spikes,
  premium/discount, relative strength), :mod:`engine.nb.tracking_nb` and
  :mod:`engine.nb.divergence_nb`; :mod:`engine.nb.labels_nb` factorizes short string
  labels (ETF and stock codes) from their Arrow buffers; :mod:`engine.nb.panel_nb` writes
  a store's stock-grouped column blocks into the (T, N, K) flow panel.
* Every kernel states its oracle (the slow obvious reference in ``benchmarks/oracles.py``).
* Panels of derived signals are column-major: a 2-D kernel runs the 1-D kernel on each
  column in parallel (``prange``) and returns a (T, C) array in Fortran order, so each
  column is contiguous. This is the layout pandas keeps a single-dtype DataFrame in: the
  wrappers in :mod:`engine.signals` pass ``df.to_numpy()`` and get their result back without
  a transpose or a copy. C-ordered input works too (strided, slower).
* 2-D signal kernels fill an ``out`` array that the caller allocates with NumPy: NumPy backs
  large arrays with transparent huge pages, numba's allocator does not, and first-touch page
  faults on a fresh 144 MB output cost more than the kernel itself on the benchmark VM
  (31 ms vs 70 ms to allocate and fill 7,500 x 2,400 float64).

Compilation cache (decided once, here)
--------------------------------------
Every kernel is compiled with ``cache=True``: the first call in a fresh environment compiles
(seconds), and the machine code is written next to the module in ``__pycache__``; later
processes load it in milliseconds. ``benchmarks/bench_synthesis.py`` reports both numbers
(cold compile and a second process loading the cache). Parallel kernels use
``parallel=True`` with ``prange`` over dates or column blocks; the thread count follows
numba's defaults (``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``).

Importing this package does not import the kernel modules (no compile at import time).
"""
