"""``flowbt data import`` of US ETF flows -> ``flowbt monitor --store``, end to end.

The store records the ETF flows' currency (``etf_currency``: from the file's ``flow_usd``
header, else ``--currency``), so US flows imported from files reach the monitor, whose
thresholds are USD; a store never mixes currencies. The monitor on a store of the bundled
files equals the bundled monitor, and the QQQ February outflow is summed here with plain
pandas from the file itself.
"""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd
import pytest

from engine.app.cli import main
from tests.conftest import FIXTURES

FLOWS_SLICE = FIXTURES / "us" / "etf_flows_2026q1_slice.csv"
ASOF = "2026-02-27"


def _data_file(name: str):
    return resources.files("datasets") / "data" / name


def _manifest(store) -> dict:
    return json.loads((store / "manifest.json").read_text())


def _monitor(tmp_path, out: str, *extra) -> dict:
    assert main(["--quiet", "monitor", "--asof", ASOF, "--out", str(tmp_path / out),
                 *extra]) == 0
    return json.loads((tmp_path / out / "monitor.json").read_text())


def _by(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def _qqq_february_usd(path) -> float:
    """QQQ's 2026-02 flow summed from the file (independent of flowbt's loaders)."""
    raw = pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)
    d = pd.to_datetime(raw["date"])
    sel = (raw["ticker"] == "QQQ") & (d >= "2026-02-01") & (d <= ASOF)
    return float(raw.loc[sel, "flow_usd"].sum())


def _price_cut(tmp_path, tickers) -> str:
    """A wide price CSV of the bundled closes (2025-10 .. 2026-04) for a few tickers."""
    from datasets.bundled import load_us_etf_adjclose

    px = load_us_etf_adjclose().loc["2025-10-01":"2026-04-30", list(tickers)]
    path = tmp_path / "closes.csv"
    px.rename_axis("date").to_csv(path)
    return str(path)


def test_store_of_a_flow_slice_gives_the_bundled_monitor_items(tmp_path, capsys):
    prices = _price_cut(tmp_path, ["SPY", "QQQ", "IVV", "VOO", "IWM"])
    store = tmp_path / "st"
    assert main(["data", "import", str(FLOWS_SLICE), prices, "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "imported 1 --kind etf-flows files: etf_flows_2026q1_slice.csv" in out
    assert _manifest(store)["etf_currency"] == "USD"  # said by the flow_usd header

    got = _monitor(tmp_path, "m_store", "--store", str(store))
    warn = _by(got["warnings"], "warning")["QQQ monthly outflow above 5 bn USD"]
    assert warn["fires"] is True
    assert warn["value"] == pytest.approx(_qqq_february_usd(FLOWS_SLICE), abs=1.0)
    assert warn["value"] == pytest.approx(-7.52e9, abs=0.01e9)

    # every item that only needs these five tickers equals the bundled monitor's
    want = _monitor(tmp_path, "m_bundled")
    for section, key, names in (
            ("warnings", "warning", ["SPY, VOO, IVV all out the same week",
                                     "QQQ monthly outflow above 5 bn USD"]),
            ("weekly", "item", ["IWM price-flow divergence", "QQQ vs SPY relative strength"]),
            ("monthly", "item", ["small-cap premium"])):
        for n in names:
            assert _by(got[section], key)[n] == _by(want[section], key)[n], n
    # tickers without flows in the store say so, the rest still runs
    assert _by(got["weekly"], "item")["IEMG inflow persistence"]["reading"].startswith(
        "no data for IEMG")
    assert _by(want["weekly"], "item")["IEMG inflow persistence"]["reading"] == \
        "4 week(s) of inflow in a row"


@pytest.mark.slow
def test_store_of_the_bundled_files_equals_the_bundled_monitor(tmp_path):
    flows = _data_file("us_etf_daily_flows_2026q1.parquet")
    closes = _data_file("us_etf_adjclose.parquet")
    store = tmp_path / "st"
    assert main(["--quiet", "data", "import", str(flows), str(closes), "--store",
                 str(store)]) == 0
    assert _manifest(store)["etf_currency"] == "USD"
    got = _monitor(tmp_path, "m_store", "--store", str(store))
    want = _monitor(tmp_path, "m_bundled")
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == want[k], k
    warn = _by(got["warnings"], "warning")["QQQ monthly outflow above 5 bn USD"]
    assert warn["fires"] is True
    assert warn["value"] == pytest.approx(_qqq_february_usd(flows), abs=1.0)


def _flow_file(tmp_path, name: str, column: str, scale: float = 1.0) -> str:
    raw = pd.read_csv(FLOWS_SLICE).head(40)
    raw["flow_usd"] *= scale
    path = tmp_path / name
    raw.rename(columns={"flow_usd": column}).to_csv(path, index=False)
    return str(path)


def test_a_flow_file_without_a_currency_needs_the_flag(tmp_path, capsys):
    f = _flow_file(tmp_path, "flows_plain.csv", "flow")
    store = tmp_path / "st"
    assert main(["data", "import", f, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "flows_plain.csv" in err and "--currency USD" in err
    assert main(["data", "import", f, "--store", str(store), "--currency", "USD"]) == 0
    assert _manifest(store)["etf_currency"] == "USD"


def test_the_flag_cannot_contradict_the_file(tmp_path, capsys):
    assert main(["data", "import", str(FLOWS_SLICE), "--store", str(tmp_path / "st"),
                 "--currency", "KRW"]) == 2
    err = capsys.readouterr().err
    assert "etf_flows_2026q1_slice.csv" in err and "'flow_usd' says USD" in err
    assert "--currency USD" in err


def test_a_store_never_mixes_currencies(tmp_path, capsys):
    store = tmp_path / "st"
    assert main(["data", "import", str(FLOWS_SLICE), "--store", str(store)]) == 0
    krw = _flow_file(tmp_path, "flows_krw.csv", "flow_krw", scale=1400.0)
    assert main(["data", "import", krw, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "flows_krw.csv" in err and "in KRW but the store's are in USD" in err
    assert "etf_flows_2026q1_slice.csv" in err and "--store" in err
    # a file that does not say its currency, flagged KRW: the hint names --currency
    plain = _flow_file(tmp_path, "flows_plain.csv", "flow", scale=1400.0)
    assert main(["data", "import", plain, "--store", str(store), "--currency", "KRW"]) == 2
    assert "--currency USD" in capsys.readouterr().err
    assert _manifest(store)["etf_currency"] == "USD"
    assert [f["name"] for f in _manifest(store)["files"]] == ["etf_flows_2026q1_slice.csv"]


def test_reimporting_with_another_currency_is_a_mix_not_a_skip(tmp_path, capsys):
    f = _flow_file(tmp_path, "flows_plain.csv", "flow")
    store = tmp_path / "st"
    assert main(["data", "import", f, "--store", str(store), "--currency", "USD"]) == 0
    assert main(["data", "import", f, "--store", str(store), "--currency", "USD"]) == 0
    assert "skipped 1 files already in the store" in capsys.readouterr().out
    assert main(["data", "import", f, "--store", str(store), "--currency", "KRW"]) == 2
    assert "in KRW but the store's are in USD" in capsys.readouterr().err


def test_a_shares_panel_needs_the_flag_and_a_krw_store_is_refused_by_the_monitor(
        tmp_path, capsys):
    panel = FIXTURES / "us" / "etf_shares_2026q1_slice.csv"
    store = tmp_path / "st"
    assert main(["data", "import", str(panel), "--store", str(store), "--nav-from",
                 "close"]) == 2
    err = capsys.readouterr().err
    assert "etf_shares_2026q1_slice.csv" in err and "--currency" in err
    assert main(["data", "import", str(panel), "--store", str(store), "--nav-from", "close",
                 "--currency", "KRW"]) == 0
    assert _manifest(store)["etf_currency"] == "KRW"
    assert main(["monitor", "--store", str(store), "--out", str(tmp_path / "m")]) == 2
    assert "ETF flows are in KRW" in capsys.readouterr().err


def test_a_store_without_a_recorded_currency_is_not_guessed(tmp_path, capsys):
    store = tmp_path / "st"
    assert main(["data", "import", str(FLOWS_SLICE), "--store", str(store)]) == 0
    doc = _manifest(store)
    del doc["etf_currency"]  # as an earlier flowbt wrote it
    (store / "manifest.json").write_text(json.dumps(doc))
    f = _flow_file(tmp_path, "flows_more.csv", "flow_usd")
    assert main(["data", "import", f, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "without a recorded currency" in err and "--store" in err
