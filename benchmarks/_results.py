"""Shared tail of the benchmark scripts: write a generated table and run a script's CLI."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["script_main", "write_table"]


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
