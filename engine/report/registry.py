"""The section registry: the report's extension point.

A section is a function ``(files: RunFiles, ctx: Context) -> str | None`` that reads the run
directory's files it needs and returns an HTML fragment, or ``None`` when those files are
absent (the section is then left out). Register one with :func:`section`; sections render in
registration order within their ``order`` group. Example, a section for a new command's
``things.csv``::

    from engine.report.registry import section

    @section("things", "Things", order=55)
    def things(files, ctx):
        df = files.csv("things.csv")
        if df is None:
            return None
        return ctx.heading("things", "Things") + table(df)

and import its module from :mod:`engine.report` (``_SECTION_MODULES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SECTIONS", "Section", "section"]


@dataclass(frozen=True)
class Section:
    """One registered report section."""

    key: str
    title: str
    order: int
    render: Callable


#: Every registered section (see :func:`section`).
SECTIONS: list[Section] = []


def section(key: str, title: str, *, order: int = 50):
    """Decorator registering a section renderer under ``key`` (unique)."""

    def deco(fn):
        if any(s.key == key for s in SECTIONS):
            raise ValueError(f"report section {key!r} is already registered")
        SECTIONS.append(Section(key, title, order, fn))
        return fn

    return deco


def ordered() -> list[Section]:
    """The sections sorted by ``order`` (stable: registration order breaks ties)."""
    return sorted(SECTIONS, key=lambda s: s.order)
