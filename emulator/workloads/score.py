"""Compiling the score-network workloads onto the array: network, schedule table, analog controls.

The array is ``n`` independent RC cells (self resistor ``R``, capacitor ``C``), each with a
controlled conductance ``h g_ctrl`` and a noise amplifier of density ``g^2 q_max``
(docs/score_demon.md §3). The demon runs the trained network (``workload.network``) on the ADC
codes and multiplies its output by the schedule's ``force_scale[k]``; the schedule's two control
columns set ``h`` and ``g`` for the same step. Units: the network works in ``z`` (normalised data,
or the posterior's parameter ``theta``); the array holds ``v = FS x`` with ``x = z / in_scale``;
one schedule row lasts one sample period ``T_s = P / f_clk``, so a step of ``dt`` units of the
process's own time runs at ``r = dt / T_s`` of them per second.

**Diffusion** (VP-SDE, ``demonloop.workloads.score_models``): rows are ``burn_in_steps`` of the forward
process at ``t = 1`` (stationary ``N(0, I)``: ``dz = -beta(1)/2 z dt + sqrt(beta(1)) dW``, in
``burn_in_time`` of process time), then the ``steps`` reverse steps of
:func:`demonloop.workloads.score_models.reverse_schedule` (``dz = [rate_k z + beta_k r_theta] dtau +
sqrt(beta_k) dW`` with ``r_theta = -y / sigma(t_k)``, the network's output ``y``), then one hold
row (no drift, no noise, no force) so the last sample reads the finished state. Per row, with
``rate`` the cells' own drift and ``beta`` the noise power in process time:

    total conductance   G_self + h g_ctrl = -C rate r        (a leak for rate < 0)
    noise density       g^2 q_max = C^2 FS^2 beta r / in_scale^2
    force               f = I_fs^-1 C FS beta r (-1 / sigma(t_k)) out_scale / in_scale * y_hw

**Posterior** (overdamped Langevin at temperature 1, intro note §2.3, ``dtheta = s(theta) dt +
sqrt(2) dW``): one row, ``h`` cancelling the self leak, noise ``2 C^2 FS^2 r / in_scale^2``,
force ``C FS r out_scale / (in_scale I_fs) y_hw``, ``r = step / T_s``.

``g_ctrl`` and ``q_max`` are chosen so the largest control is 0.9 of full scale; ``out_scale``
so the network's largest output (from its training record) is 3/4 of the activation range
(``score_models.hardware_layers`` moves it out of the last layer, exactly). ``in_scale``:
``compiler.range_sigmas`` data standard deviations per ADC full scale for a diffusion, the
network's recorded input range for a posterior.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from demonloop.workloads.langevin import Elements
from demonloop.config import Config, ConfigError
from demonloop.plant.converters import ADC, DAC
from demonloop.demon.mlp import MLPDemon, MLPSpec, quantize_mlp, quantize_schedule
from demonloop.plant.plant import Controls
from demonloop.workloads.score_models import ScoreNet, hardware_layers, load_score_net, reverse_schedule

CONTROL_HEADROOM = 0.9


@dataclass
class ScoreProgram:
    """Everything the plant and the score-network demon need, and how to read samples back."""

    config: Config
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

    @property
    def scale(self) -> float:
        """ADC full scales per z unit (``x = scale * z``)."""
        return 1.0 / self.in_scale

    def demon(self) -> MLPDemon:
        return MLPDemon(self.spec, self.W_raw, self.b_raw, self.schedule_raw)


def _per_unit(v, n) -> np.ndarray:
    return np.asarray(v if isinstance(v, list) else [v] * n, dtype=np.float64)


def compile_score_program(cfg: Config) -> ScoreProgram:
    """Compile a diffusion or posterior config; raises :class:`ConfigError` if it cannot."""
    n = cfg.n
    w = cfg.workload
    spec = cfg.demon_spec()
    net, arrays = load_score_net(cfg.network_path())
    FS, I_fs = cfg.adc.full_scale_V, cfg.dac.full_scale_A
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    C = _per_unit(cfg.array.C_F, n)
    G_self = 1.0 / _per_unit(cfg.array.R_ohm, n)
    notes: list[str] = []

    adc = ADC(bits=cfg.adc.bits, full_scale_V=FS, offset_V=_per_unit(cfg.adc.offset_V, n),
              gain_error=_per_unit(cfg.adc.gain_error, n), noise_V=cfg.adc.noise_V, dither=cfg.adc.dither)
    dac = DAC(bits=cfg.dac.bits, full_scale_A=I_fs, offset_A=_per_unit(cfg.dac.offset_A, n),
              gain_error=_per_unit(cfg.dac.gain_error, n), settling_tau_s=cfg.dac.settling_tau_s)

    # ---- units -------------------------------------------------------------------------------
    if w.kind == "diffusion":
        in_scale = float(cfg.compiler.range_sigmas)
    else:
        in_scale = float(net.meta.get("input_range") or cfg.compiler.range_sigmas)
    y_max = float(net.meta.get("ranges", {}).get("max_abs_output") or 1.0)
    out_scale = y_max / (0.75 * spec.act.max_value)
    layers = hardware_layers(net.float_layers(), n, in_scale, out_scale)

    # ---- the rows: conductance needed, noise density, force scale, embedding ----------------
    if w.kind == "diffusion":
        sched = net.schedule
        B, K = w.burn_in_steps, w.steps
        rs = reverse_schedule(net, K)
        dt_b = w.burn_in_time / B
        beta1 = float(sched.beta(1.0))
        r_b, r = dt_b / T_s, rs["dt"] / T_s
        rate_phys = np.concatenate([np.full(B, -0.5 * beta1 * r_b), rs["drift_rate"] * r, [0.0]])
        q = np.concatenate([np.full(B, beta1 * r_b), rs["beta_bar"] * r, [0.0]])      # beta r
        force = np.concatenate([np.zeros(B), rs["beta_bar"] * r * rs["eps_to_score"], [0.0]])
        emb = np.concatenate([np.repeat(net.embedding(1.0)[None, :], B, axis=0), rs["emb"],
                              rs["emb"][-1:]]) if net.emb_dim else None
        t_rows = np.concatenate([np.ones(B), rs["t"], [rs["t"][-1]]])
    else:
        r1 = w.step / T_s
        rate_phys = np.array([0.0])
        q = np.array([2.0 * r1])
        force = np.array([r1])
        emb = None
        t_rows = np.array([np.nan])
    C_mean = float(C.mean())
    G_req = -C[None, :] * rate_phys[:, None]                  # (rows, n) total conductance wanted
    # the largest control at 0.9 of full scale; a posterior's one row (cancel the leak exactly)
    # at h = -1/2, which the control format holds exactly
    headroom = 0.5 if w.kind == "posterior" else CONTROL_HEADROOM
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
    probe_x = _probe_inputs(cfg, net, arrays, in_scale)
    probe_emb = emb[len(emb) // 2] if emb is not None else None
    W_raw, b_raw, qrep = quantize_mlp(layers, spec, probe_x=probe_x, probe_emb=probe_emb)
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
    schedule = {"force_scale": force_scale, "drift_ctrl": h, "noise_ctrl": g, "t": t_rows,
                "rows": len(force_scale), "g_ctrl_S": g_ctrl.tolist(), "q_max": q_max}
    return ScoreProgram(config=cfg, spec=spec, net=net, arrays=arrays, elements=elements, adc=adc, dac=dac,
                        controls=controls, W_raw=W_raw, b_raw=b_raw, schedule_raw=sched_raw, schedule=schedule,
                        in_scale=in_scale, out_scale=out_scale, quantization=quant, notes=notes)


def _probe_inputs(cfg: Config, net: ScoreNet, arrays: dict, in_scale: float) -> np.ndarray:
    """A few hundred states in ADC full scales, where the sampler spends its time, to measure
    what quantization costs the score: noised held-out data (diffusion, halfway through the
    process) or draws from the posterior's reference."""
    rng = np.random.default_rng(0)
    if cfg.workload.kind == "diffusion":
        from demonloop.workloads.datasets import load_dataset

        ds = load_dataset(cfg.workload.dataset, 0)
        z = ds.normalise(ds.held_out[:400])
        noisy = 0.7 * z + 0.7 * rng.standard_normal(z.shape)
        return np.clip(noisy / in_scale, -0.99, 0.99)
    if cfg.workload.target == "iris_logistic":
        from demonloop.workloads.references import stored_reference

        draws = stored_reference(arrays, "exact", net.meta).sample(400, rng)
    else:
        from demonloop.workloads.targets import make_target
        from demonloop.workloads.references import grid_reference

        draws = grid_reference(make_target(cfg.workload.target), points=201, draws=400).draws
    return np.clip(draws / in_scale, -0.99, 0.99)
