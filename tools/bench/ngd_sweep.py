#!/usr/bin/env python3
"""When does thermodynamic natural-gradient descent stop beating Adam per step? A sweep of
examples/natural_gradient/ngd_logistic.yaml over the chains (parallel arrays) and samples averaged per solve
(hardware time per step), the ADC bits and the R/C tolerance: the final loss after the config's steps, the
median per-solve error, and the steps at which the hardware NGD's loss is below Adam's.

    .venv/bin/python tools/bench/ngd_sweep.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from demonloop.config import load_config
from demonloop.loop import run_golden

CFG = Path(__file__).resolve().parents[2] / "examples" / "natural_gradient" / "ngd_logistic.yaml"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    base = load_config(CFG)
    rows = []
    print(f"{'chains':>6} {'solve':>6} {'hw us/step':>10} {'adc bits':>8} {'tol':>5} {'final loss':>10} {'exact NGD':>9} "
          f"{'Adam':>7} {'solve err':>9} {'steps below Adam':>16}")
    for tol, chains, bits, solve in [(t, c, b, s) for t in (0.0, 0.2) for c in (64, 4, 1) for b in (12, 6)
                                     for s in (400, 25, 1)]:
        if True:
            if True:
                cfg = base.with_overrides({"workload.solve_samples": solve, "adc.bits": bits, "chains": chains,
                                           "array.tolerance": {"R": tol, "C": tol}})
                rep, _ = run_golden(cfg)
                m = rep["metrics"]
                below = int(np.sum(np.asarray(m["loss"][1:]) < np.asarray(m["adam_loss"][1:])))
                r = {"chains": chains, "solve_samples": solve, "hw_us_per_step": m["hardware_time_per_step_s"] * 1e6, "adc_bits": bits,
                     "tolerance": tol, "final_loss": m["final_loss"], "exact_ngd": m["exact_ngd_loss"][-1],
                     "adam": m["adam_loss"][-1], "solve_err": m["solve_rel_error_median"], "steps_below_adam": below,
                     "steps": m["steps_done"]}
                rows.append(r)
                print(f"{chains:6d} {solve:6d} {r['hw_us_per_step']:10.0f} {bits:8d} {tol:5.2f} {r['final_loss']:10.4g} "
                      f"{r['exact_ngd']:9.4g} {r['adam']:7.4g} {r['solve_err']:9.3g} {below:>10d} of {r['steps']}",
                      flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
