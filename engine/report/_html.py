"""HTML building blocks of the report: the page, figures, tables, the render context.

Hand-written on purpose: the page is a few hundred bytes of markup around plotly's own
``Figure.to_html`` fragments, and a template engine would be a dependency for one page.
Everything here is deterministic (fixed ``div_id`` per figure, no timestamps, sorted keys) so
that a report rebuilt from a run directory is byte-equal to the one written at run time.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Context", "auto_formats", "esc", "page", "table"]

#: The page's style sheet (system fonts; Noto Sans CJK first so Korean labels render).
CSS = """
body{font-family:"Noto Sans CJK KR","Noto Sans KR",system-ui,-apple-system,"Segoe UI",sans-serif;
margin:0 auto;max-width:1180px;padding:0 18px 40px;color:#1d2330;background:#fff}
h1{font-size:1.6em;margin:18px 0 4px}h2{font-size:1.25em;margin:28px 0 6px;
border-bottom:2px solid #e3e6ec;padding-bottom:3px}h3{font-size:1.05em;margin:18px 0 4px}
nav{font-size:.85em;line-height:1.7;background:#f5f6f8;padding:6px 10px;border-radius:6px}
nav a{margin-right:10px;color:#2457a6;text-decoration:none}
table.t{border-collapse:collapse;font-size:.82em;margin:6px 0 12px}
table.t th,table.t td{border:1px solid #dde1e7;padding:3px 7px;text-align:right;white-space:nowrap}
table.t th{background:#f3f5f8}table.t td.l,table.t th.l{text-align:left}
.note{font-size:.85em;color:#58607a;margin:4px 0 10px}.fig{margin:4px 0 10px}
.scroll{max-height:420px;overflow:auto;display:inline-block;max-width:100%}
.fire{color:#b3261e;font-weight:600}.ok{color:#1b7f3b}
.part{margin-top:34px;padding-top:6px;border-top:4px solid #2457a6}
"""


def esc(x: object) -> str:
    """HTML-escape ``str(x)``."""
    return html.escape(str(x), quote=True)


@dataclass
class Context:
    """Per-report render state: the figure counter (stable div ids) and the table of contents.

    Attributes
    ----------
    prefix : str
        Prefix of the anchors and figure ids of the part being rendered (``""`` for one run).
    n_figures : int
        Figures rendered so far; the browser test counts their containers.
    toc : list of (anchor, title)
    """

    prefix: str = ""
    n_figures: int = 0
    toc: list[tuple[str, str]] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def figure(self, fig, *, height: int | None = None) -> str:
        """One plotly figure as a ``<div>`` (plotly.js is embedded once by :func:`page`)."""
        self.n_figures += 1
        _compact(fig)
        if height is not None:
            fig.update_layout(height=height)
        fig.update_layout(_LAYOUT)
        div = fig.to_html(full_html=False, include_plotlyjs=False,
                          div_id=f"fig-{self.n_figures}",
                          config={"displaylogo": False, "responsive": True})
        return f'<div class="fig">{div}</div>'

    def heading(self, key: str, title: str) -> str:
        """A section heading with an anchor listed in the table of contents."""
        anchor = f"{self.prefix}{key}"
        self.toc.append((anchor, title))
        return f'<h2 id="{esc(anchor)}">{esc(title)}</h2>'


#: The page's figure style, set directly: an empty template (building plotly's named
#: templates deep-copies them per figure, seconds on a demo page) plus the few settings used.
_AXIS = dict(gridcolor="#e6e9ef", zerolinecolor="#c9ced8", linecolor="#c9ced8")
_LAYOUT = dict(
    template=dict(layout=dict(colorway=[
        "#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692",
        "#B6E880", "#FF97FF", "#FECB52"])),
    margin=dict(l=60, r=20, t=50, b=40), paper_bgcolor="white", plot_bgcolor="white",
    font=dict(family='"Noto Sans CJK KR", "Noto Sans KR", system-ui, sans-serif', size=12,
              color="#2a3140"),
    xaxis=_AXIS, yaxis=_AXIS, xaxis2=_AXIS, yaxis2=_AXIS)


def _compact(fig) -> None:
    """Shrink the figure's data: daily dates as ``YYYY-MM-DD`` strings (not 26-character
    timestamps), float values as float32 (7 significant digits, plenty for a chart)."""
    for tr in fig.data:
        for attr in ("x", "y"):
            v = getattr(tr, attr, None)
            if v is None or isinstance(v, str):
                continue
            arr = np.asarray(v)
            if arr.dtype.kind == "M" or (arr.dtype == object and len(arr) and isinstance(
                    arr[0], pd.Timestamp)):
                idx = pd.DatetimeIndex(arr)
                if (idx == idx.normalize()).all():
                    # a NumPy str array passes plotly's validation as one array (a list is
                    # validated element by element)
                    setattr(tr, attr, idx.to_numpy().astype("datetime64[D]").astype(str))
            elif arr.dtype.kind == "f" and arr.ndim == 1:
                setattr(tr, attr, arr.astype(np.float32))


def _fmt(v: object, fmt: str | None) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    if fmt and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return format(v, fmt)
    return str(v)


#: Column names read as fractions shown in percent: probabilities (unsigned), dispersions and
#: loss quantiles (unsigned), returns and moves (signed).
_PROBABILITY = re.compile(r"prob|wilson|p_fire|share|weight|coverage")
_DISPERSION = re.compile(r"(^|_)(std|vol|volatility|var\d*|cvar\d*|te|tracking_error)($|_)")
_SIGNED = re.compile(r"return|drawdown|cagr|(^|_)move($|_)|minus|difference|gap")
#: Column names read as money (portfolio values, regrets in value terms).
_MONEY = re.compile(r"value|regret|cash|invested")


def auto_formats(df: pd.DataFrame) -> dict[str, str]:
    """A format per numeric column from its name and values, for tables of run files whose
    columns the renderer does not know one by one (stress, scenarios).

    Probabilities ``.1%``; dispersions and VaR/CVaR ``.2%``; returns, drawdowns, moves
    ``+.2%``; values and regrets ``,.0f``; integer-valued columns (counts, days) ``,.0f``;
    anything else ``,.4f``.
    """
    out: dict[str, str] = {}
    for c in df.columns:
        s = df[c]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        name = str(c).lower()
        v = s.to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if _PROBABILITY.search(name):
            out[c] = ".1%"
        elif _DISPERSION.search(name):
            out[c] = ".2%"
        elif _SIGNED.search(name):
            out[c] = "+.2%"
        elif _MONEY.search(name) or (len(v) and np.all(v == np.round(v))):
            out[c] = ",.0f"
        else:
            out[c] = ",.4f"
    return out


def table(df: pd.DataFrame, *, formats: dict[str, str] | None = None, default: str | None = None,
          index: bool = True, scroll: bool = False, classes: dict | None = None) -> str:
    """A DataFrame as an HTML table; ``formats`` maps column -> format spec (e.g. ``"+.2%"``).

    Text columns and the index are left-aligned; ``classes`` maps (row position, column) ->
    CSS class (used for warnings that fire).
    """
    formats = formats or {}
    classes = classes or {}
    cols = list(df.columns)
    head = ""
    if index:
        head += f'<th class="l">{esc(df.index.name or "")}</th>'
    head += "".join(f"<th>{esc(c)}</th>" for c in cols)
    rows = []
    for i, (ix, r) in enumerate(zip(df.index, df.itertuples(index=False), strict=True)):
        cells = f'<td class="l">{esc(_fmt(ix, None))}</td>' if index else ""
        for c, v in zip(cols, r, strict=True):
            fmt = formats.get(c, default)
            left = isinstance(v, str) or fmt is None and not isinstance(
                v, (int, float, np.integer, np.floating))
            cls = " ".join(x for x in ("l" if left else "", classes.get((i, c), "")) if x)
            attr = f' class="{cls}"' if cls else ""
            cells += f"<td{attr}>{esc(_fmt(v, fmt))}</td>"
        rows.append(f"<tr>{cells}</tr>")
    out = f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="scroll">{out}</div>' if scroll else out


def page(title: str, subtitle: str, body: str, toc: list[tuple[str, str]]) -> str:
    """The whole self-contained page: style, plotly.js inline once, the table of contents."""
    from plotly.offline import get_plotlyjs

    nav = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in toc)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<h1>{esc(title)}</h1><p class=\"note\">{esc(subtitle)}</p><nav>{nav}</nav>"
        f"{body}</body></html>\n"
    )


def dumps(obj: object) -> str:
    """Deterministic JSON for the manifest (sorted keys)."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str, ensure_ascii=False)
