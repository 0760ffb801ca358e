"""Historical stress windows: what a run's equity did inside a dated window, and after it.

:func:`window_table` reads the equity of every variant (the strategy and its benchmarks, from
one backtest started the session before the window so the allocation is held at the window's
first close) and returns, per variant:

* ``return`` -- equity at the window's last session over its first session, minus 1;
* ``max_drawdown`` -- the deepest fall from the running peak inside the window (<= 0) and
  ``trough_date``;
* ``days_to_recover`` -- sessions from the trough until the equity is back at the peak it had
  reached in the window before the trough; this one looks *past* the window's end, to the
  end of the data, and is NaN with ``recovered = "not recovered by the end of the data
  (<date>)"`` when it never gets there;
* ``triggers_fired`` -- the strategy's log rules dated inside the window.

Everything except the recovery columns uses data up to the window's end only (pinned by
tests/engine/stress/test_windows.py::test_window_is_prefix_invariant).

:func:`splice_proxy` gives an asset that did not trade yet a declared stand-in: the proxy's
returns before the asset's first price, chained so the levels join at that date (an index
level may carry an expense drag). Without a proxy the window is refused
(:class:`WindowRefused`, naming the asset and its first date) -- never a silent reweighting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.conventions import DAYS_PER_YEAR
from engine.peaks import drawdown_from_peak

__all__ = ["WindowRefused", "splice_proxy", "window_table"]


class WindowRefused(ValueError):
    """A window cannot run: an asset has no price in it and no proxy is declared."""

    def __init__(self, window: str, asset: str, first: pd.Timestamp | None, needed: str,
                 fix: str) -> None:
        self.window, self.asset, self.first = window, asset, first
        first_s = "never" if first is None else str(pd.Timestamp(first).date())
        super().__init__(f"window {window!r}: {asset} has no prices before {first_s} (first "
                         f"price) but the window needs them from {needed}; {fix}")


def splice_proxy(asset: pd.Series, proxy: pd.Series,
                 expense_ratio: float = 0.0) -> tuple[pd.Series, int]:
    """``asset`` with its missing head filled from ``proxy``'s returns; the number of sessions
    spliced.

    Before the asset's first price ``f``: ``asset[t] = proxy_net[t] * asset[f] / proxy_net[f]``
    where ``proxy_net = proxy * (1 - expense_ratio) ** (calendar days / 365.25)`` (an index
    level net of an ETF's expense ratio; 0 for an ETF proxy, whose close already nets it).

    Examples
    --------
    >>> d = pd.date_range("2024-01-01", periods=4)
    >>> a = pd.Series([np.nan, np.nan, 20.0, 22.0], index=d)
    >>> p = pd.Series([10.0, 11.0, 10.0, 12.0], index=d)
    >>> s, n = splice_proxy(a, p)
    >>> s.tolist(), n
    ([20.0, 22.0, 20.0, 22.0], 2)
    """
    first = asset.first_valid_index()
    if first is None:
        raise ValueError(f"{asset.name} has no prices at all")
    px = proxy.reindex(asset.index).astype(np.float64)
    if expense_ratio:
        days = (asset.index - asset.index[0]).days.to_numpy(np.float64)
        px = px * (1.0 - float(expense_ratio)) ** (days / DAYS_PER_YEAR)
    head = asset.index < first
    out = asset.astype(np.float64).copy()
    out[head] = px[head] * (asset[first] / px[first])
    return out, int(head.sum())


def window_table(equity: pd.DataFrame, log: pd.DataFrame, name: str, start, end) -> pd.DataFrame:
    """Per-variant results of one window (see the module notes).

    Parameters
    ----------
    equity : pd.DataFrame
        Dates x variants, from (at least) the window's first session to the end of the data.
    log : pd.DataFrame
        Columns date, variant, rule (the backtest's trigger log).
    name : str
        Window name.
    start, end : date-like
        First and last calendar day of the window (inclusive).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    idx = equity.index
    inside = (idx >= start) & (idx <= end)
    rows = []
    last_date = idx[-1]
    for v in equity.columns:
        full = equity[v].to_numpy(np.float64)
        w = full[inside]
        dd = drawdown_from_peak(w)
        k = int(np.argmin(dd))
        wd = idx[inside]
        peak = float(np.max(w[:k + 1]))
        t_k = int(np.flatnonzero(inside)[k])
        if dd[k] >= 0:
            days, recovered = 0.0, "no drawdown"
        else:
            rec = np.flatnonzero(full[t_k:] >= peak)  # may look past the window's end
            if len(rec):
                days, recovered = float(rec[0]), str(idx[t_k + rec[0]].date())
            else:
                days = np.nan
                recovered = f"not recovered by the end of the data ({last_date.date()})"
        lv = log[(log["variant"] == v) & (log["date"] >= start) & (log["date"] <= end)] \
            if len(log) else log
        rows.append({
            "window": name, "variant": v, "start": str(wd[0].date()), "end": str(wd[-1].date()),
            "sessions": int(inside.sum()), "return": float(w[-1] / w[0] - 1.0),
            "max_drawdown": float(dd[k]), "trough_date": str(wd[k].date()),
            "days_to_recover": days, "recovered": recovered,
            "n_triggers": int(len(lv)),
            "triggers_fired": "; ".join(f"{pd.Timestamp(d).date()} {r}"
                                        for d, r in zip(lv["date"], lv["rule"], strict=True))
            if len(lv) else "",
        })
    return pd.DataFrame(rows)
