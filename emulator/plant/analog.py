"""The analog s-unit array: RC and RLC cells, coupled through resistors and capacitors.

Units are SI throughout (V, A, s, F, ohm, H, K). Node voltages ``v`` (and, for RLC cells,
inductor currents ``i``) obey the linear Langevin equation (fluctuation-frontier paper,
eqs. 6 to 9, written for a general network):

    C dv = (-G v - i + u) dt + dxi          (i = 0 for RC cells)
    L di = v dt                             (RLC cells: one inductor from each node to ground)

``C`` is the Maxwell capacitance matrix (self capacitors plus coupling capacitors), ``G`` the
conductance matrix (self resistors plus coupling resistors), ``u`` the injected currents (DAC)
and ``dxi`` the noise currents. A coupling element of value ``c`` between nodes i and j adds
``|c|`` to ``[i,i]`` and ``[j,j]`` and ``-c`` to ``[i,j]`` and ``[j,i]``: a positive value is an
ordinary resistor or capacitor, a negative value the same element wired with inverted polarity
(through a differential pair), which realises a positive off-diagonal entry.

Noise (fluctuation-dissipation): every resistor is a Johnson current source of two-sided
density ``2 k_B T / R``, so the physical noise covariance is ``2 k_B T G`` and, with no demon,
the stationary covariance is exactly ``k_B T C^-1`` for any network (``i ~ k_B T L^-1`` for RLC).
Each unit also has a noise amplifier: an independent white current source into node j of
two-sided density ``q_amp[j]`` [A^2 s], on top of the physical floor, which stays. Its
*effective temperature* is ``T + q_amp[j] / (2 k_B G[j,j])``: the temperature at which node j's
own conductance would make that much noise. A uniform ``q_amp`` makes an RC array with
``G ∝ A`` sample ``N(∝ A^-1 b, ∝ A^-1)`` (the SPU's overdamped Langevin sampler); raising each
self resistor to one temperature (``q_amp ∝ g_self``, no coupling resistors) is exact
fluctuation-dissipation at that temperature.

Time stepping is exact: between events the input is held (zero-order hold), so a step of
length ``h`` is ``s' = Phi s + Gamma u + w``, ``w ~ N(0, Q(h))``, with ``Phi = exp(-A h)``,
``Gamma = int_0^h exp(-A t) dt B`` and ``Q(h) = int_0^h exp(-A t) Qc exp(-A^T t) dt``, all
three from one block matrix exponential (Van Loan, 1978). This is exact for non-normal drift
matrices (non-uniform ``C`` makes ``C^-1 G`` non-normal). No Euler step anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
from scipy.constants import k as K_B

__all__ = [
    "K_B",
    "Network",
    "LinearSDE",
    "coupled_matrix",
    "discretize",
    "noise_factor",
    "stationary_covariance",
]


def coupled_matrix(self_values: np.ndarray, coupling: np.ndarray | None) -> np.ndarray:
    """Nodal matrix (Maxwell capacitance or conductance) from self and coupling elements.

    ``self_values`` (n,) are elements from each node to ground; ``coupling`` (n, n) symmetric,
    zero diagonal, signed by polarity (see module docstring). Units follow the inputs (F or S).
    """
    self_values = np.asarray(self_values, dtype=np.float64)
    n = self_values.shape[0]
    M = np.diag(self_values).astype(np.float64)
    if coupling is not None:
        c = np.asarray(coupling, dtype=np.float64).copy()
        np.fill_diagonal(c, 0.0)
        M += np.diag(np.abs(c).sum(axis=1)) - c
    assert M.shape == (n, n)
    return M


@dataclass(frozen=True)
class Network:
    """A physical array instance (component values after tolerances), SI units.

    ``C`` (n, n) Maxwell capacitance matrix [F]; ``G`` (n, n) conductance matrix [S];
    ``T`` physical temperature [K]; ``q_amp`` (n,) amplifier current-noise densities [A^2 s]
    (zeros: physical noise only); ``L`` (n,) inductances [H], or None for RC cells.
    """

    C: np.ndarray
    G: np.ndarray
    T: float
    q_amp: np.ndarray
    L: np.ndarray | None = None
    q_couple: np.ndarray | None = None   # (n, n) noise densities across coupling resistors [A^2 s]

    @property
    def n(self) -> int:
        return self.C.shape[0]

    @property
    def is_rlc(self) -> bool:
        return self.L is not None

    @property
    def state_dim(self) -> int:
        return 2 * self.n if self.is_rlc else self.n

    def noise_current_covariance(self) -> np.ndarray:
        """Covariance density of the noise currents into the nodes [A^2 s]:
        ``2 k_B T G + diag(q_amp)``, plus, for an amplifier across a coupling resistor (density
        ``q`` between nodes i and j), ``q`` on ``[i,i]`` and ``[j,j]`` and ``-q`` on ``[i,j]``."""
        N = 2.0 * K_B * self.T * self.G + np.diag(self.q_amp)
        if self.q_couple is not None:
            N = N + coupled_matrix(np.zeros(self.n), self.q_couple)
        return N

    def effective_temperature(self) -> np.ndarray:
        """(n,) ``T + (q_amp + sum_k q_couple[j,k]) / (2 k_B G_jj)`` [K]."""
        q = self.q_amp if self.q_couple is None else self.q_amp + np.abs(self.q_couple).sum(axis=1)
        return self.T + q / (2.0 * K_B * np.diag(self.G))

    def sde(self) -> "LinearSDE":
        """The network as ``ds = (-A s + B u) dt + dW``, ``dW dW^T = Qc dt``, ``s = [v]`` or ``[v, i]``."""
        n = self.n
        Cinv = np.linalg.inv(self.C)
        N = self.noise_current_covariance()
        if not self.is_rlc:
            A = Cinv @ self.G
            B = Cinv.copy()
            Qc = Cinv @ N @ Cinv.T
        else:
            Linv = np.diag(1.0 / self.L)
            A = np.block([[Cinv @ self.G, Cinv], [-Linv, np.zeros((n, n))]])
            B = np.vstack([Cinv, np.zeros((n, n))])
            Qc = np.zeros((2 * n, 2 * n))
            Qc[:n, :n] = Cinv @ N @ Cinv.T
        return LinearSDE(A=A, B=B, Qc=0.5 * (Qc + Qc.T))

    def equilibrium_covariance(self) -> np.ndarray:
        """Fluctuation-dissipation prediction with no amplifier excess: ``k_B T C^-1`` (and ``k_B T L^-1``)."""
        cov_v = K_B * self.T * np.linalg.inv(self.C)
        if not self.is_rlc:
            return cov_v
        n = self.n
        out = np.zeros((2 * n, 2 * n))
        out[:n, :n] = cov_v
        out[n:, n:] = K_B * self.T * np.diag(1.0 / self.L)
        return out


@dataclass
class LinearSDE:
    """``ds = (-A s + B u) dt + dW`` with ``E[dW dW^T] = Qc dt``; caches exact discretizations."""

    A: np.ndarray
    B: np.ndarray
    Qc: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return self.A.shape[0]

    def augment_first_order_input(self, tau: float) -> "LinearSDE":
        """Insert a first-order lag ``tau`` [s] between the input and the array (DAC settling).

        The new state is ``[s, u_a]`` with ``du_a = (u - u_a) / tau dt``; still linear, still exact.
        """
        d, m = self.A.shape[0], self.B.shape[1]
        A = np.block([[self.A, -self.B], [np.zeros((m, d)), np.eye(m) / tau]])
        B = np.vstack([np.zeros((d, m)), np.eye(m) / tau])
        Qc = np.zeros((d + m, d + m))
        Qc[:d, :d] = self.Qc
        return LinearSDE(A=A, B=B, Qc=Qc)

    def step(self, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(Phi, Gamma, Q)`` for a step of ``h`` seconds, cached per distinct ``h``."""
        key = float(h)
        hit = self._cache.get(key)
        if hit is None:
            hit = discretize(self.A, self.B, self.Qc, key)
            self._cache[key] = hit
        return hit

    def stationary_covariance(self) -> np.ndarray:
        return stationary_covariance(self.A, self.Qc)


def discretize(A: np.ndarray, B: np.ndarray, Qc: np.ndarray, h: float):
    """Exact zero-order-hold discretization of ``ds = (-A s + B u) dt + dW`` over ``h`` seconds.

    One block matrix exponential (Van Loan): with ``F = -A``,

        expm(h [[-F, Qc, 0], [0, F^T, I], [0, 0, 0]]) = [[., E12, .], [0, E22, E23], [0, 0, I]]

    gives ``Phi = E22^T``, ``Q = Phi E12`` and ``Gamma = E23^T B``. ``Qc`` is scaled to unit norm
    inside the exponential (``E12`` is linear in it) to keep the blocks commensurate.

    The ``-F`` block grows like ``exp(|A| h)``, so for stiff steps (``|A| h > 1``) the exponential
    is taken over ``h / 2**k`` and the step is doubled ``k`` times with the exact semigroup
    identities ``Phi(2h) = Phi(h)^2``, ``Gamma(2h) = Phi(h) Gamma(h) + Gamma(h)``,
    ``Q(2h) = Phi(h) Q(h) Phi(h)^T + Q(h)``. Returns ``(Phi, Gamma, Q)``; ``Q`` is symmetrised.
    """
    d = A.shape[0]
    if h == 0.0:
        return np.eye(d), np.zeros_like(B, dtype=np.float64), np.zeros((d, d))
    norm_h = float(np.abs(A).sum(axis=1).max()) * h
    k = max(0, int(np.ceil(np.log2(norm_h)))) if norm_h > 1.0 else 0
    hk = h / (1 << k)
    q0 = float(np.abs(Qc).max()) or 1.0
    H = np.zeros((3 * d, 3 * d))
    H[:d, :d] = A
    H[:d, d:2 * d] = Qc / q0
    H[d:2 * d, d:2 * d] = -A.T
    H[d:2 * d, 2 * d:] = np.eye(d)
    E = sla.expm(H * hk)
    Phi = E[d:2 * d, d:2 * d].T.copy()
    Q = Phi @ E[:d, d:2 * d] * q0
    Gamma = E[d:2 * d, 2 * d:].T @ B
    for _ in range(k):
        Q = Phi @ Q @ Phi.T + Q
        Gamma = Phi @ Gamma + Gamma
        Phi = Phi @ Phi
    return Phi, Gamma, 0.5 * (Q + Q.T)


def noise_factor(Q: np.ndarray) -> np.ndarray:
    """A matrix ``S`` with ``S S^T = Q`` for a PSD ``Q`` (Cholesky, or eigen-square-root when
    ``Q`` is singular, e.g. an inductor current over a very short step)."""
    if not Q.any():
        return np.zeros_like(Q)
    try:
        return np.linalg.cholesky(Q)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(Q)
        return V * np.sqrt(np.clip(w, 0.0, None))


def stationary_covariance(A: np.ndarray, Qc: np.ndarray) -> np.ndarray:
    """Stationary covariance of ``ds = -A s dt + dW``: the solution of ``A S + S A^T = Qc``."""
    S = sla.solve_continuous_lyapunov(A, Qc)
    return 0.5 * (S + S.T)
