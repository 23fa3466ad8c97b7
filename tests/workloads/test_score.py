"""Score-network workloads end to end with the golden demon (the RTL gives the same codes: see
tests/cosim/test_loop_mlp.py): posterior sampling against exact references with tolerances from the
stream's effective sample size, and a diffusion run against the float64 sampler.

z-scores combine the stream's batch-means standard error with the reference's own (zero for grid
quadrature, emcee's for a chain reference); a moment fails when its Bonferroni-corrected
two-sided p-value over all d means (or d(d+1)/2 covariance entries) is below 0.001.
"""

import numpy as np
import pytest
from scipy import stats

from demonloop.config import load_config
from demonloop.loop import run_golden
from tests.conftest import REPO

P_MIN = 1e-3


def bonferroni_ok(max_abs_z: float, count: int) -> bool:
    return min(1.0, 2 * count * stats.norm.sf(max_abs_z)) > P_MIN


def test_three_well_posterior_matches_grid_quadrature():
    # The density's score is exactly the demon's network: only the hardware separates the
    # stream from the exact density (fixed point, converters, the held force and its latency).
    cfg = load_config(REPO / "hw_configs/posterior_wells.yaml").with_overrides({"chains": 512})
    rep, est = run_golden(cfg)
    m = rep["metrics"]
    assert bonferroni_ok(m["max_abs_mean_z"], 2), m["detail"]["mean_z"]
    assert bonferroni_ok(m["max_abs_cov_z"], 3), m
    assert m["mmd_p"] > P_MIN
    # the test has teeth: the same stream against a slightly different density (confinement
    # 10% wider, which moves the wells outward) is rejected by the same criteria
    from demonloop.workloads.targets import HardtanhWells
    from demonloop.workloads.references import grid_reference
    from demonloop.workloads.posterior import posterior_moment_scores

    stream = est.stream[: est.seen // est.thin].astype(np.float64)
    bad = posterior_moment_scores(stream, grid_reference(HardtanhWells(s=0.66)))
    assert not (bonferroni_ok(bad["max_abs_mean_z"], 2) and bonferroni_ok(bad["max_abs_cov_z"], 3))


def test_logistic_posterior_matches_the_exact_posterior():
    # The network is the exact model's score (sigmoid through the table activation, the prior in
    # the cells' leak): the stream matches the exact logistic posterior, with no saturation
    # after burn-in, and max |z| <= 3 for the means and covariance entries.
    cfg = load_config(REPO / "hw_configs/posterior_iris.yaml").with_overrides({"chains": 256})
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    d = len(m["detail"]["mean"])
    assert m["max_abs_mean_z"] <= 3.0 and bonferroni_ok(m["max_abs_mean_z"], d), m["detail"]["mean_z"]
    assert m["max_abs_cov_z"] <= 3.0 and bonferroni_ok(m["max_abs_cov_z"], d * (d + 1) // 2)
    assert rep["dac_saturated_after_burn_in"] == 0 and rep["demon_overflows_after_burn_in"] == 0
    # the test has teeth: the same stream against the hard-tanh-sigmoid model (the approximation
    # the network used to be) is rejected by the same criterion
    vi = m["detail"]["vs_implemented"]
    assert not bonferroni_ok(vi["max_abs_mean_z"], d)


@pytest.mark.slow
def test_diffusion_hardware_samples_match_the_float_sampler():
    cfg = load_config(REPO / "hw_configs/diffusion_spiral.yaml").with_overrides({"chains": 2000})
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    det = m["detail"]
    # hardware samples within sampling noise of held-out data at the stated bandwidth ...
    assert m["mmd2"] < 3.5 * m["mmd2_null_sd"], m
    # ... and not distinguishable from the float64 sampler's at the fine bandwidth
    assert det["hw_vs_float"]["mmd_fine_p"] > P_MIN, det["hw_vs_float"]
    assert_hardware_costs_nothing_measurable(m)
    # the network: its float64 samples stay on the arms (precision floor 0.97, issue 19) and cover
    # the spiral as fresh data does (recall within 3 binomial standard errors)
    fl, da = det["float64"], det["data"]
    assert fl["precision"] >= 0.97, fl
    assert abs(fl["recall"] - da["recall"]) < 3 * np.hypot(fl["recall_se"], da["recall_se"]), (fl, da)


def assert_hardware_costs_nothing_measurable(m: dict) -> None:
    """The hardware's k-NN precision and recall (against the held-out set) are within 3 standard
    errors of the float64 sampler's: each is a fraction over independently generated points given
    the same held-out support, so their difference has the binomial standard error
    ``hypot(se_hw, se_float64)``. The hardware's cost shows here; the network's quality is the
    float64 sampler against fresh data (test_network_quality_against_fresh_data)."""
    det = m["detail"]
    for key in ("precision", "recall"):
        hw, fl = det["hardware"], det["float64"]
        se = np.hypot(hw[f"{key}_se"], fl[f"{key}_se"])
        assert abs(hw[key] - fl[key]) < 3 * se, (key, hw[key], fl[key], se)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["diffusion_mixture", "diffusion_digits"])
def test_diffusion_precision_recall_hardware_against_float64(name):
    rep, _ = run_golden(load_config(REPO / f"hw_configs/{name}.yaml"))
    m = rep["metrics"]
    assert m["scored"] >= 300
    assert_hardware_costs_nothing_measurable(m)
    if name == "diffusion_digits":
        c = m["classes"]
        # every class is generated: none below a third of its share (1/10) in the real data
        assert min(c["hardware"]["histogram"]) > 1 / 30, c
        se = np.hypot(c["hardware"]["mean_confidence_se"], c["float64"]["mean_confidence_se"])
        assert abs(c["hardware"]["mean_confidence"] - c["float64"]["mean_confidence"]) < 3 * se, c
    if name == "diffusion_mixture":
        assert_network_matches_fresh_data(m)


def assert_network_matches_fresh_data(m: dict) -> None:
    """The network's float64 sampler is as precise and covers as much as fresh data of the same
    size, within 3 binomial standard errors of the difference (the network's quality; the mixture
    network meets it; the spiral network meets a precision floor of 0.97 instead, and the digits
    network does not yet: see docs/score_workloads.md)."""
    det = m["detail"]
    for key in ("precision", "recall"):
        fl, da = det["float64"], det["data"]
        se = np.hypot(fl[f"{key}_se"], da[f"{key}_se"])
        assert abs(fl[key] - da[key]) < 3 * se, (key, fl[key], da[key], se)
