"""Stationary block bootstrap: moments and correlations kept, arch's block length, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from arch.bootstrap import optimal_block_length

from datasets import load_us_etf_adjclose
from engine.stress.bootstrap import block_lengths, joint_block_length, path_rng, stationary_indices
from engine.stress.montecarlo import bootstrap_paths


@pytest.fixture(scope="module")
def rets():
    px = load_us_etf_adjclose()[["VOO", "XLP", "XLK", "IWM"]].loc["2012":"2024"]
    return px.pct_change(fill_method=None).iloc[1:]


def _stats(x: np.ndarray) -> np.ndarray:
    """mean, vol of each column and the pairwise correlations of pooled rows (n, N)."""
    c = np.corrcoef(x, rowvar=False)
    iu = np.triu_indices(x.shape[1], 1)
    return np.concatenate([x.mean(axis=0), x.std(axis=0), c[iu]])


def _jackknife(paths: np.ndarray, groups: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Pooled statistics of bootstrap returns (P, H, N) and their delete-a-group jackknife
    standard errors over independent groups of paths (the sampling error, computed)."""
    g = np.array_split(np.arange(len(paths)), groups)
    full = _stats(paths.reshape(-1, paths.shape[2]))
    loo = np.stack([_stats(np.delete(paths, gi, axis=0).reshape(-1, paths.shape[2]))
                    for gi in g])
    se = np.sqrt((groups - 1) / groups * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0))
    return full, se


def test_bootstrap_keeps_means_vols_and_correlations_within_sampling_error(rets):
    r = rets.to_numpy()
    px = bootstrap_paths(r, np.ones(r.shape[1]), range(400), 252, 15.0, seed=3)
    boot = px[:, 1:] / px[:, :-1] - 1.0
    est, se = _jackknife(boot)
    target = _stats(r)
    z = np.abs(est - target) / se
    assert (z < 4.0).all(), z
    # The check has power: shuffling each column on its own keeps means and vols but breaks
    # the cross-asset correlations, and the same test then fails on every pair.
    rng = np.random.default_rng(0)
    shuffled = np.stack([boot[..., j].ravel()[rng.permutation(boot[..., j].size)]
                         for j in range(boot.shape[2])], axis=-1).reshape(boot.shape)
    est_s, se_s = _jackknife(shuffled)
    n = r.shape[1]
    assert (np.abs(est_s - target) / se_s)[2 * n:].min() > 4.0


def test_block_length_is_arch_politis_white(rets):
    got = block_lengths(rets)
    ref = optimal_block_length(rets.to_numpy())["stationary"].to_numpy()
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-12)
    assert joint_block_length(rets) == pytest.approx(float(np.mean(ref)), rel=1e-12)
    # A constant column (CASH at a fixed rate) has no block length and is left out.
    with_cash = rets.assign(CASH=1e-4)
    assert np.isnan(block_lengths(with_cash)["CASH"])
    assert joint_block_length(with_cash) == pytest.approx(float(np.mean(ref)), rel=1e-12)


def test_blocks_are_consecutive_rows_with_geometric_lengths():
    idx = np.concatenate([stationary_indices(10_000, 5_000, 8.0, path_rng(1, i))
                          for i in range(20)])
    steps = np.diff(idx.reshape(20, -1), axis=1)
    new_block = (steps != 1).mean()  # a new block starts with probability 1/8
    assert new_block == pytest.approx(1 / 8, abs=0.01)


def test_paths_do_not_depend_on_chunking_and_follow_seedsequence_spawn(rets):
    r = rets.to_numpy()
    whole = bootstrap_paths(r, np.ones(4), range(10), 50, 10.0, seed=42)
    parts = np.concatenate([bootstrap_paths(r, np.ones(4), range(0, 3), 50, 10.0, seed=42),
                            bootstrap_paths(r, np.ones(4), range(3, 10), 50, 10.0, seed=42)])
    np.testing.assert_array_equal(whole, parts)
    children = np.random.SeedSequence(42).spawn(10)
    for i in (0, 7):
        a = np.random.default_rng(children[i]).random(5)
        np.testing.assert_array_equal(path_rng(42, i).random(5), a)
    other = bootstrap_paths(r, np.ones(4), range(10), 50, 10.0, seed=43)
    assert not np.array_equal(whole, other)


def test_multipliers_and_first_day_shock(rets):
    r = rets.to_numpy()
    mu = r.mean(axis=0)
    base = bootstrap_paths(r, np.ones(4), range(5), 30, 10.0, seed=1)
    mod = bootstrap_paths(r, np.ones(4), range(5), 30, 10.0, seed=1,
                          drift_mult=np.array([2.0, 1, 1, 1]), vol_mult=np.array([1, 0.5, 1, 1]))
    rb = base[:, 1:] / base[:, :-1] - 1
    rm = mod[:, 1:] / mod[:, :-1] - 1
    # Same draws: r' = mu * d + (r - mu) * v.
    np.testing.assert_allclose(rm[:, :, 0], 2 * mu[0] + (rb[:, :, 0] - mu[0]), atol=1e-14)
    np.testing.assert_allclose(rm[:, :, 1], mu[1] + 0.5 * (rb[:, :, 1] - mu[1]), atol=1e-14)
    np.testing.assert_allclose(rm[:, :, 2:], rb[:, :, 2:], atol=1e-14)
    shocked = bootstrap_paths(r, np.ones(4), range(5), 30, 10.0, seed=1, lead_in_days=1,
                              first_day=np.array([np.nan, np.nan, -0.05, np.nan]))
    rs = shocked[:, 1:] / shocked[:, :-1] - 1
    np.testing.assert_allclose(rs[:, 0], 0.0, atol=0)  # the lead-in day is flat
    np.testing.assert_allclose(rs[:, 1, 2], -0.05, rtol=1e-12)  # the shock lands after it
    assert not np.allclose(rs[:, 1, [0, 1, 3]], -0.05)  # other assets keep their draws
