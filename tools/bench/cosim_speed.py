#!/usr/bin/env python3
"""Benchmark: the closed loop with the RTL demon, against the same RTL running free.

For each simulator it prints
- the co-simulated closed loop (``demonloop run CONFIG --demon SIM``, one chain): demon updates
  per second, simulated cycles per second, and Python's share per update (the time between the
  one wake per sample and the next await: plant step, ADC, golden check, bus values) and the
  rest of each update's wall time (the simulator, the cocotb wake and scheduler: "sim us/upd");
- the same RTL running free in the same simulator with no Python in the loop: a Verilog
  testbench (tools/bench/hdl/tb_free.v) that loads the coefficients over AXI4-Lite and feeds
  input words from a memory at the same sample period (Icarus: iverilog + vvp; Verilator:
  ``--binary --timing``, no VPI, no cocotb);
- their ratio, and the targets: on Icarus the loop at least half as fast as the free RTL; on
  Verilator at least 10,000 updates per second at the default sample period.

    .venv/bin/python tools/bench/cosim_speed.py                       # default config
    .venv/bin/python tools/bench/cosim_speed.py hw_configs/gauss16_digital.yaml --samples 3000
"""

from __future__ import annotations

import argparse

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

from demonloop.cosim import simulators as sim
from demonloop.cosim.simulators import cocotb_names
from demonloop.config import load_config
from demonloop.cosim.run import SIM_CLK_PERIOD_NS, run_cosim


def free_run(simulator: str, cfg, samples: int, work: Path) -> tuple[float, int]:
    """Wall seconds of the free-running RTL and the cycles it simulated."""
    spec = cfg.demon_spec()
    params = sim.hdl_parameters(spec, SIM_CLK_PERIOD_NS)
    params.pop("CLK_PERIOD_NS")
    params.update(SAMPLES=samples, PERIOD=cfg.adc.sample_period_cycles)
    rng = np.random.default_rng(0)
    mask = (1 << spec.x_bits) - 1
    with open(work / "inputs.hex", "w") as fh:
        for _ in range(samples):
            word = 0
            for j, c in enumerate(rng.integers(-(1 << (spec.x_bits - 1)), 1 << (spec.x_bits - 1), spec.n)):
                word |= (int(c) & mask) << (j * spec.x_bits)
            fh.write(f"{word:x}\n")
    srcs = [str(p) for p in sim.rtl_sources()] + [str(REPO / "tools/bench/hdl/tb_free.v")]
    rtl = str(sim.rtl_dir())
    if simulator == "icarus":
        gp = [f"-Ptb_free.{k}={v}" for k, v in params.items()]
        subprocess.run(["iverilog", "-g2005", "-o", str(work / "free.vvp"), "-I", rtl, "-s", "tb_free", *gp, *srcs],
                       check=True, cwd=work)
        cmd = ["vvp", "-n", str(work / "free.vvp")]
    else:
        sim.check_simulator("verilator")
        gp = [f"-G{k}={v}" for k, v in params.items()]
        # The co-simulation's C++ flags and nothing more (an -O in -CFLAGS would override them).
        opt = [a for v in sim.VERILATOR_OPT for a in ("-MAKEFLAGS", v)]
        subprocess.run(["verilator", "--binary", "--timing", "-CFLAGS", "-std=c++20", "-j", "2", *opt,
                        "-Wno-fatal", "-Wno-lint",
                        "--top-module", "tb_free", "-I" + rtl, "-Mdir", str(work / "vobj"), *gp, *srcs],
                       check=True, cwd=work, capture_output=True)
        cmd = [str(work / "vobj" / "Vtb_free")]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, cwd=work, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    line = [x for x in out.splitlines() if x.startswith("FREE")][0]
    cycles = int(line.split("cycles=")[1].split()[0])
    return wall, cycles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=str(REPO / "hw_configs/spu8_linear_solve.yaml"))
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--simulators", nargs="*", default=list(cocotb_names()))
    args = ap.parse_args()
    cfg = load_config(args.config).with_overrides(
        {"chains": 1, "run.burn_in_samples": 0, "run.samples": args.samples})
    P = cfg.adc.sample_period_cycles
    print(f"{cfg.name}: {cfg.n} units, sample period {P} cycles, {args.samples} samples, one chain")
    print(f"{'simulator':>10} {'loop upd/s':>11} {'loop cyc/s':>11} {'python us/upd':>14} {'sim us/upd':>11} "
          f"{'free cyc/s':>11} {'free upd/s':>11} {'loop/free':>10}")
    verdicts = []
    for s in args.simulators:
        rep = run_cosim(cfg, s, quiet=True)
        assert rep["bit_exact"], rep["mismatch"]
        work = Path(tempfile.mkdtemp(prefix=f"free-{s}-"))
        try:
            wall, cycles = free_run(s, cfg, args.samples, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        free_cps = cycles / wall
        py = rep["python_us_per_update"]
        print(f"{s:>10} {rep['updates_per_s']:11.4g} {rep['sim_cycles_per_s']:11.4g} "
              f"{py:14.4g} {1e6 / rep['updates_per_s'] - py:11.4g} {free_cps:11.4g} {free_cps / P:11.4g} "
              f"{rep['sim_cycles_per_s'] / free_cps:10.2f}")
        verdicts.append(f"{s}: " + (
            f"loop/free {rep['sim_cycles_per_s'] / free_cps:.2f} (target >= 0.5)" if s == "icarus"
            else f"{rep['updates_per_s']:,.0f} updates/s (target >= 10,000)"))
    for v in verdicts:
        print(v)


if __name__ == "__main__":
    main()
