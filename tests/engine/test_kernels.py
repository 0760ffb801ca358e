"""Every derived-signal kernel against its oracle (benchmarks/oracles.py) over window,
dtype and edge-case sweeps; the pandas wrappers against the same oracle; a few kernels
against pandas itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.oracles import (
    EDGE_CASES,
    SIGNAL_NAMES,
    edge_case_inputs,
    make_signal_inputs,
    signal_oracles,
)
from engine import signals as sg


def _cases():
    # The 1e8-offset case only exists for signals of additive quantities (flows, volumes);
    # for ratio signals of prices/returns an offset changes the question, so it is not
    # generated at all (no test skips itself).
    oracles = signal_oracles()
    for name in SIGNAL_NAMES:
        for case in EDGE_CASES:
            if case == "offset" and not oracles[name].offset_ok:
                continue
            yield pytest.param(name, case, id=f"{name}-{case}")


def _check(got, want, oracle, float32):
    got = np.asarray(got)
    if oracle.exact:
        np.testing.assert_array_equal(got, want)
        return
    rtol, atol = (oracle.rtol32, oracle.atol32) if float32 else (oracle.rtol, oracle.atol)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol,
                               equal_nan=True)


@pytest.mark.parametrize(("name", "case"), list(_cases()))
def test_kernel_matches_oracle(name, case):
    oracle = signal_oracles()[name]
    arrays = edge_case_inputs(oracle, case, seed=SIGNAL_NAMES.index(name))
    assert arrays is not None
    before = [a.copy() for a in arrays]
    for params in oracle.params:
        got = oracle.kernel(*arrays, **params)
        with np.errstate(invalid="ignore", divide="ignore"):  # inf/NaN cases: the oracle's
            want = oracle.reference(*arrays, **params)       # NumPy ops warn, by design
        assert got.shape == want.shape
        if name not in ("streaks", "divergence"):
            assert got.dtype == arrays[0].dtype
        _check(got, want, oracle, case == "float32")
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)  # inputs not mutated


@pytest.mark.parametrize("name", SIGNAL_NAMES)
@pytest.mark.parametrize("case", ["basic", "nan", "float32"])
def test_wrapper_matches_oracle(name, case):
    oracle = signal_oracles()[name]
    arrays = edge_case_inputs(oracle, case, seed=3)
    idx = pd.bdate_range("2020-01-01", periods=arrays[0].shape[0])
    frames = [pd.DataFrame(a, index=idx, columns=list("abcde")) for a in arrays]
    for params in oracle.params:
        got = oracle.wrapper(*frames, **params)
        want = oracle.reference(*arrays, **params)
        assert isinstance(got, pd.DataFrame)
        assert got.index.equals(idx) and list(got.columns) == list("abcde")
        if name == "divergence":
            got = got.apply(lambda s: s.cat.codes)
        elif name != "streaks":
            assert (got.dtypes == arrays[0].dtype).all()
        _check(got.to_numpy(), want, oracle, case == "float32")
        # a Series goes through the same path
        s_got = oracle.wrapper(*[f["b"] for f in frames], **params)
        assert isinstance(s_got, pd.Series)
        if name == "divergence":
            s_got = s_got.cat.codes
        _check(s_got.to_numpy()[:, None], want[:, 1:2], oracle, case == "float32")


def test_rolling_kernels_agree_with_pandas():
    rng = np.random.default_rng(0)
    x = rng.standard_t(3, (300, 4)) + 1e6
    x[rng.random(x.shape) < 0.1] = np.nan
    df = pd.DataFrame(x)
    kw = {"rtol": 1e-9, "atol": 1e-6}
    pd.testing.assert_frame_equal(sg.rolling_sum(df, 20, min_periods=5),
                                  df.rolling(20, min_periods=5).sum(), **kw)
    r = df.rolling(20, min_periods=5)
    z = (df - r.mean()) / r.std()
    pd.testing.assert_frame_equal(sg.rolling_zscore(df, 20, min_periods=5), z,
                                  rtol=1e-6, atol=1e-6)
    pd.testing.assert_frame_equal(sg.ewma(df, 10), df.ewm(span=10).mean(), rtol=1e-12,
                                  atol=1e-12)
    v = df.abs()
    pd.testing.assert_frame_equal(sg.volume_spike(v, 20),
                                  v / v.rolling(20).mean().shift(1), rtol=1e-12, atol=1e-12)
    te = sg.tracking_error(df / 1e8, df.iloc[:, ::-1].set_axis(df.columns, axis=1) / 1e8, 30,
                           min_periods=10)
    d = (df / 1e8) - (df.iloc[:, ::-1].set_axis(df.columns, axis=1) / 1e8)
    pd.testing.assert_frame_equal(te, d.rolling(30, min_periods=10).std() * np.sqrt(252),
                                  rtol=1e-6, atol=1e-12)


def test_zero_variance_gives_nan_not_inf():
    x = pd.Series([5.0] * 10 + [5.0 + 1e-9, 5.0, 5.0])
    z = sg.rolling_zscore(x, 4)
    assert np.isnan(z.iloc[:10]).all()
    assert np.isfinite(z.iloc[10:]).all()
    big = pd.Series(np.full(50, 1e8 + 0.1))
    assert sg.rolling_zscore(big, 5).isna().all()


def test_streaks_weekly_and_monthly_label_at_period_end():
    idx = pd.bdate_range("2024-01-01", "2024-02-29")
    s = pd.Series(-1.0, index=idx)
    s[idx >= "2024-01-22"] = 2.0  # inflow from the 4th week on
    w = sg.streaks(s, freq="W")
    assert (w.index.day_of_week == 4).all()  # Fridays
    np.testing.assert_array_equal(w.to_numpy()[:5], [-1, -2, -3, 1, 2])
    m = sg.streaks(s, freq="M")
    assert list(m.index) == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29")]
    np.testing.assert_array_equal(m.to_numpy(), [1.0, 2.0])  # Jan sums to +1 (13 x -1 + 8 x 2 -> +3)
    assert np.isnan(sg.streaks(pd.Series([np.nan, 1.0, 1.0], index=idx[:3]), freq="W")).all()
    with pytest.raises(ValueError, match="freq"):
        sg.streaks(s, freq="Q")


def test_resampled_streaks_unknown_day_makes_the_period_unknown():
    """A week with a missing day is NaN (never the sum of its known days) and breaks the run."""
    idx = pd.bdate_range("2024-01-01", periods=15)  # three Mon..Fri weeks
    s = pd.Series([-1.0] * 5 + [5.0, np.nan, np.nan, np.nan, -1.0] + [-1.0] * 5, index=idx)
    w = sg.streaks(s, freq="W")
    assert list(w.index) == list(pd.DatetimeIndex(["2024-01-05", "2024-01-12", "2024-01-19"]))
    np.testing.assert_array_equal(w.to_numpy(), [-1.0, np.nan, -1.0])  # not [-1, 1, -1]
    frame = pd.DataFrame({"A": s, "B": s.fillna(0.0)})
    wf = sg.streaks(frame, freq="W")
    np.testing.assert_array_equal(wf["A"].to_numpy(), [-1.0, np.nan, -1.0])
    np.testing.assert_array_equal(wf["B"].to_numpy(), [-1.0, 1.0, -1.0])  # 5 + 0 + 0 + 0 - 1
    m = sg.streaks(s.iloc[:10], freq="M")
    assert np.isnan(m.iloc[0])


def test_divergence_labels_bands_and_nan():
    p = pd.Series([0.02, 0.02, -0.01, -0.01, 0.001, np.nan, 0.0])
    f = pd.Series([5.0, -5.0, 5.0, -5.0, 5.0, 1.0, 3.0])
    got = sg.divergence(p, f, price_band=0.005)
    assert list(got.cat.categories) == [d.name for d in sg.Divergence]
    assert got.tolist()[:5] == ["trend", "distribution", "accumulation", "rotation_out",
                                "neutral"]
    assert pd.isna(got.iloc[5]) and got.iloc[6] == "neutral"
    assert sg.divergence(p, f, flow_band=5.0).iloc[:4].tolist() == ["neutral"] * 4
    with pytest.raises(ValueError):
        sg.divergence(p, f, price_band=-1)


def test_bad_windows_raise():
    s = pd.Series([1.0, 2.0])
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="window_bars"):
            sg.rolling_sum(s, bad)
    with pytest.raises(TypeError):
        sg.rolling_sum(np.ones(3), 2)


@pytest.mark.parametrize("name", ["rolling_sum", "rolling_zscore", "volume_spike",
                                  "tracking_error"])
def test_long_series_crosses_recompute_points(name):
    """2,048 rows with a 1e8 level (where it makes sense) and NaN gaps: several of the
    kernels' from-scratch recomputations (engine.nb.rolling_nb.RECOMPUTE_MIN_ROWS) happen."""
    from engine.nb.rolling_nb import RECOMPUTE_MIN_ROWS

    oracle = signal_oracles()[name]
    rng = np.random.default_rng(11)
    arrays = make_signal_inputs(oracle, 4 * RECOMPUTE_MIN_ROWS, 2, rng)
    if oracle.offset_ok:
        arrays = [a + 1e8 for a in arrays]
    for a in arrays:
        a[rng.random(a.shape) < 0.05] = np.nan
    for params in oracle.params:
        _check(oracle.kernel(*arrays, **params), oracle.reference(*arrays, **params), oracle,
               False)
