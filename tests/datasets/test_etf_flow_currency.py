"""The currency of an ETF flow export comes from its flow column's name, never a guess that
contradicts it (``flow_krw`` was loaded as USD before)."""

from __future__ import annotations

import pandas as pd
import pytest

from datasets.etf_flows import load_etf_flows
from engine.errors import DataError


def _export(tmp_path, column: str):
    path = tmp_path / f"{column}.csv"
    pd.DataFrame({"date": ["2026-01-02", "2026-01-05"], "ticker": ["A", "A"],
                  column: [1.0, -2.0]}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("column", "currency"), [("flow_usd", "USD"), ("flow_krw", "KRW"),
                                                  ("Flow_KRW", "KRW"), ("flow", "USD")])
def test_the_column_names_the_currency(tmp_path, column, currency):
    e = load_etf_flows(_export(tmp_path, column))
    assert e.currency == currency
    assert e.frame("flow")["A"].tolist() == [1.0, -2.0]


def test_a_given_currency_fills_in_but_never_contradicts(tmp_path):
    assert load_etf_flows(_export(tmp_path, "net_flow"), currency="KRW").currency == "KRW"
    with pytest.raises(DataError, match=r"'flow_krw' says KRW, not USD.*--currency KRW"):
        load_etf_flows(_export(tmp_path, "flow_krw"), currency="USD")
