"""Float64 references of the score-network workloads.

Diffusion (:func:`reverse_sde_float`): the same network the demon runs, sampled in float64 by
the reverse VP-SDE (paper eq. 21 with ``f = -beta/2``, ``g^2 = beta``; in reverse time
``tau``, ``dz = [beta/2 z + beta s_theta(z, t)] dtau + sqrt(beta) dw``) from ``t = 1`` to
``t_min`` over ``K`` uniform steps in ``t``. The score is split as ``s_theta = c z + r`` (``c =
-1`` for the ``eps_resid`` networks, 0 otherwise; :class:`demonloop.workloads.score_models.ScoreNet`), so
the drift is ``beta [(1/2 + c) z + r]``. Each step is an *exponential integrator*: the linear
drift and the noise are integrated exactly over the step (an OU process with the exact
``int beta``) and ``r`` is held at its value at the step's start, which is what the analog
array does with a zero-order-held force and no latency. With ``dB = B(t_k) - B(t_{k+1})`` and
``a = 1/2 + c`` (``+-1/2``):

    z <- e^{a dB} z + (e^{a dB} - 1) / a * r(z, t_k) + sqrt((e^{2 a dB} - 1) / (2 a)) xi,   xi ~ N(0, I)

started from ``z ~ N(0, I)`` (the VP prior: ``alpha(1) = 6e-3``), no final denoising step.
The *ideal* reference uses ``K = 1000`` steps (Song et al. 2021's count); with the hardware's
``K`` it isolates the discretization from the converters and the fixed point.

Posterior references: :func:`grid_reference` (2-D targets: midpoint quadrature on a fine grid,
exact moments up to O(spacing^2), and a sampler drawing grid cells by mass plus a uniform
jitter within the cell), and :func:`emcee_reference` (a long affine-invariant ensemble chain,
emcee 3's stretch move, Foreman-Mackey et al. 2013). :func:`langevin_float` is the float64
overdamped Langevin sampler (unadjusted, Euler-Maruyama) the hardware emulates, for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from demonloop.workloads.score_models import ScoreNet

IDEAL_STEPS = 1000


def reverse_time_grid(t_min: float, steps: int) -> np.ndarray:
    """``steps + 1`` times from 1 down to ``t_min``, uniform in ``t``."""
    return np.linspace(1.0, t_min, steps + 1)


def reverse_sde_float(net: ScoreNet, m: int, rng: np.random.Generator, steps: int = IDEAL_STEPS,
                      score_fn=None) -> np.ndarray:
    """``m`` samples ``(m, n)`` in the network's normalised units from the reverse VP-SDE with
    the exponential integrator above. ``score_fn(z, t)`` (a full score, ``c = 0``) overrides
    the network (e.g. the exact score of a Gaussian in tests)."""
    sched = net.schedule
    if score_fn is None:
        c, r = net.linear_coef, net.residual_score
    else:
        c, r = 0.0, score_fn
    a = 0.5 + c
    ts = reverse_time_grid(sched.t_min, steps)
    B = sched.B(ts)
    z = rng.standard_normal((m, net.n))
    for k in range(steps):
        dB = B[k] - B[k + 1]
        g = np.exp(a * dB)
        z = g * z + (g - 1.0) / a * r(z, ts[k]) + np.sqrt(np.expm1(2 * a * dB) / (2 * a)) * rng.standard_normal(z.shape)
    return z


def langevin_float(score_fn, x0: np.ndarray, h: float, steps: int, rng: np.random.Generator,
                   keep_every: int = 1) -> np.ndarray:
    """Overdamped Langevin at temperature 1 (intro note §2.3), ``dx = s(x) dt + sqrt(2) dW``,
    by Euler-Maruyama with step ``h`` (ULA; stationary law biased by O(h)); returns the stream
    ``(steps // keep_every, chains, d)``."""
    x = np.array(x0, dtype=np.float64)
    out = []
    sq = np.sqrt(2.0 * h)
    for k in range(1, steps + 1):
        x = x + h * score_fn(x) + sq * rng.standard_normal(x.shape)
        if k % keep_every == 0:
            out.append(x.copy())
    return np.asarray(out)


@dataclass
class PosteriorReference:
    """Exact (or long-chain) moments of a posterior and draws from it; ``mean_se``/``cov_se``
    are the reference's own standard errors (0 for quadrature)."""

    name: str
    mean: np.ndarray
    cov: np.ndarray
    mean_se: np.ndarray
    cov_se: np.ndarray
    draws: np.ndarray
    settings: dict = field(default_factory=dict)
    _grid: tuple | None = None

    def sample(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """``m`` independent draws: from the grid (cell by mass, uniform within the cell) or,
        for a chain reference, resampled from its thinned draws."""
        if self._grid is None:
            return self.draws[rng.integers(len(self.draws), size=m)]
        centres, p, hx = self._grid
        idx = rng.choice(len(p), size=m, p=p)
        return centres[idx] + hx * (rng.random((m, centres.shape[1])) - 0.5)

    def summary(self) -> dict:
        return {"name": self.name, "mean": self.mean.tolist(), "cov": self.cov.tolist(),
                "mean_se": self.mean_se.tolist(), **self.settings}


def grid_reference(target, points: int = 1001, draws: int = 20000, seed: int = 0) -> PosteriorReference:
    """Midpoint quadrature of ``exp(log_prob)`` on ``points^2`` cells over ``target.box()``:
    normalised masses, mean and covariance; ``draws`` seeded draws from the grid."""
    lo, hi = target.box()
    edges = np.linspace(lo, hi, points + 1)
    c = 0.5 * (edges[:-1] + edges[1:])
    X, Y = np.meshgrid(c, c, indexing="ij")
    centres = np.stack([X.ravel(), Y.ravel()], axis=1)
    lp = target.log_prob(centres)
    p = np.exp(lp - lp.max())
    p /= p.sum()
    mean = p @ centres
    d = centres - mean
    cov = (d * p[:, None]).T @ d
    hx = edges[1] - edges[0]
    ref = PosteriorReference("grid", mean, cov, np.zeros(2), np.zeros((2, 2)), np.empty((0, 2)),
                             {"method": "midpoint quadrature", "points_per_axis": points,
                              "box": [float(lo), float(hi)], "spacing": float(hx)},
                             (centres, p, hx))
    ref.draws = ref.sample(draws, np.random.default_rng(seed))
    return ref


def _map(target, x0):
    from scipy.optimize import minimize

    r = minimize(lambda t: -target.log_prob(t[None])[0], x0, jac=lambda t: -target.score(t[None])[0],
                 method="BFGS")
    return r.x, r.hess_inv


def emcee_reference(target, seed: int = 0, nwalkers: int = 32, burn: int = 2000, steps: int = 20000,
                    max_draws: int = 8000) -> PosteriorReference:
    """A long emcee chain: ``nwalkers`` walkers (stretch move, a = 2), initialised around the
    MAP (N(MAP, 1e-2 * inverse Hessian)), ``burn`` steps discarded, ``steps`` kept. Reported:
    emcee's integrated autocorrelation time per coordinate (``get_autocorr_time``), the ESS
    ``nwalkers steps / tau``, mean and covariance with batch-means standard errors over 20 time
    blocks, and up to ``max_draws`` draws thinned by ``ceil(max tau)`` or more."""
    import emcee

    d = target.dim
    theta_map, hinv = _map(target, np.zeros(d))
    rs = np.random.RandomState(seed)
    p0 = rs.multivariate_normal(theta_map, 1e-2 * hinv, size=nwalkers)
    sampler = emcee.EnsembleSampler(nwalkers, d, lambda th: target.log_prob(th), vectorize=True)
    state = emcee.State(p0, random_state=rs.get_state())
    sampler.run_mcmc(state, burn + steps, progress=False)
    chain = sampler.get_chain(discard=burn)                       # (steps, walkers, d)
    tau = sampler.get_autocorr_time(discard=burn, quiet=True)
    # time blocks pooled over walkers (walkers of one ensemble are not independent)
    blocks = np.array_split(np.arange(steps), 20)
    bmeans = np.array([chain[b].reshape(-1, d).mean(0) for b in blocks])
    bcovs = np.array([np.cov(chain[b].reshape(-1, d), rowvar=False) for b in blocks])
    flat = chain.reshape(-1, d)
    mean, cov = flat.mean(0), np.cov(flat, rowvar=False)
    thin = max(int(np.ceil(tau.max())), int(np.ceil(steps * nwalkers / max_draws / nwalkers)))
    draws = chain[::thin].reshape(-1, d)[:max_draws]
    return PosteriorReference(
        "emcee", mean, cov, bmeans.std(0, ddof=1) / np.sqrt(20), bcovs.std(0, ddof=1) / np.sqrt(20), draws,
        {"method": "emcee 3 EnsembleSampler, stretch move a=2", "seed": seed, "nwalkers": nwalkers,
         "burn": burn, "steps": steps, "tau": tau.tolist(), "ess": (nwalkers * steps / tau).tolist(),
         "acceptance": float(sampler.acceptance_fraction.mean()), "thin": thin,
         "emcee_version": emcee.__version__, "map": theta_map.tolist()})


def stored_reference(arrays: dict, which: str, meta: dict) -> PosteriorReference:
    """A chain reference written by tools/train_score.py into a posterior network's npz
    (``which`` = ``exact`` or ``hardtanh``)."""
    p = f"ref_{which}_"
    return PosteriorReference("emcee", arrays[p + "mean"], arrays[p + "cov"], arrays[p + "mean_se"],
                              arrays[p + "cov_se"], arrays[p + "draws"],
                              dict(meta["references"][which]))
