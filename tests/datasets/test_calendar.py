"""The bundled XKRX sessions equal exchange_calendars' (slow: building XKRX takes ~13 s)."""

import pandas as pd
import pytest

from datasets.calendar import compute_xkrx_sessions, xkrx_sessions


def test_bundled_sessions_have_known_holidays():
    s = xkrx_sessions()
    assert s.is_monotonic_increasing and s.is_unique
    # 2021-02-11/12 (설날) and 2021-01-01 are KRX holidays; 2021-01-04 and 01-15 are sessions
    for d in ("2021-01-01", "2021-02-11", "2021-02-12"):
        assert pd.Timestamp(d) not in s
    assert s.get_loc(pd.Timestamp("2021-01-15")) - s.get_loc(pd.Timestamp("2021-01-04")) == 9


@pytest.mark.slow
def test_bundled_sessions_equal_exchange_calendars():
    assert xkrx_sessions().equals(compute_xkrx_sessions())
