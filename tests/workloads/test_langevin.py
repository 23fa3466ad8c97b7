"""Workloads score themselves against the exact references, and their errors are what the
theory says: the linear-solve error is within a few standard errors of zero and shrinks like
1/sqrt(effective samples); the sampled covariance equals the exact discrete-time closed loop.

Standard errors are *predicted* from the linearised closed loop (:mod:`demonloop.linearised`):
the variance of a time average of the stationary Gauss-Markov process, summed over its exact
autocovariances, divided by the number of independent chains.
"""

import numpy as np
import pytest
from scipy import stats

from demonloop import linearised
from demonloop.workloads import compile_program
from demonloop.config import load_config
from demonloop.loop import run_golden
from tests.conftest import REPO, small_config

DEFAULT = REPO / "hw_configs" / "spu8_linear_solve.yaml"


def predicted_se_target_units(cfg, program):
    lin = linearised.from_program(program)
    assert lin.update_period == cfg.adc.sample_period_cycles
    cov_mean = lin.time_average_covariance(cfg.run.samples)[: cfg.n, : cfg.n] / cfg.chains
    return np.sqrt(np.diag(cov_mean)) / cfg.adc.full_scale_V / program.scale


@pytest.mark.parametrize("chains", [256, 4096])
def test_linear_solve_error_is_within_standard_errors(chains):
    cfg = load_config(DEFAULT).with_overrides({"chains": chains, "run.samples": 1000, "run.burn_in_samples": 100})
    program = compile_program(cfg)
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    se = predicted_se_target_units(cfg, program)
    x_impl = np.linalg.solve(program.implemented["M"], program.implemented["b_t"])
    z = (np.array(m["solution"]) - x_impl) / se
    n = cfg.n
    # chi-square with n degrees of freedom, two-sided at 0.1%: neither too large nor too small
    assert stats.chi2.ppf(0.0005, n) < np.sum(z**2) < stats.chi2.ppf(0.9995, n), z
    # the batch-means standard error the report gives agrees with the prediction (15 d.o.f.)
    ratio = np.array(m["solution_se"]) / se
    lo, hi = np.sqrt(stats.chi2.ppf([0.0005, 0.9995], 15) / 15)
    assert np.all((ratio > lo) & (ratio < hi)), ratio
    # the headline against numpy.linalg.solve: within the statistical error plus the quantization
    x_star = np.linalg.solve(program.M, program.b_t)
    bound = 5 * np.linalg.norm(se) / np.linalg.norm(x_star) + program.quantization["solution_rel_error"]
    assert m["rel_error"] < bound


def test_linear_solve_error_shrinks_like_one_over_sqrt_samples():
    # Same chains, 16x the samples: the predicted error scale drops 4x, and the realised errors
    # (normalised by their own prediction) stay consistent with it at both lengths.
    rms = []
    for samples in (250, 4000):
        cfg = load_config(DEFAULT).with_overrides({"chains": 512, "run.samples": samples,
                                                   "run.burn_in_samples": 100, "seed": 9})
        program = compile_program(cfg)
        rep, _ = run_golden(cfg)
        se = predicted_se_target_units(cfg, program)
        x_impl = np.linalg.solve(program.implemented["M"], program.implemented["b_t"])
        err = np.array(rep["metrics"]["solution"]) - x_impl
        assert np.sum((err / se) ** 2) < stats.chi2.ppf(0.9995, cfg.n)
        rms.append((np.sqrt(np.mean(err**2)), np.sqrt(np.mean(se**2))))
    (e1, s1), (e2, s2) = rms
    assert s2 / s1 == pytest.approx(0.25, rel=0.05)   # 1/sqrt(16), up to finite-sample terms
    assert e2 < e1                                   # and the realised error did shrink


def test_gaussian_covariance_matches_the_exact_sampled_closed_loop():
    cfg = load_config(REPO / "hw_configs" / "gauss16_digital.yaml").with_overrides(
        {"chains": 1024, "run.samples": 2000})
    program = compile_program(cfg)
    lin = linearised.from_program(program)
    _, P = lin.stationary()
    n, FS = cfg.n, cfg.adc.full_scale_V
    lsb = 2.0 ** (1 - cfg.adc.bits)
    pred = np.diag(P)[:n] / FS**2 + lsb**2 / 12             # plus the ADC's quantization noise
    rep, est = run_golden(cfg)
    cov = np.array(rep["metrics"]["covariance"]) * program.scale**2
    # batch standard errors of the variances (16 batches: t with 15 d.o.f.)
    S1b, counts, S2b = est._batches()
    bm = S1b / counts[:, None]
    bvar = np.einsum("bii->bi", S2b) / counts[:, None] - bm**2
    se = bvar.std(axis=0, ddof=1) / np.sqrt(len(counts))
    z = (np.diag(cov) - pred) / se
    assert np.abs(z).max() < stats.t.ppf(1 - 0.0005 / n, 15), z
    # and the sampled loop is measurably not the ideal continuous sampler a^2 S: the same test
    # rejects it (so the agreement above is not a test too weak to tell them apart)
    ideal = np.diag(np.linalg.inv(program.M)) * program.scale**2
    assert np.sum(((np.diag(cov) - ideal) / se) ** 2) > stats.chi2.ppf(0.9995, n)


@pytest.mark.parametrize("kind", ["inverse", "logdet"])
def test_inverse_and_logdet_within_standard_errors(kind):
    cfg = small_config({"workload": {"kind": kind, "A": [[3.0, -1.0, 0.5], [-1.0, 2.5, 0.0], [0.5, 0.0, 1.5]]},
                        "chains": 1024, "run.samples": 1000})
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    if kind == "inverse":
        assert m["rel_error"] < 4 * m["rel_standard_error"]
    else:
        assert abs(m["logdet"] - m["exact"]) < 5 * m["standard_error"]
        assert m["exact"] == pytest.approx(np.log(np.linalg.det(np.array(cfg.workload.A))))
