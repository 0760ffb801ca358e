"""Issue #10 items 4 and 5 on the real XLB top-holdings slice (tests/data/us/).

Item 4: an empty cell of a wide holdings file became weight 0 without a count. Item 5: a
partial top-N file was renormalized to 100% silently (inflating every weight by 1 / coverage)
and ``--allow-partial`` changed nothing; partial coverage is now refused by default and, when
allowed, kept as given (weights < 1, coverage reported, and the synthesis does not rescale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasets.check import check_file
from datasets.holdings_files import load_holdings, load_top_holdings_wide
from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows
from engine.synthesis import synthesize_flows

XLB = Path(__file__).resolve().parents[1] / "data" / "us" / "top_holdings_XLB_slice.csv"
TOP = ["LIN", "SHW", "APD", "FCX", "ECL", "NEM", "DD", "PPG", "DOW", "IFF"]


def _top10(tmp_path) -> tuple[Path, pd.DataFrame]:
    """The real slice cut to its ten largest holdings, SUM = what is listed (a top-10 file)."""
    raw = pd.read_csv(XLB)
    cut = raw[["Unnamed: 0", *TOP]].copy()
    cut["SUM"] = cut[TOP].sum(axis=1).round(2)
    p = tmp_path / "XLB.csv"
    cut.to_csv(p, index=False)
    return p, cut.drop_duplicates("Unnamed: 0", keep="last")


def test_partial_top_n_is_refused_by_default(tmp_path):
    p, cut = _top10(tmp_path)
    with pytest.raises(DataError) as info:
        load_top_holdings_wide(p)
    msg = str(info.value)
    assert msg.startswith("XLB.csv, line 2, column 'weight': weights of XLB on 2021-12-16 sum "
                          f"to {cut[TOP].iloc[0].sum():.2f}%"), msg
    assert "--allow-partial" in msg and "kept as given" in msg


def test_partial_top_n_kept_as_given_and_not_rescaled(tmp_path):
    p, cut = _top10(tmp_path)
    q = DataQuality()
    h = load_top_holdings_wide(p, allow_partial=True, quality=q)
    assert h.partial
    w = h.weights_at("XLB", "2021-12-16")
    np.testing.assert_allclose(w[TOP].to_numpy(), cut[TOP].iloc[0].to_numpy() / 100, rtol=1e-12)
    cov = cut[TOP].sum(axis=1) / 100
    assert q.count("kept as given") == len(cut) == 10
    assert q.count("renormalized") == 0
    item = next(i for i in q.items if i.action == "kept as given")
    assert f"coverage {cov.min() * 100:.2f}%..{cov.max() * 100:.2f}%" in item.rule
    # the synthesis uses the weights as given: 1e4 * sum w_i * nb_i / mc_i, no 1 / coverage
    dates = pd.bdate_range("2021-12-16", periods=3)
    nb = np.arange(1.0, 31.0).reshape(3, 10, 1) * 1e8
    mc = np.linspace(1e11, 5e11, 10)[None, :].repeat(3, axis=0)
    f = ConstituentFlows(dates, TOP, ("foreign",), net_buy=nb, market_cap=mc,
                         close=np.ones((3, 10)))
    s, cover = synthesize_flows(f, h, return_coverage=True)
    w0 = cut[TOP].iloc[0].to_numpy() / 100
    np.testing.assert_allclose(s[("XLB", "foreign")].iloc[0], 1e4 * (w0 * nb[0, :, 0] / mc[0]).sum(),
                               rtol=1e-12)
    np.testing.assert_allclose(cover["XLB"].iloc[0], w0.sum(), rtol=1e-12)
    assert s.attrs["absent_etf_days"] == 0  # the unlisted rest is not "absent constituents"
    # and the command reports the coverage
    text = check_file(p, "holdings-wide", allow_partial=True)
    assert (f"coverage (partial, not renormalized): {cov.min() * 100:.2f}% .. "
            f"{cov.max() * 100:.2f}% of the fund") in text


def test_partial_long_holdings_kept_as_given(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("date,etf,ticker,weight\n2021-04-02,X,A,50\n2021-04-02,X,B,30\n"
                 "2021-04-02,Y,A,60\n2021-04-02,Y,B,40\n")
    with pytest.raises(DataError, match=r"h\.csv, line 2, column 'weight': weights of X on "
                                        r"2021-04-02 sum to 80\.00%.*--allow-partial"):
        load_holdings(p)
    q = DataQuality()
    h = load_holdings(p, allow_partial=True, quality=q)
    assert h.weights_at("X", "2021-04-02").to_dict() == {"A": 0.5, "B": 0.3}  # was 0.625/0.375
    assert h.weights_at("Y", "2021-04-02").to_dict() == {"A": 0.6, "B": 0.4}  # complete: as is
    assert q.count("kept as given") == 1


def test_empty_wide_cells_are_counted(tmp_path):
    raw = pd.read_csv(XLB)
    raw.loc[[0, 1], "DD"] = np.nan  # two empty cells, made up for the SUM below
    raw.loc[[0, 1], "LIN"] += 4.03
    p = tmp_path / "XLB.csv"
    raw.to_csv(p, index=False)
    q = DataQuality()
    h = load_top_holdings_wide(p, quality=q)
    assert q.count("treated as 0", "empty weight cells (holding not listed that day)") == 2
    assert "DD" not in h.weights_at("XLB", "2021-12-16")
