"""The sample-quality metrics against closed forms and their own sampling noise.

- unbiased MMD^2 of two samples of one law has mean 0 (checked over independent repeats against
  the repeats' standard error) and the permutation null's spread is the estimator's spread;
- MMD^2 between two Gaussians with a Gaussian kernel has a closed form:
  ``E k(x, x') = (h^2 / (h^2 + 2 s^2))^(d/2) exp(-|a - b|^2 / (2 (h^2 + 2 s^2)))`` for
  ``x ~ N(a, s^2 I)``, ``x' ~ N(b, s^2 I)``, so
  ``MMD^2 = 2 (h^2 / (h^2 + 2 s^2))^(d/2) (1 - exp(-|mu|^2 / (2 (h^2 + 2 s^2))))``;
- sliced W2 between a sample and its copy shifted by ``mu`` is exactly
  ``sqrt(mean_l (theta_l . mu)^2)``, which tends to ``|mu| / sqrt(d)`` over many directions;
- exact 1-D W1 between unequal samples agrees with ``scipy.stats.wasserstein_distance``;
- batch-means standard errors of an iid stream are ``sd / sqrt(N)``;
- k-NN precision/recall (Kynkäänniemi et al. 2019): 1 and 1 for a sample against itself, 0 and 0
  for disjoint supports, invariant under a common translation and scaling, non-decreasing in k,
  and on a dropped mode recall <= 1/2 exactly while precision equals that of a full-law sample
  within the binomial standard errors (both are fractions over independent generated points
  given the same data support);
- the nearest-neighbour bandwidth of a regular grid of spacing d is 3 d (the 5th nearest
  neighbours of an interior point are at d, d, 2d, 2d, 3d).
"""

import numpy as np
import pytest
from scipy import stats

from demonloop.workloads.metrics import (batch_moments, median_bandwidth, mmd2_unbiased, mmd_test, nn_bandwidth,
                                        precision_recall, projections, sliced_wasserstein, support_coverage,
                                        wasserstein_1d)


def test_mmd_same_law_is_unbiased_and_null_spread_matches():
    rng = np.random.default_rng(1)
    reps, n, d, h = 40, 300, 2, 1.5
    vals, nulls = [], []
    for _ in range(reps):
        x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
        r = mmd_test(x, y, h, n_perm=100, rng=rng)
        assert r["mmd2"] == pytest.approx(mmd2_unbiased(x, y, h), abs=1e-12)
        vals.append(r["mmd2"])
        nulls.append(r["null_sd"])
    vals = np.array(vals)
    se = vals.std(ddof=1) / np.sqrt(reps)
    assert abs(vals.mean()) < 4 * se                       # unbiased: mean 0 within 4 SE
    # the permutation null's sd estimates the estimator's sd under H0 (40 repeats: the sample
    # sd is within ~25 % at 2 sigma for a Gaussian statistic; MMD^2 is skewed, allow 50 %)
    assert 0.5 < vals.std(ddof=1) / np.mean(nulls) < 1.5


def test_mmd_between_gaussians_matches_closed_form():
    rng = np.random.default_rng(2)
    d, s, h, n, reps = 2, 1.0, 1.2, 1500, 8
    mu = np.array([0.6, -0.3])
    c = h * h + 2 * s * s
    exact = 2 * (h * h / c) ** (d / 2) * (1 - np.exp(-mu @ mu / (2 * c)))
    est = np.array([mmd2_unbiased(s * rng.standard_normal((n, d)), mu + s * rng.standard_normal((n, d)), h)
                    for _ in range(reps)])
    se = est.std(ddof=1) / np.sqrt(reps)
    assert abs(est.mean() - exact) < 4 * se
    assert exact > 20 * se                                 # the test has power: the shift is seen


def test_mmd_test_rejects_a_shift_and_accepts_the_same_law():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 2))
    h = median_bandwidth(x)
    assert mmd_test(x, rng.standard_normal((400, 2)) + [0.5, 0.0], h, rng=rng)["p_value"] < 0.01
    p = [mmd_test(rng.standard_normal((200, 2)), rng.standard_normal((200, 2)), h, 100, rng)["p_value"]
         for _ in range(20)]
    # p-values of a true null are uniform: their mean is 1/2 with sd 1/sqrt(12 * 20) = 0.065
    assert abs(np.mean(p) - 0.5) < 4 * 0.065


def test_sliced_wasserstein_of_a_shift_is_exact():
    rng = np.random.default_rng(4)
    d = 3
    x = rng.standard_normal((500, d))
    mu = np.array([0.8, -0.4, 0.3])
    P = projections(d, 256, seed=0)
    exact = np.sqrt(np.mean((mu @ P) ** 2))
    assert sliced_wasserstein(x, x + mu, 256, 2.0, seed=0) == pytest.approx(exact, rel=1e-10)
    # over many directions, E (theta . mu)^2 = |mu|^2 / d
    big = sliced_wasserstein(x, x + mu, 20000, 2.0, seed=1)
    # (theta . mu)^2 over 20000 directions: relative SE of the mean < 1 %
    assert big == pytest.approx(np.linalg.norm(mu) / np.sqrt(d), rel=0.03)


def test_sliced_wasserstein_of_two_samples_of_shifted_gaussians():
    rng = np.random.default_rng(5)
    d, n = 2, 20000
    mu = np.array([1.0, 0.5])
    sw = sliced_wasserstein(rng.standard_normal((n, d)), mu + rng.standard_normal((n, d)), 512, 2.0, seed=0)
    exact = np.sqrt(np.mean((mu @ projections(d, 512, 0)) ** 2))
    # empirical W2 of two n-samples carries O(n^-1/2) noise; n = 20000 gives < 0.02 here
    assert sw == pytest.approx(exact, abs=0.02)


def test_wasserstein_1d_unequal_sizes_matches_scipy():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((137, 4)), 0.3 + 1.5 * rng.standard_normal((211, 4))
    w = wasserstein_1d(a, b, p=1.0)
    for j in range(4):
        assert w[j] == pytest.approx(stats.wasserstein_distance(a[:, j], b[:, j]), rel=1e-10)
    # equal sizes: the sorted-difference formula
    c = rng.standard_normal((137, 4))
    assert np.allclose(wasserstein_1d(a, c, 2.0) ** 2, ((np.sort(a, 0) - np.sort(c, 0)) ** 2).mean(0))


@pytest.mark.parametrize("chains", [64, 4])
def test_batch_moments_standard_error_of_an_iid_stream(chains):
    rng = np.random.default_rng(7)
    T, d = 4000 // chains * 4, 3
    s = rng.standard_normal((T, chains, d)) * [1.0, 2.0, 0.5]
    bm = batch_moments(s)
    N = T * chains
    # 16 batches: the SE estimate has relative sd 1/sqrt(30) = 0.18; bounds are 2.5 sd
    assert np.all(np.abs(bm["mean_se"] * np.sqrt(N) / [1.0, 2.0, 0.5] - 1) < 0.45)
    assert np.all(np.abs(bm["mean"]) < 4 * bm["mean_se"])


def test_knn_precision_recall_exact_cases():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 3))
    same = precision_recall(x, x)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    far = precision_recall(x + 1e3, x)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    y = rng.standard_normal((300, 3))
    a, b = precision_recall(y, x), precision_recall(7.5 * y - 2.0, 7.5 * x - 2.0)
    assert a["precision"] == pytest.approx(b["precision"], abs=1e-12)
    assert a["recall"] == pytest.approx(b["recall"], abs=1e-12)
    cov = [support_coverage(y, x, k) for k in (1, 2, 3, 5, 8, 13)]
    assert all(c1 <= c2 for c1, c2 in zip(cov, cov[1:])), cov


def test_knn_precision_recall_see_a_dropped_mode():
    rng = np.random.default_rng(4)
    n = 1000

    def two_modes(m):
        return np.concatenate([rng.standard_normal((m, 2)), rng.standard_normal((m, 2)) + [50.0, 0.0]])

    data, fresh = two_modes(n), two_modes(n)
    one_mode = rng.standard_normal((2 * n, 2))          # only the first mode, as many points
    dropped, full = precision_recall(one_mode, data), precision_recall(fresh, data)
    assert dropped["recall"] <= 0.5                      # the second mode's data cannot be covered
    assert full["recall"] > 0.8
    se = np.hypot(dropped["precision_se"], full["precision_se"])
    assert abs(dropped["precision"] - full["precision"]) < 3.5 * se, (dropped, full)


def test_nn_bandwidth_of_a_grid_is_three_spacings():
    d = 0.37
    grid = d * np.arange(501, dtype=float)[:, None]
    assert nn_bandwidth(grid, k=5) == pytest.approx(3 * d, rel=1e-12)
