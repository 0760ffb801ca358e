"""The sections of ``flowbt stress``: windows, shocks, Monte Carlo, scenario tree.

Each function loads what its section needs, calls the core (``engine.stress``) and the fast
path (``engine.app.stress_paths``), and returns the table the command writes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import ConfigError, DataQuality
from engine.market import CASH

__all__ = ["return_sample", "run_montecarlo", "run_shocks", "run_tree", "run_windows"]

#: Seed streams (engine.stress.bootstrap.path_rng): the Monte Carlo is None, shock k is
#: SHOCK_STREAM + k, branch b is TREE_STREAM + b.
SHOCK_STREAM = 1_000
TREE_STREAM = 2_000
#: Shock factor names of the USD/KRW rate (KRW per USD): a shock on it is seen by a KRW-based
#: investor holding the (USD) portfolio unhedged.
FX_FACTORS = ("USDKRW", "USD/KRW")
#: Column of the rate in the joint bootstrap sample of an FX shock.
FX_COLUMN = "USDKRW"


# ----------------------------------------------------------------------------- Monte Carlo
def return_sample(prices: pd.DataFrame, mc) -> tuple[pd.DataFrame, float, dict]:
    """Joint daily returns of the Monte Carlo sample, the block length and what was used."""
    from engine.stress.bootstrap import block_lengths
    from engine.stress.montecarlo import joint_returns

    px = prices
    if mc.history_start is not None:
        px = px.loc[px.index >= pd.Timestamp(mc.history_start)]
    if mc.history_end is not None:
        px = px.loc[px.index <= pd.Timestamp(mc.history_end)]
    if len(px) < 30:
        raise ConfigError("stress.montecarlo.history_start", str(mc.history_start),
                          f"only {len(px)} sessions in the sample; widen the history range")
    rets = joint_returns(px)
    per_asset = block_lengths(rets.drop(columns=[CASH], errors="ignore"))
    if mc.block_length_days > 0:
        block, rule = float(mc.block_length_days), "stress.montecarlo.block_length_days"
    else:
        block, rule = max(1.0, float(per_asset.dropna().mean())), \
            "Politis-White (arch.bootstrap.optimal_block_length), mean over assets"
    info = {"start": str(rets.index[0].date()), "end": str(rets.index[-1].date()),
            "n_obs": len(rets), "block_length_days": block, "block_rule": rule,
            "block_length_per_asset": {k: round(float(v), 3) for k, v in per_asset.items()}}
    return rets, block, info


def _shared(rets: pd.DataFrame, start_prices: pd.Series, cols: list[str], last_date,
            horizon: int, block: float, seed: int, variants: dict, sim: dict) -> dict:
    return dict(returns=rets[cols].to_numpy(np.float64),
                start_prices=start_prices[cols].to_numpy(np.float64), columns=cols,
                last_date=str(pd.Timestamp(last_date).date()), horizon=int(horizon),
                block_length=float(block), seed=int(seed), variants=variants, sim=sim)


def _named(progress, section: str):
    """``progress`` with the chunk key prefixed by its section (``"shock_0/paths_0000100"``), so
    one bar can say which section's chunks it counts."""
    if progress is None:
        return None
    return lambda key, done, total: progress(f"{section}/{key}", done, total)


def run_montecarlo(cfg, sc, prep, variants, cols, sim, rets, block, out: Path, *,
                   scheduler=None, chunk=None, progress=None) -> dict:
    """Chunks of paths through engine/app/scale.py; writes montecarlo.parquet, mc_fan.csv,
    mc_summary.csv, trigger_probability.csv; returns the run.json entry."""
    from engine.app.runner import data_hash
    from engine.app.scale import run_chunks
    from engine.app.stress import fingerprint
    from engine.app.stress_paths import fan_column, mc_chunk, path_dates
    from engine.stress.montecarlo import fan_days, summarize, trigger_probability

    mc = sc.montecarlo
    chunk = int(chunk or mc.chunk_paths)
    prices = prep.market.prices
    shared = _shared(rets, prices.iloc[-1], cols, prices.index[-1], mc.horizon_days, block,
                     sc.seed, variants, sim)
    days = tuple(int(d) for d in fan_days(mc.horizon_days))
    shared["fan_days"] = days
    tasks = [(f"paths_{lo:07d}", (lo, min(lo + chunk, mc.n_paths)))
             for lo in range(0, mc.n_paths, chunk)]
    fp = fingerprint("montecarlo", cfg.hash, data_hash(prices), mc.model_dump(mode="json"),
                     chunk, block, sc.seed, {"fan_days": days})
    timings: dict = {}
    paths = run_chunks(mc_chunk, tasks, out / "chunks" / "montecarlo", scheduler=scheduler,
                       shared=shared, progress=_named(progress, "montecarlo"), fingerprint=fp,
                       command="stress",
                       timings=timings)
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    value_cols = [fan_column(d) for d in days]
    fan_table(frame, value_cols, days, path_dates(prices.index[-1], mc.horizon_days)).to_csv(
        out / "mc_fan.csv", index=False)
    frame = frame.drop(columns=value_cols)
    frame.to_parquet(out / "montecarlo.parquet", index=False)
    summ = summarize(frame, ["cagr", "max_drawdown", "final_value", "total_return"],
                     init_cash=sim["init_cash"])
    summ.to_csv(out / "mc_summary.csv", index=False)
    strat = frame[frame["variant"] == cfg.name]
    fire = strat[[c for c in strat.columns if c.startswith("fire_day_")]]
    fire.columns = [c[len("fire_day_"):] for c in fire.columns]
    tp = trigger_probability(fire, mc.horizon_days)
    tp.insert(0, "variant", cfg.name)
    tp.insert(2, "horizon_days", mc.horizon_days)
    tp.to_csv(out / "trigger_probability.csv", index=False)
    return {"n_paths": mc.n_paths, "horizon_days": mc.horizon_days, "chunk_paths": chunk,
            "n_chunks": len(tasks), "block_length_days": block, "fingerprint": fp,
            "chunk_seconds": {k: round(v, 3) if isinstance(v, float) else v
                              for k, v in timings.items()}}


def fan_table(frame: pd.DataFrame, value_cols: list[str], days, dates) -> pd.DataFrame:
    """``mc_fan.csv``: per variant and kept day, the 5/25/50/75/95th percentiles of the
    portfolio value over every path (columns variant, day, date, n_paths, p05 .. p95)."""
    from engine.stress.montecarlo import FAN_PERCENTILES, fan_quantiles

    rows = []
    for v, sub in frame.groupby("variant", sort=False):
        q = fan_quantiles(sub[value_cols].to_numpy())
        f = pd.DataFrame({"variant": v, "day": list(days),
                          "date": [str(dates[d].date()) for d in days], "n_paths": len(sub)})
        for i, p in enumerate(FAN_PERCENTILES):
            f[f"p{p:02d}"] = q[i]
        rows.append(f)
    return pd.concat(rows, ignore_index=True)


def run_paths(key: str, n_paths: int, shared: dict, *, out: Path | None = None,
              chunk: int | None = None, scheduler=None, progress=None, fp_parts=(),
              **kwargs) -> pd.DataFrame:
    """``mc_chunk`` over paths ``0..n_paths-1``: in memory, or chunked and resumable.

    With ``out``, the paths run in chunks of ``chunk`` through engine/app/scale.py into
    ``out/chunks/<key>/`` (fingerprinted by ``fp_parts`` and everything passed here), so an
    interrupted shock or scenario branch resumes like the Monte Carlo; results do not depend
    on the chunking (each path has its own seed).
    """
    from engine.app.scale import run_chunks
    from engine.app.stress import fingerprint
    from engine.app.stress_paths import mc_chunk

    if out is None:
        return mc_chunk(0, n_paths, **shared, **kwargs)
    chunk = int(chunk or n_paths)
    tasks = [(f"paths_{lo:07d}", (lo, min(lo + chunk, n_paths)))
             for lo in range(0, n_paths, chunk)]
    def plain(d: dict) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}

    fp = fingerprint(key, n_paths, chunk, list(fp_parts), plain(kwargs),
                     plain({k: v for k, v in shared.items() if k not in ("returns", "variants")}),
                     repr(shared["variants"]),
                     hashlib.sha256(np.ascontiguousarray(shared["returns"])).hexdigest())
    paths = run_chunks(mc_chunk, tasks, Path(out) / "chunks" / key, scheduler=scheduler,
                       shared={**shared, **kwargs}, progress=_named(progress, key), fingerprint=fp,
                       command="stress")
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


# --------------------------------------------------------------------------------- windows
def run_windows(cfg, sc, quality: DataQuality) -> pd.DataFrame:
    """Every window on the full history (proxies spliced where declared)."""
    import datasets
    from engine.app.runner import (
        benchmark_weights,
        decide,
        make_strategy,
        prepare,
        sim_kwargs,
        variant_log,
    )
    from engine.simulation import simulate
    from engine.stress.windows import WindowRefused, splice_proxy, window_table
    from strategies.base import Context

    full = prepare(cfg, start="1900-01-01", end=cfg.data.end)
    px_all = full.market.prices
    strat = make_strategy(cfg.strategy_kind, cfg.strategy_params)
    needed = [a for a in (strat.assets() if hasattr(strat, "assets") else []) if a != CASH]
    for t in getattr(cfg.strategy_params, "triggers", ()):
        if t.condition.on == "asset" and t.condition.name not in needed:
            needed.append(t.condition.name)
    needed += [b for b in cfg.simulation.benchmarks if b != "static" and b not in needed]
    index = None
    frames = []
    for w in sc.windows:
        start = pd.Timestamp(w.start)
        before = px_all.index[px_all.index < start]
        try:
            if len(before) == 0:
                raise WindowRefused(w.name, "the data", px_all.index[0], str(w.start),
                                    "start the window later")
            s0 = before[-1]
            px = px_all.loc[px_all.index >= s0].copy()
            for a in needed:
                first = px_all[a].first_valid_index() if a in px_all else None
                if first is not None and first <= s0 and not px[a].isna().any():
                    continue
                proxy = sc.proxies.get(a)
                if proxy is None:
                    raise WindowRefused(w.name, a, first, str(s0.date()),
                                        f"declare a stand-in as stress.proxies.{a} = "
                                        "{ asset = \"<ticker>\" } or { index = \"SPX\", "
                                        "expense_ratio = ... }")
                if proxy.asset is not None:
                    src, label = px_all[proxy.asset], proxy.asset
                else:
                    if index is None:
                        index = datasets.load_us_index_close()
                    src, label = index[proxy.index].reindex(px_all.index), proxy.index
                spliced, _ = splice_proxy(px_all[a], src, proxy.expense_ratio)
                spliced = spliced.loc[spliced.index >= s0]
                if spliced.isna().any():
                    raise WindowRefused(w.name, f"{a} (proxy {label})",
                                        src.first_valid_index(), str(s0.date()),
                                        f"choose a stand-in for stress.proxies.{a} with prices "
                                        "over the whole window")
                px[a] = spliced
                quality.add("stress.proxies", "spliced",
                            f"{a} sessions from {label} (window {w.name})",
                            int((spliced.index < (first or spliced.index[-1])).sum()),
                            rule="proxy returns chained to the asset's first price")
        except WindowRefused as exc:
            frames.append(pd.DataFrame([{"window": w.name, "variant": "", "status":
                                         f"refused: {exc}", "start": str(w.start),
                                         "end": str(w.end)}]))
            quality.add("stress.windows", "refused", "windows", 1, rule=str(exc))
            continue
        ctx = Context(prices=px, signals={k: v.loc[v.index >= s0]
                                          for k, v in full.ctx.signals.items()},
                      flows=None if full.ctx.flows is None
                      else full.ctx.flows.loc[full.ctx.flows.index >= s0])
        d = decide(cfg, ctx)
        weights = {cfg.name: d.weights, **benchmark_weights(cfg, ctx)}
        res = simulate(px, weights, benchmarks=list(cfg.simulation.benchmarks),
                       keep_weights=False, keep_orders=False, keep_portfolio=False,
                       **sim_kwargs(cfg, full.market))
        table = window_table(res.equity, variant_log({cfg.name: d}), w.name, w.start, w.end)
        table.insert(2, "status", "ok")
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------- shocks
def _factor_frame(shock, prices: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Daily factor values of a shock's factor set, and the factor's column."""
    import datasets

    if shock.factors == "ff5":
        from datasets.factors import load_ff5_daily_pct

        ff = load_ff5_daily_pct() / 100.0  # percent -> fraction
        cols = ["Mkt-RF", "SMB", "HML", "RMW", "CMA"]
        if shock.factor not in cols:
            raise ConfigError("stress.shocks.*.factor", shock.factor,
                              f"not a Fama-French factor; one of {cols}")
        return ff[cols], shock.factor
    if shock.factor == "TNX_bp":
        tnx = datasets.load_us_rates()["TNX_pct"]
        return (tnx.diff() * 100.0).to_frame("TNX_bp"), "TNX_bp"  # pct points -> bp
    if shock.factor in prices.columns:
        return prices[[shock.factor]].pct_change(fill_method=None), shock.factor
    index = datasets.load_us_index_close()
    if shock.factor in index.columns:
        return index[[shock.factor]].pct_change(fill_method=None), shock.factor
    raise ConfigError("stress.shocks.*.factor", shock.factor,
                      "not a price column, an index (SPX, NDX, RUT) or TNX_bp")


def run_shocks(cfg, sc, prep, variants, cols, sim, rets, block,
               quality: DataQuality | None = None, *, out: Path | None = None,
               chunk: int | None = None, scheduler=None,
               progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every shock: betas, propagated moves, continuation paths through the strategy.

    With ``out``, each shock's paths run chunked and resumable in
    ``out/chunks/shock_<k>/`` (:func:`run_paths`; ``chunk`` default
    ``[stress.montecarlo] chunk_paths``).
    """
    from engine.stress.shocks import ols_betas, propagate

    runner = dict(out=out, chunk=chunk or sc.montecarlo.chunk_paths, scheduler=scheduler,
                  progress=progress, fp_parts=(cfg.hash, sc.seed, block))

    prices = prep.market.prices
    quality = DataQuality() if quality is None else quality
    rows, beta_rows = [], []
    for k, shock in enumerate(sc.shocks):
        as_of = pd.Timestamp(shock.as_of) if shock.as_of else prices.index[-1]
        hist = prices.loc[prices.index <= as_of, cols]
        if len(hist) < shock.lookback_days + 1:
            raise ConfigError(f"stress.shocks.{k}.lookback_days", shock.lookback_days,
                              f"only {len(hist) - 1} sessions of returns before {as_of.date()}")
        hist = hist.iloc[-(shock.lookback_days + 1):]
        if shock.factor in FX_FACTORS:
            rows += _fx_shock(cfg, k, shock, prices, hist, as_of, variants, cols, sim, rets,
                              block, sc.seed, quality, beta_rows, runner)
            continue
        y = hist.pct_change(fill_method=None).iloc[1:]
        if shock.factors == "ff5":
            from datasets.factors import load_ff5_daily_pct

            y = y.sub(load_ff5_daily_pct()["RF"].reindex(y.index) / 100.0, axis=0)
        fac, name = _factor_frame(shock, prices)
        betas = ols_betas(y.drop(columns=[CASH]), fac)
        quality.add(f"stress.shocks.{shock.name}", "left out",
                    "lookback days without factor data (not in both calendars or NaN)",
                    int(betas["n_dropped"].max()), rule="betas fit on the common days only")
        moves = propagate(betas, {name: shock.move}).reindex(cols)
        moves[CASH] = 0.0  # cash does not move on an instantaneous shock
        for a in betas.index:
            beta_rows.append({"shock": shock.name, "factor": name, "asset": a,
                              "beta": betas.loc[a, f"beta_{name}"],
                              "se": betas.loc[a, f"se_{name}"], "r2": betas.loc[a, "r2"],
                              "n_obs": int(betas.loc[a, "n_obs"]),
                              "n_dropped": int(betas.loc[a, "n_dropped"]),
                              "lookback_end": str(as_of.date()), "move": moves[a],
                              "basis": "OLS over the lookback"})
        lead = sim["execution_lag_bars"]
        horizon = lead + shock.horizon_days
        shared = _shared(rets, hist.iloc[-1], cols, as_of, horizon, block, sc.seed, variants,
                         sim)
        marks = tuple(m for m in (1, 30, 90, shock.horizon_days) if m <= shock.horizon_days)
        df = run_paths(f"shock_{k:03d}", shock.n_paths, shared, **runner,
                       first_day=moves.to_numpy(np.float64), lead_in_days=lead,
                       stream=SHOCK_STREAM + k, marks=tuple(sorted(set(marks))))
        rows += _shock_rows(cfg, shock, name, as_of, df, lead + 1, "USD")
    return pd.DataFrame(rows), pd.DataFrame(beta_rows)


def _fx_shock(cfg, k, shock, prices, hist, as_of, variants, cols, sim, rets, block, seed,
              quality, beta_rows, runner) -> list[dict]:
    """A USD/KRW shock for a KRW-based investor holding the USD portfolio unhedged.

    The KRW value of a USD asset is its USD price times the rate (engine.fx), so its beta on
    the rate is 1 by construction -- nothing is estimated; cash (USD) moves the same. On the
    shock day the USD prices do not move and the rate moves by ``shock.move`` (``-0.05`` =
    USD/KRW down 5 %, the won strengthens: every USD asset loses 5 % in KRW); the paths after
    it resample the assets' and the rate's daily returns jointly (the same rows), so the
    continuation keeps their co-movement. Outcomes are in KRW (per day 0's USD).
    """
    import datasets
    from engine.fx import align_fx

    fx = align_fx(datasets.load_usdkrw(), prices.index, quality)
    fx_ret = fx.pct_change(fill_method=None).reindex(rets.index)
    if fx_ret.isna().any():
        first = fx_ret.index[fx_ret.isna().to_numpy()][0]
        raise ConfigError("stress.montecarlo.history_start", str(rets.index[0].date()),
                          f"no USD/KRW return on {first.date()} (the bundled rate starts "
                          f"{datasets.load_usdkrw().index[0].date()}); start the sample later")
    for a in cols:
        beta_rows.append({"shock": shock.name, "factor": FX_COLUMN, "asset": a, "beta": 1.0,
                          "se": 0.0, "r2": np.nan, "n_obs": 0, "n_dropped": 0,
                          "lookback_end": str(as_of.date()), "move": shock.move,
                          "basis": "by construction: KRW value = USD price x USD/KRW"})
    fcols = [*cols, FX_COLUMN]
    sample = rets.assign(**{FX_COLUMN: fx_ret})
    start = hist.iloc[-1].copy()
    start[FX_COLUMN] = float(fx.loc[hist.index[-1]])
    lead = sim["execution_lag_bars"]
    first_day = np.zeros(len(fcols))
    first_day[-1] = shock.move
    shared = _shared(sample, start, fcols, as_of, lead + shock.horizon_days, block, seed,
                     variants, sim)
    marks = tuple(sorted({m for m in (1, 30, 90, shock.horizon_days)
                          if m <= shock.horizon_days}))
    df = run_paths(f"shock_{k:03d}", shock.n_paths, shared, **runner, first_day=first_day,
                   lead_in_days=lead, stream=SHOCK_STREAM + k, marks=marks,
                   fx_column=len(fcols) - 1)
    return _shock_rows(cfg, shock, FX_COLUMN, as_of, df, lead + 1, "KRW")


def _shock_rows(cfg, shock, name, as_of, df, shock_day, currency) -> list[dict]:
    """shocks.csv rows of one shock: per variant, immediate / 30 / 90-day returns, triggers."""
    from engine.stress.montecarlo import wilson_interval

    rows = []
    strat = df[df["variant"] == cfg.name].set_index("path")
    for v, sub in df.groupby("variant", sort=False):
        sub = sub.set_index("path")
        row = {"shock": shock.name, "factor": name, "factor_set": shock.factors,
               "move": shock.move, "as_of": str(as_of.date()), "currency": currency,
               "variant": v, "n_paths": len(sub),
               "immediate_return": float(sub["return_1d"].median())}
        for m in (30, 90):
            c = f"return_{m}d"
            if c in sub:
                for q in (5, 50, 95):
                    row[f"return_{m}d_p{q:02d}"] = float(np.percentile(sub[c], q))
                if v != cfg.name:
                    row[f"strategy_minus_this_{m}d_p50"] = float(
                        np.median(strat[c] - sub[c].reindex(strat.index)))
        fired_now, probs = [], {}
        for c in [c for c in sub.columns if c.startswith("fire_day_")]:
            d = sub[c].to_numpy()
            if np.all(np.isnan(d)):
                continue
            t = c[len("fire_day_"):]
            if np.nanmin(d) <= shock_day and (d <= shock_day).all():
                fired_now.append(t)
            n_f = int(np.sum(~np.isnan(d)))
            lo, hi = wilson_interval(n_f, len(d))
            probs[f"p_fire_{t}"] = n_f / len(d)
            probs[f"p_fire_{t}_wilson_low"] = lo
            probs[f"p_fire_{t}_wilson_high"] = hi
        row["triggers_on_shock_day"] = "; ".join(fired_now)
        row.update(probs)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ tree
def _group_vector(spec: dict, groups: dict, cols: list[str], default: float) -> np.ndarray:
    out = np.full(len(cols), default)
    pos = {c: i for i, c in enumerate(cols)}
    for g, v in spec.items():
        for a in groups.get(g, [g]):
            if a in pos:
                out[pos[a]] = v
    return out


def run_tree(cfg, sc, prep, variants, cols, sim, rets, block, *, out: Path | None = None,
             chunk: int | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """Every branch's paths through its response allocation and the benchmarks; the mixture.

    With ``out``, each branch's paths run chunked and resumable in ``out/chunks/branch_<b>/``
    (:func:`run_paths`).
    """
    from engine.app.stress_paths import variant_params
    from engine.stress.tree import mixture, tree_table

    tree = sc.tree
    if not tree.branches:
        raise ConfigError("stress.tree.branches", [], "the tree has no branches; add "
                          "[[stress.tree.branches]] or drop 'tree' from stress.sections")
    prices = prep.market.prices
    samples, probs = {}, {}
    for b, br in enumerate(tree.branches):
        vs = variant_params(cfg, sleeves=br.response or None)
        bcols = list(dict.fromkeys([*cols, *_columns_of(vs)]))
        missing = [c for c in bcols if c not in rets.columns]
        if missing:
            raise ConfigError(f"stress.tree.branches.{b}.response", missing,
                              "assets outside the Monte Carlo sample")
        dm = _group_vector(br.drift_mult, tree.groups, bcols, 1.0)
        vm = _group_vector(br.vol_mult, tree.groups, bcols, 1.0)
        sh = _group_vector(br.shock, tree.groups, bcols, np.nan) if br.shock else None
        lead = sim["execution_lag_bars"] if sh is not None else 0
        shared = _shared(rets, prices.iloc[-1], bcols, prices.index[-1],
                         tree.horizon_days + lead, block, sc.seed, vs, sim)
        samples[br.name] = run_paths(
            f"branch_{b:03d}", tree.n_paths, shared, out=out,
            chunk=chunk or sc.montecarlo.chunk_paths, scheduler=scheduler, progress=progress,
            fp_parts=(cfg.hash, sc.seed, block), drift_mult=dm, vol_mult=vm, first_day=sh,
            lead_in_days=lead, stream=TREE_STREAM + b)
        probs[br.name] = br.probability
    mix = mixture(samples, probs)
    benches = [b for b in cfg.simulation.benchmarks]
    return tree_table(mix, cfg.name, benches, probs, sim["init_cash"])


def _columns_of(variants: dict) -> list[str]:
    from engine.app.stress import _columns

    return _columns(variants)


# ------------------------------------------------------------------ the regime's scenarios
def regime_tree(cfg, prep) -> pd.DataFrame:
    """``scenarios.csv`` of a strategy that declares scenarios (the regime allocation).

    Each scenario is a branch of a scenario tree: its probability (from the strategy's
    scenarios), its response allocation (the scenario's static weights with the full ramp,
    rebalanced on each month's first session) and its path specification -- the
    ``[[stress.tree.branches]]`` entry of the same name when the config has one (drift /
    volatility multipliers, first-day shocks per group), otherwise the plain bootstrap of the
    run's own joint daily returns. Output as :func:`engine.stress.tree.tree_table`: each
    branch's distribution, the probability-weighted mixture, worst branch and regret against
    the benchmarks. Replaces the probability-weighted average of metrics over one shared
    history (averaging Sharpe ratios and drawdowns is not an expectation of anything).
    """
    from engine.app.runner import make_strategy
    from engine.app.stress import _columns, _sim
    from engine.app.stress_config import validate_stress
    from engine.app.stress_paths import mc_chunk
    from engine.stress.tree import mixture, tree_table
    from strategies.core_satellite import CoreSatelliteParams

    strat = make_strategy(cfg.strategy_kind, cfg.strategy_params)
    probs = dict(cfg.strategy_params.probabilities)
    sc = validate_stress(cfg.stress, file=cfg.file)
    specs = {b.name: b for b in sc.tree.branches}
    if specs:
        if set(specs) != set(probs) or any(
                abs(specs[n].probability - probs[n]) > 1e-9 for n in probs):
            raise ConfigError("stress.tree.branches", sorted(specs),
                              f"must name the strategy's scenarios with their probabilities "
                              f"{probs}")
        for n, b in specs.items():
            if b.response:
                raise ConfigError(f"stress.tree.branches.{n}.response", b.response,
                                  "a regime scenario responds with its own allocation "
                                  "(strategy.scenarios); remove the response table")
    sim = _sim(cfg)
    hold = {b: CoreSatelliteParams(sleeves={"hold": {b: 1.0}}, rebalance="none")
            for b in cfg.simulation.benchmarks if b != "static"}

    def alloc(w: pd.Series) -> CoreSatelliteParams:
        return CoreSatelliteParams(sleeves={"allocation": {str(a): float(x) for a, x in
                                                           w.items() if x > 0 or a == CASH}},
                                   rebalance="monthly")

    if "static" in cfg.simulation.benchmarks:
        hold["static"] = alloc(strat.static_weights())
    branch_variants = {n: {cfg.name: alloc(strat.scenario_weights(n)), **hold} for n in probs}
    cols = list(dict.fromkeys(c for v in branch_variants.values() for c in _columns(v)))
    cols = [c for c in cols if c != CASH] + [CASH]
    rets, block, _ = return_sample(prep.market.prices[cols], sc.montecarlo)
    px = prep.market.prices
    samples = {}
    for b, name in enumerate(probs):
        spec = specs.get(name)
        dm = vm = sh = None
        if spec is not None:
            dm = _group_vector(spec.drift_mult, sc.tree.groups, cols, 1.0)
            vm = _group_vector(spec.vol_mult, sc.tree.groups, cols, 1.0)
            sh = _group_vector(spec.shock, sc.tree.groups, cols, np.nan) if spec.shock else None
        lead = sim["execution_lag_bars"] if sh is not None else 0
        shared = _shared(rets, px.iloc[-1], cols, px.index[-1], sc.tree.horizon_days + lead,
                         block, sc.seed, branch_variants[name], sim)
        samples[name] = mc_chunk(0, sc.tree.n_paths, **shared, drift_mult=dm, vol_mult=vm,
                                 first_day=sh, lead_in_days=lead, stream=TREE_STREAM + b)
    return tree_table(mixture(samples, probs), cfg.name, list(hold), probs, sim["init_cash"])
