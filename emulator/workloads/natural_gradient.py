"""``workload.kind: natural_gradient``: thermodynamic natural-gradient descent (intro note §2.2;
Donatella et al. 2024) on Bayesian-free logistic regression.

Each optimizer step solves ``(F + lambda I) d = g`` on the s-units, with ``F = X^T diag(s (1 - s))
X / N`` the Fisher (= Gauss-Newton) matrix of the mean log-loss at ``theta``, ``g`` its gradient,
``s = sigmoid(X theta)``; then ``theta <- theta - lr d``. The array runs in digital mode (the demon
holds the matrix, ``A' = (gamma M - G_s) FS / I_fs``, and the bias ``b' = a gamma / K g``, as the
linear solve's compiler does); the host reprograms both every step, waits ``settle_samples``
sample periods, then averages ``solve_samples`` samples over the chains: ``d = mean(x) / a``. The
time constant ``gamma`` and the noise amplifiers are set once, for the first step's matrix; the
scale ``a`` (the mean's share of the ADC range) is chosen again per step from ``|g|`` and
``lambda_min``.

The demon here is the golden linear unit reloaded per step by a host controller
(:class:`NGDController`); the reprogramming cost is counted as register writes (``n^2 + n``
coefficient words per step), not simulated on the bus. The report compares the loss against
step and against hardware time with exact NGD (``numpy.linalg.solve``), Adam and gradient descent
(SGD on the full batch) from the same start, and the error of every hardware solve against its
exact value.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt

from demonloop.config.errors import ConfigError
from demonloop.demon.linear import LinearDemon
from demonloop.fixedpoint import Rounding, quantize
from demonloop.workloads.base import WorkloadSection
from demonloop.workloads.langevin import LangevinWorkload, compile_langevin


class NGDSection(WorkloadSection):
    """``dataset``: scikit-learn's breast cancer (569 tumours, malignant or not), its first
    ``array.n - 1`` features standardised plus an intercept."""

    kind: Literal["natural_gradient"]
    dataset: Literal["breast_cancer"] = "breast_cancer"
    steps: PositiveInt = 20
    lr: PositiveFloat = 1.0
    damping: PositiveFloat = 1e-2
    settle_samples: int = Field(20, ge=0)
    solve_samples: PositiveInt = 200
    adam_lr: PositiveFloat = 0.1
    sgd_lr: PositiveFloat = 1.0


def ngd_data(n: int):
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    F = d.data[:, : n - 1].astype(np.float64)
    F = (F - F.mean(axis=0)) / F.std(axis=0)
    return np.concatenate([np.ones((len(F), 1)), F], axis=1), d.target.astype(np.float64)


def loss_grad_fisher(theta, X, y):
    from scipy.special import expit, log_expit

    u = X @ theta
    s = expit(u)
    loss = float(-np.mean(y * log_expit(u) + (1 - y) * log_expit(-u)))
    g = X.T @ (s - y) / len(y)
    F = (X * (s * (1 - s))[:, None]).T @ X / len(y)
    return loss, g, F


def baselines(X, y, w) -> dict:
    """Loss per step of exact NGD, Adam and full-batch gradient descent from ``theta = 0``."""
    n = X.shape[1]
    out = {}
    th = np.zeros(n)
    L = []
    for _ in range(w.steps + 1):
        loss, g, F = loss_grad_fisher(th, X, y)
        L.append(loss)
        th = th - w.lr * np.linalg.solve(F + w.damping * np.eye(n), g)
    out["exact_ngd"] = L
    th, m, v, L = np.zeros(n), np.zeros(n), np.zeros(n), []
    for t in range(1, w.steps + 2):
        loss, g, _ = loss_grad_fisher(th, X, y)
        L.append(loss)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        th = th - w.adam_lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    out["adam"] = L
    th, L = np.zeros(n), []
    for _ in range(w.steps + 1):
        loss, g, _ = loss_grad_fisher(th, X, y)
        L.append(loss)
        th = th - w.sgd_lr * g
    out["sgd"] = L
    return out


class NGDController:
    """The host in the loop: per step, compute ``F + lambda I`` and ``g``, load the demon, let the
    array settle, average the ADC codes, read ``d``, update ``theta``."""

    def __init__(self, program, X, y):
        cfg = program.config
        self.p, self.cfg, self.X, self.y = program, cfg, X, y
        self.w = cfg.workload
        self.n = cfg.n
        self.K = program.loop_gain_S
        self.G_s = np.asarray(program.elements.g_self, dtype=np.float64)
        self.s_a = 2.0 ** (cfg.adc.bits - 1)
        self.period = self.w.settle_samples + self.w.solve_samples
        self.reset()

    def reset(self):
        self.theta = np.zeros(self.n)
        self.k = 0
        self.sum = None
        self.history = []           # per step: loss, solve rel error, overflow flags
        self.writes = 0
        self._load()

    def _load(self):
        spec, w = self.p.spec, self.w
        loss, g, F = loss_grad_fisher(self.theta, self.X, self.y)
        M = F + w.damping * np.eye(self.n)
        lam = float(np.linalg.eigvalsh(M).min())
        gn = float(np.linalg.norm(g))
        a = self.cfg.compiler.mean_fraction * lam / gn if gn > 0 else 1.0
        gamma = self.p.gamma
        A_raw, A_ovf = quantize((gamma * M - np.diag(self.G_s)) / self.K, spec.coef, Rounding.RND_CONV)
        b_design = a * gamma / self.K * g
        b_raw, b_ovf = quantize(b_design, spec.bias, Rounding.RND_CONV)
        self.cur = {"loss": loss, "g": g, "M": M, "a": a, "d_exact": np.linalg.solve(M, g),
                    "overflow": bool(A_ovf.any() or b_ovf.any())}
        self.demon = LinearDemon(spec, A_raw, b_raw)
        self.writes += self.n * self.n + self.n

    def force_count(self, X):
        i = self.k % self.period
        if i >= self.w.settle_samples:
            self.sum = X.sum(axis=0).astype(np.float64) if self.sum is None else self.sum + X.sum(axis=0)
        self.k += 1
        if i == self.period - 1 and len(self.history) < self.w.steps:
            mean_x = self.sum / (self.w.solve_samples * X.shape[0]) / self.s_a
            d = mean_x / self.cur["a"]
            de = self.cur["d_exact"]
            self.history.append({"loss": self.cur["loss"], "solve_rel_error": float(np.linalg.norm(d - de) / np.linalg.norm(de)),
                                 "overflow": self.cur["overflow"]})
            self.theta = self.theta - self.w.lr * d
            self.sum = None
            self._load()
        return self.demon.force_count(X)


class NGDEstimator:
    def __init__(self, program, chains):
        self.program = program
        self.curve: list = []
        self.seen = 0

    def on_sample(self, m, X):
        self.seen = m + 1

    def estimate(self) -> dict:
        c = self.program.controller
        return {"theta": c.theta.copy(), "loss": np.array([h["loss"] for h in c.history])}

    def metrics(self) -> dict:
        c, cfg = self.program.controller, self.program.config
        w = cfg.workload
        hist = c.history
        if not hist:
            return {"steps_done": 0}
        final_loss, _, _ = loss_grad_fisher(c.theta, c.X, c.y)
        losses = [h["loss"] for h in hist] + [final_loss]
        base = baselines(c.X, c.y, w)
        T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
        k = len(hist)
        return {"steps_done": k, "final_loss": final_loss, "loss": losses,
                "exact_ngd_loss": base["exact_ngd"][: k + 1], "adam_loss": base["adam"][: k + 1],
                "sgd_loss": base["sgd"][: k + 1],
                "final_loss_excess_vs_exact_ngd": final_loss - base["exact_ngd"][k],
                "beats_adam": bool(final_loss < base["adam"][k]),
                "solve_rel_error": [h["solve_rel_error"] for h in hist],
                "solve_rel_error_median": float(np.median([h["solve_rel_error"] for h in hist])),
                "coefficient_overflow_steps": int(sum(h["overflow"] for h in hist)),
                "hardware_time_per_step_s": c.period * T_s,
                "register_writes_per_step": cfg.n * cfg.n + cfg.n}


class NaturalGradient(LangevinWorkload):
    kind = "natural_gradient"
    section = NGDSection
    headline = "final_loss_excess_vs_exact_ngd"
    needs_covariance = False
    panels = 2
    #: the host reprograms the demon every step; the RTL co-simulation loads it once
    golden_only = True

    def problem(self, cfg):
        X, y = ngd_data(cfg.n)
        _, g, F = loss_grad_fisher(np.zeros(cfg.n), X, y)
        return F + cfg.workload.damping * np.eye(cfg.n), g

    def problem_matrix(self, cfg):
        return self.problem(cfg)[0]

    def scale(self, cfg, M, b_t, lam_min):
        return cfg.compiler.mean_fraction * lam_min / float(np.linalg.norm(b_t))

    def noise_level(self, cfg, a, M, S1):
        sig = (1.0 - cfg.compiler.mean_fraction) / cfg.compiler.range_sigmas
        return sig**2 / float(np.diag(S1).max())

    def total_samples(self, cfg) -> int:
        w = cfg.workload
        return w.steps * (w.settle_samples + w.solve_samples)

    def burn_in_samples(self, cfg) -> int:
        return 0

    def validate(self, cfg) -> None:
        if cfg.compiler.mode != "digital":
            raise ConfigError("compiler.mode", "natural_gradient reprograms the matrix every step: use digital")
        if cfg.array.R_ohm is None:
            raise ConfigError("array.R_ohm", "digital mode needs each cell's self resistance")
        if not 2 <= cfg.n <= 31:
            raise ConfigError("array.n", f"is {cfg.n}: the breast-cancer model has 2 to 31 parameters")

    def compile(self, cfg):
        p = compile_langevin(cfg, self)
        X, y = ngd_data(cfg.n)
        p.controller = NGDController(p, X, y)
        p.demon = lambda: p.controller
        return p

    def estimator(self, program, chains):
        return NGDEstimator(program, chains)

    def result_metrics(self, program, sc, st):
        return {}

    def summary(self, rep):
        m = rep["metrics"]
        if not m.get("steps_done"):
            return ["  natural gradient no step finished"]
        k = m["steps_done"]
        return [f"  natural gradient {k} steps: loss {m['loss'][0]:.4g} -> {m['final_loss']:.4g} "
                f"(exact NGD {m['exact_ngd_loss'][-1]:.4g}, Adam {m['adam_loss'][-1]:.4g}, SGD {m['sgd_loss'][-1]:.4g})",
                f"  solves           median error {m['solve_rel_error_median']:.3g} vs numpy.linalg.solve; "
                f"{m['hardware_time_per_step_s'] * 1e6:.3g} us of hardware time and {m['register_writes_per_step']} "
                f"register writes per step"]

    def check_text(self, rep):
        from demonloop.workloads.langevin import explain_text

        return "first step's solve — " + explain_text(rep)

    def plot(self, rep, est, path, title):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from demonloop.report import atomic_write

        m = rep["metrics"]
        if not m.get("steps_done"):
            return None
        fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
        steps = np.arange(len(m["loss"]))
        ht = steps * m["hardware_time_per_step_s"] * 1e6
        for key, lab, st in (("loss", "thermodynamic NGD (hardware)", "o-"), ("exact_ngd_loss", "exact NGD", "k--"),
                             ("adam_loss", "Adam", "s-"), ("sgd_loss", "SGD (full batch)", "^-")):
            ax1.plot(steps, m[key], st, ms=3, label=lab)
        ax1.set_xlabel("step")
        ax1.set_ylabel("mean log-loss")
        ax1.set_yscale("log")
        ax1.legend(fontsize=8)
        ax1.set_title("loss against step")
        ax2.plot(ht, m["loss"], "o-", ms=3, label="thermodynamic NGD")
        ax2.set_xlabel("hardware time [us]")
        ax2.set_ylabel("mean log-loss")
        ax2.set_yscale("log")
        ax2.set_title("loss against hardware time")
        ax3.semilogy(np.arange(len(m["solve_rel_error"])), m["solve_rel_error"], "o-", ms=3)
        ax3.set_xlabel("step")
        ax3.set_ylabel("|d_hw - d| / |d|")
        ax3.set_title("each hardware solve against numpy")
        fig.suptitle(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        atomic_write(path, buf.getvalue())
        return Path(path)


WORKLOAD = NaturalGradient()
