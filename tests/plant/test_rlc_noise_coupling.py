"""RLC cells honour the noise switch and accept resistive coupling, exactly.

Fluctuation-dissipation for a network of RLC cells (``C dv = (-G v - i) dt + dxi``, ``L di = v dt``):
with noise density ``N = 2 k_B T_e G`` the stationary law is ``v ~ N(0, k_B T_e C^-1)``,
``i ~ N(0, k_B T_e L^-1)`` whatever ``G`` is. So:

- amplifiers off (``array.noise.enabled: false``, the key that survives YAML): physical noise
  only, ``T_e = T``;
- coupling resistors (``array.R_couple_ohm``) need their own amplifiers, across each resistor,
  at the same ``T_e``; without them the law is not ``k_B T_e C^-1`` (checked: the test rejects it).

The Monte Carlo checks read the plant's exact state at the sample instants (the ADC cannot
resolve the 300 K spread); standard errors from independent chains.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from demonloop.config import load_config
from demonloop.loop import Loop, run_golden
from demonloop.plant.analog import K_B
from demonloop.workloads import compile_program
from tests.conftest import REPO

RLC = REPO / "hw_configs" / "rlc8_gaussian.yaml"


def test_noise_enabled_false_in_yaml_turns_the_amplifiers_off(tmp_path):
    text = RLC.read_text().replace("  rail_V: 1.5\n", "  rail_V: 1.5\n  noise:\n    enabled: false\n")
    path = tmp_path / "rlc_off.yaml"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg.array.noise.amplifiers_off
    program = compile_program(cfg)
    assert not np.any(program.elements.q_amp)
    net = program.elements.network()
    assert net.effective_temperature() == pytest.approx(np.full(cfg.n, cfg.array.temperature_K))


def plant_moments(cfg, burn: int = 50):
    """Per-chain sample covariances of the plant state [v, i] after ``burn`` samples: their mean
    over chains and its standard error (chains independent)."""
    program = compile_program(cfg)
    loop = Loop(program, cfg.chains, cfg.seed)
    d = 2 * cfg.n
    acc = np.zeros((cfg.chains, d, d))
    cnt = [0]

    def on_sample(m, X):
        if m >= burn:
            s = loop.plant.state
            acc[:] += s[:, :, None] * s[:, None, :]
            cnt[0] += 1

    loop.run_golden(on_sample)
    per_chain = acc / cnt[0]
    return program, per_chain.mean(axis=0), per_chain.std(axis=0, ddof=1) / np.sqrt(cfg.chains)


@pytest.mark.parametrize("coupled", [False, True])
def test_amplifiers_off_is_thermal_equilibrium_at_T(coupled):
    over = {"array.noise.enabled": False, "chains": 256, "run.samples": 400, "run.burn_in_samples": 50,
            "array.rail_V": None}
    if coupled:
        over["array.R_couple_ohm"] = 2e4
    cfg = load_config(RLC).with_overrides(over)
    program, S, se = plant_moments(cfg)
    net = program.elements.network()
    n, T = cfg.n, cfg.array.temperature_K
    exact = np.zeros((2 * n, 2 * n))
    exact[:n, :n] = K_B * T * np.linalg.inv(net.C)
    exact[n:, n:] = K_B * T * np.diag(1.0 / net.L)
    iu = np.triu_indices(2 * n)
    # covariances that are exactly zero (v with i at equal times) have a spread too: z-score all
    z = (S - exact)[iu] / se[iu]
    assert np.abs(z).max() < stats.norm.ppf(1 - 0.0005 / len(z)), np.abs(z).max()


def test_resistive_coupling_is_exact_with_amplifiers_across_the_coupling_resistors():
    cfg = load_config(RLC).with_overrides({"array.R_couple_ohm": 2e4, "chains": 1024,
                                           "run.samples": 1000})
    program = compile_program(cfg)
    el = program.elements
    assert el.g_couple is not None and np.count_nonzero(el.g_couple) == np.count_nonzero(el.C_couple)
    net = el.network()
    n = cfg.n
    Te = net.effective_temperature()
    assert Te == pytest.approx(np.full(n, Te[0]), rel=1e-12)
    # the Lyapunov solution is fluctuation-dissipation at T_e, to rounding
    S = net.sde().stationary_covariance()
    assert np.abs(S[:n, :n] - K_B * Te[0] * np.linalg.inv(net.C)).max() < 1e-9 * np.abs(S[:n, :n]).max()
    assert np.abs(S[n:, n:] - K_B * Te[0] * np.diag(1.0 / net.L)).max() < 1e-9 * np.abs(S[n:, n:]).max()
    # without the amplifiers across the coupling resistors it is not
    S_wrong = replace(net, q_couple=None).sde().stationary_covariance()
    assert np.abs(S_wrong[:n, :n] - S[:n, :n]).max() > 0.01 * np.abs(S[:n, :n]).max()
    # and the sampled covariance is the target within its standard error
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    assert m["cov_rel_error"] < 3 * m["cov_rel_standard_error"]


def test_noise_switch_is_honoured_for_rc_gaussians_too():
    from tests.conftest import small_config

    cfg = small_config({"array.n": 2, "demon.multipliers": 2, "array.noise.enabled": False,
                        "workload": {"kind": "gaussian", "covariance": [[1.0, 0.3], [0.3, 0.5]]}})
    assert not np.any(compile_program(cfg).elements.q_amp)
    on = small_config({"array.n": 2, "demon.multipliers": 2,
                       "workload": {"kind": "gaussian", "covariance": [[1.0, 0.3], [0.3, 0.5]]}})
    assert np.all(compile_program(on).elements.q_amp > 0)
