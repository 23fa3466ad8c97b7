"""``workload.kind: logdet``: ``log det A`` from the sampled covariance (intro note §2.1).

The hardware samples ``x ~ N(0, a^2 A^-1)`` (:mod:`demonloop.workloads.langevin`), so
``log det A = -log det(cov / a^2)``; scored by the absolute error against
``numpy.linalg.slogdet``, with a standard error from the per-batch estimates.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from demonloop.workloads.base import WorkloadSection
from demonloop.workloads.langevin import LangevinWorkload, MatrixSpec


class LogdetSection(WorkloadSection):
    """``A``: the SPD matrix (rows, or ``{random_spd: {...}}``)."""

    kind: Literal["logdet"]
    A: MatrixSpec


class Logdet(LangevinWorkload):
    kind = "logdet"
    section = LogdetSection
    headline = "abs_error"

    def score(self, program, mu_x, cov_x):
        cov_t = cov_x / program.scale**2
        sign, ld = np.linalg.slogdet(cov_t)
        est = -ld if sign > 0 else float("nan")
        true = float(np.linalg.slogdet(program.M)[1])
        return {"headline": abs(est - true), "logdet_hat": est, "logdet": true}

    def result_metrics(self, program, sc, st):
        a = program.scale
        blds = []
        for b in range(st["nb"]):
            s, ld = np.linalg.slogdet(st["bcov"][b] / a**2)
            blds.append(-ld if s > 0 else np.nan)
        blds = np.asarray(blds)
        return dict(
            abs_error=sc["headline"],
            logdet=sc["logdet_hat"],
            exact=sc["logdet"],
            standard_error=float(np.nanstd(blds, ddof=1) / np.sqrt(np.sum(np.isfinite(blds)))),
        )

    def result_line(self, rep):
        m = rep["metrics"]
        return (f"  log-determinant  {m['logdet']:.5g} vs exact {m['exact']:.5g} "
                f"(error {m['abs_error']:.3g}, standard error {m['standard_error']:.2g})")

    def draw_estimate(self, axes, m):
        ax1 = axes[0]
        ax1.bar(["exact", "hardware"], [m["exact"], m["logdet"]],
                yerr=[0, 2 * (m["standard_error"] or 0)], capsize=4, color=["0.6", "C0"])
        ax1.set_ylabel("log det A")
        ax1.set_title("log-determinant")


WORKLOAD = Logdet()
