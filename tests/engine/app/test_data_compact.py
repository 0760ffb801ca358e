"""``flowbt data compact`` on a store without daily flows."""

from __future__ import annotations

from datasets.flows_by_stock import COMPACT_DIR
from datasets.store import create_store
from engine.app.cli import main


def test_compact_cli_on_a_store_without_flows_says_so(tmp_path, capsys):
    create_store(tmp_path / "empty")
    assert main(["data", "compact", "--store", str(tmp_path / "empty")]) == 0
    assert "no daily flows to compact" in capsys.readouterr().out
    assert main(["data", "compact", "--store", str(tmp_path / "empty"), "--status"]) == 0
    assert "not compacted: all 0 monthly partitions are read" in capsys.readouterr().out
    assert not (tmp_path / "empty" / COMPACT_DIR).exists()
