"""The investor's sections: the KRW investor (``fx.csv``), the contribution plan
(``contributions.csv``) and replication by sampling (``tracking_summary.csv``).

Every number comes from the run directory's files (schemas in :mod:`engine.app.investor` and
:mod:`engine.tracking`); nothing is recomputed but the cumulative tracking difference.
"""

from __future__ import annotations

from engine.report._html import table
from engine.report.registry import section

__all__ = ["contributions_section", "fx_section", "tracking_section"]

#: Line colours of the FX cases (USD in KRW at the first rate, unhedged, hedged).
CASE_COLORS = {"usd": "#7f7f7f", "unhedged": "#1f4fa0", "hedged": "#e07b00"}


@section("fx", "KRW investor: hedged vs unhedged", order=46)
def fx_section(files, ctx):
    import plotly.graph_objects as go

    fx = files.csv("fx.csv", parse_dates=["date"])
    summ = files.csv("fx_summary.csv")
    if fx is None or summ is None:
        return None
    name = files.strategy if files.strategy in set(fx["variant"]) else fx["variant"].iloc[0]
    mine = fx[fx["variant"] == name]
    fig = go.Figure()
    for case, g in mine.groupby("case", sort=False):
        # the USD curve in KRW at the first session's rate: the "no FX" line
        y = g["equity"] * (g["usdkrw"].iloc[0] if case == "usd" else 1.0)
        label = "USD return (at the first rate)" if case == "usd" else f"KRW {case}"
        fig.add_trace(go.Scatter(x=g["date"], y=y, name=label, mode="lines",
                                 line=dict(color=CASE_COLORS.get(case), width=1.6)))
    fig.update_layout(title=f"{name}: value in KRW", yaxis_title="KRW", hovermode="x unified")
    t = summ
    pct = {c: "+.2%" for c in ("total_return", "annualized_return", "annualized_volatility",
                               "max_drawdown", "fx_contribution")}
    return "".join([ctx.heading("fx", "KRW investor: hedged vs unhedged"),
                    '<p class="note">Unhedged = USD value x USD/KRW; hedged = a one-day '
                    "forward on the hedged share of the value, rolled daily, at the hedge "
                    "cost (engine.fx). FX contribution = KRW total return minus USD total "
                    "return.</p>", ctx.figure(fig, height=420),
                    table(t, formats=pct, default=",.4g", index=False)])


@section("contributions", "Contributions: invested vs value", order=47)
def contributions_section(files, ctx):
    import plotly.graph_objects as go

    con = files.csv("contributions.csv", parse_dates=["date"])
    summ = files.csv("contributions_summary.csv")
    if con is None or summ is None:
        return None
    strategy = files.strategy
    curves = (list(summ.loc[summ["variant"] == strategy, "curve"])
              if "variant" in summ.columns and strategy in set(summ["variant"])
              else list(summ["curve"][:1]))
    fig = go.Figure()
    palette = ("#1f4fa0", "#e07b00", "#2a9d3c", "#c0392b")
    for i, curve in enumerate(curves):
        g = con[con["curve"] == curve]
        fig.add_trace(go.Scatter(x=g["date"], y=g["value"], name=f"value: {curve}",
                                 mode="lines", line=dict(color=palette[i % 4], width=1.6)))
    g = con[con["curve"] == curves[0]]
    fig.add_trace(go.Scatter(x=g["date"], y=g["invested"], name="invested", mode="lines",
                             line=dict(color="#444", dash="dot", width=1.4, shape="hv")))
    fig.update_layout(title="Contributions: invested vs value",
                      yaxis_title=str(g["currency"].iloc[0]), hovermode="x unified")
    fmt = {"money_weighted_return": "+.2%", "time_weighted_return": "+.2%",
           "invested": ",.0f", "final_value": ",.0f", "profit": ",.0f"}
    return "".join([ctx.heading("contributions", "Contributions: invested vs value"),
                    '<p class="note">Each contribution buys the current mix (engine.contributions); '
                    "money-weighted = IRR of the contributions, time-weighted = the unit "
                    "curve's growth from the first contribution, both per year.</p>",
                    ctx.figure(fig, height=420), table(summ.set_index("curve"), formats=fmt)])


@section("tracking", "Replication by sampling: tracking error", order=63)
def tracking_section(files, ctx):
    import plotly.graph_objects as go

    summ = files.csv("tracking_summary.csv", dtype={"etf": str})
    if summ is None:
        return None
    fig = go.Figure()
    for etf, g in summ.groupby("etf", sort=True):
        fig.add_trace(go.Scatter(x=g["n"], y=g["tracking_error"], name=str(etf),
                                 mode="lines+markers"))
    fig.update_layout(title="Annualized tracking error of the top-N sample vs full replication",
                      xaxis_title="N (constituents held)", yaxis_title="tracking error per year",
                      yaxis_tickformat=".1%")
    fmt = {"tracking_error": ".2%", "weight_held": ".1%", "tracking_difference_total": "+.2%"}
    return "".join([ctx.heading("tracking", "Replication by sampling: tracking error"),
                    '<p class="note">Top N constituents by weight, renormalized, against every '
                    "constituent, rebuilt when a holdings snapshot becomes usable (engine."
                    "tracking); tracking error = std of the daily difference x sqrt(252).</p>",
                    ctx.figure(fig, height=380),
                    table(summ, formats=fmt, index=False)])

