"""XKRX trading sessions, 1990-01-03 .. 2040-12-28, read from a bundled file.

Building exchange_calendars' XKRX calendar takes ~13 s (its lunar-holiday rules are
evaluated over the whole range on construction), which would dominate every ``flowbt
signals`` run that counts market-cap staleness in sessions. The sessions are therefore
computed once with exchange_calendars (:func:`write_xkrx_sessions`, rerun when
exchange_calendars is upgraded) and shipped as ``datasets/data/xkrx_sessions.parquet``
(12,552 dates, 120 kB); ``tests/datasets/test_calendar.py`` (slow) checks the file against
exchange_calendars.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["XKRX_FIRST", "XKRX_LAST", "write_xkrx_sessions", "xkrx_sessions"]

XKRX_FIRST = pd.Timestamp("1990-01-03")
XKRX_LAST = pd.Timestamp("2040-12-28")
_FILE = "xkrx_sessions.parquet"


def compute_xkrx_sessions() -> pd.DatetimeIndex:
    """XKRX sessions from exchange_calendars (slow: ~13 s)."""
    import warnings

    import exchange_calendars as xc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xc.get_calendar("XKRX", start=XKRX_FIRST, end=XKRX_LAST)
    s = pd.DatetimeIndex(cal.sessions)
    if s.tz is not None:
        s = s.tz_localize(None)
    return pd.DatetimeIndex(s.as_unit("ns").to_numpy(), name="date")


def write_xkrx_sessions(path=None) -> Path:
    """Regenerate the bundled sessions file from exchange_calendars."""
    p = Path(path) if path is not None else Path(__file__).parent / "data" / _FILE
    pd.DataFrame({"date": compute_xkrx_sessions()}).to_parquet(p, index=False)
    return p


@functools.cache
def xkrx_sessions() -> pd.DatetimeIndex:
    """All XKRX sessions 1990-01-03 .. 2040-12-28 (tz-naive, ns), from the bundled file."""
    with resources.files("datasets").joinpath("data", _FILE).open("rb") as fh:
        d = pd.read_parquet(fh)["date"]
    return pd.DatetimeIndex(d.to_numpy(), name="date").as_unit("ns")
