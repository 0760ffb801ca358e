"""Shared parts of the benchmark scripts: time a call, write a generated table, run a
script's CLI."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Timing", "median_time", "script_main", "write_table"]


class Timing(NamedTuple):
    """Wall times of repeated calls: their median (s), each one (s), the last result."""

    median: float
    times: list[float]
    result: Any


def median_time(fn: Callable, repeats: int, *args, **kwargs) -> Timing:
    """Call ``fn(*args, **kwargs)`` ``repeats`` times (at least once), timing each call."""
    times, result = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return Timing(statistics.median(times), times, result)


def write_table(path: str | Path, text: str | Sequence[str]) -> str:
    """Write a generated results table to ``path`` (creating its folder), echo it, return it.

    ``text`` is the table or its lines. Tables under ``benchmarks/results/`` are only ever
    written this way, never edited by hand.
    """
    body = text if isinstance(text, str) else "\n".join(text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    print(body)
    return body


def script_main(doc: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                run: Callable[[argparse.Namespace], int], argv: list[str] | None = None) -> int:
    """``python -m benchmarks.<script>``: the same arguments as its ``flowbt`` subcommand."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
