"""``demonloop check``: validate a config and explain what the hardware will do, before running.

Everything here is computed, not simulated: the compiled program, the drift's eigenvalues (time
constants), the stationary mean and spread of every unit in the sampled closed loop (exact for
the linearised loop, :mod:`demonloop.linearised`) against the ADC range, the coefficient
quantization cost, and the loop's spectral radius with its configured latency.
"""

from __future__ import annotations

import math

import numpy as np

from demonloop import linearised as closedloop
from demonloop.workloads.langevin import compile_program
from demonloop.config import Config
from demonloop.report import jsonable


def _gauss_tail(z: np.ndarray) -> np.ndarray:
    return 0.5 * np.array([math.erfc(v / math.sqrt(2.0)) for v in np.atleast_1d(z)])


def explain(cfg: Config) -> dict:
    """The check report (JSON-able)."""
    program = compile_program(cfg)
    n = cfg.n
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    net = program.elements.network()
    sde = net.sde()
    if program.dac.settling_tau_s:
        sde = sde.augment_first_order_input(program.dac.settling_tau_s)

    # time constants: open-loop array, and the closed loop in the continuous limit
    def modes(A):
        lam = np.linalg.eigvals(A)
        lam = lam[np.argsort(lam.real)]
        return lam

    lam_open = modes(sde.A)
    K_lin = np.zeros((sde.dim, sde.dim))
    K_lin[:, :n] = sde.B @ (program.dac.full_scale_A * (program.A_raw * program.spec.coef.lsb)) / program.adc.full_scale_V
    lam_closed = modes(sde.A + K_lin)

    def describe(lam):
        re = lam.real
        return {
            "slowest_tau_s": float(1.0 / re.min()) if re.min() > 0 else None,
            "fastest_tau_s": float(1.0 / re.max()),
            "slowest_tau_samples": float(1.0 / (re.min() * T_s)) if re.min() > 0 else None,
            "fastest_tau_samples": float(1.0 / (re.max() * T_s)),
            "oscillatory": bool(np.any(np.abs(lam.imag) > 1e-9 * np.abs(lam))),
            "eigenvalues_per_s": [[float(v.real), float(v.imag)] for v in lam],
        }

    cl = closedloop.from_program(program)
    rho = cl.spectral_radius
    out = {
        "config": cfg.name,
        "valid": True,
        "workload": cfg.workload.kind,
        "units": n,
        "cell": cfg.array.cell,
        "mode": cfg.compiler.mode,
        "compiler": {
            "gamma_S": program.gamma,
            "scale": program.scale,
            "amplifier_effective_temperature_K": [float(v) for v in net.effective_temperature()],
            "notes": program.notes,
        },
        "time_constants": {"open_loop": describe(lam_open), "closed_loop": describe(lam_closed)},
        "quantization": program.quantization,
        "timing": {
            "sample_period_cycles": cfg.adc.sample_period_cycles,
            "loop_latency_cycles": cfg.loop_latency_cycles,
            "demon_latency_cycles": cfg.demon_latency_cycles,
            "demon_initiation_interval": cfg.demon_initiation_interval,
            "update_period_cycles": cl.update_period,
            "dropped_fraction": 1.0 - cfg.adc.sample_period_cycles / cl.update_period,
        },
        "stability": {
            "spectral_radius": rho,
            "stable": rho < 1.0,
            "margin": 1.0 - rho,
            "max_stable_latency_cycles": closedloop.max_stable_latency(program),
        },
        "warnings": [],
    }
    warn = out["warnings"]
    if rho < 1.0:
        mean, cov = cl.stationary()
        FS = cfg.adc.full_scale_V
        mu = mean[:n] / FS
        sd = np.sqrt(np.clip(np.diag(cov)[:n], 0.0, None)) / FS
        lsb = 2.0 ** (1 - cfg.adc.bits)
        hi = (1.0 - 0.5 * lsb - mu) / np.maximum(sd, 1e-300)
        lo = (1.0 + 0.5 * lsb + mu) / np.maximum(sd, 1e-300)
        p_clip = _gauss_tail(hi) + _gauss_tail(lo)
        out["spread"] = {
            "mean_fraction_of_full_scale": mu.tolist(),
            "std_fraction_of_full_scale": sd.tolist(),
            "clip_probability": p_clip.tolist(),
            "std_in_lsb": (sd / lsb).tolist(),
        }
        if p_clip.max() > 1e-3:
            warn.append(f"unit {int(p_clip.argmax())} clips {p_clip.max():.2g} of its samples at the ADC")
        if (sd / lsb).min() < 2.0:
            warn.append("the noise is under 2 ADC LSBs on some unit: quantization will bias the estimate")
    else:
        out["spread"] = None
        warn.append(f"the loop is unstable with {cfg.loop_latency_cycles} cycles of latency "
                    f"(spectral radius {rho:.3f})")
    slow = out["time_constants"]["closed_loop"]["slowest_tau_samples"]
    if slow and cfg.run.burn_in_samples < 5 * slow:
        warn.append(f"run.burn_in_samples = {cfg.run.burn_in_samples} is under 5 slowest time constants "
                    f"({5 * slow:.0f} samples)")
    if out["timing"]["dropped_fraction"] > 0:
        warn.append(f"the demon's initiation interval ({cfg.demon_initiation_interval} cycles) exceeds the "
                    f"sample period: {out['timing']['dropped_fraction']:.0%} of samples will be dropped")
    return jsonable(out)


def text(rep: dict) -> str:
    """Human explanation of a check report."""
    L = []
    mode_words = {"analog": "A in the coupling network, b from the demon",
                  "digital": "A and b in the demon (independent cells)"}
    if rep["cell"] == "RLC":
        mode_words["analog"] = "the matrix in the coupling capacitors (RLC cells), demon idle"
    L.append(f"{rep['config']}: valid — {rep['workload']}, {rep['units']} {rep['cell']} units, "
             f"{rep['mode']} mode ({mode_words[rep['mode']]})")
    c = rep["compiler"]
    te = c["amplifier_effective_temperature_K"]
    gam = f"gamma = {c['gamma_S']:.3g} S, " if c["gamma_S"] is not None else ""
    L.append(f"  compiler        {gam}scale a = {c['scale']:.3g} (x = a * answer in ADC full scales), "
             f"amplifiers at {min(te):.3g} .. {max(te):.3g} K")
    for note in c["notes"]:
        L.append(f"  note            {note}")
    for key, name in (("open_loop", "array alone"), ("closed_loop", "closed loop")):
        t = rep["time_constants"][key]
        osc = ", oscillatory" if t["oscillatory"] else ""
        slow = f"{t['slowest_tau_samples']:.3g}" if t["slowest_tau_samples"] else "inf"
        L.append(f"  time constants  {name}: {t['fastest_tau_samples']:.3g} .. {slow} sample periods "
                 f"({t['fastest_tau_s']:.3g} .. {t['slowest_tau_s'] or float('inf'):.3g} s){osc}")
    s = rep["spread"]
    if s:
        L.append("  spread vs ADC   unit: mean, std (fractions of full scale), P(clip)")
        for j, (mu, sd, p) in enumerate(zip(s["mean_fraction_of_full_scale"], s["std_fraction_of_full_scale"],
                                            s["clip_probability"])):
            L.append(f"                  {j:3d}: {mu:+.3f}  {sd:.3f}  {p:.2g}")
    q = rep["quantization"]
    qs = ", ".join(f"{k.replace('_', ' ')} {v:.2g}" for k, v in q.items())
    L.append(f"  quantization    {qs}")
    t = rep["timing"]
    L.append(f"  timing          sample every {t['sample_period_cycles']} cycles; loop latency "
             f"{t['loop_latency_cycles']} cycles (demon {t['demon_latency_cycles']}, II "
             f"{t['demon_initiation_interval']}); demon updates every {t['update_period_cycles']} cycles")
    st = rep["stability"]
    ms = st["max_stable_latency_cycles"]
    ms_txt = "any latency (no feedback matrix)" if ms is None else (
        "no latency at all" if ms < 0 else f"latency up to {ms} cycles")
    L.append(f"  stability       spectral radius {st['spectral_radius']:.4f} -> "
             f"{'stable' if st['stable'] else 'UNSTABLE'} (margin {st['margin']:.3g}); stable for {ms_txt}")
    for w in rep["warnings"]:
        L.append(f"  warning         {w}")
    return "\n".join(L)


def explain_score(cfg: Config) -> dict:
    """The check report of a score-network config: the compiled schedule and controls, what the
    converters and the fixed point cost, timing, and how much of the ADC range the data uses."""
    from math import erfc, sqrt

    program = compile_program(cfg)
    spec = program.spec
    sch = program.schedule
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    C = float(np.mean(program.elements.C_self))
    g_self = float(np.mean(program.elements.g_self))
    h_q = program.schedule_raw[:, 1] * 2.0 ** (1 - spec.ctrl_bits)       # the quantized control
    G_tot = g_self + h_q * float(np.mean(sch["g_ctrl_S"]))
    with np.errstate(divide="ignore"):
        tau_samples = C / G_tot / T_s                          # negative: an active (growing) cell
    tau_fin = tau_samples[np.isfinite(tau_samples)]
    out = {
        "config": cfg.name, "valid": True, "workload": cfg.workload.kind, "units": cfg.n, "cell": "RC",
        "mode": "score", "demon": "mlp",
        "network": {"hidden": list(spec.hidden), "emb": spec.emb, "activation": spec.activation,
                    "weights": spec.weight_entries, "biases": spec.bias_entries},
        "compiler": {"in_scale": program.in_scale, "out_scale": program.out_scale,
                     "schedule_rows": sch["rows"], "g_ctrl_S": sch["g_ctrl_S"][0], "q_max_A2s": sch["q_max"],
                     "notes": program.notes},
        "quantization": {"score_rms_error": program.quantization["network"]["score_rms_error"],
                         "score_rms": program.quantization["network"]["score_rms"],
                         "dac_range_used": program.quantization["dac_range_used"],
                         "force_scale_range_used": program.quantization["force_scale_range_used"],
                         "schedule": program.quantization["schedule"]},
        "timing": {"sample_period_cycles": cfg.adc.sample_period_cycles,
                   "demon_latency_cycles": spec.latency_cycles,
                   "demon_initiation_interval": spec.initiation_interval,
                   "loop_latency_cycles": cfg.loop_latency_cycles,
                   "run_cycles": cfg.total_cycles},
        "cells": {"time_constant_samples_min": float(np.min(np.abs(tau_fin))) if len(tau_fin) else None,
                  "active_rows": int(np.count_nonzero(G_tot < 0)),
                  "frozen_rows": int(np.count_nonzero(G_tot == 0))},
        "warnings": [],
    }
    if cfg.workload.kind == "diffusion":
        from demonloop.workloads.datasets import load_dataset

        ds = load_dataset(cfg.workload.dataset, 0)
        z = ds.normalise(ds.held_out)
        frac = float(np.mean(np.abs(z).max(axis=1) >= program.in_scale))
        prior = 1.0 - (1.0 - erfc(program.in_scale / sqrt(2.0))) ** cfg.n
        out["spread"] = {"data_beyond_full_scale": frac, "prior_beyond_full_scale": prior,
                         "max_abs_data_fraction_of_full_scale": float(np.abs(z).max() / program.in_scale)}
        if frac > 1e-3:
            out["warnings"].append(f"{frac:.2%} of the held-out data lies beyond the ADC range: raise compiler.range_sigmas")
    out["warnings"].extend(program.notes)
    return jsonable(out)


def text_score(rep: dict) -> str:
    c, q, t, n = rep["compiler"], rep["quantization"], rep["timing"], rep["network"]
    L = [f"{rep['config']}: valid — {rep['workload']}, {rep['units']} RC units, score-network demon "
         f"({'-'.join(map(str, n['hidden']))} {n['activation']} MLP, {n['emb']} embedding features)",
         f"  compiler        {c['schedule_rows']} schedule rows; {c['in_scale']:.3g} data units per ADC full scale; "
         f"network output / {c['out_scale']:.3g}; g_ctrl {c['g_ctrl_S']:.3g} S, q_max {c['q_max_A2s']:.3g} A²s",
         f"  fixed point     score rms error {q['score_rms_error']:.2g} (score rms {q['score_rms']:.2g}, act units); "
         f"DAC range used {q['dac_range_used']:.2g}; force-scale range used {q['force_scale_range_used']:.2g}",
         f"  timing          demon latency {t['demon_latency_cycles']} cycles, II {t['demon_initiation_interval']} "
         f"(sample period {t['sample_period_cycles']}); loop latency {t['loop_latency_cycles']} cycles; "
         f"run {t['run_cycles']:,} cycles",
         "  cells           " + (f"fastest time constant {rep['cells']['time_constant_samples_min']:.3g} sample periods; "
                                  if rep['cells']['time_constant_samples_min'] else "pure integrators (the leak cancelled); ")
         + f"{rep['cells']['active_rows']} rows with a negative (active) conductance"]
    if rep.get("spread"):
        s = rep["spread"]
        L.append(f"  spread vs ADC   data reach {s['max_abs_data_fraction_of_full_scale']:.2f} of full scale; "
                 f"beyond it: data {s['data_beyond_full_scale']:.2g}, prior {s['prior_beyond_full_scale']:.2g}")
    for w in rep["warnings"]:
        L.append(f"  warning         {w}")
    return "\n".join(L)
