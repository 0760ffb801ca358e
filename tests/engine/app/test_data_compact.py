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


def test_a_bulk_import_suggests_compact_only_when_many_months_are_uncompacted(
        tmp_path, capsys, monkeypatch):
    import numpy as np
    import pandas as pd

    import engine.app.data_compact as sc

    days = pd.bdate_range("2021-01-04", "2021-03-31")  # 3 months of wide daily files
    files = []
    for i, d in enumerate(days):
        p = tmp_path / f"wide_{d:%Y%m%d}.parquet"
        pd.DataFrame({"date": d, "stock": ["005930", "000660"],
                      "market_cap": [5e14, 9e13], "close": [8e4, 1.2e5],
                      "net_buy_foreign": np.array([1e9, -2e9]) * (i + 1)}).to_parquet(p)
        files.append(str(p))
    store = str(tmp_path / "st")
    monkeypatch.setattr(sc, "COMPACT_HINT_MONTHS", 3)
    assert main(["data", "import", *files[:30], "--store", store]) == 0
    assert "flowbt data compact" not in capsys.readouterr().out  # 2 months so far
    assert main(["data", "import", *files[30:], "--store", store]) == 0
    out = capsys.readouterr().out
    assert "3 monthly partitions are read in full, outside the stock-grouped copy" in out
    assert f"flowbt data compact --store {store}" in out
    assert main(["data", "compact", "--store", store]) == 0
    assert main(["data", "import", *files, "--store", store]) == 0  # nothing new
    assert "flowbt data compact" not in capsys.readouterr().out
