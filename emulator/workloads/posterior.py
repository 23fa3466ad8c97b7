"""``workload.kind: posterior``: Bayesian posterior sampling by overdamped Langevin dynamics on the
score-network demon (intro note §2.3): ``dtheta = s(theta) dt + sqrt(2) dW`` at temperature 1.

One schedule row (:mod:`demonloop.workloads.score`): the controls null the cells' self leak and
set the noise, the demon supplies the score ``grad log p(theta)`` of the ``target`` density
(:mod:`demonloop.workloads.targets`); ``step`` is the Langevin time per sample period.

:func:`score_posterior` takes the posterior sample stream ``(T, chains, d)`` in parameter units
and compares it with the exact reference: mean and covariance with batch-means standard errors
(z-scores combine the stream's and the reference's standard errors), and a two-sample MMD test
on thinned draws (every ``2 tau_int``) against independent reference draws, plus per-marginal
Kolmogorov-Smirnov distances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import PositiveFloat

from demonloop.config.errors import ConfigError
from demonloop.workloads.metrics import batch_moments, median_bandwidth, mmd_test, thin_stream
from demonloop.workloads.references import PosteriorReference
from demonloop.workloads.score import Rows, ScoreSection, ScoreWorkload


class PosteriorSection(ScoreSection):
    """``target`` density (its score network is ``network``); ``step``: the Langevin time per
    sample period (``run`` sets the length as usual)."""

    kind: Literal["posterior"]
    target: Optional[Literal["ring2d", "wells2d", "iris_logistic", "logistic", "linear"]] = None
    step: Optional[PositiveFloat] = None
    #: the user's own data (``target: logistic | linear``; :mod:`demonloop.workloads.userdata`)
    data: Optional[str] = None
    features: Optional[list[str]] = None
    label: Optional[str] = None
    prior_sd: PositiveFloat = 2.5
    noise_sd: Optional[PositiveFloat] = None


class Posterior(ScoreWorkload):
    kind = "posterior"
    section = PosteriorSection
    headline = "cov_rel_error"
    outputs = ("score",)
    #: the one row's control cancels the leak exactly at h = -1/2, which the control format holds
    control_headroom = 0.5

    def validate(self, cfg) -> None:
        from demonloop.workloads.userdata import USER_TARGETS, network_stem

        w = cfg.workload
        if w.target in USER_TARGETS:
            if w.data is None:
                raise ConfigError("workload.data", f"is required for target {w.target}: a CSV or NPZ file of the data")
            if w.network is not None:
                raise ConfigError("workload.network", f"target {w.target} builds its network from workload.data: leave it out")
            if w.target == "linear" and w.noise_sd is None:
                raise ConfigError("workload.noise_sd", "is required for target linear: the known observation noise sd")
            network_stem(cfg)                   # the data checked, the network built into the cache
        else:
            for key in ("data", "features", "label", "noise_sd"):
                if getattr(w, key) is not None:
                    raise ConfigError(f"workload.{key}", "applies only to target logistic or linear")
        super().validate(cfg)

    def builds_network(self, cfg) -> bool:
        from demonloop.workloads.userdata import USER_TARGETS

        return cfg.workload.target in USER_TARGETS

    def network_path(self, cfg) -> Path:
        from demonloop.workloads.userdata import USER_TARGETS, network_stem

        if cfg.workload.target in USER_TARGETS:
            return network_stem(cfg)
        return super().network_path(cfg)

    def validate_kind(self, cfg, arch) -> None:
        w = cfg.workload
        if w.target is None:
            raise ConfigError("workload.target", "is required for a posterior (wells2d, ring2d, iris_logistic, "
                                                 "or logistic/linear with workload.data)")
        if w.step is None:
            raise ConfigError("workload.step", "is required for a posterior: the Langevin time per sample period")
        if arch["output"] not in self.outputs:
            raise ConfigError("workload.network", f"a posterior needs a score network, this one outputs {arch['output']!r}")

    # ---- compile -----------------------------------------------------------------------------
    def in_scale(self, cfg, net):
        """The network's recorded input range (or ``compiler.range_sigmas``)."""
        return float(net.meta.get("input_range") or cfg.compiler.range_sigmas)

    def rows(self, cfg, net, T_s) -> Rows:
        """One row; a network whose score leaves a linear term to the cells (``meta
        cell_drift_rate``, the exact logistic networks' prior ``-1/s0^2``) gets it as their leak."""
        r1 = cfg.workload.step / T_s
        rate = float(net.meta.get("cell_drift_rate", 0.0)) * r1
        return Rows(rate=np.array([rate]), q=np.array([2.0 * r1]), force=np.array([r1]), emb=None,
                    t=np.array([np.nan]))

    # ---- the exact model's network (logistic regression) -------------------------------------
    def network_architecture(self, cfg) -> dict:
        arch = super().network_architecture(cfg)
        if cfg.workload.target in EXACT_NETWORKS:
            from demonloop.workloads.targets import make_target

            W1 = make_target(cfg.workload.target).sigmoid_layers()[0][0]
            arch = dict(arch, hidden=[int(W1.shape[0])], activation="sigmoid")
        return arch

    def load_network(self, cfg):
        """The stored network (with its reference chains); for a logistic-regression target the
        layers are replaced by the exact model's (:func:`exact_logistic_network`)."""
        net, arrays = super().load_network(cfg)
        if cfg.workload.target in EXACT_NETWORKS:
            net = exact_logistic_network(cfg.workload.target, net, arrays)
        return net, arrays

    def probe_inputs(self, cfg, net, arrays, in_scale):
        """Draws from the posterior's reference."""
        rng = np.random.default_rng(0)
        if "laplace_mean" in arrays:            # a data-built network: its Laplace approximation
            draws = rng.multivariate_normal(arrays["laplace_mean"], arrays["laplace_cov"], size=400)
            return np.clip(draws / in_scale, -0.99, 0.99)
        exact, _ = references(cfg.workload.target, arrays, net.meta, points=201, draws=400)
        # a quadrature reference comes with its seeded draws; a stored chain is resampled
        draws = exact.draws if exact.name == "grid" else exact.sample(400, rng)
        return np.clip(draws / in_scale, -0.99, 0.99)

    def estimator(self, program, chains):
        return PosteriorEstimator(program, chains)

    # ---- people ------------------------------------------------------------------------------
    def summary(self, rep):
        m = rep["metrics"]
        if "cov_rel_error" not in m:
            lines = [f"  posterior        not scored: {m.get('samples_per_chain', 0)} sample(s) after burn-in"]
        else:
            lines = [f"  posterior        covariance error {m['cov_rel_error']:.3g}; max |z| of the means {m['max_abs_mean_z']:.2f} "
                     f"(Bonferroni p {m['mean_p_bonferroni']:.2g}); MMD two-sample p {m['mmd_p']:.2g}"]
            table = rep.get("compiler", {}).get("quantization", {}).get("activation_table")
            if "implemented_max_abs_mean_z" in m and table:
                q = rep["compiler"]["quantization"]["network"]
                lines.append(
                    f"  diagnostics      model: {table['function']} table, worst error {table['max_abs_error']:.2g} "
                    f"({table['max_abs_error_lsb']:.2g} act LSB) over every code; fixed point: score rms error "
                    f"{q['score_rms_error']:.2g} of {q['score_rms']:.2g}; vs the hard-tanh-sigmoid model (the old "
                    f"network): max |z| {m['implemented_max_abs_mean_z']:.2f}, MMD p {m['implemented_mmd_p']:.2g}")
            elif "implemented_max_abs_mean_z" in m:
                lines.append(
                    f"                   vs the density the network implements: max |z| {m['implemented_max_abs_mean_z']:.2f}, "
                    f"covariance error {m['implemented_cov_rel_error']:.3g}, MMD p {m['implemented_mmd_p']:.2g}")
        ds, do = rep.get("dac_saturated_after_burn_in"), rep.get("demon_overflows_after_burn_in")
        if ds is not None and (rep["dac_saturated"] or rep["demon_overflows"]):
            codes = max(1, rep["samples"] - rep["burn_in_samples"]) * rep["chains"] * rep["units"]
            lines.append(
                f"  saturation       DAC {rep['dac_saturated']:,} codes, demon {rep['demon_overflows']:,} narrowings; "
                f"{rep['dac_saturated'] - ds:,} and {rep['demon_overflows'] - do:,} of them during burn-in (the approach "
                f"to the posterior), after it {ds:,} DAC codes ({ds / codes:.1e} of the scored ones) and {do:,} "
                "narrowings, whose cost the figures above include")
        ess = m.get("ess_mean")
        lines.append(f"  samples          {m.get('samples_per_chain', 0):,} per chain after {rep['burn_in_samples']:,} burn-in"
                     f" x {rep['chains']:,} chains" + (f" (ESS {ess:.3g})" if ess else " ()"))
        return lines


#: Targets whose network the compiler builds from the exact model (sigmoid through the demon's
#: table activation, the prior in the cells' leak) instead of the stored approximation.
EXACT_NETWORKS = ("iris_logistic",)
#: Pre-activations a hidden unit must hold without saturating, in units of the largest one seen
#: under the exact posterior's reference draws (the table gain is set from it).
PREACT_HEADROOM = 1.5
#: The same for the network's output (the score, hence the force and the DAC code): the chains'
#: tails reach beyond the reference draws' largest score.
OUTPUT_HEADROOM = 1.5


def exact_logistic_network(target: str, stored, arrays: dict):
    """The exact logistic-regression score as the demon's network: ``sigmoid`` hidden units, one
    per distinct data row (:meth:`LogisticPosterior.sigmoid_layers`), the prior's ``-theta/s0^2``
    as the cells' drift (``meta cell_drift_rate``). ``table_gain``: the table holds
    ``sigmoid(gain h)`` so that ``preactivation_range`` = ``PREACT_HEADROOM`` times the largest
    pre-activation under the posterior (reference draws) fits the act range (the compiler sets
    the gain); ``ranges.max_abs_output``: ``OUTPUT_HEADROOM`` times the largest output over
    those draws (the compiler puts it at 3/4 of the act range and of the DAC's)."""
    from demonloop.workloads.score_models import ScoreNet
    from demonloop.workloads.targets import make_target

    post = make_target(target)
    layers = post.sigmoid_layers()
    draws = arrays["ref_exact_draws"]
    net = ScoreNet(layers, "sigmoid", "score", meta=dict(stored.meta))
    u_max = float(np.abs(draws @ layers[0][0].T).max())
    y_max = float(np.abs(net.forward(draws)).max())
    net.meta.update({
        "representation": ("exact score of the logistic-regression posterior: a sigmoid unit per distinct data "
                           "row (the demon's table activation), the prior -theta/s0^2 in the cells' leak"),
        "cell_drift_rate": -1.0 / post.data.prior_sd**2,
        "max_abs_preactivation": u_max,
        "preactivation_range": PREACT_HEADROOM * u_max,
        "ranges": {**stored.meta.get("ranges", {}), "max_abs_output": OUTPUT_HEADROOM * y_max},
    })
    return net


def references(target: str, arrays: dict, meta: dict, points: int = 1001, draws: int = 20000, cfg=None):
    """(the exact posterior's reference, the reference of the density the network implements or
    None): a stored long chain (iris), grid quadrature of the 2-D target, or for the user's data
    (``cfg``) the cached NUTS chains or the closed form."""
    from demonloop.workloads.references import grid_reference, stored_reference
    from demonloop.workloads.targets import make_target
    from demonloop.workloads.userdata import USER_TARGETS, user_references

    if target in USER_TARGETS:
        return user_references(cfg)
    if target == "iris_logistic":
        return stored_reference(arrays, "exact", meta), stored_reference(arrays, "hardtanh", meta)
    return grid_reference(make_target(target), points=points, draws=draws), None


class PosteriorEstimator:
    """The stream after burn-in in parameter units ``in_scale * x`` (thinned to at most
    ``MAX_STREAM`` values), scored by moments and a two-sample test against the exact reference."""

    MAX_STREAM = 4_000_000

    def __init__(self, program, chains: int):
        cfg = program.config
        self.program = program
        self.chains = chains
        self.n = cfg.n
        self.burn = cfg.run.burn_in_samples
        self.to_z = 2.0 ** (1 - cfg.adc.bits) * program.in_scale
        self.curve: list = []
        self.seen = 0
        self._metrics = None
        T = cfg.run.samples
        self.thin = max(1, int(np.ceil(T * chains * self.n / self.MAX_STREAM)))
        self.stream = np.zeros((T // self.thin, chains, self.n), dtype=np.float32)

    def on_sample(self, m: int, X: np.ndarray) -> None:
        if m < self.burn:
            return
        i = m - self.burn
        if i % self.thin == 0 and i // self.thin < len(self.stream):
            self.stream[i // self.thin] = X * self.to_z
        self.seen = i + 1

    def _used(self) -> np.ndarray:
        used = min(len(self.stream), max(1, self.seen // self.thin))
        return self.stream[:used].astype(np.float64)

    def estimate(self) -> dict:
        """``stream``: the (thinned) samples after burn-in (T, chains, d) in parameter units, and
        their ``mean`` and ``covariance``."""
        if self.seen == 0:
            return {}
        s = self._used()
        flat = s.reshape(-1, s.shape[-1])
        return {"stream": s, "mean": flat.mean(axis=0), "covariance": np.cov(flat, rowvar=False)}

    def metrics(self) -> dict:
        if self._metrics is not None:
            return self._metrics
        if self.seen < 2:
            return {"samples_per_chain": self.seen}
        p = self.program
        ref, impl = references(p.config.workload.target, p.arrays, p.net.meta, cfg=p.config)
        m = score_posterior(self._used(), ref, implemented=impl, seed=p.config.seed)
        self._refs = (ref, impl)
        out = {"samples_per_chain": self.seen, "thin": self.thin,
               "cov_rel_error": m["cov_rel_error"], "max_abs_mean_z": m["max_abs_mean_z"],
               "mean_p_bonferroni": m["mean_p_bonferroni"], "max_abs_cov_z": m["max_abs_cov_z"],
               "mmd2": m["two_sample"]["mmd2"], "mmd_p": m["two_sample"]["mmd_p"],
               "ess_mean": float(np.mean(m["ess"])), "detail": m}
        if "vs_implemented" in m:
            vi = m["vs_implemented"]
            out.update(implemented_max_abs_mean_z=vi["max_abs_mean_z"], implemented_cov_rel_error=vi["cov_rel_error"],
                       implemented_mmd_p=vi["two_sample"]["mmd_p"])
        self._metrics = out
        return out

    def plot(self, path, title: str = "") -> Path | None:
        """Marginals and the joint against the exact reference."""
        m = self.metrics()
        if "detail" not in m:
            return None
        names = self.program.net.meta.get("data", {}).get("names")
        plot_posterior(self._used(), self._refs[0], m["detail"], Path(path), names=names, title=title)
        return Path(path)


def posterior_moment_scores(stream: np.ndarray, ref: PosteriorReference, n_batches: int = 16) -> dict:
    """Mean and covariance of the stream against ``ref``: ``mean_z = (mean - ref.mean) /
    sqrt(se^2 + ref_se^2)``, ``max_abs_mean_z`` with its Bonferroni two-sided p-value
    ``min(1, 2 d Phi(-max|z|))``; the same for the ``d(d+1)/2`` covariance entries; relative
    Frobenius error of the covariance; ESS per coordinate."""
    from scipy import stats

    bm = batch_moments(stream, n_batches)
    d = len(bm["mean"])
    with np.errstate(divide="ignore", invalid="ignore"):
        mz = (bm["mean"] - ref.mean) / np.sqrt(bm["mean_se"] ** 2 + ref.mean_se**2)
        cz = (bm["cov"] - ref.cov) / np.sqrt(bm["cov_se"] ** 2 + ref.cov_se**2)
    iu = np.triu_indices(d)
    cz = cz[iu]
    mmax, cmax = float(np.max(np.abs(mz))), float(np.max(np.abs(cz)))
    return {
        "mean": bm["mean"].tolist(), "mean_se": bm["mean_se"].tolist(), "exact_mean": ref.mean.tolist(),
        "mean_z": mz.tolist(), "max_abs_mean_z": mmax,
        "mean_p_bonferroni": float(min(1.0, 2 * d * stats.norm.sf(mmax))),
        "cov": bm["cov"].tolist(), "exact_cov": ref.cov.tolist(),
        "cov_rel_error": float(np.linalg.norm(bm["cov"] - ref.cov) / np.linalg.norm(ref.cov)),
        "max_abs_cov_z": cmax, "cov_p_bonferroni": float(min(1.0, 2 * len(cz) * stats.norm.sf(cmax))),
        "ess": bm["ess"].tolist(), "batches": bm["batches"],
    }


def posterior_two_sample(stream: np.ndarray, ref: PosteriorReference, seed: int = 0, max_draws: int = 2000,
                         n_perm: int = 200) -> dict:
    """MMD permutation test of thinned stream draws against as many independent reference
    draws (bandwidth: median heuristic of the reference draws), and per-marginal KS."""
    from scipy import stats

    draws, thin = thin_stream(stream, max_draws)
    rng = np.random.default_rng(seed)
    rd = ref.sample(len(draws), rng)
    h = median_bandwidth(rd)
    r = mmd_test(draws, rd, h, n_perm, rng)
    ks = [stats.ks_2samp(draws[:, j], rd[:, j]) for j in range(draws.shape[1])]
    return {"mmd2": r["mmd2"], "mmd2_null_sd": r["null_sd"], "mmd_p": r["p_value"], "bandwidth": h,
            "draws": int(len(draws)), "thin": int(thin),
            "ks": [float(k.statistic) for k in ks], "ks_p": [float(k.pvalue) for k in ks]}


def score_posterior(stream: np.ndarray, ref: PosteriorReference, *, implemented: PosteriorReference | None = None,
                    names: list[str] | None = None, seed: int = 0, png: Path | str | None = None,
                    title: str = "") -> dict:
    """Posterior metrics of a stream ``(T, chains, d)`` (parameter units) against the exact
    reference, and against the density the network implements when that is known exactly
    (``implemented``, e.g. the hard-tanh logistic posterior). Writes ``png`` if given."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        out = {"reference": ref.summary(), **posterior_moment_scores(stream, ref),
               "two_sample": posterior_two_sample(stream, ref, seed)}
        if implemented is not None:
            out["vs_implemented"] = {**posterior_moment_scores(stream, implemented),
                                     "two_sample": posterior_two_sample(stream, implemented, seed)}
    if png is not None:
        plot_posterior(stream, ref, out, Path(png), names, title)
    return out


def plot_posterior(stream, ref: PosteriorReference, metrics: dict, path: Path, names=None, title: str = "") -> None:
    """Marginal histograms of the stream against the reference (its density on the grid, or
    its draws), and for 2-D targets the joint samples over the reference's contours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = np.asarray(stream).reshape(-1, np.asarray(stream).shape[-1])
    d = s.shape[1]
    names = names or [f"θ{j}" for j in range(d)]
    ncol = d + (1 if d == 2 else 0)
    fig, axes = plt.subplots(1, ncol, figsize=(3.4 * ncol, 3.4))
    axes = np.atleast_1d(axes)
    rd = ref.sample(200000, np.random.default_rng(0))
    for j in range(d):
        ax = axes[j]
        lo, hi = np.percentile(rd[:, j], [0.05, 99.95])
        bins = np.linspace(lo, hi, 60)
        ax.hist(rd[:, j], bins=bins, density=True, histtype="step", color="k", label="exact")
        ax.hist(s[:, j], bins=bins, density=True, alpha=0.5, color="C3", label="hardware")
        ax.set_title(f"{names[j]}: z(mean) {metrics['mean_z'][j]:+.1f}", fontsize=9)
        if j == 0:
            ax.legend(fontsize=8)
    if d == 2:
        ax = axes[2]
        H, xe, ye = np.histogram2d(rd[:, 0], rd[:, 1], bins=80)
        ax.contour(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), H.T, levels=6, colors="k", linewidths=0.7)
        pick = np.random.default_rng(1).choice(len(s), min(3000, len(s)), replace=False)
        ax.scatter(s[pick, 0], s[pick, 1], s=2, c="C3", lw=0)
        ax.set_aspect("equal")
        ts = metrics["two_sample"]
        ax.set_title(f"MMD² {ts['mmd2']:.1e} ± {ts['mmd2_null_sd']:.0e} (p {ts['mmd_p']:.2f})", fontsize=9)
    fig.suptitle(title or "posterior")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


WORKLOAD = Posterior()
