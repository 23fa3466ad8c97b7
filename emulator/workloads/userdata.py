"""Posteriors on the user's own data (intro note §2.3): Bayesian logistic and linear regression
on a CSV or NPZ file named in the config (``workload.target: logistic | linear``,
``workload.data``, ``workload.features``, ``workload.label``).

**The data.** ``data`` is a path relative to the config file: a CSV with a header row, or an NPZ
whose arrays are the columns (1-D, equal length). ``features`` (default: every column but the
label) are standardised over the rows (zero mean, unit variance) and an intercept column is put
first, as for iris; ``label`` is 0/1 for ``logistic`` and any real number for ``linear``.
Refused in one line (:class:`ConfigError`, exit 2): a missing file or column, a non-numeric or
non-finite value, a constant feature, labels other than 0/1 for a logistic model, or more
distinct rows than the demon's hidden layer holds.

**The models.** Prior ``theta ~ N(0, prior_sd^2 I)``.

- ``logistic``: :class:`demonloop.workloads.targets.LogisticPosterior`; the score network is
  built from the data as iris's is: one hard-tanh unit per distinct row (the hard-tanh sigmoid)
  and ``d`` pass-through units for the prior. It samples *exactly* the hard-tanh-sigmoid
  posterior (the "implemented" density), which is scored as well as the exact one.
- ``linear``: ``y_i ~ N(x_i . theta, noise_sd^2)`` with ``noise_sd`` known. The posterior is
  Gaussian, ``N(mu, S)`` with ``S^-1 = X^T X / noise_sd^2 + I / prior_sd^2`` and ``mu = S X^T y
  / noise_sd^2``; its score ``-S^-1 (theta - mu)`` is the network's ``d`` pass-through units
  (exact while ``|theta_j| <= R``).

``R`` (the ADC full scale in parameter units) is ``ceil(max_j |m_j| + 6 sd_j)`` of the Laplace
approximation (MAP and inverse Hessian; exact for ``linear``).

**The references.** ``linear``: the closed form (mean, covariance, exact draws). ``logistic``:
NUTS (numpyro, Hoffman & Gelman 2014) on the exact and on the hard-tanh posterior, 4 chains
of 1,000 warm-up and 5,000 kept draws each, started at the MAP; standard errors of the mean
from numpyro's effective sample size, of the covariance from batch means over 20 time blocks.

**The cache.** The network and the references are kept in the user cache folder
(:func:`demonloop.resources.cache_dir`, ``posteriors/``) under the SHA-256 of the data file's
bytes and the model's settings, so the reference's cost (its wall time is recorded) is paid once
per dataset.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demonloop.config.errors import ConfigError
from demonloop.workloads.datasets import LogisticData

#: bump when the network's construction or the reference's settings change (invalidates caches)
CACHE_VERSION = 1
NUTS_CHAINS, NUTS_WARMUP, NUTS_SAMPLES = 4, 1000, 5000
USER_TARGETS = ("logistic", "linear")


@dataclass(frozen=True)
class RegressionData:
    """Design matrix ``X`` (intercept first, then the standardised features), labels ``y``,
    the column names and the standardisation (feature means and sds), and the cache key."""

    X: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    feature_mean: np.ndarray
    feature_sd: np.ndarray
    key: str
    source: str

    @property
    def dim(self) -> int:
        return self.X.shape[1]


def data_path(cfg) -> Path:
    p = Path(cfg.workload.data)
    return p if p.is_absolute() else cfg.base_dir / p


def _read_columns(path: Path) -> dict[str, np.ndarray]:
    """Columns by name, as given (strings for a CSV, arrays for an NPZ)."""
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                cols = {k: np.asarray(z[k]) for k in z.files}
        except Exception as exc:                                   # noqa: BLE001 - any unreadable file
            raise ConfigError("workload.data", f"unreadable NPZ {path.name}: {exc}") from None
        for k, v in cols.items():
            if v.ndim != 1:
                raise ConfigError("workload.data", f"NPZ array {k!r} must be one column (1-D), has shape {v.shape}")
        return cols
    if path.suffix.lower() != ".csv":
        raise ConfigError("workload.data", f"must be a .csv or .npz file, got {path.name}")
    import csv

    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("workload.data", f"unreadable CSV {path.name}: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ConfigError("workload.data", f"{path.name} needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        raise ConfigError("workload.data", f"{path.name} has duplicate column names")
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise ConfigError("workload.data", f"{path.name} line {i} has {len(r)} fields, the header {len(header)}")
    return {h: np.array([r[j].strip() for r in rows[1:]]) for j, h in enumerate(header)}


def _numeric(col: np.ndarray, name: str, field: str) -> np.ndarray:
    try:
        v = col.astype(np.float64)
    except (ValueError, TypeError):
        bad = next((s for s in col if not _is_float(s)), None)
        raise ConfigError(field, f"column {name!r} is not numeric (value {bad!r})") from None
    if not np.all(np.isfinite(v)):
        i = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ConfigError(field, f"column {name!r} has a missing or non-finite value (row {i + 1})")
    return v


def _is_float(s) -> bool:
    try:
        float(s)
        return True
    except (ValueError, TypeError):
        return False


def load_regression_data(cfg) -> RegressionData:
    """The config's data as a design matrix and labels; :class:`ConfigError` when it is not usable."""
    w = cfg.workload
    path = data_path(cfg)
    if not path.is_file():
        raise ConfigError("workload.data", f"no such file: {path}")
    cols = _read_columns(path)
    if w.label is None:
        raise ConfigError("workload.label", f"is required with workload.data (one of {sorted(cols)})")
    if w.label not in cols:
        raise ConfigError("workload.label", f"no column {w.label!r} in {path.name} (columns: {', '.join(cols)})")
    features = list(w.features) if w.features is not None else [c for c in cols if c != w.label]
    if not features:
        raise ConfigError("workload.features", "no feature columns")
    for f in features:
        if f not in cols:
            raise ConfigError("workload.features", f"no column {f!r} in {path.name} (columns: {', '.join(cols)})")
        if f == w.label:
            raise ConfigError("workload.features", f"{f!r} is the label")
    if len(set(features)) != len(features):
        raise ConfigError("workload.features", "lists a column twice")
    F = np.stack([_numeric(cols[f], f, "workload.features") for f in features], axis=1)
    y = _numeric(cols[w.label], w.label, "workload.label")
    if w.target == "logistic" and not np.all((y == 0) | (y == 1)):
        bad = y[(y != 0) & (y != 1)][0]
        raise ConfigError("workload.label", f"a logistic model needs labels 0 or 1, column {w.label!r} has {bad:g}")
    if len(y) < 2:
        raise ConfigError("workload.data", "needs at least two rows")
    sd = F.std(axis=0)
    if np.any(sd == 0):
        raise ConfigError("workload.features", f"column {features[int(np.flatnonzero(sd == 0)[0])]!r} is constant")
    mu = F.mean(axis=0)
    X = np.concatenate([np.ones((len(y), 1)), (F - mu) / sd], axis=1)
    h = hashlib.sha256(path.read_bytes())
    h.update(json.dumps({"target": w.target, "features": features, "label": w.label, "prior_sd": w.prior_sd,
                         "noise_sd": w.noise_sd, "version": CACHE_VERSION}, sort_keys=True).encode())
    return RegressionData(X, y, ("intercept", *features), mu, sd, h.hexdigest()[:24], str(path))


# ----------------------------------------------------------------------------------------------
# the models
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearPosterior:
    """Bayesian linear regression with known noise: a Gaussian posterior ``N(mean, cov)``."""

    data: RegressionData
    prior_sd: float
    noise_sd: float

    @property
    def dim(self) -> int:
        return self.data.dim

    @property
    def precision(self) -> np.ndarray:
        X = self.data.X
        return X.T @ X / self.noise_sd**2 + np.eye(self.dim) / self.prior_sd**2

    @property
    def mean(self) -> np.ndarray:
        return np.linalg.solve(self.precision, self.data.X.T @ self.data.y / self.noise_sd**2)

    @property
    def cov(self) -> np.ndarray:
        return np.linalg.inv(self.precision)

    def log_prob(self, theta):
        d = np.atleast_2d(theta) - self.mean
        return -0.5 * np.einsum("mi,ij,mj->m", d, self.precision, d)

    def score(self, theta):
        return -(np.atleast_2d(theta) - self.mean) @ self.precision

    def mlp_layers(self, R: float):
        """``d`` pass-through units ``hardtanh(theta_j / R)``; output ``-R P a + P mu``."""
        P, d = self.precision, self.dim
        return [(np.eye(d) / R, np.zeros(d)), (-R * P, P @ self.mean)]


def posterior_model(cfg, data: RegressionData, approx: bool = False):
    """The config's posterior (``approx``: the hard-tanh-sigmoid one a logistic network samples)."""
    from demonloop.workloads.targets import LogisticPosterior, fit_hardtanh_sigmoid

    w = cfg.workload
    if w.target == "linear":
        return LinearPosterior(data, float(w.prior_sd), float(w.noise_sd))
    ld = LogisticData(data.X, data.y, float(w.prior_sd), data.names)
    return LogisticPosterior(ld, fit_hardtanh_sigmoid() if approx else None)


def laplace(model) -> tuple[np.ndarray, np.ndarray]:
    """MAP and the inverse Hessian of ``-log p`` there (exact for the Gaussian)."""
    if isinstance(model, LinearPosterior):
        return model.mean, model.cov
    from scipy.optimize import minimize

    d = model.dim
    r = minimize(lambda t: -model.log_prob(t[None])[0], np.zeros(d), jac=lambda t: -model.score(t[None])[0],
                 method="BFGS", options={"gtol": 1e-10})
    th = r.x
    u = model.data.X @ th
    from scipy.special import expit

    s = expit(u)
    H = (model.data.X * (s * (1 - s))[:, None]).T @ model.data.X + np.eye(d) / model.data.prior_sd**2
    return th, np.linalg.inv(H)


# ----------------------------------------------------------------------------------------------
# the cached network and references
# ----------------------------------------------------------------------------------------------


def cache_folder() -> Path:
    from demonloop.resources import cache_dir

    return cache_dir() / "posteriors"


def network_stem(cfg) -> Path:
    """The data-built network's file stem in the cache, built if missing."""
    from demonloop.demon.mlp import MAX_HIDDEN
    from demonloop.workloads.score_models import ScoreNet

    data = load_regression_data(cfg)
    d = data.dim
    if cfg.n != d:
        raise ConfigError("array.n", f"is {cfg.n}, the model has {d} parameters (intercept and {d - 1} features)")
    if cfg.workload.target == "logistic":
        units = len(np.unique(data.X, axis=0)) + d
        if units > MAX_HIDDEN:
            raise ConfigError("workload.data", f"{units - d} distinct rows + {d} prior units = {units} hidden units, "
                                               f"the demon holds {MAX_HIDDEN}: use fewer rows")
    stem = cache_folder() / f"{cfg.workload.target}-{data.key}-net"
    if stem.with_suffix(".json").is_file() and stem.with_suffix(".npz").is_file():
        return stem
    exact, impl = posterior_model(cfg, data), posterior_model(cfg, data, approx=True)
    m, S = laplace(exact)
    sd = np.sqrt(np.diag(S))
    R = float(np.ceil(np.max(np.abs(m) + 6 * sd)))
    net = ScoreNet(impl.mlp_layers(R), "hardtanh", "score")
    x = np.random.default_rng(0).multivariate_normal(m, S, size=4000)
    x = x[np.all(np.abs(x) <= R, axis=1)]
    a = x @ net.layers[0][0].T + net.layers[0][1]
    pre = float(np.abs(a).max())
    y = np.clip(a, -1, 1) @ net.layers[1][0].T + net.layers[1][1]
    net.meta = {
        "kind": "posterior", "target": cfg.workload.target,
        "data": {"file": data.source, "sha256_key": data.key, "names": list(data.names), "n": int(len(data.y)),
                 "prior_sd": float(cfg.workload.prior_sd), "noise_sd": cfg.workload.noise_sd,
                 "feature_mean": data.feature_mean.tolist(), "feature_sd": data.feature_sd.tolist()},
        "representation": ("exact score of the hard-tanh-sigmoid posterior: hidden unit per distinct data row "
                           "hardtanh(x_i . theta / c), plus d pass-through units hardtanh(theta_j / R)"
                           if cfg.workload.target == "logistic" else
                           "exact score of the Gaussian posterior: d pass-through units hardtanh(theta_j / R), "
                           "output -R P a + P mu"),
        "input_range": R,
        "laplace": {"mean": m.tolist(), "sd": sd.tolist()},
        "ranges": {"max_abs_weight": [float(np.abs(W).max()) for W, _ in net.layers],
                   "max_abs_bias": [float(np.abs(b).max()) for _, b in net.layers],
                   "max_abs_preactivation": [pre], "max_abs_output": float(np.abs(y).max()),
                   "output_rms": float(np.sqrt((y * y).mean()))},
    }
    stem.parent.mkdir(parents=True, exist_ok=True)
    net.save(stem, extra_arrays={"laplace_mean": m, "laplace_cov": S})
    return stem


def _nuts(model, theta0: np.ndarray, seed: int):
    """NUTS draws ``(chains, samples, d)`` of ``model`` (numpyro, float64, CPU)."""
    import os

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    X, y, s0 = jnp.asarray(model.data.X), jnp.asarray(model.data.y), float(model.data.prior_sd)
    c = model.approx_c

    def potential(th):
        u = X @ th
        if c is None:
            ll = jnp.sum(y * u - jnp.logaddexp(0.0, u))
        else:
            phi = jnp.where(u < -c, -0.25 * c, jnp.where(u > c, u - 0.25 * c, 0.5 * u + u * u / (4.0 * c)))
            ll = jnp.sum(y * u - phi)
        return -(ll - 0.5 * jnp.sum(th * th) / s0**2)

    mcmc = MCMC(NUTS(potential_fn=potential), num_warmup=NUTS_WARMUP, num_samples=NUTS_SAMPLES,
                num_chains=NUTS_CHAINS, chain_method="sequential", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), init_params=jnp.tile(jnp.asarray(theta0), (NUTS_CHAINS, 1)))
    return np.asarray(mcmc.get_samples(group_by_chain=True))


def nuts_reference(model, seed: int = 0, max_draws: int = 8000):
    """A NUTS reference of a logistic posterior with its standard errors."""
    import numpyro
    from numpyro.diagnostics import effective_sample_size

    from demonloop.workloads.references import PosteriorReference

    m, _ = laplace(model)
    t0 = time.perf_counter()
    ch = _nuts(model, m, seed)                                     # (chains, samples, d)
    wall = time.perf_counter() - t0
    d = ch.shape[-1]
    flat = ch.reshape(-1, d)
    mean, cov = flat.mean(0), np.cov(flat, rowvar=False)
    ess = np.asarray(effective_sample_size(ch))
    blocks = np.array_split(np.arange(ch.shape[1]), 20)
    bcovs = np.array([np.cov(ch[:, b].reshape(-1, d), rowvar=False) for b in blocks])
    thin = max(1, int(np.ceil(len(flat) / max_draws)))
    return PosteriorReference(
        "nuts", mean, cov, np.sqrt(np.diag(cov) / ess), bcovs.std(0, ddof=1) / np.sqrt(20), flat[::thin][:max_draws],
        {"method": "NUTS (numpyro), float64", "numpyro_version": numpyro.__version__, "seed": seed,
         "chains": NUTS_CHAINS, "warmup": NUTS_WARMUP, "samples": NUTS_SAMPLES, "ess": ess.tolist(),
         "wall_s": round(wall, 2)})


def gaussian_reference(model: LinearPosterior, draws: int = 20000, seed: int = 0):
    from demonloop.workloads.references import PosteriorReference

    d = model.dim
    mean, cov = model.mean, model.cov
    x = np.random.default_rng(seed).multivariate_normal(mean, cov, size=draws)
    return PosteriorReference("closed_form", mean, cov, np.zeros(d), np.zeros((d, d)), x,
                              {"method": "closed form (Gaussian posterior of linear regression, known noise)"})


def user_references(cfg):
    """(exact reference, implemented-density reference or None), cached by the data's hash."""
    from demonloop.workloads.references import PosteriorReference

    data = load_regression_data(cfg)
    if cfg.workload.target == "linear":
        return gaussian_reference(posterior_model(cfg, data)), None
    path = cache_folder() / f"logistic-{data.key}-ref.npz"
    out = []
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            settings = json.loads(str(z["settings"]))
            for which in ("exact", "hardtanh"):
                p = f"{which}_"
                out.append(PosteriorReference("nuts", z[p + "mean"], z[p + "cov"], z[p + "mean_se"], z[p + "cov_se"],
                                              z[p + "draws"], {**settings[which], "cached": str(path)}))
        return tuple(out)
    refs = (nuts_reference(posterior_model(cfg, data), seed=0),
            nuts_reference(posterior_model(cfg, data, approx=True), seed=1))
    arrays = {}
    for which, r in zip(("exact", "hardtanh"), refs):
        for k in ("mean", "cov", "mean_se", "cov_se", "draws"):
            arrays[f"{which}_{k}"] = getattr(r, k)
    arrays["settings"] = np.array(json.dumps({"exact": refs[0].settings, "hardtanh": refs[1].settings}))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return refs
