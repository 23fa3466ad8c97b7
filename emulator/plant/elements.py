"""Nominal component values of the array, and the instance drawn from them with tolerances.

A workload's compiler chooses :class:`Elements` (self and coupling capacitors and resistors,
inductors, amplifier noise densities); :meth:`Elements.network` turns them into the physical
:class:`~demonloop.plant.analog.Network` of one hardware instance, each element scaled by
``1 + tol * N(0, 1)`` with the ``array.tolerance`` of the config (fluctuation-frontier paper,
eqs. 16 and 17), drawn from the instance's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demonloop.plant.analog import Network, coupled_matrix


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
    q_couple: np.ndarray | None = None   # (n, n) densities of amplifiers across coupling resistors

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
        qc = self.q_couple
        if qc is not None and rng is not None and t and t.noise_gain:
            qc = qc * np.square(sym(np.ones_like(qc), t.noise_gain))
        return Network(
            C=coupled_matrix(C_self, C_couple),
            G=coupled_matrix(g_self, g_couple),
            T=self.T,
            q_amp=q,
            L=L,
            q_couple=qc,
        )
