"""``flowbt data synth``: write a seeded synthetic KRX-like market to a Parquet store.

Example::

    flowbt data synth --days 2500 --stocks 800 --etfs 60 --seed 1 --signal-strength 0.05 \\
        --out runs/synth --dtype float32

The store layout is described in :mod:`datasets.synth_store`; read it back with
:func:`datasets.synth_store.read_store`.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=2500, help="trading sessions (default 2500)")
    parser.add_argument("--stocks", type=int, default=500, help="stocks (default 500)")
    parser.add_argument("--etfs", type=int, default=40, help="ETFs (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--signal-strength", type=float, default=0.0,
                        help="correlation of informed flow at t with the idiosyncratic return "
                             "at t+1, in [0, 1) (default 0: flows carry no information)")
    parser.add_argument("--signal-horizon-days", type=int, default=1,
                        help="sessions the planted signal moves returns over (default 1)")
    parser.add_argument("--start", default="2000-01-04",
                        help="first session on or after this date (default 2000-01-04)")
    parser.add_argument("--investors", default=None,
                        help="comma-separated investor ids to keep (default: all 12)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="array dtype (default float64)")
    parser.add_argument("--out", required=True, help="output directory of the Parquet store")


def run(args: argparse.Namespace) -> int:
    import time

    from datasets.synth_store import write_store
    from datasets.synthetic import make_market
    from engine.errors import ConfigError

    inv = None
    if args.investors:
        inv = tuple(s.strip() for s in args.investors.split(",") if s.strip())
    t0 = time.perf_counter()
    try:
        market = make_market(args.days, args.stocks, args.etfs, investors=inv, start=args.start,
                             signal_strength=args.signal_strength, seed=args.seed,
                             signal_horizon_days=args.signal_horizon_days,
                             dtype=args.dtype)
    except ValueError as exc:
        given = (f"--days {args.days} --stocks {args.stocks} --etfs {args.etfs} "
                 f"--signal-strength {args.signal_strength} --dtype {args.dtype}")
        raise ConfigError("data synth", given, str(exc)) from exc
    t1 = time.perf_counter()
    out = write_store(market, args.out)
    t2 = time.perf_counter()
    print(market.describe())
    print(f"generated in {t1 - t0:.1f} s, written to {out} in {t2 - t1:.1f} s")
    return 0
