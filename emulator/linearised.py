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
from scipy.optimize import brentq as sla_brentq

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


    def time_average_product_variance(self, samples: int, white: np.ndarray | None = None) -> np.ndarray:
        """``V[i, j]``: variance of one chain's time average of ``s_i s_j`` over ``samples``
        stationary update instants (zero-mean Gaussian state, first block of ``z``, per unit of
        ``s``), by Isserlis: ``(1/S) sum_{|k|<S} (1 - |k|/S) (G_ii(k) G_jj(k) + G_ij(k) G_ji(k))``
        with ``G(k) = [F^k P]`` and ``G(-k) = G(k)^T``. ``white`` (dim,) adds white measurement
        noise of that variance to each unit (the ADC's ``lsb**2 / 12``), at lag 0 only."""
        P = sla.solve_discrete_lyapunov(self.F, self.W)
        P = 0.5 * (P + P.T)
        d = self.dim
        G0 = P[:d, :d].copy()
        if white is not None:
            G0 = G0 + np.diag(white)
        dg = np.diag(G0)
        acc = np.outer(dg, dg) + G0 * G0.T
        Fk = np.eye(self.F.shape[0])
        for k in range(1, samples):
            Fk = Fk @ self.F
            Gk = (Fk @ P)[:d, :d]
            dk = np.diag(Gk)
            term = np.outer(dk, dk) + Gk * Gk.T
            acc += (1.0 - k / samples) * (term + term.T)
            if np.abs(Fk).max() < 1e-14:
                break
        return acc / samples


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


#: Frequency grid on [0, pi] for the crossing search (each crossing is then refined by bisection).
_N_OMEGA = 513
#: Fractional latencies tried for the "stable at any latency" certificate when T_u is larger.
_N_FRACTIONS = 64


class _DelayCount:
    """The number of unstable closed-loop poles as a function of latency, from fixed-size pieces.

    At latency ``L = d T_u + r`` the closed loop has the characteristic equation
    ``det(I + z^-d M_r(z)) = 0`` with the sampled loop gain (n x n)

        M_r(z) = K (zI - Phi)^-1 (z^-1 B_old + B_new) = K (zI - Phi)^-1 (z^-1 Gamma(T_u) + (1 - z^-1) Gamma(T_u - r))

    (from ``(zI - Phi) s = -(z^-d-1 B_old + z^-d B_new) K s``, with ``B_old = Phi(T_u - r) Gamma(r)
    = Gamma(T_u) - Gamma(T_u - r)`` by the semigroup identity). ``g_d(z) = det(I + z^-d M_r(z))``
    is analytic for ``|z| >= 1`` (``Phi`` is Schur: a passive array) and tends to 1 at infinity,
    so the number ``N(d)`` of unstable closed-loop poles is minus the winding number of
    ``g_d(e^{iw})``, ``w: 0 -> 2 pi`` (argument principle).

    Proof of the count. Put ``c(w, phi) = det(I + e^{-i phi} M_r(e^{iw}))`` on the torus; ``g_d``
    is ``c`` along the line ``phi = d w``. The zeros of ``c`` are where an eigenvalue
    ``lambda_k(w)`` of ``M_r`` has modulus 1 and ``phi = arg lambda_k + pi (mod 2 pi)``: isolated
    points ``(w_j, beta_j + 2 pi m)``. Near one, ``c ~ -(rho' x + i (alpha' x - y))`` (``rho``,
    ``alpha``: modulus and phase of ``lambda_k``; ``x = w - w_j``, ``y = phi - phi_j``), a map of
    local degree ``-sign(rho'(w_j))``. The triangle ``0 < w < 2 pi, 0 < phi < d w`` is bounded by
    the line ``phi = 0`` (winding ``-N(0)``), the segment ``w = 2 pi, phi: 0 -> 2 pi d`` (winding
    ``-d n_out``, ``n_out``: eigenvalues of ``M_r(1)`` outside the unit circle, each factor
    ``1 + e^{-i phi} lambda`` with ``|lambda| > 1`` turning once backwards per period) and the
    line ``phi = d w`` reversed; the winding around the boundary is the sum of the local degrees
    inside. Hence

        N(d) = N(0) + d n_out + sum_j -sign(rho'(w_j)) #{m >= 0: beta_j + 2 pi m < w_j d},

    with ``N(0)`` from the eigenvalues of the small ``d = 0`` loop. Everything on the right is
    computed once per ``r``, on a fixed frequency grid (crossings refined by bisection), whatever
    the latency. No crossing, ``n_out = 0`` and ``N(0) = 0`` is stability at every ``d``. The grid
    is the one approximation: a band where ``|lambda| > 1`` narrower than its spacing
    (pi / 512) would be missed.
    """

    def __init__(self, program):
        self.program = program
        lin = from_program(program, latency=0)
        self.Tu = lin.update_period
        self.T_clk = 1.0 / program.config.clock.f_clk_Hz
        sde = program.elements.network().sde()
        if program.dac.settling_tau_s:
            sde = sde.augment_first_order_input(program.dac.settling_tau_s)
        self.sde = sde
        ds, n = lin.dim, lin.n
        self.K = -lin.F[ds:ds + n, :ds]              # u = u0 - K s: the d = 0 loop's queue row is -K
        # Phi(t), Gamma(t) at every whole cycle t = 0 .. T_u from the one-cycle step, by the
        # semigroup identities (one matrix exponential instead of two per fractional latency)
        Phi1, Gam1, _ = sde.step(self.T_clk)
        self.Phi_t = [np.eye(ds)]
        self.Gam_t = [np.zeros_like(Gam1)]
        for _ in range(self.Tu):
            self.Gam_t.append(Phi1 @ self.Gam_t[-1] + Gam1)
            self.Phi_t.append(Phi1 @ self.Phi_t[-1])
        self.Phi, self.Gam_T = self.Phi_t[self.Tu], self.Gam_t[self.Tu]
        self.w = np.linspace(0.0, np.pi, _N_OMEGA)
        self.KR = self._KR(self.w)
        self._d: dict[int, float] = {}

    def _KR(self, w: np.ndarray) -> np.ndarray:
        z = np.exp(1j * w)
        I = np.eye(self.Phi.shape[0])
        return self.K @ np.linalg.inv(z[:, None, None] * I - self.Phi)       # (nw, n, ds)

    def _eig(self, w: np.ndarray, KR: np.ndarray, Gam_rest: np.ndarray) -> np.ndarray:
        zinv = np.exp(-1j * w)[:, None, None]
        M = zinv * (KR @ self.Gam_T) + (1.0 - zinv) * (KR @ Gam_rest)
        return np.linalg.eigvals(M)

    def first_unstable_d(self, r: int) -> float:
        """The smallest ``d >= 0`` with the loop unstable at latency ``d T_u + r``, or inf."""
        if r in self._d:
            return self._d[r]
        # the d = 0 loop, state [s_n, u_{n-1}]: s' = (Phi - B_new K) s + B_old u_{n-1} (+ const)
        Gam_rest = self.Gam_t[self.Tu - r]
        B_old = self.Phi_t[self.Tu - r] @ self.Gam_t[r]
        ds, n = self.K.shape[1], self.K.shape[0]
        F0 = np.zeros((ds + n, ds + n))
        F0[:ds, :ds] = self.Phi - Gam_rest @ self.K
        F0[:ds, ds:] = B_old
        F0[ds:, :ds] = -self.K
        n0 = int(np.sum(np.abs(np.linalg.eigvals(F0)) >= 1.0))
        if n0 > 0:
            self._d[r] = 0.0
            return 0.0

        def eig_at(wv: float) -> np.ndarray:
            wa = np.array([wv])
            return self._eig(wa, self._KR(wa), Gam_rest)[0]

        out = (np.abs(self._eig(self.w, self.KR, Gam_rest)) > 1.0).sum(axis=1)
        n_out = int(out[0])
        zeros = []                       # (w_j, beta_j, local degree)
        for k in np.flatnonzero(np.diff(out)):
            lo, hi, c_lo = self.w[k], self.w[k + 1], out[k]
            if abs(int(out[k + 1] - c_lo)) == 1:
                # one eigenvalue crosses: prod(|lambda| - 1) changes sign there (Brent's method)
                wj = sla_brentq(lambda v: float(np.prod(np.abs(eig_at(v)) - 1.0)), lo, hi, xtol=1e-13)
            else:
                for _ in range(40):
                    mid = 0.5 * (lo + hi)
                    if (np.abs(eig_at(mid)) > 1.0).sum() == c_lo:
                        lo = mid
                    else:
                        hi = mid
                wj = 0.5 * (lo + hi)
            lj = eig_at(wj)
            delta = int(out[k + 1] - c_lo)
            deg = -1 if delta > 0 else 1
            for lk in lj[np.argsort(np.abs(np.abs(lj) - 1.0))[:abs(delta)]]:
                a = float(np.angle(lk))
                zeros.append((wj, (a + np.pi) % (2 * np.pi), deg))
                zeros.append((2 * np.pi - wj, (np.pi - a) % (2 * np.pi), -deg))   # M(conj z) = conj M(z)
        d = self._search(n0, n_out, zeros)
        self._d[r] = d
        return d

    @staticmethod
    def _search(n0: int, n_out: int, zeros: list) -> float:
        if n_out == 0 and not zeros:
            return float("inf")
        import heapq

        wz = np.array([z[0] for z in zeros], dtype=float)
        bz = np.array([z[1] for z in zeros], dtype=float)
        iz = np.array([z[2] for z in zeros], dtype=float)

        def N(d: int) -> float:
            cnt = np.clip(np.ceil((wz * d - bz) / (2 * np.pi)), 0, None)
            return n0 + d * n_out + float(np.sum(iz * cnt))

        # N(d) rises only at every step (the n_out term) or where a zero of degree +1 enters
        heap = [(1, -1, 0)]
        for j in np.flatnonzero(iz > 0):
            heap.append((int(np.floor(bz[j] / wz[j])) + 1, int(j), 0))
        heapq.heapify(heap)
        seen: set[int] = set()
        for _ in range(1_000_000):
            if not heap:
                break
            d, j, m = heapq.heappop(heap)
            if d not in seen:
                seen.add(d)
                if N(d) > 0:
                    return float(d)
            if j < 0:
                if n_out:
                    heapq.heappush(heap, (d + 1, -1, 0))
            else:
                heapq.heappush(heap, (int(np.floor((bz[j] + 2 * np.pi * (m + 1)) / wz[j])) + 1, j, m + 1))
        return float("inf")

    def unstable(self, L: int) -> bool:
        d, r = divmod(L, self.Tu)
        return d >= self.first_unstable_d(r)


def max_stable_latency(program) -> int | None:
    """Largest total loop latency ``L`` (cycles) for which the linearised loop is stable (the loop
    is stable at every latency up to it); -1 if it is unstable with no latency; None if it is
    stable at *any* latency (a demon with no matrix, or a loop gain under 1 at every frequency).

    Each stability verdict comes from :class:`_DelayCount`, whose cost does not depend on the
    latency. The queue depth ``d_0`` at which the loop with whole-period latency turns unstable
    brackets the answer, which is then bisected (assuming, as a bracket does, one stable range
    ``0 .. L``). If ``d_0`` is infinite, "stable at any latency" is certified over the fractional
    latencies ``r = 0 .. T_u - 1`` (all of them up to 64, else 64 spread over the period: the
    loop gain depends on ``r`` smoothly, through ``Gamma(T_u - r)`` only).
    """
    if not np.any(program.A_raw):
        return None
    dc = _DelayCount(program)
    Tu = dc.Tu
    if dc.unstable(0):
        return -1
    d0 = dc.first_unstable_d(0)
    lo = 0                                  # stable at lo, unstable at hi
    if np.isfinite(d0):
        hi = int(d0) * Tu
        lo = max(0, hi - Tu)                # stable: d0 is the first unstable depth at r = 0
    else:
        rs = range(Tu) if Tu <= _N_FRACTIONS else np.unique(np.linspace(0, Tu - 1, _N_FRACTIONS).astype(int))
        his = [dc.first_unstable_d(int(r)) * Tu + int(r) for r in rs]
        if not np.isfinite(min(his)):
            return None
        hi = int(min(his))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dc.unstable(mid):
            hi = mid
        else:
            lo = mid
    return lo
