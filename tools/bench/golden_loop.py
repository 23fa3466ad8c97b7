#!/usr/bin/env python3
"""Benchmark: unit-updates per second of the golden closed loop, against the floor.

The floor is what no emulator of this loop can avoid: drawing the same number of Gaussian
normals (one per state variable per chain per sample) with numpy alone. The loop measured is a
digital-mode Gaussian sampler (the demon computes a full n x n product every sample), with the
workload's accumulation off and on.

    .venv/bin/python tools/bench/golden_loop.py            # 8 and 64 units, 1024 and 4096 chains
    .venv/bin/python tools/bench/golden_loop.py --samples 400
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from demonloop.workloads import compile_program, make_estimator
from demonloop.config import validate_config
from demonloop.loop import Loop



def config(n: int, chains: int, samples: int):
    return validate_config({
        "name": f"bench_{n}",
        "chains": chains,
        "array": {"n": n, "C_F": 1e-9, "R_ohm": 1e5, "rail_V": 1.5},
        "adc": {"bits": 12, "sample_period_cycles": 2000, "latency_cycles": 4},
        "dac": {"bits": 14, "latency_cycles": 2},
        "demon": {"multipliers": n, "coef": {"int_bits": 3, "frac_bits": 13}},
        "compiler": {"mode": "digital", "time_constant_samples": 40},
        "workload": {"kind": "gaussian", "covariance": {"random_spd": {"n": n, "condition": 10, "seed": 1}}},
        "run": {"burn_in_samples": 0, "samples": samples, "trace_chains": 0},
    })


def floor_time(chains: int, dim: int, samples: int) -> float:
    rng = np.random.default_rng(0)
    z = np.empty((chains, dim))
    t = time.perf_counter()
    for _ in range(samples):
        rng.standard_normal(out=z)
    return time.perf_counter() - t


def loop_time(cfg, with_workload: bool) -> float:
    program = compile_program(cfg)
    loop = Loop(program, cfg.chains, 0)
    est = make_estimator(program, cfg.chains) if with_workload else None
    t = time.perf_counter()
    loop.run_golden(est.on_sample if est else (lambda m, X: None))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=600)
    ap.add_argument("--units", type=int, nargs="*", default=[8, 64])
    ap.add_argument("--chains", type=int, nargs="*", default=[1024, 4096])
    args = ap.parse_args()
    print(f"{'units':>5} {'chains':>6} {'loop Mupd/s':>12} {'+workload':>10} {'floor Mupd/s':>13} "
          f"{'ratio loop/floor':>17} {'ratio +workload':>16}")
    for n in args.units:
        for chains in args.chains:
            cfg = config(n, chains, args.samples)
            updates = chains * n * args.samples
            loop_time(config(n, chains, 20), False)  # warm the matrix caches and BLAS
            t_loop = min(loop_time(cfg, False) for _ in range(2))
            t_work = loop_time(cfg, True)
            with threadpool_limits(1, user_api="blas"):
                t_floor = min(floor_time(chains, n, args.samples) for _ in range(2))
            print(f"{n:5d} {chains:6d} {updates / t_loop / 1e6:12.2f} {updates / t_work / 1e6:10.2f} "
                  f"{updates / t_floor / 1e6:13.2f} {t_loop / t_floor:17.2f} {t_work / t_floor:16.2f}")


if __name__ == "__main__":
    main()
