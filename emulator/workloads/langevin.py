"""The compiler: maps a problem onto the hardware and says what quantization cost.

Every workload is one Langevin sampler. Its problem is an SPD matrix ``M`` and a vector
``b_t`` (linear solve: ``M = A``, ``b_t = b``; Gaussian ``N(mu, S)``: ``M = S^-1``,
``b_t = M mu``; inverse and log-determinant: ``M = A``, ``b_t = 0``). In the ideal continuous
limit the hardware samples, in normalised ADC units ``x = v / full_scale_V``,

    x ~ N(a M^-1 b_t, a^2 M^-1)          (a: the compiler's scale, chosen to fit the ADC range)

so a workload reads its answer from the sample mean (``M^-1 b_t = mean / a``) or covariance
(``M^-1 = cov / a^2``). How ``M`` is realised depends on the mode:

- **analog** (the SPU way, RC cells): the coupling network *is* the matrix, ``G = gamma M``
  (coupling resistors of conductance ``|gamma M_ij|``, polarity from the sign, self resistors
  ``gamma (M_jj - sum_k |M_jk|)``, which needs diagonal dominance); the demon only supplies the
  bias current ``b`` (its matrix is zero).
- **digital** (RC cells): the cells are independent (self resistor ``R_ohm``, capacitor ``C_F``)
  and the demon closes the loop with ``f = b' - A' x``: the DAC current is
  ``I = I_fs f`` and ``x = v / FS``, so the effective conductance is ``G_s + (I_fs / FS) A'``,
  which the compiler sets to ``gamma M``: ``A' = (gamma M - G_s) FS / I_fs`` (the leak of the
  self resistors is compensated with the *nominal* values; tolerances show up as error).
- **analog, RLC cells** (zero-mean targets): ``M`` in the Maxwell capacitance matrix through
  coupling capacitors, ``C = kappa M``; self resistors give the damping; the amplifiers raise each
  self resistor to one effective temperature ``T_e`` (exact fluctuation-dissipation), so
  ``v ~ N(0, k_B T_e C^-1)`` and ``i ~ N(0, k_B T_e L^-1)``.

``gamma`` sets the speed: the slowest mode of ``C^-1 gamma M`` has time constant
``compiler.time_constant_samples`` sample periods. ``a`` fits the ADC range: the mean uses at
most ``compiler.mean_fraction`` of it (through the bound ``|M^-1 b|_inf <= |b|_2 / lambda_min``,
not the answer itself), the spread the rest at ``compiler.range_sigmas`` standard deviations.
Coefficients are quantised to the demon's formats; :attr:`HardwareProgram.implemented` is the
problem the quantised hardware actually solves, and ``quantization`` reports its cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from demonloop.plant.analog import K_B, Network, coupled_matrix, stationary_covariance
from demonloop.config import Config, ConfigError
from demonloop.plant.converters import ADC, DAC
from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.fixedpoint import Rounding, quantize


@dataclass(frozen=True)
class Elements:
    """Nominal component values of the array, before tolerances (SI units).

    Self elements are (n,) arrays to ground; couplings are (n, n) signed by polarity
    (see :mod:`demonloop.plant.analog`); ``q_amp`` the amplifier noise densities [A^2 s].
    """

    C_self: np.ndarray
    C_couple: np.ndarray | None
    g_self: np.ndarray
    g_couple: np.ndarray | None
    L: np.ndarray | None
    q_amp: np.ndarray
    T: float

    def network(self, rng: np.random.Generator | None = None, tol=None) -> Network:
        """The array instance: nominal values, or each element scaled by ``1 + tol * N(0, 1)``."""
        def jitter(x, rel):
            if x is None or rng is None or not rel:
                return x
            return x * (1.0 + rel * rng.standard_normal(np.shape(x)))

        def sym(x, rel):
            if x is None or rng is None or not rel:
                return x
            j = np.triu(1.0 + rel * rng.standard_normal(x.shape), 1)
            return x * (j + j.T)

        t = tol
        C_self = jitter(self.C_self, t and t.C)
        C_couple = sym(self.C_couple, t and t.C)
        g_self = self.g_self / np.clip(jitter(np.ones_like(self.g_self), t and t.R), 1e-3, None)
        g_couple = None
        if self.g_couple is not None:
            g_couple = self.g_couple.copy()
            if rng is not None and t and t.R:
                r = sym(np.ones_like(g_couple), t.R)
                nz = g_couple != 0
                g_couple[nz] = g_couple[nz] / r[nz]
        L = jitter(self.L, t and t.L)
        q = self.q_amp * np.square(jitter(np.ones_like(self.q_amp), t and t.noise_gain))
        return Network(
            C=coupled_matrix(C_self, C_couple),
            G=coupled_matrix(g_self, g_couple),
            T=self.T,
            q_amp=q,
            L=L,
        )


@dataclass
class HardwareProgram:
    """Everything the plant and the demon need, plus how to read the answer back."""

    config: Config
    M: np.ndarray                 # problem matrix (SPD)
    b_t: np.ndarray               # problem vector (zeros for covariance workloads)
    gamma: float                  # S: effective conductance is gamma * M
    scale: float                  # a: x = a * target (normalised ADC units per target unit)
    elements: Elements
    adc: ADC
    dac: DAC
    spec: LinearDemonSpec
    A_raw: np.ndarray
    b_raw: np.ndarray
    A_design: np.ndarray          # real A' before quantization (f units per x unit)
    b_design: np.ndarray          # real b' before quantization (f units)
    implemented: dict             # {"M": ..., "b_t": ...}: the problem the quantised hardware solves
    quantization: dict            # costs of quantization
    notes: list[str] = field(default_factory=list)
    controls: object = None       # demonloop.plant.plant.Controls for a demon with analog control channels

    def demon(self) -> LinearDemon:
        return LinearDemon(self.spec, self.A_raw, self.b_raw)

    @property
    def loop_gain_S(self) -> float:
        """``K = I_fs / FS`` [S]: DAC amperes per unit of normalised force per volt per unit of x."""
        return self.dac.full_scale_A / self.adc.full_scale_V


def _per_unit(v, n) -> np.ndarray:
    return np.asarray(v if isinstance(v, list) else [v] * n, dtype=np.float64)


def problem(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """``(M, b_t)`` of the workload (see module docstring)."""
    w = cfg.workload
    M = cfg.problem_matrix()
    n = cfg.n
    if w.kind == "linear_solve":
        return M, np.asarray(w.b, dtype=np.float64)
    if w.kind == "gaussian":
        mu = np.zeros(n) if w.mean is None else np.asarray(w.mean, dtype=np.float64)
        return M, M @ mu
    return M, np.zeros(n)


def _lambda_min_sym(C_diag: np.ndarray, M: np.ndarray) -> float:
    """Smallest eigenvalue of ``C^-1 M`` for diagonal ``C`` (similar to a symmetric matrix)."""
    s = 1.0 / np.sqrt(C_diag)
    return float(np.linalg.eigvalsh(s[:, None] * M * s[None, :]).min())


def compile_program(cfg: Config) -> HardwareProgram:
    """Compile ``cfg`` to a :class:`HardwareProgram` (a score-network config to an
    :class:`demonloop.workloads.score.ScoreProgram`); raises :class:`ConfigError` if it cannot."""
    if cfg.is_score:
        from demonloop.workloads.score import compile_score_program

        return compile_score_program(cfg)
    n = cfg.n
    w = cfg.workload
    M, b_t = problem(cfg)
    ar, cc = cfg.array, cfg.compiler
    FS = cfg.adc.full_scale_V
    I_fs = cfg.dac.full_scale_A
    K = I_fs / FS
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    T = ar.temperature_K
    spec = cfg.demon_spec()
    notes: list[str] = []
    lam_min_M = float(np.linalg.eigvalsh(M).min())

    adc = ADC(bits=cfg.adc.bits, full_scale_V=FS, offset_V=_per_unit(cfg.adc.offset_V, n),
              gain_error=_per_unit(cfg.adc.gain_error, n), noise_V=cfg.adc.noise_V, dither=cfg.adc.dither)
    dac = DAC(bits=cfg.dac.bits, full_scale_A=I_fs, offset_A=_per_unit(cfg.dac.offset_A, n),
              gain_error=_per_unit(cfg.dac.gain_error, n), settling_tau_s=cfg.dac.settling_tau_s)

    # ---- the scale a ------------------------------------------------------------------
    k_sig = cc.range_sigmas
    if w.kind == "linear_solve":
        bound = float(np.linalg.norm(b_t)) / lam_min_M
        a = cc.mean_fraction / bound
    elif w.kind == "gaussian":
        S = np.linalg.inv(M)
        mu = np.linalg.solve(M, b_t)
        a = 1.0 / float(np.max(np.abs(mu) + k_sig * np.sqrt(np.diag(S))))
    else:
        a = 1.0 / (k_sig * np.sqrt(1.0 / lam_min_M))

    if ar.cell == "RLC":
        return _compile_rlc(cfg, M, b_t, a, adc, dac, spec, notes)

    # ---- RC: realise G_eff = gamma M ------------------------------------------------------
    C_self = ar.per_unit("C_F")
    gamma = 1.0 / (cc.time_constant_samples * T_s * _lambda_min_sym(C_self, M))
    if cc.mode == "analog":
        Geff = gamma * M
        g_couple = -Geff.copy()
        np.fill_diagonal(g_couple, 0.0)
        g_self = np.diag(Geff) - np.abs(g_couple).sum(axis=1)
        g_self = np.clip(g_self, 0.0, None)  # diagonal dominance was checked in the config
        A_design = np.zeros((n, n))
    else:
        g_self = 1.0 / ar.per_unit("R_ohm")
        g_couple = None
        A_design = (gamma * M - np.diag(g_self)) / K

    # b' from the mean: x_mean = (K / gamma) M^-1 b' = a M^-1 b_t  =>  b' = a gamma / K b_t
    b_design = a * gamma / K * b_t
    f_max = 1.0 - 2.0 ** (1 - cfg.dac.bits)
    if np.abs(b_design).max(initial=0.0) > f_max:
        shrink = f_max / np.abs(b_design).max()
        a *= shrink
        b_design *= shrink
        notes.append(
            f"dac.full_scale_A limits the mean: scaled to {shrink:.3g} of the planned range "
            f"(needs {np.abs(b_design).max() / shrink * I_fs:.3g} A for the full plan)"
        )

    A_raw, A_ovf = quantize(A_design, spec.coef, Rounding.RND_CONV)
    if A_ovf.any():
        need = int(np.ceil(np.log2(np.abs(A_design).max() + 1e-300))) + 1
        raise ConfigError(
            "demon.coef.int_bits",
            f"A' reaches {np.abs(A_design).max():.3g}, beyond {spec.coef} "
            f"(needs int_bits >= {max(need, 1)}, or a larger dac.full_scale_A)",
        )
    b_raw, b_ovf = quantize(b_design, spec.bias, Rounding.RND_CONV)
    if b_ovf.any():
        raise ConfigError(
            "demon.bias.int_bits",
            f"b' reaches {np.abs(b_design).max():.3g}, beyond {spec.bias}",
        )

    # ---- noise: q uniform so that cov is exactly a^2-proportional to M^-1 in the ideal limit --
    Cm = np.diag(C_self)
    Cinv = np.diag(1.0 / C_self)
    S1 = stationary_covariance(Cinv @ (gamma * M), Cinv @ Cinv) / FS**2  # x-covariance per unit q
    if w.kind == "linear_solve":
        if ar.noise.off:
            q = 0.0
        elif ar.noise.rms_V is not None:
            q = (ar.noise.rms_V / FS) ** 2 / float(np.diag(S1).max())
        elif ar.noise.effective_temperature_K is not None:
            q = None
        else:
            sig = (1.0 - cc.mean_fraction) / k_sig
            q = sig**2 / float(np.diag(S1).max())
    else:
        if ar.noise.rms_V is not None or ar.noise.effective_temperature_K is not None:
            raise ConfigError(
                "array.noise", f"is set by the target distribution for workload.kind {w.kind}; remove it"
            )
        q = a**2 * float(np.trace(np.linalg.inv(M))) / float(np.trace(S1))
    G_nominal = coupled_matrix(g_self, g_couple)
    if q is None:
        Te = ar.noise.effective_temperature_K
        q_amp = 2.0 * K_B * max(Te - T, 0.0) * np.diag(G_nominal)
    else:
        q_amp = np.full(n, q)

    elements = Elements(C_self=C_self, C_couple=None, g_self=g_self, g_couple=g_couple, L=None,
                        q_amp=q_amp, T=T)
    del Cm

    # ---- what the quantised hardware implements ----------------------------------------
    A_q = A_raw * spec.coef.lsb
    demon = LinearDemon(spec, A_raw, b_raw)
    if cc.mode == "analog":
        f0, _ = demon.force(np.zeros((1, n), dtype=np.int64))
        b_q = f0[0] * 2.0 ** (1 - cfg.dac.bits)       # exact constant output
        G_impl = gamma * M
    else:
        b_q = b_raw * spec.bias.lsb + _rounding_bias(spec) * 2.0 ** (1 - cfg.dac.bits)
        G_impl = np.diag(g_self) + K * A_q
    M_impl = G_impl / gamma
    bt_impl = b_q * K / (a * gamma)
    quant = _quant_report(w.kind, M, b_t, M_impl, bt_impl, A_design, A_q, b_design, b_q)
    if w.kind != "linear_solve":
        bt_impl = np.zeros(n) if not np.any(b_t) else bt_impl

    return HardwareProgram(
        config=cfg, M=M, b_t=b_t, gamma=gamma, scale=a, elements=elements, adc=adc, dac=dac,
        spec=spec, A_raw=A_raw, b_raw=b_raw, A_design=A_design, b_design=b_design,
        implemented={"M": M_impl, "b_t": bt_impl}, quantization=quant, notes=notes,
    )


def _rounding_bias(spec: LinearDemonSpec) -> float:
    """Mean error, in output LSBs, of narrowing an accumulator whose dropped bits are uniform:
    TRN ``-(1 - 2**-s) / 2``, RND ``+2**-(s+1)``, RND_CONV 0 (an approximation: it assumes the
    dropped fraction is uniformly distributed, which the noise makes true to high accuracy)."""
    s = spec.out_shift
    if s == 0:
        return 0.0
    if spec.rounding is Rounding.TRN:
        return -(1.0 - 2.0**-s) / 2.0
    if spec.rounding is Rounding.RND:
        return 2.0 ** -(s + 1)
    return 0.0


def _quant_report(kind, M, b_t, M_impl, bt_impl, A_design, A_q, b_design, b_q) -> dict:
    def rel(x, y):
        d = np.linalg.norm(y)
        return float(np.linalg.norm(x - y) / d) if d > 0 else 0.0

    out = {
        "coef_rel_error": rel(A_q, A_design) if np.any(A_design) else 0.0,
        "bias_rel_error": rel(b_q, b_design) if np.any(b_design) else 0.0,
        "matrix_rel_error": rel(M_impl, M),
    }
    if kind == "linear_solve":
        x = np.linalg.solve(M, b_t)
        out["solution_rel_error"] = rel(np.linalg.solve(M_impl, bt_impl), x)
    else:
        out["inverse_rel_error"] = rel(np.linalg.inv(M_impl), np.linalg.inv(M))
    return out


def _compile_rlc(cfg, M, b_t, a, adc, dac, spec, notes) -> HardwareProgram:
    n = cfg.n
    ar = cfg.array
    FS = cfg.adc.full_scale_V
    T = ar.temperature_K
    kappa = float(ar.per_unit("C_F").mean() / np.diag(M).mean())
    Cm = kappa * M
    C_couple = -Cm.copy()
    np.fill_diagonal(C_couple, 0.0)
    C_self = np.clip(np.diag(Cm) - np.abs(C_couple).sum(axis=1), 0.0, None)
    g_self = 1.0 / ar.per_unit("R_ohm")
    # v ~ N(0, k T_e C^-1) = N(0, k T_e / kappa M^-1) and x = v / FS  =>  T_e = a^2 kappa FS^2 / k
    Te = a**2 * kappa * FS**2 / K_B
    if Te < T:
        notes.append(f"the target spread needs {Te:.3g} K, below the physical {T} K: the floor dominates")
    q_amp = 2.0 * K_B * max(Te - T, 0.0) * g_self
    elements = Elements(C_self=C_self, C_couple=C_couple, g_self=g_self, g_couple=None,
                        L=ar.per_unit("L_H"), q_amp=q_amp, T=T)
    A_raw = np.zeros((n, n), dtype=np.int64)
    b_raw = np.zeros(n, dtype=np.int64)
    quant = _quant_report(cfg.workload.kind, M, b_t, M, b_t, np.zeros((n, n)), np.zeros((n, n)),
                          np.zeros(n), np.zeros(n))
    return HardwareProgram(
        config=cfg, M=M, b_t=b_t, gamma=float("nan"), scale=a, elements=elements, adc=adc, dac=dac,
        spec=spec, A_raw=A_raw, b_raw=b_raw, A_design=np.zeros((n, n)), b_design=np.zeros(n),
        implemented={"M": M, "b_t": b_t}, quantization=quant, notes=notes,
    )
