"""Sweep sections: a heatmap of a metric over two swept parameters, its distribution across
variants (benchmarks marked), and the best, median and worst variants' equity.

Reads the sweep directory: ``metrics.csv`` (``variant``, one column per swept key,
``n_trigger_events``, the metrics), ``benchmarks.csv``, ``run.json`` (``swept_keys``) and
``selected_equity.parquet`` (dates x the best / median / worst variants and the benchmarks,
re-simulated by the sweep; ``run.json`` ``selected_by`` names the metric).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.report._html import esc, table
from engine.report.registry import section

__all__ = ["DEFAULT_METRIC", "metric_grid"]

#: The metric of the heatmap and the distribution when the report is not asked for another.
DEFAULT_METRIC = "sharpe_ratio"


def metric_grid(metrics: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """``metric`` over the (y x x) grid of two swept keys; the median over the other keys."""
    return metrics.pivot_table(index=y, columns=x, values=metric, aggfunc="median")


def _short(key: str) -> str:
    return key.removeprefix("strategy.")


@section("sweep", "Sweep", order=50)
def sweep(files, ctx):
    import plotly.graph_objects as go

    keys = files.run.get("swept_keys")
    m = files.csv("metrics.csv")
    if not keys or m is None or m.empty:
        return None
    metric = ctx.options.get("metric") or files.run.get("selected_by") or DEFAULT_METRIC
    if metric not in m.columns:
        from engine.errors import ConfigError

        numeric = [c for c in m.columns if c not in keys and c != "variant"]
        raise ConfigError("--metric", metric, f"not a column of metrics.csv; one of {numeric}")
    out = [ctx.heading("sweep", f"Sweep: {len(m):,} variants over {len(keys)} parameters")]
    if len(keys) >= 2:
        x, y = keys[0], keys[1]
        g = metric_grid(m, x, y, metric)
        z = g.to_numpy()
        fig = go.Figure(go.Heatmap(
            z=z, x=[str(v) for v in g.columns], y=[str(v) for v in g.index],
            colorscale="Viridis", colorbar=dict(title=metric),
            text=[[("" if np.isnan(v) else f"{v:.3f}") for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate=f"{esc(_short(x))}=%{{x}}<br>{esc(_short(y))}=%{{y}}<br>"
                          f"{metric}=%{{z:.4f}}<extra></extra>"))
        fig.update_layout(title=f"{metric} over {_short(x)} x {_short(y)}",
                          xaxis_title=_short(x), yaxis_title=_short(y),
                          xaxis_type="category", yaxis_type="category")
        out.append(ctx.figure(fig, height=480))
        if len(keys) > 2:
            out.append(f'<p class="note">Each cell is the median over the other '
                       f"{len(keys) - 2} swept parameter(s): "
                       f"{esc(', '.join(map(_short, keys[2:])))}.</p>")
    fig2 = go.Figure(go.Histogram(x=m[metric], nbinsx=40, name="variants",
                                  marker_color="#2b6cc4"))
    b = files.csv("benchmarks.csv")
    if b is not None and metric in b.columns:
        for _, r in b.iterrows():
            if np.isfinite(r[metric]):
                fig2.add_vline(x=float(r[metric]), line=dict(color="#d7191c", dash="dash"),
                               annotation_text=str(r.iloc[0]), annotation_position="top")
    fig2.update_layout(title=f"Distribution of {metric} across variants (dashed: benchmarks)",
                       xaxis_title=metric, yaxis_title="variants", bargap=0.05)
    out.append(ctx.figure(fig2, height=360))
    ranked = m.sort_values(metric, ascending=False)
    show = pd.concat([ranked.head(5), ranked.tail(5)]).drop_duplicates("variant")
    cols = ["variant", *keys, metric] + [c for c in ("annualized_return", "max_drawdown",
                                                    "n_trigger_events") if c != metric
                                         and c in m.columns]
    show = show[cols].rename(columns={k: _short(k) for k in keys})
    out += [f"<h3>Top and bottom 5 variants by {esc(metric)}</h3>",
            table(show, index=False, default=",.4f",
                  formats={"n_trigger_events": ",d"})]
    sel = files.parquet("selected_equity.parquet")
    if sel is not None and not sel.empty:
        if "date" in sel.columns:
            sel = sel.set_index("date")
        by = files.run.get("selected_by", metric)
        fig3 = go.Figure([go.Scatter(x=pd.DatetimeIndex(sel.index), y=sel[c], name=str(c),
                                     mode="lines", line=dict(width=1.8 if c.startswith(
                                         ("best", "median", "worst")) else 1.0))
                          for c in sel.columns])
        fig3.update_layout(title=f"Best, median and worst variants by {by}, with the benchmarks",
                           yaxis_type="log", yaxis_title="value (log)",
                           legend=dict(orientation="h", y=-0.15))
        out.append(ctx.figure(fig3, height=440))
    return "".join(out)
