#!/usr/bin/env python3
"""Measure the float64 references of the score-network workloads (the numbers quoted in
docs/score_workloads.md): each committed diffusion network sampled by the ideal float64 reverse
SDE (1,000 steps) and at 100 steps, scored by :func:`demonloop.workloads.diffusion.score_diffusion`
exactly as a hardware run would be (the 100-step float samples stand in for the hardware's), and
the posterior networks sampled by float64 Langevin, scored against the exact references.

    .venv/bin/python tools/bench/score_quality.py [--out out/score_quality]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

from demonloop.workloads.datasets import load_dataset
from demonloop.workloads.targets import make_target
from demonloop.workloads.references import grid_reference, langevin_float, reverse_sde_float, stored_reference
from demonloop.workloads.score_models import load_score_net
from demonloop.workloads.diffusion import score_diffusion
from demonloop.workloads.posterior import score_posterior

W = REPO / "hw_configs" / "weights"


def brief(m: dict) -> dict:
    keep = ("mmd2", "mmd2_null_sd", "mmd_p", "mmd2_fine", "mmd2_fine_null_sd", "mmd_fine_p", "sw2", "n", "steps")
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in m.items() if k in keep}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "out" / "score_quality"))
    ap.add_argument("--chains", type=int, default=2000)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    out = Path(args.out)
    res = {}
    with threadpool_limits(1):
        for name in ("mixture2d", "spiral2d", "digits"):
            net, _ = load_score_net(W / name)
            ds = load_dataset(name)
            m = min(args.chains, 4 * len(ds.held_out))
            t0 = time.perf_counter()
            x100 = ds.unnormalise(reverse_sde_float(net, m, np.random.default_rng(3), 100))
            r = score_diffusion(x100, net, ds, seed=1, png=out / f"{name}.png",
                                title=f"{name}: float64 at 100 steps in the 'hardware' panel")
            res[name] = {"float64_1000_steps": brief(r["float64"]), "float64_100_steps": brief(r["hardware"]),
                         "data_floor": brief(r["data"]), "bandwidth": r["bandwidth"], "wall_s": time.perf_counter() - t0}
            print(name, json.dumps(res[name]), flush=True)

        net, _ = load_score_net(W / "ring2d")
        tgt = make_target("ring2d")
        ref = grid_reference(tgt)
        rng = np.random.default_rng(5)
        h = 0.002
        for label, score in (("mlp", net.forward), ("exact_score", tgt.score)):
            s = langevin_float(score, rng.uniform(-2.5, 2.5, (2000, 2)), h, int(40 / h), rng, keep_every=25)
            s = s[len(s) // 4:]
            r = score_posterior(s, ref, png=out / f"ring2d_{label}.png" if label == "mlp" else None,
                                title=f"ring2d, float64 Langevin with the {label}")
            res[f"ring2d_{label}"] = {k: r[k] for k in ("mean", "exact_mean", "mean_z", "cov_rel_error", "max_abs_cov_z", "ess")}
            res[f"ring2d_{label}"]["two_sample"] = r["two_sample"]
            print(f"ring2d_{label}", json.dumps(res[f"ring2d_{label}"]), flush=True)

        net, arrays = load_score_net(W / "iris_logistic")
        ex, ht = stored_reference(arrays, "exact", net.meta), stored_reference(arrays, "hardtanh", net.meta)
        sd = np.sqrt(np.diag(ex.cov))
        res["iris_hardtanh_cost"] = {
            "mean_shift_in_sd": ((ht.mean - ex.mean) / sd).tolist(),
            "sd_ratio": (np.sqrt(np.diag(ht.cov)) / sd).tolist()}
        rng = np.random.default_rng(6)
        h = 0.002
        s = langevin_float(net.forward, np.asarray(ex.settings["map"]) + 0.5 * rng.standard_normal((1000, 5)),
                           h, int(40 / h), rng, keep_every=50)
        s = s[len(s) // 4:]
        r = score_posterior(s, ex, implemented=ht, names=net.meta["data"]["names"], png=out / "iris_logistic.png",
                            title="iris logistic regression, float64 Langevin with the hard-tanh MLP")
        res["iris_mlp_langevin"] = {k: r[k] for k in ("mean_z", "max_abs_cov_z", "cov_rel_error", "ess", "two_sample")}
        res["iris_mlp_langevin"]["vs_implemented"] = {k: r["vs_implemented"][k] for k in
                                                       ("mean_z", "max_abs_cov_z", "cov_rel_error", "two_sample")}
        print("iris", json.dumps(res["iris_hardtanh_cost"]), json.dumps(res["iris_mlp_langevin"]), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "score_quality.json").write_text(json.dumps(res, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
