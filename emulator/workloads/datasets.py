"""Datasets of the score-network workloads: generated from a seed or shipped with a package.
Nothing is fetched at run time.

- ``mixture2d``: a fixed 2-D mixture of five Gaussians with unequal weights and shapes.
- ``spiral2d``: a two-arm spiral with Gaussian jitter.
- ``digits``: scikit-learn's 8x8 handwritten digits (1,797 images, 16 grey levels; shipped in
  the wheel, ``sklearn.datasets.load_digits``), split into training and held-out images, and
  represented by their first 16 principal components (fitted on the training images; 16 s-units
  instead of 64). The data units are the PCA coefficients: the basis is orthonormal, so
  Euclidean distances (MMD, Wasserstein) between coefficient vectors are the pixel-space
  distances between the images projected on the 16-dimensional subspace, and an image is
  ``coef @ basis + pixel_mean``.
- ``iris_logistic``: scikit-learn's iris, versicolor (y=0) against virginica (y=1), the four
  features standardised, plus an intercept column: the Bayesian logistic-regression problem of
  the posterior workload (prior and likelihood in :mod:`demonloop.workloads.targets`).

Every diffusion dataset is a :class:`Dataset` with a training and a held-out set in data units
and the affine normalisation the network works in: ``z = (x - mean) / scale`` (per-coordinate
mean and standard deviation, so every coordinate of ``z`` has unit variance, matching the
VP-SDE's N(0, I) prior).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    name: str
    train: np.ndarray        # (N, d) data units
    held_out: np.ndarray     # (M, d) data units
    mean: np.ndarray         # (d,)
    scale: np.ndarray        # (d,)
    image_shape: tuple[int, int] | None = None
    value_range: tuple[float, float] | None = None   # the images' grey-level range, for plots
    basis: np.ndarray | None = None                  # (d, pixels) orthonormal rows (PCA), or None
    pixel_mean: np.ndarray | None = None

    def images(self, x: np.ndarray) -> np.ndarray:
        """Images ``(m, pixels)`` of data-unit vectors ``x`` (identity without a basis)."""
        x = np.asarray(x, dtype=np.float64)
        return x if self.basis is None else x @ self.basis + self.pixel_mean

    @property
    def dim(self) -> int:
        return self.train.shape[1]

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale

    def unnormalise(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.scale + self.mean

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim, "n_train": len(self.train),
                "n_held_out": len(self.held_out), "mean": self.mean, "scale": self.scale,
                "normalisation": "z = (x - mean) / scale"}


# --- 2-D generated sets -------------------------------------------------------------------

MIXTURE_WEIGHTS = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
MIXTURE_MEANS = np.array([[-2.0, -1.0], [1.5, 2.0], [2.5, -1.5], [-1.0, 2.5], [0.0, 0.0]])
MIXTURE_SDS = np.array([[0.5, 0.25], [0.3, 0.6], [0.4, 0.4], [0.35, 0.2], [0.25, 0.25]])
MIXTURE_ROT = np.array([0.6, -0.4, 0.0, 0.9, 0.0])          # rotation of each component [rad]


def sample_mixture2d(m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` draws of the fixed five-component mixture (weights, means, axis sds, rotations
    above), data units."""
    k = rng.choice(len(MIXTURE_WEIGHTS), size=m, p=MIXTURE_WEIGHTS)
    e = rng.standard_normal((m, 2)) * MIXTURE_SDS[k]
    c, s = np.cos(MIXTURE_ROT[k]), np.sin(MIXTURE_ROT[k])
    rot = np.stack([c * e[:, 0] - s * e[:, 1], s * e[:, 0] + c * e[:, 1]], axis=1)
    return MIXTURE_MEANS[k] + rot


def sample_spiral2d(m: int, rng: np.random.Generator, turns: float = 1.0, jitter: float = 0.12) -> np.ndarray:
    """``m`` draws of a two-arm spiral: ``u ~ U(0, 1)``, angle ``phi = 2 pi turns sqrt(u)``,
    radius ``r = phi / (2 pi turns) * 2``, arm ``+-1`` (the second arm rotated by pi), plus
    isotropic Gaussian jitter of sd ``jitter``; data units (radius up to 2)."""
    u = rng.random(m)
    phi = 2 * np.pi * turns * np.sqrt(u)
    r = 2.0 * phi / (2 * np.pi * turns)
    arm = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    x = np.stack([arm * r * np.cos(phi), arm * r * np.sin(phi)], axis=1)
    return x + jitter * rng.standard_normal((m, 2))


_SAMPLERS_2D = {"mixture2d": sample_mixture2d, "spiral2d": sample_spiral2d}


def generated2d(name: str, seed: int = 0, n_train: int = 20000, n_held_out: int = 2000) -> Dataset:
    """A 2-D set from ``SeedSequence(seed)``: training and held-out sets from two spawned
    generators (independent draws), normalised per coordinate by the training moments."""
    ss_train, ss_held = np.random.SeedSequence(seed).spawn(2)
    draw = _SAMPLERS_2D[name]
    train = draw(n_train, np.random.default_rng(ss_train))
    held = draw(n_held_out, np.random.default_rng(ss_held))
    return Dataset(name, train, held, train.mean(axis=0), train.std(axis=0))


def fresh2d(name: str, m: int, rng: np.random.Generator) -> np.ndarray:
    """New draws of a generated 2-D set (for noise floors: data against data)."""
    return _SAMPLERS_2D[name](m, rng)


# --- digits ----------------------------------------------------------------------------------

def digits(seed: int = 0, held_out_fraction: float = 0.2, components: int = 16) -> Dataset:
    """scikit-learn's 8x8 digits (grey levels 0..16), split at random (seeded, stratified by
    class) into training and held-out images, projected on the first ``components`` principal
    axes of the training images (16 keep 85 % of the pixel variance). Data units: the PCA
    coefficients; normalisation per coefficient."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(np.float64)
    train, held = train_test_split(x, test_size=held_out_fraction, random_state=seed, stratify=d.target)
    pm = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - pm, full_matrices=False)
    basis = vt[:components] * np.sign(vt[:components, :1] + 1e-300)      # a fixed sign per axis
    ct, ch = (train - pm) @ basis.T, (held - pm) @ basis.T
    return Dataset("digits", ct, ch, ct.mean(axis=0), ct.std(axis=0), image_shape=(8, 8),
                   value_range=(0.0, 16.0), basis=basis, pixel_mean=pm)


def load_dataset(name: str, seed: int = 0) -> Dataset:
    if name == "digits":
        return digits(seed)
    if name in _SAMPLERS_2D:
        return generated2d(name, seed)
    raise ValueError(f"unknown dataset {name!r} (have mixture2d, spiral2d, digits)")


# --- Bayesian logistic regression ------------------------------------------------------------

@dataclass(frozen=True)
class LogisticData:
    """Design matrix ``X (N, d)`` (first column the intercept 1, then standardised features),
    labels ``y in {0, 1}``, and the Gaussian prior ``theta ~ N(0, prior_sd^2 I)``."""

    X: np.ndarray
    y: np.ndarray
    prior_sd: float
    names: tuple[str, ...]

    @property
    def dim(self) -> int:
        return self.X.shape[1]


def iris_logistic(prior_sd: float = 2.5) -> LogisticData:
    """Iris versicolor (y=0) vs virginica (y=1), 100 flowers, the four features standardised
    (zero mean, unit variance over these 100) plus an intercept: ``d = 5`` parameters. The two
    classes overlap, so the likelihood alone is proper; the prior sd 2.5 is the weakly
    informative choice of Gelman et al. (2008) for standardised inputs."""
    from sklearn.datasets import load_iris

    d = load_iris()
    keep = d.target > 0
    f = d.data[keep].astype(np.float64)
    f = (f - f.mean(axis=0)) / f.std(axis=0)
    X = np.concatenate([np.ones((len(f), 1)), f], axis=1)
    y = (d.target[keep] == 2).astype(np.float64)
    names = ("intercept",) + tuple(n.replace(" (cm)", "").replace(" ", "_") for n in d.feature_names)
    return LogisticData(X, y, float(prior_sd), names)
