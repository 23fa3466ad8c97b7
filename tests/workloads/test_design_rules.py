"""``demonloop check`` as a design-rule checker: its warnings (stable codes, the figure, the key to
change and the value to set) and its predictions, against what ``run`` then measures.

The case is the one from the issue: a 12-unit Gaussian in digital mode whose demon force needs
more than the DAC's range. ``check`` must predict the DAC saturation, and following every
warning's advice must give a covariance error within the predicted bound: the linearised sampled
loop's bias plus three predicted standard errors (exact time-average variances of ``x_i x_j``
from the loop's autocovariances, Isserlis).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import yaml
from scipy import stats

from demonloop import check
from demonloop.config import validate_config
from demonloop.loop import run_golden
from demonloop.workloads.langevin import CLIP_THRESHOLD
from tests.conftest import REPO


def twelve_unit_config() -> dict:
    from demonloop.config.yaml_io import parse_yaml

    d = parse_yaml((REPO / "hw_configs" / "gauss16_digital.yaml").read_text())
    d["name"] = "gauss12_dac"
    d["array"]["n"] = 12
    d["workload"]["mean"] = d["workload"]["mean"][:12]
    d["workload"]["covariance"] = {"random_spd": {"n": 12, "condition": 10.0, "seed": 5}}
    d["compiler"] = {"mode": "digital", "range_sigmas": 4.0}        # time_constant_samples: 4
    d["demon"]["coef"] = {"int_bits": 5, "frac_bits": 11}
    d["chains"] = 256
    d["run"] = {"burn_in_samples": 300, "samples": 2000}
    return d


def codes(rep: dict) -> set[str]:
    return {w["code"] for w in rep["warnings"]}


def test_dac_saturation_is_predicted_and_the_advice_gives_the_predicted_error():
    cfg = validate_config(twelve_unit_config())
    rep = check(cfg)
    assert rep["stability"]["stable"]                       # "valid, stable": the old check's verdict
    assert "dac_saturation" in codes(rep)
    dac = next(w for w in rep["warnings"] if w["code"] == "dac_saturation")
    assert dac["key"] == "dac.full_scale_A" and dac["figure"] > CLIP_THRESHOLD and dac["value"] > cfg.dac.full_scale_A
    for w in rep["warnings"]:
        assert set(w) >= {"code", "message", "figure", "key", "advice", "value"}

    # run as it is: the DAC saturates (measured above the threshold), the answer is far off
    out, _ = run_golden(cfg.with_overrides({"run.samples": 600}))
    assert "dac_saturation" in out["range_check"]["exceeded"]
    assert out["metrics"]["cov_rel_error"] > 0.3

    # follow every warning that names a value
    fixed = cfg.with_overrides({w["key"]: w["value"] for w in rep["warnings"] if w["value"] is not None})
    rep2 = check(fixed)
    assert not codes(rep2) & {"dac_saturation", "adc_clipping", "unstable"}
    pr = rep2["predictions"]
    out2, _ = run_golden(fixed)
    m = out2["metrics"]
    assert out2["range_check"]["exceeded"] == []
    assert m["cov_rel_error"] <= pr["error_bound"]
    # |measured - bias| <= |sampled - predicted covariance| (triangle inequality), whose scale is
    # the standard error
    assert abs(m["cov_rel_error"] - pr["bias"]) < 3 * pr["standard_error"]
    # and the predicted standard error is the one the run measures from its 16 batches
    lo, hi = np.sqrt(stats.chi2.ppf([0.0005, 0.9995], 15) / 15)
    assert lo < m["cov_rel_standard_error"] / pr["standard_error"] < hi


def test_bundled_gaussian_has_no_warning_and_a_prediction():
    rep = check("gauss16_digital")
    assert rep["warnings"] == []
    pr = rep["predictions"]
    assert pr["headline"] == "cov_rel_error" and pr["bias"] > 0 and pr["standard_error"] > 0


def test_strict_exits_3_on_a_warning_and_runs_nothing(tmp_path):
    path = tmp_path / "g12.yaml"
    path.write_text(yaml.safe_dump(twelve_unit_config()))
    exe = [sys.executable, "-m", "demonloop"]
    r = subprocess.run(exe + ["check", str(path), "--strict", "--json"], capture_output=True, text=True)
    assert r.returncode == 3
    import json

    assert "dac_saturation" in {w["code"] for w in json.loads(r.stdout)["warnings"]}
    out = tmp_path / "out"
    r = subprocess.run(exe + ["run", str(path), "--strict", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 3 and not out.exists()
    assert "[dac_saturation]" in r.stderr
    r = subprocess.run(exe + ["check", "spu8_linear_solve", "--strict"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_predicted_dac_clipping_is_what_the_run_counts():
    # a loop whose force spread reaches the DAC limits on ~0.3% of the codes: rare enough that the
    # linearised loop still describes it; the prediction is the Gaussian tail of f = b' - A' x
    cfg = validate_config(twelve_unit_config()).with_overrides(
        {"compiler.time_constant_samples": 8, "dac.full_scale_A": 7e-5, "chains": 1024})
    rep = check(cfg)
    assert "dac_saturation" in codes(rep)
    p = np.array(rep["spread"]["dac_clip_probability"])
    tau = rep["predictions"]["tau_int_samples"]
    out, _ = run_golden(cfg)
    measured = out["range_check"]["dac_saturation_fraction"]
    assert "dac_saturation" in out["range_check"]["exceeded"]
    N = cfg.chains * out["samples"]            # per unit (burn-in included: the loop starts near its law)
    # the fraction averages n indicator series, each with variance p (1 - p) and an
    # autocorrelation time no longer than the state's (2 tau_int as the variance factor); the
    # sd of their mean is at most the mean of their sds (the units may be correlated)
    se = np.mean(np.sqrt(p * (1 - p) * 2 * tau / N))
    assert p.mean() > 10 * se                              # a rate the run resolves
    assert abs(measured - p.mean()) < 4.5 * se, (measured, p.mean(), se)


def test_score_workload_warnings_carry_code_figure_and_key():
    from demonloop import load_config

    rep = check(load_config("diffusion_mixture", overrides={"compiler.range_sigmas": 1}))
    adc = [w for w in rep["warnings"] if w["code"] == "adc_clipping"]
    # one standard deviation of range: far more than 1e-3 of the data lies beyond it
    assert adc and adc[0]["figure"] > 0.1 and adc[0]["key"] == "compiler.range_sigmas"
    assert check("diffusion_mixture")["warnings"] == []
