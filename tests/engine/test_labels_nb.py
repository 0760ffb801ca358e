"""Short-string factorization (:mod:`engine.nb.labels_nb`, ``engine.holdings_rows``) against
``pd.factorize(..., sort=True)``: codes and names, and the fallbacks where a value is no key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from engine import holdings_rows
from engine.holdings_rows import _label_codes, _short_factorize
from engine.nb.labels_nb import MAX_NAMES, factorize_short_nb


def _codes_alphabet(rng, n_names, max_len=8):
    """``n_names`` distinct strings of 0..``max_len`` bytes: ASCII digits and letters, and
    Korean syllables (3 bytes each in UTF-8), so byte order and code-point order are both
    exercised."""
    chars = list("0123456789ABCZaz") + ["삼", "성", "전", "자"]
    out = set()
    while len(out) < n_names:
        s = "".join(rng.choice(chars, rng.integers(0, max_len + 1)))
        if len(s.encode()) <= max_len:
            out.add(s)
    return sorted(out)


def _series(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def _assert_factorize(col: pd.Series, got):
    want_codes, want_names = pd.factorize(col.astype(object), sort=True)
    codes, names = got
    assert codes.dtype == np.int16
    np.testing.assert_array_equal(codes, want_codes)
    assert list(names) == list(want_names)


@pytest.mark.parametrize("n_names", [1, 7, 300, 5000])
def test_short_factorize_equals_pandas_sorted_factorize(n_names):
    """Random codes (empty strings, prefixes of one another, non-ASCII) in random order and
    in runs; 5,000 names make each chunk's table grow twice."""
    rng = np.random.default_rng(n_names)
    names = _codes_alphabet(rng, n_names)
    rows = np.asarray(names, dtype=object)[rng.integers(0, n_names, 20_000)]
    for values in (rows, np.sort(rows)):  # shuffled, and in runs (as an etf column)
        col = _series(values)
        got = _short_factorize(col)
        assert got is not None
        _assert_factorize(col, got)


def test_short_factorize_in_several_chunks(monkeypatch):
    """Chunks hashed apart and merged: the codes are still into the one sorted list."""
    monkeypatch.setattr(holdings_rows, "_MIN_CHUNK_ROWS", 64)
    rng = np.random.default_rng(3)
    names = _codes_alphabet(rng, 900)
    # the second half has names the first lacks, so the chunks' tables differ
    rows = np.concatenate([np.asarray(names[:500], dtype=object)[rng.integers(0, 500, 3000)],
                           np.asarray(names, dtype=object)[rng.integers(0, 900, 3000)]])
    col = _series(rows)
    _assert_factorize(col, _short_factorize(col))


def test_kernel_chunks_decode_to_the_values():
    """Each chunk's local codes point at the key of the row's own value, for any number of
    chunks (including more chunks than rows)."""
    rng = np.random.default_rng(5)
    values = np.asarray(_codes_alphabet(rng, 50), dtype=object)[rng.integers(0, 50, 1001)]
    for vals, n_chunks in [(values, 1), (values, 2), (values, 7), (values, 40),
                           (values[:5], 8)]:
        _check_chunks(vals, n_chunks)


def _check_chunks(values, n_chunks):
    for typ, off_type in ((pa.large_string(), np.int64), (pa.string(), np.int32)):
        _check_chunks_of(values, n_chunks, typ, off_type)


def _check_chunks_of(values, n_chunks, typ, off_type):
    arr = pa.array(list(values), typ)
    _, off, data = arr.buffers()
    offsets = np.frombuffer(off, off_type, count=len(arr) + 1)
    data = np.frombuffer(data, np.uint8)
    codes, uniq, counts, bounds = factorize_short_nb(offsets, data, n_chunks)
    assert (counts >= 0).all() and bounds[0] == 0 and bounds[-1] == len(values)
    for c in range(n_chunks):
        lo, hi = bounds[c], bounds[c + 1]
        keys = uniq[c, codes[lo:hi]]
        got = [int(k).to_bytes(8, "big").rstrip(b"\0").decode() for k in keys.tolist()]
        assert got == list(values[lo:hi])
        assert counts[c] == len(set(values[lo:hi]))


def test_sliced_arrow_column_and_int32_offsets():
    """A column that is a slice of its Arrow array (offset > 0), with ``string`` (int32
    offsets) as well as ``large_string`` data."""
    rng = np.random.default_rng(8)
    values = list(np.asarray(_codes_alphabet(rng, 40), dtype=object)[rng.integers(0, 40, 500)])
    for typ in (pa.string(), pa.large_string()):
        sliced = pa.array(values, typ).slice(37, 400)
        assert sliced.offset == 37
        col = pd.Series(pd.arrays.ArrowStringArray(sliced, dtype=pd.StringDtype(
            "pyarrow", na_value=np.nan)))
        _assert_factorize(col, _short_factorize(col))


@pytest.mark.parametrize("odd", ["ABCDEFGHI", "A\0", "\0", "9" * 20])
def test_values_that_are_no_key_fall_back(odd):
    """A value of more than 8 bytes or with a NUL byte is no key: the short path declines and
    the general path still gives pandas' codes ("A\\0" and "A" stay apart)."""
    col = _series(["A", odd, "B", "A", odd, ""] * 50)
    assert _short_factorize(col) is None
    codes, names = _label_codes(col, "stock")
    want_codes, want_names = pd.factorize(col.astype(object), sort=True)
    np.testing.assert_array_equal(codes, want_codes)
    assert list(names) == list(want_names)


def test_more_names_than_int16_codes_fall_back():
    col = _series([f"{i:07d}" for i in range(MAX_NAMES + 5)][::-1])
    assert _short_factorize(col) is None
    codes, names = _label_codes(col, "stock")
    assert codes.dtype == np.int32 and len(names) == MAX_NAMES + 5
    np.testing.assert_array_equal(codes, np.arange(MAX_NAMES + 5)[::-1])


def test_other_columns_are_not_taken():
    """Nulls, object columns and empty columns are left to the general path."""
    assert _short_factorize(_series(["A", None, "B"])) is None
    assert _short_factorize(pd.Series(["A", "B"], dtype=object)) is None
    assert _short_factorize(_series([])) is None
