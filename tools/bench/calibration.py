#!/usr/bin/env python3
"""In-situ calibration figures (demonloop.studies.calibration) on the bundled linear solve.

1. Error against tolerance: R, C and amplifier-gain tolerances 1%, 5%, 10%, 20% (plus fixed
   converter errors: ADC gains ±2%, ADC offset 10 mV, DAC gain -2%, DAC offset 1 uA), the
   linear-solve error uncalibrated and calibrated, against the ideal instance (no tolerances, ideal
   converters) at the same sample count, and what the calibration cost (ADC samples, hardware
   time). The same for an 8-unit Gaussian sampler (the linear solve's matrix as precision,
   time constant 16 sample periods) and its covariance error.
2. Residual error against calibration time at 10%: calibrations with 32 .. 1024 chains, each
   scored by a long run (so the run's own error is small), against the calibration's own
   standard error (that of its operating-point pass).

    .venv/bin/python tools/bench/calibration.py [--out docs/calibration.png] [--chains 512]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from demonloop.config import load_config
from demonloop.loop import run_golden
from demonloop.resources import bundled_configs
from demonloop.studies.calibration import Bench, calibrate

CONVERTERS = {"adc.gain_error": [0.02, -0.01, 0.015, 0.0, -0.02, 0.01, 0.005, -0.015], "adc.offset_V": 0.01,
              "dac.gain_error": -0.02, "dac.offset_A": 1.0e-6}


def instance(cfg, tol):
    return cfg.with_overrides({"array.tolerance": {"R": tol, "C": tol, "noise_gain": tol}, **CONVERTERS})


def gaussian_config(chains):
    """An 8-unit Gaussian sampler in analog mode with the linear solve's matrix."""
    ls = load_config(bundled_configs()["spu8_linear_solve"]).raw()
    A = ls["workload"]["A"]
    ls["workload"] = {"kind": "gaussian", "precision": A, "mean": [0.0] * 8}
    ls["chains"] = chains
    ls["array"]["noise"] = {}
    # slow enough that the noise one sample period injects stays below the target covariance
    # (at 4 sample periods the fastest cells' +10% noise gain cannot be undone by the drift)
    ls["compiler"]["time_constant_samples"] = 16
    from demonloop.config.loading import validate_config

    return validate_config(ls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/calibration.png")
    ap.add_argument("--chains", type=int, default=512)
    ap.add_argument("--eval-chains", type=int, default=4096)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    base = load_config(bundled_configs()["spu8_linear_solve"]).with_overrides({"chains": a.chains})
    T_s = base.adc.sample_period_cycles / base.clock.f_clk_Hz
    ideal, _ = run_golden(base)
    ie, ise = ideal["metrics"]["rel_error"], ideal["metrics"]["rel_standard_error"]
    print(f"linear solve, {a.chains} chains x {base.run.samples} samples; ideal instance: error {ie:.3g} "
          f"(standard error {ise:.3g})")
    try:
        gbase = gaussian_config(a.chains)
        gideal, _ = run_golden(gbase)
        ghead = gideal["headline"]
    except Exception as exc:                    # noqa: BLE001 - the Gaussian part is optional
        print(f"(Gaussian sampler skipped: {exc})")
        gbase = None
    rows = []
    print(f"{'tol':>5} {'uncal':>9} {'cal':>9} {'cal/ideal_se':>12} {'ADC samples':>12} {'hw time s':>9}"
          + (f" {'gauss uncal':>12} {'gauss cal':>10}" if gbase else ""))
    for tol in (0.01, 0.05, 0.10, 0.20):
        true = instance(base, tol)
        unc, _ = run_golden(true)
        t0 = time.perf_counter()
        doc = calibrate(base, Bench(true))
        wall = time.perf_counter() - t0
        cal, _ = run_golden(true, calibration=doc)
        r = {"tolerance": tol, "uncalibrated": unc["metrics"]["rel_error"], "calibrated": cal["metrics"]["rel_error"],
             "ideal": ie, "ideal_se": ise, "adc_samples": doc["cost"]["adc_samples"],
             "hardware_time_s": doc["cost"]["hardware_time_s"], "wall_s": wall}
        if gbase is not None:
            gtrue = instance(gbase, tol)
            g, _ = run_golden(gtrue)
            gdoc = calibrate(gbase, Bench(gtrue))
            gc, _ = run_golden(gtrue, calibration=gdoc)
            r["gaussian_uncalibrated"] = g["metrics"][ghead]
            r["gaussian_calibrated"] = gc["metrics"][ghead]
            r["gaussian_ideal"] = gideal["metrics"][ghead]
            r["gaussian_ideal_se"] = gideal["metrics"]["cov_rel_standard_error"]
        rows.append(r)
        print(f"{tol:5.2f} {r['uncalibrated']:9.3g} {r['calibrated']:9.3g} {r['calibrated'] / ise:12.2f} "
              f"{r['adc_samples']:12,} {r['hardware_time_s']:9.3g}"
              + (f" {r['gaussian_uncalibrated']:12.3g} {r['gaussian_calibrated']:10.3g}" if gbase else ""), flush=True)
    if gbase is not None:
        print(f"Gaussian sampler, ideal instance: {ghead} {gideal['metrics'][ghead]:.3g} "
              f"(standard error {gideal['metrics']['cov_rel_standard_error']:.3g})")

    # residual against calibration time, at 10%
    ev = base.with_overrides({"chains": a.eval_chains})
    true_ev = instance(ev, 0.10)
    ideal_ev, _ = run_golden(ev)
    ese = ideal_ev["metrics"]["rel_standard_error"]
    budget = []
    print(f"\nresidual at 10% against calibration time (scored by {a.eval_chains} chains x {ev.run.samples} samples, "
          f"standard error {ese:.3g})")
    print(f"{'chains':>7} {'hw time s':>9} {'residual':>9} {'cal se':>9} {'sqrt(cal se^2 + run se^2)':>26}")
    for ch in (32, 64, 128, 256, 512, 1024):
        doc = calibrate(base, Bench(instance(base, 0.10)), chains=ch)
        cal, _ = run_golden(true_ev, calibration=doc)
        m_star = np.asarray(doc["predicted"]["target_mean_codes"])
        cal_se = float(np.linalg.norm(doc["predicted"]["calibrated_mean_se_codes"]) / np.linalg.norm(m_star))
        res = cal["metrics"]["rel_error"]
        budget.append({"chains": ch, "hardware_time_s": doc["cost"]["hardware_time_s"], "residual": res,
                       "calibration_se": cal_se, "expected": float(np.hypot(cal_se, ese))})
        b = budget[-1]
        print(f"{ch:7d} {b['hardware_time_s']:9.3g} {res:9.3g} {cal_se:9.3g} {b['expected']:26.3g}", flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    t = [r["tolerance"] * 100 for r in rows]
    ax1.semilogy(t, [r["uncalibrated"] for r in rows], "o-", label="linear solve, uncalibrated")
    ax1.semilogy(t, [r["calibrated"] for r in rows], "s-", label="linear solve, calibrated")
    ax1.axhline(ise, color="k", ls="--", lw=0.8, label="ideal instance's standard error")
    ax1.axhline(2 * ise, color="k", ls=":", lw=0.8, label="2x that")
    if gbase is not None:
        ax1.semilogy(t, [r["gaussian_uncalibrated"] for r in rows], "^-", label=f"Gaussian {ghead}, uncalibrated")
        ax1.semilogy(t, [r["gaussian_calibrated"] for r in rows], "v-", label=f"Gaussian {ghead}, calibrated")
        ax1.axhline(rows[0]["gaussian_ideal_se"], color="C2", ls="--", lw=0.8, label="Gaussian: ideal standard error")
    ax1.set_xlabel("R, C, amplifier tolerance (1 sigma, %)")
    ax1.set_ylabel("relative error")
    ax1.set_title(f"error against tolerance ({a.chains} chains x {base.run.samples} samples)")
    ax1.legend(fontsize=7)
    ax1.grid(True, which="both", alpha=0.3)
    h = [b["hardware_time_s"] for b in budget]
    ax2.loglog(h, [b["residual"] for b in budget], "o-", label="calibrated residual (long run)")
    ax2.loglog(h, [b["expected"] for b in budget], "k--", lw=0.8, label="sqrt(calibration SE² + run SE²)")
    ax2.loglog(h, [b["calibration_se"] for b in budget], "k:", lw=0.8, label="calibration SE")
    from matplotlib.ticker import NullFormatter

    ax2.xaxis.set_minor_formatter(NullFormatter())
    ax2.set_xlabel("calibration hardware time [s]")
    ax2.set_ylabel("relative solution error")
    ax2.set_title("residual at 10% against calibration time")
    ax2.legend(fontsize=7)
    ax2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"tolerance": rows, "budget": budget}, f, indent=1)


if __name__ == "__main__":
    main()
