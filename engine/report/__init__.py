"""Report building: one self-contained HTML page from a run directory's files.

:func:`build_report` reads the files a command wrote (README "Run directories": equity,
weights, orders, triggers, metrics, signals, positions, sweep metrics, stress tables,
monitor.json, quality.json, run.json) and renders every registered section whose files are
present (:mod:`engine.report.registry` is the extension point). plotly.js is embedded once,
inline; the page makes no network request and opens from a ``file://`` URL offline.

The page holds no clock time: a report rebuilt from the directory is byte-equal to the one
written at run time (``tests/engine/report/test_report.py`` pins it).

A directory whose run.json has ``"parts": [{"title": ..., "dir": ...}, ...]`` (the demo) is
rendered part by part, each part from its own subdirectory.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import DataError
from engine.report import (  # noqa: F401
    flows,
    investor,
    monitor,
    performance,
    quality,
    stress,
    sweep,
)
from engine.report._html import Context, esc, page
from engine.report.files import RunFiles, quality_records
from engine.report.flows import position_figure, write_signals_chart
from engine.report.registry import SECTIONS, section

__all__ = ["SECTIONS", "RunFiles", "build_report", "position_figure", "quality_records",
           "render_sections", "section", "write_report", "write_signals_chart"]

#: File name of the report inside a run directory.
REPORT_NAME = "report.html"


def render_sections(files: RunFiles, ctx: Context) -> str:
    """Every registered section that has its files, concatenated."""
    from engine.report.registry import ordered

    return "".join(h for s in ordered() if (h := s.render(files, ctx)))


def build_report(run_dir, title: str | None = None, options: dict | None = None) -> str:
    """The report of ``run_dir`` as one self-contained HTML string.

    Parameters
    ----------
    run_dir : str or Path
        A directory written by ``flowbt backtest/sweep/signals/stress/monitor/demo --out``.
    title : str, optional
        Page title (default: run.json ``name``, else the directory name).
    options : dict, optional
        Section options, e.g. ``{"metric": "calmar_ratio"}`` for the sweep section.

    Raises
    ------
    DataError
        When the directory does not exist or holds none of the files a section reads.
    """
    root = RunFiles(run_dir)
    if not root.path.is_dir():
        raise DataError("run directory not found", file=str(root.path),
                        fix="pass the --out directory of a flowbt run: flowbt report RUN_DIR")
    ctx = Context(options=dict(options or {}))
    parts = root.run.get("parts")
    if parts:
        body = []
        for i, p in enumerate(parts):
            ctx.prefix = f"p{i}-"
            sub = RunFiles(root.path / p["dir"])
            html = render_sections(sub, ctx)
            if html:
                ctx.toc.append((f"p{i}", f"▸ {p['title']}"))
                body.append(f'<div class="part" id="p{i}"><h1>{esc(p["title"])}</h1>'
                            f'<p class="note">{esc(p.get("about", ""))} '
                            f"(files in {esc(p['dir'])}/)</p>{html}</div>")
        ctx.prefix = ""
        body.insert(0, render_sections(root, ctx))
        body_html = "".join(body)
    else:
        body_html = render_sections(root, ctx)
    if ctx.n_figures == 0 and not body_html:
        raise DataError("no report section found its files (equity.parquet, metrics.csv, "
                        "signals.parquet, monitor.json, ...)", file=str(root.path),
                        fix="pass the --out directory of a flowbt run")
    name = title or root.run.get("name") or root.path.name
    run = root.run
    sub = " · ".join(x for x in (
        f"command: {' '.join(map(str, run['command'][1:]))}" if isinstance(
            run.get("command"), list) else str(run.get("command", "")),
        f"{run['start']} .. {run['end']}" if "start" in run and "end" in run else "",
        "self-contained: plotly.js inline, no network") if x)
    # a multi-part page lists its parts (each part's sections are one scroll away)
    toc = ([(a, t) for a, t in _toc_order(ctx.toc) if t.startswith("▸ ") or not a.startswith("p")]
           if parts else ctx.toc)
    return page(f"flowbt report: {name}", sub, body_html, toc)


def _toc_order(toc):
    # part headings were appended after their sections rendered: move each before its sections
    out, pending = [], []
    for a, t in toc:
        if t.startswith("▸ "):
            out.append((a, t))
            out.extend(pending)
            pending = []
        else:
            pending.append((a, t))
    head = [x for x in pending]
    # sections of the root (rendered last) go first
    return head + out


def write_report(run_dir, path=None, title: str | None = None,
                 options: dict | None = None) -> Path:
    """Build the report of ``run_dir`` and write it (default ``run_dir/report.html``)."""
    html = build_report(run_dir, title=title, options=options)
    p = Path(path) if path is not None else Path(run_dir) / REPORT_NAME
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(html, encoding="utf-8")
    return p
