"""The monitor section, from ``monitor.json`` (written by ``flowbt monitor``; schema in
:meth:`engine.monitor.MonitorResult.to_dict`)."""

from __future__ import annotations

import pandas as pd

from engine.report._html import esc, table
from engine.report.flows import quadrant_figure
from engine.report.registry import section

__all__: list[str] = []


def _items(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows).reindex(columns=["item", "ticker", "reading", "status"])
    return df


@section("monitor", "Flow monitor", order=5)
def monitor(files, ctx):
    m = files.json("monitor.json")
    if m is None:
        return None
    out = [ctx.heading("monitor", f"Flow monitor as of {m['asof']}"),
           f'<p class="note">Week {esc(m["week"][0])} .. {esc(m["week"][1])}; month '
           f'{esc(m["month"][0])} .. {esc(m["month"][1])} (to date).</p>']
    w = pd.DataFrame(m["warnings"])
    fires = w["fires"].map({True: "FIRES", False: "no"}).fillna("no data")
    wt = pd.DataFrame({"warning": w["warning"], "reading": w["reading"], "fires": fires})
    classes = {(i, "fires"): "fire" if f == "FIRES" else ("ok" if f == "no" else "")
               for i, f in enumerate(fires)}
    out += ["<h3>Warnings</h3>", table(wt, index=False, classes=classes),
            "<h3>Weekly</h3>", table(_items(m["weekly"]), index=False),
            "<h3>Monthly</h3>", table(_items(m["monthly"]), index=False)]
    t = m["tables"]
    for key, title in (("top_inflows", "Top inflows of the month"),
                       ("top_outflows", "Top outflows of the month")):
        df = pd.DataFrame(t[key], columns=["ticker", "flow_usd"])
        out += [f"<h3>{title}</h3>", table(df, index=False, formats={"flow_usd": "+,.0f"})]
    sec = pd.DataFrame(t["sectors"])
    out += ["<h3>Sectors: return, flow, divergence</h3>",
            table(sec, index=False, formats={"return": "+.2%", "flow_usd": "+,.0f"})]
    q = sec.dropna(subset=["return", "flow_usd"]).rename(
        columns={"ticker": "etf", "return": "price_return", "flow_usd": "flow"})
    if not q.empty:
        q = q.assign(label=q["divergence"], flow=q["flow"] / 1e9)
        out.append(ctx.figure(quadrant_figure(q, flow_unit="USD bn", title=f"Sector price-flow divergence, month "
                                                       f"to {m['asof']}"), height=440))
    out += ["<h3>Style</h3>", table(pd.DataFrame(t["style"]), index=False,
                                    formats={"return": "+.2%", "flow_usd": "+,.0f"})]
    vs = t["volume_spikes"]
    out.append("<h3>Volume spikes</h3>")
    out.append(table(pd.DataFrame(vs), index=False, formats={"volume_vs_mean_pct": "+.0f"})
               if isinstance(vs, list) and vs else
               f'<p class="note">{esc(vs if isinstance(vs, str) else "none")}</p>')
    return "".join(out)
