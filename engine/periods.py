"""Weekly and monthly periods: their pandas codes and totals dated when a period is complete.

One place for the period rule used by signal builders, flow warnings, streaks, contributions
and the demo: a week ends on Friday (``W-FRI``), a month at its calendar end, and a period's
total is known only at its last session of an exchange calendar (published in advance, so
using its future sessions is not look-ahead on data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import ConfigError, DataQuality

__all__ = ["EXCHANGE_CALENDARS", "PERIOD_CODES", "exchange_calendar", "period_code",
           "period_end_sessions", "period_total"]

#: The exchange calendar (exchange_calendars name) of a market, by its currency: period totals
#: default to it so that a week with an exchange holiday is still complete (issue #10 item 16).
EXCHANGE_CALENDARS: dict[str, str] = {"USD": "XNYS", "KRW": "XKRX"}


def exchange_calendar(currency: str, key: str = "calendar") -> str:
    """The exchange calendar of a market quoted in ``currency`` (``"USD"`` -> ``"XNYS"``,
    ``"KRW"`` -> ``"XKRX"``).

    Raises
    ------
    ConfigError
        Naming ``key`` when the currency has no known exchange.

    Examples
    --------
    >>> exchange_calendar("USD"), exchange_calendar("KRW")
    ('XNYS', 'XKRX')
    """
    try:
        return EXCHANGE_CALENDARS[str(currency).upper()]
    except KeyError:
        raise ConfigError(key, None, f"no exchange calendar is known for currency {currency!r}; "
                          f"set {key} = 'XNYS' (or another exchange_calendars name, or 'B' "
                          "for weekdays)") from None

#: Pandas period codes of the supported aggregation frequencies ("W-FRI" and "ME" are accepted
#: as aliases of "W" and "M").
PERIOD_CODES: dict[str, str] = {"W": "W-FRI", "M": "M"}
_ALIASES = {"W-FRI": "W", "ME": "M"}

#: Calendar days of calendar look-ahead needed to know a period's last session (a month plus
#: margin).
_CALENDAR_MARGIN_DAYS = 45


def period_code(freq: str, key: str = "freq") -> str:
    """The pandas period code of ``freq`` ("W" / "M", or the aliases "W-FRI" / "ME").

    Raises
    ------
    ConfigError
        Naming ``key`` (the config key or argument the user typed) for any other value.

    Examples
    --------
    >>> period_code("W"), period_code("ME")
    ('W-FRI', 'M')
    """
    f = _ALIASES.get(freq, freq)
    if f not in PERIOD_CODES:
        raise ConfigError(key, freq, "must be 'W' (weeks ending Friday) or 'M' (calendar months)")
    return PERIOD_CODES[f]


def period_end_sessions(
    first, last, freq: str, calendar: str = "B"
) -> tuple[pd.DatetimeIndex, pd.Series]:
    """Sessions of ``calendar`` around ``[first, last]`` and each period's last session.

    Parameters
    ----------
    first, last : date-like
        Range the data covers; the calendar is extended ``_CALENDAR_MARGIN_DAYS`` past ``last``
        so that the last session of the period containing ``last`` is known.
    freq : {"W", "M"}
        Weeks ending Friday (``W-FRI``) or calendar months.
    calendar : str
        ``"B"`` (Monday..Friday, no holidays) or an ``exchange_calendars`` name such as
        ``"XNYS"`` / ``"XKRX"``. Exchange calendars are published in advance, so using future
        sessions of the calendar is not look-ahead on data.

    Returns
    -------
    sessions : pd.DatetimeIndex
    period_end : pd.Series
        Index pandas Periods, values the last session of each period (Timestamp).
    """
    period_code(freq)  # validates freq
    lo = pd.Timestamp(first) - pd.Timedelta(days=7)
    hi = pd.Timestamp(last) + pd.Timedelta(days=_CALENDAR_MARGIN_DAYS)
    if calendar == "B":
        sessions = pd.bdate_range(lo, hi)
    else:
        import warnings

        import exchange_calendars as xc

        with warnings.catch_warnings():
            # exchange_calendars 4.x reads Series.values of tz-aware opens (pandas 3 deprecation)
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            cal = xc.get_calendar(calendar, start=lo.strftime("%Y-%m-%d"),
                                  end=hi.strftime("%Y-%m-%d"))
        sessions = pd.DatetimeIndex(cal.sessions).tz_localize(None)
    sessions = pd.DatetimeIndex(sessions).normalize()
    per = sessions.to_period(period_code(freq))
    period_end = pd.Series(sessions, index=per).groupby(level=0).max()
    return sessions, period_end


def period_total(
    daily: pd.DataFrame, dates: pd.DatetimeIndex, freq: str, *, calendar: str = "B",
    missing: str = "nan", quality: DataQuality | None = None,
) -> pd.DataFrame:
    """Weekly or monthly totals of a daily series, dated when the period is complete.

    A period's total is known only at its last session, so it is placed on the first date of
    ``dates`` on or after that session (normally the session itself) and every other row is
    NaN. A row dated on a non-session (weekend, holiday) belongs to the next session's period;
    a NaN on such a row means "no trading that day" and counts as 0 (counted in ``quality``).
    A NaN on a session, or a session of the calendar without a row (the data starts or ends
    inside the period, or skips a day), makes the period's total NaN (``missing="nan"``,
    never a partial sum) or counts as 0 (``missing="zero"``, counted in ``quality``).

    Parameters
    ----------
    daily : pd.DataFrame, shape (T_in, C)
        Daily values (e.g. flows in USD), DatetimeIndex.
    dates : pd.DatetimeIndex, shape (T,)
        Output dates (the market's sessions).
    freq : {"W", "M"}
    calendar : str
        See :func:`period_end_sessions`.
    missing : {"nan", "zero"}
        Policy for a NaN on a session (see above).
    quality : DataQuality, optional
        Receives the counts of NaNs treated as 0, of periods with sessions absent from the
        data (one per period), and, with ``missing="nan"``, of the ETF-periods (one per
        column and period, e.g. ETF-weeks) whose total is set NaN because of a NaN on one of
        their sessions (counted for the periods written to the output).

    Returns
    -------
    pd.DataFrame, shape (T, C)

    Examples
    --------
    >>> d = pd.bdate_range("2024-01-01", "2024-01-12")          # Mon 1st .. Fri 12th
    >>> x = pd.DataFrame({"A": np.arange(10.0)}, index=d)
    >>> period_total(x, d, "W").dropna()["A"].to_dict()
    {Timestamp('2024-01-05 00:00:00'): 10.0, Timestamp('2024-01-12 00:00:00'): 35.0}
    """
    dates = pd.DatetimeIndex(dates)
    out = pd.DataFrame(np.nan, index=dates, columns=daily.columns, dtype=np.float64)
    if daily.empty or dates.empty:
        return out
    first = min(daily.index.min(), dates.min())
    last = max(daily.index.max(), dates.max())
    if missing not in ("nan", "zero"):
        raise ConfigError("signals.<name>.missing", missing, "must be 'nan' or 'zero'")
    sessions, period_end = period_end_sessions(first, last, freq, calendar)
    idx = pd.DatetimeIndex(daily.index)
    on_session = idx.isin(sessions)
    nan = daily.isna().to_numpy()
    closed_nan = int(nan[~on_session].sum())
    open_nan = int(nan[on_session].sum())
    fill = ~on_session[:, None] & nan
    if missing == "zero":
        fill |= nan
    if quality is not None:
        quality.add("period_total", "treated as 0", "NaN flows on closed days (no trading)",
                    closed_nan, rule=f"calendar {calendar}")
        if missing == "zero":
            quality.add("period_total", "treated as 0", "NaN flows on sessions", open_nan,
                        rule="missing = 'zero'")
    daily = daily.mask(fill, 0.0)
    # Each row's effective session: the first session on or after its date.
    pos = sessions.searchsorted(idx, "left")
    per = sessions[pos].to_period(period_code(freq))
    total = daily.groupby(per).sum(min_count=1)
    any_nan = daily.isna().groupby(per).any()
    total = total.mask(any_nan)
    # A period is complete only if the data has a row for each of its calendar sessions (the
    # data may start or stop inside a period, or skip a session).
    all_per = sessions.to_period(period_code(freq))
    n_sessions = pd.Series(1, index=all_per).groupby(level=0).sum()
    covered = pd.Series(1, index=per[on_session]).groupby(level=0).sum()
    # fill_value=0: a period with no session row has 0 covered sessions (then NaN, counted)
    short = covered.reindex(total.index, fill_value=0) < n_sessions.reindex(total.index)
    if quality is not None:
        quality.add("period_total", "set NaN" if missing == "nan" else "treated as 0",
                    "periods with sessions absent from the data", int(short.sum()),
                    rule="a period total needs every session of the period")
    if missing == "nan":
        total = total.mask(short.to_numpy()[:, None] & np.ones(total.shape, bool))
    # every data period is a calendar period (the calendar spans the data): nothing dropped
    ends = pd.DatetimeIndex(period_end.reindex(total.index).to_numpy())
    at = dates.searchsorted(ends, "left")
    ok = at < len(dates)  # periods whose last session is past the data: not known yet
    if quality is not None and missing == "nan":
        # Per column and period (an ETF-week), not per period: each such total is a value lost.
        # Periods already NaN for a session absent from the data are counted above instead.
        lost = any_nan.to_numpy() & ~short.to_numpy()[:, None] & ok[:, None]
        quality.add("period_total", "set NaN",
                    "ETF-periods (one per column and period) with a NaN flow on a session",
                    int(lost.sum()),
                    rule="missing = 'nan': each such ETF-period total is set NaN (a total "
                         "needs a value on every session)")
    # Later periods overwrite earlier ones landing on the same row (only across data holes).
    out.iloc[at[ok]] = total.to_numpy(np.float64)[ok]
    return out
