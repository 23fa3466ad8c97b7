"""Run a config end to end and report: the JSON report, the human summary, atomic file writes."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from demonloop.workloads.langevin import HardwareProgram, compile_program
from demonloop.config import Config
from demonloop.loop import Loop
from demonloop.workloads.estimators import Estimator, make_estimator

REPORT_VERSION = 1


def run_golden(cfg: Config, progress: Callable[[int], None] | None = None) -> tuple[dict, Estimator]:
    """Compile and run ``cfg`` with the golden demon. Returns (report dict, estimator)."""
    program = compile_program(cfg)
    est = make_estimator(program, cfg.chains)
    loop = Loop(program, cfg.chains, cfg.seed)
    t0 = time.perf_counter()
    loop.run_golden(est.on_sample, progress)
    wall = time.perf_counter() - t0
    return build_report(cfg, program, loop, est, demon="golden", wall_s=wall), est


def chain_seed(seed: int, c: int) -> int:
    """Seed of chain ``c`` when chains run one after another (the RTL co-simulation): chain 0 is
    ``seed`` itself, so a one-chain run is the same whichever way it runs."""
    if c == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(c)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def replay_estimator(program, codes_per_chain: list[np.ndarray]):
    """The workload's estimator fed, sample by sample, with chains recorded one after another:
    ``codes_per_chain[c]`` is chain c's (samples, n) ADC codes."""
    from demonloop.workloads.estimators import make_estimator

    C = len(codes_per_chain)
    est = make_estimator(program, C)
    stacked = np.stack([np.asarray(x, dtype=np.float64) for x in codes_per_chain], axis=1)   # (T, C, n)
    for m in range(stacked.shape[0]):
        est.on_sample(m, stacked[m])
    return est


def run_golden_streamed(cfg: Config, chains: int) -> tuple[dict, object]:
    """The golden model run the way the RTL co-simulation runs: ``chains`` one-chain loops one
    after another (seeds :func:`chain_seed`), scored together. Returns (report, estimator); the
    report's ``codes_sha256`` is chain 0's and ``codes_sha256_all`` covers every chain in order."""
    import hashlib

    program = compile_program(cfg)
    loops, codes = [], []
    t0 = time.perf_counter()
    for c in range(chains):
        loop = Loop(program, 1, chain_seed(cfg.seed, c), instance_seed=cfg.seed)
        rec = np.zeros((cfg.total_samples, cfg.n), dtype=np.int64)

        def on_sample(m, X, rec=rec):
            rec[m] = X[0]

        loop.run_golden(on_sample)
        loops.append(loop)
        codes.append(rec)
    wall = time.perf_counter() - t0
    est = replay_estimator(program, codes)
    h = hashlib.sha256()
    for loop in loops:
        h.update(loop.hasher.hexdigest().encode())
    rep = build_report(cfg, program, loops[0], est, demon="golden", wall_s=wall,
                       extra={"codes_sha256_all": h.hexdigest(), "streamed_chains": chains})
    rep["chains"] = chains
    rep["n_updates"] = sum(lp.counters.accepted for lp in loops)
    return rep, est


def build_report(cfg: Config, program: HardwareProgram, loop: Loop, est: Estimator, demon: str,
                 wall_s: float, extra: dict | None = None) -> dict:
    c, pc = loop.counters, loop.plant.counters
    t = loop.timing
    unit_updates = cfg.chains * cfg.n * c.samples
    rep = {
        "config": cfg.name,
        "workload": cfg.workload.kind,
        "seed": cfg.seed,
        "demon": demon,
        "chains": cfg.chains,
        "units": cfg.n,
        "mode": "score" if cfg.is_score else cfg.compiler.mode,
        "metrics": _jsonable(est.metrics()),
        "headline": est.headline_name(),
        "samples": c.samples,
        "burn_in_samples": 0 if cfg.workload.kind == "diffusion" else cfg.run.burn_in_samples,
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
    m = rep["metrics"]
    lat = rep["latency"]
    kind = rep["workload"]
    lines = [f"demonloop run: {rep['config']} ({kind}, {rep['mode']} mode, {rep['demon']} demon, seed {rep['seed']})"]
    if kind == "diffusion" and not m.get("scored"):
        lines.append(f"  sample quality   not scored: {m.get('note', 'no samples')}")
    elif kind == "posterior" and "cov_rel_error" not in m:
        lines.append(f"  posterior        not scored: {m.get('samples_per_chain', 0)} sample(s) after burn-in")
    elif kind == "diffusion":
        lines.append(
            f"  sample quality   MMD² {m['mmd2']:.2g} ± {m['mmd2_null_sd']:.1g} (null sd) vs held-out data; "
            f"float64 sampler {m['mmd2_float64']:.2g}  [Gaussian kernel, bandwidth {m['bandwidth']:.3g}]"
        )
        lines.append(
            f"                   sliced W2 {m['sw2']:.3g} (float64 {m['sw2_float64']:.3g}, excess {m['sw2_excess']:+.2g}); "
            f"fine-scale MMD² {m['mmd2_fine']:.2g} (float64 {m['mmd2_fine_float64']:.2g})"
        )
    elif kind == "posterior":
        lines.append(
            f"  posterior        covariance error {m['cov_rel_error']:.3g}; max |z| of the means {m['max_abs_mean_z']:.2f} "
            f"(Bonferroni p {m['mean_p_bonferroni']:.2g}); MMD two-sample p {m['mmd_p']:.2g}"
        )
        if "implemented_max_abs_mean_z" in m:
            lines.append(
                f"                   vs the density the network implements: max |z| {m['implemented_max_abs_mean_z']:.2f}, "
                f"covariance error {m['implemented_cov_rel_error']:.3g}, MMD p {m['implemented_mmd_p']:.2g}"
            )
    elif kind == "linear_solve":
        lines.append(
            f"  solution error   {m['rel_error']:.3g} relative to numpy.linalg.solve "
            f"(standard error {m['rel_standard_error']:.2g}; quantization alone "
            f"{rep['compiler']['quantization']['solution_rel_error']:.2g})"
        )
    elif kind == "gaussian":
        lines.append(
            f"  covariance error {m['cov_rel_error']:.3g} relative (standard error {m['cov_rel_standard_error']:.2g}); "
            f"mean error {m['mean_error']:.3g}; KL {m['kl']:.3g} nats"
        )
    elif kind == "inverse":
        lines.append(f"  inverse error    {m['rel_error']:.3g} relative to numpy.linalg.inv (standard error {m['rel_standard_error']:.2g})")
    else:
        lines.append(f"  log-determinant  {m['logdet']:.5g} vs exact {m['exact']:.5g} "
                     f"(error {m['abs_error']:.3g}, standard error {m['standard_error']:.2g})")
    tau = m.get("tau_int_samples")
    if kind == "diffusion":
        lines.append(f"  samples          {m.get('samples', 0):,} (one per chain, {m.get('scored', 0):,} scored) after "
                     f"{rep['samples'] - 2:,} schedule steps")
    else:
        ess = m.get("ess_mean")
        lines.append(
            f"  samples          {m['samples_per_chain']:,} per chain after {rep['burn_in_samples']:,} burn-in"
            f" x {rep['chains']:,} chains" + (f" (ESS {ess:.3g}" if ess else " (")
            + (f", tau_int {tau:.3g} samples)" if tau else ")")
        )
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
    )
    uups = rep["unit_updates_per_s"]
    lines.append(f"  wall time        {rep['wall_s']:.3g} s ({_si(uups)}unit-updates/s)")
    lines.append(f"  codes sha256     {rep['codes_sha256'][:16]}... (chain 0's DAC stream)")
    if "bit_exact" in rep:
        meas = rep.get("demon_latency_measured") or []
        lines.append(
            f"  RTL              {rep['simulator']}: bit exact — {rep['outputs_checked']:,} outputs equal the golden "
            f"model cycle for cycle; demon latency measured {', '.join(map(str, meas))} cycles "
            f"(predicted {rep['latency']['demon']}); counters {rep['rtl_counters']}"
        )
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
    lines = [f"demonloop run: {rep['config']} with the {rep.get('simulator')} RTL demon: NOT bit exact"]
    if mm:
        lines.append(f"  first difference ({mm['kind']}) at timeline cycle {mm.get('cycle', mm.get('expected_cycle'))}"
                     + (f", sample {mm['sample']}" if "sample" in mm else ""))
        if "channel" in mm:
            lines.append(f"  channel {mm['channel']}: RTL code {mm['rtl_code']}, golden code {mm['golden_code']}"
                         + (f" (expected at cycle {mm['expected_cycle']})" if mm.get("expected_cycle") != mm.get("cycle") else ""))
        if "adc_input" in mm:
            lines.append(f"  ADC input that caused it: {mm['adc_input']}")
    lines.append(f"  RTL counters {rep.get('rtl_counters')} vs golden {rep.get('golden_counters')}")
    if files:
        lines.append("  wrote            " + ", ".join(files))
    return "\n".join(lines)
