"""Calibration of the synthetic market: real targets vs the generator's figures, side by side.

Usage::

    python -m benchmarks.calibrate_synthetic [--data ../shared/data] [--seed 0]
        [--days 2500] [--stocks 2531]

Measures each target on the real files (``--data``: the 2021-01-04 all-listing market caps,
the one-week per-stock net purchases ``net_purchases_by_ticker_*``, the KOSPI market-wide
investor series and index), writes them with their test bounds to
``datasets/calibration_targets.json`` (so tests need no real data), and writes the table with
the synthetic figures to ``datasets/CALIBRATION.md``. Without ``--data`` present it reuses the
stored targets and only refreshes the synthetic column.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TARGETS_JSON = ROOT / "datasets" / "calibration_targets.json"
CALIBRATION_MD = ROOT / "datasets" / "CALIBRATION.md"

#: Sessions in the real one-week net purchases window (2021-01-15 .. 2021-01-22).
WEEK_SESSIONS = 6
#: Share of the 2,388 KOSPI+KOSDAQ listings on KOSPI (917): KOSPI-like = the largest 38%.
KOSPI_SHARE = 917 / 2388

#: name -> (description, kind of bound, bound). "rel": |syn/real - 1| <= bound;
#: "abs": |syn - real| <= bound. Bounds are what the tests enforce.
TARGETS = {
    "cap_top1_share": ("largest stock / total market cap (2021-01-04)", "abs", 0.03),
    "cap_top10_share": ("top-10 / total market cap", "abs", 0.10),
    "cap_median_over_mean": ("median / mean market cap", "rel", 0.5),
    "cap_log_sd": ("sd of log market cap", "rel", 0.2),
    "ind_week_medabs_bp": ("individual, 6-session net buy / cap, median abs (bp) (KOSPI+KOSDAQ)",
                           "rel", 0.5),
    "ind_week_p90abs_bp": ("individual, 6-session net buy / cap, 90th pct abs (bp)", "rel", 0.5),
    "ind_week_p99abs_bp": ("individual, 6-session net buy / cap, 99th pct abs (bp)", "rel", 0.6),
    "fin_week_medabs_bp": ("financial investment, 6-session net buy / cap, median abs (bp) (KOSPI)",
                           "rel", 1.0),
    "fin_week_p90abs_bp": ("financial investment, 90th pct abs (bp) (KOSPI)", "rel", 0.7),
    "mkt_foreign_sd_bp": ("market-wide daily foreign net buy / market cap, sd (bp)", "rel", 0.5),
    "mkt_individual_sd_bp": ("market-wide daily individual net buy / market cap, sd (bp)",
                             "rel", 0.5),
    "mkt_institution_sd_bp": ("market-wide daily institution net buy / market cap, sd (bp)",
                              "rel", 0.6),
    "mkt_foreign_ac1": ("lag-1 autocorrelation of daily foreign net buy", "abs", 0.2),
    "mkt_corr_foreign_individual": ("corr(foreign, individual) daily market-wide", "abs", 0.25),
    "mkt_corr_foreign_return": ("corr(foreign flow, market return) same day", "abs", 0.25),
    "mkt_corr_individual_return": ("corr(individual flow, market return) same day", "abs", 0.25),
    "mkt_return_sd": ("daily market return sd (fraction)", "rel", 0.35),
    # Kurtosis of a 4-10 year sample is dominated by a few crisis days: a loose bound.
    "mkt_return_kurtosis": ("daily market return excess kurtosis", "rel", 1.5),
}


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.astype(str).str.replace(",", ""), errors="coerce").to_numpy(float)


def _cap_stats(caps: np.ndarray) -> dict[str, float]:
    c = np.sort(caps[np.isfinite(caps) & (caps > 0)])[::-1]
    return {
        "cap_top1_share": c[0] / c.sum(),
        "cap_top10_share": c[:10].sum() / c.sum(),
        "cap_median_over_mean": np.median(c) / c.mean(),
        "cap_log_sd": np.log(c).std(),
    }


def _abs_pcts(bp: np.ndarray, prefix: str, pcts=(50, 90, 99)) -> dict[str, float]:
    a = np.abs(bp[np.isfinite(bp)])
    names = {50: "medabs", 90: "p90abs", 99: "p99abs"}
    return {f"{prefix}_week_{names[p]}_bp": float(np.percentile(a, p)) for p in pcts}


def _market_stats(foreign, individual, institution, ret) -> dict[str, float]:
    f, i, n, r = (pd.Series(np.asarray(x, float)) for x in (foreign, individual, institution, ret))
    return {
        "mkt_foreign_sd_bp": f.std(),
        "mkt_individual_sd_bp": i.std(),
        "mkt_institution_sd_bp": n.std(),
        "mkt_foreign_ac1": f.autocorr(1),
        "mkt_corr_foreign_individual": f.corr(i),
        "mkt_corr_foreign_return": f.corr(r),
        "mkt_corr_individual_return": i.corr(r),
        "mkt_return_sd": r.std(),
        "mkt_return_kurtosis": r.kurt(),
    }


def real_figures(data: Path) -> dict[str, float]:
    """Every target measured on the real files under ``data``."""
    pk = data / "pykrx"
    mc = pd.read_csv(pk / "market_cap_by_ticker_ALL_20210104.csv", dtype=str)
    out = _cap_stats(_num(mc["MKTCAP"]))
    cap = pd.Series(_num(mc["MKTCAP"]), index=mc["ISU_SRT_CD"].to_numpy())
    # Net purchases of 2021-01-15..22 over caps of 2021-01-04 (the only all-listing snapshot).
    def week_bp(fname):
        d = pd.read_csv(pk / fname, dtype=str)
        return 1e4 * _num(d["NETBID_TRDVAL"]) / cap.reindex(d["ISU_SRT_CD"]).to_numpy()
    ind = np.concatenate([week_bp("net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv"),
                          week_bp("net_purchases_by_ticker_KOSDAQ_inv8000_20210115_20210122.csv")])
    out.update(_abs_pcts(ind, "ind"))
    fin = week_bp("net_purchases_by_ticker_KOSPI_inv1000_20210115_20210122.csv")
    out.update(_abs_pcts(fin, "fin", (50, 90)))
    k = pd.read_parquet(data / "krx_market_investor_netbuy_daily.parquet")
    m = pd.read_parquet(data / "krx_market_index_daily.parquet")
    total = m["KOSPI_시총"].reindex(k.index) * 1e12  # KRW trillion -> KRW
    to_bp = 1e8 / total * 1e4  # KRW 100 million -> KRW, then bp of market cap
    ret = m["KOSPI_종가"].pct_change().reindex(k.index)
    ok = ret.notna()
    out.update(_market_stats(
        (k["KOSPI_순매수_외국인"] * to_bp)[ok], (k["KOSPI_순매수_개인"] * to_bp)[ok],
        (k["KOSPI_순매수_기관"] * to_bp)[ok], ret[ok],
    ))
    return {key: float(v) for key, v in out.items()}


def synthetic_figures(market) -> dict[str, float]:
    """The same figures measured on a synthetic :class:`engine.market.Market`."""
    f = market.flows
    cap = f.market_cap.astype(np.float64)
    out = _cap_stats(cap[0])
    inv = f.investors
    nb = f.net_buy
    T = nb.shape[0]
    W = WEEK_SESSIONS
    n_weeks = T // W
    ki, kf = inv.index("individual"), inv.index("financial_investment")
    kospi_n = int(round(KOSPI_SHARE * f.shape[1]))
    ind_l, fin_l = [], []
    for w in range(n_weeks):
        sl = slice(w * W, (w + 1) * W)
        c_end = cap[(w + 1) * W - 1]
        s = nb[sl].astype(np.float64).sum(axis=0)  # (N, K); NaN if unlisted in the window
        ind_l.append(1e4 * s[:, ki] / c_end)
        kospi = np.argsort(-np.nan_to_num(c_end, nan=-1.0))[:kospi_n]
        fin_l.append(1e4 * s[kospi, kf] / c_end[kospi])
    out.update(_abs_pcts(np.concatenate(ind_l), "ind"))
    out.update(_abs_pcts(np.concatenate(fin_l), "fin", (50, 90)))
    total = np.nansum(cap, axis=1)
    agg = {k: 1e4 * np.nansum(nb[:, :, inv.index(k)].astype(np.float64), axis=1) / total
           for k in ("foreign", "individual", "institution")}
    # Market return: cap-weighted return of the stocks listed on both days (as an index does).
    prev, cur = cap[:-1], cap[1:]
    both = np.isfinite(prev) & np.isfinite(cur)
    ret = np.full(T, np.nan)
    ret[1:] = np.where(both, cur, 0).sum(1) / np.where(both, prev, 0).sum(1) - 1.0
    sl = slice(1, T)
    out.update(_market_stats(agg["foreign"][sl], agg["individual"][sl],
                             agg["institution"][sl], ret[sl]))
    return {key: float(v) for key, v in out.items()}


def daily_rank_ic(market, investor: str = "foreign") -> tuple[float, float]:
    """Mean over days of the cross-sectional Spearman correlation of ``investor`` net buying
    (bp of market cap) on day t with the stock return of day t+1, and its standard error
    ``sd(IC_t) / sqrt(n_days)``.

    Daily cross sections (Fama-MacBeth) rather than one pooled correlation: the market and
    sector factors make the stock-days of one day dependent, so the pooled
    ``1 / sqrt(n_stock_days)`` would understate the standard error.
    """
    from scipy.stats import rankdata

    f = market.flows
    bp = 1e4 * f.net_buy[:-1, :, f.investors.index(investor)] / f.market_cap[:-1]
    r = f.close[1:] / f.close[:-1] - 1.0
    ics = []
    for t in range(bp.shape[0]):
        ok = np.isfinite(bp[t]) & np.isfinite(r[t])
        if ok.sum() >= 3:
            ics.append(np.corrcoef(rankdata(bp[t, ok]), rankdata(r[t, ok]))[0, 1])
    ics = np.asarray(ics)
    return float(ics.mean()), float(ics.std(ddof=1) / np.sqrt(len(ics)))


def within(name: str, real: float, syn: float) -> bool:
    """Whether ``syn`` is inside the stated bound around ``real`` for target ``name``."""
    _, kind, bound = TARGETS[name]
    if kind == "rel":
        return abs(syn / real - 1.0) <= bound
    return abs(syn - real) <= bound


def render(real: dict, syn: dict, params: dict, ic_rows=(), null_t=()) -> str:
    lines = [
        "# Synthetic market calibration (generated by benchmarks/calibrate_synthetic.py)",
        "",
        "Do not edit by hand. Real figures come from the files in `../shared/data` (see",
        "`datasets/calibration_targets.json`); the synthetic column is `datasets.make_market("
        + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")`.",
        "",
        "Sources: market caps = `pykrx/market_cap_by_ticker_ALL_20210104.csv` (2,531 listings);",
        "weekly net buying = `pykrx/net_purchases_by_ticker_{KOSPI,KOSDAQ}_inv{8000,1000}_"
        "20210115_20210122.csv` over the 2021-01-04 caps (synthetic: every non-overlapping",
        f"{WEEK_SESSIONS}-session window, KOSPI-like = largest {KOSPI_SHARE:.0%} of stocks);",
        "market-wide = `krx_market_investor_netbuy_daily.parquet` (KOSPI, 2005-2026) over",
        "`krx_market_index_daily.parquet` KOSPI market cap and close.",
        "",
        "| target | real | synthetic | bound | ok |",
        "|---|---:|---:|---|---|",
    ]
    for name, (desc, kind, bound) in TARGETS.items():
        b = f"±{bound:.0%} rel" if kind == "rel" else f"±{bound} abs"
        ok = "yes" if within(name, real[name], syn[name]) else "**no**"
        lines.append(f"| {desc} | {real[name]:.4g} | {syn[name]:.4g} | {b} | {ok} |")
    lines.append("")
    if ic_rows:
        lines += [
            "## Null vs planted signal",
            "",
            "Mean daily cross-sectional rank correlation (IC) of net buying in bp of market cap on",
            "day t with the return of day t+1, standard error = sd(daily IC) / sqrt(days)",
            "(`daily_rank_ic`). The model is in the docstring of `datasets/synthetic.py`.",
            "",
            "| signal_strength | investor | IC | SE | IC / SE |",
            "|---:|---|---:|---:|---:|",
        ]
        for lam, inv, ic, se in ic_rows:
            lines.append(f"| {lam} | {inv} | {ic:.4f} | {se:.4f} | {ic / se:.1f} |")
        lines.append("")
    if len(null_t):
        t = np.asarray(null_t)
        lines += [
            f"Null world over seeds 0..{len(t) - 1} (1,000 days x 300 stocks, foreign): IC / SE "
            f"has mean {t.mean():.2f} and sd {t.std(ddof=1):.2f} (N(0, 1) expected); "
            f"{int((np.abs(t) > 3).sum())} of {len(t)} beyond 3 SE.",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--days", type=int, default=2500)
    ap.add_argument("--stocks", type=int, default=2531)
    args = ap.parse_args(argv)
    from datasets.synthetic import make_market

    if (args.data / "pykrx").is_dir():
        real = real_figures(args.data)
        TARGETS_JSON.write_text(json.dumps({
            "source": ("../shared/data (PROVENANCE.md): pykrx/market_cap_by_ticker_ALL_20210104.csv, "
                       "pykrx/net_purchases_by_ticker_*_20210115_20210122.csv, "
                       "krx_market_investor_netbuy_daily.parquet, krx_market_index_daily.parquet"),
            "targets": real,
            "bounds": {k: {"kind": v[1], "bound": v[2], "what": v[0]} for k, v in TARGETS.items()},
        }, indent=2, ensure_ascii=False) + "\n")
    else:
        real = json.loads(TARGETS_JSON.read_text())["targets"]
    params = {"n_days": args.days, "n_stocks": args.stocks, "n_etfs": 0, "seed": args.seed,
              "investors": None, "listing_fraction": 0.0}
    market = make_market(args.days, args.stocks, 0, seed=args.seed, listing_fraction=0.0)
    syn = synthetic_figures(market)
    ic_rows = []
    for lam in (0.0, 0.05, 0.1):
        mk = make_market(1000, 300, 0, seed=args.seed, signal_strength=lam)
        for inv in ("foreign", "pension", "institution", "individual"):
            ic_rows.append((lam, inv, *daily_rank_ic(mk, inv)))
    null_t = []
    for s in range(16):
        ic, se = daily_rank_ic(make_market(1000, 300, 0, seed=s), "foreign")
        null_t.append(ic / se)
    CALIBRATION_MD.write_text(render(real, syn, {k: v for k, v in params.items()
                                                 if k != "investors"}, ic_rows, null_t))
    for name in TARGETS:
        print(f"{name:32s} real {real[name]:12.4g}  synthetic {syn[name]:12.4g}"
              f"  {'ok' if within(name, real[name], syn[name]) else 'OUT'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
