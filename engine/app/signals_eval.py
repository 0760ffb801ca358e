"""``flowbt signals --evaluate``: the signal table against forward returns of the same assets.

The evaluation is :func:`engine.evaluation.evaluate_signal`; this module picks the daily rows
of one method per investor, evaluates them against the source's prices (ETF closes, or the
KOSPI/KOSDAQ index closes for ``--bundled``) and writes ``evaluation.csv``.
"""

from __future__ import annotations

__all__ = ["evaluate_run"]


def evaluate_run(signals, prices, flows, out_dir, *, method: str | None = None) -> str:
    """Evaluate every investor's daily signal; write ``evaluation.csv``; return a text table."""
    import pandas as pd

    from engine.errors import DataError
    from engine.evaluation import evaluate_signal

    if prices is None:
        raise DataError("the data has no prices to compute forward returns from",
                        fix="import ETF closes (--kind prices) into the store, or leave "
                            "--evaluate out")
    daily = signals[signals["period_start"] == signals["period_end"]]
    if daily.empty:
        raise DataError("no daily signal rows (period totals cannot be evaluated against "
                        "daily forward returns)", fix="import one net-purchases file per session")
    method = method or ("bp" if "bp" in set(daily["method"]) else daily["method"].iloc[0])
    daily = daily[daily["method"] == method]
    parts = []
    for inv, g in daily.groupby("investor", sort=False):
        sig = g.pivot(index="date", columns="etf", values="value")
        r = evaluate_signal(sig, prices)
        r.insert(0, "investor", inv)
        r.insert(1, "method", method)
        r["mode"] = r.attrs["mode"]
        r.attrs = {}  # decay / autocorr frames: not part of the table
        parts.append(r)
    table = pd.concat(parts, ignore_index=True)
    table.to_csv(f"{out_dir}/evaluation.csv", index=False)
    cols = ["investor", "asset", "horizon", "n", "rank_ic", "rank_ic_t", "pearson_ic",
            "pearson_ic_t", "top_minus_bottom", "hit_rate"]
    return "evaluation (forward returns start one session after the signal)\n" + \
        table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}")
