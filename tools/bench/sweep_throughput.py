#!/usr/bin/env python3
"""Benchmark: sweep throughput (runs per minute) on 1 and 2 local workers, and the speed-up.

The sweep is a latency study of the bundled 16-unit Gaussian sampler (digital mode: the demon
computes the full 16 x 16 product every sample), shortened so one run takes about a second:
``demon.latency_cycles`` over 8 values x 2 seeds = 16 runs by default. With 1 worker the runs
execute in this process; with 2 they go to a pool of 2 processes forked from a fork server (their
start-up is included in the time, as a user would see it). Each run uses one BLAS thread, so N workers use N
cores. The two sweeps must give the same rows (checked), or the figures mean nothing.

For scale, the benchmark also measures what the machine itself gives: the same pure-Python
CPU-bound loop in 1 process, then in N processes at once. A virtual machine whose vCPUs share
physical cores (or are throttled) shows a "machine" speed-up below N, and no sweep can beat it.

    .venv/bin/python tools/bench/sweep_throughput.py
    .venv/bin/python tools/bench/sweep_throughput.py --seeds 4 --samples 800 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from demonloop.config import load_config
from demonloop.studies.sweep import Sweep, parse_axes, run_sweep

REPO = Path(__file__).resolve().parents[2]


def _spin(_=None) -> float:
    """Seconds for a fixed pure-Python CPU-bound loop (a probe of one core's speed)."""
    t = time.perf_counter()
    s = 0
    for i in range(5_000_000):
        s += i
    return time.perf_counter() - t


def machine_speedup(n: int) -> float:
    """Throughput of n simultaneous CPU-bound processes relative to one."""
    import multiprocessing as mp

    one = _spin()
    with mp.get_context("spawn").Pool(n) as pool:
        pool.map(_spin, range(n))                    # start-up, not timed
        t = time.perf_counter()
        pool.map(_spin, range(n))
        wall = time.perf_counter() - t
    return n * one / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "hw_configs" / "gauss16_digital.yaml"))
    ap.add_argument("--set", dest="sets", action="append", default=None,
                    help="swept key (default: demon.latency_cycles=65:765:100)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--chains", type=int, default=256)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    cfg = load_config(args.config).with_overrides(
        {"chains": args.chains, "run.samples": args.samples, "run.burn_in_samples": 100})
    axes = parse_axes(args.sets or ["demon.latency_cycles=65:765:100"])
    results = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.workers:
            sw = Sweep(cfg, axes, seeds=args.seeds, base_seed=0, out_dir=Path(tmp) / f"w{w}")
            t = time.perf_counter()
            res = run_sweep(sw, workers=w, progress=False)
            wall = time.perf_counter() - t
            results[w] = (res, wall)
    rows0 = None
    print(f"sweep: {cfg.name}, {len(axes)} key(s), {results[args.workers[0]][0]['runs']} runs "
          f"({args.chains} chains x {args.samples + 100} samples each); {os.cpu_count()} cores, "
          f"load average {load:.2f} before the first sweep (other work on the machine skews the figures)")
    print(f"{'workers':>7} {'wall s':>8} {'runs/min':>9} {'speed-up':>9} {'mean run s':>11}")
    base = None
    for w, (res, wall) in results.items():
        rows = [{k: v for k, v in r.items() if k != "wall_s"} for r in res["rows"]]
        if rows0 is None:
            rows0 = rows
        elif rows != rows0:
            raise SystemExit(f"{w} workers gave different rows than {args.workers[0]}: not a fair comparison")
        rpm = res["runs"] / wall * 60.0
        base = base or rpm
        mean_run = sum(r["wall_s"] for r in res["rows"]) / res["runs"]
        print(f"{w:7d} {wall:8.2f} {rpm:9.1f} {rpm / base:9.2f} {mean_run:11.3f}")
    for w in args.workers:
        if w > 1:
            print(f"machine: {w} simultaneous CPU-bound processes give {machine_speedup(w):.2f}x the "
                  "throughput of one (the ceiling for the sweep's speed-up here)")


if __name__ == "__main__":
    main()
