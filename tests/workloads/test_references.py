"""The float64 references of the score-network workloads are right, so a failing hardware run
is never masked by a bad model or a bad reference.

Diffusion: the exponential-integrator reverse SDE samples a Gaussian exactly when given its
exact noised score; the committed networks, sampled in float64 with the ideal discretization,
reproduce the held-out data within the MMD's own sampling noise (permutation null) and their
sliced Wasserstein distance is within the spread of data-against-data.

Posterior: the grid quadrature is exact for a Gaussian; overdamped Langevin driven by the
committed score MLPs (the networks the demon runs, in float64) matches the exact references
(grid quadrature for the tri-modal ring, the stored emcee chain for iris logistic regression)
within tolerances from the effective sample size (batch means); the stored emcee reference
agrees with an independent importance sampler; and the same moment test rejects a sampler at
the wrong temperature, so it can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from demonloop.workloads.datasets import fresh2d, load_dataset
from demonloop.workloads.metrics import mmd_test, sliced_wasserstein
from demonloop.workloads.targets import make_target
from demonloop.workloads.references import (grid_reference, langevin_float, reverse_sde_float, stored_reference)
from demonloop.workloads.score_models import ScoreNet, VPSchedule, load_score_net
from demonloop.workloads.posterior import posterior_moment_scores, posterior_two_sample
from tests.conftest import REPO

WEIGHTS = REPO / "hw_configs" / "weights"
Z_MAX = 4.0            # |z| bound for a single standardised error (two-sided 6e-5)


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):
        yield


def test_reverse_sde_samples_a_gaussian_with_its_exact_score():
    """Data N(m, S): the noised law is N(alpha m, alpha^2 S + sigma^2 I), score exact."""
    m = np.array([0.5, -1.0])
    S = np.array([[1.0, 0.6], [0.6, 0.8]])
    sched = VPSchedule()
    net = ScoreNet([(np.zeros((2, 2)), np.zeros(2))], "hardtanh", "eps", sched, None)

    def score(z, t):
        a, s = sched.alpha(t), sched.sigma(t)
        St = a * a * S + s * s * np.eye(2)
        return -np.linalg.solve(St, (z - a * m).T).T

    n = 40000
    z = reverse_sde_float(net, n, np.random.default_rng(0), 1000, score_fn=score)
    se_mean = np.sqrt(np.diag(S) / n)
    assert np.all(np.abs(z.mean(0) - m) < Z_MAX * se_mean)
    C = np.cov(z, rowvar=False)
    se_cov = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S * S) / n)
    assert np.all(np.abs(C - S) < Z_MAX * se_cov)


@pytest.mark.parametrize("name", ["mixture2d", "spiral2d", "digits"])
def test_float_sampler_reproduces_held_out_data(name):
    """MMD at the stated bandwidth (the median heuristic h of the held-out set) for every dataset;
    at h/4 too for the 2-D sets. The digits network passes at h but not at h/4 (its samples'
    spread is ~0.93 of the data's per PCA coefficient, docs/score_workloads.md): a known limit of
    the model, reported, not asserted away."""
    net, _ = load_score_net(WEIGHTS / name)
    ds = load_dataset(name)
    held = ds.held_out
    m = len(held)
    x = ds.unnormalise(reverse_sde_float(net, m, np.random.default_rng(11), 1000))
    h = net.meta["mmd_bandwidth"]
    for bw in ((h, h / 4) if ds.image_shape is None else (h,)):
        r = mmd_test(x, held, bw, 200, np.random.default_rng(12))
        # within its own sampling noise: MMD^2_u below 3.5 null standard deviations
        assert r["mmd2"] < 3.5 * r["null_sd"], (bw, r)
    # sliced W2 against the spread of data-against-data at the same sizes
    rng = np.random.default_rng(13)
    if ds.image_shape is None:
        floors = [sliced_wasserstein(fresh2d(name, m, rng), held) for _ in range(8)]
    else:
        floors = [sliced_wasserstein(ds.train[rng.choice(len(ds.train), m, replace=False)], held) for _ in range(8)]
    sw = sliced_wasserstein(x, held)
    assert sw < np.mean(floors) + Z_MAX * np.std(floors, ddof=1), (sw, floors)


class _Gauss2D:
    dim = 2
    mean = np.array([0.3, -0.2])
    cov = np.array([[0.5, 0.2], [0.2, 0.3]])

    def log_prob(self, x):
        d = np.atleast_2d(x) - self.mean
        return -0.5 * np.einsum("ij,jk,ik->i", d, np.linalg.inv(self.cov), d)

    def box(self):
        return -5.0, 5.0


def test_grid_reference_is_exact_for_a_gaussian():
    ref = grid_reference(_Gauss2D(), points=801)
    assert np.allclose(ref.mean, _Gauss2D.mean, atol=1e-9)
    assert np.allclose(ref.cov, _Gauss2D.cov, atol=1e-9)
    d = ref.sample(200000, np.random.default_rng(0))
    assert np.allclose(d.mean(0), _Gauss2D.mean, atol=Z_MAX * np.sqrt(0.5 / 200000))


def _ring_stream(score, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-2.5, 2.5, size=(512, 2))
    h = 0.004
    s = langevin_float(lambda x: scale * score(x), x0, h, int(30 / h), rng, keep_every=int(0.05 / h))
    return s[len(s) // 3:]                               # 10 time units of burn-in (tau_int ~ 2.3)


def test_ring_langevin_with_the_score_mlp_matches_grid_quadrature():
    net, _ = load_score_net(WEIGHTS / "ring2d")
    ref = grid_reference(make_target("ring2d"))
    stream = _ring_stream(net.forward, 21)
    m = posterior_moment_scores(stream, ref)
    assert m["max_abs_mean_z"] < Z_MAX, m
    assert m["max_abs_cov_z"] < Z_MAX, m
    assert min(m["ess"]) > 1000                          # the tolerance is tight enough to matter
    ts = posterior_two_sample(stream, ref, seed=22)
    assert ts["mmd2"] < 3.5 * ts["mmd2_null_sd"], ts


def test_moment_test_rejects_the_wrong_temperature():
    """Langevin with the exact score times 0.8 samples p^0.8 (temperature 1.25): rejected."""
    tgt = make_target("ring2d")
    ref = grid_reference(tgt)
    m = posterior_moment_scores(_ring_stream(tgt.score, 23, scale=0.8), ref)
    assert max(m["max_abs_mean_z"], m["max_abs_cov_z"]) > 2 * Z_MAX, m


def _iris():
    net, arrays = load_score_net(WEIGHTS / "iris_logistic")
    return net, stored_reference(arrays, "exact", net.meta), stored_reference(arrays, "hardtanh", net.meta)


def _iris_stream(net, seed):
    rng = np.random.default_rng(seed)
    x0 = net.meta["references"]["exact"]["map"] + 0.5 * rng.standard_normal((256, 5))
    h = 0.002                                            # ULA bias ~ h L / 2 ~ 1 % of the stiffest variance
    s = langevin_float(net.forward, x0, h, int(40 / h), rng, keep_every=int(0.1 / h))
    return s[len(s) // 4:]


def test_iris_langevin_with_the_hardtanh_mlp_matches_its_reference():
    """The network samples the hard-tanh-sigmoid posterior exactly (a gradient field): against
    that reference its moments agree within the ESS tolerance."""
    net, _, ref_ht = _iris()
    m = posterior_moment_scores(_iris_stream(net, 31), ref_ht)
    assert m["max_abs_mean_z"] < Z_MAX, m
    assert m["max_abs_cov_z"] < Z_MAX, m
    assert min(m["ess"]) > 1000


def test_stored_iris_reference_agrees_with_importance_sampling():
    """Self-normalised importance sampling from a Student-t (4 dof) around the reference's
    mean and 2x its covariance, independent of emcee."""
    from scipy import stats

    net, ref, _ = _iris()
    tgt = make_target("iris_logistic")
    prop = stats.multivariate_t(ref.mean, 2.0 * ref.cov, df=4, seed=np.random.default_rng(41))
    th = prop.rvs(200000)
    lw = tgt.log_prob(th) - prop.logpdf(th)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    mean = w @ th
    ess = 1.0 / np.sum(w * w)
    se_is = np.sqrt(np.diag(ref.cov) / ess)
    z = (mean - ref.mean) / np.sqrt(se_is**2 + ref.mean_se**2)
    assert ess > 20000
    assert np.all(np.abs(z) < Z_MAX), z
