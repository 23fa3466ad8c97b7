"""Target densities of the posterior workload (overdamped Langevin, intro note §2.3): their
log-densities (up to a constant) and exact scores, and how each score becomes an MLP the demon
can run.

Bayesian logistic regression (``LogisticPosterior``): ``theta ~ N(0, s0^2 I)``,
``y_i ~ Bernoulli(sigmoid(x_i . theta))``, so

    log p(theta) = -|theta|^2 / (2 s0^2) + sum_i [y_i u_i - softplus(u_i)],   u_i = x_i . theta
    grad log p   = -theta / s0^2 + sum_i (y_i - sigmoid(u_i)) x_i

which is exactly a one-hidden-layer network with one unit per data point and a sigmoid. The
hardware's activation is hard-tanh, a piecewise-linear sigmoid:

    sigmoid(u) ~ sig_c(u) = (1 + hardtanh(u / c)) / 2

with ``c`` fitted to the logistic function in L2 over the real line (:func:`fit_hardtanh_sigmoid`).
Replacing the sigmoid keeps the score a gradient field: ``sig_c = Phi_c'`` with the piecewise
quadratic softplus ``Phi_c`` below, so the network samples *exactly* the density
``p_c(theta) ∝ N(theta; 0, s0^2) prod_i exp(y_i u_i - Phi_c(u_i))`` (``approx=True``), whose
distance to the true posterior is the approximation's cost, measured by the same scores.

The prior term ``-theta / s0^2`` needs ``theta`` at the output; the architecture has no skip
connection, so ``d`` more hidden units pass it through: ``hardtanh(theta_j / R) = theta_j / R``
exactly while ``|theta_j| <= R`` (``R`` = the ADC full scale in parameter units, beyond which
the ADC clips anyway).

Tri-modal ring (``TrimodalRing``), a 2-D multimodal potential:

    log p(x) = -(|x|^2 - r0^2)^2 / (8 r0^2 w^2) + kappa (x1^3 - 3 x1 x2^2) / r0^3 + tilt . x

a ring of radius ``r0`` and radial width ``~w`` with three modes at angles 0, ±120° (the cubic
is ``kappa cos 3phi`` on the ring); the barriers along the ring are ``~2 kappa``; the linear
``tilt`` breaks the symmetry so the modes have unequal masses and the mean and covariance
depend on them. Its score is
fitted by an MLP (tools/train_score.py); the fitted field is not exactly a gradient, and its
cost is measured by sampling it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit

from demonloop.workloads.datasets import LogisticData


def hardtanh_sigmoid(u, c: float):
    """``(1 + hardtanh(u / c)) / 2``."""
    return 0.5 * (1.0 + np.clip(np.asarray(u) / c, -1.0, 1.0))


def hardtanh_softplus(u, c: float):
    """``Phi_c(u)``, the antiderivative of :func:`hardtanh_sigmoid` (up to a constant):
    ``-c/4`` below ``-c``, ``u/2 + u^2/(4c)`` on ``[-c, c]``, ``u - c/4`` above ``c``."""
    u = np.asarray(u, dtype=np.float64)
    mid = 0.5 * u + u * u / (4.0 * c)
    return np.where(u < -c, -0.25 * c, np.where(u > c, u - 0.25 * c, mid))


def fit_hardtanh_sigmoid() -> float:
    """The ``c`` minimising ``int (sig_c(u) - sigmoid(u))^2 du`` over the real line."""
    from scipy.integrate import quad
    from scipy.optimize import minimize_scalar

    def l2(c):
        f = lambda u: (hardtanh_sigmoid(u, c) - expit(u)) ** 2
        return 2.0 * quad(f, 0.0, 60.0, points=[c], limit=200)[0]      # even in u

    return float(minimize_scalar(l2, bounds=(1.0, 6.0), method="bounded", options={"xatol": 1e-9}).x)


@dataclass(frozen=True)
class LogisticPosterior:
    """The Bayesian logistic-regression posterior of ``data``; ``approx_c`` not None replaces
    the sigmoid by ``sig_c`` (the density the hard-tanh network samples exactly)."""

    data: LogisticData
    approx_c: float | None = None

    @property
    def dim(self) -> int:
        return self.data.dim

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        """``log p(theta)`` up to a constant, for ``theta (m, d)`` -> ``(m,)``."""
        th = np.atleast_2d(theta)
        u = th @ self.data.X.T
        y = self.data.y
        if self.approx_c is None:
            ll = (y * log_expit(u) + (1 - y) * log_expit(-u)).sum(axis=1)
        else:
            ll = (y * u - hardtanh_softplus(u, self.approx_c)).sum(axis=1)
        return ll - 0.5 * (th * th).sum(axis=1) / self.data.prior_sd**2

    def score(self, theta: np.ndarray) -> np.ndarray:
        """``grad log p(theta)`` for ``theta (m, d)``."""
        th = np.atleast_2d(theta)
        u = th @ self.data.X.T
        sig = expit(u) if self.approx_c is None else hardtanh_sigmoid(u, self.approx_c)
        return (self.data.y - sig) @ self.data.X - th / self.data.prior_sd**2

    def sigmoid_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The exact score *without* the prior term as a one-hidden-layer sigmoid network in
        parameter units: one unit ``sigmoid(x_i . theta)`` per distinct data row with output
        weight ``-m_i x_i`` (``m_i`` rows share it), output bias ``sum_i y_i x_i``. The prior's
        ``-theta / s0^2`` is linear in ``theta``: the analog cells' own leak carries it
        (:mod:`demonloop.workloads.posterior`), so no unit passes ``theta`` through."""
        X, y = self.data.X, self.data.y
        rows, mult = np.unique(X, axis=0, return_counts=True)
        return [(rows.astype(np.float64), np.zeros(len(rows))),
                (-(mult[None, :] * rows.T).astype(np.float64), (y @ X).astype(np.float64))]

    def mlp_layers(self, R: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """The exact score of the ``sig_c`` density as a one-hidden-layer hard-tanh MLP in
        parameter units (valid for ``|theta_j| <= R``): one unit per distinct data row
        ``hardtanh(x_i . theta / c)`` with output weight ``-m_i x_i / 2`` (``m_i`` rows share
        it), bias ``sum_i (y_i - 1/2) x_i``, and ``d`` pass-through units ``hardtanh(theta_j / R)``
        with output weight ``-R / s0^2``."""
        if self.approx_c is None:
            raise ValueError("the MLP form needs approx_c (the hard-tanh sigmoid)")
        X, y, d = self.data.X, self.data.y, self.dim
        rows, mult = np.unique(X, axis=0, return_counts=True)
        c = self.approx_c
        W1 = np.concatenate([rows / c, np.eye(d) / R], axis=0)
        b1 = np.zeros(len(W1))
        W2 = np.concatenate([-(0.5 * mult)[None, :] * rows.T,
                             -(R / self.data.prior_sd**2) * np.eye(d)], axis=1)
        b2 = (y - 0.5) @ X
        return [(W1, b1), (W2, b2)]


@dataclass(frozen=True)
class TrimodalRing:
    r0: float = 1.5
    w: float = 0.35
    kappa: float = 1.0
    tilt: tuple[float, float] = (0.4, 0.25)
    dim: int = 2

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        r2 = (x * x).sum(axis=1)
        cubic = x[:, 0] ** 3 - 3 * x[:, 0] * x[:, 1] ** 2
        return (-((r2 - self.r0**2) ** 2) / (8 * self.r0**2 * self.w**2) + self.kappa * cubic / self.r0**3
                + x @ np.asarray(self.tilt))

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        r2 = (x * x).sum(axis=1, keepdims=True)
        radial = -(r2 - self.r0**2) * x / (2 * self.r0**2 * self.w**2)
        k = self.kappa / self.r0**3
        ang = np.stack([3 * (x[:, 0] ** 2 - x[:, 1] ** 2), -6 * x[:, 0] * x[:, 1]], axis=1) * k
        return radial + ang + np.asarray(self.tilt)

    def box(self) -> tuple[float, float]:
        """A square holding all but ~1e-12 of the mass: ``|x_j| <= r0 + 8 w + 1``."""
        h = self.r0 + 8 * self.w + 1.0
        return -h, h


def huber(u: np.ndarray) -> np.ndarray:
    """The antiderivative of hard-tanh: ``u^2/2`` for ``|u| <= 1``, ``|u| - 1/2`` beyond."""
    a = np.abs(u)
    return np.where(a <= 1.0, 0.5 * u * u, a - 0.5)


@dataclass(frozen=True)
class HardtanhWells:
    """A 2-D three-well density whose score is *exactly* a small hard-tanh MLP:

        log p(x) = -|x|^2 / (2 s^2) + sum_j c_j H(k u_j . x - b),   H' = hardtanh

    with unit directions ``u_j`` at ``angles``. Each term is flat-bottomed near the origin and
    grows linearly outward along ``±u_j``; against the Gaussian confinement they make three modes
    (about (-1.8, -1.5), (0.2, 2.5), (1.8, -1.3) for the defaults) with unequal heights. The score

        grad log p = -x / s^2 + sum_j c_j k u_j hardtanh(k u_j . x - b)

    is a one-hidden-layer hard-tanh network (three well units, and two units that pass ``x``
    through, ``hardtanh(x_i / R) = x_i / R`` for ``|x_i| <= R``): the demon computes the exact
    score of this density, up to its fixed point, so a sampler's deviation from the grid
    reference is the hardware's alone."""

    c: tuple[float, float, float] = (2.0, 1.6, 1.3)
    k: float = 2.0
    b: float = 1.5
    s: float = 0.6
    angles: tuple[float, float, float] = (90.0, 210.0, 330.0)
    dim: int = 2

    @property
    def directions(self) -> np.ndarray:
        a = np.radians(np.asarray(self.angles))
        return np.stack([np.cos(a), np.sin(a)], axis=1)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        u = x @ (self.k * self.directions).T - self.b
        return -(x * x).sum(axis=1) / (2 * self.s**2) + huber(u) @ np.asarray(self.c)

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        W = self.k * self.directions
        h = np.clip(x @ W.T - self.b, -1.0, 1.0)
        return -x / self.s**2 + (h * np.asarray(self.c)) @ W

    def box(self) -> tuple[float, float]:
        """A square holding all but ~1e-12 of the mass."""
        return -6.0, 6.0

    def mlp_layers(self, R: float):
        """``[(W1, b1), (W2, b2)]`` of the exact hard-tanh network (valid for ``|x_i| <= R``)."""
        W = self.k * self.directions
        W1 = np.vstack([W, np.eye(2) / R])
        b1 = np.concatenate([np.full(3, -self.b), np.zeros(2)])
        W2 = np.hstack([(W * np.asarray(self.c)[:, None]).T, -(R / self.s**2) * np.eye(2)])
        return [(W1, b1), (W2, np.zeros(2))]


def make_target(name: str):
    """The posterior workload's targets by name: ``ring2d``, ``wells2d``, ``iris_logistic``
    (exact sigmoid) and ``iris_logistic_hardtanh`` (the density its hard-tanh MLP samples)."""
    from demonloop.workloads.datasets import iris_logistic

    if name == "ring2d":
        return TrimodalRing()
    if name == "wells2d":
        return HardtanhWells()
    if name == "iris_logistic":
        return LogisticPosterior(iris_logistic())
    if name == "iris_logistic_hardtanh":
        return LogisticPosterior(iris_logistic(), fit_hardtanh_sigmoid())
    raise ValueError(f"unknown posterior target {name!r}")
