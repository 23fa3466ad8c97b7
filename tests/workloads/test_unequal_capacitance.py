"""Analog RC mode with unequal capacitances samples its target exactly.

With drift ``C^-1 G`` (``G = gamma M``) and amplifier noise density ``diag(q)``, the stationary
covariance ``S`` solves ``G S C + C S G = diag(q)``; ``S = s M^-1`` needs ``q = 2 s gamma C``,
each unit's density in proportion to its own capacitance (fluctuation-dissipation per unit). The
compiler sets that profile within the amplifiers' density range (4) and predicts the error left
beyond it. Tolerances come from the run's own batch standard errors (16 independent chain groups,
so t with 15 degrees of freedom), never widened.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from demonloop import linearised
from demonloop.loop import run_golden
from demonloop.plant.analog import stationary_covariance
from demonloop.workloads import compile_program
from tests.conftest import small_config

COV = [[1.0, 0.3], [0.3, 0.5]]


def config(C_F, chains=1024, samples=2000):
    return small_config({"array.n": 2, "array.C_F": C_F, "demon.multipliers": 2,
                         "workload": {"kind": "gaussian", "covariance": COV},
                         "chains": chains, "run.samples": samples, "run.burn_in_samples": 100})


def measured(est, program):
    """(sampled covariance in x units, its batch standard errors) over the 3 distinct entries."""
    S1b, counts, S2b = est._batches()
    bm = S1b / counts[:, None]
    bcov = S2b / counts[:, None, None] - np.einsum("bi,bj->bij", bm, bm)
    iu = np.triu_indices(2)
    cov = est._totals()[1]
    se = bcov.std(axis=0, ddof=1) / np.sqrt(len(counts))
    return cov[iu], se[iu], len(counts)


def predicted(program) -> np.ndarray:
    """The compiled array's exact stationary covariance at the sample instants (Lyapunov), in x
    units, plus the ADC's quantization noise lsb^2/12 on the diagonal."""
    cfg = program.config
    _, P = linearised.from_program(program).stationary()
    lsb = 2.0 ** (1 - cfg.adc.bits)
    return P / cfg.adc.full_scale_V**2 + np.eye(2) * lsb**2 / 12


def test_unequal_capacitances_sample_the_target_exactly():
    cfg = config([0.5e-9, 2.0e-9])
    program = compile_program(cfg)
    assert program.amplifier_rel_error == 0.0 and not program.notes
    q = program.elements.q_amp
    assert q[1] / q[0] == pytest.approx(4.0, rel=1e-12)     # density in proportion to C
    a = program.scale
    target = a**2 * np.array(COV)
    # the compiled array's exact covariance is the target (up to the thermal floor k_B T C^-1)
    P = predicted(program) - np.eye(2) * (2.0 ** (1 - cfg.adc.bits)) ** 2 / 12
    assert np.abs(P - target).max() < 1e-6 * np.abs(target).max()

    rep, est = run_golden(cfg)
    m = rep["metrics"]
    # the headline: with no bias, E[cov_rel_error^2] = cov_rel_standard_error^2 (the squared
    # Frobenius error is a weighted sum of squared standard normals whose weights sum to one)
    assert m["cov_rel_error"] < 3 * m["cov_rel_standard_error"]
    cov, se, nb = measured(est, program)
    z = (cov - predicted(program)[np.triu_indices(2)]) / se
    tcrit = stats.t.ppf(1 - 0.0005 / 3, nb - 1)
    assert np.abs(z).max() < tcrit, z
    # the uniform density the compiler used before (trace matched to the target, x units) is
    # rejected by the same test
    Cinv = np.diag(1.0 / np.array([0.5e-9, 2.0e-9]))
    S_u = stationary_covariance(Cinv @ (program.gamma * program.M), Cinv @ Cinv)
    S_u *= np.trace(target) / np.trace(S_u)
    z_u = (cov - S_u[np.triu_indices(2)]) / se
    assert np.abs(z_u).max() > 10 * tcrit


def test_beyond_the_amplifiers_range_the_error_is_predicted():
    cfg = config([0.25e-9, 2.0e-9], samples=1000)
    program = compile_program(cfg)
    assert program.amplifier_rel_error > 0.05
    assert any("density range" in note for note in program.notes)
    rep, est = run_golden(cfg)
    m = rep["metrics"]
    # |measured error - predicted error| <= |sampled - predicted covariance| (triangle inequality)
    assert abs(m["cov_rel_error"] - program.amplifier_rel_error) < 3 * m["cov_rel_standard_error"]
    cov, se, nb = measured(est, program)
    z = (cov - predicted(program)[np.triu_indices(2)]) / se
    assert np.abs(z).max() < stats.t.ppf(1 - 0.0005 / 3, nb - 1), z
