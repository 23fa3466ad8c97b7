"""The score-network workloads' common part (``diffusion``, ``posterior``): compiling a trained
network, its schedule table and the analog controls onto the array; ``demonloop check``.

The array is ``n`` independent RC cells (self resistor ``R``, capacitor ``C``), each with a
controlled conductance ``h g_ctrl`` and a noise amplifier of density ``g^2 q_max``
(docs/score_demon.md §3). The demon runs the trained network (``workload.network``) on the ADC
codes and multiplies its output by the schedule's ``force_scale[k]``; the schedule's two control
columns set ``h`` and ``g`` for the same step. Units: the network works in ``z`` (normalised data,
or the posterior's parameter ``theta``); the array holds ``v = FS x`` with ``x = z / in_scale``;
one schedule row lasts one sample period ``T_s = P / f_clk``, so a step of ``dt`` units of the
process's own time runs at ``r = dt / T_s`` of them per second.

**Diffusion** (:mod:`demonloop.workloads.diffusion`; VP-SDE, :mod:`demonloop.workloads.score_models`): rows are ``burn_in_steps`` of the forward
process at ``t = 1`` (stationary ``N(0, I)``: ``dz = -beta(1)/2 z dt + sqrt(beta(1)) dW``, in
``burn_in_time`` of process time), then the ``steps`` reverse steps of
:func:`demonloop.workloads.score_models.reverse_schedule` (``dz = [rate_k z + beta_k r_theta] dtau +
sqrt(beta_k) dW`` with ``r_theta = -y / sigma(t_k)``, the network's output ``y``), then one hold
row (no drift, no noise, no force) so the last sample reads the finished state. Per row, with
``rate`` the cells' own drift and ``beta`` the noise power in process time:

    total conductance   G_self + h g_ctrl = -C rate r        (a leak for rate < 0)
    noise density       g^2 q_max = C^2 FS^2 beta r / in_scale^2
    force               f = I_fs^-1 C FS beta r (-1 / sigma(t_k)) out_scale / in_scale * y_hw

**Posterior** (:mod:`demonloop.workloads.posterior`; overdamped Langevin at temperature 1, intro note §2.3, ``dtheta = s(theta) dt +
sqrt(2) dW``): one row, ``h`` cancelling the self leak, noise ``2 C^2 FS^2 r / in_scale^2``,
force ``C FS r out_scale / (in_scale I_fs) y_hw``, ``r = step / T_s``.

``g_ctrl`` and ``q_max`` are chosen so the largest control is 0.9 of full scale; ``out_scale``
so the network's largest output (from its training record) is 3/4 of the activation range
(``score_models.hardware_layers`` moves it out of the last layer, exactly). ``in_scale``:
``compiler.range_sigmas`` data standard deviations per ADC full scale for a diffusion, the
network's recorded input range for a posterior.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Optional

import numpy as np

from demonloop.config.errors import ConfigError
from demonloop.demon.mlp import MLPDemon, MLPSpec, quantize_mlp, quantize_schedule
from demonloop.plant.converters import ADC, DAC, build_adc, build_dac
from demonloop.plant.elements import Elements
from demonloop.plant.plant import Controls
from demonloop.workloads.base import Workload, WorkloadSection
from demonloop.workloads.score_models import ScoreNet, check_network, hardware_layers, load_score_net

CONTROL_HEADROOM = 0.9


@dataclass
class ScoreProgram:
    """Everything the plant and the score-network demon need, and how to read samples back."""

    config: object
    spec: MLPSpec
    net: ScoreNet
    arrays: dict
    elements: Elements
    adc: ADC
    dac: DAC
    controls: Controls
    W_raw: list
    b_raw: list
    schedule_raw: np.ndarray
    schedule: dict               # real columns: force_scale, drift_ctrl, noise_ctrl, t, rows
    in_scale: float              # z units per ADC full scale
    out_scale: float
    quantization: dict
    notes: list[str] = field(default_factory=list)
    gamma: float = float("nan")
    table_raw: np.ndarray | None = None      # ACT_TABLE entries (activation: table)

    @property
    def scale(self) -> float:
        """ADC full scales per z unit (``x = scale * z``)."""
        return 1.0 / self.in_scale

    def demon(self) -> MLPDemon:
        return MLPDemon(self.spec, self.W_raw, self.b_raw, self.schedule_raw, self.table_raw)


class ScoreSection(WorkloadSection):
    """``network``: the trained network (the ``.npz``/``.json`` stem, relative to the config file)."""

    network: Optional[str] = None


@dataclass(frozen=True)
class Rows:
    """A schedule's rows in process units: the cells' own drift rate, the noise power ``beta r``,
    the force factor, the embedding inputs (or None) and the process time of each row."""

    rate: np.ndarray
    q: np.ndarray
    force: np.ndarray
    emb: np.ndarray | None
    t: np.ndarray


class ScoreWorkload(Workload):
    """Base of the score-network kinds. A kind fills :meth:`rows`, :meth:`in_scale`,
    :meth:`probe_inputs`, the estimator and the human pieces."""

    demons = ("mlp",)
    #: The network outputs this kind accepts (``score_models`` output parametrizations).
    outputs: ClassVar[tuple[str, ...]]
    #: Largest control as a fraction of its full scale.
    control_headroom: ClassVar[float] = CONTROL_HEADROOM

    def mode(self, cfg) -> str:
        return "score"

    # ---- the network -------------------------------------------------------------------------
    def network_path(self, cfg) -> Path:
        """The score network's file stem (``.npz`` and ``.json`` beside it)."""
        p = Path(cfg.workload.network)
        return (p if p.is_absolute() else cfg.base_dir / p).with_suffix("")

    def network_architecture(self, cfg) -> dict:
        return json.loads(self.network_path(cfg).with_suffix(".json").read_text())["architecture"]

    def load_network(self, cfg) -> tuple[ScoreNet, dict]:
        """The float network to compile and the stored file's other arrays (references)."""
        return load_score_net(self.network_path(cfg))

    def schedule_rows(self, cfg) -> int:
        """Rows of the demon's schedule table."""
        return 1

    # ---- config ------------------------------------------------------------------------------
    def builds_network(self, cfg) -> bool:
        """True when the kind builds its network itself (``network_path`` then names it)."""
        return False

    def validate(self, cfg) -> None:
        w = cfg.workload
        if w.network is None and not self.builds_network(cfg):
            raise ConfigError("workload.network", "is required: the trained network's file (without .npz/.json)")
        try:
            stem = self.network_path(cfg)
            arch = check_network(stem)
        except (ValueError, OSError) as exc:
            raise ConfigError("workload.network", str(exc)) from None
        if int(arch["n"]) != cfg.n:
            raise ConfigError("array.n", f"is {cfg.n}, the network has {arch['n']} inputs")
        self.validate_kind(cfg, arch)
        if cfg.array.cell != "RC":
            raise ConfigError("array.cell", "score-network workloads run on RC cells")
        if cfg.array.R_ohm is None:
            raise ConfigError("array.R_ohm", "the cells' self resistance is required (the leak the controls offset)")

    def validate_kind(self, cfg, arch: dict) -> None:
        """The kind's own keys, and the network's output against what the kind needs."""

    # ---- compile -----------------------------------------------------------------------------
    def rows(self, cfg, net: ScoreNet, T_s: float) -> Rows:
        raise NotImplementedError

    def in_scale(self, cfg, net: ScoreNet) -> float:
        """Data (z) units per ADC full scale."""
        raise NotImplementedError

    def probe_inputs(self, cfg, net: ScoreNet, arrays: dict, in_scale: float) -> np.ndarray:
        """A few hundred states in ADC full scales, where the sampler spends its time, to measure
        what quantization costs the score."""
        raise NotImplementedError

    def compile(self, cfg) -> ScoreProgram:
        return compile_score(cfg, self)

    # ---- people ------------------------------------------------------------------------------
    def check(self, cfg) -> dict:
        return explain_score(cfg, self)

    def check_spread(self, cfg, program) -> tuple[dict | None, list[str]]:
        """How much of the ADC range the data uses, and warnings (none by default)."""
        return None, []

    def check_text(self, rep: dict) -> str:
        return explain_score_text(rep)

    def plot(self, rep, est, path, title):
        return est.plot(path, title=title)


def compile_score(cfg, w: ScoreWorkload) -> ScoreProgram:
    """Compile a score-network config; raises :class:`ConfigError` if it cannot."""
    n = cfg.n
    spec = cfg.demon_spec()
    net, arrays = w.load_network(cfg)
    FS, I_fs = cfg.adc.full_scale_V, cfg.dac.full_scale_A
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    C = cfg.array.per_unit("C_F")
    G_self = 1.0 / cfg.array.per_unit("R_ohm")
    notes: list[str] = []
    adc, dac = build_adc(cfg), build_dac(cfg)

    # ---- units -------------------------------------------------------------------------------
    in_scale = w.in_scale(cfg, net)
    y_max = float(net.meta.get("ranges", {}).get("max_abs_output") or 1.0)
    out_scale = y_max / (0.75 * spec.act.max_value)
    layers = hardware_layers(net.float_layers(), n, in_scale, out_scale)
    table_raw, table_gain, table_rep = None, 1.0, None
    if spec.activation == "table":
        # a hidden pre-activation h stands for gain * h: the hidden layers are divided by the gain
        # (exact in float), the table holds f(gain h) (demon.table)
        from demonloop.demon.table import make_table, table_error

        # ``preactivation_range`` (network meta): the pre-activations to hold without saturating
        if "preactivation_range" in net.meta:
            table_gain = max(1.0, float(net.meta["preactivation_range"]) / spec.act.max_value)
        layers = [(W / table_gain, b / table_gain) if l < len(layers) - 1 else (W, b)
                  for l, (W, b) in enumerate(layers)]
        table_raw = make_table(net.activation, spec.act, spec.table_bits, spec.table_frac, table_gain)
        table_rep = table_error(net.activation, table_raw, spec.act, spec.table_bits, spec.table_frac,
                                spec.rounding, table_gain)

    # ---- the rows: conductance needed, noise density, force scale, embedding ----------------
    r = w.rows(cfg, net, T_s)
    rate_phys, q, force, emb, t_rows = r.rate, r.q, r.force, r.emb, r.t
    C_mean = float(C.mean())
    G_req = -C[None, :] * rate_phys[:, None]                  # (rows, n) total conductance wanted
    headroom = w.control_headroom
    g_ctrl = np.abs(G_req - G_self[None, :]).max(axis=0) / headroom
    g_ctrl = np.where(g_ctrl > 0, g_ctrl, G_self)
    h = (G_req - G_self[None, :]) / g_ctrl[None, :]
    if np.ptp(h, axis=1).max() > 1e-12 * max(1.0, np.abs(h).max()):
        raise ConfigError("array.C_F", "score workloads need one control per row: give every cell the same R and C")
    h = h[:, 0]
    q_density = (C_mean**2) * FS**2 * q / in_scale**2          # A^2 s, per unit
    q_max = float(q_density.max()) / CONTROL_HEADROOM**2 if q_density.max() > 0 else 1.0
    g = np.sqrt(q_density / q_max)
    force_scale = C_mean * FS * force * out_scale / (in_scale * I_fs)

    # ---- quantize ----------------------------------------------------------------------------
    fs_max = spec.scale.max_value
    if np.abs(force_scale).max() > fs_max:
        raise ConfigError("demon.scale.int_bits",
                          f"the schedule's force scale reaches {np.abs(force_scale).max():.3g}, beyond "
                          f"{spec.scale} (more int_bits, or a larger dac.full_scale_A)")
    used = np.abs(force_scale).max() / fs_max
    if used < 2.0 ** -6:
        notes.append(f"the force scale uses {used:.2g} of demon.scale's range: a smaller dac.full_scale_A "
                     "or fewer scale int_bits would keep more of its bits")
    probe_x = w.probe_inputs(cfg, net, arrays, in_scale)
    probe_emb = emb[len(emb) // 2] if emb is not None else None
    W_raw, b_raw, qrep = quantize_mlp(layers, spec, probe_x=probe_x, probe_emb=probe_emb,
                                      function=net.activation, table_raw=table_raw, table_gain=table_gain)
    for what, reps in (("weight", qrep.weights), ("bias", qrep.biases)):
        for l, t in enumerate(reps):
            if t.clipped:
                raise ConfigError(f"demon.{what}.int_bits",
                                  f"layer {l} has {t.clipped} {what}s beyond {t.fmt}: give the format more integer bits")
    sched_raw, srep = quantize_schedule(force_scale, h, g, emb, spec)
    controls = Controls(g_ctrl_S=g_ctrl, q_max=np.full(n, q_max), bits=spec.ctrl_bits)
    elements = Elements(C_self=C, C_couple=None, g_self=G_self, g_couple=None, L=None,
                        q_amp=np.zeros(n), T=cfg.array.temperature_K)
    u_peak = float(np.abs(force).max() * C_mean * FS * y_max / in_scale)
    if u_peak > I_fs:
        notes.append(f"the largest force needs {u_peak:.3g} A, beyond dac.full_scale_A = {I_fs:.3g} A: it will saturate")
    elif u_peak < I_fs / 64:
        notes.append(f"the largest force needs {u_peak:.3g} A, {u_peak / I_fs:.2g} of dac.full_scale_A: "
                     "most DAC codes go unused")
    quant = {"network": qrep.summary(), "schedule": srep, "in_scale": in_scale, "out_scale": out_scale,
             "dac_range_used": u_peak / I_fs, "force_scale_range_used": used}
    if table_rep is not None:
        quant["activation_table"] = table_rep
    schedule = {"force_scale": force_scale, "drift_ctrl": h, "noise_ctrl": g, "t": t_rows,
                "rows": len(force_scale), "g_ctrl_S": g_ctrl.tolist(), "q_max": q_max}
    return ScoreProgram(config=cfg, spec=spec, net=net, arrays=arrays, elements=elements, adc=adc, dac=dac,
                        controls=controls, W_raw=W_raw, b_raw=b_raw, schedule_raw=sched_raw, schedule=schedule,
                        in_scale=in_scale, out_scale=out_scale, quantization=quant, notes=notes,
                        table_raw=table_raw)


# ----------------------------------------------------------------------------------------------
# demonloop check
# ----------------------------------------------------------------------------------------------


def explain_score(cfg, w: ScoreWorkload) -> dict:
    """The check report of a score-network config: the compiled schedule and controls, what the
    converters and the fixed point cost, timing, and how much of the ADC range the data uses."""
    from demonloop.report import jsonable

    program = w.compile(cfg)
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
        "mode": "score", "demon": cfg.demon.kind,
        "network": {"hidden": list(spec.hidden), "emb": spec.emb, "activation": spec.activation,
                    "weights": spec.weight_entries, "biases": spec.bias_entries},
        "compiler": {"in_scale": program.in_scale, "out_scale": program.out_scale,
                     "schedule_rows": sch["rows"], "g_ctrl_S": sch["g_ctrl_S"][0], "q_max_A2s": sch["q_max"],
                     "notes": program.notes},
        "quantization": {"score_rms_error": program.quantization["network"]["score_rms_error"],
                         "score_rms": program.quantization["network"]["score_rms"],
                         "dac_range_used": program.quantization["dac_range_used"],
                         "force_scale_range_used": program.quantization["force_scale_range_used"],
                         "schedule": program.quantization["schedule"],
                         "activation_table": program.quantization.get("activation_table")},
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
    spread, warnings = w.check_spread(cfg, program)
    if spread is not None:
        out["spread"] = spread
    from demonloop.workloads.langevin import warning

    # the data beyond the ADC range is the score workloads' clipping rule; compiler notes as they are
    out["warnings"].extend(warning("adc_clipping", m, spread.get("data_beyond_full_scale") if spread else None,
                                   "compiler.range_sigmas", "raise it") for m in warnings)
    out["warnings"].extend(warning("compiler_note", m, None, "") for m in program.notes)
    return jsonable(out)


def explain_score_text(rep: dict) -> str:
    c, q, t, n = rep["compiler"], rep["quantization"], rep["timing"], rep["network"]
    L = [f"{rep['config']}: valid — {rep['workload']}, {rep['units']} RC units, score-network demon "
         f"({'-'.join(map(str, n['hidden']))} {n['activation']} MLP, {n['emb']} embedding features)",
         f"  compiler        {c['schedule_rows']} schedule rows; {c['in_scale']:.3g} data units per ADC full scale; "
         f"network output / {c['out_scale']:.3g}; g_ctrl {c['g_ctrl_S']:.3g} S, q_max {c['q_max_A2s']:.3g} A²s",
         f"  fixed point     score rms error {q['score_rms_error']:.2g} (score rms {q['score_rms']:.2g}, act units); "
         f"DAC range used {q['dac_range_used']:.2g}; force-scale range used {q['force_scale_range_used']:.2g}",
         *([f"  activation      {q['activation_table']['function']} table (gain {q['activation_table']['gain']:.3g}): "
            f"worst error {q['activation_table']['max_abs_error']:.2g} ({q['activation_table']['max_abs_error_lsb']:.2g} "
            f"act LSB) over all {q['activation_table']['codes']:,} input codes, rms {q['activation_table']['rms_error']:.2g}"]
           if q.get("activation_table") else []),
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
    from demonloop.workloads.langevin import warning_lines

    L.extend(warning_lines(rep["warnings"]))
    return "\n".join(L)
