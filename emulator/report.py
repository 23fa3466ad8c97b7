"""Reports: the JSON report of a run, the human summary, strict JSON and atomic file writes.

:func:`build_report` is the one place a run's report dict is assembled (golden runs,
co-simulations and firmware in the loop all call it); the workload adds its metrics and its
summary lines (:class:`demonloop.workloads.base.Workload`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

REPORT_VERSION = 1


def build_report(cfg, program, loop, est, demon: str, wall_s: float, extra: dict | None = None) -> dict:
    """The report of a run of ``cfg`` (compiled to ``program``) on ``loop``, scored by ``est``."""
    from demonloop import workloads

    w = workloads.of(cfg)
    c, pc = loop.counters, loop.plant.counters
    burn = getattr(loop, "at_burn_in", None)
    t = loop.timing
    unit_updates = cfg.chains * cfg.n * c.samples
    rep = {
        "config": cfg.name,
        "workload": cfg.workload.kind,
        "seed": cfg.seed,
        "demon": demon,
        "chains": cfg.chains,
        "units": cfg.n,
        "mode": w.mode(cfg),
        "metrics": _jsonable(est.metrics()),
        "headline": w.headline,
        "samples": c.samples,
        "burn_in_samples": w.burn_in_samples(cfg),
        "n_updates": c.accepted,
        "dropped_samples": c.dropped,
        "cycles": loop.end_cycle,
        "f_clk_Hz": cfg.clock.f_clk_Hz,
        "latency_cycles": t.loop_latency,
        "latency": {"adc": t.adc_latency, "demon": t.demon_latency, "dac": t.dac_latency,
                    "demon_ii": t.demon_ii, "sample_period": t.sample_period},
        "adc_clipped": pc.adc_clipped,
        "dac_saturated": pc.dac_saturated,
        "rail_clipped": pc.rail_clipped,
        "demon_overflows": c.demon_overflows,
        # the same counts from the first sample after burn-in on (None if the run ended before)
        "dac_saturated_after_burn_in": (pc.dac_saturated - burn[0]) if burn else None,
        "demon_overflows_after_burn_in": (c.demon_overflows - burn[1]) if burn else None,
        "wall_s": round(wall_s, 4),
        "unit_updates_per_s": unit_updates / wall_s if wall_s > 0 else None,
        "codes_sha256": loop.hasher.hexdigest(),
        "compiler": {
            "gamma_S": program.gamma,
            "scale": program.scale,
            "quantization": program.quantization,
            "notes": program.notes,
        },
        "curve": [[int(k), float(e)] for k, e in est.curve],
        "report_version": REPORT_VERSION,
    }
    if extra:
        rep.update(extra)
    return _jsonable(rep)


def jsonable(x):
    """``x`` with numpy types made plain and non-finite floats made None (strict JSON)."""
    return _jsonable(x)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.generic):          # numpy integers and booleans
        return x.item()
    return x


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def _si(x: float) -> str:
    for unit, f in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= f:
            return f"{x / f:.3g} {unit}"
    return f"{x:.3g} "


def summary(rep: dict, files: list[str]) -> str:
    """The short human summary of a run report."""
    from demonloop import workloads

    lat = rep["latency"]
    lines = [f"demonloop run: {rep['config']} ({rep['workload']}, {rep['mode']} mode, {rep['demon']} demon, seed {rep['seed']})"]
    lines += workloads.WORKLOADS.get(rep["workload"]).summary(rep)
    f = rep["f_clk_Hz"]
    lines.append(
        f"  cycles           {rep['cycles']:,} ({rep['cycles'] / f * 1e3:.3g} ms at {_si(f)}Hz); "
        f"{rep['n_updates']:,} demon updates; loop latency {rep['latency_cycles']} cycles "
        f"(ADC {lat['adc']} + demon {lat['demon']} + DAC {lat['dac']})"
    )
    lines.append(
        f"  clipping         ADC {rep['adc_clipped']:,}, rails {rep['rail_clipped']:,}, "
        f"DAC saturated {rep['dac_saturated']:,}, demon overflows {rep['demon_overflows']:,}, "
        f"dropped samples {rep['dropped_samples']:,}"
        + (f" (after burn-in: DAC {rep['dac_saturated_after_burn_in']:,}, demon {rep['demon_overflows_after_burn_in']:,})"
           if rep.get("dac_saturated_after_burn_in") is not None
           and (rep["dac_saturated"] or rep["demon_overflows"]) else "")
    )
    uups = rep["unit_updates_per_s"]
    lines.append(f"  wall time        {rep['wall_s']:.3g} s ({_si(uups)}unit-updates/s)")
    lines.append(f"  codes sha256     {rep['codes_sha256'][:16]}... (chain 0's ADC and DAC codes)")
    if "simulator" in rep:
        meas = ", ".join(map(str, rep.get("demon_latency_measured") or [])) or "no output"
        ref = rep.get("reference", "golden")
        where = f" ({rep['rtl']['toplevel']} from {rep['rtl']['origin']})" if rep.get("rtl") else ""
        if ref == "golden":
            lines.append(
                f"  RTL              {rep['simulator']}{where}: bit exact — {rep['outputs_checked']:,} outputs equal "
                f"the golden model cycle for cycle; demon latency measured {meas} cycles "
                f"(predicted {rep['latency']['demon']}); counters {rep['rtl_counters']}")
        elif ref == "none":
            lines.append(
                f"  RTL              {rep['simulator']}{where}: no reference — its {rep['outputs']:,} outputs drove the "
                f"array at its own cycles; demon latency measured {meas} cycles; counters {rep['rtl_counters']}")
        else:
            lines.append(
                f"  RTL              {rep['simulator']}{where}: bit exact against {ref} — {rep['outputs_checked']:,} "
                f"outputs equal the reference's codes; demon latency measured {meas} cycles")
        if rep.get("unanswered_inputs"):
            lines.append(f"  warning          {rep['unanswered_inputs']} accepted samples were never answered")
        lines.append(
            f"  RTL speed        {rep['updates_per_s']:.4g} demon updates/s, {rep['sim_cycles_per_s']:.4g} "
            f"simulated cycles/s (build {rep['build_s']:.3g} s)"
        )
        if rep.get("waves"):
            lines.append(f"  waves            {rep['waves']}")
    for note in rep["compiler"]["notes"]:
        lines.append(f"  note             {note}")
    if files:
        lines.append("  wrote            " + ", ".join(files))
    return "\n".join(lines)


def mismatch_text(rep: dict, files: list[str]) -> str:
    """What a failed bit-exactness check found, for a human."""
    mm = rep.get("mismatch")
    lines = [f"demonloop run: {rep['config']} with the {rep.get('simulator')} RTL demon: NOT bit exact "
             f"against {rep.get('reference', 'golden')}"]
    if mm:
        lines.append(f"  first difference ({mm['kind']}) at timeline cycle {mm.get('cycle', mm.get('expected_cycle'))}"
                     + (f", sample {mm['sample']}" if "sample" in mm else ""))
        if "channel" in mm:
            who = "golden" if rep.get("reference", "golden") == "golden" else "reference"
            lines.append(f"  channel {mm['channel']}: RTL code {mm['rtl_code']}, {who} code {mm['golden_code']}"
                         + (f" (expected at cycle {mm['expected_cycle']})" if mm.get("expected_cycle") != mm.get("cycle") else ""))
        if "adc_input" in mm:
            lines.append(f"  ADC input that caused it: {mm['adc_input']}")
    if rep.get("golden_counters") and rep.get("rtl_counters") is not None:
        lines.append(f"  RTL counters {rep.get('rtl_counters')} vs golden {rep.get('golden_counters')}")
    if files:
        lines.append("  wrote            " + ", ".join(files))
    return "\n".join(lines)
