"""The logistic-regression posterior on the exact model (emulator/workloads/posterior.py): the
compiled network is the exact score without the prior, the cells' leak is the prior, and the
table's gain holds the pre-activations (the golden loop against the exact posterior is
tests/workloads/test_score.py)."""

from pathlib import Path

import numpy as np
import pytest

import demonloop
from demonloop.workloads import of
from demonloop.workloads.targets import make_target

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ["posterior_iris"]


@pytest.mark.parametrize("name", CONFIGS)
def test_network_is_the_exact_score_and_the_leak_the_prior(name):
    cfg = demonloop.load_config(REPO / "hw_configs" / f"{name}.yaml")
    w = of(cfg)
    program = w.compile(cfg)
    net = program.net
    tgt = make_target(cfg.workload.target)
    theta = np.random.default_rng(0).normal(0.0, 3.0, (500, cfg.n))
    s0 = tgt.data.prior_sd
    assert np.abs(net.forward(theta) - theta / s0**2 - tgt.score(theta)).max() < 1e-9
    assert program.spec.activation == "table" and net.activation == "sigmoid"
    # one row; the control h = -1/2 exactly, so G_self + h g_ctrl = C r / s0^2 (the prior's leak)
    h = program.schedule_raw[0, 1] * 2.0 ** (1 - program.spec.ctrl_bits)
    assert h == -0.5
    C = float(np.mean(program.elements.C_self))
    G = float(np.mean(program.elements.g_self)) + h * program.schedule["g_ctrl_S"][0]
    r = cfg.workload.step * cfg.clock.f_clk_Hz / cfg.adc.sample_period_cycles
    assert G == pytest.approx(C * r / s0**2, rel=1e-12)
    # the table's gain holds every pre-activation under the posterior without saturating
    draws = program.arrays["ref_exact_draws"]
    u = np.abs(draws @ net.layers[0][0].T).max()
    gain = program.quantization["activation_table"]["gain"]
    assert u / gain < program.spec.act.max_value
