"""A file that changes between its hash and its read (a download still being written) is
refused, nothing of its batch is stored, and the finished file imports later (it is not
skipped as already imported)."""

from __future__ import annotations

import json
import os

import pytest

import datasets.arrow_wide as arrow_wide
import datasets.store_import as store_import
from datasets import daily_files
from datasets.store_import import import_files
from datasets.synthetic import make_market
from engine.errors import DataError


def _files(tmp_path, fmt):
    m = make_market(4, 6, 0, seed=2, start="2003-03-03", investors=("foreign", "individual"))
    out = tmp_path / "files"
    out.mkdir()
    return [daily_files.write(daily_files.wide_day(m.flows, t), out / f"w{t}.{fmt}")
            for t in range(len(m.flows.dates))]


def _grow_after(path, real):
    """``real``, but first the file at ``path`` is written to, as while a download runs (a
    text file grows by a line; a Parquet file, which must stay readable, is rewritten)."""
    def wrapped(*a, **kw):
        data = path.read_bytes()
        with open(path, "wb") as fh:
            fh.write(data + b"\n" if path.suffix == ".csv" else data)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return real(*a, **kw)
    return wrapped


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_growing_during_its_import_is_refused_and_imports_once_complete(
        tmp_path, monkeypatch, fmt):
    files = _files(tmp_path, fmt)
    store = tmp_path / "store"
    if fmt == "csv":  # read one file at a time, after its hash
        monkeypatch.setattr(store_import, "rows_of_file",
                            _grow_after(files[2], store_import.rows_of_file))
    else:  # read with its batch at the flush
        monkeypatch.setattr(arrow_wide, "wide_batch", _grow_after(files[2], arrow_wide.wide_batch))
    with pytest.raises(DataError, match="changed while it was being imported") as exc:
        import_files(files, store, progress=False)
    assert exc.value.file == str(files[2])
    assert "import on it again" in exc.value.fix
    manifest = store / "manifest.json"
    if manifest.exists():  # nothing of the batch (here: all four files) was recorded
        assert json.loads(manifest.read_text())["files"] == []
    assert list(store.glob("flows/*.parquet")) == []
    monkeypatch.undo()
    res = import_files(files, store, progress=False)  # the finished file: imported, not skipped
    assert sorted(res.added) == sorted(p.name for p in files) and res.skipped == []
    again = import_files(files, store, progress=False)
    assert again.added == [] and len(again.skipped) == 4


def test_an_unchanged_file_imports_as_before(tmp_path):
    files = _files(tmp_path, "csv")
    res = import_files(files, tmp_path / "store", progress=False)
    assert len(res.added) == 4


def test_a_holdings_file_cut_off_by_its_download_is_named_as_changing(tmp_path, monkeypatch):
    # the batched holdings read: the file is rewritten half-way through a line before it is
    # read, so its read fails; the error says the file changed, not that its last line lacks
    # a weight
    import datasets.arrow_holdings as arrow_holdings

    head = "date,etf,ticker,weight\n"
    files = []
    for i, d in enumerate(["2021-04-02", "2021-07-02", "2021-10-01"]):
        p = tmp_path / f"h{i}.csv"
        p.write_text(head + f"{d},A,X,60\n{d},A,Y,40\n")
        files.append(p)
    real = arrow_holdings.holdings_batch

    def cut(*a, **kw):
        with open(files[1], "ab") as fh:
            fh.write(b"2021-07-02,A,Z")
        st = files[1].stat()
        os.utime(files[1], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return real(*a, **kw)
    monkeypatch.setattr(arrow_holdings, "holdings_batch", cut)
    with pytest.raises(DataError, match="changed while it was being imported") as exc:
        import_files(files, tmp_path / "store", progress=False)
    assert exc.value.file == str(files[1])
