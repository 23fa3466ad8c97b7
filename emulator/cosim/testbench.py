"""cocotb handle on ``tb_demon_top`` (see the header of ``tb_demon_top.v``): used by the RTL tests and
by the closed-loop co-simulation. Import it only inside a running simulation.

Time base. Rising edge ``k`` (cycle ``k``) happens at ``t_e0 + k * period`` (simulator steps),
``t_e0`` being the time of the first rising edge that samples ``rst = 0`` (the HDL ``cycle``
register reads ``k`` after edge ``k``). Waiting for cycle ``k`` costs one :class:`~cocotb.triggers.Timer`
(:meth:`DemonTop.before_edge`, :meth:`DemonTop.at_edge`), never ``k`` clock edges. A value
written in ``before_edge(k)`` (half a period before edge ``k``) is sampled at edge ``k``.

Handshakes. ``in_fire_toggle`` / ``out_fire_toggle`` flip at every input / output handshake;
:meth:`DemonTop.next_input` / :meth:`DemonTop.next_output` wake on that change
(``toggle.value_change``, the cocotb 2.x spelling of ``Edge(toggle)``), wait for the read-only
phase and return the handshake's cycle and word.
"""

from __future__ import annotations

import bisect
import logging
import os
import zlib
from collections import deque
from dataclasses import dataclass, field

import cocotb
import cocotb.handle
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, ReadOnly, SimTimeoutError, Timer, with_timeout
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from demonloop.demon import regs
from demonloop.demon.base import pack, unpack
from demonloop.demon.linear import LinearDemon, LinearDemonSpec


def to_u32(raw: int) -> int:
    """Two's-complement 32-bit word of a signed integer (how the bus carries a coefficient)."""
    return raw & 0xFFFF_FFFF


def from_u32(word: int) -> int:
    """Signed value of a 32-bit word."""
    return word - (1 << 32) if word & 0x8000_0000 else word


# cocotb's own reading of COCOTB_TRUST_INERTIAL_WRITES (private; False if it moves)
_TRUST_INERTIAL = bool(getattr(cocotb.handle, "_trust_inertial", False))


def _fast_unsigned(handle) -> int:
    """Unsigned value of a fully defined vector signal, without building a LogicArray (the
    co-simulation reads a few signals per sample; cocotb's LogicArray costs ~10 us each)."""
    try:
        return int(handle._handle.get_signal_val_binstr(), 2)
    except (AttributeError, ValueError):
        return handle.value.to_unsigned()


def _fast_write(handle, value: int, fmt: str) -> None:
    """Deposit a non-negative int on a vector signal, bypassing cocotb's per-write checks and
    LogicArray (one write per sample in the co-simulation). Under Verilator cocotb trusts the
    simulator's inertial writes (``COCOTB_TRUST_INERTIAL_WRITES=1``) and writes at once, as this
    does; under Icarus cocotb defers writes to the read-write phase, so there the public API is kept."""
    if _TRUST_INERTIAL:
        handle._handle.set_signal_val_binstr(0, format(value, fmt))   # 0: deposit
    else:
        handle.value = value


#: Cycles an AXI4-Lite access may take before the demon is declared deaf.
BUS_TIMEOUT_CYCLES = 10_000


class BusTimeout(AssertionError):
    """The demon did not answer a bus access."""


@dataclass(frozen=True)
class Fire:
    """One handshake: the cycle (edge index) it happened at and the packed word that crossed."""

    cycle: int
    word: int


class DemonTop:
    """Signal handles (looked up once), the cycle clock, reset and the AXI4-Lite master of one
    ``tb_demon_top`` instance built for ``spec`` (a linear unit for a :class:`LinearDemonSpec`, the
    score network for an :class:`MLPSpec`, whose output word is n force codes then drift and noise)."""

    def __init__(self, dut, spec):
        self.dut = dut
        self.spec = spec
        self.clk = dut.clk
        self.rst = dut.rst
        self.in_valid = dut.in_valid
        self.in_ready = dut.in_ready
        self.in_data = dut.in_data
        self.out_valid = dut.out_valid
        self.out_ready = dut.out_ready
        self.out_data = dut.out_data
        self.cycle = dut.cycle
        self.in_fire_toggle = dut.in_fire_toggle
        self.in_fire_cycle = dut.in_fire_cycle
        self.in_fire_data = dut.in_fire_data
        self.in_fire_count = dut.in_fire_count
        self.out_fire_toggle = dut.out_fire_toggle
        self.out_fire_cycle = dut.out_fire_cycle
        self.out_fire_data = dut.out_fire_data
        self.out_fire_count = dut.out_fire_count
        self.out_fire_status = dut.out_fire_status
        self.sched_push = dut.sched_push
        self.sched_late = dut.sched_late
        self._sched_toggle = 0
        self._in_bits = spec.n * spec.x_bits
        self._out_bits = len(self.out_fire_data)
        self._push_bin = f"0{self._in_bits + 65}b"
        if len(self.sched_push) != self._in_bits + 65:
            raise ValueError(f"testbench sched_push is {len(self.sched_push)} bits; the demon spec "
                             f"({spec.n} units x {spec.x_bits} bits) needs {self._in_bits + 65}")

        self.rst.value = 1
        self.in_valid.value = 0
        self.in_data.value = 0
        self.out_ready.value = 0
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        for channel in (self.axil.write_if, self.axil.read_if):
            channel.log.setLevel(logging.WARNING)   # one INFO line per transfer is too chatty

        self.period: int | None = None   # clock period in simulator steps
        self.t_e0: int | None = None     # time of cycle 0 (first rising edge sampling rst = 0)

    # ------------------------------------------------------------------------------------------
    # Time base
    # ------------------------------------------------------------------------------------------

    @staticmethod
    def now() -> int:
        return get_sim_time("step")

    def edge_time(self, k: int) -> int:
        """Simulator time of rising edge ``k``."""
        return self.t_e0 + k * self.period

    def cycle_now(self) -> int:
        """Index of the latest rising edge at or before now (-1 before cycle 0)."""
        return (self.now() - self.t_e0) // self.period

    async def until(self, t: int, timers: dict[int, Timer] | None = None) -> None:
        """Wait until simulator time ``t`` (returns at once if it has passed).

        ``timers``: a dict the caller owns, holding one Timer per delay to await again, for a
        caller that waits the same interval over and over (the co-simulation, once per sample).
        Only that caller may wait on them: a Timer awaited a second time while primed fires at
        its first waiter's time."""
        dt = t - self.now()
        if dt <= 0:
            return
        if timers is None:
            await Timer(dt, unit="step")
            return
        timer = timers.get(dt)
        if timer is None:
            if len(timers) >= 64:
                timers.clear()
            timer = timers[dt] = Timer(dt, unit="step")
        await timer

    async def before_edge(self, k: int, timers: dict[int, Timer] | None = None) -> None:
        """Wait until half a period before rising edge ``k``: a value written now is sampled at
        edge ``k``. ``timers``: see :meth:`until`."""
        await self.until(self.edge_time(k) - self.period // 2, timers)

    async def at_edge(self, k: int) -> None:
        """Wait until rising edge ``k`` has been processed (read-only phase of its time step)."""
        await self.until(self.edge_time(k))
        await ReadOnly()

    async def reset(self, cycles: int = 4) -> None:
        """Hold ``rst`` for ``cycles`` rising edges, release it and anchor cycle 0 at the next edge."""
        self.rst.value = 1
        await self.clk.rising_edge
        t0 = self.now()
        await self.clk.rising_edge
        self.period = self.now() - t0
        for _ in range(max(cycles - 2, 0)):
            await self.clk.rising_edge
        self.rst.value = 0
        await self.clk.rising_edge
        self.t_e0 = self.now()
        await ReadOnly()
        assert self.cycle.value.to_unsigned() == 0, "cycle counter is not 0 at the first edge out of reset"

    async def reset_at(self, k: int, cycles: int = 3) -> None:
        """Assert ``rst`` so that edges ``k .. k+cycles-1`` sample it, then re-anchor cycle 0 after it."""
        await self.before_edge(k)
        self.rst.value = 1
        await self.before_edge(k + cycles)
        self.rst.value = 0
        self.t_e0 = self.edge_time(k + cycles)
        await self.at_edge(0)
        assert self.cycle.value.to_unsigned() == 0, "cycle counter is not 0 at the first edge out of reset"

    # ------------------------------------------------------------------------------------------
    # Handshakes
    # ------------------------------------------------------------------------------------------

    async def next_input(self) -> Fire:
        """Wait for the next input handshake and return it."""
        await self.in_fire_toggle.value_change
        await ReadOnly()
        return Fire(self.in_fire_cycle.value.to_unsigned(), self.in_fire_data.value.to_unsigned())

    async def next_output(self) -> Fire:
        """Wait for the next output handshake and return it."""
        await self.out_fire_toggle.value_change
        await ReadOnly()
        return Fire(self.out_fire_cycle.value.to_unsigned(), self.out_fire_data.value.to_unsigned())

    def schedule_input(self, cycle: int, word: int) -> None:
        """Have the testbench present ``word`` on the input stream for exactly edge ``cycle``
        (call it half a period before an edge, e.g. from :meth:`before_edge`; ``cycle`` may be
        that very edge). No wake-up is needed to drive or to release it. ``word`` is the packed
        input word (``0 <= word < 2**(n*x_bits)``, see :func:`pack`)."""
        if cycle < 0 or cycle >> 64 or word < 0 or word >> self._in_bits:
            raise ValueError(f"schedule_input: cycle {cycle} or word {word:#x} out of range")
        self._sched_toggle ^= 1
        value = (((self._sched_toggle << 64) | cycle) << self._in_bits) | word
        _fast_write(self.sched_push, value, self._push_bin)

    def output_count(self) -> int:
        """Output handshakes since reset."""
        return _fast_unsigned(self.out_fire_count)

    def input_count(self) -> int:
        """Input handshakes since reset."""
        return _fast_unsigned(self.in_fire_count)

    def output_status(self) -> tuple[int, int, int, int]:
        """(count, cycle, word, measured latency) of the latest output handshake, in one read."""
        s = _fast_unsigned(self.out_fire_status)
        w = self._out_bits
        m64 = (1 << 64) - 1
        return (s >> (w + 128), (s >> w) & m64, s & ((1 << w) - 1), (s >> (w + 64)) & m64)

    # ------------------------------------------------------------------------------------------
    # Bus
    # ------------------------------------------------------------------------------------------

    async def write(self, offset: int, value: int) -> AxiResp:
        """Write a 32-bit word; returns the response (OKAY or SLVERR). :class:`BusTimeout` if
        the demon does not answer within :data:`BUS_TIMEOUT_CYCLES`."""
        data = int(value & 0xFFFF_FFFF).to_bytes(4, "little")
        resp = await self._bounded(self.axil.write(offset, data), f"write of {value & 0xFFFF_FFFF:#x} to {offset:#06x}")
        return resp.resp

    async def read(self, offset: int) -> tuple[int, AxiResp]:
        """Read a 32-bit word; returns (value, response). :class:`BusTimeout` as :meth:`write`."""
        resp = await self._bounded(self.axil.read(offset, 4), f"read of {offset:#06x}")
        return int.from_bytes(resp.data, "little"), resp.resp

    async def _bounded(self, access, what: str):
        period = self.period or 1
        try:
            return await with_timeout(access, BUS_TIMEOUT_CYCLES * period, "step")
        except SimTimeoutError:
            raise BusTimeout(f"the demon did not answer the AXI4-Lite {what} within {BUS_TIMEOUT_CYCLES} cycles "
                             f"(rtl/INTERFACE.md: the bus port)") from None

    async def write_ok(self, offset: int, value: int) -> None:
        resp = await self.write(offset, value)
        assert resp == AxiResp.OKAY, f"write of {value:#x} to {offset:#06x} answered {resp!r}"

    async def read_ok(self, offset: int) -> int:
        value, resp = await self.read(offset)
        assert resp == AxiResp.OKAY, f"read of {offset:#06x} answered {resp!r}"
        return value

    async def load_coefficients(self, A_raw: np.ndarray, b_raw: np.ndarray) -> None:
        """Write ``A`` (row-major) and ``b`` raw values to COEF_A / COEF_B."""
        n = self.spec.n
        A_raw = np.asarray(A_raw, dtype=np.int64).reshape(n, n)
        for i, v in enumerate(A_raw.reshape(-1).tolist()):
            await self.write_ok(regs.COEF_A.entry_offset(i), to_u32(v))
        for i, v in enumerate(np.asarray(b_raw, dtype=np.int64).reshape(n).tolist()):
            await self.write_ok(regs.COEF_B.entry_offset(i), to_u32(v))

    async def load_network(self, weights_raw: list[np.ndarray], biases_raw: list[np.ndarray]) -> None:
        """Write an MLP's raw weights (layer by layer, each row-major (out, in)) to MLP_W and its
        biases (layer by layer) to MLP_B."""
        w = np.concatenate([np.asarray(W, dtype=np.int64).reshape(-1) for W in weights_raw])
        b = np.concatenate([np.asarray(v, dtype=np.int64).reshape(-1) for v in biases_raw])
        for i, v in enumerate(w.tolist()):
            await self.write_ok(regs.MLP_W.entry_offset(i), to_u32(v))
        for i, v in enumerate(b.tolist()):
            await self.write_ok(regs.MLP_B.entry_offset(i), to_u32(v))

    async def load_schedule(self, schedule_raw: np.ndarray) -> None:
        """Write a raw schedule table (K, 3 + E) (rows ``[force_scale, drift_ctrl, noise_ctrl,
        emb...]``, as :class:`~demonloop.demon.mlp.MLPDemon` takes it) to SCHED_SCALE, SCHED_DRIFT,
        SCHED_NOISE and SCHED_EMB, and SCHED_K = K."""
        S = np.asarray(schedule_raw, dtype=np.int64)
        K, E = S.shape[0], S.shape[1] - 3
        for k in range(K):
            for arr, v in zip((regs.SCHED_SCALE, regs.SCHED_DRIFT, regs.SCHED_NOISE), S[k, :3].tolist()):
                await self.write_ok(arr.entry_offset(k), to_u32(v))
            for e, v in enumerate(S[k, 3:].tolist()):
                await self.write_ok(regs.SCHED_EMB.entry_offset(k * E + e), to_u32(v))
        await self.write_ok(regs.SCHED_K_OFFSET, K)

    async def load_poly_schedule(self, schedule_raw: np.ndarray, dwell: int) -> None:
        """Write a polynomial unit's raw schedule table (K, 1 + 3n) (rows ``[g, a_0.., c_0.., h_0..]``,
        as :class:`~demonloop.demon.polynomial.PolynomialDemon` takes it) to POLY_G, POLY_A,
        POLY_C, POLY_H, then SCHED_K = K and POLY_DWELL = dwell."""
        S = np.asarray(schedule_raw, dtype=np.int64)
        n = self.spec.n
        for k in range(S.shape[0]):
            await self.write_ok(regs.POLY_G.entry_offset(k), to_u32(int(S[k, 0])))
            for j, arr in enumerate((regs.POLY_A, regs.POLY_C, regs.POLY_H)):
                for i, v in enumerate(S[k, 1 + j * n:1 + (j + 1) * n].tolist()):
                    await self.write_ok(arr.entry_offset(k * n + i), to_u32(v))
        await self.write_ok(regs.SCHED_K_OFFSET, S.shape[0])
        await self.write_ok(regs.POLY_DWELL_OFFSET, int(dwell))

    async def load_table(self, table_raw: np.ndarray) -> None:
        """Write the activation table's raw entries (``2**TABLE_BITS + 1``) to ACT_TABLE."""
        for i, v in enumerate(np.asarray(table_raw, dtype=np.int64).reshape(-1).tolist()):
            await self.write_ok(regs.ACT_TABLE.entry_offset(i), to_u32(v))

    async def step_reset(self, enable: bool) -> None:
        """Write CTRL with STEP_RESET set (and ENABLE as given): the schedule step returns to 0."""
        ctrl = regs.CTRL
        await self.write_ok(regs.CTRL_OFFSET, ctrl.field("ENABLE").put(int(enable)) | ctrl.field("STEP_RESET").put(1))

    async def set_enable(self, enable: bool) -> None:
        await self.write_ok(regs.CTRL_OFFSET, regs.CTRL.field("ENABLE").put(int(enable)))

    async def clear_counters(self, enable: bool) -> None:
        """Write CTRL with CLEAR set (and ENABLE as given)."""
        ctrl = regs.CTRL
        await self.write_ok(regs.CTRL_OFFSET, ctrl.field("ENABLE").put(int(enable)) | ctrl.field("CLEAR").put(1))

    async def counters(self) -> dict[str, int]:
        """CNT_IN, CNT_OUT, CNT_DROP, CNT_SAT."""
        return {r.name: await self.read_ok(r.offset) for r in (regs.CNT_IN, regs.CNT_OUT, regs.CNT_DROP, regs.CNT_SAT)}


# ----------------------------------------------------------------------------------------------
# Reference pieces
# ----------------------------------------------------------------------------------------------


def spec_from_env():
    """The golden spec and clock period (ns) the HDL was built with: the HDL parameters arrive as
    JSON in ``DEMONLOOP_SPEC`` (see :func:`demonloop.cosim.simulators.spec_from_parameters`)."""
    from demonloop.cosim.simulators import json_parameters, spec_from_parameters

    p = json_parameters(os.environ["DEMONLOOP_SPEC"])
    return spec_from_parameters(p), p["CLK_PERIOD_NS"]


class ReadySchedule:
    """out_ready per cycle: ``segments`` are (first cycle, value), each value holding until the next
    segment; out_ready is 1 before the first segment and the last segment's value must be 1."""

    def __init__(self, segments: list[tuple[int, int]]):
        if segments and segments[-1][1] != 1:
            raise ValueError("the last out_ready segment must be 1")
        self.segments = segments
        self._starts = [s for s, _ in segments]

    def value(self, c: int) -> int:
        i = bisect.bisect_right(self._starts, c) - 1
        return 1 if i < 0 else self.segments[i][1]

    def first_ready(self, c: int) -> int:
        """Smallest cycle >= c at which out_ready is 1."""
        i = bisect.bisect_right(self._starts, c) - 1
        if i < 0 or self.segments[i][1]:
            return c
        for start, v in self.segments[i + 1:]:
            if v:
                return start
        raise AssertionError("unreachable: the last segment is ready")


class HandshakeModel:
    """The handshake rule of ``LinearDemonSpec`` (emulator/demon/linear.py), cycle exact.

    A word accepted at cycle t is delivered at the first cycle h >= t + L with out_ready high
    (L = ``latency_cycles``); the input is ready at cycle c exactly when c >= h of the previous
    word (the unit is idle and its output register is empty or drains at c). With ENABLE low
    nothing is ready and nothing is counted.
    """

    def __init__(self, spec: LinearDemonSpec, ready: ReadySchedule, enabled: bool = True):
        self.latency = spec.latency_cycles
        self.ready = ready
        self.enabled = enabled
        self.h_prev = -1

    def ready_at(self, c: int) -> bool:
        return self.enabled and c >= self.h_prev

    def accept(self, c: int) -> int:
        """Accept a word at cycle ``c``; returns the cycle of its output handshake."""
        assert self.ready_at(c)
        self.h_prev = self.ready.first_ready(c + self.latency)
        return self.h_prev


@dataclass
class Expected:
    in_cycle: int
    in_word: int
    out_cycle: int
    out_word: int
    overflows: int


@dataclass
class Plan:
    """What a stream run drives and what it must observe."""

    offers: list[tuple[int, int]] = field(default_factory=list)   # (cycle valid rises, word)
    gaps: list[int] = field(default_factory=list)                 # hold mode: idle cycles before each
    expected: list[Expected] = field(default_factory=list)
    drops: int = 0
    last_cycle: int = 0


class InOrderChecker:
    """Compares observed handshakes with the plan, in order, word and cycle exact."""

    def __init__(self, tb: "TB", expected: list[Expected]):
        self.tb = tb
        self.inputs = deque(expected)
        self.outputs = deque(expected)
        self.latencies: list[int] = []
        self.done = Event()
        if not expected:
            self.done.set()

    def got_input(self, fire: Fire) -> None:
        assert self.inputs, f"unexpected input handshake at cycle {fire.cycle}"
        e = self.inputs.popleft()
        assert (fire.cycle, fire.word) == (e.in_cycle, e.in_word), (
            f"input handshake at cycle {fire.cycle} word {fire.word:#x}, "
            f"expected cycle {e.in_cycle} word {e.in_word:#x}"
        )

    def got_output(self, fire: Fire) -> None:
        assert self.outputs, f"unexpected output handshake at cycle {fire.cycle} (stale or extra word)"
        e = self.outputs.popleft()
        if fire.word != e.out_word:
            s = self.tb.spec
            got = unpack(fire.word, s.n, s.f_bits)
            exp = unpack(e.out_word, s.n, s.f_bits)
            x = unpack(e.in_word, s.n, s.x_bits)
            bad = np.flatnonzero(got != exp)
            raise AssertionError(
                f"output of the input accepted at cycle {e.in_cycle} differs in channels "
                f"{bad.tolist()}: got {got[bad].tolist()}, golden {exp[bad].tolist()} (x = {x.tolist()})"
            )
        assert fire.cycle == e.out_cycle, (
            f"output handshake at cycle {fire.cycle}, expected {e.out_cycle} "
            f"(input at {e.in_cycle}, latency {self.tb.spec.latency_cycles})"
        )
        self.latencies.append(fire.cycle - e.in_cycle)
        if not self.outputs:
            self.done.set()


# ----------------------------------------------------------------------------------------------
# Stimulus
# ----------------------------------------------------------------------------------------------

def draw_inputs(rng: np.random.Generator, spec: LinearDemonSpec, count: int) -> np.ndarray:
    """ADC codes (count, n): uniform codes mixed with the saturation corners (all most negative,
    all largest, each channel at one of the two extremes) and values near zero."""
    n, lo, hi = spec.n, -(1 << (spec.x_bits - 1)), (1 << (spec.x_bits - 1)) - 1
    X = rng.integers(lo, hi, size=(count, n), endpoint=True)
    case = rng.choice(5, size=count, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    X[case == 1] = lo
    X[case == 2] = hi
    pick = rng.integers(0, 2, size=(count, n), dtype=bool)
    X[case == 3] = np.where(pick, lo, hi)[case == 3]
    X[case == 4] = rng.integers(-2, 2, size=(count, n), endpoint=True)[case == 4]
    return X.astype(np.int64)


def draw_coefficients(rng: np.random.Generator, spec: LinearDemonSpec, family: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw (A, b) of one of the coefficient families:

    ``inrange``  |A| <= 1/n and |b| <= 1/2, so most outputs are in range (checks the rounding);
    ``full``     uniform over the whole formats (many saturations);
    ``extreme``  every entry at the most negative or the largest value, whole rows of one sign
                 among them, so that with all-extreme inputs the accumulator reaches its extremes;
    ``ties``     A = odd * 2^(out_shift-1) and b a multiple of 2^out_shift in the accumulator, so
                 half of the accumulators sit exactly halfway between two output codes.
    """
    n, cf, bf = spec.n, spec.coef, spec.bias
    if family == "inrange":
        ra = max(1, min(cf.max_raw, (1 << cf.frac_bits) // n))
        rb = max(1, min(bf.max_raw, 1 << max(bf.frac_bits - 1, 0)))
        return rng.integers(-ra, ra, size=(n, n), endpoint=True), rng.integers(-rb, rb, size=n, endpoint=True)
    if family == "full":
        return (rng.integers(cf.min_raw, cf.max_raw, size=(n, n), endpoint=True),
                rng.integers(bf.min_raw, bf.max_raw, size=n, endpoint=True))
    if family == "extreme":
        A = np.where(rng.integers(0, 2, size=(n, n), dtype=bool), cf.min_raw, cf.max_raw)
        row_sign = rng.integers(0, 3, size=n)          # 0: mixed, 1: all min, 2: all max
        A[row_sign == 1] = cf.min_raw
        A[row_sign == 2] = cf.max_raw
        return A, np.where(rng.integers(0, 2, size=n, dtype=bool), bf.min_raw, bf.max_raw)
    if family == "ties":
        s = spec.out_shift
        unit_a = 1 << (s - 1)
        m = cf.max_raw // unit_a                       # largest |odd multiplier| that fits
        odd = 2 * rng.integers(-(m + 1) // 2, (m - 1) // 2, size=(n, n), endpoint=True) + 1
        unit_b = 1 << max(s - spec.b_shift, 0)
        mb = bf.max_raw // unit_b
        return odd * unit_a, rng.integers(-mb, mb, size=n, endpoint=True) * unit_b
    raise ValueError(family)


def ties_possible(spec: LinearDemonSpec) -> bool:
    s = spec.out_shift
    return s >= 1 and (1 << (s - 1)) <= spec.coef.max_raw and spec.bias.max_raw >= (1 << max(s - spec.b_shift, 0))


def idle_gaps(rng: np.random.Generator, kind: str | None, count: int, ii: int) -> np.ndarray:
    """Extra idle cycles before each offer: none, or random pauses of up to two IIs."""
    if kind is None:
        return np.zeros(count, dtype=np.int64)
    gaps = rng.integers(1, 2 * ii, size=count, endpoint=True)
    return np.where(rng.random(count) < 0.5, 0, gaps)


def backpressure(rng: np.random.Generator, kind: str | None, start: int, horizon: int, latency: int) -> ReadySchedule:
    """out_ready pattern from ``start`` to ``horizon``: always ready, or random ready/stall runs
    (stalls of 1 cycle to about a latency, so outputs wait and inputs are refused)."""
    if kind is None:
        return ReadySchedule([(start, 1)])
    segs, c, v = [], start, 1
    while c < horizon:
        mean = 2 * latency if v else max(2, latency // 2)
        segs.append((c, v))
        c += int(rng.geometric(1.0 / mean))
        v ^= 1
    segs.append((c, 1))
    return ReadySchedule(segs)


# ----------------------------------------------------------------------------------------------
# Testbench
# ----------------------------------------------------------------------------------------------

class TB:
    """Clock (in HDL), reset, drivers, monitors and the reference of one test."""

    def __init__(self, dut, tag: str):
        self.spec, self.period_ns = spec_from_env()
        self.seed = int(os.environ["DEMONLOOP_SEED"])
        self.top = DemonTop(dut, self.spec)
        self.log = cocotb.log
        self.log.info("seed %d (replay: DEMONLOOP_SEED=%d), test %s, spec %s",
                      self.seed, self.seed, tag, self.spec)
        streams = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(tag.encode()),)).spawn(4)
        self.rng_stim, self.rng_coef, self.rng_idle, self.rng_bp = (np.random.default_rng(s) for s in streams)
        self.A = np.zeros((self.spec.n, self.spec.n), dtype=np.int64)
        self.b = np.zeros(self.spec.n, dtype=np.int64)
        self.golden = LinearDemon(self.spec, self.A, self.b)

    async def start(self, enable: bool = True) -> None:
        await self.top.reset()
        if enable:
            await self.top.set_enable(True)

    async def begin(self, enable: bool = True, lead: int = 2) -> int:
        """Clear the counters (CTRL.CLEAR, ENABLE as given) and return the first cycle a plan may use."""
        await self.top.clear_counters(enable=enable)
        return self.top.cycle_now() + lead

    async def load(self, A: np.ndarray, b: np.ndarray) -> None:
        """Write the coefficients over AXI and point the golden model at them."""
        self.A, self.b = np.asarray(A, dtype=np.int64), np.asarray(b, dtype=np.int64)
        self.golden = LinearDemon(self.spec, self.A, self.b)
        await self.top.load_coefficients(self.A, self.b)

    # -- planning --------------------------------------------------------------------------------

    def plan_offers(self, X: np.ndarray, cycles: list[int], model: HandshakeModel) -> Plan:
        """ADC-style offers: sample m is valid for the one cycle ``cycles[m]`` only."""
        plan = Plan()
        words = [pack(x, self.spec.x_bits) for x in X]
        accepted = []
        for c, w, m in zip(cycles, words, range(len(words))):
            plan.offers.append((c, w))
            if model.ready_at(c):
                accepted.append((m, c, model.accept(c)))
            elif model.enabled:
                plan.drops += 1
        self._expect(plan, X, words, accepted)
        plan.last_cycle = max([cycles[-1]] + [e.out_cycle for e in plan.expected])
        return plan

    def plan_hold(self, X: np.ndarray, first: int, gaps: np.ndarray, model: HandshakeModel) -> Plan:
        """Offers that honour ready: sample m is valid from ``previous accept + 1 + gaps[m]`` until
        accepted (every waiting cycle counts as a drop, per the contract)."""
        plan = Plan(gaps=[int(g) for g in gaps])
        words = [pack(x, self.spec.x_bits) for x in X]
        accepted = []
        c0 = first
        for m, w in enumerate(words):
            if m:
                c0 = accepted[-1][1] + 1 + plan.gaps[m]
            a = max(c0, model.h_prev)
            plan.drops += a - c0
            plan.offers.append((c0, w))
            accepted.append((m, a, model.accept(a)))
        self._expect(plan, X, words, accepted)
        plan.last_cycle = max(e.out_cycle for e in plan.expected)
        return plan

    def _expect(self, plan: Plan, X: np.ndarray, words: list[int], accepted: list[tuple[int, int, int]]) -> None:
        if not accepted:
            return
        idx = [m for m, _, _ in accepted]
        F, ovf = self.golden.force(X[idx])
        for (m, t, h), f, o in zip(accepted, F, ovf):
            plan.expected.append(Expected(t, words[m], h, pack(f, self.spec.f_bits), int(o.sum())))

    def make_checker(self, expected: list[Expected]) -> "InOrderChecker":
        return InOrderChecker(self, expected)

    # -- drivers ---------------------------------------------------------------------------------

    async def drive_offers(self, offers: list[tuple[int, int]]) -> None:
        top, valid, prev = self.top, False, None
        for c, w in offers:
            if valid and c != prev + 1:
                await top.before_edge(prev + 1)
                top.in_valid.value = 0
                valid = False
            await top.before_edge(c)
            top.in_data.value = w
            top.in_valid.value = 1
            valid, prev = True, c
        if valid:
            await top.before_edge(prev + 1)
            top.in_valid.value = 0

    async def drive_hold(self, plan: Plan) -> None:
        top = self.top
        await top.before_edge(plan.offers[0][0])
        top.in_data.value = plan.offers[0][1]
        top.in_valid.value = 1
        for m in range(len(plan.offers)):
            await top.in_fire_toggle.value_change
            a = top.cycle_now()
            if m + 1 == len(plan.offers):
                top.in_valid.value = 0
            elif plan.gaps[m + 1] == 0:
                top.in_data.value = plan.offers[m + 1][1]
            else:
                top.in_valid.value = 0
                await top.before_edge(a + 1 + plan.gaps[m + 1])
                top.in_data.value = plan.offers[m + 1][1]
                top.in_valid.value = 1

    async def drive_ready(self, schedule: ReadySchedule) -> None:
        for start, v in schedule.segments:
            await self.top.before_edge(start)
            self.top.out_ready.value = v

    # -- monitors --------------------------------------------------------------------------------

    async def monitor_inputs(self, checker: InOrderChecker) -> None:
        while True:
            checker.got_input(await self.top.next_input())

    async def monitor_outputs(self, checker: InOrderChecker) -> None:
        while True:
            checker.got_output(await self.top.next_output())

    # -- one stream run --------------------------------------------------------------------------

    async def run(self, plan: Plan, schedule: ReadySchedule, hold: bool = False) -> InOrderChecker:
        """Drive ``plan`` with ``schedule`` on out_ready, check every handshake and the counters."""
        top = self.top
        checker = self.make_checker(plan.expected)
        tasks = [
            cocotb.start_soon(self.monitor_inputs(checker)),
            cocotb.start_soon(self.monitor_outputs(checker)),
            cocotb.start_soon(self.drive_ready(schedule)),
        ]
        if plan.offers:
            driver = self.drive_hold(plan) if hold else self.drive_offers(plan.offers)
            tasks.append(cocotb.start_soon(driver))
        # Every planned handshake, then a few quiet cycles in which nothing more may happen.
        deadline = top.edge_time(plan.last_cycle + 8) - top.now()
        try:
            await with_timeout(checker.done.wait(), max(deadline, 1), "step")
        except SimTimeoutError:
            raise AssertionError(
                f"{len(checker.inputs)} input and {len(checker.outputs)} output handshakes still "
                f"missing {plan.last_cycle + 8 - top.cycle_now()} cycles after the last planned one") from None
        await top.at_edge(plan.last_cycle + 8)
        for t in tasks:
            t.cancel()
        assert not checker.inputs and not checker.outputs, (
            f"{len(checker.inputs)} input and {len(checker.outputs)} output handshakes missing")
        cnt = await top.counters()
        exp = {
            "CNT_IN": len(plan.expected),
            "CNT_OUT": len(plan.expected),
            "CNT_DROP": plan.drops,
            "CNT_SAT": sum(e.overflows for e in plan.expected),
        }
        assert cnt == exp, f"counters {cnt}, expected {exp}"
        return checker
