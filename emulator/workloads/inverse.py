"""``workload.kind: inverse``: ``A^-1`` as the sampled covariance (intro note §2.1).

The hardware samples ``x ~ N(0, a^2 A^-1)`` (:mod:`demonloop.workloads.langevin`), so
``A^-1 = cov / a^2``; scored by the relative Frobenius error against ``numpy.linalg.inv``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from demonloop.workloads.base import WorkloadSection
from demonloop.workloads.langevin import LangevinWorkload, MatrixSpec, draw_matrix_entries


class InverseSection(WorkloadSection):
    """``A``: the SPD matrix to invert (rows, or ``{random_spd: {...}}``)."""

    kind: Literal["inverse"]
    A: MatrixSpec


class Inverse(LangevinWorkload):
    kind = "inverse"
    section = InverseSection
    headline = "rel_error"

    def score(self, program, mu_x, cov_x):
        cov_t = cov_x / program.scale**2
        Ainv = np.linalg.inv(program.M)
        err = float(np.linalg.norm(cov_t - Ainv) / np.linalg.norm(Ainv))
        return {"headline": err, "Ainv_hat": cov_t, "Ainv": Ainv}

    def result_metrics(self, program, sc, st):
        inv_impl = np.linalg.inv(program.implemented["M"])
        return dict(
            rel_error=sc["headline"],
            rel_error_implemented=float(np.linalg.norm(sc["Ainv_hat"] - inv_impl) / np.linalg.norm(inv_impl)),
            rel_standard_error=float(np.linalg.norm(st["cov_se"]) / np.linalg.norm(sc["Ainv"])),
            inverse=sc["Ainv_hat"].tolist(),
            exact=sc["Ainv"].tolist(),
        )

    def result_line(self, rep):
        m = rep["metrics"]
        return f"  inverse error    {m['rel_error']:.3g} relative to numpy.linalg.inv (standard error {m['rel_standard_error']:.2g})"

    def draw_estimate(self, axes, m):
        draw_matrix_entries(axes[0], np.array(m["inverse"]), np.array(m["exact"]), "A⁻¹")


WORKLOAD = Inverse()
