"""Stress sections, from the stress run directory's files (README "Run directories"):
``windows.csv``, ``shocks.csv``, ``mc_summary.csv``, ``trigger_probability.csv`` as tables,
``montecarlo.parquet`` as the distribution of its terminal values.

Schemas beyond the file names belong to the stress command; these renderers show every
column they find, so a new column appears without a change here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.report._html import esc, table
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
    import plotly.graph_objects as go

    present = [(f, h) for f, h in TABLES if files.has(f)]
    mc = files.parquet("montecarlo.parquet")
    if not present and mc is None:
        return None
    out = [ctx.heading("stress", "Stress")]
    for f, h in present:
        df = files.csv(f)
        out += [f"<h3>{esc(h)} ({esc(f)})</h3>", table(df, index=False, default=",.4f",
                                                     scroll=True)]
    if mc is not None and not mc.empty:
        col = next((c for c in TERMINAL if c in mc.columns), None)
        if col is None:
            num = mc.select_dtypes("number")
            col = num.columns[-1] if len(num.columns) else None
        if col is not None:
            v = mc[col].to_numpy(dtype=float)
            fig = go.Figure(go.Histogram(x=v[np.isfinite(v)], nbinsx=50,
                                         marker_color="#7b3fa0"))
            q = np.nanpercentile(v, [5, 50, 95])
            for p, x in zip((5, 50, 95), q, strict=True):
                fig.add_vline(x=float(x), line=dict(dash="dash", color="#333"),
                              annotation_text=f"p{p}")
            fig.update_layout(title=f"Monte Carlo: distribution of {col} "
                                    f"({np.isfinite(v).sum():,} paths)", xaxis_title=col)
            out.append(ctx.figure(fig, height=360))
        desc = mc.select_dtypes("number").describe().T
        out += ["<h3>montecarlo.parquet columns</h3>", table(pd.DataFrame(desc),
                                                             default=",.4f")]
    return "".join(out)
