"""Sweeps against theory: each test measures with ``demonloop sweep`` and compares with a closed
form, with tolerances from the estimator's exact standard error, and shows that the same
comparison rejects the wrong theory (so it cannot pass by accident).

1. Quantization: with subtractive dither and no other ADC noise, the ADC error's mean square is
   ``lsb**2 / 12`` at every resolution (exact: Schuchman's condition makes the errors i.i.d.
   uniform, so the standard error of the mean square over N conversions is
   ``lsb**2 / sqrt(180 N)``); without dither, on a signal narrower than an LSB, it is not.
2. Latency: the measured stable/unstable boundary over loop latency and loop gain is where the
   closed-loop spectral radius (:mod:`demonloop.linearised`, what ``demonloop check`` shows)
   crosses 1, to within one sample period.
3. Gaussian sampling with latency: the measured stationary variance is the exact variance of the
   discrete-time closed loop from its state-space form (discrete Lyapunov equation), with the
   standard error from that loop's own autocovariances; the continuous-time ideal is rejected.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from demonloop import linearised
from demonloop.workloads import compile_program
from demonloop.studies.sweep import Sweep, parse_axes, run_sweep
from tests.conftest import small_config
from tests.studies.test_sweep import loop_config

Z = 4.5   # two-sided, ~7e-6 per comparison: a handful of comparisons per test never trip by chance


def test_dithered_adc_error_is_lsb_squared_over_12_at_every_resolution(tmp_path):
    # A 2-unit analog-mode linear solve (the demon only adds the bias: no feedback, no other
    # noise source at the ADC) with a spread of FS/200: a fraction of an LSB at 4 and 6 bits,
    # where the undithered quantization error is far from uniform.
    cfg = small_config({"array.n": 2, "demon.multipliers": 2,
                        "workload": {"kind": "linear_solve", "A": [[2.0, -0.5], [-0.5, 1.5]], "b": [0.7, -0.4]},
                        "compiler.range_sigmas": 100, "chains": 64,
                        "run.burn_in_samples": 50, "run.samples": 400})
    assert cfg.adc.noise_V == 0 and cfg.adc.offset_V == 0 and cfg.adc.gain_error == 0
    sw = Sweep(cfg, parse_axes(["adc.bits=4,6,8,10,12", "adc.dither=true,false"]), seeds=1, base_seed=2,
               out_dir=tmp_path / "q")
    rows = run_sweep(sw, workers=2, progress=False)["rows"]
    N_expected = 64 * 2 * 400
    for r in rows:
        assert r["adc_clipped"] == 0 and r["adc_codes_at_limits"] == 0
        N = r["adc_error_count"]
        assert N == N_expected
        # in LSB units: E[e^2] = 1/12, Var[e^2] = 1/80 - 1/144 = 1/180, E[e] = 0, Var[e] = 1/12
        z_ms = (r["adc_error_ms_lsb2"] - 1.0 / 12.0) / np.sqrt(1.0 / (180.0 * N))
        z_mean = r["adc_error_mean_lsb"] / np.sqrt(1.0 / (12.0 * N))
        if r["adc.dither"]:
            assert abs(z_ms) < Z and abs(z_mean) < Z, (r["adc.bits"], z_ms, z_mean)
        elif r["adc.bits"] <= 6:
            # the same test rejects the undithered converter on a sub-LSB signal
            assert abs(z_ms) > 10 * Z, (r["adc.bits"], z_ms)


def test_measured_stability_boundary_is_the_spectral_radius_crossing(tmp_path):
    # loop gain: the compiler's closed-loop time constant (4, 6, 10 sample periods; shorter is a
    # higher gain); latency: the demon's, 0 to 700 cycles in steps of 50 (sample period 100).
    cfg = loop_config(chains=64, **{"run.burn_in_samples": 50, "run.samples": 250})
    taus = (4, 6, 10)
    sw = Sweep(cfg, parse_axes([f"compiler.time_constant_samples={','.join(map(str, taus))}",
                                "demon.latency_cycles=0:700:50"]), seeds=2, base_seed=3, out_dir=tmp_path / "b")
    all_rows = run_sweep(sw, workers=2, progress=False)["rows"]
    P = cfg.adc.sample_period_cycles
    boundaries = []
    for tau in taus:
        rows = sorted((r for r in all_rows if r["compiler.time_constant_samples"] == tau),
                      key=lambda r: r["loop_latency_cycles"])
        # the prediction, recomputed here from the state-space loop (not read from the rows)
        program = compile_program(cfg.with_overrides({"compiler.time_constant_samples": tau}))
        L_star = linearised.max_stable_latency(program)
        assert linearised.from_program(program, latency=L_star).spectral_radius < 1.0
        assert linearised.from_program(program, latency=L_star + 1).spectral_radius > 1.0
        assert all(r["predicted_max_stable_latency_cycles"] == L_star for r in rows)
        lat = np.array([r["loop_latency_cycles"] for r in rows])
        stable = np.array([r["stable"] for r in rows])
        # the grid is fine enough and reaches well past the crossing on both sides
        assert np.diff(np.unique(lat)).max() <= P / 2
        assert (lat < L_star - P).sum() >= 2 and (lat > L_star + P).sum() >= 3
        # away from the crossing by more than one sample period, every run is classified as predicted
        assert stable[lat < L_star - P].all(), (tau, L_star)
        assert not stable[lat > L_star + P].any(), (tau, L_star)
        # the measured boundary: between the last latency where every run is stable and the first
        # where one diverged; both within one sample period of the crossing
        first_bad = lat[~stable].min()
        last_good = lat[stable & (lat < first_bad)].max()
        assert stable[lat < first_bad].all()
        assert L_star - P <= last_good and first_bad <= L_star + P, (tau, L_star, last_good, first_bad)
        boundaries.append(L_star)
        # diverged runs were stopped where they diverged, at a sample instant, with no metric
        for r in rows:
            if not r["stable"]:
                assert r["diverged_at_cycle"] % P == 0 and r["cycles"] == r["diverged_at_cycle"]
                assert r.get("cov_rel_error") is None
    # the three gains' crossings are more than a sample period apart, so matching each of them is
    # not one coincidence
    assert all(b - a > P for a, b in zip(boundaries, boundaries[1:])), boundaries


def test_stationary_variance_with_latency_is_the_exact_discrete_time_closed_loop(tmp_path):
    # 16-bit converters and coefficients: quantization is negligible next to the standard error
    # (its lsb**2 / 12 is still added to the prediction); the ADC range is 8 standard deviations
    # so nothing clips.
    cfg = loop_config(chains=512, **{"run.burn_in_samples": 150, "run.samples": 800,
                                     "compiler.time_constant_samples": 4, "compiler.range_sigmas": 8,
                                     "adc.bits": 16, "dac.bits": 16,
                                     "demon.coef": {"int_bits": 4, "frac_bits": 16}})
    latencies = [0, 60, 120]
    seeds = 2
    sw = Sweep(cfg, parse_axes([f"demon.latency_cycles={','.join(map(str, latencies))}"]), seeds=seeds,
               base_seed=4, out_dir=tmp_path / "v")
    rows = run_sweep(sw, workers=2, progress=False)["rows"]
    n, FS, S, C = cfg.n, cfg.adc.full_scale_V, cfg.run.samples, cfg.chains
    preds = {}
    for lat in latencies:
        point = cfg.with_overrides({"demon.latency_cycles": lat})
        program = compile_program(point)
        lin = linearised.from_program(program)
        assert lin.update_period == point.adc.sample_period_cycles   # one update per sample
        Pz = sla.solve_discrete_lyapunov(lin.F, lin.W)
        var_pred = np.diag(Pz)[:n] / FS**2 + (program.adc.lsb / FS) ** 2 / 12.0
        # Var of the sample variance of a stationary Gaussian sequence over S samples:
        # (2 / S) sum_{|k| < S} (1 - |k|/S) gamma_k^2, gamma_k = (F^k P)_ii; C chains, `seeds` runs
        acc = np.diag(Pz)[:n] ** 2
        Fk = np.eye(lin.F.shape[0])
        for k in range(1, S):
            Fk = Fk @ lin.F
            acc = acc + 2.0 * (1.0 - k / S) * np.diag(Fk @ Pz)[:n] ** 2
            if np.abs(Fk).max() < 1e-15:
                break
        se = np.sqrt(2.0 * acc / S / C / seeds) / FS**2
        mine = [r for r in rows if r["demon.latency_cycles"] == lat]
        assert len(mine) == seeds and all(r["stable"] and r["adc_clipped"] == 0 and r["dac_saturated"] == 0
                                          for r in mine)
        var_meas = np.mean([np.diag(np.array(r["covariance"])) * program.scale**2 for r in mine], axis=0)
        z = (var_meas - var_pred) / se
        assert np.abs(z).max() < Z, (lat, var_meas, var_pred, z)
        preds[lat] = (var_meas, var_pred, se, program)
    # the same comparison rejects the theories that ignore the sampled loop or its latency
    var_meas, _, se, program = preds[120]
    ideal = np.diag(np.linalg.inv(program.M)) * program.scale**2       # continuous-time target
    assert np.abs((var_meas - ideal) / se).max() > 10 * Z
    without_latency = preds[0][1]                                       # the same loop, latency 0
    assert np.abs((var_meas - without_latency) / se).max() > 10 * Z
