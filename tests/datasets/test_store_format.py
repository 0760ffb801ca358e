"""Store formats: a new store fingerprints its files with XXH3-128 (format 3); a format-2 store
written by an earlier flowbt (SHA-256 fingerprints, ``tests/data/store_format2``) is read,
skips the files it holds and stays format 2 when files are added to it.

The fingerprints are checked against the ``xxhash`` and ``hashlib`` libraries directly (the
file's bytes, then its kind and options as sorted JSON), not through flowbt's hashing.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pandas as pd
import pytest
import xxhash

from datasets.store import open_store
from engine.app.cli import main
from engine.errors import DataError
from tests.conftest import FIXTURES

PK = FIXTURES / "pykrx"
MCAP = PK / "market_cap_by_ticker_ALL_20210104.csv"
NB = PK / "net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv"
FORMAT2 = FIXTURES / "store_format2"


def _import(store, *files):
    return main(["data", "import", *map(str, files), "--store", str(store)])


def _manifest(d):
    return json.loads((d / "manifest.json").read_text())


#: What is hashed after each file's bytes: its kind and what its name says (market, dates,
#: investor), as sorted JSON
OPTIONS = {
    MCAP: {"kind": "krx-marketcap", "name_market": "ALL", "name_date": "2021-01-04 00:00:00"},
    NB: {"kind": "krx-netbuy", "name_market": "KOSPI", "name_investor": "individual",
         "name_start": "2021-01-15 00:00:00", "name_date": "2021-01-22 00:00:00"},
}


def _hashed(path) -> bytes:
    return path.read_bytes() + json.dumps(OPTIONS[path], sort_keys=True).encode()


def test_a_new_store_is_format_3_with_xxh3_fingerprints(tmp_path, capsys):
    s = tmp_path / "s"
    assert _import(s, MCAP) == 0
    doc = _manifest(s)
    assert doc["format_version"] == 3 and doc["fingerprint"] == "xxh3_128"
    (rec,) = doc["files"]
    assert "sha256" not in rec
    assert rec["fingerprint"] == xxhash.xxh3_128(_hashed(MCAP)).hexdigest()
    before = (s / "manifest.json").read_bytes()
    capsys.readouterr()
    assert _import(s, MCAP) == 0  # the same file again: skipped, nothing rewritten
    assert "already in the store" in capsys.readouterr().out
    assert (s / "manifest.json").read_bytes() == before


def test_a_format_2_store_keeps_its_sha256_fingerprints(tmp_path, capsys):
    s = tmp_path / "old"
    shutil.copytree(FORMAT2, s)
    before = {p.name: p.read_bytes() for p in s.rglob("*") if p.is_file()}
    doc = _manifest(s)
    assert doc["format_version"] == 2 and "fingerprint" not in doc
    # the file the earlier flowbt imported is recognised: skipped, the store untouched
    assert _import(s, MCAP) == 0
    assert "already in the store" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in s.rglob("*") if p.is_file()} == before
    # a new file is fingerprinted as that flowbt did (SHA-256) and the store stays format 2
    assert _import(s, NB) == 0
    doc = _manifest(s)
    assert doc["format_version"] == 2 and "fingerprint" not in doc
    new = doc["files"][-1]
    assert new["name"] == NB.name and "fingerprint" not in new
    assert new["sha256"] == hashlib.sha256(_hashed(NB)).hexdigest()
    assert doc["files"][0]["sha256"] == hashlib.sha256(_hashed(MCAP)).hexdigest()
    capsys.readouterr()
    assert _import(s, NB) == 0
    assert "already in the store" in capsys.readouterr().out
    # a Parquet file too (mapped and hashed ahead in threads, datasets.store_import._Ahead)
    from datasets import daily_files
    from datasets.synthetic import make_market

    m = make_market(3, 5, 0, seed=1, start="2021-01-25", investors=("foreign",))
    wide = daily_files.write(daily_files.wide_day(m.flows, 0), tmp_path / "caps_wide.parquet")
    assert _import(s, wide) == 0
    doc = _manifest(s)
    assert doc["format_version"] == 2 and doc["files"][-1]["name"] == wide.name
    assert doc["files"][-1]["sha256"] == hashlib.sha256(
        wide.read_bytes() + json.dumps({"kind": "generic-wide"}).encode()).hexdigest()
    # what it holds equals a format-3 store of the same files
    fresh = tmp_path / "new"
    assert _import(fresh, MCAP, NB, wide) == 0
    for table in ("flows", "periods"):
        a, b = open_store(s).read_table(table), open_store(fresh).read_table(table)
        vals = [c for c in b.columns if not c.startswith("src_")]
        assert len(b) > 0
        pd.testing.assert_frame_equal(a[vals], b[vals])


def test_a_manifest_naming_another_fingerprint_hash_is_refused(tmp_path):
    s = tmp_path / "s"
    shutil.copytree(FORMAT2, s)
    doc = _manifest(s)
    doc["fingerprint"] = "xxh3_128"  # format 2 hashes with SHA-256
    (s / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="fingerprinted with 'xxh3_128'; format 2 uses 'sha256'"):
        open_store(s)


@pytest.mark.parametrize("version", [1, 4, None])
def test_a_store_of_another_format_is_refused(tmp_path, version):
    s = tmp_path / "s"
    shutil.copytree(FORMAT2, s)
    doc = _manifest(s)
    doc["format_version"] = version
    (s / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=f"store format {version} is not one of 2, 3") as e:
        open_store(s)
    assert e.value.file.endswith("manifest.json") and "re-import" in e.value.fix
