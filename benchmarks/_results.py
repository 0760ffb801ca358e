"""Shared parts of the benchmark scripts: time a call, write a generated table, run a
script's CLI."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Timing", "median_time", "run_json_child", "script_main", "write_table"]


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


def run_json_child(module: str, args: Sequence[str], cwd: str | Path) -> dict:
    """Run ``python -m module *args`` in a fresh process; its last stdout line is a JSON
    object, returned with ``peak_rss_gb``: the child's peak resident memory (GB,
    ``ru_maxrss``; processes the child starts are not included, so a child that starts
    workers reports theirs itself).

    One process per measured mode, so that no mode inherits another's caches, threads or
    memory high-water mark.
    """
    proc = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                            cwd=cwd)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"benchmark child {module} {' '.join(args)!r} failed ({status})")
    res = json.loads(out.decode().strip().splitlines()[-1])
    res["peak_rss_gb"] = usage.ru_maxrss / 1024**2  # kB on Linux
    return res
