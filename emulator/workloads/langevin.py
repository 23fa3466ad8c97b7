"""The Gaussian Langevin workloads' common part: compiler, moment estimator, check, plot.

Four workload kinds (``linear_solve``, ``gaussian``, ``inverse``, ``logdet``; one module each)
are one Langevin sampler. Its problem is an SPD matrix ``M`` and a vector ``b_t`` (linear solve:
``M = A``, ``b_t = b``; Gaussian ``N(mu, S)``: ``M = S^-1``, ``b_t = M mu``; inverse and
log-determinant: ``M = A``, ``b_t = 0``). In the ideal continuous limit the hardware samples, in
normalised ADC units ``x = v / full_scale_V``,

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

Reading the answer back (:class:`MomentEstimator`): every sample after burn-in, in normalised
units ``x = X / 2**(bits-1)``, goes into per-batch sums of ``x`` and of ``x x^T``. Batches are
groups of chains (independent) or, with fewer than 16 chains, blocks of time; the standard errors
come from the spread of the batch estimates (batch means), and the effective sample size is
``var(x) / SE^2``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Union

import numpy as np
from pydantic import BeforeValidator, Field, NonNegativeInt, ValidationError

from demonloop.config.base import Scalar, Section
from demonloop.config.errors import ConfigError, FieldError
from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.fixedpoint import Rounding, quantize
from demonloop.plant.analog import K_B, coupled_matrix, stationary_covariance
from demonloop.plant.converters import ADC, DAC, build_adc, build_dac
from demonloop.plant.elements import Elements
from demonloop.workloads.base import Workload
from demonloop.workloads.metrics import integrated_autocorr_time

N_BATCH = 16
#: Ratio of the largest to the smallest noise density the per-unit amplifiers realise (a density
#: ratio of 4 is an amplitude ratio of 2): unequal capacitances up to this ratio are exact.
AMPLIFIER_DENSITY_RANGE = 4.0

# ----------------------------------------------------------------------------------------------
# Config: matrices given as rows or drawn at random
# ----------------------------------------------------------------------------------------------

Matrix = list[list[Scalar]]


class RandomSPD(Section):
    """A reproducible random SPD matrix: eigenvalues log-spaced over ``condition``, random basis;
    ``diagonally_dominant`` instead draws a sparse-ish symmetric matrix and shifts its diagonal."""

    n: int = Field(ge=1, le=64)
    condition: float = Field(10.0, ge=1.0)
    seed: NonNegativeInt = 0
    diagonally_dominant: bool = False


def _matrix_spec(v):
    if v is None:
        return v
    if isinstance(v, dict):
        if set(v) != {"random_spd"}:
            extra = sorted(set(v) - {"random_spd"})
            raise ValueError(f"a matrix is a list of rows or {{random_spd: {{...}}}}, got key {extra[0]!r}")
        try:
            return RandomSPD.model_validate(v["random_spd"])
        except ValidationError as exc:
            from demonloop.config.errors import first_error

            e = first_error(exc)
            raise FieldError(f"random_spd.{e.field}", e.reason) from None
    if not isinstance(v, list) or not all(isinstance(r, list) for r in v):
        raise ValueError("must be a list of rows (a matrix) or {random_spd: {...}}")
    for i, row in enumerate(v):
        for j, x in enumerate(row):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise FieldError(f"{i}.{j}", f"must be a finite number, got {x!r}")
    if len({len(r) for r in v}) > 1:
        raise ValueError("rows have different lengths")
    return [[float(x) for x in r] for r in v]


#: A matrix key: a list of rows, or ``{random_spd: {n, condition, seed, ...}}``.
MatrixSpec = Annotated[Union[Matrix, RandomSPD, None], BeforeValidator(_matrix_spec)]


def random_spd(spec: RandomSPD) -> np.ndarray:
    rng = np.random.default_rng(spec.seed)
    n = spec.n
    if spec.diagonally_dominant:
        off = rng.uniform(-1.0, 1.0, (n, n)) * (rng.random((n, n)) < 0.6)
        off = np.triu(off, 1)
        off = off + off.T
        row = np.abs(off).sum(axis=1)
        # Diagonal = row sum + a margin spread so the condition number lands near `condition`.
        margin = np.geomspace(1.0, 1.0 / spec.condition, n) * max(row.max(), 1.0)
        return off + np.diag(row + margin)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.geomspace(1.0, 1.0 / spec.condition, n)
    return (Q * w) @ Q.T


def matrix(spec) -> np.ndarray:
    """The matrix of a :data:`MatrixSpec` value."""
    if isinstance(spec, RandomSPD):
        return random_spd(spec)
    return np.asarray(spec, dtype=np.float64)


def is_spd(M: np.ndarray) -> bool:
    if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.allclose(M, M.T, rtol=1e-12, atol=1e-12):
        return False
    try:
        np.linalg.cholesky(M)
        return True
    except np.linalg.LinAlgError:
        return False


# ----------------------------------------------------------------------------------------------
# The compiled program
# ----------------------------------------------------------------------------------------------


@dataclass
class HardwareProgram:
    """Everything the plant and the linear demon need, plus how to read the answer back."""

    config: object
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
    controls: object = None       # demonloop.plant.Controls for a demon with analog control channels
    amplifier_rel_error: float = 0.0   # predicted covariance error left by the amplifiers' density range

    def demon(self) -> LinearDemon:
        return LinearDemon(self.spec, self.A_raw, self.b_raw)

    @property
    def loop_gain_S(self) -> float:
        """``K = I_fs / FS`` [S]: DAC amperes per unit of normalised force per volt per unit of x."""
        return self.dac.full_scale_A / self.adc.full_scale_V


def _lambda_min_sym(C_diag: np.ndarray, M: np.ndarray) -> float:
    """Smallest eigenvalue of ``C^-1 M`` for diagonal ``C`` (similar to a symmetric matrix)."""
    s = 1.0 / np.sqrt(C_diag)
    return float(np.linalg.eigvalsh(s[:, None] * M * s[None, :]).min())


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


def _rel(x, y) -> float:
    d = np.linalg.norm(y)
    return float(np.linalg.norm(x - y) / d) if d > 0 else 0.0


# ----------------------------------------------------------------------------------------------
# The workload base
# ----------------------------------------------------------------------------------------------


class LangevinWorkload(Workload):
    """Base of the Gaussian Langevin kinds. A kind fills :meth:`problem_key`, :meth:`problem`,
    :meth:`scale`, :meth:`score` and :meth:`result_metrics`, and the human pieces
    :meth:`result_line` and :meth:`draw_estimate`."""

    demons = ("linear",)
    #: Whether the estimator accumulates the covariance (everything but the linear solve).
    needs_covariance: ClassVar[bool] = True
    #: Problem keys the section may hold (the matrix or matrices, then vectors).
    panels: ClassVar[int] = 2

    # ---- the problem -------------------------------------------------------------------------
    def problem_key(self, cfg) -> str:
        """The workload key that holds the SPD matrix the hardware realises."""
        return "A"

    def problem_matrix(self, cfg) -> np.ndarray:
        """The SPD matrix ``M`` the hardware realises."""
        return matrix(getattr(cfg.workload, self.problem_key(cfg)))

    def problem(self, cfg) -> tuple[np.ndarray, np.ndarray]:
        """``(M, b_t)`` (see the module docstring)."""
        return self.problem_matrix(cfg), np.zeros(cfg.n)

    def scale(self, cfg, M: np.ndarray, b_t: np.ndarray, lam_min: float) -> float:
        """The scale ``a``: ``range_sigmas`` standard deviations of the widest mode fill the ADC."""
        return 1.0 / (cfg.compiler.range_sigmas * np.sqrt(1.0 / lam_min))

    def noise_level(self, cfg, a: float, M: np.ndarray, S1: np.ndarray) -> float | None:
        """The amplifier density ``q`` per unit (times each unit's capacitance profile) that makes the sampled covariance
        ``a^2 M^-1``; None: one effective temperature (``array.noise.effective_temperature_K``).
        ``S1``: the x-covariance per unit ``q``."""
        noise = cfg.array.noise
        if noise.rms_V is not None or noise.effective_temperature_K is not None:
            raise ConfigError("array.noise", f"is set by the target distribution for workload.kind {self.kind}; remove it")
        if noise.amplifiers_off:
            return 0.0
        return a**2 * float(np.trace(np.linalg.inv(M))) / float(np.trace(S1))

    def quantization_answer(self, M, b_t, M_impl, bt_impl) -> dict:
        """What quantization costs the answer (on top of the matrix error)."""
        return {"inverse_rel_error": _rel(np.linalg.inv(M_impl), np.linalg.inv(M))}

    # ---- config ------------------------------------------------------------------------------
    def validate(self, cfg) -> None:
        n = cfg.n
        w = cfg.workload
        mkey = self.problem_key(cfg)
        spec = getattr(w, mkey)
        if isinstance(spec, RandomSPD) and spec.n != n:
            raise ConfigError(f"workload.{mkey}.n", f"is {spec.n}, array.n is {n}")
        raw = matrix(spec)
        if raw.ndim != 2 or raw.shape != (n, n):
            raise ConfigError(f"workload.{mkey}", f"must be a {n}x{n} matrix (array.n), got shape {raw.shape}")
        if not is_spd(raw):
            raise ConfigError(f"workload.{mkey}", "must be symmetric positive definite")
        M = self.problem_matrix(cfg)
        for key in ("b", "mean"):
            v = getattr(w, key, None)
            if v is not None and len(v) != n:
                raise ConfigError(f"workload.{key}", f"has {len(v)} entries, array.n is {n}")
        self.validate_vectors(cfg)

        # what the compiler can realise
        mode, cell = cfg.compiler.mode, cfg.array.cell
        if cell == "RLC":
            if mode != "analog":
                raise ConfigError("compiler.mode", "RLC cells are compiled in analog mode only (the covariance lives in the capacitive coupling)")
            if np.any(self.problem(cfg)[1]):
                raise ConfigError("workload.kind", "an RLC cell's inductor to ground holds the node-voltage mean at 0: use RC cells for a nonzero mean")
            if cfg.array.R_ohm is None:
                raise ConfigError("array.R_ohm", "RLC cells need a self resistance (the damping)")
        if mode == "analog":
            offd = np.abs(M - np.diag(np.diag(M))).sum(axis=1)
            if np.any(np.diag(M) < offd * (1 - 1e-12)):
                raise ConfigError(
                    f"workload.{mkey}",
                    f"{self.matrix_words} is not diagonally dominant, so analog mode cannot realise it with passive "
                    "self elements (use compiler.mode: digital)",
                )
        elif cfg.array.R_ohm is None:
            raise ConfigError("array.R_ohm", "digital mode needs each cell's self resistance (the leak the demon compensates)")

    #: How messages name the problem matrix.
    matrix_words: ClassVar[str] = "A"

    def validate_vectors(self, cfg) -> None:
        """Checks of the problem's vectors beyond their length."""

    # ---- compile -----------------------------------------------------------------------------
    def compile(self, cfg) -> HardwareProgram:
        return compile_langevin(cfg, self)

    def estimator(self, program, chains: int) -> "MomentEstimator":
        return MomentEstimator(program, chains, self)

    def feeds_back(self, program) -> bool:
        return bool(np.any(program.A_raw))

    def predictions(self, program) -> dict:
        from demonloop import linearised

        lin = linearised.from_program(program)
        rho = lin.spectral_radius
        ms = linearised.max_stable_latency(program) if np.any(program.A_raw) else None
        return {"predicted_spectral_radius": rho, "predicted_margin": 1.0 - rho,
                "predicted_stable": bool(rho < 1.0), "predicted_max_stable_latency_cycles": ms}

    # ---- scoring (the estimator calls these) -------------------------------------------------
    def score(self, program, mu_x: np.ndarray, cov_x: np.ndarray | None) -> dict:
        """The answer read from the sample moments (x units) and its headline error (``headline``)."""
        raise NotImplementedError

    def result_metrics(self, program, sc: dict, st: dict) -> dict:
        """The kind's figures of merit from :meth:`score`'s ``sc`` and the batch statistics ``st``
        (``se_x`` standard errors of the x means, ``cov_se`` of the covariance in target units,
        ``bcov`` per-batch covariances in x units, ``nb`` batches)."""
        raise NotImplementedError

    # ---- people ------------------------------------------------------------------------------
    def check(self, cfg) -> dict:
        return explain(cfg, self)

    def check_text(self, rep: dict) -> str:
        return explain_text(rep)

    def summary(self, rep: dict) -> list[str]:
        m = rep["metrics"]
        tau, ess = m.get("tau_int_samples"), m.get("ess_mean")
        return [self.result_line(rep),
                f"  samples          {m['samples_per_chain']:,} per chain after {rep['burn_in_samples']:,} burn-in"
                f" x {rep['chains']:,} chains" + (f" (ESS {ess:.3g}" if ess else " (")
                + (f", tau_int {tau:.3g} samples)" if tau else ")")]

    def result_line(self, rep: dict) -> str:
        raise NotImplementedError

    def draw_estimate(self, axes, m: dict) -> None:
        """Draw the estimate against the exact answer on ``axes`` (all panels but the last)."""
        raise NotImplementedError

    def plot(self, rep: dict, est, path: Path, title: str) -> Path:
        """The estimate against the exact answer (with 2-sigma error bars where known), and the
        headline error against samples per chain on log axes with the 1/sqrt(samples) slope."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from demonloop.report import atomic_write

        m = rep["metrics"]
        fig, axes = plt.subplots(1, self.panels, figsize=(15, 4.4) if self.panels == 3 else (11, 4.4))
        fig.suptitle(f"{rep['config']} — {rep['workload']}, {rep['mode']} mode, {rep['demon']} demon, "
                     f"{rep['chains']:,} chains")
        self.draw_estimate(axes[:-1], m)
        ax2 = axes[-1]
        curve = np.array(rep.get("curve") or [])
        if len(curve):
            k, e = curve[:, 0], np.abs(curve[:, 1])
            ax2.loglog(k, e, "o-", ms=3, label=f"{rep['headline']} (hardware)")
            # the 1/sqrt(N) guide starts at the first point, so a biased estimate that levels off
            # shows as leaving it (anchored at the last point it would look converged)
            ref = e[0] * np.sqrt(k[0] / k)
            ax2.loglog(k, ref, "k--", lw=0.8, label="∝ 1/√samples (from the first point)")
            pr = rep.get("predictions")
            if pr and pr.get("bias") is not None and pr["bias"] > 0:
                ax2.axhline(pr["bias"], color="C3", lw=0.9, ls=":", label=f"check: predicted bias {pr['bias']:.2g}")
            ax2.set_xlabel("samples per chain")
            ax2.set_ylabel(rep["headline"])
            ax2.set_title("error against samples")
            ax2.legend(fontsize=7, loc="best")
            ax2.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        atomic_write(path, buf.getvalue())
        return Path(path)


def draw_matrix_entries(ax, est: np.ndarray, exact: np.ndarray, what: str) -> None:
    """Scatter of sampled against exact matrix entries with the line y = x."""
    ax.plot(exact.ravel(), est.ravel(), "o", ms=3, alpha=0.7, label="entries")
    lo, hi = min(exact.min(), est.min()), max(exact.max(), est.max())
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="y = x")
    ax.set_xlabel(f"exact {what} entry")
    ax.set_ylabel("sampled")
    ax.set_title("covariance entries, sampled vs exact")
    ax.legend(loc="best", fontsize=8)


# ----------------------------------------------------------------------------------------------
# The compiler
# ----------------------------------------------------------------------------------------------


def compile_langevin(cfg, w: LangevinWorkload) -> HardwareProgram:
    """Compile ``cfg`` (workload ``w``) to a :class:`HardwareProgram`; raises
    :class:`ConfigError` if it cannot."""
    n = cfg.n
    M, b_t = w.problem(cfg)
    ar, cc = cfg.array, cfg.compiler
    FS = cfg.adc.full_scale_V
    I_fs = cfg.dac.full_scale_A
    K = I_fs / FS
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    T = ar.temperature_K
    spec = cfg.demon_spec()
    notes: list[str] = []
    lam_min_M = float(np.linalg.eigvalsh(M).min())
    adc, dac = build_adc(cfg), build_dac(cfg)
    a = w.scale(cfg, M, b_t, lam_min_M)

    if ar.cell == "RLC":
        return _compile_rlc(cfg, w, M, b_t, a, adc, dac, spec, notes)

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

    # ---- noise: per-unit densities q_j = q c_j with c_j proportional to C_j, so that the
    # covariance is exactly a^2-proportional to M^-1 in the ideal limit. With drift C^-1 G
    # (G = gamma M symmetric) and noise density N, the stationary covariance S solves
    # G S C + C S G = N (Lyapunov, multiplied by C on both sides); S = s G^-1 gives N = 2 s C:
    # fluctuation-dissipation with each unit's own capacitance (a uniform density is exact only
    # for equal C). The amplifiers reach densities over AMPLIFIER_DENSITY_RANGE; beyond it the
    # profile is clipped and the error that leaves is predicted (Lyapunov) and noted.
    Cinv = np.diag(1.0 / C_self)
    shape = C_self / C_self.max()
    shape_real = np.clip(shape, 1.0 / AMPLIFIER_DENSITY_RANGE, None)
    S1 = stationary_covariance(Cinv @ (gamma * M), Cinv @ np.diag(shape_real) @ Cinv) / FS**2  # x-cov per unit q
    amp_err = 0.0
    if np.any(shape_real != shape):
        S_t = np.linalg.inv(M)
        q_fit = float(np.trace(S_t)) / float(np.trace(S1)) * a**2
        amp_err = _rel(S1 * q_fit / a**2, S_t)
        notes.append(
            f"array.C_F spans a ratio {shape.max() / shape.min():.3g}, beyond the noise amplifiers' "
            f"density range {AMPLIFIER_DENSITY_RANGE:g}: the covariance will be off by {amp_err:.3g} "
            "(relative Frobenius, predicted); bring the capacitances within that ratio")
    q = w.noise_level(cfg, a, M, S1)
    G_nominal = coupled_matrix(g_self, g_couple)
    if q is None:
        Te = ar.noise.effective_temperature_K
        q_amp = 2.0 * K_B * max(Te - T, 0.0) * np.diag(G_nominal)
    else:
        q_amp = q * shape_real

    elements = Elements(C_self=C_self, C_couple=None, g_self=g_self, g_couple=g_couple, L=None,
                        q_amp=q_amp, T=T)

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
    quant = {"coef_rel_error": _rel(A_q, A_design) if np.any(A_design) else 0.0,
             "bias_rel_error": _rel(b_q, b_design) if np.any(b_design) else 0.0,
             "matrix_rel_error": _rel(M_impl, M),
             **w.quantization_answer(M, b_t, M_impl, bt_impl)}
    if not np.any(b_t):
        bt_impl = np.zeros(n)

    return HardwareProgram(
        config=cfg, M=M, b_t=b_t, gamma=gamma, scale=a, elements=elements, adc=adc, dac=dac,
        spec=spec, A_raw=A_raw, b_raw=b_raw, A_design=A_design, b_design=b_design,
        implemented={"M": M_impl, "b_t": bt_impl}, quantization=quant, notes=notes,
        amplifier_rel_error=amp_err,
    )


def _compile_rlc(cfg, w, M, b_t, a, adc, dac, spec, notes) -> HardwareProgram:
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
    # resistive coupling: a resistor across every coupling capacitor (ordinary polarity: damping)
    g_couple = None
    if ar.R_couple_ohm is not None:
        g_couple = np.where(C_couple != 0, 1.0 / ar.R_couple_ohm, 0.0)
    # v ~ N(0, k T_e C^-1) = N(0, k T_e / kappa M^-1) and x = v / FS  =>  T_e = a^2 kappa FS^2 / k.
    # Exact fluctuation-dissipation needs every resistor's noise at T_e (N = 2 k T_e G): an
    # amplifier on each self resistor (density 2 k (T_e - T) g_self) and one across each coupling
    # resistor (2 k (T_e - T) g_couple, a source between its two nodes).
    Te = a**2 * kappa * FS**2 / K_B
    if ar.noise.amplifiers_off:
        Te = T
        notes.append(f"array.noise is off: physical noise only, v ~ N(0, k_B T C^-1) at {T} K")
    elif Te < T:
        notes.append(f"the target spread needs {Te:.3g} K, below the physical {T} K: the floor dominates")
    q_amp = 2.0 * K_B * max(Te - T, 0.0) * g_self
    q_couple = None if g_couple is None else 2.0 * K_B * max(Te - T, 0.0) * g_couple
    elements = Elements(C_self=C_self, C_couple=C_couple, g_self=g_self, g_couple=g_couple,
                        L=ar.per_unit("L_H"), q_amp=q_amp, T=T, q_couple=q_couple)
    A_raw = np.zeros((n, n), dtype=np.int64)
    b_raw = np.zeros(n, dtype=np.int64)
    quant = {"coef_rel_error": 0.0, "bias_rel_error": 0.0, "matrix_rel_error": 0.0,
             **w.quantization_answer(M, b_t, M, b_t)}
    return HardwareProgram(
        config=cfg, M=M, b_t=b_t, gamma=float("nan"), scale=a, elements=elements, adc=adc, dac=dac,
        spec=spec, A_raw=A_raw, b_raw=b_raw, A_design=np.zeros((n, n)), b_design=np.zeros(n),
        implemented={"M": M, "b_t": b_t}, quantization=quant, notes=notes,
    )


# ----------------------------------------------------------------------------------------------
# The estimator
# ----------------------------------------------------------------------------------------------


class MomentEstimator:
    """Accumulates batch sums of the codes ``X`` and of ``X X^T`` (exact integers in float64,
    scaled to ``x`` only when read), and the running error at log-spaced checkpoints."""

    def __init__(self, program: HardwareProgram, chains: int, workload: LangevinWorkload):
        cfg = program.config
        self.program = program
        self.workload = workload
        self.n = n = cfg.n
        self.chains = chains
        self.burn = cfg.run.burn_in_samples
        self.samples = cfg.run.samples
        self.inv_fs = 2.0 ** (1 - cfg.adc.bits)
        self.need_cov = workload.needs_covariance
        g = min(N_BATCH, chains)
        self.time_blocks = 1 if chains >= N_BATCH else int(np.ceil(N_BATCH / chains))
        self.starts = np.linspace(0, chains, g + 1).astype(int)[:-1]
        self.group_sizes = np.diff(np.append(self.starts, chains))
        self._equal_groups = bool(np.all(self.group_sizes == self.group_sizes[0]))
        # per (time block, unit, chain) sums of X; units-major to match the plant's layout
        self.S1 = np.zeros((self.time_blocks, n, chains))
        self.Ssq = np.zeros((n, chains))
        self._sq = np.empty((n, chains))
        self.S2 = np.zeros((self.time_blocks * g, n, n)) if self.need_cov else None
        self.seen = 0
        self.checkpoints = set(np.unique(np.geomspace(1, self.samples, 24).astype(int)).tolist())
        self.curve: list[tuple[int, float]] = []
        nt = min(cfg.run.trace_chains, chains)
        self.trace = np.zeros((min(self.samples, 4096), nt, n), dtype=np.float32) if nt else None

    def on_sample(self, m: int, X: np.ndarray) -> None:
        if m < self.burn:
            return
        i = m - self.burn
        XT = X.T
        tb = i * self.time_blocks // self.samples
        self.S1[tb] += XT
        np.multiply(XT, XT, out=self._sq)
        self.Ssq += self._sq
        if self.need_cov:
            g = len(self.starts)
            if self._equal_groups:
                # one batched product over the chain groups: (g, n, c) @ (g, c, n)
                G3 = XT.reshape(self.n, g, -1).transpose(1, 0, 2)
                self.S2[tb * g:(tb + 1) * g] += G3 @ G3.transpose(0, 2, 1)
            else:
                for gi, (a, sz) in enumerate(zip(self.starts, self.group_sizes)):
                    xs = XT[:, a:a + sz]
                    self.S2[tb * g + gi] += xs @ xs.T
        if self.trace is not None and i < self.trace.shape[0]:
            self.trace[i] = X[: self.trace.shape[1]] * self.inv_fs
        self.seen = i + 1
        if self.seen in self.checkpoints:
            self.curve.append((self.seen, self._error_now()))

    def _batches(self):
        """(per-batch sums of x (nb, n), per-batch counts (nb,), per-batch sums of x x^T or None)."""
        s = self.inv_fs
        parts = np.add.reduceat(self.S1, self.starts, axis=2)          # (tb, n, g)
        S1b = parts.transpose(0, 2, 1).reshape(-1, self.n) * s
        per_tb = np.array([self.seen * 0] * self.time_blocks, dtype=float)
        for tb in range(self.time_blocks):
            lo = -(-tb * self.samples // self.time_blocks)
            hi = -(-(tb + 1) * self.samples // self.time_blocks)
            per_tb[tb] = max(0, min(hi, self.seen) - lo)
        counts = (per_tb[:, None] * self.group_sizes[None, :]).reshape(-1)
        S2b = self.S2 * s * s if self.need_cov else None
        return S1b, counts, S2b

    def _totals(self):
        """(mean, covariance or None) of x over every scored sample of every chain."""
        s = self.inv_fs
        cnt = self.seen * self.chains
        mu = self.S1.sum(axis=(0, 2)) * s / cnt
        if not self.need_cov:
            return mu, None
        return mu, self.S2.sum(axis=0) * s * s / cnt - np.outer(mu, mu)

    def _error_now(self) -> float:
        mu, cov = self._totals()
        return self.workload.score(self.program, mu, cov)["headline"]

    def estimate(self) -> dict:
        """The answer read from every scored sample (numpy arrays; see the workload's ``score``),
        with the sample moments of x (ADC full scales)."""
        if self.seen == 0:
            return {}
        mu, cov = self._totals()
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = self.workload.score(self.program, mu, cov)
        out = {k: np.asarray(v) for k, v in sc.items() if k != "headline"}
        out["mean_x"] = mu
        if cov is not None:
            out["cov_x"] = cov
        return out

    def metrics(self) -> dict:
        """The workload's figures of merit, with standard errors from the batches (a figure that
        cannot be formed, e.g. a z-score over a zero spread, comes out non-finite and is reported
        as null)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._metrics()

    def _metrics(self) -> dict:
        p = self.program
        a = p.scale
        cnt = self.seen * self.chains
        mu_x, cov_x = self._totals()
        sc = self.workload.score(p, mu_x, cov_x)
        if self.seen < 2:
            return {"samples_per_chain": self.seen}
        S1b, counts, S2b = self._batches()
        keep = counts > 0
        S1b, counts = S1b[keep], counts[keep]
        S2b = S2b[keep] if S2b is not None else None
        nb = len(counts)
        bm = S1b / counts[:, None]
        se_x = bm.std(axis=0, ddof=1) / np.sqrt(nb)
        var_x = self.Ssq.sum(axis=1) * self.inv_fs**2 / cnt - mu_x**2
        ess = var_x / np.maximum(se_x**2, 1e-300)
        out: dict = {"samples_per_chain": self.seen, "ess_mean": float(np.mean(ess))}
        if self.trace is not None and self.trace.shape[0] >= 8:
            taus = [integrated_autocorr_time(self.trace[:, :, j].astype(np.float64)) for j in range(self.n)]
            out["tau_int_samples"] = float(np.nanmean(taus))
        st = {"se_x": se_x, "nb": nb}
        if self.need_cov:
            # covariance standard errors from the batches
            bcov = S2b / counts[:, None, None] - np.einsum("bi,bj->bij", bm, bm)
            st["bcov"] = bcov
            st["cov_se"] = bcov.std(axis=0, ddof=1) / np.sqrt(nb) / a**2
        out.update(self.workload.result_metrics(p, sc, st))
        return out


# ----------------------------------------------------------------------------------------------
# demonloop check
# ----------------------------------------------------------------------------------------------


def _gauss_tail(z: np.ndarray) -> np.ndarray:
    return 0.5 * np.array([math.erfc(v / math.sqrt(2.0)) for v in np.atleast_1d(z)])


#: Probability of clipping (per unit, ADC or DAC) above which ``check`` warns, and the fraction
#: of clipped conversions or saturated codes above which ``run`` says the range was exceeded.
CLIP_THRESHOLD = 1e-3
#: Predicted headline bias above which (and above twice the run's standard error) ``check`` warns.
LATENCY_BIAS_THRESHOLD = 0.03


def warning(code: str, message: str, figure, key: str, advice: str = "", value=None) -> dict:
    """One design-rule finding: a stable ``code``, the human ``message``, the ``figure`` it is
    about, the config ``key`` to change, what to do (``advice``) and, where one is predicted to
    work, the ``value`` to set it to (``--set key=value``)."""
    return {"code": code, "message": message, "figure": figure, "key": key, "advice": advice, "value": value}


def _dac_force_spread(cfg, program, mean: np.ndarray, cov: np.ndarray) -> dict:
    """The DAC force ``f = b' - A' x`` (in DAC full scales) in the linearised loop's stationary
    state: ``x = g v / FS + x0`` (the ADC's linearisation) plus its quantization noise
    ``lsb**2 / 12``, so ``f ~ N(b' - A' E[x], A' Cov[x] A'^T)``; and the probability of each
    unit's code sitting at either end of the DAC range (what the plant counts as saturated)."""
    n = cfg.n
    adc = program.adc
    A = program.A_raw * program.spec.coef.lsb
    b = program.b_raw * program.spec.bias.lsb
    g = adc.linear_gain / adc.full_scale_V
    mx = g * mean[:n] + adc.linear_offset_V / adc.full_scale_V
    lsb_a = 2.0 ** (1 - cfg.adc.bits)
    cx = g[:, None] * cov[:n, :n] * g[None, :] + np.eye(n) * lsb_a**2 / 12
    fm = b - A @ mx
    fs = np.sqrt(np.clip(np.diag(A @ cx @ A.T), 0.0, None))
    lsb_d = 2.0 ** (1 - cfg.dac.bits)
    # codes >= code_max (f >= 1 - lsb, rounded: from 1 - 1.5 lsb) or <= code_min (f <= -1 + lsb/2)
    hi = (1.0 - 1.5 * lsb_d - fm) / np.maximum(fs, 1e-300)
    lo = (1.0 - 0.5 * lsb_d + fm) / np.maximum(fs, 1e-300)
    return {"mean": fm, "std": fs, "p_clip": _gauss_tail(hi) + _gauss_tail(lo)}


def _mixing_samples(lin, cfg) -> float | None:
    """The sampled closed loop's slowest time constant in sample periods, ``-q / ln rho(F)``
    (``q`` sample periods per update), None if it does not decay."""
    r = lin.spectral_radius
    if not 0.0 < r < 1.0:
        return None
    return float(-(lin.update_period / cfg.adc.sample_period_cycles) / np.log(r))


def predict_errors(cfg, w, program, lin, mean: np.ndarray, cov: np.ndarray) -> dict:
    """What ``run`` should measure, from the linearised sampled loop: the headline error of its
    stationary moments (latency, sampling, coefficient quantization and the ADC's ``lsb**2/12``
    included), scored by the workload itself (the **bias**), and the statistical error of
    ``chains x samples`` samples (the **standard error**: the exact variance of the time average
    of ``x`` for the mean, of ``x_i x_j`` for the covariance, from the loop's autocovariances;
    the covariance's as the root of the summed entry variances over the target's norm)."""
    n = cfg.n
    FS = cfg.adc.full_scale_V
    lsb = 2.0 ** (1 - cfg.adc.bits)
    mu_x = mean[:n] / FS
    cov_x = cov[:n, :n] / FS**2 + np.eye(n) * lsb**2 / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = w.score(program, mu_x, cov_x if w.needs_covariance else None)
    bias = float(sc["headline"])
    S = cfg.run.samples
    tavg = lin.time_average_covariance(S)[:n, :n] / FS**2        # one chain's time average (state)
    tau = float(np.mean(np.diag(tavg) * S / np.maximum(np.diag(cov[:n, :n]) / FS**2, 1e-300)))
    tavg = tavg + np.eye(n) * lsb**2 / 12 / S                   # the ADC's white quantization noise
    N_eff = cfg.chains * S / max(tau, 1.0)
    a = program.scale
    se = None
    if not w.needs_covariance:
        x_star = np.linalg.solve(program.M, program.b_t)
        nrm = np.linalg.norm(x_star)
        if nrm > 0:
            se = float(np.sqrt(np.trace(tavg) / cfg.chains) / a / nrm)
    elif w.headline in ("cov_rel_error", "rel_error"):
        # sum of the entries' variances over the target's norm (both in x units)
        V = lin.time_average_product_variance(S, white=np.full(lin.dim, (lsb * FS) ** 2 / 12))[:n, :n] / FS**4
        se = float(np.sqrt(V.sum() / cfg.chains) / (a**2 * np.linalg.norm(np.linalg.inv(program.M))))
    return {"headline": w.headline, "bias": bias, "standard_error": se,
            "error_bound": bias + 3.0 * se if se is not None else None,
            "tau_int_samples": tau, "effective_samples": N_eff}


def _design_rules(cfg, w, program, out: dict, p_clip: np.ndarray, dac: dict) -> None:
    """The warnings that need the stationary state: ADC clipping, DAC saturation, resolution,
    and the predicted bias against the statistical error."""
    warn = out["warnings"]
    sp = out["spread"]
    j = int(p_clip.argmax())
    if p_clip[j] > CLIP_THRESHOLD:
        warn.append(warning(
            "adc_clipping", f"unit {j} clips {p_clip[j]:.2g} of its samples at the ADC (predicted)", float(p_clip[j]),
            "compiler.range_sigmas", f"raise it from {cfg.compiler.range_sigmas:g} (or adc.full_scale_V)",
            cfg.compiler.range_sigmas + 1.0))
    pd = dac["p_clip"]
    k = int(pd.argmax())
    fixes: dict = {}                 # the advice so far, as overrides (the bias search applies them)
    if pd[k] > CLIP_THRESHOLD:
        need = float(np.max((np.abs(dac["mean"]) + cfg.compiler.range_sigmas * dac["std"])))
        fs = cfg.dac.full_scale_A * need / (1.0 - 2.0 ** (1 - cfg.dac.bits))
        fs = float(f"{fs * 1.05:.2g}")
        fixes["dac.full_scale_A"] = fs
        warn.append(warning(
            "dac_saturation", f"unit {k}'s force code saturates the DAC on {pd[k]:.2g} of updates (predicted; "
            f"the force's spread is {dac['std'][k]:.3g} of the DAC range at mean {dac['mean'][k]:+.3g})",
            float(pd[k]), "dac.full_scale_A",
            f"raise it from {cfg.dac.full_scale_A:.3g} to {fs:.3g} A "
            f"({cfg.compiler.range_sigmas:g} standard deviations of every force inside the range)", fs))
    if (np.array(sp["std_in_lsb"])).min() < 2.0:
        warn.append(warning(
            "adc_resolution", "the noise is under 2 ADC LSBs on some unit: quantization will bias the estimate",
            float(np.min(sp["std_in_lsb"])), "adc.bits", "add bits"))
    pr = out["predictions"]
    se = pr["standard_error"]
    if pr["bias"] > LATENCY_BIAS_THRESHOLD and (se is None or pr["bias"] > 2.0 * se):
        # coefficients: with the advice so far, does A' leave integer bits unused? They are
        # better spent as fraction bits (the coefficient quantization is part of the bias)
        coef_fix = _coef_bits_advice(cfg, w, fixes)
        if coef_fix is not None:
            fixes["demon.coef"] = coef_fix
            warn.append(warning(
                "coef_precision", f"A' uses {coef_fix['int_bits']} of the {cfg.demon.coef.int_bits} integer bits of "
                f"demon.coef{' with the ' + ', '.join(k for k in fixes if k != 'demon.coef') + ' advice' if len(fixes) > 1 else ''}: "
                "the rest would cut the coefficient quantization", cfg.demon.coef.int_bits - coef_fix["int_bits"],
                "demon.coef", f"set it to {{int_bits: {coef_fix['int_bits']}, frac_bits: {coef_fix['frac_bits']}}}",
                coef_fix))
        tau0 = cfg.compiler.time_constant_samples
        advice, value = "raise it", None
        # the first time constant (with the other advice applied) whose predicted bias is under
        # the threshold, else the best one if it at least halves the bias
        best = None
        for f in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0):
            if f == 1.0 and not fixes:
                continue
            b = _bias_at(cfg, w, {**fixes, "compiler.time_constant_samples": tau0 * f})
            if b is not None and (best is None or b < best[1]):
                best = (f, b)
            if b is not None and b < LATENCY_BIAS_THRESHOLD:
                break
        if best is not None and (best[1] < LATENCY_BIAS_THRESHOLD or best[1] < 0.5 * pr["bias"]):
            f, b = best
            with_fix = f" with the {', '.join(fixes)} advice" if fixes else ""
            advice = (f"{'keep' if f == 1.0 else 'raise'} it{'' if f == 1.0 else f' from {tau0:g}'} to "
                      f"{tau0 * f:g}{with_fix} (predicted {pr['headline']} bias {b:.3g})")
            value = tau0 * f
        warn.append(warning(
            "latency_bias", f"the sampled loop's stationary law is off the target: predicted {pr['headline']} "
            f"bias {pr['bias']:.3g}" + (f", above twice the run's standard error {se:.2g}" if se else "")
            + " (latency, sampling and coefficient quantization)", pr["bias"], "compiler.time_constant_samples",
            advice, value))


def _coef_bits_advice(cfg, w, fixes: dict) -> dict | None:
    """``{int_bits, frac_bits}`` for ``demon.coef`` (same word length) that just holds A' under
    ``fixes``, if it frees at least one integer bit; else None."""
    coef = getattr(cfg.demon, "coef", None)
    if coef is None:
        return None
    try:
        p2 = w.compile(cfg.with_overrides(fixes) if fixes else cfg)
    except ConfigError:
        return None
    amax = float(np.abs(p2.A_design).max(initial=0.0))
    if amax == 0.0:
        return None
    need = max(1, int(np.ceil(np.log2(amax * 1.05))) + 1)     # as the compiler counts them, 5% headroom
    if need >= coef.int_bits:
        return None
    return {"int_bits": need, "frac_bits": coef.frac_bits + coef.int_bits - need}


def _bias_at(cfg, w, over: dict) -> float | None:
    """The predicted headline bias of ``cfg`` with ``over`` applied (None if it does not compile
    or is unstable)."""
    from demonloop import linearised

    try:
        c2 = cfg.with_overrides(over)
        p2 = w.compile(c2)
    except ConfigError:
        return None
    lin = linearised.from_program(p2)
    if lin.spectral_radius >= 1.0:
        return None
    mean, cov = lin.stationary()
    n, FS = c2.n, c2.adc.full_scale_V
    lsb = 2.0 ** (1 - c2.adc.bits)
    cov_x = cov[:n, :n] / FS**2 + np.eye(n) * lsb**2 / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(w.score(p2, mean[:n] / FS, cov_x if w.needs_covariance else None)["headline"])


def explain(cfg, w: LangevinWorkload) -> dict:
    """The check report (JSON-able): the compiled program, the drift's eigenvalues (time
    constants), the stationary mean and spread of every unit in the sampled closed loop (exact
    for the linearised loop, :mod:`demonloop.linearised`) against the ADC range, the coefficient
    quantization cost, and the loop's spectral radius with its configured latency."""
    from demonloop import linearised
    from demonloop.report import jsonable

    program = w.compile(cfg)
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

    lin = linearised.from_program(program)
    rho = lin.spectral_radius
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
            "update_period_cycles": lin.update_period,
            "dropped_fraction": 1.0 - cfg.adc.sample_period_cycles / lin.update_period,
        },
        "stability": {
            "spectral_radius": rho,
            "stable": rho < 1.0,
            "margin": 1.0 - rho,
            "max_stable_latency_cycles": linearised.max_stable_latency(program),
        },
        "warnings": [],
    }
    warn = out["warnings"]
    if rho < 1.0:
        mean, cov = lin.stationary()
        FS = cfg.adc.full_scale_V
        mu = mean[:n] / FS
        sd = np.sqrt(np.clip(np.diag(cov)[:n], 0.0, None)) / FS
        lsb = 2.0 ** (1 - cfg.adc.bits)
        hi = (1.0 - 0.5 * lsb - mu) / np.maximum(sd, 1e-300)
        lo = (1.0 + 0.5 * lsb + mu) / np.maximum(sd, 1e-300)
        p_clip = _gauss_tail(hi) + _gauss_tail(lo)
        dac = _dac_force_spread(cfg, program, mean, cov)
        out["spread"] = {
            "mean_fraction_of_full_scale": mu.tolist(),
            "std_fraction_of_full_scale": sd.tolist(),
            "clip_probability": p_clip.tolist(),
            "std_in_lsb": (sd / lsb).tolist(),
            "dac_force_mean": dac["mean"].tolist(),
            "dac_force_std": dac["std"].tolist(),
            "dac_clip_probability": dac["p_clip"].tolist(),
        }
        out["predictions"] = predict_errors(cfg, w, program, lin, mean, cov)
        _design_rules(cfg, w, program, out, p_clip, dac)
    else:
        out["spread"] = None
        out["predictions"] = None
        warn.append(warning(
            "unstable", f"the loop is unstable with {cfg.loop_latency_cycles} cycles of latency "
            f"(spectral radius {rho:.3f})", rho, "compiler.time_constant_samples",
            "raise it (a slower loop tolerates more latency) or cut the demon's latency"))
    mix = _mixing_samples(lin, cfg)
    out["mixing"] = {"slowest_tau_samples": mix, "burn_in_samples": cfg.run.burn_in_samples,
                     "samples": cfg.run.samples}
    if mix is not None and cfg.run.burn_in_samples < 5 * mix:
        warn.append(warning(
            "slow_mixing", f"run.burn_in_samples = {cfg.run.burn_in_samples} is under 5 slowest time constants "
            f"({5 * mix:.0f} samples)", mix, "run.burn_in_samples", f"set it to at least {int(np.ceil(5 * mix))}"))
    if mix is not None and cfg.run.samples < 50 * mix:
        warn.append(warning(
            "slow_mixing", f"run.samples = {cfg.run.samples} is under 50 slowest time constants "
            f"({50 * mix:.0f} samples): few independent samples per chain", mix, "run.samples",
            f"set it to at least {int(np.ceil(50 * mix))}"))
    if out["timing"]["dropped_fraction"] > 0:
        warn.append(warning(
            "dropped_samples", f"the demon's initiation interval ({cfg.demon_initiation_interval} cycles) exceeds "
            f"the sample period: {out['timing']['dropped_fraction']:.0%} of samples will be dropped",
            out["timing"]["dropped_fraction"], "adc.sample_period_cycles",
            f"set it to at least {cfg.demon_initiation_interval}"))
    if program.amplifier_rel_error > 0:
        warn.append(warning(
            "amplifier_range", "the capacitances span more than the noise amplifiers' density range "
            f"{AMPLIFIER_DENSITY_RANGE:g}: predicted covariance error {program.amplifier_rel_error:.3g}",
            program.amplifier_rel_error, "array.C_F", f"keep the largest within {AMPLIFIER_DENSITY_RANGE:g}x the smallest"))
    return jsonable(out)


def explain_text(rep: dict) -> str:
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
    lat = rep["timing"]["loop_latency_cycles"]
    if ms is None:
        ms_txt = "any latency"
    elif ms < lat and st["stable"]:
        # stability need not be monotone in latency: a stiff loop can overshoot with none
        ms_txt = ("this latency, though not with none (a stiff loop overshoots without it)" if ms < 0 else
                  f"this latency, though not at every latency up to it (from {ms + 1} cycles)")
    else:
        ms_txt = "no latency at all" if ms < 0 else f"latency up to {ms} cycles"
    L.append(f"  stability       spectral radius {st['spectral_radius']:.4f} -> "
             f"{'stable' if st['stable'] else 'UNSTABLE'} (margin {st['margin']:.3g}); stable for {ms_txt}")
    pr = rep.get("predictions")
    if pr:
        def g(v, fmt=".3g"):
            return "n/a" if v is None else format(v, fmt)

        se = f" ± {g(pr['standard_error'], '.2g')} (standard error)" if pr["standard_error"] is not None else ""
        L.append(f"  predicted       {pr['headline']} bias {g(pr['bias'])}{se}; tau_int {g(pr['tau_int_samples'])} "
                 f"samples, {g(pr['effective_samples'])} effective samples")
    L.extend(warning_lines(rep["warnings"]))
    return "\n".join(L)


def warning_lines(warnings: list) -> list[str]:
    """One line per warning: ``warning [code] message -> key: advice``."""
    out = []
    for w in warnings:
        if isinstance(w, str):
            out.append(f"  warning         {w}")
            continue
        adv = f": {w['advice']}" if w.get("advice") else ""
        key = f" -> {w['key']}{adv}" if w.get("key") else ""
        out.append(f"  warning         [{w['code']}] {w['message']}{key}")
    return out
