"""Property tests (hypothesis): no look-ahead, no input mutation, and the algebra of flow
synthesis (linear in net buying, invariant to the order of stocks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.oracles import (
    SIGNAL_NAMES,
    make_signal_inputs,
    make_synthesis_case,
    signal_oracles,
)
from engine import signals as sg
from engine.market import ConstituentFlows
from engine.synthesis import synthesize_flows

seeds = st.integers(0, 2**32 - 1)


def _frames(name, seed, n_rows, nan_frac):
    oracle = signal_oracles()[name]
    rng = np.random.default_rng(seed)
    arrays = make_signal_inputs(oracle, n_rows, 3, rng)
    for a in arrays:
        a[rng.random(a.shape) < nan_frac] = np.nan
    idx = pd.bdate_range("2021-01-04", periods=n_rows)
    return oracle, [pd.DataFrame(a, index=idx, columns=["x", "y", "z"]) for a in arrays]


@pytest.mark.parametrize("name", SIGNAL_NAMES)
@settings(max_examples=15)
@given(seed=seeds, n_rows=st.integers(2, 80), cut=st.floats(0.0, 1.0),
       nan_frac=st.sampled_from([0.0, 0.1, 0.5]))
def test_signal_prefix_invariance_and_no_mutation(name, seed, n_rows, cut, nan_frac):
    """Output rows up to t computed on data up to t equal those computed on all data."""
    oracle, frames = _frames(name, seed, n_rows, nan_frac)
    t = max(1, int(cut * n_rows))
    before = [f.copy() for f in frames]
    for params in oracle.params:
        full = oracle.wrapper(*frames, **params)
        head = oracle.wrapper(*[f.iloc[:t] for f in frames], **params)
        pd.testing.assert_frame_equal(head, full.iloc[:t], check_exact=True)
    for f, b in zip(frames, before, strict=True):
        pd.testing.assert_frame_equal(f, b, check_exact=True)


@pytest.mark.parametrize("freq", ["W", "M"])
@settings(max_examples=15)
@given(seed=seeds, n_rows=st.integers(2, 120), cut=st.floats(0.0, 1.0),
       nan_frac=st.sampled_from([0.0, 0.1]))
def test_resampled_streaks_prefix_invariance(freq, seed, n_rows, cut, nan_frac):
    """Periods labelled on or before the last input date never change when data is
    appended (the still-open last period is labelled at its future end), also with NaNs."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2021-01-04", periods=n_rows)
    s = pd.Series(rng.normal(size=n_rows), index=idx)
    s[rng.random(n_rows) < nan_frac] = np.nan
    t = max(1, int(cut * n_rows))
    full = sg.streaks(s, freq=freq)
    head = sg.streaks(s.iloc[:t], freq=freq)
    known = head.index <= idx[t - 1]
    pd.testing.assert_series_equal(head[known], full.loc[head.index[known]], check_exact=True)
    assert (head.index[~known] > idx[t - 1]).all()


def _scaled(flows: ConstituentFlows, net_buy: np.ndarray) -> ConstituentFlows:
    return replace(flows, net_buy=net_buy)


@settings(max_examples=10)
@given(seed=seeds, a=st.floats(-3, 3), b=st.floats(-3, 3),
       method=st.sampled_from(["bp", "amount", "weighted_amount"]))
def test_synthesis_is_linear_in_net_buying(seed, a, b, method):
    flows, holdings = make_synthesis_case(seed=seed % 10_000, nan_cell_frac=0.0)
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(flows.net_buy.shape) * np.nanmedian(np.abs(flows.net_buy))
    y[np.isnan(flows.net_buy)] = np.nan  # same absent stock-days
    s_x = synthesize_flows(flows, holdings, method=method)
    s_y = synthesize_flows(_scaled(flows, y), holdings, method=method)
    s_xy = synthesize_flows(_scaled(flows, a * flows.net_buy + b * y), holdings, method=method)
    scale = np.nanmax(np.abs(s_x.to_numpy())) + np.nanmax(np.abs(s_y.to_numpy()))
    pd.testing.assert_frame_equal(s_xy, a * s_x + b * s_y, check_exact=False, rtol=1e-9,
                                  atol=1e-12 * scale * 10)


@settings(max_examples=10)
@given(seed=seeds, method=st.sampled_from(["bp", "amount", "weighted_amount"]),
       cumulative=st.booleans())
def test_synthesis_invariant_to_stock_order(seed, method, cumulative):
    flows, holdings = make_synthesis_case(seed=seed % 10_000)
    perm = np.random.default_rng(seed).permutation(len(flows.stocks))
    shuffled = ConstituentFlows(flows.dates, flows.stocks[perm], flows.investors,
                                flows.net_buy[:, perm], flows.market_cap[:, perm],
                                flows.close[:, perm])
    want = synthesize_flows(flows, holdings, method=method, cumulative=cumulative)
    got = synthesize_flows(shuffled, holdings, method=method, cumulative=cumulative)
    scale = np.nanmax(np.abs(want.to_numpy()))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-10,
                                  atol=1e-13 * scale)


@settings(max_examples=10)
@given(seed=seeds, cut=st.floats(0.0, 1.0), lag_days=st.integers(0, 5),
       cumulative=st.booleans(), dtype=st.sampled_from(["float64", "float32"]))
def test_synthesis_prefix_invariance_and_no_mutation(seed, cut, lag_days, cumulative, dtype):
    flows, holdings = make_synthesis_case(seed=seed % 10_000, dtype=dtype)
    before = (flows.net_buy.copy(), flows.market_cap.copy(), holdings.table.copy())
    t = max(1, int(cut * len(flows.dates)))
    full = synthesize_flows(flows, holdings, lag_days=lag_days, cumulative=cumulative)
    head = synthesize_flows(flows.slice_dates(end=flows.dates[t - 1]), holdings,
                            lag_days=lag_days, cumulative=cumulative)
    pd.testing.assert_frame_equal(head, full.iloc[:t], check_exact=True)
    np.testing.assert_array_equal(flows.net_buy, before[0])
    np.testing.assert_array_equal(flows.market_cap, before[1])
    pd.testing.assert_frame_equal(holdings.table, before[2])
