"""Scores and plots of the score-network workloads (diffusion and posterior sampling).

:func:`score_diffusion` takes the hardware's final samples ``(chains, n)`` in data units and
returns their distance to the held-out data next to the same network sampled in float64 by
:func:`demonloop.workloads.references.reverse_sde_float` (ideal: 1,000 steps; and, when the hardware's step
count is given, at that count), so the hardware's cost (converters, latency, fixed point) shows
as a difference between two numbers with the same noise floor:

- ``mmd2`` / ``mmd2_null_sd`` / ``mmd_p``: unbiased MMD^2 against the held-out set, Gaussian
  kernel with the median-heuristic bandwidth ``h`` of the held-out set (stored with the
  network), and its permutation-null spread and p-value; ``mmd2_fine`` etc. the same at
  ``h/4``, which resolves the fine structure (thin spiral arms) that ``h`` averages out;
- ``sw2``: sliced 2-Wasserstein distance to the held-out set, 256 seeded projections;
- ``data``: the same metrics for fresh data (2-D) or training images (digits) of the same
  size against the held-out set: the floor a perfect sampler reaches;
- ``hw_vs_float``: the MMD test of the hardware samples against the float64 samples directly.

:func:`score_posterior` takes the posterior sample stream ``(T, chains, d)`` in parameter units
and compares it with the exact reference: mean and covariance with batch-means standard errors
(z-scores combine the stream's and the reference's standard errors), and a two-sample MMD test
on thinned draws (every ``2 tau_int``) against independent reference draws, plus per-marginal
Kolmogorov-Smirnov distances.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats

from demonloop.workloads.datasets import Dataset, fresh2d
from demonloop.workloads.metrics import batch_moments, median_bandwidth, mmd_test, sliced_wasserstein, thin_stream
from demonloop.workloads.references import IDEAL_STEPS, PosteriorReference, reverse_sde_float
from demonloop.workloads.score_models import ScoreNet

SW_PROJECTIONS = 256
FINE = 4.0              # the fine MMD bandwidth is h / FINE


def _sample_metrics(x: np.ndarray, held: np.ndarray, h: float, seed: int, n_perm: int) -> dict:
    r = mmd_test(x, held, h, n_perm, np.random.default_rng(seed))
    rf = mmd_test(x, held, h / FINE, n_perm, np.random.default_rng(seed + 1))
    return {"mmd2": r["mmd2"], "mmd2_null_sd": r["null_sd"], "mmd_p": r["p_value"],
            "mmd2_fine": rf["mmd2"], "mmd2_fine_null_sd": rf["null_sd"], "mmd_fine_p": rf["p_value"],
            "sw2": sliced_wasserstein(x, held, SW_PROJECTIONS, 2.0, seed=0), "n": int(len(x))}


def score_diffusion(samples: np.ndarray, net: ScoreNet, dataset: Dataset, *, hw_steps: int | None = None,
                    reference: np.ndarray | None = None, seed: int = 0, n_perm: int = 200,
                    png: Path | str | None = None, title: str = "") -> dict:
    """Metrics of hardware samples ``(chains, n)`` (data units) against ``dataset.held_out``,
    next to the float64 sampler's (``reference``, data units, or drawn here: as many samples
    as the hardware's, ideal steps) and the data's own floor. Writes ``png`` if given."""
    from threadpoolctl import threadpool_limits

    x = np.asarray(samples, dtype=np.float64)
    held = dataset.held_out
    h = float(net.meta.get("mmd_bandwidth") or median_bandwidth(held))
    ss_ref, ss_hw, ss_data = np.random.SeedSequence([seed, 7]).spawn(3)
    m = len(x)
    with threadpool_limits(1):
        if reference is None:
            reference = dataset.unnormalise(reverse_sde_float(net, m, np.random.default_rng(ss_ref), IDEAL_STEPS))
        if dataset.image_shape is None:
            floor = fresh2d(dataset.name, m, np.random.default_rng(ss_data))
        else:
            pick = np.random.default_rng(ss_data).choice(len(dataset.train), min(m, len(dataset.train)), replace=False)
            floor = dataset.train[pick]
        out = {
            "kernel": "gaussian exp(-|x-y|^2 / (2 h^2)), data units",
            "bandwidth": h, "bandwidth_fine": h / FINE, "sw_projections": SW_PROJECTIONS,
            "n_held_out": int(len(held)),
            "hardware": _sample_metrics(x, held, h, seed, n_perm),
            "float64": {**_sample_metrics(reference, held, h, seed, n_perm), "steps": IDEAL_STEPS},
            "data": _sample_metrics(floor, held, h, seed, n_perm),
        }
        if hw_steps:
            ref_k = dataset.unnormalise(reverse_sde_float(net, m, np.random.default_rng(ss_hw), hw_steps))
            out["float64_hw_steps"] = {**_sample_metrics(ref_k, held, h, seed, n_perm), "steps": int(hw_steps)}
        r = mmd_test(x, reference, h / FINE, n_perm, np.random.default_rng(seed + 2))
        out["hw_vs_float"] = {"mmd2_fine": r["mmd2"], "mmd2_fine_null_sd": r["null_sd"], "mmd_fine_p": r["p_value"]}
    hw, fl = out["hardware"], out["float64"]
    out.update(mmd2=hw["mmd2"], mmd2_fine=hw["mmd2_fine"], sw2=hw["sw2"],
               mmd2_float64=fl["mmd2"], mmd2_fine_float64=fl["mmd2_fine"], sw2_float64=fl["sw2"],
               sw2_excess=hw["sw2"] - fl["sw2"], mmd2_fine_excess=hw["mmd2_fine"] - fl["mmd2_fine"])
    if png is not None:
        plot_diffusion(x, reference, dataset, out, Path(png), title)
    return out


def plot_diffusion(x, reference, dataset: Dataset, metrics: dict, path: Path, title: str = "") -> None:
    """Held-out data, float64 samples and hardware samples: scatter plots (2-D) or image grids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("held-out data", dataset.held_out, metrics["data"]),
              (f"float64, {metrics['float64']['steps']} steps", reference, metrics["float64"]),
              ("hardware", x, metrics["hardware"])]
    if dataset.image_shape is None:
        fig, axes = plt.subplots(1, 3, figsize=(13, 4.6), sharex=True, sharey=True)
        lo = np.percentile(dataset.held_out, 0.5, axis=0) - 0.5
        hi = np.percentile(dataset.held_out, 99.5, axis=0) + 0.5
        for ax, (name, pts, m) in zip(axes, panels):
            ax.scatter(dataset.held_out[:, 0], dataset.held_out[:, 1], s=2, c="0.8", lw=0)
            if name != "held-out data":
                ax.scatter(pts[:, 0], pts[:, 1], s=2, c="C3", lw=0)
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_aspect("equal")
            ax.set_title(f"{name} (n={len(pts)})\nSW2 {m['sw2']:.3f}, MMD²(h/4) {m['mmd2_fine']:.1e} ± {m['mmd2_fine_null_sd']:.0e}",
                         fontsize=9)
    else:
        rows, cols = 6, 6
        fig, axes = plt.subplots(1, 3, figsize=(13, 4.8))
        vmin, vmax = dataset.value_range
        H, W = dataset.image_shape
        for ax, (name, pts, m) in zip(axes, panels):
            grid = np.full((rows * (H + 1), cols * (W + 1)), np.nan)
            for i in range(min(rows * cols, len(pts))):
                r, c = divmod(i, cols)
                grid[r * (H + 1): r * (H + 1) + H, c * (W + 1): c * (W + 1) + W] = dataset.images(pts[i:i + 1]).reshape(H, W)
            ax.imshow(grid, cmap="gray_r", vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.axis("off")
            ax.set_title(f"{name} (n={len(pts)})\nSW2 {m['sw2']:.2f}, MMD² {m['mmd2']:.1e} ± {m['mmd2_null_sd']:.0e}",
                         fontsize=9)
    fig.suptitle(title or dataset.name)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def posterior_moment_scores(stream: np.ndarray, ref: PosteriorReference, n_batches: int = 16) -> dict:
    """Mean and covariance of the stream against ``ref``: ``mean_z = (mean - ref.mean) /
    sqrt(se^2 + ref_se^2)``, ``max_abs_mean_z`` with its Bonferroni two-sided p-value
    ``min(1, 2 d Phi(-max|z|))``; the same for the ``d(d+1)/2`` covariance entries; relative
    Frobenius error of the covariance; ESS per coordinate."""
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
