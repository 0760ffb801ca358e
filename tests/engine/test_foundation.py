"""Errors, investor mapping, cash accrual and the CLI wiring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import DataError, DataQuality, canonical_investor, cash_index, with_cash
from engine.app.cli import COMMANDS, build_parser, main
from engine.investors import INVESTORS, KOREAN_NAMES


def test_data_error_names_file_line_column_and_fix():
    e = DataError("bad", file="x.csv", row=7, column="MKTCAP", fix="do y")
    assert str(e) == "x.csv, line 7, column 'MKTCAP': bad. Fix: do y"


def test_quality_merge_and_counts():
    a, b = DataQuality(), DataQuality()
    a.add("f1", "filled", "absent stock-days", 3)
    b.add("f2", "dropped", "cash rows", 2)
    b.add("f2", "dropped", "nothing", 0)  # zero counts are not items
    m = a.merge([b])
    assert m.count() == 5 and m.count("dropped") == 2 and len(m.items) == 2
    assert "filled 3 absent stock-days" in m.summary()
    assert a.count() == 3  # merge does not mutate


def test_every_korean_name_maps_to_a_canonical_id():
    assert set(KOREAN_NAMES.values()) <= set(INVESTORS)
    assert canonical_investor(" 연기금 등 ") == "pension"
    with pytest.raises(KeyError, match="unknown investor type"):
        canonical_investor("외계인")


def test_cash_accrues_yesterdays_rate_act360():
    d = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-05"])
    rate = pd.Series([3.6, 7.2, 0.0], index=d)
    c = cash_index(d, rate)
    # day 1 accrues 3.6% for 1 day, day 2 accrues 7.2% (yesterday's) for 3 days
    np.testing.assert_allclose(c.to_numpy(), [1.0, 1.0001, 1.0001 * 1.0006], rtol=1e-14)
    # no look-ahead: changing today's rate never changes today's price
    rate2 = rate.copy()
    rate2.iloc[-1] = 99.0
    pd.testing.assert_series_equal(c, cash_index(d, rate2))


def test_with_cash_replaces_existing_cash_column():
    d = pd.bdate_range("2024-01-01", periods=3)
    p = pd.DataFrame({"A": [1.0, 2.0, 3.0], "CASH": 5.0}, index=d)
    out = with_cash(p, 0.0)
    assert out["CASH"].tolist() == [1.0, 1.0, 1.0]
    assert p["CASH"].tolist() == [5.0] * 3  # input not mutated


def test_cli_lists_every_command_and_help_is_fast(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for path, _, _ in COMMANDS:
        assert path[0] in out


def test_cli_turns_data_errors_into_exit_2(monkeypatch, capsys, tmp_path):
    import types

    mod = types.ModuleType("fake_cmd")
    mod.add_arguments = lambda p: None

    def run(args):
        raise DataError("broken", file="f.csv", row=2, column="c", fix="repair it")

    mod.run = run
    monkeypatch.setitem(__import__("sys").modules, "fake_cmd", mod)
    monkeypatch.setattr("engine.app.cli.COMMANDS", [(("fake",), "fake_cmd", "x")])
    assert main(["fake"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "flowbt: error: f.csv, line 2, column 'c': broken. Fix: repair it"
