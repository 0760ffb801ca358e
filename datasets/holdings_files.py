"""Issuer-style ETF holdings files -> :class:`~engine.market.Holdings`.

Layout (one row per holding; CSV in UTF-8 or CP949, or Parquet)::

    date,etf,ticker,weight[,name]
    2021-04-02,152100,005930,31.74,삼성전자
    2021-04-02,152100,KRD010010001,0.65,원화예금

* ``weight`` is in **percent** of the fund's net assets (``weight_unit="fraction"`` for 0..1).
* **Cash rows are dropped and counted**: a ticker such as ``CASH``, ``USD``, ``KRW``, ``-``, a
  KRX cash code ``KRD...``, or a name containing 원화예금/현금/예금/cash (see :func:`is_cash`).
* Each snapshot's weights, cash included, must sum to 100% within ``sum_tol`` (a file that does
  not is truncated or in the wrong unit). The remaining non-cash weights of a complete
  snapshot are **renormalized to sum to 1** and every renormalized snapshot is counted in the
  :class:`~engine.errors.DataQuality`.
* A top-N file that lists only part of the fund (SPY's top 200 hold 83.5% of it) is refused
  by default; with ``allow_partial=True`` (``flowbt data check --allow-partial``) its
  snapshots are **kept as given** (weights are fractions of the whole fund, summing below 1,
  never renormalized: that would inflate every weight by 1 / coverage) and their coverage is
  counted; the returned :class:`~engine.market.Holdings` is ``partial``.
* Negative weights (short futures legs of leveraged funds) are an error: the flow synthesis
  is defined for long portfolios.
* Duplicate (date, etf, ticker) rows are an error. Row order does not matter.

:func:`load_top_holdings_wide` reads the scraped wide layout (one row per date, one column per
holding ticker, weights in percent, a ``SUM`` column): every row is a snapshot of the fund's
top-N holdings: a row within ``sum_tol`` of 100% is complete (renormalized after dropping
cash and ``n/a``, counted), a row below it is partial (refused unless ``allow_partial=True``,
then kept as given); a 0 or empty cell means "not held that day" (empty cells counted); a
``n/a`` column (holding without a ticker) is dropped and counted like cash.

:func:`check_holdings_in_flows` checks that the holdings name stocks present in a flow panel.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from datasets._csv import Table, read_table, resolve_columns
from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, Holdings

__all__ = [
    "CASH_CODES",
    "HOLDINGS_COLUMNS",
    "cash_codes",
    "cash_names",
    "check_holdings_in_flows",
    "finish_snapshots",
    "is_cash",
    "load_holdings",
    "load_top_holdings_wide",
    "read_holdings",
]

#: Ticker values that denote cash in holdings files.
CASH_CODES = frozenset({"CASH", "USD", "KRW", "-", "$", "CASH_USD", "CASH_KRW", "현금",
                        "U.S. DOLLAR", "US DOLLAR", "KOREAN WON"})
_CASH_NAME_RE = re.compile(r"원화예금|현금|예금|설정현금|\bcash\b", re.IGNORECASE)

HOLDINGS_COLUMNS = {
    "date": ("date", "effective_date", "as_of", "일자", "날짜"),
    "etf": ("etf", "fund", "etf_ticker"),
    "stock": ("ticker", "stock", "holding", "종목코드", "티커"),
    "weight": ("weight", "weight_pct", "비중", "구성비중"),
    "name": ("name", "holding_name", "종목명", "구성종목명"),
}


def is_cash(codes, names=None) -> np.ndarray:
    """Boolean mask of cash rows from ticker codes (and names if given).

    Examples
    --------
    >>> is_cash(["005930", "KRD010010001", "CASH", "x"], ["삼성전자", "원화예금", "", "Cash & Equivalents"]).tolist()
    [False, True, True, True]
    """
    mask = cash_codes(codes)
    if names is not None:
        mask |= cash_names(names)
    return mask


def cash_codes(codes) -> np.ndarray:
    """Boolean mask of the ticker codes that denote cash (the ticker half of :func:`is_cash`)."""
    codes = pd.Series(np.asarray(codes, dtype=object)).astype(str).str.strip()
    return codes.str.upper().isin(CASH_CODES).to_numpy() | codes.str.upper().str.startswith(
        "KRD").to_numpy()


def cash_names(names) -> np.ndarray:
    """Boolean mask of the holding names that denote cash (the name half of :func:`is_cash`)."""
    # a missing name is no evidence of cash; the ticker test still applies
    nm = pd.Series(np.asarray(names, dtype=object)).fillna("").astype(str)
    return nm.str.contains(_CASH_NAME_RE).to_numpy(dtype=bool)


def finish_snapshots(
    rows: pd.DataFrame,
    *,
    source: str,
    row_kind: str = "line",
    quality: DataQuality | None = None,
    sum_tol: float = 0.02,
    allow_partial: bool = False,
) -> Holdings:
    """Drop cash, check and renormalize snapshot weights, build :class:`Holdings`.

    Parameters
    ----------
    rows : pd.DataFrame
        Columns ``etf``, ``effective_date``, ``stock``, ``weight`` (fraction of net assets,
        cash included), ``cash`` (bool) and ``line`` (file line for messages).
    source : str
        File name for messages and the quality summary.
    row_kind : str
        ``"line"`` or ``"row"``.
    quality : DataQuality, optional
        Receives dropped cash rows and renormalized snapshots.
    sum_tol : float
        Tolerance (fraction) on each snapshot's total weight, cash included.
    allow_partial : bool
        Accept snapshots whose total is below ``1 - sum_tol`` (top-N holdings lists) and keep
        their weights as given (fractions of the whole fund, not renormalized).

    Returns
    -------
    Holdings
        Non-cash weights: each complete snapshot summing to 1, each partial one (only with
        ``allow_partial``) to its coverage; ``partial`` is True when there is one.

    Raises
    ------
    DataError
        Negative weights; a snapshot whose total is off 1 by more than ``sum_tol`` (or above it
        with ``allow_partial``); a snapshot that is all cash.
    """
    q = quality if quality is not None else DataQuality()
    # Negative cash (an overdraft, common in issuer files) is fine: cash is dropped anyway.
    neg = (rows["weight"].to_numpy() < 0) & ~rows["cash"].to_numpy(dtype=bool)
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        r = rows.iloc[i]
        raise DataError(f"weight of {r['stock']} is negative ({r['weight'] * 100:g}%)",
                        file=source, row=int(r["line"]), column="weight", row_kind=row_kind,
                        fix="holdings must be long positions; remove short/futures legs")
    # per snapshot (sorted by ETF and date, as the checks report the first bad one): totals
    # with and without cash, in one grouped pass rather than a Python loop over snapshots
    by = [rows["etf"], rows["effective_date"]]
    totals = rows["weight"].groupby(by, sort=True).sum()
    noncash_all = rows["weight"].where(~rows["cash"].to_numpy(dtype=bool), 0.0).groupby(
        by, sort=True).sum()
    first_line = rows["line"].groupby(by, sort=True).first()
    too_high_all = (totals > 1 + sum_tol).to_numpy()
    low_all = (totals < 1 - sum_tol).to_numpy()
    bad_sum = too_high_all | (low_all & (not allow_partial))
    bad = bad_sum | (noncash_all <= 0).to_numpy()
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        etf, d = totals.index[j]
        total = float(totals.iloc[j])
        if bad_sum[j]:
            raise DataError(
                f"weights of {etf} on {pd.Timestamp(d).date()} sum to {total * 100:.2f}% "
                f"(cash included), not 100% within {sum_tol * 100:g}%",
                file=source, row=int(first_line.iloc[j]), column="weight", row_kind=row_kind,
                fix="check the unit (percent vs fraction: weight_unit= / --weight-unit) and "
                    "that the snapshot is complete; a top-N file that lists part of the fund "
                    "loads with --allow-partial (allow_partial=True), its weights kept as given")
        raise DataError(
            f"the {etf} snapshot of {pd.Timestamp(d).date()} holds only cash",
            file=source, row=int(first_line.iloc[j]), column="weight", row_kind=row_kind,
            fix="remove the snapshot or add its constituents")
    partial_snaps: list[tuple] = [tuple(k) for k in totals.index[low_all]]
    coverage: list[float] = [float(v) for v in noncash_all.to_numpy()[low_all]]
    n_cash = int(rows["cash"].sum())
    q.add(source, "dropped", "cash rows", n_cash, rule="cash is not a constituent")
    out = rows[~rows["cash"]].copy()
    key = pd.MultiIndex.from_frame(out[["etf", "effective_date"]])
    is_partial = key.isin(partial_snaps) if partial_snaps else np.zeros(len(out), bool)
    sums = out.groupby(["etf", "effective_date"])["weight"].transform("sum")
    # partial snapshots keep their weights (fractions of the whole fund): divide by 1
    sums = sums.where(~is_partial, 1.0)
    changed = out.assign(s=sums).groupby(["etf", "effective_date"])["s"].first()
    q.add(source, "renormalized", "holdings snapshots to sum to 1",
          int((np.abs(changed - 1.0) > 1e-12).sum()), rule="weights / non-cash total")
    if partial_snaps:
        q.add(source, "kept as given", "partial snapshots (weights sum below 100%, not "
              "renormalized)", len(partial_snaps),
              rule=f"allow_partial: coverage {min(coverage) * 100:.2f}%..{max(coverage) * 100:.2f}%"
                   " of the fund")
    out["weight"] = out["weight"] / sums
    return Holdings(out[["etf", "effective_date", "stock", "weight"]].reset_index(drop=True),
                    partial=bool(partial_snaps))


def read_holdings(path, *, weight_unit: str = "pct", quality: DataQuality | None = None,
                  encoding: str | None = None) -> pd.DataFrame:
    """Read an issuer-style holdings file as rows (cash flagged, nothing dropped yet).

    Parameters
    ----------
    path : str or Path
        CSV or Parquet with ``date, etf, ticker, weight[, name]``.
    weight_unit : {"pct", "fraction"}
        Unit of ``weight`` in the file.
    quality : DataQuality, optional
    encoding : str, optional

    Returns
    -------
    pd.DataFrame
        Columns ``etf``, ``effective_date``, ``stock``, ``name``, ``weight`` (fraction,
        cash included), ``cash`` (bool), ``line``; ``attrs["source"]``, ``attrs["row_kind"]``.
    """
    if weight_unit not in ("pct", "fraction"):
        raise ValueError(f"weight_unit must be 'pct' or 'fraction', got {weight_unit!r}")
    t = read_table(path, encoding=encoding, quality=quality)
    cols = resolve_columns(t, HOLDINGS_COLUMNS, optional=("name",), allowed_extra=(),
                           kind="holdings file (date, etf, ticker, weight)")
    t.require_rows("holdings file")
    return _rows_from_table(t, cols, weight_unit)


def _rows_from_table(t: Table, cols: dict, weight_unit: str) -> pd.DataFrame:
    dates = t.dates(cols["date"])
    etf = t.codes(cols["etf"], what="ETF ticker")
    stock = t.text(cols["stock"]).reset_index(drop=True)
    names = t.text(cols["name"]).reset_index(drop=True) if "name" in cols else None
    cash = is_cash(stock, names)
    empty = (stock == "").to_numpy() & ~cash
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise t.error("holding ticker is empty", pos=i, column=cols["stock"],
                      fix="every non-cash row needs a ticker")
    w = t.numbers(cols["weight"], what="weight")
    if weight_unit == "pct":
        w = w / 100.0
    t.check_unique([dates, etf.to_numpy(), stock.to_numpy()], ["date", "etf", "ticker"])
    out = pd.DataFrame({"etf": etf.to_numpy(), "effective_date": dates,
                        "stock": stock.to_numpy(),
                        "name": names.to_numpy() if names is not None else "",
                        "weight": w, "cash": cash, "line": t.frame.index.to_numpy()})
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def load_holdings(path, *, weight_unit: str = "pct", quality: DataQuality | None = None,
                  sum_tol: float = 0.02, allow_partial: bool = False,
                  encoding: str | None = None, vectorized: bool = True) -> Holdings:
    """Load an issuer-style holdings file (layout and rules in the module docstring).

    Parameters
    ----------
    path : str or Path
        CSV or Parquet, one row per (date, etf, ticker).
    weight_unit : {"pct", "fraction"}
        Unit of the ``weight`` column (default percent, as issuers publish).
    quality : DataQuality, optional
        Receives rows read, cash rows dropped, snapshots renormalized.
    sum_tol : float
        Tolerance (fraction) on each snapshot's total weight including cash.
    allow_partial : bool
        Accept top-N snapshots summing to less than 100% (kept as given, not renormalized).
    encoding : str, optional
    vectorized : bool
        Read a clean UTF-8 CSV or Parquet file through :func:`datasets.arrow_holdings.holdings_table`
        (the same table and data-quality records; anything it does not decide, bad input
        included, comes here and gets this loader's error). False: the text loader only.

    Returns
    -------
    Holdings
        ``(etf, effective_date, stock, weight)``, weights fractions summing to 1 per complete
        snapshot (to its coverage for a partial one).

    Raises
    ------
    DataError
        Missing/unknown columns, bad dates or numbers, duplicates, negative weights,
        snapshots not summing to 100%.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.csv"
    >>> _ = p.write_text("date,etf,ticker,weight\\n2021-04-02,X,A,59\\n2021-04-02,X,B,40\\n"
    ...                  "2021-04-02,X,CASH,1\\n")
    >>> q = DataQuality()
    >>> load_holdings(p, quality=q).weights_at("X", "2021-04-02").round(4).to_dict()
    {'A': 0.596, 'B': 0.404}
    >>> q.count("dropped", "cash rows")
    1
    """
    if vectorized:
        from datasets.arrow_holdings import holdings_table

        got = holdings_table(path, weight_unit=weight_unit, quality=quality, sum_tol=sum_tol,
                             allow_partial=allow_partial, encoding=encoding)
        if got is not None:
            return Holdings(got[0], partial=got[1])
    rows = read_holdings(path, weight_unit=weight_unit, quality=quality, encoding=encoding)
    return finish_snapshots(rows, source=rows.attrs["source"], row_kind=rows.attrs["row_kind"],
                            quality=quality, sum_tol=sum_tol, allow_partial=allow_partial)


def check_holdings_in_flows(holdings: Holdings, flows: ConstituentFlows, *,
                            quality: DataQuality | None = None, source: str = "holdings",
                            max_missing_weight: float = 0.0) -> pd.DataFrame:
    """Check that every holding is a stock of the flow panel.

    Parameters
    ----------
    holdings : Holdings
    flows : ConstituentFlows
    quality : DataQuality, optional
        Receives the count of tolerated missing holdings.
    source : str
        Name of the holdings source for messages.
    max_missing_weight : float
        Largest total weight (fraction) of one snapshot that may be missing from the panel;
        missing holdings then contribute nothing to synthesized flow (counted).

    Returns
    -------
    pd.DataFrame
        The missing holdings (``etf, effective_date, stock, weight``), empty if none.

    Raises
    ------
    DataError
        When a snapshot's missing weight exceeds ``max_missing_weight``; names the ETF, date,
        the heaviest missing stock and its weight.
    """
    tab = holdings.table
    missing = tab[~tab["stock"].isin(pd.Index(flows.stocks))]
    if missing.empty:
        return missing
    per_snap = missing.groupby(["etf", "effective_date"])["weight"].sum()
    over = per_snap[per_snap > max_missing_weight + 1e-12]
    if len(over):
        etf, d = over.index[0]
        snap = missing[(missing["etf"] == etf) & (missing["effective_date"] == d)]
        top = snap.sort_values("weight", ascending=False).iloc[0]
        raise DataError(
            f"{etf} on {pd.Timestamp(d).date()} holds {len(snap)} stocks absent from the flow "
            f"panel ({over.iloc[0] * 100:.2f}% of weight), e.g. {top['stock']} at "
            f"{top['weight'] * 100:.2f}%",
            file=source, column="stock",
            fix="load flows for those stocks, or allow the gap with max_missing_weight=")
    if quality is not None:
        quality.add(source, "ignored", "holdings absent from the flow panel", len(missing),
                    rule=f"<= {max_missing_weight * 100:g}% of a snapshot")
    return missing


def load_top_holdings_wide(path, *, etf: str | None = None, quality: DataQuality | None = None,
                           sum_tol: float = 0.02, on_repeated_date: str = "last",
                           allow_partial: bool = False,
                           encoding: str | None = None) -> Holdings:
    """Load a wide top-N holdings history (``date, TICKER1, TICKER2, ..., SUM``, percent).

    Parameters
    ----------
    path : str or Path
        CSV or Parquet; first column the date (``MM/DD/YYYY`` or ISO), then one column per
        holding with its weight in percent, optionally ``SUM`` (checked against the row sum
        within 0.5 percentage points).
    etf : str, optional
        Fund ticker; default the file stem (``SPY.parquet`` -> ``SPY``).
    quality : DataQuality, optional
        Receives rows read, dropped ``n/a``/cash columns' cells and renormalized snapshots.
    sum_tol : float
        A row may not exceed 100% by more than this (fraction).
    on_repeated_date : {"last", "error"}
        Rows sharing a date (a scraper run twice a day): keep the last and count the others
        (default), or raise.
    allow_partial : bool
        Accept rows listing less than ``1 - sum_tol`` of the fund and keep their weights as
        given (default: refuse them; see the module docstring).

    Returns
    -------
    Holdings
        One snapshot per row: a complete row renormalized to sum to 1 after dropping cash and
        ``n/a``; a partial row (``allow_partial``) kept as given.

    Raises
    ------
    DataError
        Bad dates or numbers, negative weights, rows off their ``SUM``, rows above 100%,
        unsorted dates (and repeated ones with ``on_repeated_date="error"``).
    """
    from pathlib import Path

    t = read_table(path, encoding=encoding, quality=quality)
    etf = etf if etf is not None else Path(path).stem
    t.require_rows("holdings file")
    date_col = t.columns[0]
    dates = t.dates(date_col)
    steps = np.diff(dates.asi8)
    if (steps < 0).any():
        i = int(np.flatnonzero(steps < 0)[0]) + 1
        raise t.error(f"dates are out of order: {dates[i].date()} follows {dates[i - 1].date()}",
                      pos=i, column=date_col, fix="re-export the file sorted by date")
    # The scraped histories repeat a date when the scraper ran twice: keep the last row.
    last = ~pd.Index(dates).duplicated(keep="last")
    if on_repeated_date == "error" and not last.all():
        i = int(np.flatnonzero(pd.Index(dates).duplicated(keep="first"))[0])
        raise t.error(f"date {dates[i].date()} appears twice", pos=i, column=date_col,
                      fix="keep one row per date (or on_repeated_date='last')")
    if quality is not None:
        quality.add(t.source, "dropped", "rows of a repeated date (the last one kept)",
                    int((~last).sum()), rule="a later scrape supersedes an earlier one")
    order = np.flatnonzero(last)
    names = [c for c in t.columns[1:] if c.upper() != "SUM"]
    if not names:
        raise DataError("no holding columns", file=t.source, row=1 if t.row_kind == "line"
                        else None, fix="one column per holding ticker after the date")
    w = np.column_stack([t.numbers(c, what=f"weight of {c}", required=False)
                         for c in names]) / 100.0
    empty = np.isnan(w)
    if quality is not None:
        quality.add(t.source, "treated as 0", "empty weight cells (holding not listed that day)",
                    int(empty[order].sum()), rule="an empty cell of a top-N history is not held")
    w = np.where(empty, 0.0, w)  # counted above: an empty cell is "not held that day", like 0
    sum_col = next((c for c in t.columns[1:] if c.upper() == "SUM"), None)
    if sum_col is not None:
        total = t.numbers(sum_col, what="SUM") / 100.0
        # Scraped SUMs are off the row sum by up to 0.32 pp in the real IWN history.
        off = np.abs(w.sum(axis=1) - total) > 5e-3
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise t.error(f"SUM {total[i] * 100:.2f}% differs from the row's weights "
                          f"{w[i].sum() * 100:.2f}%", pos=i, column=sum_col,
                          fix="a column is missing or shifted; re-export the file")
    held = w != 0
    r, c = np.nonzero(held[order])
    codes = np.asarray(names, dtype=object)[c]
    rows = pd.DataFrame({
        "etf": str(etf), "effective_date": dates[order][r], "stock": codes,
        "weight": w[order][r, c], "cash": is_cash(codes, codes),
        "line": np.asarray(t.frame.index)[order][r]})
    unnamed = rows["stock"].str.strip().str.lower().isin(["n/a", "na", "-", ""]).to_numpy()
    if quality is not None:
        quality.add(t.source, "dropped", "holdings without a ticker ('n/a')",
                    int(unnamed.sum()), rule="cannot be matched to a stock")
    rows = rows[~unnamed]
    return finish_snapshots(rows, source=t.source, row_kind=t.row_kind, quality=quality,
                            sum_tol=sum_tol, allow_partial=allow_partial)
