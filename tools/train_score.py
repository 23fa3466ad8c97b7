#!/usr/bin/env python3
"""Train (or build) the score networks of the bundled diffusion and posterior configs and write
them to ``hw_configs/weights/<name>.npz`` + ``.json``. Deterministic from ``--seed`` (one BLAS
thread, every draw from one ``SeedSequence``); seconds to a minute per network on 2 cores, except
spiral2d (150,000 steps for k-NN precision above 0.97: about 9 minutes).

    .venv/bin/python tools/train_score.py              # all of them
    .venv/bin/python tools/train_score.py mixture2d digits

Diffusion (``mixture2d``, ``spiral2d``, ``digits``): VP-SDE denoising score matching with the
noise parametrization (Ho et al. 2020; Song et al. 2021): minimise over minibatches

    E_{t, z0 ~ data, eps ~ N(0, I)} | y_theta(z_t, emb(t)) - (eps - sigma(t) z_t) |^2,   z_t = alpha(t) z0 + sigma(t) eps

so ``s_theta(z, t) = -z - y_theta / sigma(t)`` (the ``eps_resid`` parametrization of
:mod:`demonloop.workloads.score_models`); ``t`` is ``U(t_min, 1)``, half of it log-uniform instead; Adam (beta1 0.9, beta2 0.999), learning rate
cosine-decayed from ``lr`` to ``lr/30``, an exponential moving average of the weights (decay
0.999) is what gets saved. Data in normalised units (:mod:`demonloop.workloads.datasets`).

Posterior: ``ring2d`` fits an MLP to the analytic score of the tri-modal ring (mean squared
error over draws of the target jittered by N(0, 0.3^2) plus 10 % uniform over the box, output
in units of the score's rms under the target, folded back into the last layer);
``iris_logistic`` writes the exact hard-tanh-sigmoid network (:mod:`demonloop.workloads.targets`, no
training) together with long emcee reference chains of the exact and of the hard-tanh posterior.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

from demonloop.workloads.datasets import load_dataset
from demonloop.workloads.metrics import median_bandwidth
from demonloop.workloads.score_models import ScoreNet, TimeEmbedding, VPSchedule

OUT = REPO / "hw_configs" / "weights"

# name -> hidden sizes, Adam steps, batch, peak lr, embedding frequencies, share of log-uniform t
DIFFUSION = {
    "mixture2d": dict(hidden=(64, 64), steps=20000, batch=512, lr=3e-3, freqs=(0.5, 1.0), log_t_fraction=0.5),
    "spiral2d": dict(hidden=(64, 64), steps=150000, batch=512, lr=3e-3, freqs=(0.5, 1.0), log_t_fraction=0.5),
    "digits": dict(hidden=(64, 64), steps=20000, batch=256, lr=2e-3, freqs=(0.5, 1.0), log_t_fraction=0.5),
}


# --- a numpy MLP with backprop and Adam ------------------------------------------------------

def init_layers(sizes, rng):
    """``W ~ N(0, 1/fan_in)``, ``b = 0``."""
    return [(rng.standard_normal((o, i)) / np.sqrt(i), np.zeros(o)) for i, o in zip(sizes[:-1], sizes[1:])]


def forward_train(layers, act, a):
    cache = [a]
    for W, b in layers[:-1]:
        u = a @ W.T + b
        a = np.clip(u, -1, 1) if act == "hardtanh" else np.maximum(u, 0)
        cache.append(u)
        cache.append(a)
    W, b = layers[-1]
    return a @ W.T + b, cache


def backward(layers, act, cache, dy):
    grads = [None] * len(layers)
    W, _ = layers[-1]
    a = cache[-1]
    grads[-1] = (dy.T @ a, dy.sum(0))
    da = dy @ W
    for li in range(len(layers) - 2, -1, -1):
        u, a_prev = cache[2 * li + 1], cache[2 * li]
        du = da * ((np.abs(u) < 1) if act == "hardtanh" else (u > 0))
        grads[li] = (du.T @ a_prev, du.sum(0))
        if li:
            da = du @ layers[li][0]
    return grads


class Adam:
    def __init__(self, layers, b1=0.9, b2=0.999, eps=1e-8):
        self.m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in layers]
        self.v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in layers]
        self.b1, self.b2, self.eps, self.t = b1, b2, eps, 0

    def step(self, layers, grads, lr):
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        out = []
        for (W, b), (gW, gb), (mW, mb), (vW, vb) in zip(layers, grads, self.m, self.v):
            for p, g, m, v in ((W, gW, mW, vW), (b, gb, mb, vb)):
                m *= self.b1
                m += (1 - self.b1) * g
                v *= self.b2
                v += (1 - self.b2) * g * g
                p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
            out.append((W, b))
        return out


def cosine_lr(lr, k, steps):
    return lr / 30 + (lr - lr / 30) * 0.5 * (1 + np.cos(np.pi * k / steps))


def fit(layers, act, batch_fn, steps, lr, rng, ema_decay=0.999, log_every=100):
    """Minimise the mean squared error ``|y(inp) - target|^2`` over minibatches from
    ``batch_fn(rng) -> (inp, target)``. Returns (EMA layers, loss curve every ``log_every``)."""
    opt = Adam(layers)
    ema = [(W.copy(), b.copy()) for W, b in layers]
    curve, acc = [], 0.0
    for k in range(steps):
        inp, target = batch_fn(rng)
        y, cache = forward_train(layers, act, inp)
        r = y - target
        acc += float((r * r).mean())
        grads = backward(layers, act, cache, 2.0 * r / r.size)
        layers = opt.step(layers, grads, cosine_lr(lr, k, steps))
        for (W, b), (eW, eb) in zip(layers, ema):
            eW *= ema_decay
            eW += (1 - ema_decay) * W
            eb *= ema_decay
            eb += (1 - ema_decay) * b
        if (k + 1) % log_every == 0:
            curve.append(acc / log_every)
            acc = 0.0
    return ema, np.asarray(curve)


def layer_ranges(layers, act, inp) -> dict:
    """Largest weights, biases, pre-activations and outputs (for choosing fixed-point formats)."""
    a, pre = inp, []
    for W, b in layers[:-1]:
        u = a @ W.T + b
        pre.append(float(np.abs(u).max()))
        a = np.clip(u, -1, 1) if act == "hardtanh" else np.maximum(u, 0)
    y = a @ layers[-1][0].T + layers[-1][1]
    return {"max_abs_weight": [float(np.abs(W).max()) for W, _ in layers],
            "max_abs_bias": [float(np.abs(b).max()) for _, b in layers],
            "max_abs_preactivation": pre,
            "max_abs_output": float(np.abs(y).max()),
            "output_rms": float(np.sqrt((y * y).mean()))}


# --- diffusion -------------------------------------------------------------------------------

def sample_t(rng, sched, m, log_fraction):
    """Diffusion times: ``U(t_min, 1)``, a fraction ``log_fraction`` of them log-uniform on
    ``[t_min, 1]`` instead (more of the low-noise end, where the fine structure is learnt)."""
    t = rng.uniform(sched.t_min, 1.0, size=m)
    lg = rng.random(m) < log_fraction
    t[lg] = np.exp(rng.uniform(np.log(sched.t_min), 0.0, size=int(lg.sum())))
    return t


def dsm_batches(Z, sched, emb, batch, log_fraction=0.0):
    """Inputs ``[z_t ; emb(t)]`` and targets ``eps - sigma(t) z_t`` (the ``eps_resid``
    parametrization: the regression's minimiser is ``E[eps | z_t] - sigma z_t``)."""
    def draw(rng):
        x0 = Z[rng.integers(len(Z), size=batch)]
        t = sample_t(rng, sched, batch, log_fraction)
        eps = rng.standard_normal(x0.shape)
        sig = sched.sigma(t)[:, None]
        zt = sched.alpha(t)[:, None] * x0 + sig * eps
        return np.concatenate([zt, emb(t)], axis=1), eps - sig * zt
    return draw


def train_diffusion(name: str, seed: int, activation: str) -> dict:
    cfg = DIFFUSION[name]
    ds = load_dataset(name, seed=0)                       # the data split is fixed (seed 0)
    sched = VPSchedule()
    emb = TimeEmbedding(tuple(cfg["freqs"]), cfg.get("var", "logsnr"), sched)
    Z, Zh = ds.normalise(ds.train), ds.normalise(ds.held_out)
    n = ds.dim
    ss_init, ss_train, ss_eval = np.random.SeedSequence(seed).spawn(3)
    layers = init_layers([n + emb.dim, *cfg["hidden"], n], np.random.default_rng(ss_init))
    t0 = time.perf_counter()
    ema, curve = fit(layers, activation, dsm_batches(Z, sched, emb, cfg["batch"], cfg["log_t_fraction"]), cfg["steps"],
                     cfg["lr"], np.random.default_rng(ss_train))
    train_s = time.perf_counter() - t0
    net = ScoreNet(ema, activation, "eps_resid", sched, emb)
    # denoising loss of the saved (EMA) network on fixed draws: training vs held-out data
    rng = np.random.default_rng(ss_eval)
    losses = {}
    for part, data in (("train", Z[: len(Zh)]), ("held_out", Zh)):
        inp, target = dsm_batches(data, sched, emb, 20 * len(Zh))(rng)
        losses[part] = float(((net.forward(inp[:, :n], inp[:, n:]) - target) ** 2).mean())
    inp, _ = dsm_batches(Z, sched, emb, 20000)(np.random.default_rng(1))
    meta = {
        "kind": "diffusion", "dataset": ds.describe(), "data_split_seed": 0,
        "training": {"seed": seed, "objective": "eps-prediction denoising score matching",
                     "t_sampling": f"U(t_min, 1), a fraction {cfg['log_t_fraction']} log-uniform on [t_min, 1]",
                     "optimizer": "Adam(0.9, 0.999), cosine lr lr -> lr/30, weight EMA 0.999",
                     "steps": cfg["steps"], "batch": cfg["batch"], "lr": cfg["lr"],
                     "wall_s": round(train_s, 2), "loss_curve_every": 100,
                     "final_loss": float(curve[-10:].mean()), "dsm_loss_eval": losses},
        "score": "s_theta(z, t) = -z - y / sigma(t), z = (x - mean) / scale",
        "ranges": layer_ranges(ema, activation, inp),
        "mmd_bandwidth": median_bandwidth(ds.held_out),
        "mmd_bandwidth_rule": "median heuristic: median pairwise distance of the held-out set, data units",
    }
    net.meta = meta
    net.save(OUT / name, extra_arrays={"loss_curve": curve})
    return {"name": name, "wall_s": train_s, "dsm_loss": losses}


# --- posterior -------------------------------------------------------------------------------

def train_ring(seed: int, activation: str) -> dict:
    from demonloop.workloads.targets import TrimodalRing
    from demonloop.workloads.references import grid_reference

    tgt = TrimodalRing()
    ref = grid_reference(tgt)
    lo, hi = tgt.box()
    ss_init, ss_train, ss_draw = np.random.SeedSequence(seed).spawn(3)
    pool = ref.sample(200000, np.random.default_rng(ss_draw))
    S = float(np.sqrt((tgt.score(pool) ** 2).mean()))          # score rms under the target
    jitter, R = 0.3, 3.0                                          # fit region |x_j| <= R (+ jitter)

    def draw(rng, batch=512):
        x = pool[rng.integers(len(pool), size=batch)] + jitter * rng.standard_normal((batch, 2))
        u = rng.random(batch) < 0.1
        x[u] = rng.uniform(-R, R, size=(int(u.sum()), 2))
        return x, tgt.score(x) / S

    hidden = (32, 32)
    layers = init_layers([2, *hidden, 2], np.random.default_rng(ss_init))
    t0 = time.perf_counter()
    ema, curve = fit(layers, activation, draw, 20000, 3e-3, np.random.default_rng(ss_train))
    train_s = time.perf_counter() - t0
    ema[-1] = (ema[-1][0] * S, ema[-1][1] * S)
    net = ScoreNet(ema, activation, "score")
    x = ref.sample(20000, np.random.default_rng(2))
    err = net.forward(x) - tgt.score(x)
    rel = float(np.sqrt((err**2).sum(1).mean() / (tgt.score(x) ** 2).sum(1).mean()))
    net.meta = {
        "kind": "posterior", "target": "ring2d",
        "target_params": {"r0": tgt.r0, "w": tgt.w, "kappa": tgt.kappa},
        "representation": "MLP fitted to the analytic score (not exactly a gradient field)",
        "training": {"seed": seed, "objective": "mean squared error to score/S, x ~ target + N(0, 0.3^2) (90%), U([-3, 3]^2) (10%)",
                     "score_rms_S": S, "steps": 20000, "batch": 512, "lr": 3e-3, "wall_s": round(train_s, 2),
                     "loss_curve_every": 100, "final_loss": float(curve[-10:].mean())},
        "fit_rel_rms_error_under_target": rel,
        "input_range": R,
        "ranges": layer_ranges(ema, activation, x),
    }
    net.save(OUT / "ring2d", extra_arrays={"loss_curve": curve})
    return {"name": "ring2d", "wall_s": train_s, "rel_err": rel}


def build_iris(seed: int) -> dict:
    from demonloop.workloads.targets import make_target
    from demonloop.workloads.references import emcee_reference

    exact, approx = make_target("iris_logistic"), make_target("iris_logistic_hardtanh")
    t0 = time.perf_counter()
    ref_exact = emcee_reference(exact, seed=seed)
    ref_approx = emcee_reference(approx, seed=seed + 1)
    ref_s = time.perf_counter() - t0
    lim = np.abs(ref_exact.draws).max(axis=0)
    R = float(np.ceil(np.max(np.abs(ref_exact.mean) + 6 * np.sqrt(np.diag(ref_exact.cov)))))
    net = ScoreNet(approx.mlp_layers(R), "hardtanh", "score")
    x = ref_approx.draws
    rel = float(np.sqrt(((net.forward(x) - exact.score(x)) ** 2).sum(1).mean() / (exact.score(x) ** 2).sum(1).mean()))
    net.meta = {
        "kind": "posterior", "target": "iris_logistic",
        "data": {"dataset": "sklearn iris, versicolor (0) vs virginica (1), 4 standardised features + intercept",
                 "names": list(exact.data.names), "n": int(len(exact.data.y)), "prior_sd": exact.data.prior_sd},
        "representation": ("exact score of the hard-tanh-sigmoid posterior: hidden unit per distinct data row "
                           "hardtanh(x_i . theta / c), plus d pass-through units hardtanh(theta_j / R)"),
        "hardtanh_sigmoid_c": approx.approx_c,
        "input_range": R,
        "max_abs_reference_draw": lim,
        "score_rel_rms_error_vs_exact_under_posterior": rel,
        "references": {"exact": ref_exact.summary(), "hardtanh": ref_approx.summary(), "wall_s": round(ref_s, 2)},
        "ranges": layer_ranges(net.layers, "hardtanh", x),
    }
    net.save(OUT / "iris_logistic", extra_arrays={
        "ref_exact_draws": ref_exact.draws, "ref_exact_mean": ref_exact.mean, "ref_exact_cov": ref_exact.cov,
        "ref_exact_mean_se": ref_exact.mean_se, "ref_exact_cov_se": ref_exact.cov_se,
        "ref_hardtanh_draws": ref_approx.draws, "ref_hardtanh_mean": ref_approx.mean, "ref_hardtanh_cov": ref_approx.cov,
        "ref_hardtanh_mean_se": ref_approx.mean_se, "ref_hardtanh_cov_se": ref_approx.cov_se})
    return {"name": "iris_logistic", "wall_s": ref_s, "rel_err": rel}


def build_wells(seed: int) -> dict:
    """The exact hard-tanh network of the three-well density (no training) and its grid moments."""
    from demonloop.workloads.targets import make_target
    from demonloop.workloads.references import grid_reference

    tgt = make_target("wells2d")
    ref = grid_reference(tgt)
    R = 4.5                                   # ADC full scale in x units: mass beyond ~1e-6
    net = ScoreNet(tgt.mlp_layers(R), "hardtanh", "score")
    x = ref.sample(20000, np.random.default_rng(seed))
    inside = np.all(np.abs(x) <= R, axis=1)
    err = float(np.abs(net.forward(x[inside]) - tgt.score(x[inside])).max())
    net.meta = {
        "kind": "posterior", "target": "wells2d",
        "target_params": {"c": list(tgt.c), "k": tgt.k, "b": tgt.b, "s": tgt.s, "angles": list(tgt.angles)},
        "representation": ("exact score: three hard-tanh well units k u_j . x - b and two pass-through units "
                           "hardtanh(x_i / R); grad log p = W2 hardtanh(W1 x + b1) for |x_i| <= R"),
        "input_range": R,
        "max_abs_score_error_under_target": err,
        "mass_beyond_input_range": float(1.0 - inside.mean()),
        "ranges": layer_ranges(net.layers, "hardtanh", x),
    }
    net.save(OUT / "wells2d")
    return {"name": "wells2d", "wall_s": 0.0, "max_abs_err": err}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", default=[*DIFFUSION, "ring2d", "wells2d", "iris_logistic"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--activation", default="hardtanh", choices=["hardtanh", "relu"])
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    OUT.mkdir(parents=True, exist_ok=True)
    with threadpool_limits(1):
        for name in args.names:
            if name in DIFFUSION:
                r = train_diffusion(name, args.seed, args.activation)
            elif name == "ring2d":
                r = train_ring(args.seed, args.activation)
            elif name == "iris_logistic":
                r = build_iris(args.seed)
            elif name == "wells2d":
                r = build_wells(args.seed)
            else:
                ap.error(f"unknown network {name!r}")
            print(r, flush=True)


if __name__ == "__main__":
    main()
