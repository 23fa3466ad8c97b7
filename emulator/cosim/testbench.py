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

import logging
from dataclasses import dataclass

import cocotb.handle
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import ReadOnly, Timer
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from demonloop.demon import regs
from demonloop.demon.base import pack, unpack  # noqa: F401  (re-exported for testbenches)


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
        """Write a 32-bit word; returns the response (OKAY or SLVERR)."""
        resp = await self.axil.write(offset, int(value & 0xFFFF_FFFF).to_bytes(4, "little"))
        return resp.resp

    async def read(self, offset: int) -> tuple[int, AxiResp]:
        """Read a 32-bit word; returns (value, response)."""
        resp = await self.axil.read(offset, 4)
        return int.from_bytes(resp.data, "little"), resp.resp

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
