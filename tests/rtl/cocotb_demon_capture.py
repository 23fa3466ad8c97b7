"""cocotb tests of the demon's capture FIFO (rtl/demon_capture.v behind demon_axil): launched by
tests/rtl/test_capture.py, one build per (simulator, parameter set), the parameters (with
``CAP_DEPTH``) in ``DEMONLOOP_SPEC``, the seed in ``DEMONLOOP_SEED``.

Reference: a FIFO model (:class:`CaptureModel`) fed by the input handshakes the testbench top
reports (every accepted word, with its cycle), against which every CAP_STATUS / CAP_SEQ /
CAP_DATA read is checked. The register semantics are those of rtl/regmap.yaml.
"""

from __future__ import annotations

import json
import os
from collections import deque

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly
from cocotbext.axi import AxiResp

from demonloop.cosim.testbench import TB, HandshakeModel, ReadySchedule, draw_coefficients, draw_inputs
from demonloop.demon import regs
from demonloop.cosim.testbench import from_u32, pack, unpack

LEVEL = regs.CAP_STATUS.field("LEVEL")
DEPTH = regs.CAP_STATUS.field("DEPTH")
OVERFLOW = regs.CAP_STATUS.field("OVERFLOW")
UNDERFLOW = regs.CAP_STATUS.field("UNDERFLOW")
ENABLE = regs.CTRL.field("ENABLE")
CAP_CLEAR = regs.CTRL.field("CAP_CLEAR")


def cap_depth() -> int:
    return json.loads(os.environ["DEMONLOOP_SPEC"]).get("CAP_DEPTH", 32)


class CaptureModel:
    """The FIFO as the register map describes it: entries (seq, codes), a sequence counter, sticky
    flags."""

    def __init__(self, depth: int):
        self.depth = depth
        self.clear()

    def clear(self) -> None:
        self.entries: deque = deque()
        self.seq = 0
        self.overflow = False
        self.underflow = False

    def push(self, codes: np.ndarray) -> None:
        if len(self.entries) < self.depth:
            self.entries.append((self.seq, codes))
        else:
            self.overflow = True
        self.seq = (self.seq + 1) & 0xFFFF_FFFF

    def status(self) -> int:
        return (LEVEL.put(len(self.entries)) | DEPTH.put(self.depth)
                | OVERFLOW.put(int(self.overflow)) | UNDERFLOW.put(int(self.underflow)))

    def head_seq(self) -> int:
        return self.entries[0][0] if self.entries else self.seq


class CaptureTB(TB):
    def __init__(self, dut, tag: str):
        super().__init__(dut, tag)
        self.depth = cap_depth()
        self.model = CaptureModel(self.depth)
        self.top.out_ready.value = 1             # the DAC is always ready here

    async def read_entry(self) -> tuple[int, np.ndarray]:
        """Read the head entry as firmware does (CAP_SEQ, then channels 0..N-1; the last pops)."""
        n = self.spec.n
        seq = await self.top.read_ok(regs.CAP_SEQ_OFFSET)
        codes = np.array([from_u32(await self.top.read_ok(regs.CAP_DATA.entry_offset(j))) for j in range(n)])
        return seq, codes

    async def check_entry(self) -> None:
        """Read the head entry and compare it with the model's (which it then pops)."""
        seq, codes = await self.read_entry()
        assert self.model.entries, "the model has no entry to compare with"
        e_seq, e_codes = self.model.entries.popleft()
        assert seq == e_seq, f"CAP_SEQ {seq}, expected {e_seq}"
        assert codes.tolist() == e_codes.tolist(), f"entry {seq}: got {codes.tolist()}, expected {e_codes.tolist()}"

    async def check_status(self) -> None:
        status = await self.top.read_ok(regs.CAP_STATUS_OFFSET)
        assert status == self.model.status(), (
            f"CAP_STATUS {status:#010x} (level {LEVEL.get(status)}, ovf {OVERFLOW.get(status)}, "
            f"udf {UNDERFLOW.get(status)}), expected {self.model.status():#010x}")
        assert await self.top.read_ok(regs.CAP_SEQ_OFFSET) == self.model.head_seq()

    async def cap_clear(self, enable: bool = True) -> None:
        await self.top.write_ok(regs.CTRL_OFFSET, ENABLE.put(int(enable)) | CAP_CLEAR.put(1))
        self.model.clear()

    async def feed(self, X: np.ndarray, cycles: list[int]) -> list[int]:
        """Offer ``X[m]`` for the one cycle ``cycles[m]`` and wait until the demon is idle again
        (so the next feed starts from an idle demon). The model gets exactly the words the RTL
        accepted: the handshake rule's prediction, checked against the testbench's handshake
        count. Returns the accepted indices."""
        top, spec = self.top, self.spec
        schedule = ReadySchedule([(cycles[0], 1)])
        model = HandshakeModel(spec, schedule)
        accepted = [m for m, c in enumerate(cycles) if model.ready_at(c) and model.accept(c) is not None]
        count0 = int(top.in_fire_count.value.to_unsigned())
        await self.drive_offers([(c, pack(x, spec.x_bits)) for c, x in zip(cycles, X)])
        await top.at_edge(cycles[-1] + spec.latency_cycles + 2)   # the demon is idle again
        got = int(top.in_fire_count.value.to_unsigned()) - count0
        assert got == len(accepted), f"{got} input handshakes, the handshake rule predicts {len(accepted)}"
        for m in accepted:
            self.model.push(X[m].astype(np.int64))
        await top.before_edge(top.cycle_now() + 1)   # out of the read-only phase
        return accepted


def spaced(begin: int, count: int, ii: int) -> list[int]:
    return list(range(begin, begin + count * ii, ii))


@cocotb.test()
async def test_capture_in_order_and_flags(dut):
    """Accepted samples come out in order with consecutive sequence numbers and sign-extended
    codes; reading a channel below N-1 does not pop; reading past the end sets UNDERFLOW and reads
    0; CAP_CLEAR empties the FIFO and zeroes the sequence number and flags; CLEAR (the counters)
    leaves the FIFO alone."""
    tb = CaptureTB(dut, "capture-order")
    spec, top, n = tb.spec, tb.top, tb.spec.n
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "inrange"))
    await tb.check_status()                        # empty after reset: level 0, seq 0
    k = tb.depth - 1
    X = draw_inputs(tb.rng_stim, spec, k)
    begin = await tb.begin()                       # CTRL.CLEAR: counters only
    await tb.feed(X, spaced(begin, k, spec.initiation_interval))
    await tb.check_status()
    # Channel 0 twice: no pop.
    c0 = from_u32(await top.read_ok(regs.CAP_DATA.entry_offset(0)))
    assert c0 == from_u32(await top.read_ok(regs.CAP_DATA.entry_offset(0))) == X[0, 0]
    await tb.check_status()
    await top.clear_counters(enable=True)          # CTRL.CLEAR must not touch the capture
    await tb.check_status()
    while tb.model.entries:
        await tb.check_entry()
    await tb.check_status()                        # empty: CAP_SEQ is the next number, k
    assert await top.read_ok(regs.CAP_SEQ_OFFSET) == k
    # Reads while empty: 0, OKAY; the last channel sets UNDERFLOW (sticky) and pops nothing.
    for j in range(n):
        assert await top.read_ok(regs.CAP_DATA.entry_offset(j)) == 0
    tb.model.underflow = True
    await tb.check_status()
    # Writes to the read-only capture registers: SLVERR, nothing changes.
    for off in (regs.CAP_STATUS_OFFSET, regs.CAP_SEQ_OFFSET, regs.CAP_DATA.entry_offset(0),
                regs.CAP_DATA.entry_offset(n - 1)):
        assert await top.write(off, 0xFFFF_FFFF) == AxiResp.SLVERR
    await tb.check_status()
    # CAP_CLEAR: flags and sequence number zeroed, ENABLE as written, CAP_CLEAR reads 0.
    await tb.feed(draw_inputs(tb.rng_stim, spec, 2), spaced(top.cycle_now() + 2, 2, spec.initiation_interval))
    await tb.cap_clear(enable=True)
    assert await top.read_ok(regs.CTRL_OFFSET) == ENABLE.put(1)
    await tb.check_status()
    X = draw_inputs(tb.rng_stim, spec, 3)
    await tb.feed(X, spaced(top.cycle_now() + 2, 3, spec.initiation_interval))
    await tb.check_status()
    assert tb.model.head_seq() == 0
    while tb.model.entries:
        await tb.check_entry()
    await tb.check_status()


@cocotb.test()
async def test_capture_overflow_and_gap(dut):
    """More samples than the depth with nobody reading: the first DEPTH are kept, OVERFLOW is set,
    the lost samples' sequence numbers are skipped (the next entry shows the gap); refused
    (dropped) samples are never captured; with ENABLE low nothing is captured."""
    tb = CaptureTB(dut, "capture-overflow")
    spec, top = tb.spec, tb.top
    ii = spec.initiation_interval
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "full"))
    extra = 3
    X = draw_inputs(tb.rng_stim, spec, tb.depth + extra)
    begin = await tb.begin()
    await tb.feed(X, spaced(begin, len(X), ii))
    assert len(tb.model.entries) == tb.depth and tb.model.overflow
    await tb.check_status()
    while tb.model.entries:
        await tb.check_entry()
    await tb.check_status()
    assert await top.read_ok(regs.CAP_SEQ_OFFSET) == tb.depth + extra   # the next sample's number
    # Offers on every cycle: the demon takes one in II; only those are captured, numbered on.
    X = draw_inputs(tb.rng_stim, spec, 2 * ii + 1)
    begin = top.cycle_now() + 2
    accepted = await tb.feed(X, list(range(begin, begin + len(X))))
    assert accepted == [0, ii, 2 * ii]
    await tb.check_status()
    assert tb.model.head_seq() == tb.depth + extra
    while tb.model.entries:
        await tb.check_entry()
    # ENABLE low: the input is not ready, nothing is captured.
    await top.set_enable(False)
    X = draw_inputs(tb.rng_stim, spec, 3)
    begin = top.cycle_now() + 2
    await tb.drive_offers([(c, pack(x, spec.x_bits)) for c, x in zip(spaced(begin, 3, ii), X)])
    await top.at_edge(top.cycle_now() + 2)
    await tb.check_status()
    # Reset empties the FIFO and zeroes everything.
    await top.set_enable(True)
    await tb.feed(X, spaced(top.cycle_now() + 2, 3, ii))
    await tb.start(enable=False)
    tb.model.clear()
    await tb.check_status()


@cocotb.test()
async def test_capture_while_streaming(dut):
    """A reader drains the FIFO with back-to-back bus reads while the ADC streams at the demon's
    full rate (pushes and pops at the same edges, a push into an empty FIFO read at once): every
    accepted input word, as the testbench top saw its handshake, is read once, in order, with its
    sequence number; nothing is lost when the reader keeps up; at the end the FIFO is empty and
    no flag is set."""
    tb = CaptureTB(dut, "capture-stream")
    spec, top, n = tb.spec, tb.top, tb.spec.n
    ii = spec.initiation_interval
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "inrange"))
    await tb.cap_clear()
    count = 200
    # A sample period long enough for one entry's reads (about 5 cycles per read), plus jitter.
    period = max(ii, 6 * (n + 2))
    gaps = tb.rng_idle.integers(0, period, size=count)
    X = draw_inputs(tb.rng_stim, spec, count)
    begin = top.cycle_now() + 4
    cycles = (begin + np.cumsum(period + gaps) - period).tolist()
    seen: list[int] = []

    async def monitor():
        while True:
            f = await top.next_input()
            seen.append(f.word)

    mon = cocotb.start_soon(monitor())
    drv = cocotb.start_soon(tb.drive_offers([(c, pack(x, spec.x_bits)) for c, x in zip(cycles, X)]))
    got: list[tuple[int, list[int]]] = []
    while len(got) < count:
        status = await top.read_ok(regs.CAP_STATUS_OFFSET)
        assert OVERFLOW.get(status) == 0 and UNDERFLOW.get(status) == 0, f"CAP_STATUS {status:#x}"
        for _ in range(LEVEL.get(status)):
            seq, codes = await tb.read_entry()
            got.append((seq, codes.tolist()))
        assert top.cycle_now() < cycles[-1] + 50 * period, "the reader fell behind"
    await drv
    mon.cancel()
    assert [s for s, _ in got] == list(range(count))
    assert [c for _, c in got] == [unpack(w, n, spec.x_bits).tolist() for w in seen] == X.tolist()
    status = await top.read_ok(regs.CAP_STATUS_OFFSET)
    assert status == DEPTH.put(tb.depth), f"CAP_STATUS {status:#x}: not empty, or a flag is set"
    assert await top.read_ok(regs.CAP_SEQ_OFFSET) == count


@cocotb.test()
async def test_capture_full_push_and_pop_same_edge(dut):
    """A full FIFO, a sample pushed two cycles before to two cycles after the edge that pops the
    head (the read of CAP_DATA[N-1]): pushed before the pop it is lost (OVERFLOW); pushed at the
    pop's edge or later it is kept, because the pop frees a place at that edge."""
    tb = CaptureTB(dut, "capture-same-edge")
    spec, top, n = tb.spec, tb.top, tb.spec.n
    ii = spec.initiation_interval
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "inrange"))

    rvalid = dut.s_axil_rvalid

    async def pop_edge() -> int:
        await rvalid.rising_edge
        await ReadOnly()
        return top.cycle_now()

    async def trial(push_delay: int | None) -> tuple[int, int]:
        """Fill the FIFO, read channels 0..N-2, then read the last channel starting half a period
        before edge t, the sample scheduled for edge t + push_delay; returns (t, pop edge)."""
        await tb.cap_clear()
        await tb.feed(draw_inputs(tb.rng_stim, spec, tb.depth), spaced(top.cycle_now() + 2, tb.depth, ii))
        for j in range(n - 1):
            await top.read_ok(regs.CAP_DATA.entry_offset(j))
        t = top.cycle_now() + 2
        await top.before_edge(t)
        x = draw_inputs(tb.rng_stim, spec, 1)[0]
        if push_delay is not None:
            top.schedule_input(t + push_delay, pack(x, spec.x_bits))
        watch = cocotb.start_soon(pop_edge())
        value = from_u32(await top.read_ok(regs.CAP_DATA.entry_offset(n - 1)))
        q = await watch
        assert value == tb.model.entries[0][1][-1]
        if push_delay is not None:
            p = t + push_delay
            if p < q:
                tb.model.push(x)            # lost: the FIFO is still full at that edge
                tb.model.entries.popleft()
            else:
                tb.model.entries.popleft()
                tb.model.push(x)
        else:
            tb.model.entries.popleft()
        await top.at_edge(max(q, t + (push_delay or 0)) + spec.latency_cycles + 2)
        await top.before_edge(top.cycle_now() + 1)
        await tb.check_status()
        while tb.model.entries:
            await tb.check_entry()
        return t, q

    t, q = await trial(None)
    offset = q - t
    delays = [offset + d for d in (-2, -1, 0, 1, 2) if offset + d >= 0]
    outcomes = set()
    for delay in delays:
        t, q = await trial(delay)
        assert q - t == offset, "the bus master's timing changed between trials"
        outcomes.add(t + delay >= q)
    assert outcomes == {True, False}, "both orders (push before the pop, push at or after it) must be exercised"
