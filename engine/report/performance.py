"""Backtest sections: manifest, equity vs benchmarks with trigger markers, drawdowns, rolling
Sharpe and volatility, monthly and yearly returns, weights, turnover and costs, metrics.

Every number comes from the run directory's files (equity.parquet, weights.parquet,
orders.parquet, triggers.csv, metrics.csv, run.json); nothing is re-simulated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.conventions import DDOF, PERIODS_PER_YEAR
from engine.report._html import auto_formats, dumps, esc, table
from engine.report.registry import section

__all__ = ["drawdowns", "monthly_returns", "rolling_sharpe_vol", "yearly_returns"]

#: Window of the rolling Sharpe ratio and volatility (bars: one year).
ROLLING_BARS = PERIODS_PER_YEAR
#: Line colours: the strategy first, then benchmarks (plotly's default qualitative palette).
PALETTE = ("#1f4fa0", "#e07b00", "#2a9d3c", "#c0392b", "#7b4fa0", "#7f7f7f", "#17becf",
           "#bcbd22", "#8c564b", "#e377c2")


def drawdowns(equity: pd.DataFrame) -> pd.DataFrame:
    """Underwater curves: ``equity / running max - 1`` (fractions, <= 0)."""
    return equity / equity.cummax() - 1.0


def rolling_sharpe_vol(equity: pd.DataFrame, window_bars: int = ROLLING_BARS):
    """Rolling annualized Sharpe (zero risk-free rate, as in metrics.csv) and volatility.

    Returns
    -------
    (sharpe, vol) : two DataFrames shaped like ``equity``; NaN for the first ``window_bars``
    bars and where the rolling std is 0.
    """
    r = equity.pct_change(fill_method=None)
    mean = r.rolling(window_bars, min_periods=window_bars).mean()
    std = r.rolling(window_bars, min_periods=window_bars).std(ddof=DDOF)
    vol = std * np.sqrt(PERIODS_PER_YEAR)
    sharpe = mean * PERIODS_PER_YEAR / vol.where(vol > 0)
    return sharpe, vol


def _period_returns(equity: pd.DataFrame, freq: str) -> pd.DataFrame:
    # the first period starts from the first value, so it is a partial period's return; a
    # period without any value is NaN and the next one starts from the last value seen (the
    # returns still compound to the total)
    last = equity.resample(freq).last()
    prev = last.ffill().shift(1)
    prev.iloc[0] = equity.iloc[0]
    return last / prev - 1.0


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Calendar-month returns as a (year x month 1..12) table of fractions."""
    m = _period_returns(equity.to_frame(), "ME").iloc[:, 0]
    out = pd.DataFrame({"year": m.index.year, "month": m.index.month, "r": m.to_numpy()})
    return out.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))


def yearly_returns(equity: pd.DataFrame) -> pd.DataFrame:
    """Calendar-year returns (years x variants, fractions); first and last years partial."""
    y = _period_returns(equity, "YE")
    y.index = y.index.year
    y.index.name = "year"
    return y


def _flatten(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            yield from _flatten(v, key + ".")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                yield from _flatten(x, f"{key}.{i}.")
        else:
            yield key, v


def seed_of(run: dict) -> object:
    """The run's seed: run.json ``seed``, else the config's ``data.synthetic.seed``."""
    if "seed" in run:
        return run["seed"]
    cfg = run.get("config") or {}
    return ((cfg.get("data") or {}).get("synthetic") or {}).get("seed", "none (no randomness)")


@section("manifest", "Run manifest and parameters", order=0)
def manifest(files, ctx):
    run = files.run
    if not run:
        return None
    keys = ("name", "command", "config_file", "config_hash", "data_hash", "data_source",
            "start", "end", "n_bars", "n_variants", "swept_keys", "asof")
    rows = [(k, run[k]) for k in keys if k in run]
    rows.append(("seed", seed_of(run)))
    for k, v in (run.get("packages") or {}).items():
        rows.append((f"version: {k}", v))
    man = pd.DataFrame(rows, columns=["item", "value"]).set_index("item")
    man["value"] = [" ".join(map(str, v)) if isinstance(v, list) else str(v)
                    for v in man["value"]]
    out = [ctx.heading("manifest", "Run manifest and parameters"), table(man)]
    cfg = run.get("config")
    if isinstance(cfg, dict) and cfg:
        params = pd.DataFrame(list(_flatten(cfg)), columns=["key", "value"]).set_index("key")
        params["value"] = [dumps(v) if isinstance(v, (dict, list)) else str(v)
                           for v in params["value"]]
        out += ["<h3>Parameters (config as run)</h3>", table(params, scroll=True)]
    elif "parts" not in run and "config_hash" in run:
        out.append('<p class="note">run.json holds no "config": the parameters table needs '
                   "the config as run in run.json.</p>")
    return "".join(out)


def _line_colors(cols):
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(cols)}


def _triggers(files) -> pd.DataFrame | None:
    log = files.csv("triggers.csv")
    if log is None or log.empty:
        return None
    log = log.copy()
    log["date"] = pd.to_datetime(log["date"])
    return log


@section("equity", "Equity vs benchmarks", order=10)
def equity(files, ctx):
    import plotly.graph_objects as go

    eq = files.equity
    if eq is None or eq.empty or files.run.get("swept_keys"):
        return None
    colors = _line_colors(eq.columns)
    fig = go.Figure()
    for c in eq.columns:
        fig.add_trace(go.Scatter(x=eq.index, y=eq[c], name=str(c), mode="lines",
                                 line=dict(color=colors[c], width=2.2 if c == files.strategy
                                           else 1.3)))
    log = _triggers(files)
    if log is not None:
        for v, g in log.groupby("variant", sort=False):
            if v not in eq.columns:
                continue
            y = eq[v].reindex(g["date"], method="ffill").to_numpy()
            text = [f"<b>{esc(r.rule)}</b><br>{esc(r.action)}<br>{esc(r.detail)}"
                    for r in g.itertuples()]
            fig.add_trace(go.Scatter(x=g["date"], y=y, mode="markers", name=f"triggers ({v})",
                                     marker=dict(symbol="triangle-down", size=12,
                                                 color="#b3261e", line=dict(width=1,
                                                                            color="white")),
                                     text=text, hovertemplate="%{x|%Y-%m-%d}<br>%{text}"
                                     "<extra></extra>"))
    fig.update_layout(
        title="Portfolio value", yaxis_title="value", hovermode="x unified",
        updatemenus=[dict(type="buttons", direction="right", x=1.0, y=1.13, xanchor="right",
                          buttons=[dict(label="linear", method="relayout",
                                        args=[{"yaxis.type": "linear"}]),
                                   dict(label="log", method="relayout",
                                        args=[{"yaxis.type": "log"}])])])
    note = ('<p class="note">Red triangles: trigger and warning events (rule, action and '
            "detail on hover). Buttons: linear / log scale.</p>") if log is not None else ""
    dd = drawdowns(eq)
    fig2 = go.Figure([go.Scatter(x=dd.index, y=dd[c], name=str(c), mode="lines",
                                 line=dict(color=colors[c], width=1.4),
                                 fill="tozeroy" if c == files.strategy else None)
                      for c in dd.columns])
    fig2.update_layout(title="Underwater (drawdown from the running peak)", yaxis_tickformat=".0%")
    sharpe, vol = rolling_sharpe_vol(eq)
    from plotly.subplots import make_subplots

    fig3 = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                         subplot_titles=("rolling 1-year Sharpe ratio (risk-free 0)",
                                         "rolling 1-year volatility (annualized)"))
    for c in eq.columns:
        fig3.add_trace(go.Scatter(x=sharpe.index, y=sharpe[c], name=str(c), mode="lines",
                                  line=dict(color=colors[c], width=1.3), legendgroup=str(c)),
                       row=1, col=1)
        fig3.add_trace(go.Scatter(x=vol.index, y=vol[c], name=str(c), mode="lines",
                                  showlegend=False, line=dict(color=colors[c], width=1.3),
                                  legendgroup=str(c)), row=2, col=1)
    fig3.update_yaxes(tickformat=".0%", row=2, col=1)
    return "".join([ctx.heading("equity", "Equity vs benchmarks"), ctx.figure(fig, height=460),
                    note, ctx.figure(fig2, height=300),
                    f'<p class="note">Rolling window {ROLLING_BARS} bars.</p>',
                    ctx.figure(fig3, height=480)])


@section("returns", "Monthly and yearly returns", order=20)
def returns(files, ctx):
    import plotly.graph_objects as go

    eq = files.equity
    if eq is None or len(eq) < 2 or files.run.get("swept_keys"):
        return None
    s = files.strategy
    m = monthly_returns(eq[s])
    z = m.to_numpy() * 100
    fig = go.Figure(go.Heatmap(
        z=z, x=[pd.Timestamp(2000, k, 1).strftime("%b") for k in m.columns],
        y=[str(y) for y in m.index], colorscale="RdYlGn", zmid=0,
        text=[[("" if np.isnan(v) else f"{v:+.1f}") for v in row] for row in z],
        texttemplate="%{text}", colorbar=dict(title="%"),
        hovertemplate="%{y} %{x}: %{z:+.2f} %<extra></extra>"))
    fig.update_layout(title=f"Monthly returns of {s} (%)", yaxis_autorange="reversed")
    y = yearly_returns(eq)
    for b in files.benchmarks:
        y[f"{s} - {b}"] = y[s] - y[b]
    return "".join([ctx.heading("returns", "Monthly and yearly returns"),
                    ctx.figure(fig, height=max(260, 22 * len(m) + 120)),
                    "<h3>Calendar-year returns vs each benchmark</h3>",
                    '<p class="note">First and last years are partial (from the first / to the '
                    "last bar).</p>", table(y, default="+.2%")])


def _sleeves(run: dict) -> dict[str, str]:
    """asset -> sleeve from the config as run (``strategy.sleeves``), when it has them."""
    cfg = run.get("config") or {}
    sl = (cfg.get("strategy") or {}).get("sleeves") or {}
    return {a: name for name, assets in sl.items() if isinstance(assets, dict) for a in assets}


@section("weights", "Weights, turnover and costs", order=30)
def weights(files, ctx):
    import plotly.graph_objects as go

    w = files.parquet("weights.parquet")
    if w is None or w.empty or files.run.get("swept_keys"):
        return None
    s = files.strategy if files.strategy in w["variant"].unique() else w["variant"].iloc[0]
    wide = (w[w["variant"] == s].pivot(index="date", columns="asset", values="weight")
            .sort_index())
    wide.index = pd.DatetimeIndex(wide.index)
    # one point a week keeps the page small; weights drift slowly between rebalances
    wide = wide.resample("W-FRI").last().dropna(how="all")
    wide = wide.loc[:, (wide.abs() > 1e-9).any()]
    sleeves = _sleeves(files.run)
    order = sorted(wide.columns, key=lambda a: (list(dict.fromkeys(sleeves.values())).index(
        sleeves[a]) if a in sleeves else 99, str(a)))
    fig = go.Figure()
    for i, a in enumerate(order):
        grp = sleeves.get(a, "other" if sleeves else None)
        name = f"{grp}: {a}" if grp else str(a)
        fig.add_trace(go.Scatter(x=wide.index, y=wide[a], name=name, stackgroup="w",
                                 mode="lines", line=dict(width=0.5,
                                                         color=PALETTE[i % len(PALETTE)]),
                                 legendgroup=grp, legendgrouptitle_text=grp))
    fig.update_layout(title=f"Weights of {s} (end of week)" + (", grouped by sleeve"
                                                               if sleeves else ""),
                      yaxis_tickformat=".0%", yaxis_range=[0, 1])
    out = [ctx.heading("weights", "Weights, turnover and costs"), ctx.figure(fig, height=420)]
    orders = files.parquet("orders.parquet")
    eq = files.equity
    if orders is not None and not orders.empty and eq is not None:
        o = orders.copy()
        o["date"] = pd.to_datetime(o["date"])
        o = o[o["asset"] != "CASH"]
        traded = o.assign(v=o["value"].abs()).groupby(["variant", "date"])["v"].sum()
        fees = o.groupby(["variant", "date"])["fees"].sum()
        from plotly.subplots import make_subplots

        fig2 = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                             subplot_titles=("monthly turnover (one-sided, of portfolio "
                                             "value; the initial purchase left out)",
                                             "cumulative commissions (orders.parquet fees)"))
        colors = _line_colors(eq.columns)
        for v in eq.columns:
            if v not in traded.index.get_level_values(0):
                continue
            t = traded.loc[v].reindex(eq.index, fill_value=0.0)
            first = t.index[t > 0][:1]
            t.loc[first] = 0.0  # buying the initial allocation is not turnover
            mt = (t / eq[v]).resample("ME").sum() / 2
            fig2.add_trace(go.Bar(x=mt.index, y=mt, name=str(v), marker_color=colors[v],
                                  legendgroup=str(v)), row=1, col=1)
            cf = fees.loc[v].reindex(eq.index, fill_value=0.0).cumsum()
            fig2.add_trace(go.Scatter(x=cf.index, y=cf, name=str(v), mode="lines",
                                      showlegend=False, legendgroup=str(v),
                                      line=dict(color=colors[v])), row=2, col=1)
        fig2.update_yaxes(tickformat=".1%", row=1, col=1)
        fig2.update_layout(barmode="group", bargap=0.1, title="Turnover and costs")
        out.append(ctx.figure(fig2, height=460))
        out.append('<p class="note">Turnover excludes CASH legs. Commissions as the simulation '
                   "charged them; slippage is in the fill prices (metrics.csv total_fees "
                   "reports the simulator's cost total).</p>")
    return "".join(out)


@section("triggers", "Trigger and warning log", order=35)
def triggers(files, ctx):
    log = _triggers(files)
    if log is None:
        if files.has("triggers.csv") and not files.run.get("swept_keys"):
            return (ctx.heading("triggers", "Trigger and warning log")
                    + '<p class="note">No trigger or warning fired.</p>')
        return None
    return (ctx.heading("triggers", "Trigger and warning log")
            + table(log, index=False, scroll=True))


#: metrics.csv columns formatted as percentages.
_PCT = ("total_return", "annualized_return", "annualized_volatility", "max_drawdown",
        "turnover_per_year", "tracking_error")


@section("metrics", "Metrics", order=40)
def metrics(files, ctx):
    m = files.csv("metrics.csv")
    if m is None or files.run.get("swept_keys") or "variant" not in m.columns:
        return None
    m = m.set_index("variant").T
    n_bars = files.run.get("n_bars") or (len(files.equity) if files.equity is not None else 0)
    short = 0 < n_bars < PERIODS_PER_YEAR
    if short:
        m.index = [f"{k} *" if k.startswith("annualized") or k.startswith(
            ("sharpe", "sortino", "calmar", "tracking_error", "information_ratio",
             "turnover_per_year")) else k for k in m.index]
    rows = []
    for k, r in m.iterrows():
        pct = k.startswith(_PCT)
        rows.append([("" if pd.isna(v) else (f"{float(v):+.2%}" if pct else f"{float(v):,.4f}"))
                     for v in r])
    t = pd.DataFrame(rows, index=m.index, columns=m.columns)
    t.index.name = "metric"
    note = (f'<p class="note fire">* annualized from {n_bars} bars, under a year: read with '
            "care.</p>" if short else "")
    return "".join([ctx.heading("metrics", "Metrics"),
                    '<p class="note">The strategy and each benchmark side by side; tracking '
                    "error and information ratio against each benchmark.</p>", note, table(t)])


@section("scenarios", "Scenarios", order=45)
def scenarios(files, ctx):
    sc = files.csv("scenarios.csv")
    if sc is None:
        return None
    return ctx.heading("scenarios", "Scenarios") + table(
        sc.set_index(sc.columns[0]), formats=auto_formats(sc), scroll=True)
