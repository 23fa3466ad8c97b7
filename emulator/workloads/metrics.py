"""Sample-quality metrics: Gaussian KL divergence, integrated autocorrelation time, MMD with its
permutation null, sliced Wasserstein distance, and moments with standard errors from batch means.

MMD (Gretton et al., JMLR 2012): Gaussian kernel ``k(x, y) = exp(-|x - y|^2 / (2 h^2))`` with
bandwidth ``h`` fixed once per workload by the median heuristic on the held-out data
(:func:`median_bandwidth`), and the unbiased estimator

    MMD^2_u = 1/(n(n-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j) - 2/(nm) sum_{i,j} k(x_i, y_j)

whose mean is 0 when both samples come from one law. Its sampling noise is the spread of the
same statistic over random relabellings of the pooled sample (the permutation null, Gretton et
al. §5): ``mmd2_null_sd`` and the test's p-value.

Sliced Wasserstein (Bonneel et al. 2015): ``SW_p = (1/L sum_l W_p(theta_l . X, theta_l . Y)^p)^(1/p)``
over ``L`` directions drawn uniformly on the sphere from a fixed seed; each 1-D ``W_p`` is exact
between the two empirical laws (integral of ``|F^-1 - G^-1|^p`` over the merged quantile grid),
so sample sizes may differ.

k-NN precision and recall (Kynkäänniemi et al., NeurIPS 2019, "Improved precision and recall
metric for assessing generative models"): the support of a sample is estimated as the union of
balls around its points, each of radius the distance to that point's k-th nearest neighbour in
the same sample. ``precision`` is the fraction of generated points inside the data's support
(are the samples realistic?), ``recall`` the fraction of data points inside the samples' support
(is the data's variety covered?). Both are fractions over points, so given the supports their
sampling noise is binomial, ``sqrt(p (1 - p) / n)`` (:func:`fraction_se`); the supports' own
noise is what a fresh-data floor of the same size measures.

The nearest-neighbour bandwidth (:func:`nn_bandwidth`) is the median over the data of the
distance to the k-th nearest neighbour: the scale at which a kernel resolves the data's local
structure (a spiral's arms, a digit's strokes), where the median heuristic sees only its extent.
"""

from __future__ import annotations

import numpy as np


__all__ = ["median_bandwidth", "nn_bandwidth", "knn_radii", "support_coverage", "precision_recall",
           "fraction_se", "mmd2_unbiased", "mmd_test", "wasserstein_1d",
           "sliced_wasserstein", "projections", "batch_moments", "thin_stream",
           "integrated_autocorr_time", "kl_gaussian"]


def kl_gaussian(mu0, S0, mu1, S1) -> float:
    """``KL(N(mu0, S0) || N(mu1, S1))`` in nats."""
    n = len(mu0)
    L1 = np.linalg.cholesky(S1)
    Si = np.linalg.solve(L1, S0)
    Si = np.linalg.solve(L1.T, Si)
    d = np.linalg.solve(L1, mu1 - mu0)
    _, ld0 = np.linalg.slogdet(S0)
    ld1 = 2.0 * np.log(np.diag(L1)).sum()
    return float(0.5 * (np.trace(Si) + d @ d - n + ld1 - ld0))


def integrated_autocorr_time(trace: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time (in samples) of ``trace`` (time, chains), averaged over
    chains with Sokal's automatic window ``M >= c tau``."""
    x = trace - trace.mean(axis=0)
    T = x.shape[0]
    if T < 8:
        return float("nan")
    nfft = 1 << (2 * T - 1).bit_length()
    f = np.fft.rfft(x, n=nfft, axis=0)
    acf = np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[:T].mean(axis=1)
    if acf[0] <= 0:
        return float("nan")
    rho = acf / acf[0]
    tau = 2.0 * np.cumsum(rho) - 1.0
    for M in range(1, T):
        if M >= c * tau[M]:
            return float(tau[M])
    return float(tau[-1])


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth(x: np.ndarray, max_points: int = 2000) -> float:
    """Median heuristic: the median Euclidean distance between distinct points of ``x``
    (its first ``max_points`` rows, so the value is deterministic)."""
    x = np.asarray(x, dtype=np.float64)[:max_points]
    d2 = _sqdist(x, x)
    iu = np.triu_indices(len(x), 1)
    return float(np.sqrt(np.median(d2[iu])))


def knn_radii(x: np.ndarray, k: int = 5) -> np.ndarray:
    """Distance from each row of ``x`` to its ``k``-th nearest other row."""
    from scipy.spatial import cKDTree

    x = np.asarray(x, dtype=np.float64)
    if not 1 <= k < len(x):
        raise ValueError(f"k = {k} needs at least {k + 1} points (have {len(x)})")
    d, _ = cKDTree(x).query(x, k=k + 1)      # column 0 is the point itself
    return d[:, k]


def nn_bandwidth(x: np.ndarray, k: int = 5, max_points: int = 2000) -> float:
    """The data's nearest-neighbour scale: the median distance to the ``k``-th nearest
    neighbour among the first ``max_points`` rows of ``x`` (deterministic)."""
    return float(np.median(knn_radii(np.asarray(x, dtype=np.float64)[:max_points], k)))


def support_coverage(points: np.ndarray, support: np.ndarray, k: int = 5) -> float:
    """Fraction of ``points`` inside the k-NN support estimate of ``support``: the union of the
    closed balls ``|p - s_j| <= r_j`` with ``r_j`` the distance from ``s_j`` to its k-th nearest
    neighbour in ``support``."""
    points = np.asarray(points, dtype=np.float64)
    support = np.asarray(support, dtype=np.float64)
    r2 = knn_radii(support, k) ** 2
    inside = np.zeros(len(points), dtype=bool)
    for lo in range(0, len(points), 1024):      # bounded memory: 1024 x len(support) distances
        inside[lo:lo + 1024] = (_sqdist(points[lo:lo + 1024], support) <= r2[None, :]).any(axis=1)
    return float(inside.mean())


def precision_recall(generated: np.ndarray, data: np.ndarray, k: int = 5) -> dict:
    """k-NN precision (generated inside the data's support) and recall (data inside the
    generated support), with their binomial standard errors given the supports."""
    n_g, n_d = len(generated), len(data)
    p = support_coverage(generated, data, k)
    r = support_coverage(data, generated, k)
    return {"precision": p, "precision_se": fraction_se(p, n_g), "recall": r,
            "recall_se": fraction_se(r, n_d), "k": int(k)}


def fraction_se(p: float, n: int) -> float:
    """Binomial standard error of a fraction ``p`` over ``n`` points."""
    return float(np.sqrt(max(p * (1.0 - p), 0.0) / n)) if n > 0 else float("nan")


def _gauss(d2: np.ndarray, h: float) -> np.ndarray:
    return np.exp(-d2 / (2.0 * h * h))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, h: float) -> float:
    """Unbiased MMD^2 between samples ``x (n, d)`` and ``y (m, d)``, Gaussian kernel of
    bandwidth ``h``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    kxx = _gauss(_sqdist(x, x), h)
    kyy = _gauss(_sqdist(y, y), h)
    kxy = _gauss(_sqdist(x, y), h)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2.0 * kxy.mean())


def mmd_test(x: np.ndarray, y: np.ndarray, h: float, n_perm: int = 200,
             rng: np.random.Generator | None = None) -> dict:
    """MMD^2_u of ``x`` against ``y`` with its permutation null: ``{"mmd2", "null_sd",
    "p_value", "n_x", "n_y", "bandwidth", "permutations"}``. ``p_value = (1 + #{null >= mmd2}) /
    (1 + n_perm)``. All relabellings are evaluated with one product of the pooled kernel
    matrix with the (pooled, n_perm) label matrix."""
    rng = np.random.default_rng(0) if rng is None else rng
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, m = len(x), len(y)
    z = np.concatenate([x, y])
    K = _gauss(_sqdist(z, z), h)
    np.fill_diagonal(K, 0.0)
    N = n + m
    labels = np.zeros((N, n_perm + 1), dtype=bool)
    labels[:n, 0] = True
    for p in range(1, n_perm + 1):
        labels[rng.permutation(N)[:n], p] = True
    A = labels.astype(np.float64)
    B = 1.0 - A
    KA = K @ A
    sxx = (A * KA).sum(0)
    sxy = (B * KA).sum(0)
    syy = (B * (K @ B)).sum(0)
    stats = sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2.0 * sxy / (n * m)
    obs, null = float(stats[0]), stats[1:]
    return {"mmd2": obs, "null_sd": float(null.std(ddof=1)),
            "p_value": float((1 + np.sum(null >= obs)) / (1 + n_perm)),
            "n_x": n, "n_y": m, "bandwidth": float(h), "permutations": n_perm}


def wasserstein_1d(a: np.ndarray, b: np.ndarray, p: float = 2.0) -> np.ndarray:
    """Exact ``W_p`` between the empirical laws of the columns of ``a (n, L)`` and ``b (m, L)``
    (uniform weights): ``(int_0^1 |F_a^-1(q) - F_b^-1(q)|^p dq)^(1/p)`` over the merged grid of
    quantile breakpoints ``{i/n} U {j/m}``. Returns ``(L,)``."""
    a = np.sort(np.asarray(a, dtype=np.float64), axis=0)
    b = np.sort(np.asarray(b, dtype=np.float64), axis=0)
    n, m = len(a), len(b)
    if n == m:
        return (np.abs(a - b) ** p).mean(axis=0) ** (1.0 / p)
    q = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    w = np.diff(np.concatenate([[0.0], q]))
    mid = q - 0.5 * w
    ia = np.minimum((mid * n).astype(np.int64), n - 1)
    ib = np.minimum((mid * m).astype(np.int64), m - 1)
    return ((np.abs(a[ia] - b[ib]) ** p) * w[:, None]).sum(axis=0) ** (1.0 / p)


def projections(d: int, n_proj: int = 256, seed: int = 0) -> np.ndarray:
    """``(d, n_proj)`` unit directions, uniform on the sphere, from ``default_rng(seed)``."""
    g = np.random.default_rng(seed).standard_normal((d, n_proj))
    return g / np.linalg.norm(g, axis=0, keepdims=True)


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, n_proj: int = 256, p: float = 2.0,
                       seed: int = 0) -> float:
    """``SW_p(x, y)`` over ``n_proj`` seeded random directions (see the module docstring)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    P = projections(x.shape[1], n_proj, seed)
    w = wasserstein_1d(x @ P, y @ P, p)
    return float(np.mean(w**p) ** (1.0 / p))


def batch_moments(stream: np.ndarray, n_batches: int = 16) -> dict:
    """Mean and covariance of a sample stream ``(T, chains, d)`` with standard errors from
    batch means: batches are groups of chains when there are at least ``n_batches`` chains
    (independent), else consecutive time blocks. ``ess`` per coordinate is ``var / se^2``."""
    s = np.asarray(stream, dtype=np.float64)
    T, C, d = s.shape
    if C >= n_batches:
        groups = np.array_split(np.arange(C), n_batches)
        batches = [s[:, g].reshape(-1, d) for g in groups]
    else:
        flat = s.transpose(1, 0, 2)
        blocks = np.array_split(np.arange(T), n_batches)
        batches = [flat[:, b].reshape(-1, d) for b in blocks]
    flat = s.reshape(-1, d)
    mean = flat.mean(axis=0)
    cov = np.cov(flat, rowvar=False).reshape(d, d)
    bm = np.array([b.mean(axis=0) for b in batches])
    bc = np.array([np.cov(b, rowvar=False).reshape(d, d) for b in batches])
    nb = len(batches)
    mean_se = bm.std(axis=0, ddof=1) / np.sqrt(nb)
    cov_se = bc.std(axis=0, ddof=1) / np.sqrt(nb)
    return {"mean": mean, "cov": cov, "mean_se": mean_se, "cov_se": cov_se,
            "ess": np.diag(cov) / np.maximum(mean_se**2, 1e-300), "batches": nb}


def thin_stream(stream: np.ndarray, max_draws: int = 2000, tau: float | None = None) -> tuple[np.ndarray, int]:
    """Nearly independent draws from a stream ``(T, chains, d)`` for a two-sample test: every
    ``k``-th sample of every chain with ``k >= 2 tau_int`` (``tau_int`` estimated from the
    stream, the slowest coordinate, unless given), at most ``max_draws`` rows, taken
    evenly. Returns ``(draws, k)``."""
    s = np.asarray(stream, dtype=np.float64)
    T, C, d = s.shape
    if tau is None:
        taus = [integrated_autocorr_time(s[:, :, j]) for j in range(d)] if T >= 8 else [1.0]
        tau = float(np.nanmax(taus)) if np.any(np.isfinite(taus)) else 1.0
    k = max(1, int(np.ceil(2.0 * tau)))
    draws = s[::-1][::k][::-1].reshape(-1, d)          # keep the last sample of every chain
    if len(draws) > max_draws:
        idx = np.linspace(0, len(draws) - 1, max_draws).round().astype(np.int64)
        draws = draws[idx]
    return draws, k
