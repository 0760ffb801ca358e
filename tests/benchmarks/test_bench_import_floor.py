"""benchmarks/bench_import.py's floor (pyarrow alone on the wide files): it must do the work
it claims, every file read and written once, or its comparison with the import means nothing."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks.bench_import import _floor


def _day(path, day, n, seed):
    rng = np.random.default_rng(seed)
    pd.DataFrame({"date": pd.Timestamp(day), "stock": [f"{i:06d}" for i in range(n)],
                  "market_cap": rng.random(n) * 1e12,
                  "net_buy_foreign": rng.standard_normal(n) * 1e8}).to_parquet(path)


def test_floor_writes_each_month_once_with_every_row_of_its_files(tmp_path, monkeypatch):
    days = ["2021-01-28", "2021-01-29", "2021-02-01", "2021-02-02", "2021-03-02"]
    files = []
    for i, d in enumerate(days):
        p = tmp_path / f"wide_{pd.Timestamp(d):%Y%m%d}.parquet"
        _day(p, d, 5 + i, seed=i)
        files.append(str(p))
    written = []
    real = pq.write_table
    monkeypatch.setattr(pq, "write_table",
                        lambda t, where, **kw: (  # the store's writer: tmp file, rename
                            written.append(Path(where).name.removesuffix(".tmp")),
                            real(t, where, **kw)))
    out = tmp_path / "floor"
    # batches [0..2], [3, 4]: February straddles them, so it must wait for its last file
    _floor(files, out, batch=3)
    assert sorted(written) == ["202101.parquet", "202102.parquet", "202103.parquet"]
    assert sorted(p.name for p in out.iterdir()) == sorted(written)
    for month, which in (("202101", [0, 1]), ("202102", [2, 3]), ("202103", [4])):
        got = pq.read_table(out / f"{month}.parquet").to_pandas()
        want = pd.concat([pd.read_parquet(files[i]) for i in which], ignore_index=True)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want)


def test_floor_refuses_files_out_of_date_order(tmp_path):
    a, b = tmp_path / "wide_20210104.parquet", tmp_path / "wide_20210105.parquet"
    _day(a, "2021-01-04", 3, 0)
    _day(b, "2021-01-05", 3, 1)
    with pytest.raises(ValueError, match="date order"):
        _floor([str(b), str(a)], tmp_path / "floor")
