"""Firmware in the loop: a cocotb test, run inside the simulator by :mod:`demonloop.cosim.firmware`.

The C driver and a protocol program (``firmware/``, built as a shared library) run in a cocotb
*bridge* thread (:func:`cocotb.task.bridge`); every register access the C code makes calls back
into Python (ctypes), where :func:`cocotb.task.resume` turns it into one AXI4-Lite transaction of
the testbench's bus master (:class:`demonloop.cosim.testbench.DemonTop`), the simulation
advancing while the C code waits for it. Meanwhile the closed loop of the co-simulation
(:class:`demonloop.cosim.loop_tb.RTLDriver`: the emulated analog array, the converters, the RTL demon
computing the force, each output checked against the golden model) runs as usual, except that the
firmware, not the testbench, configures and starts the demon:

1. reset; the firmware thread starts: ``demon_init``, then the program (load A and b, start);
2. the firmware's write of CTRL with ENABLE set starts the loop's timeline, START_MARGIN cycles
   later (:meth:`RTLDriver.run_chain`);
3. the loop runs every sample of the config; the firmware polls the capture FIFO concurrently;
4. after the loop's last sample the firmware has ``drain_cycles`` simulated cycles to finish;
   after that every access it makes answers a bus error (so a program waiting for samples that
   will never come returns instead of hanging the simulation).

Every access is traced (HDL cycle of its response, R/W, offset, value, response). The simulation
is deterministic: the firmware's accesses happen at the same simulated cycles run after run.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
from collections import deque

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import First, Timer
from cocotbext.axi import AxiResp

from demonloop import workloads
from demonloop.config import validate_config
from demonloop.cosim.loop_tb import START_MARGIN, Control, RTLDriver
from demonloop.cosim.testbench import DemonTop
from demonloop.demon import regs
from demonloop.loop import replay_estimator
from demonloop.report import build_report, write_json

MAX_N = 64
ANNEAL_MAX_STAGES = 16

# ------------------------------------------------------------------------------------------------
# ctypes mirrors of firmware/include/demon_host.h and demon_programs.h (sizes checked at load)
# ------------------------------------------------------------------------------------------------

READ32 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))
WRITE32 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32)
DELAY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32)
NOW = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p)
IRQ_LINE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
WAIT_IRQ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)


class Host(ctypes.Structure):
    _fields_ = [("read32", READ32), ("write32", WRITE32), ("delay", DELAY), ("user", ctypes.c_void_p),
                ("now", NOW), ("virtual_now", ctypes.c_uint32), ("irq_line", IRQ_LINE), ("wait_irq", WAIT_IRQ),
                ("isr", ctypes.c_void_p), ("isr_ctx", ctypes.c_void_p), ("in_isr", ctypes.c_uint32)]


class Counters(ctypes.Structure):
    _fields_ = [("in_", ctypes.c_uint32), ("out", ctypes.c_uint32), ("drop", ctypes.c_uint32),
                ("sat", ctypes.c_uint32)]

    def as_dict(self) -> dict:
        return {"CNT_IN": self.in_, "CNT_OUT": self.out, "CNT_DROP": self.drop, "CNT_SAT": self.sat}


class LinearSolveArgs(ctypes.Structure):
    _fields_ = [("a", ctypes.POINTER(ctypes.c_int32)), ("b", ctypes.POINTER(ctypes.c_int32)),
                ("n", ctypes.c_uint32), ("burn_in", ctypes.c_uint32), ("samples", ctypes.c_uint32),
                ("inv_scale_q16", ctypes.c_int32), ("idle_cycles", ctypes.c_uint32),
                ("timeout_cycles", ctypes.c_uint32)]


class LinearSolveResult(ctypes.Structure):
    _fields_ = [("x_q16", ctypes.c_int32 * MAX_N), ("mean_q30", ctypes.c_int64 * MAX_N),
                ("sum", ctypes.c_int64 * MAX_N), ("count", ctypes.c_uint32), ("discarded", ctypes.c_uint32),
                ("empty_polls", ctypes.c_uint32), ("counters", Counters)]


class AnnealArgs(ctypes.Structure):
    _fields_ = [("a", ctypes.POINTER(ctypes.c_int32)), ("b", ctypes.POINTER(ctypes.c_int32)),
                ("n", ctypes.c_uint32), ("stages", ctypes.c_uint32),
                ("beta_q16", ctypes.POINTER(ctypes.c_int32)), ("stage_samples", ctypes.POINTER(ctypes.c_uint32)),
                ("settle", ctypes.c_uint32), ("work", ctypes.POINTER(ctypes.c_int32)),
                ("idle_cycles", ctypes.c_uint32), ("timeout_cycles", ctypes.c_uint32)]


class AnnealResult(ctypes.Structure):
    _fields_ = [("mean_q30", (ctypes.c_int64 * MAX_N) * ANNEAL_MAX_STAGES),
                ("var_q30", (ctypes.c_int64 * MAX_N) * ANNEAL_MAX_STAGES),
                ("count", ctypes.c_uint32 * ANNEAL_MAX_STAGES), ("empty_polls", ctypes.c_uint32),
                ("counters", Counters)]


class DiffusionArgs(ctypes.Structure):
    _fields_ = [("weights", ctypes.POINTER(ctypes.c_int32)), ("n_weights", ctypes.c_uint32),
                ("biases", ctypes.POINTER(ctypes.c_int32)), ("n_biases", ctypes.c_uint32),
                ("scale", ctypes.POINTER(ctypes.c_int32)), ("drift", ctypes.POINTER(ctypes.c_int32)),
                ("noise", ctypes.POINTER(ctypes.c_int32)), ("emb", ctypes.POINTER(ctypes.c_int32)),
                ("rows", ctypes.c_uint32), ("samples", ctypes.c_uint32), ("idle_cycles", ctypes.c_uint32),
                ("timeout_cycles", ctypes.c_uint32)]


class DiffusionResult(ctypes.Structure):
    _fields_ = [("final_codes", ctypes.c_int32 * MAX_N), ("final_seq", ctypes.c_uint32), ("step", ctypes.c_uint32),
                ("discarded", ctypes.c_uint32), ("empty_polls", ctypes.c_uint32), ("counters", Counters)]


#: demon_programs_sizeof(which) for each mirror.
SIZES = {0: LinearSolveArgs, 1: LinearSolveResult, 2: AnnealArgs, 3: AnnealResult, 5: Host,
         6: DiffusionArgs, 7: DiffusionResult}
SIZEOF_DEV = 4


def load_library(path: str) -> ctypes.CDLL:
    """Load the firmware library and check every ctypes mirror against the C struct sizes."""
    lib = ctypes.CDLL(path)
    lib.demon_programs_sizeof.restype = ctypes.c_uint32
    lib.demon_programs_sizeof.argtypes = [ctypes.c_uint32]
    for which, mirror in SIZES.items():
        c_size = lib.demon_programs_sizeof(which)
        if c_size != ctypes.sizeof(mirror):
            raise RuntimeError(f"{mirror.__name__}: the C struct has {c_size} bytes, its ctypes mirror "
                               f"{ctypes.sizeof(mirror)}: emulator/cosim/firmware_tb.py is out of date with firmware/include")
    for name in ("demon_init", "demon_linear_solve", "demon_linear_solve_irq", "demon_anneal", "demon_diffusion"):
        getattr(lib, name).restype = ctypes.c_int
    lib.demon_status_name.restype = ctypes.c_char_p
    lib.demon_status_name.argtypes = [ctypes.c_int]
    return lib


def register_name(offset: int) -> str:
    """Register-map name of a byte offset ("CTRL", "COEF_A[12]", or "?" if unmapped)."""
    for r in regs.REGISTERS:
        if r.offset == offset:
            return r.name
    for a in regs.ARRAYS:
        if a.offset <= offset < a.offset + 4 * a.max_entries and (offset - a.offset) % 4 == 0:
            return f"{a.name}[{(offset - a.offset) // 4}]"
    return "?"


# ------------------------------------------------------------------------------------------------
# What the firmware wrote, edge by edge (the golden model follows it for programs that reprogram)
# ------------------------------------------------------------------------------------------------

#: Cycles between the edge at which demon_axil takes a write (AW and W handshake: the register, or
#: the coefficient bank, holds the new value from the next edge on) and the cycle_now() at which
#: the bus master's write returns (the B handshake, one edge later, seen by cocotbext-axi).
WRITE_EFFECT_LAG = 1


def _sign_extend(word: int, width: int) -> int:
    """The raw value a coefficient entry holds after a write of ``word``: its low ``width`` bits,
    sign-extended (rtl/regmap.yaml, COEF_A / COEF_B)."""
    v = word & ((1 << width) - 1)
    return v - (1 << width) if v >> (width - 1) else v


class RegisterShadow(Control):
    """The linear demon's run-time configuration as the firmware wrote it: CTRL.ENABLE and the
    coefficient memories, each OKAY write recorded with the edge the RTL took it at. The golden
    model for an input handshake at edge e is :class:`~demonloop.demon.linear.LinearDemon` with the
    coefficients of every write taken before e (one model per distinct coefficient set)."""

    def __init__(self, program):
        spec = program.spec
        self.spec = spec
        self.n = spec.n
        self.events: deque = deque()          # (edge, offset, value), in bus order
        self.enable = False
        # block RAM has no reset; the testbench's memories read 0 until written
        self.A = np.zeros((spec.n, spec.n), dtype=np.int64)
        self.b = np.zeros(spec.n, dtype=np.int64)
        self._models: dict[bytes, object] = {}
        self._model = None
        self.coef_sets: list[tuple[int, np.ndarray, np.ndarray]] = []   # (first edge used, A, b)
        self._last_query = -1
        self.starts = 0

    def record(self, edge: int, offset: int, value: int) -> None:
        self.events.append((edge, offset, value))

    def _apply(self, offset: int, value: int) -> None:
        s = self.spec
        if offset == regs.CTRL_OFFSET:
            enable = bool(regs.CTRL.field("ENABLE").get(value))
            self.starts += int(enable and not self.enable)
            self.enable = enable
        elif regs.COEF_A.offset <= offset < regs.COEF_A.offset + 4 * self.n * self.n:
            i = (offset - regs.COEF_A.offset) // 4
            self.A.reshape(-1)[i] = _sign_extend(value, s.coef.width)
            self._model = None
        elif regs.COEF_B.offset <= offset < regs.COEF_B.offset + 4 * self.n:
            self.b[(offset - regs.COEF_B.offset) // 4] = _sign_extend(value, s.bias.width)
            self._model = None

    def state_at(self, edge: int):
        assert edge >= self._last_query, "RegisterShadow queried out of order"
        self._last_query = edge
        while self.events and self.events[0][0] < edge:
            _, offset, value = self.events.popleft()
            self._apply(offset, value)
        if not self.enable:
            return False, None               # refused: no model needed (a load may be half done)
        if self._model is None:
            key = self.A.tobytes() + self.b.tobytes()
            model = self._models.get(key)
            if model is None:
                from demonloop.demon.linear import LinearDemon
                model = LinearDemon(self.spec, self.A.copy(), self.b.copy())
                model.reset()
                self._models[key] = model
                self.coef_sets.append((edge, self.A.copy(), self.b.copy()))
            self._model = model
        return self.enable, self._model.force_count


# ------------------------------------------------------------------------------------------------
# The bus the firmware sees
# ------------------------------------------------------------------------------------------------

class FirmwareBus:
    """Platform callbacks of the C code: each register access is one AXI4-Lite transaction (in the
    scheduler thread, through :func:`resume`), traced; delays are simulated time."""

    def __init__(self, top: DemonTop, shadow: RegisterShadow | None = None):
        self.top = top
        self.shadow = shadow
        self.trace: list[tuple[int, str, int, int, str]] = []   # (cycle, R/W, offset, value, resp)
        self.enable_cycle: int | None = None
        self.deadline: int | None = None      # HDL cycle after which every access fails
        self.expired = False
        self.delay_cycles = 0
        self.errors: list[str] = []
        self.started = cocotb.triggers.Event()
        self._read = resume(self._aread)
        self._write = resume(self._awrite)
        self._delay = resume(self._adelay)
        self._now = resume(self._anow)
        self._wait_irq = resume(self._await_irq)
        # the demon's irq line as of the current simulation time (a watcher follows the signal; the
        # simulation is paused while the C code runs, so the C side reads it without a hand-off)
        self.irq_level = 0
        self.irq_rises = 0
        self.irq_changed = cocotb.triggers.Event()
        # The C side keeps these pointers: keep the Python objects alive as long as the bus.
        self.host = Host(READ32(self._c_read), WRITE32(self._c_write), DELAY(self._c_delay), None,
                         NOW(self._c_now), 0, IRQ_LINE(self._c_irq_line), WAIT_IRQ(self._c_wait_irq), None, None, 0)

    async def watch_irq(self) -> None:
        """Follow demon_top's irq output (started once, for the whole run)."""
        sig = self.top.dut.irq
        self.irq_level = int(sig.value)
        while True:
            await sig.value_change
            level = int(sig.value)
            self.irq_rises += int(level and not self.irq_level)
            self.irq_level = level
            self.irq_changed.set()

    async def _await_irq(self, timeout_cycles: int) -> int:
        """WFI: until the irq line is high, or timeout_cycles, or the drain deadline."""
        if self.irq_level or self._late():
            return self.irq_level
        t0 = self.top.cycle_now()
        period = self.top.period
        while not self.irq_level and not self._late():
            left = timeout_cycles - (self.top.cycle_now() - t0)
            if left <= 0:
                break
            self.irq_changed.clear()
            waits = [self.irq_changed.wait(), Timer(left * period, unit="step")]
            if self.deadline is not None:
                waits.append(Timer(max(1, self.deadline + 1 - self.top.cycle_now()) * period, unit="step"))
            await First(*waits)
        self.delay_cycles += self.top.cycle_now() - t0
        return self.irq_level

    def _late(self) -> bool:
        if self.deadline is not None and self.top.cycle_now() > self.deadline:
            self.expired = True
        return self.expired

    async def _aread(self, offset: int) -> tuple[int, bool]:
        if self._late():
            # refused without a bus transaction, but traced: the trace holds every access the
            # firmware made, the failing one included
            self.trace.append((self.top.cycle_now(), "R", offset, 0, "DEADLINE"))
            return 0, False
        value, resp = await self.top.read(offset)
        self.trace.append((self.top.cycle_now(), "R", offset, value, resp.name))
        return value, resp == AxiResp.OKAY

    async def _awrite(self, offset: int, value: int) -> bool:
        if self._late():
            self.trace.append((self.top.cycle_now(), "W", offset, value, "DEADLINE"))
            return False
        resp = await self.top.write(offset, value)
        self.trace.append((self.top.cycle_now(), "W", offset, value, resp.name))
        ok = resp == AxiResp.OKAY
        if ok and self.shadow is not None:
            self.shadow.record(self.top.cycle_now() - WRITE_EFFECT_LAG, offset, value)
        if ok and offset == regs.CTRL_OFFSET and regs.CTRL.field("ENABLE").get(value) and self.enable_cycle is None:
            self.enable_cycle = self.top.cycle_now()
            self.started.set()
        return ok

    async def _adelay(self, cycles: int) -> None:
        if not self._late() and cycles > 0:
            self.delay_cycles += cycles
            await Timer(cycles * self.top.period, unit="step")

    async def _anow(self) -> int:
        return self.top.cycle_now() & 0xFFFFFFFF

    # ctypes callbacks: run in the bridge thread; never let an exception escape into C
    def _c_read(self, user, offset, value_ptr) -> int:
        try:
            value, ok = self._read(int(offset))
            value_ptr[0] = value
            return 0 if ok else 1
        except BaseException as e:  # noqa: BLE001 - reported, and a bus error for the C code
            self.errors.append(f"read {offset:#06x}: {e!r}")
            return 1

    def _c_write(self, user, offset, value) -> int:
        try:
            return 0 if self._write(int(offset), int(value)) else 1
        except BaseException as e:  # noqa: BLE001
            self.errors.append(f"write {offset:#06x}: {e!r}")
            return 1

    def _c_now(self, user) -> int:
        try:
            return int(self._now())
        except BaseException as e:  # noqa: BLE001
            self.errors.append(f"now: {e!r}")
            return 0

    def _c_irq_line(self, user) -> int:
        return int(self.irq_level)

    def _c_wait_irq(self, user, timeout) -> int:
        try:
            return int(self._wait_irq(int(timeout)))
        except BaseException as e:  # noqa: BLE001
            self.errors.append(f"wait_irq: {e!r}")
            return 0

    def _c_delay(self, user, cycles) -> None:
        try:
            self._delay(int(cycles))
        except BaseException as e:  # noqa: BLE001
            self.errors.append(f"delay: {e!r}")

    def dump(self, path: str, header: list[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for line in header:
                f.write(f"# {line}\n")
            f.write("cycle,op,offset,value,resp,register\n")
            for cycle, op, offset, value, resp in self.trace:
                f.write(f"{cycle},{op},0x{offset:04X},0x{value:08X},{resp},{register_name(offset)}\n")


# ------------------------------------------------------------------------------------------------
# Programs: arguments in, results out (plain JSON-able dicts)
# ------------------------------------------------------------------------------------------------

def _i32(values) -> ctypes.Array:
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    return (ctypes.c_int32 * max(1, len(v)))(*[int(x) for x in v])


class LinearSolve:
    def __init__(self, job: dict, program):
        n = program.config.n
        self.n = n
        p = job["program_args"]
        self.a = _i32(p.get("a_raw", program.A_raw))
        self.b = _i32(p.get("b_raw", program.b_raw))
        self.args = LinearSolveArgs(ctypes.cast(self.a, ctypes.POINTER(ctypes.c_int32)),
                                    ctypes.cast(self.b, ctypes.POINTER(ctypes.c_int32)),
                                    n, p["burn_in"], p["samples"], p["inv_scale_q16"], p["idle_cycles"], 0)
        self.result = LinearSolveResult()

    def call(self, lib, dev) -> int:
        return lib.demon_linear_solve(dev, ctypes.byref(self.args), ctypes.byref(self.result))

    def output(self) -> dict:
        r, n = self.result, self.n
        return {"x_q16": list(r.x_q16[:n]), "mean_q30": list(r.mean_q30[:n]), "sum": list(r.sum[:n]),
                "count": r.count, "discarded": r.discarded, "empty_polls": r.empty_polls,
                "counters": r.counters.as_dict()}


class LinearSolveIrq(LinearSolve):
    """demon_linear_solve_irq: the same arguments and result, plus the IRQ threshold."""

    def __init__(self, job: dict, program):
        super().__init__(job, program)
        self.threshold = int(job["program_args"]["irq_threshold"])

    def call(self, lib, dev) -> int:
        return lib.demon_linear_solve_irq(dev, ctypes.byref(self.args), ctypes.c_uint32(self.threshold),
                                          ctypes.byref(self.result))


class Anneal:
    def __init__(self, job: dict, program):
        n = program.config.n
        self.n = n
        p = job["program_args"]
        self.stages = len(p["beta_q16"])
        self.a = _i32(program.A_raw)
        self.b = _i32(program.b_raw)
        self.beta = _i32(p["beta_q16"])
        self.per = (ctypes.c_uint32 * self.stages)(*p["stage_samples"])
        self.work = (ctypes.c_int32 * (n * n + n))()
        self.args = AnnealArgs(ctypes.cast(self.a, ctypes.POINTER(ctypes.c_int32)),
                               ctypes.cast(self.b, ctypes.POINTER(ctypes.c_int32)), n, self.stages,
                               ctypes.cast(self.beta, ctypes.POINTER(ctypes.c_int32)),
                               ctypes.cast(self.per, ctypes.POINTER(ctypes.c_uint32)), p["settle"],
                               ctypes.cast(self.work, ctypes.POINTER(ctypes.c_int32)), p["idle_cycles"], 0)
        self.result = AnnealResult()

    def call(self, lib, dev) -> int:
        return lib.demon_anneal(dev, ctypes.byref(self.args), ctypes.byref(self.result))

    def output(self) -> dict:
        r, n, k = self.result, self.n, self.stages
        return {"mean_q30": [list(r.mean_q30[s][:n]) for s in range(k)],
                "var_q30": [list(r.var_q30[s][:n]) for s in range(k)],
                "count": list(r.count[:k]), "empty_polls": r.empty_polls, "counters": r.counters.as_dict()}


def _ptr(arr) -> ctypes.POINTER(ctypes.c_int32):
    return ctypes.cast(arr, ctypes.POINTER(ctypes.c_int32))


class Diffusion:
    def __init__(self, job: dict, program):
        self.n = program.config.n
        p = job["program_args"]
        S = np.asarray(program.schedule_raw, dtype=np.int64)
        w = np.concatenate([np.asarray(W, dtype=np.int64).reshape(-1) for W in program.W_raw])
        b = np.concatenate([np.asarray(v, dtype=np.int64).reshape(-1) for v in program.b_raw])
        self.w, self.b = _i32(w), _i32(b)
        self.scale, self.drift, self.noise = _i32(S[:, 0]), _i32(S[:, 1]), _i32(S[:, 2])
        self.emb = _i32(S[:, 3:]) if S.shape[1] > 3 else None
        self.args = DiffusionArgs(_ptr(self.w), len(w), _ptr(self.b), len(b), _ptr(self.scale), _ptr(self.drift),
                                  _ptr(self.noise), _ptr(self.emb) if self.emb is not None else None, S.shape[0],
                                  p["samples"], p["idle_cycles"], 0)
        self.result = DiffusionResult()

    def call(self, lib, dev) -> int:
        return lib.demon_diffusion(dev, ctypes.byref(self.args), ctypes.byref(self.result))

    def output(self) -> dict:
        r = self.result
        return {"final_codes": list(r.final_codes[: self.n]), "final_seq": r.final_seq, "step": r.step,
                "discarded": r.discarded, "empty_polls": r.empty_polls, "counters": r.counters.as_dict()}


def _rnd_div(p: int, q: int) -> int:
    """RND (round half up) of p / q, q > 0, in exact integers: floor(p / q + 1/2)."""
    return (2 * p + q) // (2 * q)


def anneal_exact(codes: np.ndarray, accepted: list[tuple[int, int]], count: list[int], settle: int,
                 x_bits: int) -> list[dict]:
    """What ``demon_anneal`` must return for each stage, recomputed in exact integers from the
    loop's ADC codes: stage k (the k-th start of the unit) averages its accepted samples
    ``settle .. settle + count[k] - 1`` (the capture FIFO numbers accepted samples; the program
    discards the previous stage's leftovers and its first ``settle``), with
    mean_q30 = RND(S1 * 2^(31 - X_BITS) / count) and
    var_q30 = RND(S2 * 2^(32 - 2 X_BITS) / count) - RND(mean_q30^2 / 2^30) (firmware/programs/anneal.c)."""
    out = []
    for k, cnt in enumerate(count):
        ms = [m for m, epoch in accepted if epoch == k + 1][settle: settle + cnt]
        if len(ms) < cnt:
            out.append({"samples": [], "mean_q30": None, "var_q30": None})
            continue
        X = codes[ms].astype(object)                   # Python ints: exact
        s1 = [int(v) for v in X.sum(axis=0)]
        s2 = [int(v) for v in (X * X).sum(axis=0)]
        mean = [_rnd_div(a * (1 << (31 - x_bits)), cnt) for a in s1]
        if 2 * x_bits <= 32:
            ex2 = [_rnd_div(b * (1 << (32 - 2 * x_bits)), cnt) for b in s2]
        else:
            ex2 = [_rnd_div(b, cnt << (2 * x_bits - 32)) for b in s2]
        var = [e - _rnd_div(mq * mq, 1 << 30) for e, mq in zip(ex2, mean)]
        out.append({"samples": [int(ms[0]), int(ms[-1])], "mean_q30": mean, "var_q30": var})
    return out


PROGRAMS = {"linear_solve": LinearSolve, "linear_solve_irq": LinearSolveIrq, "anneal": Anneal,
            "diffusion": Diffusion}


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------

@cocotb.test()
async def firmware_in_the_loop(dut):
    job = json.loads(os.environ["DEMONLOOP_FIL_JOB"])
    cfg = validate_config(job["config"], base_dir=job.get("base_dir"))
    program = workloads.of(cfg).compile(cfg)
    top = DemonTop(dut, program.spec)
    top.out_ready.value = 1          # the DAC is always ready
    await top.reset()

    lib = load_library(job["library"])
    prog = PROGRAMS[job["program"]](job, program)
    # a program that reprograms the demon mid-run: the golden model follows its writes
    shadow = RegisterShadow(program) if job.get("follow_writes") else None
    bus = FirmwareBus(top, shadow)
    irq_watch = cocotb.start_soon(bus.watch_irq())
    dev = ctypes.create_string_buffer(lib.demon_programs_sizeof(SIZEOF_DEV))

    def firmware() -> tuple[str, int]:
        """The firmware's main(): runs in the bridge thread, blocking on every bus access."""
        st = lib.demon_init(dev, ctypes.byref(bus.host))
        if st != 0:
            return "demon_init", st
        return job["program"], prog.call(lib, dev)

    t0 = time.perf_counter()
    fw = cocotb.start_soon(bridge(firmware)())
    await First(bus.started.wait(), fw)
    loop_result = None
    if bus.enable_cycle is not None:
        runner = RTLDriver(top, program, job["simulator"], control=shadow)
        loop_result = await runner.run_chain(0, reset_step=False)
        bus.deadline = top.cycle_now() + int(job["drain_cycles"])
    where, status = await fw
    irq_watch.cancel()
    wall = time.perf_counter() - t0

    status_name = lib.demon_status_name(status).decode()
    firmware_report = {
        "program": job["program"], "status": status_name, "failed_in": where if status else None,
        "bus_errors_after_deadline": bus.expired, "python_errors": bus.errors,
        "reads": sum(1 for t in bus.trace if t[1] == "R"), "writes": sum(1 for t in bus.trace if t[1] == "W"),
        "delay_cycles": bus.delay_cycles, "enable_cycle": bus.enable_cycle, "irq_rises": bus.irq_rises,
        "end_cycle": top.cycle_now(), "result": prog.output() if status == 0 else None,
        "us_per_access": wall / max(1, len(bus.trace)) * 1e6,
    }
    if job.get("trace"):
        bus.dump(job["trace"], [f"demonloop firmware run {job['program']} {cfg.name} on {job['simulator']}",
                                f"HDL cycle of each access's response; the loop's timeline cycle 0 is HDL cycle "
                                f"{(bus.enable_cycle or 0) + START_MARGIN} (approx.: the first edge after ENABLE + {START_MARGIN})",
                                f"resp DEADLINE: refused after the drain deadline, without a bus transaction",
                                f"{len(bus.trace)} accesses, firmware status {status_name}"])

    if loop_result is None:
        write_json(job["result"], {"config": cfg.name, "simulator": job["simulator"], "firmware": firmware_report,
                                   "bit_exact": None, "mismatch": None, "loop_ran": False, "wall_s": wall})
        return

    res = loop_result
    if str(top.sched_late.value) == "1" and res.mismatch is None:
        res.mismatch = {"kind": "testbench: an input was scheduled after its cycle"}
    rtl = await top.counters()
    golden_counters = {"CNT_IN": res.loop.counters.accepted, "CNT_OUT": res.outputs,
                       "CNT_DROP": res.loop.counters.dropped, "CNT_SAT": res.loop.counters.demon_overflows}
    measured = sorted(res.latencies)
    t = res.loop.timing
    est = replay_estimator(program, [res.codes])
    extra = {
        "bit_exact": res.mismatch is None and rtl == golden_counters,
        "mismatch": res.mismatch,
        "rtl_counters": rtl,
        "golden_counters": golden_counters,
        "demon_latency_measured": measured,
        "outputs_checked": res.outputs,
        "simulator": job["simulator"],
        "latency_cycles": t.adc_latency + measured[0] + t.dac_latency if len(measured) == 1 else None,
        "loop_ran": True,
        "last_sample_codes": [int(v) for v in res.codes[-1]],
        "firmware": firmware_report,
    }
    if shadow is not None:
        extra["refused_samples"] = res.refused
        extra["coefficient_sets"] = [{"from_cycle": int(e - (bus.enable_cycle or 0) - START_MARGIN),
                                      "A_raw": A.tolist(), "b_raw": b.tolist()} for e, A, b in shadow.coef_sets]
    if job["program"] == "anneal" and status == 0:
        r = firmware_report["result"]
        exact = anneal_exact(res.codes, res.accepted_m, r["count"], int(job["program_args"]["settle"]),
                             program.spec.x_bits)
        extra["anneal_exact"] = exact
        extra["anneal_matches_exact"] = all(e["mean_q30"] == mq and e["var_q30"] == vq
                                            for e, mq, vq in zip(exact, r["mean_q30"], r["var_q30"]))
    rep = build_report(cfg, program, res.loop, est, demon=job["simulator"], wall_s=wall, extra=extra)
    write_json(job["result"], rep)
