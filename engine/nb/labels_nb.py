"""Factorizing a column of short strings (ETF and stock codes) from its Arrow buffers.

A holdings table of 6.6 M rows names about 200 ETFs and 3,000 stocks, each a code of at
most 8 bytes (``"152100"``, ``"005930"``). Hashing each row as a Python or Arrow string
costs more than the rest of :class:`engine.market.Holdings` together; here each value is
packed into one ``uint64`` key instead, its bytes big-endian and zero-padded on the right,
so that comparing two keys as integers is comparing the strings byte by byte, which for
UTF-8 is comparing them by code point (Python's ``str`` order, the order of
``pd.factorize(..., sort=True)``). The shorter of two strings where one is a prefix of the
other sorts first on both sides, because padding is 0 and no value holds a 0 byte.

A value of more than 8 bytes makes its chunk report failure, and the caller falls back to
a general factorization; so does a chunk with more than :data:`MAX_NAMES` distinct values,
and (checked by the caller, in NumPy) a NUL byte, which the padding could not be told from.
The oracle is ``pd.factorize(values, sort=True)`` (``tests/engine/test_labels_nb.py``).

Why by hand: pandas and Arrow factorize strings by hashing them as variable-length byte
strings (one hash of the bytes and one comparison through a pointer per row); neither has
a path for values that fit in a machine word.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["MAX_NAMES", "factorize_short_nb", "remap_codes_nb"]

#: Distinct values a chunk may hold: its codes are int16.
MAX_NAMES = 32767


_FULL = np.uint64(0xFFFFFFFFFFFFFFFF)


@intrinsic
def _load_be_u64(typingctx, data, pos):
    """The 8 bytes ``data[pos:pos + 8]`` (uint8 array) as one big-endian ``uint64``: an
    unaligned load and a byte swap (numba has no unaligned load of a wider type)."""
    if not (isinstance(data, types.Array) and data.dtype == types.uint8):
        return None
    sig = types.uint64(data, pos)

    def codegen(context, builder, signature, args):
        arr = cgutils.create_struct_proxy(signature.args[0])(context, builder, value=args[0])
        i64 = ir.IntType(64)
        p = builder.gep(arr.data, [args[1]])
        word = builder.load(builder.bitcast(p, i64.as_pointer()), align=1)
        bswap = builder.module.declare_intrinsic("llvm.bswap", [i64])
        return builder.call(bswap, [word])

    return sig, codegen


@njit(cache=True, inline="always")
def _hash(key, mask):
    # Fibonacci hashing: the high bits of a multiply spread keys that differ in any byte
    return np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask


#: Rows whose keys are computed at once before they are hashed (a buffer that stays in L1).
_BLOCK = 1024


@njit(cache=True, inline="always")
def _keys_block(offsets, data, i0, m, cut, buf):
    """Keys of rows ``i0:i0 + m`` into ``buf[:m]``; returns the longest value's length in
    bytes (a key only when at most 8). The caller makes sure ``data`` has no NUL byte.

    Rows before ``cut`` are at least 8 bytes from the end of ``data``: one unaligned word
    each, masked to the value's length, in a loop without branches; the last rows are read
    byte by byte."""
    longest = 0
    stop = min(m, max(cut - i0, 0))
    for j in range(stop):
        a = offsets[i0 + j]
        n = offsets[i0 + j + 1] - a
        longest = max(longest, n)
        q = np.uint64(4 * min(n, 8))
        # two shifts, each < 64 (a shift by 64 is undefined): keep the first n bytes
        buf[j] = _load_be_u64(data, a) & ~((_FULL >> q) >> q)
    for j in range(stop, m):
        a = offsets[i0 + j]
        n = offsets[i0 + j + 1] - a
        longest = max(longest, n)
        key = np.uint64(0)
        for b in range(8):  # left-aligned, zero-padded: the padding sorts first
            key <<= np.uint64(8)
            if b < n:
                key |= np.uint64(data[a + b])
        buf[j] = key
    return longest


@njit(cache=True)
def _fill_nb(offsets, data, i, hi, cut, codes, uniq, count, table):
    """Code rows ``i, i + 1, ...`` with the open-addressing ``table`` (slot ``h`` is
    ``table[2 h]`` the key and ``table[2 h + 1]`` its code, ``_FULL`` when empty: one cache
    line a probe) until ``hi``, or until one more block could fill the table past half.

    Returns ``(next_row, count)``; ``count`` -1 when a value is not a key or there are more
    than ``MAX_NAMES`` distinct values. Apart from :func:`_chunk_nb` so that no array is
    re-bound inside the row loop (numba would count references there)."""
    mask = len(table) // 2 - 1
    buf = np.empty(_BLOCK, np.uint64)
    prev_key = np.uint64(0)
    prev_code = np.int16(-1)
    while i < hi and 2 * (count + _BLOCK) <= len(table) // 2:
        m = min(_BLOCK, hi - i)
        if _keys_block(offsets, data, i, m, cut, buf) > 8:
            return i, -1
        for j in range(m):
            key = buf[j]
            if key == prev_key and prev_code >= 0:  # runs (an etf column) skip the table
                codes[i + j] = prev_code
                continue
            h = _hash(key, mask)
            while True:
                v = table[2 * h + 1]
                if v == _FULL:
                    if count == MAX_NAMES:
                        return i, -1
                    v = np.uint64(count)
                    table[2 * h] = key
                    table[2 * h + 1] = v
                    uniq[count] = key
                    count += 1
                    break
                if table[2 * h] == key:
                    break
                h = (h + 1) & mask
            prev_key = key
            prev_code = np.int16(v)
            codes[i + j] = prev_code
        i += m
    return i, count


@njit(cache=True)
def _chunk_nb(offsets, data, lo, hi, cut, codes, uniq):
    """Codes of rows ``lo:hi`` into the chunk's own distinct keys ``uniq[:count]`` (in order
    of appearance); returns ``count``, or -1 when a value does not fit in a key or the
    chunk has more than ``MAX_NAMES`` distinct values. The table starts at 4,096 slots and
    doubles whenever a block of rows could fill it past half."""
    size = 4096
    i, count = lo, 0
    while True:
        table = np.full(2 * size, _FULL, np.uint64)
        mask = size - 1
        for c in range(count):  # re-insert what the smaller table held
            g = _hash(uniq[c], mask)
            while table[2 * g + 1] != _FULL:
                g = (g + 1) & mask
            table[2 * g] = uniq[c]
            table[2 * g + 1] = np.uint64(c)
        i, count = _fill_nb(offsets, data, i, hi, cut, codes, uniq, count, table)
        if count < 0 or i >= hi:
            return count
        size *= 2


@njit(cache=True, parallel=True)
def factorize_short_nb(offsets, data, n_chunks):
    """Factorize the strings ``data[offsets[i]:offsets[i + 1]]``, ``i < len(offsets) - 1``,
    in ``n_chunks`` row ranges at once.

    Parameters
    ----------
    offsets : np.ndarray of int32 or int64, shape (n + 1,)
        Arrow's value offsets (byte positions into ``data``): int32 for ``string``, int64
        for ``large_string`` (one compiled version each).
    data : np.ndarray of uint8
        Arrow's value bytes (UTF-8), none of them 0 (NumPy checks that faster than a
        loop here: a key could not tell a NUL byte from its padding).
    n_chunks : int
        Row ranges factorized in parallel, each on its own hash table.

    Returns
    -------
    codes : np.ndarray of int16, shape (n,)
        Row ``i``'s code into its chunk's keys (in order of appearance in the chunk).
    uniq : np.ndarray of uint64, shape (n_chunks, MAX_NAMES)
        Chunk ``c``'s distinct keys are ``uniq[c, :counts[c]]``.
    counts : np.ndarray of int64, shape (n_chunks,)
        Distinct keys per chunk; -1 when the chunk has a value that is not a key (the whole
        result is then void: fall back).
    bounds : np.ndarray of int64, shape (n_chunks + 1,)
        Chunk ``c`` is rows ``bounds[c]:bounds[c + 1]``.
    """
    n = len(offsets) - 1
    bounds = np.empty(n_chunks + 1, np.int64)
    for c in range(n_chunks + 1):
        bounds[c] = n * c // n_chunks
    codes = np.empty(n, np.int16)
    uniq = np.empty((n_chunks, MAX_NAMES), np.uint64)
    counts = np.empty(n_chunks, np.int64)
    # rows from ``cut`` on start less than 8 bytes before the end of ``data``
    cut = np.searchsorted(offsets[:n], len(data) - 8, "right") if n else 0
    for c in prange(n_chunks):
        counts[c] = _chunk_nb(offsets, data, bounds[c], bounds[c + 1], cut, codes, uniq[c])
    return codes, uniq, counts, bounds


@njit(cache=True, parallel=True)
def remap_codes_nb(codes, bounds, remap):
    """``codes[i] = remap[c, codes[i]]`` in place for the rows ``i`` of chunk ``c``
    (``bounds`` as :func:`factorize_short_nb` gives them)."""
    for c in prange(len(bounds) - 1):
        r = remap[c]
        for i in range(bounds[c], bounds[c + 1]):
            codes[i] = r[codes[i]]
