"""Firmware in the loop, host side: build the C firmware as a shared library, run a protocol
program against the RTL demon with the emulated analog array in the loop, score its answer.

``run_firmware(program, cfg, simulator)`` builds ``firmware/`` (``make fil``, cached by the
content of its sources under ``$DEMONLOOP_CACHE/firmware``) and the HDL (the co-simulation's
cached build), then runs the cocotb test :mod:`demonloop.cosim.firmware_tb` in the simulator: the C program
drives the demon over AXI4-Lite while the closed loop runs, every output checked against the golden
model. It returns a report: the co-simulation's (``bit_exact``, counters, the workload's metrics of
the captured run) plus ``firmware``: the program's status and result, decoded here into the
problem's units, and for the linear solve the error against ``numpy.linalg.solve`` with its bound.

The bound is the one the golden run is held to (tests/workloads/test_langevin.py): five predicted standard
errors of the time average (the linearised closed loop's exact autocovariances,
:mod:`demonloop.linearised`, one chain) plus the compiler's quantization error of the solution.

Programs (``firmware/programs``):

``linear_solve``  load A and b, skip ``run.burn_in_samples``, average ``run.samples`` captured
                  samples in fixed point, return x (the config's workload must be a linear solve)
``linear_solve_irq``  the same solve, interrupt-driven: the C program sleeps and an ISR, called
                  back when the demon's irq line rises, drains the FIFO
``anneal``        an annealing schedule: stages of rising beta, coefficients beta*(A, b) reloaded
                  at each stage while the unit is idle, per-stage mean and variance (see
                  ``firmware/programs/anneal.c``). The co-simulation's golden model does not
                  reprogram itself mid-run, so the loop stops at the first stage change (see
                  docs/firmware.md, Limits)
``diffusion``     a diffusion schedule run on the score-network demon: load the network and the
                  schedule table, reset the step, start, return the run's last sample (the
                  generated point); checked bit for bit like the rest of the loop
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from demonloop import resources
from demonloop.config import Config, ConfigError
from demonloop.cosim import simulators as sim
from demonloop.registry import Registry

#: Simulated cycles the firmware may run on after the loop's last sample before its accesses fail.
DRAIN_CYCLES = 50_000
#: Annealing schedule of the ``anneal`` program: inverse temperatures (relative to the config's
#: coefficients) and the share of the run's samples each stage averages.
ANNEAL_BETAS = (0.25, 0.5, 1.0)
ANNEAL_SETTLE = 20
#: Capture-FIFO level at which ``linear_solve_irq``'s interrupt fires (a quarter of demon_top's
#: default depth of 32: room for the ISR's latency before the FIFO overflows).
IRQ_THRESHOLD = 8


class FirmwareBuildError(RuntimeError):
    """``make`` failed on the firmware; the message holds its output."""


def firmware_dir() -> Path:
    """The firmware sources the library is built from (the package's own,
    :func:`demonloop.resources.firmware_dir`)."""
    return resources.firmware_dir()


def _sources(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file() and p.suffix in (".c", ".h") or p.name == "Makefile"
                  if "build" not in p.relative_to(d).parts)


def build_library(log=None) -> Path:
    """Build (or reuse) ``libdemon_fil.so``: the driver, the host platform and the programs."""
    for tool in ("make", "gcc"):
        if shutil.which(tool) is None:
            raise sim.SimulatorMissing(f"the firmware needs {tool}: `sudo apt-get install {tool}`, or run `tools/setup.sh`")
    d = firmware_dir()
    h = hashlib.sha256()
    for p in _sources(d):
        h.update(str(p.relative_to(d)).encode())
        h.update(p.read_bytes())
    build = resources.cache_dir() / "firmware" / h.hexdigest()[:16]
    build.mkdir(parents=True, exist_ok=True)
    lib = build / "libdemon_fil.so"
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not lib.exists():
            if log:
                log(f"building the firmware library in {build}")
            r = subprocess.run(["make", "-C", str(d), "fil", f"BUILD={build}"], capture_output=True, text=True,
                               timeout=300)
            if r.returncode != 0:
                raise FirmwareBuildError(f"make fil failed:\n{r.stdout}{r.stderr}")
    return lib


class FirmwareProgram:
    """A protocol program of ``firmware/programs`` as the host sees it: what it needs of a config
    (the demon kind it drives, the workload kinds it answers), its arguments, and its result
    decoded into the problem's units. Its ctypes side is :mod:`demonloop.cosim.firmware_tb`."""

    name: str
    demon: str
    #: workload kinds whose answer the program computes (None: any workload of its demon)
    workloads: tuple[str, ...] | None = None
    #: the program reprograms the demon at run time (coefficients, CTRL.ENABLE): the golden model
    #: follows its bus writes instead of holding the config's coefficients
    follow_writes: bool = False

    def check(self, cfg: Config) -> None:
        if self.workloads is not None and cfg.workload.kind not in self.workloads:
            raise ConfigError("workload.kind", f"the {self.name} program needs a {' or '.join(self.workloads)} "
                                               f"workload, got {cfg.workload.kind}")
        if cfg.demon.kind != self.demon:
            raise ConfigError("demon.kind", f"the {self.name} program drives the {self.demon} force unit; "
                                            f"this config uses {cfg.demon.kind}")

    def args(self, cfg: Config, program, idle_cycles: int) -> dict:
        raise NotImplementedError

    def decode(self, cfg: Config, program, r: dict) -> dict:
        return {}


class LinearSolveProgram(FirmwareProgram):
    """Load A and b, skip ``run.burn_in_samples``, average ``run.samples`` captured samples in
    fixed point, return x."""

    name, demon, workloads = "linear_solve", "linear", ("linear_solve",)

    def check(self, cfg):
        super().check(cfg)
        if cfg.run.samples > 1 << 30:
            raise ConfigError("run.samples", "the firmware averages at most 2^30 samples")

    def args(self, cfg, program, idle_cycles):
        return {"burn_in": cfg.run.burn_in_samples, "samples": cfg.run.samples,
                "inv_scale_q16": inv_scale_q16(program.scale), "idle_cycles": int(idle_cycles)}

    def decode(self, cfg, program, r):
        x = np.array(r["x_q16"], dtype=np.float64) / 2**16
        x_star = np.linalg.solve(program.M, program.b_t)
        bound, se = solution_error_bound(cfg, program)
        rel = float(np.linalg.norm(x - x_star) / np.linalg.norm(x_star))
        return dict(solution=x.tolist(), exact=x_star.tolist(), rel_error=rel, rel_error_bound=bound,
                    within_bound=rel < bound, solution_se_predicted=se.tolist(),
                    mean=(np.array(r["mean_q30"], dtype=np.float64) / 2**30).tolist())


class LinearSolveIrqProgram(LinearSolveProgram):
    """The linear solve driven by the demon's interrupt: an ISR drains the capture FIFO whenever it
    holds ``IRQ_THRESHOLD`` samples, the main loop sleeps (``demon_linear_solve_irq``)."""
    name = "linear_solve_irq"

    def args(self, cfg, program, idle_cycles):
        return {**super().args(cfg, program, idle_cycles), "irq_threshold": IRQ_THRESHOLD}


class AnnealProgram(LinearSolveProgram):
    """Stages of rising beta, coefficients beta*(A, b) reloaded at each stage while the unit is
    idle, per-stage mean and variance (``firmware/programs/anneal.c``)."""

    name, demon, workloads = "anneal", "linear", None
    follow_writes = True

    def args(self, cfg, program, idle_cycles):
        return {**super().args(cfg, program, idle_cycles), **anneal_schedule(cfg)}

    def decode(self, cfg, program, r):
        return dict(mean=(np.array(r["mean_q30"], dtype=np.float64) / 2**30).tolist(),
                    variance=(np.array(r["var_q30"], dtype=np.float64) / 2**30).tolist(),
                    betas=list(ANNEAL_BETAS))


class DiffusionProgram(FirmwareProgram):
    """Load the network and the schedule table, reset the step, start, return the run's last
    sample (the generated point)."""

    name, demon, workloads = "diffusion", "mlp", ("diffusion",)

    def args(self, cfg, program, idle_cycles):
        return {"samples": cfg.total_samples, "idle_cycles": int(idle_cycles)}

    def decode(self, cfg, program, r):
        codes = np.array(r["final_codes"], dtype=np.float64)
        return dict(generated=(codes * 2.0 ** (1 - cfg.adc.bits) * program.in_scale).tolist())


#: The protocol programs ``demonloop firmware run`` knows, by name.
PROGRAMS: Registry[FirmwareProgram] = Registry("firmware program")
for _p in (LinearSolveProgram(), LinearSolveIrqProgram(), AnnealProgram(), DiffusionProgram()):
    PROGRAMS.register(_p.name, _p)


def get_program(name: str) -> FirmwareProgram:
    if name not in PROGRAMS:
        raise ConfigError("PROGRAM", f"unknown program {name!r}: choose one of {', '.join(PROGRAMS.names())}")
    return PROGRAMS.get(name)


def check_firmware_config(program: str, cfg: Config) -> None:
    """What the firmware-in-the-loop run needs of the config, as config errors (exit 2)."""
    from demonloop.cosim.run import check_cosim_config

    get_program(program).check(cfg)
    check_cosim_config(cfg)
    spec = cfg.demon_spec()
    if cfg.adc.sample_period_cycles < spec.initiation_interval:
        raise ConfigError("adc.sample_period_cycles", f"{cfg.adc.sample_period_cycles} is shorter than the demon's "
                          f"initiation interval {spec.initiation_interval}: samples would be dropped, and the "
                          f"firmware counts captured samples")


def inv_scale_q16(scale: float) -> int:
    """1/a in Q(16, 16), RND: what the linear-solve program multiplies the mean by."""
    v = int(np.floor(65536.0 / scale + 0.5))
    if not 0 < v < 2**31:
        raise ConfigError("compiler", f"1/a = {1 / scale:g} does not fit Q(16, 16)")
    return v


def anneal_schedule(cfg: Config) -> dict:
    """Stages of the ``anneal`` program for ``cfg``: betas (Q16.16), samples per stage, settle."""
    k = len(ANNEAL_BETAS)
    per = max(1, cfg.run.samples // k)
    return {"beta_q16": [int(round(b * 65536)) for b in ANNEAL_BETAS], "stage_samples": [per] * k,
            "settle": min(ANNEAL_SETTLE, cfg.run.burn_in_samples)}


def solution_error_bound(cfg: Config, program) -> tuple[float, np.ndarray]:
    """(bound on the relative error of a one-chain solve, predicted standard errors of x):
    5 predicted standard errors plus the quantization error (the golden run's bound)."""
    from demonloop import linearised

    lin = linearised.from_program(program)
    cov_mean = lin.time_average_covariance(cfg.run.samples)[: cfg.n, : cfg.n]
    se = np.sqrt(np.diag(cov_mean)) / cfg.adc.full_scale_V / program.scale
    x_star = np.linalg.solve(program.M, program.b_t)
    bound = 5 * float(np.linalg.norm(se)) / float(np.linalg.norm(x_star)) + program.quantization["solution_rel_error"]
    return bound, se


def run_firmware(program_name: str, cfg: Config, simulator: str, trace: Path | None = None,
                 quiet: bool = False, idle_cycles: int | None = None, program_overrides: dict | None = None) -> dict:
    """Run firmware program ``program_name`` against the RTL demon on ``simulator`` with ``cfg``'s
    analog array in the loop (one chain). Returns the report (see the module docstring).

    ``program_overrides`` replaces the program's arguments (``burn_in``, ``samples``, ...; for the
    linear solve also ``a_raw`` / ``b_raw``, the coefficients the firmware loads): tests use it to
    run a firmware that disagrees with the config on purpose, to show the run catches it."""
    from demonloop import workloads
    from demonloop.cosim.run import cached_build

    cfg = cfg.with_overrides({"chains": 1}) if cfg.chains != 1 else cfg
    check_firmware_config(program_name, cfg)

    def log(msg):
        if not quiet:
            print(f"demonloop: {msg}", file=sys.stderr)

    program = workloads.of(cfg).compile(cfg)
    params = sim.hdl_parameters(program.spec, 10)
    fw_program = get_program(program_name)
    lib = build_library(log)
    try:
        runner, build_dir, build_s = cached_build(simulator, params, False, log)
    except sim.SimulatorMissing as e:
        raise ConfigError("--demon", str(e)) from None
    depth = 32                      # demon_top's CAP_DEPTH default (the build does not override it)
    if idle_cycles is None:
        idle_cycles = cfg.adc.sample_period_cycles * max(1, depth // 4)
    args = fw_program.args(cfg, program, idle_cycles)
    args.update(program_overrides or {})
    with tempfile.TemporaryDirectory(prefix=f"demonloop-fil-{simulator}-") as tmp:
        result = Path(tmp) / "result.json"
        job = {"config": cfg.raw(), "base_dir": str(cfg.base_dir), "simulator": simulator, "result": str(result),
               "library": str(lib), "program": program_name, "program_args": args,
               "drain_cycles": DRAIN_CYCLES, "trace": str(trace) if trace else None,
               "follow_writes": fw_program.follow_writes}
        log(f"running firmware program {program_name} with {cfg.total_samples:,} samples on the {simulator} RTL demon")
        t0 = time.perf_counter()
        log_path = Path(tmp) / "sim.log"
        sim.run(runner, build_dir, "demonloop.cosim.firmware_tb", seed=cfg.seed, test_dir=Path(tmp),
                extra_env={"DEMONLOOP_FIL_JOB": json.dumps(job), "COCOTB_LOG_LEVEL": "WARNING",
                           "PYTHONWARNINGS": "ignore::DeprecationWarning"},
                log_file=log_path)
        total_s = time.perf_counter() - t0
        if not result.exists():
            text = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
            raise RuntimeError(f"the {simulator} firmware-in-the-loop run wrote no result; its log ends with:\n"
                               + "\n".join(text.splitlines()[-40:]))
        rep = json.loads(result.read_text())
    fw = rep["firmware"]
    if fw.get("result") is not None:
        fw.update(fw_program.decode(cfg, program, fw["result"]))
    rep["build_s"] = round(build_s, 3)
    rep["sim_process_s"] = round(total_s, 3)
    if trace:
        rep["trace"] = str(trace)
    return rep
