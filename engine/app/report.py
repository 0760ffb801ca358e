"""``flowbt report RUN_DIR [--out FILE] [--metric NAME]``: the self-contained HTML report of a
run directory (:func:`engine.report.build_report`)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "record_config", "run", "write_run_report"]


def record_config(out, cfg) -> None:
    """Add the config as run (``cfg.raw``, the parsed TOML) to ``out/run.json`` as ``"config"``
    when the writer did not: the report's parameters table and sleeve grouping read it."""
    import json

    p = Path(out) / "run.json"
    info = json.loads(p.read_text())
    if "config" not in info:
        info["config"] = cfg.raw
        p.write_text(json.dumps(info, indent=2, default=str))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Build one self-contained HTML report (plotly.js inline, no network; opens from "
        "file:// offline) from the files of a backtest, sweep, signals, stress, monitor or "
        "demo run directory. Rebuilding from the same directory gives the same bytes.")
    parser.epilog = "example:\n  flowbt report out/core_satellite   # writes out/core_satellite/report.html"
    parser.add_argument("run_dir", help="the --out directory of a flowbt run")
    parser.add_argument("--out", default=None,
                        help="HTML file to write (default: RUN_DIR/report.html)")
    parser.add_argument("--metric", default=None,
                        help="sweep metric of the heatmap and distribution (a metrics.csv "
                             "column; default sharpe_ratio)")


def write_run_report(run_dir, path=None, metric: str | None = None) -> Path:
    """Write the report of ``run_dir``; the ``--report`` flag of every command calls this."""
    from engine.app.outputs import register_files
    from engine.report import write_report

    written = Path(write_report(run_dir, path, options={"metric": metric} if metric else None))
    root = Path(run_dir).resolve()
    if written.resolve().parent == root:  # inside the run directory: part of its manifest
        register_files(root, [written.name])
    return written


def run(args: argparse.Namespace) -> int:
    p = write_run_report(args.run_dir, args.out, args.metric)
    print(f"report: {p} ({p.stat().st_size / 1e6:.1f} MB)")
    return 0
