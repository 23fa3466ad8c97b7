"""``workload.kind: gaussian``: sampling ``N(mu, S)``.

The hardware samples ``x ~ N(a mu, a^2 S)`` (:mod:`demonloop.workloads.langevin`, ``M = S^-1``,
``b_t = M mu``), so ``mu = mean / a`` and ``S = cov / a^2``; scored by the covariance's relative
Frobenius error, the mean error and ``KL(N(mu_hat, S_hat) || N(mu, S))``.
"""

from __future__ import annotations

from typing import Literal, Optional

import numpy as np

from demonloop.config.base import Scalar
from demonloop.config.errors import ConfigError
from demonloop.workloads.base import WorkloadSection
from demonloop.workloads.langevin import LangevinWorkload, MatrixSpec, draw_matrix_entries, matrix
from demonloop.workloads.metrics import kl_gaussian


class GaussianSection(WorkloadSection):
    """Exactly one of ``covariance`` and ``precision`` (rows, or ``{random_spd: {...}}``);
    ``mean`` (default zero)."""

    kind: Literal["gaussian"]
    mean: Optional[list[Scalar]] = None
    covariance: MatrixSpec = None
    precision: MatrixSpec = None


class Gaussian(LangevinWorkload):
    kind = "gaussian"
    section = GaussianSection
    headline = "cov_rel_error"
    matrix_words = "the precision (inverse covariance)"

    def problem_key(self, cfg) -> str:
        return "precision" if cfg.workload.precision is not None else "covariance"

    def problem_matrix(self, cfg) -> np.ndarray:
        w = cfg.workload
        if w.precision is not None:
            return matrix(w.precision)
        S = np.linalg.inv(matrix(w.covariance))
        return 0.5 * (S + S.T)

    def problem(self, cfg):
        M = self.problem_matrix(cfg)
        w = cfg.workload
        mu = np.zeros(cfg.n) if w.mean is None else np.asarray(w.mean, dtype=np.float64)
        return M, M @ mu

    def validate(self, cfg) -> None:
        w = cfg.workload
        if (w.covariance is None) == (w.precision is None):
            raise ConfigError("workload.covariance", "give exactly one of covariance and precision for a gaussian")
        super().validate(cfg)

    def scale(self, cfg, M, b_t, lam_min):
        """The widest unit's mean plus ``range_sigmas`` standard deviations fills the range."""
        S = np.linalg.inv(M)
        mu = np.linalg.solve(M, b_t)
        return 1.0 / float(np.max(np.abs(mu) + cfg.compiler.range_sigmas * np.sqrt(np.diag(S))))

    def score(self, program, mu_x, cov_x):
        a = program.scale
        cov_t = cov_x / a**2
        S = np.linalg.inv(program.M)
        mu = np.linalg.solve(program.M, program.b_t)
        mu_hat = mu_x / a
        err = float(np.linalg.norm(cov_t - S) / np.linalg.norm(S))
        return {"headline": err, "mu_hat": mu_hat, "mu": mu, "S_hat": cov_t, "S": S}

    def result_metrics(self, program, sc, st):
        S, mu = sc["S"], sc["mu"]
        return dict(
            cov_rel_error=sc["headline"],
            mean_error=float(np.linalg.norm(sc["mu_hat"] - mu) / np.sqrt(np.trace(S))),
            kl=kl_gaussian(sc["mu_hat"], sc["S_hat"], mu, S),
            cov_rel_standard_error=float(np.linalg.norm(st["cov_se"]) / np.linalg.norm(S)),
            mean_se=(st["se_x"] / program.scale).tolist(),
            mean=sc["mu_hat"].tolist(),
            covariance=sc["S_hat"].tolist(),
            exact_mean=mu.tolist(),
            exact_covariance=S.tolist(),
        )

    def result_line(self, rep):
        m = rep["metrics"]
        return (f"  covariance error {m['cov_rel_error']:.3g} relative (standard error {m['cov_rel_standard_error']:.2g}); "
                f"mean error {m['mean_error']:.3g}; KL {m['kl']:.3g} nats")

    def draw_estimate(self, axes, m):
        draw_matrix_entries(axes[0], np.array(m["covariance"]), np.array(m["exact_covariance"]), "covariance")


WORKLOAD = Gaussian()
