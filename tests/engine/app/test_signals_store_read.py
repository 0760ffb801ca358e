"""``flowbt signals --etf X --store DIR`` reads only X's constituents, investors and columns,
and gives what the whole store gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasets.store import open_store
from datasets.synth_store import write_store
from datasets.synthetic import make_market
from engine.app.cli import main
from engine.flow_signals import signals_long


def _store(tmp_path):
    m = make_market(70, 60, 8, seed=5)
    write_store(m, tmp_path / "store")
    return open_store(tmp_path / "store")


def test_selected_stocks_and_investors_are_slices_of_the_whole_panel(tmp_path):
    st = _store(tmp_path)
    full = st.flows()
    want = [str(s) for s in full.stocks[[3, 17, 40]]]
    part = st.flows(stocks=want + ["NOPE"], investors=["individual", "foreign"], shares=False)
    assert list(part.stocks) == sorted(want) and part.investors == ("individual", "foreign")
    assert part.net_buy_shares is None
    si = full.stocks.get_indexer(part.stocks)
    ki = [full.investors.index(k) for k in part.investors]
    np.testing.assert_array_equal(part.net_buy, full.net_buy[:, si][:, :, ki])
    np.testing.assert_array_equal(part.market_cap, full.market_cap[:, si])
    assert part.dates.equals(full.dates)
    h = st.holdings(etfs=["E003"])
    assert list(h.etfs) == ["E003"]
    pd.testing.assert_frame_equal(
        h.table.reset_index(drop=True),
        st.holdings().table.query("etf == 'E003'").reset_index(drop=True))


def test_signals_for_one_etf_equal_the_whole_store_computation(tmp_path, capsys):
    st = _store(tmp_path)
    assert main(["signals", "--store", str(st.path), "--etf", "E002", "--out",
                 str(tmp_path / "out")]) == 0
    got = pd.read_parquet(tmp_path / "out" / "signals.parquet")
    # reference: the whole panel, every investor and stock, through the same public function
    ref, _ = signals_long(st.flows(), st.holdings(), etfs=["E002"],
                          investors=["foreign", "institution", "individual", "pension"],
                          methods=["bp"])
    ref = ref.reset_index(drop=True)
    ref.attrs = {}
    assert len(got) > 0 and got["value"].notna().any()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref, check_exact=True,
                                  check_dtype=False)


def test_signals_after_data_compact_equal_those_before(tmp_path, capsys):
    st = _store(tmp_path)
    args = ["signals", "--store", str(st.path), "--etf", "E002", "E006", "--compare-methods"]
    assert main(args + ["--out", str(tmp_path / "before")]) == 0
    assert main(["data", "compact", "--store", str(st.path)]) == 0
    out = capsys.readouterr().out
    assert "compacted through" in out and "0 later monthly partitions" in out
    assert main(args + ["--out", str(tmp_path / "after")]) == 0
    for name in ("signals.parquet", "coverage.parquet"):
        a = pd.read_parquet(tmp_path / "before" / name)
        b = pd.read_parquet(tmp_path / "after" / name)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert main(["data", "compact", "--store", str(st.path), "--status"]) == 0
    assert "serves through" in capsys.readouterr().out


def test_signals_suggests_data_compact_only_while_many_partitions_are_read_in_full(
        tmp_path, capsys, monkeypatch):
    import engine.app.data_compact as sc

    st = _store(tmp_path)  # 70 sessions: 4 monthly partitions
    monkeypatch.setattr(sc, "COMPACT_HINT_MONTHS", 3)
    args = ["signals", "--store", str(st.path), "--etf", "E002"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert ("4 monthly partitions are read in full, outside the stock-grouped copy "
            "(not compacted)") in out
    assert f"flowbt data compact --store {st.path}" in out
    assert main(["data", "compact", "--store", str(st.path)]) == 0
    capsys.readouterr()
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    assert "flowbt data compact" not in capsys.readouterr().out
    # every ETF read whole: no suggestion either (the copy serves selective reads)
    monkeypatch.setattr(sc, "COMPACT_HINT_MONTHS", 0)
    assert main(["signals", "--store", str(st.path), "--out", str(tmp_path / "c")]) == 0
    assert "flowbt data compact" not in capsys.readouterr().out


def test_the_compact_suggestion_counts_only_the_partitions_within_start_end(
        tmp_path, capsys, monkeypatch):
    import engine.app.data_compact as sc

    st = _store(tmp_path)  # partitions 2000-01 to 2000-04
    monkeypatch.setattr(sc, "COMPACT_HINT_MONTHS", 3)
    args = ["signals", "--store", str(st.path), "--etf", "E002"]
    assert main(args + ["--start", "2000-03-01", "--out", str(tmp_path / "a")]) == 0
    assert "flowbt data compact" not in capsys.readouterr().out  # 2 months read
    assert main(args + ["--start", "2000-01-20", "--end", "2000-03-10", "--out",
                        str(tmp_path / "b")]) == 0
    assert "3 monthly partitions are read in full" in capsys.readouterr().out
