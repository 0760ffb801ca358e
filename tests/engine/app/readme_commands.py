"""The ``flowbt`` commands shown in README.md, as argument lists.

Read by tests/engine/app/test_readme_commands.py (each must parse with the CLI's argparse)
and runnable by hand to check that each also *runs* as written::

    python -m tests.engine.app.readme_commands            # list them
    python -m tests.engine.app.readme_commands --run DIR  # run each block in DIR/block_<n>

Commands are taken from fenced code blocks: lines starting with ``flowbt`` or ``$ flowbt``,
backslash continuations joined, shell variables set in the same block (``D=tests/data/pykrx``)
substituted, ``# comments`` dropped. Globs are expanded against the repository root.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"

_FENCE = re.compile(r"^```")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\S+)$")


def fenced_blocks(text: str) -> list[list[str]]:
    """The lines of every fenced (```) block of a Markdown text."""
    blocks, cur = [], None
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            if cur is None:
                cur = []
            else:
                blocks.append(cur)
                cur = None
        elif cur is not None:
            cur.append(line)
    return blocks


def commands(text: str | None = None) -> list[tuple[int, list[str]]]:
    """(block number, argv without ``flowbt``) of each README command, in order."""
    text = README.read_text() if text is None else text
    out = []
    for b, lines in enumerate(fenced_blocks(text)):
        env: dict[str, str] = {}
        joined: list[str] = []
        for line in lines:
            if joined and joined[-1].endswith("\\"):
                joined[-1] = joined[-1][:-1] + " " + line.strip()
            else:
                joined.append(line.strip())
        for line in joined:
            if m := _ASSIGN.match(line):
                env[m.group(1)] = m.group(2)
                continue
            if line.startswith("$ "):
                line = line[2:]
            if not line.startswith("flowbt ") and line != "flowbt":
                continue
            for k, v in env.items():
                line = line.replace(f"${k}", v)
            argv = shlex.split(line, comments=True)[1:]
            expanded: list[str] = []
            for a in argv:
                hits = sorted(glob.glob(a, root_dir=ROOT)) if any(c in a for c in "*?[") else []
                expanded += hits or [a]
            out.append((b, expanded))
    return out


def _run(where: Path, timeout: float, only: set[int] | None = None) -> int:  # pragma: no cover
    """Run each block's commands in order in its own directory ``where/block_<n>`` (with a
    copy of examples/ -- configs name paths relative to themselves -- and links to tests/ and
    datasets/); print exit code, time and the last line of output of each."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = 0
    for b, argv in commands():
        if only is not None and b not in only:
            continue
        d = where / f"block_{b}"
        if not d.exists():
            d.mkdir(parents=True)
            shutil.copytree(ROOT / "examples", d / "examples")
            for name in ("tests", "datasets"):
                (d / name).symlink_to(ROOT / name)
        t = time.perf_counter()
        try:
            r = subprocess.run([sys.executable, "-m", "engine.app.cli", *argv], cwd=d,
                               env=env, capture_output=True, text=True, timeout=timeout)
            status = f"exit {r.returncode}"
            bad += r.returncode != 0
            (d / f"out_{time.time_ns()}.txt").write_text(
                f"flowbt {shlex.join(argv)}\n{r.stdout}\n--- stderr\n{r.stderr}")
            tail = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or [""])[-1]
        except subprocess.TimeoutExpired:
            status, tail = f"still running after {timeout:.0f} s (stopped)", ""
        print(f"[block {b}] flowbt {shlex.join(argv)}\n    {status} in "
              f"{time.perf_counter() - t:.1f} s  {tail[:200]}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=None, metavar="DIR")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--block", type=int, nargs="*", default=None, help="only these blocks")
    a = ap.parse_args()
    if a.run is None:
        for b, argv in commands():
            print(f"[block {b}] flowbt " + shlex.join(argv))
    else:
        raise SystemExit(_run(a.run, a.timeout, None if a.block is None else set(a.block)))
