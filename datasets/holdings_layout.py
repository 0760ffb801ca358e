"""A read cache of a store's holdings as the arrays a :class:`~engine.market.Holdings` keeps.

``Store.holdings()`` reads the ``holdings`` partitions (one Parquet file per year), decodes
6.6 M rows into pandas and lets ``Holdings`` check and order them: at a KRX-size history
(200 ETFs x 30 years of quarterly snapshots) that costs as much as the synthesis kernel it
feeds (``benchmarks/results/synthesis_e2e.md``). The checked result is a few flat arrays
(:meth:`Holdings.layout_arrays`), so the store keeps them beside the partitions::

    holdings_layout.npz    uncompressed: the layout arrays, plus ``format`` and ``built_from``
                           (JSON: each holdings partition's name and identity: size,
                           mtime_ns, inode, as :mod:`datasets.flows_by_stock` keys its copy)

It is derived data, never the data of record:

* a read uses it only when ``built_from`` names exactly the partitions present, unchanged
  (every store writer renames a new file into place, so any import that touched the
  holdings changes an identity); otherwise, or when it is unreadable (zip CRC, missing
  arrays, arrays that do not fit together), the read takes the partitions and writes the
  cache anew (best effort: a store on a read-only disk is read from its partitions);
* it is written to a temporary name of its own and renamed into place (a reader holding
  the old file reads it whole); deleting it loses nothing.

Why by hand: Parquet (the partitions) is the interchange format; this is a private,
versioned snapshot of an in-memory structure, which ``np.savez`` holds with a CRC per array.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np

from datasets.flows_by_stock import file_identity
from engine.market import Holdings

__all__ = ["LAYOUT_FILE", "partition_identities", "read_layout", "write_layout"]

LAYOUT_FILE = "holdings_layout.npz"
_FORMAT = 1


def partition_identities(store) -> list:
    """[name, size, mtime_ns, inode] of each holdings partition of ``store``, in order."""
    return [[p.name, *file_identity(p)] for p in store.partitions("holdings")]


def read_layout(store, *, etfs=None, why: list | None = None) -> tuple[bool, Holdings | None]:
    """``(True, holdings)`` from the cache when it is current (``holdings`` None when the
    ETFs asked for have no snapshots), ``(False, None)`` when it is absent, stale or
    unreadable (read the partitions then); ``why`` (a list) receives which of
    ``"absent"``, ``"stale: ..."``, ``"damaged: ..."``."""
    path = store.path / LAYOUT_FILE
    why = [] if why is None else why
    if not path.is_file():
        why.append("absent")
        return False, None
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != _FORMAT:
                why.append(f"stale: format {int(z['format'])}, not {_FORMAT}")
                return False, None
            if json.loads(str(z["built_from"])) != partition_identities(store):
                why.append("stale: the holdings partitions changed since it was written")
                return False, None
            arrays = {k: z[k] for k in Holdings.LAYOUT_ARRAYS}
        return True, Holdings.from_layout_arrays(arrays, etfs=etfs)
    except (OSError, KeyError, ValueError, TypeError, IndexError, zipfile.BadZipFile,
            EOFError) as e:
        # truncated, a CRC error, an array missing, of another shape or not fitting: not
        # used
        why.append(f"damaged: {type(e).__name__}: {e}")
        return False, None


def write_layout(store, holdings: Holdings, built_from: list | None = None, *,
                 arrays: dict | None = None) -> bool:
    """Write ``holdings`` (all of the store's, read from ``built_from``: the partitions'
    identities taken before they were read) as the cache; False when the store's directory
    is not writable or ``holdings`` has no layout (a name the arrays cannot hold: nothing
    written). ``arrays``: its :meth:`~engine.market.Holdings.layout_arrays`, when the caller
    has them already."""
    built_from = partition_identities(store) if built_from is None else built_from
    if arrays is None:
        try:
            arrays = holdings.layout_arrays()
        except ValueError:
            return False
    path = store.path / LAYOUT_FILE
    # a name of its own, not only the pid's: two threads of one process may write at once
    # (not mkstemp: its file is private to the owner, the cache is as readable as the store)
    tmp = path.with_name(f".{LAYOUT_FILE}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            np.savez(fh, format=np.asarray(_FORMAT), built_from=np.asarray(json.dumps(built_from)),
                     **arrays)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        return False
    return True
