"""Thermodynamic natural-gradient descent (workload.kind: natural_gradient, examples/natural_gradient/ngd_logistic.yaml):
the per-step hardware solves, the optimizer against its baselines, and the counted costs."""

import numpy as np

from demonloop.config import load_config
from demonloop.loop import run_golden
from demonloop.workloads.natural_gradient import baselines, loss_grad_fisher, ngd_data
from tests.conftest import REPO

CFG = REPO / "examples/natural_gradient/ngd_logistic.yaml"


def test_fisher_and_gradient_are_the_log_loss_derivatives():
    X, y = ngd_data(5)
    th = np.array([0.3, -0.5, 0.2, 0.1, -0.4])
    L, g, F = loss_grad_fisher(th, X, y)
    eps = 1e-6
    num_g = np.array([(loss_grad_fisher(th + eps * e, X, y)[0] - loss_grad_fisher(th - eps * e, X, y)[0]) / (2 * eps)
                      for e in np.eye(5)])
    np.testing.assert_allclose(g, num_g, rtol=1e-6, atol=1e-9)
    num_F = np.array([(loss_grad_fisher(th + eps * e, X, y)[1] - loss_grad_fisher(th - eps * e, X, y)[1]) / (2 * eps)
                      for e in np.eye(5)])
    np.testing.assert_allclose(F, num_F, rtol=1e-5, atol=1e-8)      # the log-loss Hessian is its Fisher


def test_hardware_ngd_trains_and_beats_first_order_baselines_per_step():
    cfg = load_config(CFG).with_overrides({"workload.steps": 8})
    rep, est = run_golden(cfg)
    m = rep["metrics"]
    assert m["steps_done"] == 8
    assert np.all(np.diff(m["loss"]) < 0)                       # every hardware step lowers the loss
    assert m["final_loss"] < m["adam_loss"][-1] and m["final_loss"] < m["sgd_loss"][-1]
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    w = cfg.workload
    assert m["hardware_time_per_step_s"] == (w.settle_samples + w.solve_samples) * T_s
    assert m["register_writes_per_step"] == cfg.n * cfg.n + cfg.n
    assert rep["samples"] == 8 * (w.settle_samples + w.solve_samples)


def test_solve_error_falls_as_one_over_root_samples():
    # 16x the averaged samples: the statistical error of each solve falls 4x (medians of 6 steps)
    errs = []
    for s in (100, 1600):
        cfg = load_config(CFG).with_overrides({"workload.steps": 6, "workload.solve_samples": s, "chains": 16})
        rep, _ = run_golden(cfg)
        errs.append(rep["metrics"]["solve_rel_error_median"])
    assert 2.0 < errs[0] / errs[1] < 8.0, errs


def test_exact_ngd_baseline_converges_faster_than_gradient_descent():
    cfg = load_config(CFG)
    X, y = ngd_data(cfg.n)
    b = baselines(X, y, cfg.workload)
    assert b["exact_ngd"][5] < b["sgd"][5] and b["exact_ngd"][5] < b["adam"][5]
