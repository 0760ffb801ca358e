"""Stress sections, from the stress run directory's files (README "Run directories"):
``windows.csv``, ``shocks.csv``, ``mc_summary.csv``, ``trigger_probability.csv`` as tables,
``montecarlo.parquet`` as the distribution of its terminal values, ``mc_fan.csv`` as the Monte
Carlo fan chart (percentile bands of portfolio value over the horizon, per variant).

Schemas beyond the file names belong to the stress command; these renderers show every
column they find, so a new column appears without a change here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.report._html import auto_formats, esc, table
from engine.report.registry import section

__all__: list[str] = []

#: (file, heading) of the stress tables, in page order.
TABLES = (("windows.csv", "Historical stress windows"), ("shocks.csv", "Shocks"),
          ("mc_summary.csv", "Monte Carlo summary"),
          ("trigger_probability.csv", "Trigger probabilities"))
#: montecarlo.parquet columns tried, in order, for the distribution chart.
TERMINAL = ("final_value", "terminal_value", "total_return", "value")


@section("stress", "Stress", order=70)
def stress(files, ctx):
    present = [(f, h) for f, h in TABLES if files.has(f)]
    mc = files.parquet("montecarlo.parquet")
    fan = files.csv("mc_fan.csv") if files.has("mc_fan.csv") else None
    if not present and mc is None and fan is None:
        return None
    out = [ctx.heading("stress", "Stress")]
    for f, h in present:
        df = files.csv(f)
        out.append(f"<h3>{esc(h)} ({esc(f)})</h3>")
        if f == "mc_summary.csv" and "metric" in df.columns:
            out.append(_summary_tables(df))
        else:
            if "status" in df.columns:  # a refusal's message is long: last, not in the way
                df = df[[c for c in df.columns if c != "status"] + ["status"]]
            out.append(table(df, index=False, formats=auto_formats(df), scroll=True))
    if fan is not None and not fan.empty:
        out.append(ctx.figure(fan_figure(fan), height=420))
    if mc is not None and not mc.empty:
        col = next((c for c in TERMINAL if c in mc.columns), None)
        if col is None:
            num = mc.select_dtypes("number")
            col = num.columns[-1] if len(num.columns) else None
        if col is not None:
            out.append(ctx.figure(distribution_figure(mc, col), height=380))
        num = mc.select_dtypes("number").drop(columns=["path"], errors="ignore")
        # one column per variable (so each keeps its unit), its count in the heading
        desc = num.describe().drop(index="count")
        desc.index.name = "statistic"
        out += [f"<h3>montecarlo.parquet columns ({len(mc):,} path-variant rows; a trigger's "
                "fire day is counted over the paths where it fired)</h3>",
                table(desc, formats=auto_formats(num), scroll=True)]
    return "".join(out)


def distribution_figure(mc: pd.DataFrame, col: str):
    """Histogram of ``col`` per variant (the strategy shown, each benchmark one legend click
    away: pooling them would mix different portfolios), with the shown one's 5/50/95th
    percentiles marked."""
    import plotly.graph_objects as go

    groups = (list(mc.groupby("variant", sort=False)) if "variant" in mc.columns
              else [("all", mc)])
    fig = go.Figure()
    for k, (v, sub) in enumerate(groups):
        x = sub[col].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        fig.add_trace(go.Histogram(x=x, nbinsx=50, name=f"{v} ({len(x):,} paths)",
                                   opacity=0.75, marker_color=PALETTE[k % len(PALETTE)],
                                   visible=True if k == 0 else "legendonly"))
        if k == 0 and len(x):
            for p, q in zip((5, 50, 95), np.percentile(x, [5, 50, 95]), strict=True):
                fig.add_vline(x=float(q), line=dict(dash="dash", color="#333"),
                              annotation_text=f"p{p}")
    per = " per variant" if "variant" in mc.columns else ""
    fig.update_layout(title=f"Monte Carlo: distribution of {col}{per}",
                      xaxis_title=col, barmode="overlay")
    return fig


#: mc_summary.csv metrics in page order and their units (fractions or values).
SUMMARY_METRICS = ("cagr", "total_return", "max_drawdown", "final_value")


def _summary_tables(df: pd.DataFrame) -> str:
    """mc_summary.csv (long: variant, metric, n, mean, std, percentiles, VaR/CVaR) as one
    table per metric, so each is shown in its unit (percent or value)."""
    metrics = [m for m in SUMMARY_METRICS if m in set(df["metric"])]
    metrics += [m for m in dict.fromkeys(df["metric"]) if m not in metrics]
    out = []
    for m in metrics:
        sub = df[df["metric"] == m].drop(columns="metric").set_index("variant")
        sub = sub.dropna(axis=1, how="all")
        money = "value" in str(m)
        fmt = {c: (",.0f" if c == "n" else ",.0f" if money else
                   ".2%" if c == "std" or c.startswith(("var", "cvar")) else "+.2%")
               for c in sub.columns}
        out.append(f'<p class="note">{esc(m)}</p>' + table(sub, formats=fmt, scroll=True))
    return "".join(out)


#: Fan bands: (lower, upper) percentile columns of mc_fan.csv, outer band first.
BANDS = (("p05", "p95"), ("p25", "p75"))
PALETTE = ("#7b3fa0", "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#8c564b")


def fan_figure(fan: pd.DataFrame):
    """Percentile bands (5-95, 25-75) and the median of portfolio value per variant.

    The first variant (the strategy) is shown; the others are in the legend, one click away.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    x_col = "date" if "date" in fan.columns else "day"
    for k, (v, sub) in enumerate(fan.groupby("variant", sort=False)):
        color = PALETTE[k % len(PALETTE)]
        vis = True if k == 0 else "legendonly"
        x = sub[x_col].tolist()
        for i, (lo, hi) in enumerate(BANDS):
            if lo not in sub or hi not in sub:
                continue
            fig.add_trace(go.Scatter(x=x, y=sub[hi], mode="lines", line=dict(width=0),
                                     legendgroup=str(v), showlegend=False, visible=vis,
                                     hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=x, y=sub[lo], mode="lines", line=dict(width=0),
                                     fill="tonexty", fillcolor=_rgba(color, 0.15 + 0.15 * i),
                                     legendgroup=str(v), showlegend=False, visible=vis,
                                     name=f"{v} {lo}-{hi}"))
        if "p50" in sub:
            fig.add_trace(go.Scatter(x=x, y=sub["p50"], mode="lines", name=f"{v} (median)",
                                     line=dict(color=color, width=2), legendgroup=str(v),
                                     visible=vis))
    n = int(fan["n_paths"].iloc[0]) if "n_paths" in fan.columns else None
    fig.update_layout(title="Monte Carlo fan: portfolio value, 5-95 and 25-75 percentile bands "
                            "and median" + (f" ({n:,} paths)" if n else ""),
                      yaxis_title="portfolio value", xaxis_title=x_col)
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.2f})"
