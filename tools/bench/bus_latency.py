#!/usr/bin/env python3
"""Study: at what CPU-side bus latency does the capture FIFO overrun, polling and with interrupts?

Runs the firmware-in-the-loop linear solve (``linear_solve``, polling) and its interrupt-driven
twin (``linear_solve_irq``) on the default config with the bus-latency model of
``demonloop firmware run``: every register access costs ``--bus-wait-states`` extra CPU cycles
after its AXI4-Lite response (CPU clock = demon clock here). For each wait-state count it prints
whether the program finished (DEMON_OK) or lost samples (DEMON_E_OVERRUN), the accesses per
sample it took (up to the failure, if any), and the bus time per sample they cost (accesses x (handshake + wait states), demon cycles)
against the sample period; and plots the bus time per sample with the outcome.

    .venv/bin/python tools/bench/bus_latency.py                      # Icarus, 300 samples a run
    .venv/bin/python tools/bench/bus_latency.py --demon verilator --waits 0 4 8 12 16 --png out.png
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from demonloop.config import load_config
from demonloop.cosim.firmware import run_firmware

ROOT = Path(__file__).resolve().parents[2]


def from_trace(trace: Path, n: int) -> tuple[float, int, int]:
    """(median cycles between consecutive CAP_DATA reads of one sample: one access's bus cost,
    samples the firmware took (reads of CAP_DATA[n-1]), accesses until the last of them)."""
    rows = [r for r in csv.DictReader(ln for ln in trace.read_text().splitlines() if not ln.startswith("#"))]
    gaps = [int(b["cycle"]) - int(a["cycle"]) for a, b in zip(rows, rows[1:])
            if a["register"].startswith("CAP_DATA") and b["register"].startswith("CAP_DATA")]
    last = f"CAP_DATA[{n - 1}]"
    taken = [i for i, r in enumerate(rows) if r["register"] == last]
    return (float(np.median(gaps)) if gaps else float("nan")), len(taken), (taken[-1] + 1 if taken else 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demon", default="icarus")
    ap.add_argument("--waits", type=int, nargs="+", default=[0, 2, 4, 6, 8, 12])
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--png", default=str(ROOT / "docs" / "img" / "bus_latency.png"))
    a = ap.parse_args()
    cfg = load_config(ROOT / "hw_configs" / "spu8_linear_solve.yaml").with_overrides(
        {"chains": 1, "run.burn_in_samples": 50, "run.samples": a.samples})
    period = cfg.adc.sample_period_cycles
    rows = []
    print(f"{'program':<18}{'wait':>6}{'status':>18}{'acc/sample':>12}{'cyc/access':>12}{'bus cyc/sample':>16}"
          f"  (sample period {period} cycles)")
    for prog in ("linear_solve", "linear_solve_irq"):
        for w in a.waits:
            with tempfile.TemporaryDirectory() as tmp:
                trace = Path(tmp) / "t.csv"
                rep = run_firmware(prog, cfg, a.demon, trace=trace, quiet=True, bus_wait_states=w)
                fw = rep["firmware"]
                hs, taken, upto = from_trace(trace, cfg.n)
            acc = upto / max(1, taken)          # accesses per sample the firmware took
            bus = acc * hs
            rows.append((prog, w, fw["status"], acc, hs, bus))
            print(f"{prog:<18}{w:>6}{fw['status']:>18}{acc:>12.2f}{hs:>12.1f}{bus:>16.1f}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for prog, marker in (("linear_solve", "o"), ("linear_solve_irq", "s")):
        r = [x for x in rows if x[0] == prog]
        ws = [x[1] for x in r]
        ax.plot(ws, [x[5] for x in r], marker=marker, label=f"{prog}")
        bad = [(x[1], x[5]) for x in r if x[2] != "DEMON_OK"]
        if bad:
            ax.scatter(*zip(*bad), s=120, facecolors="none", edgecolors="red", zorder=3)
    ax.axhline(period, color="k", ls="--", lw=1, label=f"sample period ({period} cycles)")
    ax.set_xlabel("bus wait states per access (CPU cycles, CPU clock = demon clock)")
    ax.set_ylabel("bus time per sample (demon cycles)")
    ax.set_title("Capture FIFO overrun (red rings) vs bus latency, default config")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)
    print(f"plot: {a.png}")


if __name__ == "__main__":
    main()
