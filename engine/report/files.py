"""Read-only, cached access to a run directory's files (schemas: README "Run directories").

A section asks for the files it needs and renders nothing when they are absent, so one report
builder serves backtest, sweep, signals, stress, monitor and demo directories alike.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import pandas as pd

from engine.errors import DataError

__all__ = ["RunFiles", "quality_records"]


class RunFiles:
    """The files of one run directory.

    Parameters
    ----------
    path : str or Path
        The run directory (``--out`` of the command that wrote it).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> RunFiles(d).has("equity.parquet")
    False
    """

    def __init__(self, path):
        self.path = Path(path)
        self._cache: dict[str, object] = {}

    def has(self, name: str) -> bool:
        """True when ``name`` exists in the run directory."""
        return (self.path / name).is_file()

    def _read(self, name: str, reader):
        if name not in self._cache:
            p = self.path / name
            if not p.is_file():
                self._cache[name] = None
            else:
                try:
                    self._cache[name] = reader(p)
                except Exception as exc:  # a corrupt file names itself, never a blank section
                    raise DataError(f"cannot read {exc}", file=str(p),
                                    fix="rerun the command that wrote this run directory "
                                        "(its --out)") from exc
        return self._cache[name]

    def parquet(self, name: str) -> pd.DataFrame | None:
        """``name`` read with :func:`pandas.read_parquet`, or None when absent."""
        return self._read(name, pd.read_parquet)

    def csv(self, name: str, **kw) -> pd.DataFrame | None:
        """``name`` read with :func:`pandas.read_csv`, or None when absent."""
        return self._read(name, lambda p: pd.read_csv(p, **kw))

    def json(self, name: str):
        """``name`` parsed as JSON, or None when absent."""
        return self._read(name, lambda p: json.loads(p.read_text(encoding="utf-8")))

    @cached_property
    def run(self) -> dict:
        """run.json (empty dict when absent)."""
        return self.json("run.json") or {}

    @cached_property
    def equity(self) -> pd.DataFrame | None:
        """equity.parquet with a DatetimeIndex (dates x variants)."""
        eq = self.parquet("equity.parquet")
        if eq is None:
            return None
        if "date" in eq.columns:
            eq = eq.set_index("date")
        eq.index = pd.DatetimeIndex(eq.index)
        return eq.sort_index()

    @cached_property
    def strategy(self) -> str | None:
        """The strategy's variant name (run.json ``name``, else the first equity column)."""
        eq = self.equity
        name = self.run.get("name")
        if eq is not None and name in eq.columns:
            return name
        return None if eq is None or eq.empty else str(eq.columns[0])

    @cached_property
    def benchmarks(self) -> list[str]:
        """Every equity column other than the strategy."""
        eq = self.equity
        return [] if eq is None else [str(c) for c in eq.columns if c != self.strategy]

    def quality(self) -> list[dict] | None:
        """The data-quality items: quality.json, else run.json ``quality``; None when neither."""
        q = self.json("quality.json")
        if q is None:
            q = self.run.get("quality")
        if isinstance(q, dict):
            q = q.get("items", [])
        return q


def quality_records(quality) -> list[dict]:
    """A :class:`engine.errors.DataQuality` as the list written to ``quality.json``.

    Rows read come first as ``{"source", "action": "read", "count"}`` items.
    """
    out: list[dict] = []
    if quality is None:
        return out
    for src, n in quality.rows_read.items():
        out.append({"source": src, "action": "read", "what": "rows", "count": int(n), "rule": ""})
    for i in quality.items:
        out.append({"source": i.source, "action": i.action, "what": i.what,
                    "count": int(i.count), "rule": i.rule})
    return out
