"""``workload.kind: diffusion``: generating samples by reverse diffusion on the score-network
demon (fluctuation-frontier paper, section 8; eqs. 18-21).

The schedule (:mod:`demonloop.workloads.score`) runs ``burn_in_steps`` rows of the forward
process at ``t = 1``, then ``steps`` reverse-time steps, then one hold row; each chain's last
sample is one generated point, read in data units ``dataset.unnormalise(in_scale * x)``.

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
- ``hw_vs_float``: the MMD test of the hardware samples against the float64 samples directly;
- ``precision`` / ``recall``: k-NN precision and recall against the held-out set (Kynkäänniemi
  et al. 2019, k = 5; :func:`demonloop.workloads.metrics.precision_recall`), for the hardware, the
  float64 sampler (``precision_float64``...) and fresh data (``precision_data``...: the floor);
- ``mmd2_nn``: the MMD test at the data's nearest-neighbour bandwidth ``h_nn`` (the median
  distance of a held-out point to its 5th nearest held-out neighbour), the data's own scale;
- for digits, ``classes``: a logistic-regression classifier trained on the real training
  images (their 16 PCA coefficients) labels every sample; the class histogram and the mean
  confidence (highest class probability) of the hardware, float64 and held-out images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import Field, PositiveFloat

from demonloop.config.errors import ConfigError
from demonloop.workloads.datasets import Dataset, fresh2d
from demonloop.workloads.metrics import median_bandwidth, mmd_test, nn_bandwidth, precision_recall, sliced_wasserstein
from demonloop.workloads.references import IDEAL_STEPS, reverse_sde_float
from demonloop.workloads.score import Rows, ScoreSection, ScoreWorkload
from demonloop.workloads.score_models import ScoreNet, reverse_schedule

SW_PROJECTIONS = 256
FINE = 4.0              # the fine MMD bandwidth is h / FINE
KNN = 5                 # k of the k-NN precision/recall and of the nearest-neighbour bandwidth


class DiffusionSection(ScoreSection):
    """``dataset`` the network was trained on; ``steps`` reverse steps (one demon update each);
    ``burn_in_steps`` of the forward process first (``burn_in_time`` of diffusion time in all).
    The run's length follows from these (no ``run`` section)."""

    kind: Literal["diffusion"]
    dataset: Optional[Literal["mixture2d", "spiral2d", "digits"]] = None
    steps: Optional[int] = Field(None, ge=1, le=480)
    burn_in_steps: int = Field(20, ge=1, le=30)
    burn_in_time: PositiveFloat = 1.0


class Diffusion(ScoreWorkload):
    kind = "diffusion"
    section = DiffusionSection
    headline = "mmd2"
    outputs = ("eps", "eps_resid")

    def schedule_rows(self, cfg) -> int:
        """Burn-in rows, reverse steps, and one hold row that freezes the result (the last sample
        reads it one period later)."""
        w = cfg.workload
        return w.burn_in_steps + (w.steps or 0) + 1

    def total_samples(self, cfg) -> int:
        return self.schedule_rows(cfg) + 1

    def burn_in_samples(self, cfg) -> int:
        return 0

    def validate_kind(self, cfg, arch) -> None:
        w = cfg.workload
        if w.dataset is None:
            raise ConfigError("workload.dataset", "is required for a diffusion: the data the network was trained on")
        if w.steps is None:
            raise ConfigError("workload.steps", "is required for a diffusion: the reverse steps (one demon update each)")
        if arch["output"] not in self.outputs:
            raise ConfigError("workload.network", f"a diffusion needs a noise-prediction network, this one outputs {arch['output']!r}")
        if "run" in (cfg.model_fields_set or set()):
            raise ConfigError("run", "a diffusion's length is workload.burn_in_steps + workload.steps; remove the run section")

    # ---- compile -----------------------------------------------------------------------------
    def in_scale(self, cfg, net):
        """``compiler.range_sigmas`` data standard deviations per ADC full scale."""
        return float(cfg.compiler.range_sigmas)

    def rows(self, cfg, net, T_s) -> Rows:
        w = cfg.workload
        sched = net.schedule
        B, K = w.burn_in_steps, w.steps
        rs = reverse_schedule(net, K)
        dt_b = w.burn_in_time / B
        beta1 = float(sched.beta(1.0))
        r_b, r = dt_b / T_s, rs["dt"] / T_s
        rate = np.concatenate([np.full(B, -0.5 * beta1 * r_b), rs["drift_rate"] * r, [0.0]])
        q = np.concatenate([np.full(B, beta1 * r_b), rs["beta_bar"] * r, [0.0]])      # beta r
        force = np.concatenate([np.zeros(B), rs["beta_bar"] * r * rs["eps_to_score"], [0.0]])
        emb = np.concatenate([np.repeat(net.embedding(1.0)[None, :], B, axis=0), rs["emb"],
                              rs["emb"][-1:]]) if net.emb_dim else None
        t_rows = np.concatenate([np.ones(B), rs["t"], [rs["t"][-1]]])
        return Rows(rate=rate, q=q, force=force, emb=emb, t=t_rows)

    def probe_inputs(self, cfg, net, arrays, in_scale):
        """Noised held-out data, halfway through the process."""
        from demonloop.workloads.datasets import load_dataset

        rng = np.random.default_rng(0)
        ds = load_dataset(cfg.workload.dataset, 0)
        z = ds.normalise(ds.held_out[:400])
        noisy = 0.7 * z + 0.7 * rng.standard_normal(z.shape)
        return np.clip(noisy / in_scale, -0.99, 0.99)

    def estimator(self, program, chains):
        return DiffusionEstimator(program, chains)

    # ---- people ------------------------------------------------------------------------------
    def check_spread(self, cfg, program):
        from math import erfc, sqrt

        from demonloop.workloads.datasets import load_dataset

        ds = load_dataset(cfg.workload.dataset, 0)
        z = ds.normalise(ds.held_out)
        frac = float(np.mean(np.abs(z).max(axis=1) >= program.in_scale))
        prior = 1.0 - (1.0 - erfc(program.in_scale / sqrt(2.0))) ** cfg.n
        spread = {"data_beyond_full_scale": frac, "prior_beyond_full_scale": prior,
                  "max_abs_data_fraction_of_full_scale": float(np.abs(z).max() / program.in_scale)}
        warnings = []
        if frac > 1e-3:
            warnings.append(f"{frac:.2%} of the held-out data lies beyond the ADC range: raise compiler.range_sigmas")
        return spread, warnings

    def summary(self, rep):
        m = rep["metrics"]
        if not m.get("scored"):
            lines = [f"  sample quality   not scored: {m.get('note', 'no samples')}"]
        else:
            lines = [
                f"  sample quality   MMD² {m['mmd2']:.2g} ± {m['mmd2_null_sd']:.1g} (null sd) vs held-out data; "
                f"float64 sampler {m['mmd2_float64']:.2g}  [Gaussian kernel, bandwidth {m['bandwidth']:.3g}]",
                f"                   sliced W2 {m['sw2']:.3g} (float64 {m['sw2_float64']:.3g}, excess {m['sw2_excess']:+.2g}); "
                f"fine-scale MMD² {m['mmd2_fine']:.2g} (float64 {m['mmd2_fine_float64']:.2g})",
                f"                   k-NN precision {m['precision']:.3f} ± {m['precision_se']:.3f}, recall {m['recall']:.3f} ± "
                f"{m['recall_se']:.3f} (float64 {m['precision_float64']:.3f} / {m['recall_float64']:.3f}; fresh data "
                f"{m['precision_data']:.3f} / {m['recall_data']:.3f})",
                f"                   MMD² at the data's nearest-neighbour scale (h {m['bandwidth_nn']:.3g}) {m['mmd2_nn']:.2g} ± "
                f"{m['mmd2_nn_null_sd']:.1g} (float64 {m['mmd2_nn_float64']:.2g}, fresh data {m['mmd2_nn_data']:.2g})",
            ]
            if "classes" in m:
                c = m["classes"]
                lines.append(f"                   classifier confidence {c['hardware']['mean_confidence']:.3f} (float64 "
                             f"{c['float64']['mean_confidence']:.3f}, real {c['held_out']['mean_confidence']:.3f}); "
                             "classes " + " ".join(f"{v:.0%}" for v in c["hardware"]["histogram"]))
        lines.append(f"  samples          {m.get('samples', 0):,} (one per chain, {m.get('scored', 0):,} scored) after "
                     f"{rep['samples'] - 2:,} schedule steps")
        return lines


class DiffusionEstimator:
    """The ADC codes of the last sample (the finished reverse process), every chain, in data
    units; scored against the held-out data next to the float64 sampler."""

    N_PERM = 100
    MIN_SCORED = 20

    def __init__(self, program, chains: int):
        cfg = program.config
        self.program = program
        self.chains = chains
        self.total = cfg.total_samples
        self.to_z = 2.0 ** (1 - cfg.adc.bits) * program.in_scale
        self.final = None
        self.curve: list = []
        self.seen = 0
        self._metrics = None

    def on_sample(self, m: int, X: np.ndarray) -> None:
        if m == self.total - 1:
            self.final = np.array(X, dtype=np.float64)
            self.seen = 1

    def estimate(self) -> dict:
        """``samples``: the generated points (chains, n) in data units."""
        if self.final is None:
            return {}
        from demonloop.workloads.datasets import load_dataset

        ds = load_dataset(self.program.config.workload.dataset, 0)
        return {"samples": ds.unnormalise(self.final * self.to_z)}

    def metrics(self) -> dict:
        if self._metrics is not None:
            return self._metrics
        if self.final is None:
            return {"samples_per_chain": 0}
        from demonloop.workloads.datasets import load_dataset

        p = self.program
        ds = load_dataset(p.config.workload.dataset, 0)
        data = ds.unnormalise(self.final * self.to_z)
        if len(data) < self.MIN_SCORED:
            self._metrics = {"samples": int(len(data)), "scored": 0,
                             "note": f"{len(data)} sample(s): too few to score (run at least {self.MIN_SCORED} chains)"}
            return self._metrics
        # scored on as many samples as the held-out set has (the first chains: a fixed choice)
        self.data = data[: min(len(data), len(ds.held_out))]
        self._dataset = ds
        m = score_diffusion(self.data, p.net, ds, hw_steps=p.config.workload.steps, seed=p.config.seed,
                            n_perm=self.N_PERM)
        out = {"samples": int(len(data)), "scored": int(len(self.data)), "mmd2": m["mmd2"], "mmd2_null_sd": m["hardware"]["mmd2_null_sd"],
               "mmd2_float64": m["mmd2_float64"], "mmd2_fine": m["mmd2_fine"],
               "mmd2_fine_float64": m["mmd2_fine_float64"], "sw2": m["sw2"], "sw2_float64": m["sw2_float64"],
               "sw2_excess": m["sw2_excess"], "mmd2_fine_excess": m["mmd2_fine_excess"],
               "bandwidth": m["bandwidth"], "kernel": m["kernel"],
               **{k: m[k] for k in ("precision", "precision_se", "precision_float64", "precision_data",
                                    "recall", "recall_se", "recall_float64", "recall_data", "mmd2_nn",
                                    "mmd2_nn_null_sd", "mmd2_nn_float64", "mmd2_nn_data")},
               "bandwidth_nn": m["bandwidth_nn"], "detail": m}
        if "classifier" in m:
            out["classes"] = {"hardware": m["hardware"]["classes"], "float64": m["float64"]["classes"],
                              "held_out": m["classifier"]["held_out"]}
        self._metrics = out
        return out

    def plot(self, path, title: str = "") -> Path | None:
        """Samples against the data: scatter plots (2-D) or image grids."""
        m = self.metrics()
        if self.final is None or not m.get("scored"):
            return None
        ref = self._dataset.unnormalise(reverse_sde_float(
            self.program.net, len(self.data), np.random.default_rng(np.random.SeedSequence([self.program.config.seed, 7]).spawn(1)[0]),
            IDEAL_STEPS))
        plot_diffusion(self.data, ref, self._dataset, m["detail"], Path(path), title)
        return Path(path)


def _sample_metrics(x: np.ndarray, held: np.ndarray, h: float, seed: int, n_perm: int,
                    h_nn: float | None = None, classifier=None) -> dict:
    r = mmd_test(x, held, h, n_perm, np.random.default_rng(seed))
    rf = mmd_test(x, held, h / FINE, n_perm, np.random.default_rng(seed + 1))
    out = {"mmd2": r["mmd2"], "mmd2_null_sd": r["null_sd"], "mmd_p": r["p_value"],
           "mmd2_fine": rf["mmd2"], "mmd2_fine_null_sd": rf["null_sd"], "mmd_fine_p": rf["p_value"],
           "sw2": sliced_wasserstein(x, held, SW_PROJECTIONS, 2.0, seed=0), "n": int(len(x)),
           **precision_recall(x, held, KNN)}
    if h_nn is not None:
        rn = mmd_test(x, held, h_nn, n_perm, np.random.default_rng(seed + 3))
        out.update(mmd2_nn=rn["mmd2"], mmd2_nn_null_sd=rn["null_sd"], mmd_nn_p=rn["p_value"])
    if classifier is not None:
        out["classes"] = classifier.describe(x)
    return out


class DigitsClassifier:
    """Multinomial logistic regression on the 16 PCA coefficients of the real training digits
    (the same seeded, stratified split as :func:`demonloop.workloads.datasets.digits`): labels a
    set of samples, giving the class histogram and the mean confidence (highest probability)."""

    def __init__(self, dataset: Dataset, seed: int = 0, held_out_fraction: float = 0.2):
        from sklearn.datasets import load_digits
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        d = load_digits()
        x = d.data.astype(np.float64)
        tr, te, y_tr, y_te = train_test_split(x, d.target, test_size=held_out_fraction, random_state=seed,
                                              stratify=d.target)
        c_tr = (tr - dataset.pixel_mean) @ dataset.basis.T
        if not np.allclose(c_tr, dataset.train):
            raise RuntimeError("the classifier's split differs from the dataset's")
        self.model = LogisticRegression(max_iter=5000, C=1.0).fit(c_tr, y_tr)
        c_te = (te - dataset.pixel_mean) @ dataset.basis.T
        self.held_out_accuracy = float((self.model.predict(c_te) == y_te).mean())

    def describe(self, x: np.ndarray) -> dict:
        prob = self.model.predict_proba(np.asarray(x, dtype=np.float64))
        label = self.model.classes_[prob.argmax(axis=1)]
        hist = np.bincount(label, minlength=10)[:10] / len(x)
        conf = prob.max(axis=1)
        return {"histogram": [float(v) for v in hist], "mean_confidence": float(conf.mean()),
                "mean_confidence_se": float(conf.std(ddof=1) / np.sqrt(len(conf)))}


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
    h_nn = nn_bandwidth(held, KNN)
    clf = DigitsClassifier(dataset) if dataset.name == "digits" else None
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
            "bandwidth": h, "bandwidth_fine": h / FINE, "bandwidth_nn": h_nn, "knn_k": KNN,
            "sw_projections": SW_PROJECTIONS, "n_held_out": int(len(held)),
            "hardware": _sample_metrics(x, held, h, seed, n_perm, h_nn, clf),
            "float64": {**_sample_metrics(reference, held, h, seed, n_perm, h_nn, clf), "steps": IDEAL_STEPS},
            "data": _sample_metrics(floor, held, h, seed, n_perm, h_nn, clf),
        }
        if clf is not None:
            out["classifier"] = {"model": "multinomial logistic regression on the 16 PCA coefficients",
                                 "held_out_accuracy": clf.held_out_accuracy,
                                 "held_out": clf.describe(held)}
        if hw_steps:
            ref_k = dataset.unnormalise(reverse_sde_float(net, m, np.random.default_rng(ss_hw), hw_steps))
            out["float64_hw_steps"] = {**_sample_metrics(ref_k, held, h, seed, n_perm), "steps": int(hw_steps)}
        r = mmd_test(x, reference, h / FINE, n_perm, np.random.default_rng(seed + 2))
        out["hw_vs_float"] = {"mmd2_fine": r["mmd2"], "mmd2_fine_null_sd": r["null_sd"], "mmd_fine_p": r["p_value"]}
    hw, fl, da = out["hardware"], out["float64"], out["data"]
    for key in ("precision", "recall", "mmd2_nn"):
        out.update({key: hw[key], f"{key}_float64": fl[key], f"{key}_data": da[key]})
    out.update(mmd2_nn_null_sd=hw["mmd2_nn_null_sd"], precision_se=hw["precision_se"], recall_se=hw["recall_se"])
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


WORKLOAD = Diffusion()
