"""In-situ calibration (demonloop.studies.calibration): the identification against the drawn instance
(the test reads the true components; calibrate may not), that calibrate cannot read them, and the
linear solve at 10% tolerances brought back to an ideal instance's standard error.

The true ARX model of an RC instance with zero-order-held DAC currents, in ADC codes ``y = Ka v +
ca`` (``Ka = (1 + adc gain error) / lsb``), drift ``A = C^-1 G``, the update landing ``L`` =
loop latency after each sample of period ``T``, ``W(t) = A^-1 (I - e^{-A t})``:

    Phi     = Ka e^{-A T} Ka^-1
    Gamma_0 = Ka W(T - L) C^-1 g_dac,   Gamma_1 = Ka (W(T) - W(T - L)) C^-1 g_dac
    delta   = Ka W(T) C^-1 o_dac + (I - Phi) ca

Every identified entry is compared with its truth by z = (estimate - truth) / standard error;
a matrix fails when the Bonferroni-corrected two-sided p of its largest |z| is below 0.001.
"""

import json

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import expm

from demonloop.config import load_config
from demonloop.loop import Loop, run_golden
from tests.conftest import REPO

P_MIN = 1e-3
TOL = {"array.tolerance": {"R": 0.1, "C": 0.1, "noise_gain": 0.1},
       "adc.gain_error": [0.02, -0.01, 0.015, 0.0, -0.02, 0.01, 0.005, -0.015], "adc.offset_V": 0.01,
       "dac.gain_error": -0.02, "dac.offset_A": 1.0e-6}


def configs(chains):
    base = load_config(REPO / "hw_configs/spu8_linear_solve.yaml").with_overrides({"chains": chains})
    return base, base.with_overrides(TOL)


def truth(cfg):
    """The true ARX model of the instance ``cfg`` draws (read from the simulator's instance)."""
    from demonloop import workloads

    prog = workloads.of(cfg).compile(cfg)
    net = Loop(prog, 1, cfg.seed).network
    C, G = np.asarray(net.C), np.asarray(net.G)
    n = len(C)
    A = np.linalg.solve(C, G)
    T = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    L = cfg.loop_latency_cycles / cfg.clock.f_clk_Hz
    adc, dac = prog.adc, prog.dac
    Ka = np.diag((1 + adc.gain_error) / adc.lsb)
    ca = adc.offset_V / adc.lsb
    W = lambda t: np.linalg.solve(A, np.eye(n) - expm(-A * t))
    Cg = np.linalg.solve(C, np.diag(dac.gain_A_per_code))
    Phi = Ka @ expm(-A * T) @ np.linalg.inv(Ka)
    G0 = Ka @ W(T - L) @ Cg
    G1 = Ka @ (W(T) - W(T - L)) @ Cg
    delta = Ka @ W(T) @ np.linalg.solve(C, dac.offset_A * np.ones(n)) + (np.eye(n) - Phi) @ ca
    return {"Phi": Phi, "Gamma": [G0, G1], "delta": delta}


def bonferroni_ok(est, se, true):
    z = (np.asarray(est) - true) / np.asarray(se)
    m = float(np.abs(z).max())
    return min(1.0, 2 * z.size * stats.norm.sf(m)) > P_MIN, m


@pytest.fixture(scope="module")
def calibrated():
    from demonloop.studies.calibration import Bench, calibrate

    base, true = configs(512)
    return calibrate(base, Bench(true)), true


def test_identification_matches_the_drawn_instance(calibrated):
    doc, true = calibrated
    t = truth(true)
    idf = doc["identified"]
    ok, z = bonferroni_ok(idf["Phi"], idf["Phi_se"], t["Phi"])
    assert ok, f"Phi: max |z| {z:.2f}"
    for j in range(2):
        ok, z = bonferroni_ok(idf["Gamma"][j], idf["Gamma_se"][j], t["Gamma"][j])
        assert ok, f"Gamma_{j}: max |z| {z:.2f}"
    ok, z = bonferroni_ok(idf["delta_codes"], idf["delta_se"], t["delta"])
    assert ok, f"delta: max |z| {z:.2f}"
    # teeth: the nominal instance's model is rejected by the same criterion
    nominal = truth(configs(1)[0])
    assert not bonferroni_ok(idf["Phi"], idf["Phi_se"], nominal["Phi"])[0]
    assert not bonferroni_ok(idf["delta_codes"], idf["delta_se"], nominal["delta"])[0]


def test_calibrate_cannot_read_the_instance(monkeypatch):
    # The instance's components are drawn only inside Bench.run (Elements.network is the only
    # constructor of the drawn network), and what calibrate is told about the design is the same
    # whether or not the config it is given carries the tolerances: it only measures.
    import inspect

    from demonloop.studies import calibration
    from demonloop.plant.elements import Elements

    real = Elements.network
    callers = []

    def guarded(self, *a, **k):
        names = [f.function for f in inspect.stack()[1:12]]
        callers.append(names)
        assert "run" in names and any(f.frame.f_locals.get("self").__class__ is calibration.Bench
                                      for f in inspect.stack()[1:12] if f.function == "run"), names
        return real(self, *a, **k)

    monkeypatch.setattr(Elements, "network", guarded)
    base, true = configs(32)
    opts = dict(samples=300, burn_in=50)
    a = calibration.calibrate(true, calibration.Bench(true), **opts)
    b = calibration.calibrate(base, calibration.Bench(true), **opts)
    assert callers
    assert a["coefficients"] == b["coefficients"] and a["identified"] == b["identified"]
    # and the bench of another instance gives another calibration
    c = calibration.calibrate(base, calibration.Bench(true.with_overrides({"seed": 2})), **opts)
    assert c["coefficients"]["b_raw"] != a["coefficients"]["b_raw"]


def test_calibrated_linear_solve_reaches_the_ideal_instances_error(calibrated):
    doc, _ = calibrated
    base, true = configs(256)
    ideal, _ = run_golden(base)
    uncal, _ = run_golden(true)
    cal, _ = run_golden(true, calibration=doc)
    se = ideal["metrics"]["rel_standard_error"]          # the ideal instance's error at this sample count
    assert uncal["metrics"]["rel_error"] > 20 * se        # 10% tolerances: far off without calibration
    assert cal["metrics"]["rel_error"] < 2 * se, (cal["metrics"]["rel_error"], ideal["metrics"]["rel_error"], se)


def test_run_calibration_refuses_another_instance_or_design(calibrated, tmp_path, capsys):
    from tests.cli.test_main import run_cli

    doc, _ = calibrated
    f = tmp_path / "calibration.json"
    f.write_text(json.dumps(doc))
    sets = [x for k, v in TOL.items() for x in ("--set", f"{k}={json.dumps(v)}")]
    cfg = str(REPO / "hw_configs/spu8_linear_solve.yaml")
    for extra, words in ((["--seed", "2"], "instance of seed 1"),
                         (["--set", "workload.b=[1,1,1,1,1,1,1,1]"], "another design")):
        code, out, err = run_cli(["run", cfg, *sets, *extra, "--calibration", str(f), "--out", str(tmp_path / "o")], capsys)
        assert code == 2 and err.startswith("error: --calibration:") and words in err, err
        assert not (tmp_path / "o").exists()


def gaussian(chains, time_constant_samples):
    """An 8-unit Gaussian sampler in analog mode with the linear solve's matrix as precision."""
    from demonloop.config.loading import validate_config

    d = load_config(REPO / "hw_configs/spu8_linear_solve.yaml").raw()
    d["workload"] = {"kind": "gaussian", "precision": d["workload"]["A"], "mean": [0.0] * 8}
    d["chains"] = chains
    d["compiler"]["time_constant_samples"] = time_constant_samples
    base = validate_config(d)
    return base, base.with_overrides(TOL)


def test_gaussian_covariance_calibrated_through_the_demons_matrix():
    # slow enough that the noise one sample period injects stays below the target covariance:
    # the demon's matrix can then bring the covariance back (the residual couplings included)
    from demonloop.studies.calibration import Bench, calibrate

    base, true = gaussian(256, 16)
    doc = calibrate(base.with_overrides({"chains": 512}), Bench(true.with_overrides({"chains": 512})))
    cc = doc["covariance_correction"]
    assert cc["reachable"] and not cc["nominal_matrix_kept"]
    assert doc["coefficients"]["A_raw"] != doc["coefficients"]["A_raw_nominal"]
    ideal, _ = run_golden(base)
    uncal, _ = run_golden(true)
    cal, _ = run_golden(true, calibration=doc)
    se = ideal["metrics"]["cov_rel_standard_error"]
    assert uncal["metrics"]["cov_rel_error"] > 10 * se
    assert cal["metrics"]["cov_rel_error"] < 2 * se, (cal["metrics"]["cov_rel_error"], ideal["metrics"]["cov_rel_error"], se)


def test_an_unreachable_covariance_is_said_so():
    from demonloop.studies.calibration import Bench, calibrate

    base, true = gaussian(64, 4)
    doc = calibrate(base, Bench(true), samples=1000)
    cc = doc["covariance_correction"]
    # the fast cells' noise gain is +10% (noise_gain tolerance): no drift correction removes it
    assert not cc["reachable"] and cc["note"]
    assert cc["predicted_cov_rel_error_calibrated"] <= cc["predicted_cov_rel_error_nominal"]


def test_calibrate_refuses_what_it_cannot_correct(tmp_path, capsys):
    from tests.cli.test_main import run_cli

    code, out, err = run_cli(["calibrate", str(REPO / "hw_configs/posterior_wells.yaml"), "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and err.startswith("error: workload.kind:") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c").exists()


def test_calibrate_command_writes_the_file_run_applies(tmp_path, capsys):
    from tests.cli.test_main import run_cli

    sets = [x for k, v in TOL.items() for x in ("--set", f"{k}={json.dumps(v)}")]
    cfg = str(REPO / "hw_configs/spu8_linear_solve.yaml")
    small = ["--set", "run.samples=400", "--chains", "16"]
    code, out, err = run_cli(["calibrate", cfg, *sets, *small, "--out", str(tmp_path / "c")], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "c" / "calibration.json").read_text())
    assert doc["cost"]["adc_samples"] == 2 * 16 * (400 + 200) * 8     # two passes, burn-in included
    code, out, err = run_cli(["run", cfg, *sets, *small, "--no-plot", "--calibration", str(tmp_path / "c" / "calibration.json"),
                              "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    assert "calibration" in out
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["calibration"]["cost"] == doc["cost"]
