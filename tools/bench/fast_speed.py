#!/usr/bin/env python3
"""Benchmark: the fast RTL back end (``--demon verilator-fast``) against the golden loop and the
cocotb Verilator back end, in closed-loop demon updates per second (``n_updates x chains /
wall_s``; ``wall_s`` excludes builds and model loading in every back end).

For each chain count it runs the golden loop and ``verilator-fast`` (idle-edge skipping on, and
off to show what it buys), checks that their ``codes_sha256`` agree, and prints the rates and the
ratio fast / golden; then the cocotb Verilator back end with one chain (it streams chains one
after another), and the targets: fast >= 100,000 updates/s with 16 or more chains and
>= 40,000 with 1 chain.

    .venv/bin/python tools/bench/fast_speed.py                               # default config
    .venv/bin/python tools/bench/fast_speed.py gauss16_digital --chains 1 16 64 --samples 3000
"""

from __future__ import annotations

import argparse

from demonloop.config import load_config
from demonloop.cosim.fast import run_fast
from demonloop.cosim.run import run_cosim
from demonloop.loop import run_golden
from demonloop.resources import config_path


def rate(rep) -> float:
    return rep["n_updates"] * rep["chains"] / rep["wall_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="spu8_linear_solve")
    ap.add_argument("--chains", type=int, nargs="*", default=[1, 16, 64])
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--cocotb-samples", type=int, default=1000)
    ap.add_argument("--no-cocotb", action="store_true")
    args = ap.parse_args()
    base = load_config(config_path(args.config))
    over = {"run": {"samples": args.samples, "burn_in_samples": 0}}
    print(f"{base.name}: {args.samples} samples, sample period {base.adc.sample_period_cycles} cycles")
    print(f"{'chains':>6} {'golden upd/s':>13} {'fast upd/s':>12} {'fast/golden':>11} {'no-skip upd/s':>14} "
          f"{'skip x':>7} {'same hash':>9}")
    for C in args.chains:
        cfg = base.with_overrides({**over, "chains": C})
        g, _ = run_golden(cfg)
        run_fast(cfg, quiet=True)                    # the build, once
        f, _ = run_fast(cfg, quiet=True)
        n, _ = run_fast(cfg, quiet=True, skip_idle=False)
        same = g["codes_sha256"] == f["codes_sha256"] == n["codes_sha256"] and f["bit_exact"] and n["bit_exact"]
        print(f"{C:6d} {rate(g):13,.0f} {rate(f):12,.0f} {rate(f) / rate(g):11.2f} {rate(n):14,.0f} "
              f"{rate(f) / rate(n):7.1f} {str(same):>9}")
    if not args.no_cocotb:
        cfg = base.with_overrides({"run": {"samples": args.cocotb_samples, "burn_in_samples": 0}, "chains": 1})
        c = run_cosim(cfg, "verilator", quiet=True)
        f, _ = run_fast(cfg, quiet=True)
        print(f"cocotb verilator, 1 chain, {args.cocotb_samples} samples: {rate(c):,.0f} updates/s; "
              f"verilator-fast 1 chain: {rate(f):,.0f} updates/s ({rate(f) / rate(c):.1f}x); "
              f"same hash: {c['codes_sha256'] == f['codes_sha256']}")
    print("targets: fast >= 100,000 updates/s with >= 16 chains, >= 40,000 with 1 chain")


if __name__ == "__main__":
    main()
