"""One command's output directory: a manifest of what this run wrote, nothing stale left behind.

Every command that writes into ``--out`` goes through :class:`RunDir`::

    with RunDir(out, command="backtest") as rd:
        equity.to_parquet(rd.path("equity.parquet"))
        metrics.to_csv(rd.path("metrics.csv"))
        rd.finish(info)          # writes run.json with info["files"], removes stale files

Rules (README "Design decisions", "Run directories"):

* **Manifest.** ``run.json`` lists, under ``"files"``, every file of the directory this run
  wrote or kept (paths relative to the directory, POSIX separators, ``run.json`` included).
* **Stale files.** A file an earlier flowbt run wrote there (listed in its manifest) that this
  run did not write is removed by :meth:`RunDir.finish` -- so a ``scenarios.csv`` of a regime
  run never sits beside a core/satellite run's results.
* **Foreign files.** If the directory holds a file no flowbt run wrote (not in the earlier
  manifest), the run is refused before anything is written: :class:`engine.errors.ConfigError`
  naming ``--out`` and the files (exit 2). flowbt never deletes what it did not write; choose a
  new ``--out`` or move the files. Hidden files (any path part starting with ``.``, e.g.
  ``.DS_Store``) are ignored: results are never hidden files.
* **Earlier flowbt versions.** A ``run.json`` without ``"files"`` (written before manifests
  existed) marks the directory as flowbt's; the result names those versions wrote
  (:data:`LEGACY_FILES`) count as its files.
* **Interrupted runs.** Each name is recorded in a journal (``.flowbt-writing``) *before* the
  file is written, so files of a run that crashed are known as flowbt's next time; the journal
  is removed when the run finishes.
* **Resumable subdirectories** (``resumable=("chunks",)`` for sweeps): their content is neither
  checked nor removed (the sweep's fingerprint guards it, :func:`engine.app.scale.claim_dir`)
  and is listed in the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

__all__ = ["JOURNAL", "LEGACY_FILES", "MANIFEST", "RunDir", "print_run_notes", "register_files"]

#: The file holding the manifest (``"files"``) and the run's metadata.
MANIFEST = "run.json"
#: Names recorded before they are written; removed when the run finishes.
JOURNAL = ".flowbt-writing"
#: Result files of flowbt versions before manifests (backtest, sweep, demo).
LEGACY_FILES = ("equity.parquet", "weights.parquet", "orders.parquet", "triggers.csv",
                "metrics.csv", "scenarios.csv", "benchmarks.csv", "run.json", "quality.json")
#: How many foreign files an error message lists.
_LIST = 5


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


class RunDir:
    """The output directory of one run (a context manager; see the module notes).

    Parameters
    ----------
    path : str or Path
        The ``--out`` directory (created).
    command : str
        Command name, recorded in run.json as ``"written_by"``.
    resumable : iterable of str
        Subdirectories whose files a rerun keeps (sweep chunks).

    Raises
    ------
    ConfigError
        On entering, when the directory holds files flowbt did not write.
    """

    def __init__(self, path: str | Path, *, command: str, resumable: Iterable[str] = ()) -> None:
        self.root = Path(path)
        self.command = command
        self.resumable = tuple(str(r).strip("/") for r in resumable)
        self.written: list[str] = []
        self.previous: set[str] = set()
        self.removed: list[str] = []
        self._open = False

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> RunDir:
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # On an error the journal stays: the next run knows these files are flowbt's.
        self._open = False

    def open(self) -> None:
        """Check the directory (refusing foreign files) and start the journal."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.previous = self._previous_files()
        foreign = [f for f in self._files() if f not in self.previous]
        if foreign:
            shown = ", ".join(foreign[:_LIST]) + (f" and {len(foreign) - _LIST} more"
                                                  if len(foreign) > _LIST else "")
            raise ConfigError("--out", str(self.root),
                              f"holds {len(foreign)} file(s) flowbt did not write ({shown}); "
                              "flowbt only replaces its own results: choose a new --out "
                              "directory or move those files")
        self._open = True
        self._journal()

    # ------------------------------------------------------------------------ writing
    def path(self, name: str) -> Path:
        """The path to write result ``name`` (relative, may contain ``/``) to; records it."""
        if not self._open:
            raise RuntimeError("RunDir.path() outside the with block")
        rel = Path(name).as_posix()
        if rel.startswith("../") or Path(name).is_absolute() or _hidden(rel):
            raise ValueError(f"result name {name!r} must be a plain relative path")
        if rel not in self.written:
            self.written.append(rel)
            self._journal()
        out = self.root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    def finish(self, info: dict[str, Any]) -> dict[str, Any]:
        """Remove stale files, write ``run.json`` = ``info`` + the manifest; return it.

        ``info["files"]`` is the sorted list of the directory's files after the run (this
        run's, the resumable subdirectories' and run.json); ``info["removed_stale"]`` the
        earlier run's files that were removed.
        """
        if not self._open:
            raise RuntimeError("RunDir.finish() outside the with block")
        keep = set(self.written) | {MANIFEST}
        for rel in sorted(self.previous - keep):
            if self._is_resumable(rel):
                continue
            f = self.root / rel
            if f.is_file():
                f.unlink()
                self.removed.append(rel)
        self._prune_empty_dirs()
        files = sorted(keep | {f for f in self._all_files() if self._is_resumable(f)})
        info = {**info, "written_by": self.command, "files": files,
                "removed_stale": list(self.removed)}
        (self.root / MANIFEST).write_text(json.dumps(info, indent=2, default=str))
        (self.root / JOURNAL).unlink(missing_ok=True)
        self._open = False
        return info

    # ------------------------------------------------------------------------ helpers
    def _is_resumable(self, rel: str) -> bool:
        return any(rel == r or rel.startswith(r + "/") for r in self.resumable)

    def _all_files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file())

    def _files(self) -> list[str]:
        """Files that must belong to flowbt: not hidden, not in a resumable subdirectory."""
        return [f for f in self._all_files() if not _hidden(f) and not self._is_resumable(f)]

    def _previous_files(self) -> set[str]:
        """Files earlier flowbt runs wrote here: the manifest, the journal, legacy names."""
        out: set[str] = set()
        manifest = self.root / MANIFEST
        if manifest.is_file():
            try:
                info = json.loads(manifest.read_text())
            except (ValueError, UnicodeDecodeError):
                info = None
            if isinstance(info, dict) and isinstance(info.get("files"), list):
                out |= {str(f) for f in info["files"]} | {MANIFEST}
            elif isinstance(info, dict) and ("config_hash" in info or "command" in info):
                # a run.json of a flowbt before manifests: its result names and sweep chunks
                out |= set(LEGACY_FILES)
                out |= {f for f in self._all_files() if f.startswith("chunks/")}
        journal = self.root / JOURNAL
        if journal.is_file():
            try:
                out |= {str(f) for f in json.loads(journal.read_text())}
            except (ValueError, UnicodeDecodeError, TypeError):
                pass
        return out

    def _journal(self) -> None:
        names = sorted(set(self.written) | (self.previous - {MANIFEST}))
        (self.root / JOURNAL).write_text(json.dumps(names))

    def _prune_empty_dirs(self) -> None:
        for d in sorted((p for p in self.root.rglob("*") if p.is_dir()),
                        key=lambda p: len(p.parts), reverse=True):
            rel = d.relative_to(self.root).as_posix()
            if not self._is_resumable(rel) and not any(d.iterdir()):
                d.rmdir()


def register_files(root: str | Path, names: Iterable[str]) -> None:
    """Add files written into a finished run directory (``report.html`` by ``--report`` or
    ``flowbt report``) to its manifest, so a rerun into the same ``--out`` knows them as
    flowbt's. A directory without a manifest (not a flowbt run) is left alone."""
    manifest = Path(root) / MANIFEST
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return
    if not isinstance(info, dict) or not isinstance(info.get("files"), list):
        return
    files = sorted(set(info["files"]) | {Path(n).as_posix() for n in names})
    if files != info["files"]:
        manifest.write_text(json.dumps({**info, "files": files}, indent=2, default=str))


def print_run_notes(info: dict[str, Any]) -> None:
    """Print what a finished run's run.json says a user must know: when the benchmarks were
    bought (backtest, sweep), the config warnings, and the stale files removed."""
    if info.get("benchmarks_from"):
        from engine.app.backtest import benchmark_note

        print(benchmark_note(info))
    for w in info.get("warnings", ()):
        print(f"warning: {w}")
    if info.get("removed_stale"):
        print(f"removed {len(info['removed_stale'])} stale file(s) of an earlier run: "
              + ", ".join(info["removed_stale"]))
