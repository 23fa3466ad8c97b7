"""The loop linearised: the sampled closed loop as a linear state-space system (stability,
stationary mean and covariance), what ``demonloop check`` predicts with.

Linearise the converters and the demon (no quantization, no clipping): the ADC reads
``x = (1 + g_adc) v / FS``, the demon outputs ``f = b' - A' x`` and the DAC drives
``u = I_fs (1 + g_dac) f + I_off``, so ``u = u0 - K s`` for the array state ``s``.

The demon accepts one sample every ``q`` sample periods (``q = ceil(II / P)`` when its
initiation interval ``II`` exceeds the period ``P``, else 1), so the loop updates with period
``T_u = q P`` cycles, and the force from update ``n`` reaches the array ``L`` cycles later
(``L = L_adc + L_demon + L_dac``). Write ``L = d T_u + r`` with ``0 <= r < T_u``. Over
``[t_n, t_{n+1})`` the array sees ``u_{n-d-1}`` until ``t_n + r`` and ``u_{n-d}`` after, so with
the exact discretization (:func:`demonloop.plant.analog.discretize`)

    s_{n+1} = Phi(T_u) s_n + Phi(T_u - r) Gamma(r) u_{n-d-1} + Gamma(T_u - r) u_{n-d} + w_n,
    w_n ~ N(0, Q(T_u)),

and the augmented state ``z_n = [s_n, u_{n-1}, ..., u_{n-d-1}]`` evolves by one matrix ``F``.
The loop is stable iff the spectral radius ``rho(F) < 1``; its stationary mean and covariance at
the update instants follow from ``(I - F) z = c`` and the discrete Lyapunov equation
``P = F P F^T + W``. This is exact for the linearised loop; quantization adds roughly
``lsb**2 / 12`` per converter on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from demonloop.plant.analog import LinearSDE


@dataclass
class LinearisedLoop:
    """The linearised loop's transition ``z' = F z + c + w``, ``w ~ N(0, W)``, per update."""

    F: np.ndarray            # transition of the augmented state
    c: np.ndarray            # constant input per update
    W: np.ndarray            # noise covariance per update
    dim: int                 # array state dimension (the first block of z)
    n: int                   # units
    update_period: int       # cycles between accepted updates
    d: int
    r: int

    @property
    def spectral_radius(self) -> float:
        return float(np.abs(np.linalg.eigvals(self.F)).max())

    @property
    def stable(self) -> bool:
        return self.spectral_radius < 1.0

    def stationary(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, covariance) of the array state at the update instants (stable loops only)."""
        I = np.eye(self.F.shape[0])
        z = np.linalg.solve(I - self.F, self.c)
        P = sla.solve_discrete_lyapunov(self.F, self.W)
        P = 0.5 * (P + P.T)
        return z[: self.dim], P[: self.dim, : self.dim]

    def time_average_covariance(self, samples: int) -> np.ndarray:
        """Covariance of the average of ``samples`` consecutive stationary update-instant states
        (one chain): ``(1/S) [G_0 + sum_{k=1}^{S-1} (1 - k/S) (G_k + G_k^T)]`` with the
        autocovariances ``G_k = F^k P``, summed until ``F^k`` is negligible."""
        P = sla.solve_discrete_lyapunov(self.F, self.W)
        P = 0.5 * (P + P.T)
        acc = P.copy()
        Fk = np.eye(self.F.shape[0])
        for k in range(1, samples):
            Fk = Fk @ self.F
            Gk = Fk @ P
            acc += (1.0 - k / samples) * (Gk + Gk.T)
            if np.abs(Fk).max() < 1e-14:
                break
        d = self.dim
        return acc[:d, :d] / samples


def build(sde: LinearSDE, n: int, T_clk: float, period: int, ii: int, latency: int,
          K: np.ndarray, u0: np.ndarray) -> LinearisedLoop:
    """The closed loop for array ``sde`` (state dim ``d_s``, input dim ``n``) with feedback
    ``u = u0 - K s`` (``K`` (n, d_s) [A per state unit], ``u0`` (n,) [A])."""
    q = 1 if ii <= period else -(-ii // period)
    Tu = q * period
    d, r = divmod(latency, Tu)
    ds = sde.dim
    Phi, _, Q = sde.step(Tu * T_clk)
    _, Gam_r, _ = sde.step(r * T_clk)
    Phi_rest, _, _ = sde.step((Tu - r) * T_clk)
    _, Gam_rest, _ = sde.step((Tu - r) * T_clk)
    B_old = Phi_rest @ Gam_r          # effect of u_{n-d-1}
    B_new = Gam_rest                  # effect of u_{n-d}
    nq = d + 1                        # queue u_{n-1} .. u_{n-d-1}
    N = ds + nq * n
    F = np.zeros((N, N))
    c = np.zeros(N)
    F[:ds, :ds] = Phi
    # u_{n-d-1} is the last queue entry
    F[:ds, ds + (nq - 1) * n: ds + nq * n] += B_old
    if d == 0:
        # u_{n-d} = u_n = u0 - K s_n
        F[:ds, :ds] += -B_new @ K
        c[:ds] += B_new @ u0
    else:
        # u_{n-d} is queue entry d-1 (u_{n-1} is entry 0)
        F[:ds, ds + (d - 1) * n: ds + d * n] += B_new
    # shift the queue: new entry 0 is u_n = u0 - K s_n; entry k+1 = old entry k
    F[ds:ds + n, :ds] = -K
    c[ds:ds + n] = u0
    for k in range(nq - 1):
        F[ds + (k + 1) * n: ds + (k + 2) * n, ds + k * n: ds + (k + 1) * n] = np.eye(n)
    W = np.zeros((N, N))
    W[:ds, :ds] = Q
    return LinearisedLoop(F=F, c=c, W=W, dim=ds, n=n, update_period=Tu, d=d, r=r)


def from_program(program, sde: LinearSDE | None = None, latency: int | None = None) -> LinearisedLoop:
    """The linearised closed loop of a compiled program (nominal components unless ``sde`` given)."""
    cfg = program.config
    n = cfg.n
    if sde is None:
        sde = program.elements.network().sde()
        if program.dac.settling_tau_s:
            sde = sde.augment_first_order_input(program.dac.settling_tau_s)
    adc, dac, spec = program.adc, program.dac, program.spec
    A_real = program.A_raw * spec.coef.lsb
    b_real = program.b_raw * spec.bias.lsb
    g_dac = dac.full_scale_A * (1.0 + dac.gain_error)
    # x = g_adc v / FS + off / FS (the converter model's linearisation)
    Kx = np.zeros((n, sde.dim))
    Kx[:, :n] = np.diag(adc.linear_gain / adc.full_scale_V)
    x0 = adc.linear_offset_V / adc.full_scale_V
    K = g_dac[:, None] * (A_real @ Kx)
    u0 = g_dac * (b_real - A_real @ x0) + dac.offset_A
    L = cfg.loop_latency_cycles if latency is None else latency
    return build(sde, n, 1.0 / cfg.clock.f_clk_Hz, cfg.adc.sample_period_cycles,
                 cfg.demon_initiation_interval, L, K, u0)


def max_stable_latency(program, limit: int = 100000) -> int | None:
    """Largest total loop latency (cycles) for which the linearised loop is stable, or None if
    it is stable for every latency up to ``limit`` (e.g. a demon with no matrix)."""
    if not np.any(program.A_raw):
        return None
    cfg = program.config
    P = cfg.adc.sample_period_cycles
    if not from_program(program, latency=0).stable:
        return -1
    lo, hi = 0, P
    while from_program(program, latency=hi).stable:
        lo, hi = hi, hi * 2
        if hi > limit:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if from_program(program, latency=mid).stable:
            lo = mid
        else:
            hi = mid
    return lo
