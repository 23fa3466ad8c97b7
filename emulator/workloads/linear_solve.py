"""``workload.kind: linear_solve``: ``A x = b`` by sampling (intro note §2.1).

The hardware samples ``x ~ N(a A^-1 b, a^2 A^-1)`` (:mod:`demonloop.workloads.langevin`), so
``A^-1 b = mean / a``; scored by ``rel_error`` against ``numpy.linalg.solve`` (and
``rel_error_implemented`` against the quantised problem, with the chi-square of its z-scores).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from demonloop.config.base import Scalar
from demonloop.config.errors import ConfigError
from demonloop.workloads.base import WorkloadSection
from demonloop.workloads.langevin import LangevinWorkload, MatrixSpec, _rel


class LinearSolveSection(WorkloadSection):
    """``A``: the SPD matrix (rows, or ``{random_spd: {...}}``); ``b``: the right-hand side."""

    kind: Literal["linear_solve"]
    A: MatrixSpec
    b: list[Scalar]


class LinearSolve(LangevinWorkload):
    kind = "linear_solve"
    section = LinearSolveSection
    headline = "rel_error"
    needs_covariance = False
    panels = 3

    def problem(self, cfg):
        return self.problem_matrix(cfg), np.asarray(cfg.workload.b, dtype=np.float64)

    def validate_vectors(self, cfg) -> None:
        if not np.any(np.asarray(cfg.workload.b)):
            raise ConfigError("workload.b", "is all zeros: the solution is 0, nothing to solve")

    def scale(self, cfg, M, b_t, lam_min):
        """The mean uses ``mean_fraction`` of the range, through ``|M^-1 b|_inf <= |b|_2 / lambda_min``."""
        bound = float(np.linalg.norm(b_t)) / lam_min
        return cfg.compiler.mean_fraction / bound

    def noise_level(self, cfg, a, M, S1):
        """Off, a target RMS (``array.noise.rms_V``), one effective temperature, or by default the
        spread that fills the rest of the range at ``range_sigmas``."""
        noise, cc = cfg.array.noise, cfg.compiler
        FS = cfg.adc.full_scale_V
        if noise.amplifiers_off:
            return 0.0
        if noise.rms_V is not None:
            return (noise.rms_V / FS) ** 2 / float(np.diag(S1).max())
        if noise.effective_temperature_K is not None:
            return None
        sig = (1.0 - cc.mean_fraction) / cc.range_sigmas
        return sig**2 / float(np.diag(S1).max())

    def quantization_answer(self, M, b_t, M_impl, bt_impl) -> dict:
        return {"solution_rel_error": _rel(np.linalg.solve(M_impl, bt_impl), np.linalg.solve(M, b_t))}

    def score(self, program, mu_x, cov_x):
        x_hat = mu_x / program.scale
        x_star = np.linalg.solve(program.M, program.b_t)
        err = float(np.linalg.norm(x_hat - x_star) / np.linalg.norm(x_star))
        return {"headline": err, "x_hat": x_hat, "x_star": x_star}

    def result_metrics(self, program, sc, st):
        se = st["se_x"] / program.scale
        x_star = sc["x_star"]
        x_impl = np.linalg.solve(program.implemented["M"], program.implemented["b_t"])
        return dict(
            rel_error=sc["headline"],
            rel_error_implemented=float(np.linalg.norm(sc["x_hat"] - x_impl) / np.linalg.norm(x_impl)),
            rel_standard_error=float(np.linalg.norm(se) / np.linalg.norm(x_star)),
            z_chi2_implemented=float(np.sum(((sc["x_hat"] - x_impl) / se) ** 2)),
            solution=sc["x_hat"].tolist(),
            solution_se=se.tolist(),
            exact=x_star.tolist(),
        )

    def result_line(self, rep):
        m = rep["metrics"]
        return (f"  solution error   {m['rel_error']:.3g} relative to numpy.linalg.solve "
                f"(standard error {m['rel_standard_error']:.2g}; quantization alone "
                f"{rep['compiler']['quantization']['solution_rel_error']:.2g})")

    def draw_estimate(self, axes, m):
        ax1, ax3 = axes
        x, se, ex = np.array(m["solution"]), np.array(m["solution_se"]), np.array(m["exact"])
        idx = np.arange(len(x))
        ax1.errorbar(idx, x, yerr=2 * se, fmt="o", ms=5, capsize=3, label="hardware estimate (±2 SE)")
        ax1.plot(idx, ex, "kx", ms=8, label="numpy.linalg.solve")
        ax1.set_xlabel("component i")
        ax1.set_ylabel("x_i")
        ax1.set_title("solution of A x = b")
        ax1.legend(loc="best", fontsize=8)
        ax3.axhline(0.0, color="k", lw=0.8)
        ax3.errorbar(idx, x - ex, yerr=2 * se, fmt="o", ms=5, capsize=3, color="C1")
        ax3.set_xlabel("component i")
        ax3.set_ylabel("x_i (hardware) - x_i (exact)")
        ax3.set_title(f"residual, ±2 standard errors (rel. error {m['rel_error']:.2g})")


WORKLOAD = LinearSolve()
