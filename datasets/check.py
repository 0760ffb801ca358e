"""Load and validate one data file of a known kind and describe what it holds.

The logic behind ``flowbt data check FILE --kind KIND`` (the command is
:mod:`engine.app.data_check`).

Prints a one-line description, the data-quality summary (everything read, filled, dropped or
renormalized) and a few real figures from the file (totals, the largest values) so the user
can compare them with the source. Exit code 0 when the file loads. Bad input raises
:class:`~engine.errors.DataError`, which the CLI prints as one line naming file, line, column
and the fix, exiting 2 (``flowbt --debug`` shows the traceback).

Kinds
-----
=================  ===========================================================================
krx-netbuy         KRX per-stock net purchases of one investor type (NETBID_TRDVAL / 순매수거래대금)
krx-marketcap      KRX all-listing quotes with market caps (MKTCAP / 시가총액)
krx-pdf            KRX ETF portfolio deposit file (COMPST_RTO / 비중)
pykrx-investor     saved ``get_market_trading_value_by_date`` (or KRX TRD_DD/TRDVAL1..4)
pykrx-marketcap    saved ``get_market_cap`` (by ticker, or by date for one ticker)
pykrx-pdf          saved ``get_etf_portfolio_deposit_file``
etf-flows          long ``date, ticker, flow_usd``
etf-shares-nav     long ``date, ticker, shares, nav`` panel (flows derived)
holdings           issuer-style ``date, etf, ticker, weight`` (%)
holdings-wide      scraped top-N history ``date, TICKER1, TICKER2, ..., SUM`` (%), ETF = file stem
prices             closes, wide ``date, A, B, ...`` or long ``date, ticker, close``
generic-netbuy     long ``date, stock, investor, net_buy[, net_buy_shares]``
generic-market     long ``date, stock, market_cap, close``
generic-wide       wide daily ``date, stock, net_buy_<investor>...[, net_buy_shares_<investor>...][, market_cap, close]``
=================  ===========================================================================
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DETECT_ORDER", "KINDS", "check_file", "detect_kind", "explain_kind_failure",
           "header_key"]

KINDS = (
    "krx-netbuy", "krx-marketcap", "krx-pdf", "pykrx-investor", "pykrx-marketcap", "pykrx-pdf",
    "etf-flows", "etf-shares-nav", "holdings", "holdings-wide", "prices", "generic-netbuy", "generic-market",
    "generic-wide",
)


#: Order in which :func:`detect_kind` tries the kinds: the stricter layouts first (a pykrx PDF's
#: ``티커, 계약수, 금액, 비중`` would also parse as a KRX PDF but with its cash row kept; a wide
#: price table accepts almost anything with a date column, so it comes last).
DETECT_ORDER = (
    "krx-netbuy", "krx-marketcap", "pykrx-pdf", "krx-pdf", "pykrx-investor", "pykrx-marketcap",
    "generic-netbuy", "generic-wide", "generic-market", "etf-shares-nav", "etf-flows", "holdings",
    "holdings-wide", "prices",
)
_DETECTED: dict[tuple, tuple[str, ...]] = {}


def header_key(path, encoding=None) -> tuple:
    """The file's header (first line or Parquet column names) and suffix: kinds depend on it."""
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return (p.suffix.lower(), tuple(pq.read_schema(p).names))
    with open(p, "rb") as fh:
        first = fh.readline(65536)
    return (p.suffix.lower(), first.strip(), encoding)


def readable_kinds(path, *, encoding=None, options=None, stop_at_first: bool = False,
                   header: tuple | None = None) -> tuple[str, ...]:
    """Kinds (in :data:`DETECT_ORDER`) whose loader reads ``path`` without a DataError.

    Results are cached per (header, suffix, options): importing 7,500 daily files of one layout
    detects once. File-name information (PDF code and date) is part of the options key.
    ``header``: the file's :func:`header_key`, when the caller has read it already.
    """
    from engine.errors import DataError

    opts = dict(options or {})
    key = (header if header is not None else header_key(path, encoding), tuple(sorted((k, str(v)) for k, v in opts.items())),
           Path(path).name if "pdf" in Path(path).name.lower() else None, stop_at_first)
    if key in _DETECTED:
        return _DETECTED[key]
    ok = []
    kw = {k: opts[k] for k in ("etf", "weight_unit", "allow_partial", "nav_from") if k in opts}
    date = opts.get("effective_date", opts.get("date"))
    from datasets._csv import shared_tables
    from datasets.arrow_long import market_rows, netbuy_rows
    from datasets.arrow_wide import wide_batch

    fast = {"generic-netbuy": netbuy_rows, "generic-market": market_rows,
            "generic-wide": lambda p, encoding: wide_batch([p], [1], encoding=encoding)}
    with shared_tables():  # the file is parsed once, not once per kind tried
        for kind in DETECT_ORDER:
            # a generic long file the vectorized reader accepts is one the text loader reads
            # (datasets.arrow_long returns None on anything it does not decide)
            if kind in fast and fast[kind](path, encoding=encoding) is not None:
                ok.append(kind)
                if stop_at_first:
                    break
                continue
            try:
                check_file(path, kind, encoding=encoding, date=date, **kw)
            except (DataError, KeyError, IndexError):
                continue
            ok.append(kind)
            if stop_at_first:
                break
    if ok:
        # only what a layout is: a file that no kind reads may be a bad file of a good
        # layout (an empty cell, a typo), and must not make the next file of the same
        # header unreadable
        _DETECTED[key] = tuple(ok)
    return tuple(ok)


def detect_kind(path, *, encoding=None, options=None, header: tuple | None = None) -> str:
    """The kind of ``path`` when ``--kind`` is omitted (the first of :data:`DETECT_ORDER` that
    reads it). ``header``: its :func:`header_key`, when already read.

    Raises
    ------
    DataError
        No kind reads the file; the message lists what was tried.
    """
    from engine.errors import DataError

    kinds = readable_kinds(path, encoding=encoding, options=options, stop_at_first=True,
                           header=header)
    if not kinds:
        near = _nearest_kind(path, encoding=encoding, options=options)
        if near is not None:
            kind, exc = near
            # the layout is known and one cell is wrong: say which, not "no known kind"
            raise DataError(f"{exc.problem} (the file's columns are those of --kind {kind})",
                            file=exc.file or Path(path).name, row=exc.row, column=exc.column,
                            row_kind=exc.row_kind, fix=exc.fix)
        raise DataError("no known kind reads this file (tried " + ", ".join(DETECT_ORDER) + ")",
                        file=Path(path).name,
                        fix="run `flowbt data check FILE --kind KIND` with the kind it should "
                            "be to see what is wrong with it")
    return kinds[0]


#: Kinds whose loaders take any header (a date column, then one column per ticker): that one of
#: them stops at a cell says nothing about the file's layout.
_ANY_HEADER = frozenset({"holdings-wide", "prices"})


def _nearest_kind(path, *, encoding=None, options=None):
    """``(kind, error)`` of the first kind whose loader gets past the header and stops at a
    cell (a row past the header line), or None: a file of a known layout with a bad value.

    Only on the failure path of :func:`detect_kind`, so trying the loaders again costs
    nothing when files are fine.
    """
    from engine.errors import DataError

    opts = dict(options or {})
    kw = {k: opts[k] for k in ("etf", "weight_unit", "allow_partial", "nav_from") if k in opts}
    date = opts.get("effective_date", opts.get("date"))
    for kind in DETECT_ORDER:
        if kind in _ANY_HEADER:
            continue
        try:
            check_file(path, kind, encoding=encoding, date=date, **kw)
        except DataError as exc:
            at_cell = exc.row is not None and exc.column is not None and not (
                exc.row_kind == "line" and exc.row <= 1)
            if at_cell:
                return kind, exc
        except (KeyError, IndexError):
            continue
    return None


def explain_kind_failure(exc, path, kind: str, options=None):
    """``exc`` (a DataError reading ``path`` as ``kind``) plus the kind that would read it."""
    from engine.errors import DataError

    others = [k for k in readable_kinds(path, encoding=(options or {}).get("encoding"),
                                        options=options) if k != kind]
    if not others:
        return exc
    return DataError(f"{exc.problem}; this file is not --kind {kind} but reads as "
                     f"--kind {others[0]}", file=exc.file, row=exc.row, column=exc.column,
                     row_kind=exc.row_kind,
                     fix=f"pass --kind {others[0]} (or leave --kind out to detect it)")


def _krw(x: float) -> str:
    return f"{x:,.0f} KRW"


def _top(series, n: int, fmt, *, positive: bool = False) -> list[str]:
    """The ``n`` largest values as display lines; ``positive``: only values > 0 (a list of
    inflows must not show the smallest outflow), ``none`` when there are none."""
    # display only (the largest values); NaN counts are in the printed quality summary
    s = series.dropna()
    if positive:
        s = s[s > 0]
        if s.empty:
            return ["    none"]
    big = s.sort_values(ascending=False).head(n)
    return [f"    {k}: {fmt(v)}" for k, v in big.items()]


def check_file(path, kind: str, *, encoding=None, etf=None, date=None, weight_unit="pct",
               allow_partial=False, nav_from=None, top: int = 5) -> str:
    """Load ``path`` as ``kind`` and return the report text (raises DataError on bad input)."""
    import numpy as np

    from engine.errors import DataQuality

    q = DataQuality()
    name = Path(path).name
    lines: list[str] = []
    figures: list[str] = []
    if kind == "krx-netbuy":
        from datasets.krx import parse_krx_filename, read_krx_netbuy

        f = read_krx_netbuy(path, quality=q, encoding=encoding)
        meta = parse_krx_filename(path)
        who = meta.get("investor", "one investor type")
        period = (f", {meta['start'].date()} .. {meta['date'].date()}" if "start" in meta else "")
        lines.append(f"{name}: KRX net purchases of {who}{period}, {len(f):,} stocks")
        figures.append(f"  total net buying: {_krw(f['net_buy_krw'].sum())}")
        if f["net_buy_shares"].notna().any():
            figures.append(f"  total net buying in shares: {f['net_buy_shares'].sum():,.0f}")
        label = f["net_buy_krw"].rename(lambda s: f"{s} {f.loc[s, 'name']}".strip())
        figures.append("  largest net buying:")
        figures += _top(label, top, _krw, positive=True)
        figures.append("  largest net selling:")
        figures += _top(-label, top, lambda v: _krw(-v), positive=True)
    elif kind == "krx-marketcap":
        from datasets.krx import read_krx_marketcap

        f = read_krx_marketcap(path, quality=q, encoding=encoding)
        by_mkt = f.groupby("market")["market_cap_krw"].agg(["size", "sum"])
        lines.append(f"{name}: KRX market caps of {len(f):,} listings")
        for mkt, r in by_mkt.iterrows():
            figures.append(f"  {mkt or '(no market)'}: {int(r['size']):,} listings, "
                           f"market cap {_krw(r['sum'])}")
        figures.append(f"  total market cap: {_krw(f['market_cap_krw'].sum())}")
        figures.append("  largest:")
        figures += _top(f["market_cap_krw"].rename(lambda s: f"{s} {f.loc[s, 'name']}".strip()),
                        top, _krw)
    elif kind in ("krx-pdf", "pykrx-pdf"):
        if kind == "krx-pdf":
            from datasets.krx import load_krx_pdf as load
        else:
            from datasets.pykrx_files import load_pykrx_pdf as load
        h = load(path, etf=etf, date=date, quality=q, encoding=encoding)
        tab = h.table
        lines.append(f"{name}: PDF of ETF {tab['etf'].iloc[0]} effective "
                     f"{tab['effective_date'].iloc[0].date()}, {len(tab)} constituents")
        figures.append(f"  weights sum to {tab['weight'].sum():.6f} after cash removal")
        figures.append("  largest weights:")
        figures += _top(tab.set_index("stock")["weight"], top, lambda v: f"{v * 100:.2f}%")
    elif kind == "pykrx-investor":
        from datasets.pykrx_files import read_pykrx_investor_value

        f = read_pykrx_investor_value(path, quality=q, encoding=encoding)
        lines.append(f"{name}: net buying by investor, {len(f)} days "
                     f"{f.index[0].date()} .. {f.index[-1].date()}, investors {', '.join(f.columns)}")
        figures.append("  total net buying over the period:")
        figures += [f"    {k}: {_krw(v)}" for k, v in f.sum().items()]
    elif kind == "pykrx-marketcap":
        from datasets._csv import read_table
        from datasets.pykrx_files import read_pykrx_marketcap, read_pykrx_marketcap_by_date

        first = read_table(path, encoding=encoding).columns[0]
        if first in ("날짜", "일자", "date"):
            f = read_pykrx_marketcap_by_date(path, quality=q, encoding=encoding)
            lines.append(f"{name}: market cap of one ticker, {len(f)} days "
                         f"{f.index[0].date()} .. {f.index[-1].date()}")
            figures.append(f"  last market cap: {_krw(f['market_cap_krw'].iloc[-1])}")
        else:
            f = read_pykrx_marketcap(path, quality=q, encoding=encoding)
            lines.append(f"{name}: market caps of {len(f):,} tickers")
            figures.append(f"  total market cap: {_krw(f['market_cap_krw'].sum())}")
            figures.append("  largest:")
            figures += _top(f["market_cap_krw"], top, _krw)
    elif kind in ("etf-flows", "etf-shares-nav"):
        from datasets.etf_flows import load_etf_flows, load_etf_shares_nav

        if kind == "etf-flows":
            e = load_etf_flows(path, quality=q, encoding=encoding)
        else:
            e = load_etf_shares_nav(path, quality=q, encoding=encoding, nav_from=nav_from)
        fl = e.frame("flow")
        lines.append(f"{name}: {len(e.etfs)} ETFs x {len(e.dates)} days "
                     f"{e.dates[0].date()} .. {e.dates[-1].date()} ({e.currency})")
        total = fl.sum()
        figures.append(f"  total net flow: {total.sum():,.0f} {e.currency}")
        figures.append("  largest inflows over the period:")
        figures += _top(total, top, lambda v: f"{v:,.0f} {e.currency}", positive=True)
        figures.append("  largest outflows over the period:")
        figures += _top(-total, top, lambda v: f"{-v:,.0f} {e.currency}", positive=True)
    elif kind in ("holdings", "holdings-wide"):
        from datasets.holdings_files import load_holdings, load_top_holdings_wide

        if kind == "holdings":
            h = load_holdings(path, weight_unit=weight_unit, quality=q, encoding=encoding,
                              allow_partial=allow_partial)
        else:
            h = load_top_holdings_wide(path, etf=etf, quality=q, encoding=encoding,
                                       allow_partial=allow_partial)
        tab = h.table
        n_snap = tab.groupby("etf")["effective_date"].nunique()
        lines.append(f"{name}: holdings of {len(n_snap)} ETFs, {int(n_snap.sum())} snapshots, "
                     f"{len(tab):,} rows")
        if h.partial:  # --allow-partial: weights kept as given; show how much of each fund
            cov = tab.groupby(["etf", "effective_date"])["weight"].sum()
            figures.append(f"  coverage (partial, not renormalized): {cov.min() * 100:.2f}%"
                           f" .. {cov.max() * 100:.2f}% of the fund")
        for e in n_snap.index[:top]:
            w = h.weights_at(e, tab.loc[tab["etf"] == e, "effective_date"].max())
            heavy = w.sort_values(ascending=False).head(3)
            figures.append(f"  {e} latest: " + ", ".join(f"{k} {v * 100:.2f}%"
                                                         for k, v in heavy.items()))
    elif kind == "prices":
        from datasets.generic import read_prices

        p = read_prices(path, quality=q, encoding=encoding)
        lines.append(f"{name}: closes of {p.shape[1]} assets x {p.shape[0]} days "
                     f"{p.index[0].date()} .. {p.index[-1].date()}")
        first = p.apply(lambda s: s.dropna().iloc[0] if s.notna().any() else np.nan)
        last = p.apply(lambda s: s.dropna().iloc[-1] if s.notna().any() else np.nan)
        figures.append("  total return first..last available close:")
        figures += [f"    {k}: {v * 100:+.2f}%" for k, v in (last / first - 1).head(top * 4).items()]
    elif kind == "generic-netbuy":
        from datasets.generic import read_long_netbuy

        f = read_long_netbuy(path, quality=q, encoding=encoding)
        lines.append(f"{name}: {len(f):,} net-buy rows, {f['stock'].nunique():,} stocks, "
                     f"{f['date'].nunique()} days {f['date'].min().date()} .. "
                     f"{f['date'].max().date()}")
        figures.append("  total net buying by investor:")
        figures += [f"    {k}: {_krw(v)}" for k, v in f.groupby("investor")["net_buy"].sum().items()]
    elif kind == "generic-wide":
        from datasets.generic import read_wide_daily

        f = read_wide_daily(path, quality=q, encoding=encoding)
        inv = f.attrs["investors"]
        lines.append(f"{name}: {len(f):,} stock-day rows (wide), {f['stock'].nunique():,} "
                     f"stocks, {f['date'].nunique()} days, investors {', '.join(inv)}"
                     + (", with market caps" if f.attrs["market"] else ""))
        figures.append("  total net buying by investor:")
        figures += [f"    {k}: {_krw(f[f'net_buy_{k}'].sum())}" for k in inv]
    elif kind == "generic-market":
        from datasets.generic import read_long_market

        f = read_long_market(path, quality=q, encoding=encoding)
        last = f[f["date"] == f["date"].max()]
        lines.append(f"{name}: {len(f):,} market rows, {f['stock'].nunique():,} stocks, "
                     f"{f['date'].nunique()} days")
        figures.append(f"  total market cap on {f['date'].max().date()}: "
                       f"{_krw(last['market_cap'].sum())}")
    else:  # argparse restricts choices; direct callers get a clear message
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return "\n".join(lines + [q.summary(), "figures"] + figures)
