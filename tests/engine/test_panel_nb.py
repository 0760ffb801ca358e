"""engine.nb.panel_nb against NumPy's one-investor-at-a-time transposed assignment."""

from __future__ import annotations

import numpy as np
import pytest

from engine.nb.panel_nb import DATE_TILE, blocks_into_panel_nb


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("T", [1, DATE_TILE, 2 * DATE_TILE + 7])
def test_blocks_land_where_the_transposed_assignment_puts_them(dtype, T):
    rng = np.random.default_rng(T)
    N, K = 11, 3
    blocks = [(0, 4), (4, 1), (7, 4)]  # column 5 and 6 never written: keep their NaN
    out = np.full((T, N, K), np.nan, dtype)
    ref = out.copy()
    for c0, m in blocks:
        cols = tuple(rng.normal(size=m * T).astype(dtype) for _ in range(K))
        for v in cols:
            v.flags.writeable = False  # as Arrow hands them over
        blocks_into_panel_nb(out, cols, c0)
        for j, v in enumerate(cols):
            ref[:, c0:c0 + m, j] = v.reshape(m, T).T
    np.testing.assert_array_equal(out, ref)
    assert np.isnan(out[:, 5:7]).all()
