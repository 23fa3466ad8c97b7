"""``demonloop run --demon icarus|verilator``: the closed loop with the Verilog demon computing the force.

Builds ``tb_demon_top`` (``emulator/cosim/hdl``) around ``rtl/demon_top.v``, or around a user's
demon (``--rtl RTL.yaml``, :mod:`demonloop.cosim.rtl`), with the config's demon parameters, then
runs the cocotb test :mod:`demonloop.cosim.loop_tb` in the simulator through the cocotb 2.x
runner, the outputs checked against ``--reference`` (:mod:`demonloop.cosim.reference`). Builds
are cached per simulator, design and parameter set in the user cache folder
(:func:`demonloop.resources.cache_dir`), keyed by the content of every HDL source, so a second
run starts at once; a file lock keeps concurrent builds of the same key apart.

Chains run one after another, as the hardware runs them (``--chains N`` streams N, each with its
own seed, chain 0 the config's). The simulated clock period is a nominal 10 ns whatever
``clock.f_clk_Hz`` says: the HDL only counts cycles, physical time lives in the Python plant.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from demonloop import resources
from demonloop.cosim import simulators as sim
from demonloop.cosim.reference import GOLDEN, Reference
from demonloop.cosim.rtl import Interface, RTLDesign, check_interface
from demonloop.config import Config, ConfigError

SIM_CLK_PERIOD_NS = 10
#: The co-simulation reads only the testbench top's signals, so Verilator may optimise the rest.
VISIBILITY = "top"
#: Input words the testbench's scheduler can hold ahead of their cycle.
SCHED_DEPTH = 4


def _build_key(simulator: str, params: dict, waves: bool, design: RTLDesign) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"sim": simulator, "params": params, "waves": waves, "python": sys.version,
                         "visibility": VISIBILITY, **sim.SIMULATORS.get(simulator).key()},
                        sort_keys=True).encode())
    h.update(design.fingerprint().encode())
    h.update(sim.testbench_top().read_bytes())
    return h.hexdigest()[:16]


def cached_build(simulator: str, params: dict, waves: bool, log=None, design: RTLDesign | None = None,
                 interface: Interface | None = None) -> tuple[object, Path, float]:
    """A runner and the build folder for ``params`` around ``design`` (default: the project's
    demon), built now or reused. Returns build seconds."""
    design = design or RTLDesign.bundled()
    key = _build_key(simulator, params, waves, design)
    build_dir = resources.cache_dir() / "build" / f"{simulator}-{key}"
    build_dir.mkdir(parents=True, exist_ok=True)
    stamp = build_dir / ".built"
    t0 = time.perf_counter()
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            runner = sim.get_runner(simulator, VISIBILITY)
        else:
            if log:
                log(f"building the {simulator} model in {build_dir} (cached for next time)")
            log_file = build_dir / "build.log"
            try:
                runner = sim.build(simulator, params, build_dir, waves=waves, log_file=log_file,
                                   visibility=VISIBILITY, design=design, interface=interface)
            except RuntimeError:
                text = log_file.read_text(errors="replace") if log_file.exists() else ""
                first = next((line.strip() for line in text.splitlines()
                              if "error" in line.lower() or "%Error" in line), "no error line in the log")
                field = "--demon" if design.is_bundled else "--rtl"
                raise ConfigError(field, f"the {simulator} build of {design.toplevel} failed: {first[:300]} "
                                         f"(the whole log: {log_file})") from None
            stamp.write_text(key + "\n")
    return runner, build_dir, time.perf_counter() - t0


class CosimFailed(RuntimeError):
    """The co-simulation could not run the loop (the demon did not answer its configuration)."""


#: Chains the co-simulation streams back to back at most (each is a full run on the RTL).
MAX_CHAINS = 64


def check_cosim_config(cfg: Config) -> None:
    """The co-simulation's own limits, as config errors (exit 2)."""
    from demonloop import workloads

    if getattr(workloads.of(cfg), "golden_only", False):
        raise ConfigError("--demon", f"workload.kind {cfg.workload.kind} reprograms the demon from the host every "
                          "step; the co-simulation loads it once: run it with the golden demon")
    if cfg.chains > MAX_CHAINS:
        raise ConfigError("chains", f"the RTL co-simulation runs chains one after another (as the hardware "
                          f"does): at most {MAX_CHAINS}, got {cfg.chains}")
    ahead = (cfg.adc.latency_cycles + cfg.dac.latency_cycles) // cfg.adc.sample_period_cycles + 1
    if ahead > SCHED_DEPTH:
        raise ConfigError("adc.latency_cycles", f"ADC + DAC latency spans {ahead} sample periods; the co-simulation "
                          f"testbench holds at most {SCHED_DEPTH} samples ahead")
    if cfg.demon.latency_cycles is not None:
        raise ConfigError("demon.latency_cycles", "is a golden-only idealisation; the RTL has its own latency (set it to null)")


def prepare_rtl(cfg: Config, rtl: RTLDesign | None, hdl_overrides: dict | None = None):
    """(design, HDL parameters of the testbench, interface or None): the project's demon, or the
    user's checked against the contract for ``cfg`` (ConfigError before anything is built)."""
    params = sim.hdl_parameters(cfg.demon_spec(), SIM_CLK_PERIOD_NS)
    params.update(hdl_overrides or {})
    if rtl is None or rtl.is_bundled:
        return rtl or RTLDesign.bundled(), params, None
    return rtl, params, check_interface(rtl, cfg.demon_spec(), params)


def run_cosim(cfg: Config, simulator: str, waves: bool = False, out_dir: Path | None = None,
              quiet: bool = False, hdl_overrides: dict | None = None, plot: bool = False,
              return_codes: bool = False, rtl: RTLDesign | None = None, reference: Reference = GOLDEN,
              progress: bool | None = None):
    """Run ``cfg`` with the RTL demon on ``simulator``; returns the report (``bit_exact`` when a
    reference checked the outputs), and with ``return_codes`` also every chain's ADC codes, int64
    ``(samples, chains, n)``.

    ``rtl``: a user's demon (:func:`demonloop.cosim.rtl.load_rtl`; default the project's);
    ``reference``: what its outputs are checked against (:mod:`demonloop.cosim.reference`);
    ``progress``: a bar on stderr (default: when stderr is a terminal and not ``quiet``).
    ``hdl_overrides`` replaces HDL parameters of the build (tests use it to build an RTL that
    differs from the golden model on purpose, to show the checker catches it).
    """
    check_cosim_config(cfg)
    waves = waves or os.environ.get("WAVES", "0").strip().lower() in ("1", "true", "yes", "on")
    design, params, iface = prepare_rtl(cfg, rtl, hdl_overrides)

    def log(msg):
        if not quiet:
            print(f"demonloop: {msg}", file=sys.stderr)

    try:
        runner, build_dir, build_s = cached_build(simulator, params, waves, log, design, iface)
    except sim.SimulatorMissing as e:
        raise ConfigError("--demon", str(e)) from None
    with tempfile.TemporaryDirectory(prefix=f"demonloop-{simulator}-") as tmp:
        test_dir = Path(out_dir) / f"sim_{simulator}" if (waves and out_dir) else Path(tmp)
        test_dir.mkdir(parents=True, exist_ok=True)
        result = Path(tmp) / "result.json"
        codes_file = Path(tmp) / "codes.npy"
        progress_file = Path(tmp) / "progress"
        job = {"config": cfg.raw(), "simulator": simulator, "result": str(result), "chains": cfg.chains,
               "base_dir": str(cfg.base_dir), "codes": str(codes_file) if return_codes else None,
               "reference": reference.to_json(), "has_axi": iface.has_axi if iface else True,
               "progress": str(progress_file),
               "plot": str(Path(out_dir) / "plot.png") if (out_dir and plot) else None}
        where = "" if design.is_bundled else f" ({design.toplevel} from {design.origin})"
        log(f"running {cfg.chains} chain(s) x {cfg.total_samples:,} samples with the {simulator} RTL demon{where} "
            f"in the loop, checked against {reference.name}")
        t0 = time.perf_counter()
        log_path = Path(tmp) / "sim.log"

        def simulate():
            sim.run(runner, build_dir, "demonloop.cosim.loop_tb", seed=cfg.seed, test_dir=test_dir,
                    extra_env={"DEMONLOOP_COSIM_JOB": json.dumps(job), "COCOTB_LOG_LEVEL": "WARNING",
                               "PYTHONWARNINGS": "ignore::DeprecationWarning"},
                    waves=waves, log_file=log_path)

        show = (not quiet and sys.stderr.isatty()) if progress is None else progress
        _with_progress(simulate, progress_file, cfg.chains * cfg.total_samples, show,
                       f"{cfg.name} on {simulator}")
        total_s = time.perf_counter() - t0
        if not result.exists():
            text = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
            raise RuntimeError(f"the {simulator} co-simulation wrote no result; its log ends with:\n"
                               + "\n".join(text.splitlines()[-40:]))
        rep = json.loads(result.read_text())
        if "failed" in rep:
            raise CosimFailed(rep["failed"])
        codes = np.load(codes_file) if return_codes else None
    rep["build_s"] = round(build_s, 3)
    rep["sim_process_s"] = round(total_s, 3)
    if not design.is_bundled:
        rep["rtl"] = {"origin": design.origin, "toplevel": design.toplevel,
                      "has_axi": iface.has_axi, "parameters": iface.parameters}
    if waves:
        fst = sorted(test_dir.glob("*.fst")) + sorted(build_dir.glob("*.fst"))
        rep["waves"] = str(fst[0]) if fst else None
        log(f"waveform: {rep['waves']}")
    return (rep, codes) if return_codes else rep


def _with_progress(work, progress_file: Path, total: int, show: bool, desc: str) -> None:
    """Run ``work()``; meanwhile, with ``show``, a tqdm bar on stderr of the demon updates the
    simulation reports in ``progress_file`` (``done total``): updates, rate, time left."""
    if not show:
        work()
        return
    import threading

    from tqdm import tqdm

    errors: list[BaseException] = []

    def target():
        try:
            work()
        except BaseException as exc:          # re-raised in this thread below
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    bar = tqdm(total=total, desc=desc, unit="update", file=sys.stderr, leave=False)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.25)
            try:
                done = int(progress_file.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            bar.update(max(0, min(done, total) - bar.n))
    finally:
        bar.close()
    if errors:
        raise errors[0]
