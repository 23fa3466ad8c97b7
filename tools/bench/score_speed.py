#!/usr/bin/env python3
"""Benchmark: the score-network workloads' speed.

- the golden diffusion sampler: finished samples per second at 4,096 chains (each sample is one
  whole reverse process: burn-in, every reverse step, the hold step), the loop alone and with
  the scoring (MMD and sliced Wasserstein against held-out data, the float64 sampler);
- the co-simulated loop with the RTL score network: demon updates per second and Python's share
  per update, on each simulator (one chain).

    .venv/bin/python tools/bench/score_speed.py [CONFIG] [--chains 4096] [--simulators icarus verilator]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from demonloop.workloads import compile_program
from demonloop.config import load_config
from demonloop.cosim.run import run_cosim
from demonloop.cosim.simulators import cocotb_names
from demonloop.loop import Loop
from demonloop.workloads import make_estimator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=str(REPO / "hw_configs/diffusion_spiral.yaml"))
    ap.add_argument("--chains", type=int, default=4096)
    ap.add_argument("--simulators", nargs="*", default=list(cocotb_names()))
    args = ap.parse_args()
    cfg = load_config(args.config).with_overrides({"chains": args.chains})
    program = compile_program(cfg)
    Loop(program, 8, cfg.seed).run_golden(lambda m, X: None)       # warm the discretizations
    loop = Loop(program, cfg.chains, cfg.seed)
    est = make_estimator(program, cfg.chains)
    t0 = time.perf_counter()
    loop.run_golden(est.on_sample)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    est.metrics()
    t_score = time.perf_counter() - t0
    per = cfg.total_samples
    print(f"{cfg.name}: {cfg.n} units, {per} demon updates per sample (one reverse process), {cfg.chains} chains")
    print(f"  golden loop       {cfg.chains / t_loop:10.1f} samples/s  ({cfg.chains * per / t_loop:.4g} demon updates/s, "
          f"{t_loop:.2f} s)")
    print(f"  with scoring      {cfg.chains / (t_loop + t_score):10.1f} samples/s  (scoring {t_score:.2f} s)")
    one = cfg.with_overrides({"chains": 1})
    for s in args.simulators:
        rep = run_cosim(one, s, quiet=True)
        assert rep["bit_exact"], rep["mismatch"]
        print(f"  {s:9s} co-sim   {rep['updates_per_s']:10.1f} updates/s  ({rep['sim_cycles_per_s']:.4g} cycles/s, "
              f"Python {rep['python_us_per_update']:.0f} us/update)")


if __name__ == "__main__":
    main()
