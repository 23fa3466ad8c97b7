#!/usr/bin/env python3
"""Benchmark: annealing on the emulated s-unit Ising machine (polynomial demon, golden model)
against digital simulated annealing (dwave-samplers' SimulatedAnnealingSampler) on the same
max-cut instances: random 3-regular graphs of several sizes, exact optima by enumeration.

For each size it prints the optimum, the success probability of both (the machine over
``--chains`` anneals, SA over its reads), their 99% times to solution (the machine's in hardware
time, SA's in wall time on this machine) and the ratio, and the emulator's own wall time.

    .venv/bin/python tools/bench/anneal_vs_sa.py
    .venv/bin/python tools/bench/anneal_vs_sa.py --sizes 12 16 20 24 --chains 512
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import demonloop

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "hw_configs" / "maxcut_anneal.yaml"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 16, 20, 24])
    ap.add_argument("--chains", type=int, default=512)
    ap.add_argument("--seed", type=int, default=7, help="graph seed")
    args = ap.parse_args()
    print(f"{'n':>3} {'opt':>5} {'p_hw':>7} {'TTS_hw [ms, hardware]':>22} {'p_SA':>6} "
          f"{'TTS_SA [ms, wall]':>18} {'ratio hw/SA':>12} {'emulator wall [s]':>18}")
    for n in args.sizes:
        over = {"array.n": n, "demon.multipliers": max(1, n // 3),
                "workload.graph": {"random_regular": {"degree": 3, "seed": args.seed}}}
        cfg = demonloop.load_config(args.config, overrides=over)
        t0 = time.perf_counter()
        m = demonloop.run(cfg, chains=args.chains).report["metrics"]
        wall = time.perf_counter() - t0
        sa = m["digital_sa"]
        tts_hw, tts_sa = m["time_to_solution_s"], sa["time_to_solution_s"]
        ratio = (tts_hw / tts_sa) if tts_hw is not None and tts_sa else float("nan")
        fmt = lambda v: "inf" if v is None else f"{v * 1e3:.3g}"
        print(f"{n:>3} {m['optimum']:>5.0f} {m['success_probability']:>7.3f} {fmt(tts_hw):>22} "
              f"{sa['success_probability']:>6.3f} {fmt(tts_sa):>18} {ratio:>12.3g} {wall:>18.2f}")


if __name__ == "__main__":
    main()
