"""Reports: the JSON report of a run, the human summary, strict JSON and atomic file writes.

:func:`build_report` is the one place a run's report dict is assembled (golden runs,
co-simulations and firmware in the loop all call it); the workload adds its metrics and its
summary lines (:class:`demonloop.workloads.base.Workload`).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

REPORT_VERSION = 1


def versions() -> dict:
    """The versions a result depends on: demonloop, Python, numpy and scipy (bit-equality of
    results is promised only between the same builds)."""
    import platform

    import scipy

    from demonloop import __version__

    return {"demonloop": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__}


def config_sha256(cfg) -> str:
    """SHA-256 of the config as run (the validated document, overrides applied, as canonical JSON:
    sorted keys, no spaces)."""
    import hashlib

    canon = json.dumps(cfg.raw(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def file_sha256(path) -> str | None:
    """SHA-256 of a file's bytes (None if it cannot be read)."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def provenance(cfg, simulator: str | None = None) -> dict:
    """What a report records of where it came from: :func:`versions`, the config's SHA-256 and,
    when an HDL simulator ran, its name and version (and cocotb's)."""
    out = {"versions": versions(), "config_sha256": config_sha256(cfg)}
    if simulator is not None:
        from demonloop.cosim.simulators import SIMULATORS

        try:
            import cocotb

            cocotb_version = getattr(cocotb, "__version__", None)
        except ImportError:  # pragma: no cover - a dependency
            cocotb_version = None
        out["versions"]["cocotb"] = cocotb_version
        out["simulator"] = {"name": simulator, "version": SIMULATORS.get(simulator).version()}
    return out


def build_report(cfg, program, loop, est, demon: str, wall_s: float, extra: dict | None = None) -> dict:
    """The report of a run of ``cfg`` (compiled to ``program``) on ``loop``, scored by ``est``."""
    from demonloop import workloads

    w = workloads.of(cfg)
    c, pc = loop.counters, loop.plant.counters
    burn = getattr(loop, "at_burn_in", None)
    t = loop.timing
    unit_updates = cfg.chains * cfg.n * c.samples
    # degenerate estimates (too few samples, zero spread) are NaN, stored as null; numpy's
    # warnings about them are not news here (the same as a sweep's rows)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        metrics = _jsonable(est.metrics())
    rep = {
        "config": cfg.name,
        "workload": cfg.workload.kind,
        "seed": cfg.seed,
        "demon": demon,
        "chains": cfg.chains,
        "units": cfg.n,
        "mode": w.mode(cfg),
        "metrics": metrics,
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
        "range_check": range_check(pc, c.samples, getattr(loop, "chains", cfg.chains), cfg.n),
        "report_version": REPORT_VERSION,
        "provenance": provenance(cfg),
    }
    if extra:
        rep.update(extra)
    return _jsonable(rep)


def range_check(pc, samples: int, chains: int, units: int) -> dict:
    """The measured fractions of ADC conversions clipped, node-voltage samples at a rail and DAC
    codes saturated, against the threshold ``demonloop check`` predicts with
    (:data:`demonloop.workloads.langevin.CLIP_THRESHOLD`); ``exceeded`` names those above it."""
    from demonloop.workloads.langevin import CLIP_THRESHOLD

    conv = max(samples * chains * units, 1)
    codes = max(pc.dac_updates * chains * units, 1)
    fr = {"adc_clip_fraction": pc.adc_clipped / conv, "rail_clip_fraction": pc.rail_clipped / conv,
          "dac_saturation_fraction": pc.dac_saturated / codes}
    return {**fr, "threshold": CLIP_THRESHOLD,
            "exceeded": [k.replace("_fraction", "") for k, v in fr.items() if v > CLIP_THRESHOLD]}


def range_line(rc: dict) -> str:
    """The range check in one line."""
    figs = (f"ADC clipped {rc['adc_clip_fraction']:.2g}, rails {rc['rail_clip_fraction']:.2g}, "
            f"DAC saturated {rc['dac_saturation_fraction']:.2g} (threshold {rc['threshold']:.2g})")
    if rc["exceeded"]:
        return f"  range check      EXCEEDED: {figs}: {', '.join(rc['exceeded'])} above it, the result is not trustworthy"
    return f"  range check      ok: {figs}"


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        from demonloop.config.errors import OutputError, short

        raise OutputError(f"cannot write {short(str(path), 200, quote=False)}: "
                          f"{exc.strerror or type(exc).__name__}") from None
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
    try:
        lines += workloads.WORKLOADS.get(rep["workload"]).summary(rep)
    except (KeyError, TypeError, ValueError):
        # metrics the run could not estimate (too few samples, a degenerate spread) are null
        known = {k: v for k, v in rep["metrics"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        missing = sorted(k for k, v in rep["metrics"].items() if v is None)
        lines.append("  metrics          " + (", ".join(f"{k} {v:.3g}" for k, v in list(known.items())[:8]) or "none")
                     + (f"; not estimable from this run: {', '.join(missing[:8])}" if missing else
                        "; the workload's scores need more samples"))
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
    if rep.get("range_check"):
        lines.append(range_line(rep["range_check"]))
    if rep.get("warnings"):
        from demonloop.workloads.langevin import warning_lines

        lines.extend(warning_lines(rep["warnings"]))
    uups = rep["unit_updates_per_s"]
    lines.append(f"  wall time        {rep['wall_s']:.3g} s ({_si(uups)}unit-updates/s)")
    lines.append(f"  codes sha256     {rep['codes_sha256'][:16]}... (chain 0's ADC and DAC codes)")
    if rep.get("calibration"):
        c = rep["calibration"]["cost"]
        lines.append(f"  calibration      demon coefficients from demonloop calibrate ({c['adc_samples']:,} ADC samples, "
                     f"{c['hardware_time_s']:.3g} s of hardware time)")
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
