"""Flow sections: the position chart (cumulative net buying per investor), the daily net-buy
table, bp vs the naive sums, the ETF x week flow heatmap, coverage, and the price-flow
divergence quadrant.

Reads the signals run directory (README "Run directories"): ``signals.parquet`` and
``positions.parquet`` long with ``date, etf, investor, method, value, unit``, and
``coverage.parquet`` (``date, etf, covered_weight, usable``); the quadrant reads
``divergence.csv`` (``etf, price_return, flow, label``) when a run wrote one.

Colours as on Korean broker screens: foreign green, individual red, institution blue; labels
carry the Korean name beside the English id (외국인 foreign, 개인 individual, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.report._html import Context, esc, page, table
from engine.report.registry import section

__all__ = ["INVESTOR_COLORS", "INVESTOR_LABELS", "investor_label", "position_figure",
           "quadrant_figure", "signals_chart_html", "write_signals_chart"]

#: Korean broker-screen colours; the other investor types get muted distinct colours.
INVESTOR_COLORS: dict[str, str] = {
    "foreign": "#1a9641", "individual": "#d7191c", "institution": "#2b6cc4",
    "pension": "#7b3fa0", "financial_investment": "#f08c00", "investment_trust": "#17a2b8",
    "insurance": "#8c564b", "private_fund": "#e377c2", "bank": "#6c757d",
    "other_finance": "#bcbd22", "other_corp": "#996633", "other_foreign": "#66c2a5",
}
#: Korean names (KRX portal spelling) of the canonical investor ids (engine.investors).
INVESTOR_LABELS: dict[str, str] = {
    "foreign": "외국인", "other_foreign": "기타외국인", "institution": "기관합계",
    "financial_investment": "금융투자", "insurance": "보험", "investment_trust": "투신",
    "private_fund": "사모", "bank": "은행", "other_finance": "기타금융", "pension": "연기금",
    "other_corp": "기타법인", "individual": "개인",
}
#: Investors drawn by default; the others start hidden (click the legend to show them).
SHOWN = ("foreign", "individual", "institution", "pension", "financial_investment")
#: Rows of the daily net-buy table (most recent sessions).
TABLE_ROWS = 20
#: Divergence labels (engine.signals.Divergence) and their quadrant colours.
QUADRANT = {"trend": "#1a9641", "distribution": "#f08c00", "accumulation": "#2b6cc4",
            "rotation_out": "#d7191c"}


def investor_label(inv: str) -> str:
    """``"외국인 foreign"`` for ``"foreign"``; unknown ids are returned unchanged."""
    k = INVESTOR_LABELS.get(inv)
    return f"{k} {inv}" if k else str(inv)


def _unit_title(unit: str, run: dict | None = None) -> str:
    """Axis title of a unit; a run.json ``unit_titles`` mapping overrides (e.g. market-wide
    flows, whose bp are of the market's own cap)."""
    custom = (run or {}).get("unit_titles") or {}
    return custom.get(unit) or {"bp": "bp of constituent market cap x ETF weight",
                                "KRW": "KRW", "shares": "shares"}.get(unit, unit)


def _wide(long: pd.DataFrame, etf, method) -> pd.DataFrame:
    sel = long[(long["etf"] == etf) & (long["method"] == method)]
    w = sel.pivot_table(index="date", columns="investor", values="value", aggfunc="first",
                        dropna=False)
    w.index = pd.DatetimeIndex(w.index)
    return w.sort_index()


def _investor_order(cols) -> list[str]:
    rank = {k: i for i, k in enumerate(SHOWN)}
    return sorted(map(str, cols), key=lambda c: (rank.get(c, 99), c))


def position_figure(positions: pd.DataFrame, *, etf: str | None = None, method: str = "bp",
                    title: str | None = None):
    """The position chart: cumulative net buying per investor over time.

    Parameters
    ----------
    positions : pd.DataFrame
        Either the long positions.parquet frame (``date, etf, investor, method, value, unit``;
        ``etf`` and ``method`` select one ETF) or a wide frame (dates x investor ids).
    etf, method : str, optional
        Selection in the long frame (default: its first ETF, ``"bp"``).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One line per investor in broker colours, Korean + English names; the investors of
        :data:`SHOWN` visible, the others one legend click away.
    """
    import plotly.graph_objects as go

    unit = ""
    if "investor" in positions.columns:
        etf = etf if etf is not None else str(positions["etf"].iloc[0])
        units = positions.loc[positions["method"] == method, "unit"]
        unit = str(units.iloc[0]) if len(units) else ""
        wide = _wide(positions, etf, method)
    else:
        wide = positions
    fig = go.Figure()
    for inv in _investor_order(wide.columns):
        fig.add_trace(go.Scatter(
            x=wide.index, y=wide[inv], name=investor_label(inv), mode=_mode(len(wide)),
            line=dict(color=INVESTOR_COLORS.get(inv, "#999999"),
                      width=2 if inv in SHOWN[:3] else 1.2),
            visible=True if inv in SHOWN else "legendonly"))
    fig.update_layout(title=title or f"Position chart (누적 순매수, cumulative net buying): {etf}",
                      yaxis_title=_unit_title(unit), hovermode="x unified",
                      legend=dict(orientation="h", y=-0.12))
    fig.add_hline(y=0, line=dict(color="#888", width=1))
    _date_axis(fig, wide.index)
    return fig


def _etf_dropdown(fig, etfs: list[str], visibility: list[list]):
    """Dropdown switching which ETF's traces are visible (traces ordered ETF by ETF);
    ``visibility[i]`` is the visible state of ETF i's traces when it is selected."""
    total = sum(len(v) for v in visibility)
    buttons, start = [], 0
    for e, v in zip(etfs, visibility, strict=True):
        vis: list = [False] * total
        vis[start:start + len(v)] = v
        buttons.append(dict(label=e, method="update", args=[{"visible": vis}]))
        start += len(v)
    fig.update_layout(updatemenus=[dict(buttons=buttons, x=1.0, xanchor="right", y=1.15,
                                        direction="down")])


def _methods(long: pd.DataFrame) -> list[str]:
    m = [str(x) for x in long["method"].unique()]
    return (["bp"] if "bp" in m else []) + [x for x in m if x != "bp"]


#: Up to this many points a line also draws its markers (one period total is one point: a
#: line alone would draw nothing).
MARKERS_UP_TO = 60


def _mode(n: int) -> str:
    return "lines+markers" if n <= MARKERS_UP_TO else "lines"


def _date_axis(fig, index: pd.DatetimeIndex) -> None:
    """Day ticks for a short history (plotly would otherwise zoom a single date down to
    milliseconds), a week either side of a single date."""
    if len(index) and index.max() - index.min() < pd.Timedelta(days=14):
        fig.update_xaxes(tickformat="%Y-%m-%d", dtick=86_400_000)
        if index.min() == index.max():
            d = pd.Timestamp(index.min())
            fig.update_xaxes(range=[d - pd.Timedelta(days=7), d + pd.Timedelta(days=7)])


def _period_labels(long: pd.DataFrame) -> dict | None:
    """``{date: "start..end"}`` when the rows are period totals (a KRX query over several
    sessions, README "Bring your own data"), else None: such a value is never one day's flow."""
    if "period_start" not in long.columns:
        return None
    p = long.dropna(subset=["period_start"])
    p = p[pd.DatetimeIndex(p["period_start"]) != pd.DatetimeIndex(p["date"])]
    if p.empty:
        return None
    return {pd.Timestamp(d): f"{pd.Timestamp(a).date()}..{pd.Timestamp(d).date()}"
            for d, a in p[["date", "period_start"]].drop_duplicates().itertuples(index=False)}


@section("positions", "Flows: position chart and daily net-buy table", order=60)
def positions_section(files, ctx):
    import plotly.graph_objects as go

    pos = files.parquet("positions.parquet")
    daily = files.parquet("signals.parquet")
    if pos is None and daily is None:
        return None
    if pos is None:  # the position chart is the cumulative sum of the daily table
        pos = daily.sort_values("date").copy()
        pos["value"] = pos.groupby(["etf", "investor", "method"])["value"].cumsum()
    method = _methods(pos)[0]
    pm = pos[pos["method"] == method]
    etfs = [str(x) for x in pm["etf"].unique()]
    fig = go.Figure()
    visibility = []
    for i, e in enumerate(etfs):
        wide = _wide(pm, e, method)
        invs = _investor_order(wide.columns)
        visibility.append([True if inv in SHOWN else "legendonly" for inv in invs])
        for inv in invs:
            vis = (True if inv in SHOWN else "legendonly") if i == 0 else False
            fig.add_trace(go.Scatter(x=wide.index, y=wide[inv], name=investor_label(inv),
                                     mode=_mode(len(wide)), visible=vis,
                                     line=dict(color=INVESTOR_COLORS.get(inv, "#999"),
                                               width=2 if inv in SHOWN[:3] else 1.2)))
    unit = str(pm["unit"].iloc[0])
    fig.update_layout(title=f"Position chart (누적 순매수, cumulative net buying), "
                            f"method {method}", yaxis_title=_unit_title(unit, files.run),
                      hovermode="x unified", legend=dict(orientation="h", y=-0.12))
    if len(etfs) > 1:
        _etf_dropdown(fig, etfs, visibility)
    _date_axis(fig, pd.DatetimeIndex(pm["date"]))
    out = [ctx.heading("positions", "Flows: position chart and daily net-buy table"),
           f'<p class="note">{len(etfs)} series ({esc(", ".join(etfs[:12]))}'
           f'{" ..." if len(etfs) > 12 else ""}); pick one in the menu. Foreign green, '
           "individual red, institution blue (Korean broker colours).</p>",
           ctx.figure(fig, height=460)]
    if daily is not None:
        dm = daily[(daily["method"] == method) & (daily["etf"] == etfs[0])]
        wide = _wide(dm, etfs[0], method)[_investor_order(dm["investor"].unique())]
        tail = wide.tail(TABLE_ROWS).iloc[::-1]
        tail.columns = [investor_label(c) for c in tail.columns]
        periods = _period_labels(dm)
        if periods:  # a period total is labelled with its period, never as one day's flow
            tail.index = [periods.get(d, str(d.date())) for d in tail.index]
            tail.index.name = "period"
            what = ("Net-buy table by period (기간 순매수)", "periods (KRX period totals)")
        else:
            tail.index = tail.index.date
            tail.index.name = "date"
            what = ("Daily net-buy table (일별 순매수)", "sessions")
        out += [f"<h3>{what[0]}: {esc(etfs[0])}, last "
                f"{len(tail)} {what[1]}, {esc(_unit_title(unit, files.run))}</h3>",
                table(tail, default="+,.2f" if unit == "bp" else "+,.0f")]
        out.append(_naive_block(daily, etfs[0], ctx))
    return "".join(out)


def _naive_block(daily: pd.DataFrame, etf: str, ctx) -> str:
    """bp vs the naive amount / shares sums for one ETF's foreign flow, and the sign
    disagreement over every ETF-investor-day."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    methods = _methods(daily)
    if "bp" not in methods or len(methods) < 2:
        return ""
    inv = "foreign" if "foreign" in daily["investor"].unique() else str(daily["investor"].iloc[0])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    rows = []
    key = ["date", "etf", "investor"]
    bp = daily[daily["method"] == "bp"].set_index(key)["value"]
    for m in methods:
        d = daily[(daily["method"] == m) & (daily["etf"] == etf) & (daily["investor"] == inv)]
        d = d.sort_values("date")
        unit = str(d["unit"].iloc[0]) if len(d) else ""
        fig.add_trace(go.Scatter(x=pd.DatetimeIndex(d["date"]), y=d["value"].cumsum(),
                                 name=f"{m} ({unit}, cumulative)", mode=_mode(len(d)),
                                 line=dict(width=2 if m == "bp" else 1.3,
                                           dash=None if m == "bp" else "dot")),
                      secondary_y=(m != "bp"))
        if m != "bp":
            other = daily[daily["method"] == m].set_index(key)["value"]
            a, b = other.align(bp, join="inner")
            ok = np.isfinite(a) & np.isfinite(b) & (a != 0) & (b != 0)
            rows.append({"naive method": m, "ETF-investor-days compared": int(ok.sum()),
                         "sign disagrees with bp": float(np.mean(np.sign(a[ok])
                                                                 != np.sign(b[ok])))
                         if ok.any() else np.nan})
    fig.update_layout(title=f"{investor_label(inv)} net buying of {etf}: bp method vs the "
                            "naive sums (right axis)", legend=dict(orientation="h", y=-0.15))
    fig.update_yaxes(title_text="bp", secondary_y=False)
    _date_axis(fig, pd.DatetimeIndex(daily["date"]))
    return ("<h3>bp vs the naive sums</h3>"
            '<p class="note">Summing KRW amounts lets one mega-cap drown the rest; summing '
            "shares mixes units of different prices. The bp method normalizes each "
            "constituent by its own market cap.</p>" + ctx.figure(fig, height=380)
            + table(pd.DataFrame(rows), index=False,
                    formats={"sign disagrees with bp": ".1%",
                             "ETF-investor-days compared": ",d"}))


@section("flow_heatmap", "Flows: ETF x week heatmap", order=61)
def flow_heatmap(files, ctx):
    import plotly.graph_objects as go

    daily = files.parquet("signals.parquet")
    if daily is None or daily.empty:
        return None
    method = _methods(daily)[0]
    inv = "foreign" if "foreign" in daily["investor"].unique() else str(daily["investor"].iloc[0])
    d = daily[(daily["method"] == method) & (daily["investor"] == inv)]
    wide = d.pivot_table(index="date", columns="etf", values="value", aggfunc="first",
                         dropna=False)
    wide.index = pd.DatetimeIndex(wide.index)
    periods = _period_labels(d)
    if periods:  # period totals are shown per period: summing them into weeks would mislabel
        weekly = wide.tail(52)
        x = [periods.get(t, str(t.date())) for t in weekly.index]
        per, hover = f"last {len(weekly)} periods", "period %{x}"
    else:
        # a week with any unknown day stays NaN (min_count = its number of sessions)
        weekly = wide.resample("W-FRI").sum(min_count=1).tail(52)
        x = [str(t.date()) for t in weekly.index]
        per, hover = f"last {len(weekly)} weeks", "week to %{x}"
    z = weekly.T.to_numpy()
    lim = float(np.nanpercentile(np.abs(z), 98)) if np.isfinite(z).any() else 1.0
    fig = go.Figure(go.Heatmap(z=z, x=x, y=list(map(str, weekly.columns)), colorscale="RdYlGn",
                               zmid=0, zmin=-lim, zmax=lim,
                               hovertemplate="%{y}, " + hover + ": %{z:+.2f}<extra></extra>"))
    # category axes: plotly would read the week labels as dates and zoom a single one to ms
    fig.update_layout(title=f"{'Weekly ' if not periods else ''}{investor_label(inv)} net "
                            f"buying by ETF ({method}), {per}",
                      yaxis_autorange="reversed", xaxis_type="category", yaxis_type="category")
    out = ctx.heading("flow_heatmap", "Flows: ETF x week heatmap") + ctx.figure(
        fig, height=max(300, 18 * len(weekly.columns) + 140))
    cov = files.parquet("coverage.parquet")
    if cov is not None and not cov.empty:
        c = cov.groupby("etf").agg(mean_covered_weight=("covered_weight", "mean"),
                                   min_covered_weight=("covered_weight", "min"),
                                   usable_days=("usable", "sum"), days=("usable", "size"))
        out += ("<h3>Coverage (weight of holdings with flow data)</h3>"
                + table(c, formats={"mean_covered_weight": ".1%", "min_covered_weight": ".1%",
                                    "usable_days": ",d", "days": ",d"}, scroll=True))
    return out


def quadrant_figure(df: pd.DataFrame, *, flow_unit: str = "USD", title: str | None = None):
    """The price-flow divergence quadrant scatter.

    Parameters
    ----------
    df : pd.DataFrame
        One row per ETF: ``etf``, ``price_return`` (fraction), ``flow`` (in ``flow_unit``),
        ``label`` (trend / distribution / accumulation / rotation_out).
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for lab, color in QUADRANT.items():
        d = df[df["label"] == lab]
        if d.empty:
            continue
        fig.add_trace(go.Scatter(x=d["price_return"], y=d["flow"], mode="markers+text",
                                 text=d["etf"], textposition="top center", name=lab,
                                 marker=dict(size=11, color=color)))
    fig.add_hline(y=0, line=dict(color="#888", width=1))
    fig.add_vline(x=0, line=dict(color="#888", width=1))
    for x, y, t in ((1, 1, "trend (price up, flow in)"), (1, 0, "distribution (up, out)"),
                    (0, 1, "accumulation (down, in)"), (0, 0, "rotation out (down, out)")):
        fig.add_annotation(xref="paper", yref="paper", x=0.98 if x else 0.02,
                           y=0.98 if y else 0.02, xanchor="right" if x else "left",
                           yanchor="top" if y else "bottom", text=t, showarrow=False,
                           font=dict(color="#777", size=11))
    fig.update_layout(title=title or "Price-flow divergence", xaxis_tickformat=".1%",
                      xaxis_title="price return over the window",
                      yaxis_title=f"net flow ({flow_unit})")
    return fig


@section("divergence", "Price-flow divergence", order=62)
def divergence_section(files, ctx):
    df = files.csv("divergence.csv")
    if df is None or df.empty:
        return None
    return (ctx.heading("divergence", "Price-flow divergence")
            + ctx.figure(quadrant_figure(df), height=460) + table(
                df.set_index("etf"), formats={"price_return": "+.2%", "flow": "+,.0f"}))


def signals_chart_html(run_dir, title: str | None = None) -> str:
    """The self-contained flows page of a signals run directory (position chart, daily table,
    naive sums, heatmap, coverage, quadrant): the chart ``flowbt signals --chart`` writes."""
    from engine.report.files import RunFiles

    files = RunFiles(run_dir)
    ctx = Context()
    body = "".join(h for fn in (positions_section, flow_heatmap, divergence_section)
                   if (h := fn(files, ctx)))
    if not body:
        from engine.errors import DataError

        raise DataError("no signals.parquet or positions.parquet", file=str(files.path),
                        fix="pass the --out directory of `flowbt signals`")
    name = title or files.run.get("name") or files.path.name
    return page(f"flowbt signals: {name}", "self-contained: plotly.js inline, no network",
                body, ctx.toc)


def write_signals_chart(run_dir, path=None, title: str | None = None) -> Path:
    """Write :func:`signals_chart_html` (default ``run_dir/signals.html``); return the path."""
    p = Path(path) if path is not None else Path(run_dir) / "signals.html"
    p.write_text(signals_chart_html(run_dir, title=title), encoding="utf-8")
    return p
