"""cocotb tests of rtl/demon_top.v (through emulator/cosim/hdl/tb_demon_top.v) against the golden model.

Launched by tests/rtl/test_linear.py (one build per simulator and parameter set); the parameter set
arrives in ``DEMONLOOP_SPEC`` (JSON of the HDL parameters), the seed in ``DEMONLOOP_SEED``.

Pieces, one job each:

- :class:`ReadySchedule`   the out_ready pattern a test drives (the DAC's backpressure);
- :class:`HandshakeModel`  reference of the handshake rule of ``LinearDemonSpec`` (latency L,
  ``in_ready = idle && (!out_valid || out_ready)``, drops): for every offered sample, whether and
  when it is accepted, and when its output is delivered;
- the golden :class:`~demonloop.demon.linear.LinearDemon`: the output word of every accepted input;
- drivers (:meth:`TB.drive_offers`, :meth:`TB.drive_hold`, :meth:`TB.drive_ready`) that write the
  planned values with one Timer per change, never waiting on every clock edge;
- monitors (:meth:`TB.monitor_inputs`, :meth:`TB.monitor_outputs`) that wake on the testbench's
  handshake toggles;
- :class:`InOrderChecker`: every observed input and output handshake against the plan, in order,
  word and cycle exact; nothing may be left over.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import with_timeout
from cocotbext.axi import AxiResp

from demonloop.cosim.testbench import (
    TB, HandshakeModel, InOrderChecker, ReadySchedule, backpressure, draw_coefficients, draw_inputs, from_u32,
    idle_gaps, ties_possible, to_u32, unpack,
)
from demonloop.demon import regs

# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------

STREAM_CASES = [
    (None, None, 10_000),        # the golden comparison: 10,000 vectors at the full rate
    ("random", None, 500),
    (None, "random", 500),
    ("random", "random", 500),
]


@cocotb.test()
@cocotb.parametrize((("idle_inserter", "backpressure_inserter", "vectors"), STREAM_CASES))
async def test_stream_golden(dut, idle_inserter, backpressure_inserter, vectors):
    """Random and corner inputs through the RTL vs the golden model, every word exact; latency,
    acceptance and drops as the handshake rule predicts; CNT_SAT equals the golden overflow count."""
    tb = TB(dut, f"stream-{idle_inserter}-{backpressure_inserter}-{vectors}")
    spec = tb.spec
    await tb.start()
    families = ["inrange", "full", "extreme"] + (["ties"] if ties_possible(spec) else ["inrange"])
    shares = [0.4, 0.25, 0.15, 0.2]
    counts = [int(vectors * s) for s in shares]
    counts[0] += vectors - sum(counts)
    total = overflows = ties = 0
    for family, count in zip(families, counts):
        await tb.load(*draw_coefficients(tb.rng_coef, spec, family))
        X = draw_inputs(tb.rng_stim, spec, count)
        gaps = idle_gaps(tb.rng_idle, idle_inserter, count, spec.initiation_interval)
        begin = await tb.begin()
        cycles = (begin + np.cumsum(spec.initiation_interval + gaps) - spec.initiation_interval).tolist()
        schedule = backpressure(tb.rng_bp, backpressure_inserter, begin, cycles[-1] + spec.latency_cycles, spec.latency_cycles)
        plan = tb.plan_offers(X, cycles, HandshakeModel(spec, schedule))
        checker = await tb.run(plan, schedule)
        total += len(plan.expected)
        overflows += sum(e.overflows for e in plan.expected)
        if family == "ties" and plan.expected:
            taken = np.array([unpack(e.in_word, spec.n, spec.x_bits) for e in plan.expected])
            acc = tb.golden.accumulate(taken)
            s = spec.out_shift
            ties += int(np.count_nonzero((acc & ((1 << s) - 1)) == (1 << (s - 1))))
        if backpressure_inserter is None:
            assert set(checker.latencies) == {spec.latency_cycles}, (
                f"latencies {sorted(set(checker.latencies))}, spec {spec.latency_cycles}")
            assert plan.drops == 0 and len(plan.expected) == count
    tb.log.info("%d words checked, %d channel overflows, %d rounding ties", total, overflows, ties)
    if backpressure_inserter is None:
        assert total == vectors
    assert overflows > 0, "no saturation corner was exercised"
    if ties_possible(spec):
        assert ties > 0, "no rounding tie was exercised"


@cocotb.test()
async def test_drops_when_faster_than_ii(dut):
    """Samples offered every cycle: exactly one in II is accepted (ceil(M / II) of M), the rest are
    dropped and counted; with ENABLE low nothing is accepted or counted."""
    tb = TB(dut, "drops")
    spec, top = tb.spec, tb.top
    ii = spec.initiation_interval
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "inrange"))
    m = 3 * ii + 2
    X = draw_inputs(tb.rng_stim, spec, m)
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    plan = tb.plan_offers(X, list(range(begin, begin + m)), HandshakeModel(spec, schedule))
    # The closed form of the rule, independently of the model: accepts at begin + k*II.
    assert [e.in_cycle - begin for e in plan.expected] == [k * ii for k in range(-(-m // ii))]
    assert plan.drops == m - len(plan.expected)
    await tb.run(plan, schedule)

    # ENABLE low: not ready, nothing accepted, nothing counted.
    begin = await tb.begin(enable=False)
    status = await top.read_ok(regs.STATUS_OFFSET)
    assert regs.STATUS.field("IN_READY").get(status) == 0
    begin = top.cycle_now() + 2
    plan = tb.plan_offers(X[:5], list(range(begin, begin + 5)), HandshakeModel(spec, schedule, enabled=False))
    assert not plan.expected and plan.drops == 0
    await tb.run(plan, schedule)


@cocotb.test()
async def test_backpressure_loses_nothing(dut):
    """A source that honours in_ready, random output backpressure: every sample is accepted and
    delivered once, in order, equal to the golden model; waiting cycles count as drops."""
    tb = TB(dut, "backpressure")
    spec = tb.spec
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "full"))
    count = 500
    X = draw_inputs(tb.rng_stim, spec, count)
    gaps = idle_gaps(tb.rng_idle, "random", count, spec.initiation_interval)
    gaps[0] = 0
    begin = await tb.begin(lead=4)
    horizon = begin + count * 3 * spec.latency_cycles
    schedule = backpressure(tb.rng_bp, "random", begin, horizon, spec.latency_cycles)
    plan = tb.plan_hold(X, begin, gaps, HandshakeModel(spec, schedule))
    assert len(plan.expected) == count
    await tb.run(plan, schedule, hold=True)


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset in the middle of a stream, once with a word waiting for the DAC and once with a word
    being computed: no stale word comes out afterwards, counters and CTRL are cleared, the
    coefficients survive (block RAM), and the next stream is exact."""
    tb = TB(dut, "reset")
    spec, top = tb.spec, tb.top
    L = spec.latency_cycles
    await tb.start()
    await tb.load(*draw_coefficients(tb.rng_coef, spec, "full"))
    X = draw_inputs(tb.rng_stim, spec, 3)

    # 1. Word 0 is delivered; the DAC then stalls, so word 1 (accepted when word 0 drains) waits
    #    in the output register; word 2 is refused. Reset while word 1 waits.
    begin = await tb.begin()
    stall = begin + L + 1
    schedule = ReadySchedule([(begin, 1), (stall, 0), (stall + 100 * L, 1)])
    plan = tb.plan_offers(X, [begin, begin + L, begin + 2 * L], HandshakeModel(spec, schedule))
    assert [e.in_cycle for e in plan.expected] == [begin, begin + L] and plan.drops == 1
    k_reset = begin + 2 * L + 2
    checker = InOrderChecker(tb, plan.expected[:1])
    monitor = cocotb.start_soon(tb.monitor_outputs(checker))
    drivers = [cocotb.start_soon(tb.drive_ready(schedule)), cocotb.start_soon(tb.drive_offers(plan.offers))]
    await top.at_edge(k_reset - 1)
    assert top.out_valid.value == 1 and top.out_ready.value == 0, "word 1 should be waiting for the DAC"
    for t in drivers:
        t.cancel()
    await top.reset_at(k_reset)
    assert top.out_valid.value == 0 and top.in_ready.value == 0
    await top.before_edge(1)
    top.out_ready.value = 1
    await top.at_edge(4 * L)           # the DAC is ready; nothing may come out
    assert not checker.outputs, "word 0, delivered before reset, was not seen"
    assert await top.counters() == {"CNT_IN": 0, "CNT_OUT": 0, "CNT_DROP": 0, "CNT_SAT": 0}
    assert await top.read_ok(regs.CTRL_OFFSET) == 0

    # 2. Reset while a word is being computed.
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    plan = tb.plan_offers(X[:1], [begin], HandshakeModel(spec, schedule))
    drivers = [cocotb.start_soon(tb.drive_offers(plan.offers))]
    k_reset = begin + 1 + (spec.latency_cycles - 2) // 2
    await top.at_edge(k_reset - 1)
    assert top.dut.dut.g_linear.u_linear.busy.value == 1, "the word should be in computation"
    await top.reset_at(k_reset)
    await top.at_edge(4 * L)
    assert not checker.outputs
    monitor.cancel()

    # 3. The coefficients survived; a fresh stream is exact.
    for i in range(spec.n * spec.n):
        assert from_u32(await top.read_ok(regs.COEF_A.entry_offset(i))) == tb.A.reshape(-1)[i]
    X = draw_inputs(tb.rng_stim, spec, 50)
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    ii = spec.initiation_interval
    await tb.run(tb.plan_offers(X, list(range(begin, begin + 50 * ii, ii)), HandshakeModel(spec, schedule)), schedule)


@cocotb.test()
async def test_registers(dut):
    """Every register reads back its value; read-only registers reject writes with SLVERR and keep
    their value; unmapped addresses answer SLVERR to reads and writes; SCRATCH and coefficient
    writes honour WSTRB; coefficients read back sign-extended from their formats."""
    tb = TB(dut, "registers")
    spec, top = tb.spec, tb.top
    await tb.start(enable=False)

    expected = {
        "ID": regs.ID.reset,
        "VERSION": regs.VERSION.reset,
        "SHAPE": regs.SHAPE.field("N").put(spec.n) | regs.SHAPE.field("MULTIPLIERS").put(spec.multipliers),
        "WIDTHS": (regs.WIDTHS.field("X_BITS").put(spec.x_bits) | regs.WIDTHS.field("F_BITS").put(spec.f_bits)
                   | regs.WIDTHS.field("COEF_W").put(spec.coef.width) | regs.WIDTHS.field("BIAS_W").put(spec.bias.width)),
        "FORMAT": (regs.FORMAT.field("COEF_FRAC").put(spec.coef.frac_bits)
                   | regs.FORMAT.field("BIAS_FRAC").put(spec.bias.frac_bits)
                   | regs.FORMAT.field("ROUNDING").put(spec.rounding.code)
                   | regs.FORMAT.field("OVERFLOW").put(spec.overflow.code)),
        "TIMING": regs.TIMING.field("LATENCY").put(spec.latency_cycles) | regs.TIMING.field("II").put(spec.initiation_interval),
        "CTRL": regs.CTRL.reset,
        "STATUS": 0,
        "CNT_IN": 0, "CNT_OUT": 0, "CNT_DROP": 0, "CNT_SAT": 0,
        "SCRATCH": regs.SCRATCH.reset,
        "CAP_STATUS": regs.CAP_STATUS.field("DEPTH").put(json.loads(os.environ["DEMONLOOP_SPEC"]).get("CAP_DEPTH", 32)),
        "CAP_SEQ": 0,
        # the score network's registers: a linear instance reports no MLP (UNIT.FORCE_UNIT = 0)
        "UNIT": 0, "MLP_SHAPE": 0, "MLP_WIDTHS": 0, "MLP_FORMAT": 0, "SCHED_LEN": 0,
        "SCHED_K": regs.SCHED_K.reset, "STEP": 0, "ACT_TABLE_FMT": 0,
        # the polynomial unit's: POLY_DWELL is a plain register, POLY_FORMAT reads 0 here
        "POLY_DWELL": regs.POLY_DWELL.reset, "POLY_FORMAT": 0,
        # interrupts: nothing enabled; stopped and idle from reset (IRQ_STATUS.IDLE)
        "IRQ_ENABLE": 0, "IRQ_STATUS": regs.IRQ_STATUS.field("IDLE").put(1), "IRQ_THRESHOLD": 1,
    }
    assert set(expected) == {r.name for r in regs.REGISTERS}
    for r in regs.REGISTERS:
        value = await top.read_ok(r.offset)
        assert value == expected[r.name], f"{r.name} reads {value:#010x}, expected {expected[r.name]:#010x}"

    # The MLP's and the polynomial unit's arrays are not mapped in a linear instance.
    for arr in (regs.MLP_W, regs.MLP_B, regs.SCHED_SCALE, regs.SCHED_DRIFT, regs.SCHED_NOISE, regs.SCHED_EMB,
                regs.POLY_A, regs.POLY_C, regs.POLY_H, regs.POLY_G, regs.ACT_TABLE):
        value, resp = await top.read(arr.entry_offset(0))
        assert resp == AxiResp.SLVERR and value == 0, f"read of {arr.name}[0] answered {resp!r}"
        assert await top.write(arr.entry_offset(0), 1) == AxiResp.SLVERR, f"write to {arr.name}[0] accepted"

    # Read-only registers: SLVERR, value unchanged.
    for r in regs.REGISTERS:
        if r.access == "ro":
            assert await top.write(r.offset, ~expected[r.name]) == AxiResp.SLVERR, f"write to {r.name} accepted"
            assert await top.read_ok(r.offset) == expected[r.name], f"{r.name} changed by a rejected write"

    # SCRATCH: full words and byte strobes.
    await top.write_ok(regs.SCRATCH_OFFSET, 0xDEADBEEF)
    assert await top.read_ok(regs.SCRATCH_OFFSET) == 0xDEADBEEF
    resp = await top.axil.write(regs.SCRATCH_OFFSET + 2, b"\x5a")
    assert resp.resp == AxiResp.OKAY
    assert await top.read_ok(regs.SCRATCH_OFFSET) == 0xDE5ABEEF

    # CTRL: ENABLE reads back, CLEAR reads 0; STATUS.IN_READY follows ENABLE.
    await top.write_ok(regs.CTRL_OFFSET, 0x3)
    assert await top.read_ok(regs.CTRL_OFFSET) == 0x1
    assert regs.STATUS.field("IN_READY").get(await top.read_ok(regs.STATUS_OFFSET)) == 1
    await top.set_enable(False)

    # Unmapped addresses, including array entries beyond this instance's N*N and N.
    n = spec.n
    unmapped = [0x0018, 0x001C, 0x0028, 0x002C, 0x0054, 0x0FFC,
                regs.COEF_A.offset + 4 * n * n, regs.COEF_A.offset + 4 * (regs.COEF_A.max_entries - 1),
                regs.COEF_A.offset + 4 * regs.COEF_A.max_entries, 0x5FFC,
                regs.COEF_B.offset + 4 * n, regs.COEF_B.offset + 4 * (regs.COEF_B.max_entries - 1),
                regs.COEF_B.offset + 4 * regs.COEF_B.max_entries, 0xFFFC,
                0x0088, 0x00FC, regs.CAP_DATA.offset + 4 * n, regs.CAP_DATA.offset + 4 * (regs.CAP_DATA.max_entries - 1)]

    def mapped(a: int) -> bool:
        return (any(r.offset == a for r in regs.REGISTERS)
                or regs.COEF_A.offset <= a < regs.COEF_A.offset + 4 * n * n
                or regs.COEF_B.offset <= a < regs.COEF_B.offset + 4 * n
                or regs.CAP_DATA.offset <= a < regs.CAP_DATA.offset + 4 * n)

    for addr in sorted(a for a in set(unmapped) if not mapped(a)):
        value, resp = await top.read(addr)
        assert resp == AxiResp.SLVERR and value == 0, f"read of unmapped {addr:#06x} answered {resp!r} {value:#x}"
        assert await top.write(addr, 0x12345678) == AxiResp.SLVERR, f"write to unmapped {addr:#06x} accepted"

    # Coefficients: random raw values (with junk above the format's width) read back sign-extended.
    A, b = draw_coefficients(tb.rng_coef, spec, "full")
    junk = tb.rng_coef.integers(0, 1 << 32, size=n * n + n, dtype=np.uint64)
    for i, v in enumerate(A.reshape(-1).tolist()):
        w = spec.coef.width
        word = (to_u32(v) & ((1 << w) - 1)) | (int(junk[i]) & ~((1 << w) - 1) & 0xFFFF_FFFF)
        await top.write_ok(regs.COEF_A.entry_offset(i), word)
    for i, v in enumerate(b.tolist()):
        w = spec.bias.width
        word = (to_u32(v) & ((1 << w) - 1)) | (int(junk[n * n + i]) & ~((1 << w) - 1) & 0xFFFF_FFFF)
        await top.write_ok(regs.COEF_B.entry_offset(i), word)
    for i, v in enumerate(A.reshape(-1).tolist()):
        assert await top.read_ok(regs.COEF_A.entry_offset(i)) == to_u32(v), f"COEF_A[{i}]"
    for i, v in enumerate(b.tolist()):
        assert await top.read_ok(regs.COEF_B.entry_offset(i)) == to_u32(v), f"COEF_B[{i}]"
    # Byte strobe on an entry: byte 0 of A[last] replaced, the rest kept.
    last = n * n - 1
    resp = await top.axil.write(regs.COEF_A.entry_offset(last), b"\xa5")
    assert resp.resp == AxiResp.OKAY
    w = spec.coef.width
    raw = (to_u32(int(A.reshape(-1)[last])) & ~0xFF) | 0xA5
    raw &= (1 << w) - 1
    expect = raw - (1 << w) if raw >> (w - 1) else raw
    assert from_u32(await top.read_ok(regs.COEF_A.entry_offset(last))) == expect


@cocotb.test()
async def test_counters_clear_and_saturate(dut):
    """CTRL.CLEAR zeroes every counter (ENABLE kept); counters stop at 0xFFFFFFFF instead of wrapping."""
    tb = TB(dut, "counters")
    spec, top = tb.spec, tb.top
    n, ii = spec.n, spec.initiation_interval
    await tb.start()
    # A = b = most negative, x = most negative: every channel overflows (acc far below the range).
    await tb.load(np.full((n, n), spec.coef.min_raw), np.full(n, spec.bias.min_raw))
    X = np.full((4, n), -(1 << (spec.x_bits - 1)), dtype=np.int64)
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    cycles = [begin, begin + 1, begin + ii, begin + 2 * ii]     # the second is dropped
    await tb.run(tb.plan_offers(X, cycles, HandshakeModel(spec, schedule)), schedule)
    assert await top.counters() == {"CNT_IN": 3, "CNT_OUT": 3, "CNT_DROP": 1, "CNT_SAT": 3 * n}
    await top.clear_counters(enable=True)
    assert await top.counters() == {"CNT_IN": 0, "CNT_OUT": 0, "CNT_DROP": 0, "CNT_SAT": 0}
    assert await top.read_ok(regs.CTRL_OFFSET) == regs.CTRL.field("ENABLE").put(1)

    # Deposit values just below the limit into the counter registers, then count past it.
    axil = top.dut.dut.u_axil
    await top.before_edge(top.cycle_now() + 2)
    for name in ("cnt_in", "cnt_out", "cnt_drop"):
        getattr(axil, name).value = 0xFFFF_FFFE
    axil.cnt_sat.value = 0xFFFF_FFFF - n + 1
    begin = top.cycle_now() + 3
    cycles = [begin, begin + 1, begin + 2, begin + ii + 2, begin + 2 * ii + 2]
    plan = tb.plan_offers(X[[0, 1, 2, 3, 0]], cycles, HandshakeModel(spec, schedule))
    assert len(plan.expected) == 3 and plan.drops == 2
    checker = InOrderChecker(tb, plan.expected)
    tasks = [cocotb.start_soon(tb.monitor_outputs(checker)), cocotb.start_soon(tb.drive_offers(plan.offers))]
    await with_timeout(checker.done.wait(), top.edge_time(plan.last_cycle + 4) - top.now(), "step")
    for t in tasks:
        t.cancel()
    assert await top.counters() == {"CNT_IN": 0xFFFF_FFFF, "CNT_OUT": 0xFFFF_FFFF,
                                    "CNT_DROP": 0xFFFF_FFFF, "CNT_SAT": 0xFFFF_FFFF}


@cocotb.test()
async def test_interrupts(dut):
    """IRQ_STATUS (rtl/regmap.yaml): each bit set at every clock its condition holds, write 1 to
    clear; irq high one clock after an enabled bit is set. Conditions: the capture FIFO at or above
    IRQ_THRESHOLD, its overflow, stopped and idle, CNT_DROP advancing, an SLVERR answer."""
    tb = TB(dut, "interrupts")
    spec, top = tb.spec, tb.top
    n, ii = spec.n, spec.initiation_interval
    depth = json.loads(os.environ["DEMONLOOP_SPEC"]).get("CAP_DEPTH", 32)
    S = regs.IRQ_STATUS

    def bit(name: str) -> int:
        return S.field(name).put(1)

    async def status() -> int:
        return await top.read_ok(regs.IRQ_STATUS_OFFSET)

    async def offer(Xs, offsets) -> None:
        """Offer Xs at cycles now + 4 + offsets (counters cleared first: tb.run checks them)."""
        start = await tb.begin(enable=True, lead=4)
        sched = ReadySchedule([(start, 1)])
        await tb.run(tb.plan_offers(Xs, [start + o for o in offsets], HandshakeModel(spec, sched)), sched)

    async def irq_after_two_edges() -> int:
        # half a period before edge now+3: the value set by edge now+2
        await top.before_edge(top.cycle_now() + 3)
        return int(top.dut.irq.value)

    await tb.start(enable=False)
    assert await status() == bit("IDLE")                     # stopped and idle from reset
    assert await top.read_ok(regs.IRQ_ENABLE_OFFSET) == 0
    assert await top.read_ok(regs.IRQ_THRESHOLD_OFFSET) == 1
    assert await irq_after_two_edges() == 0                  # nothing enabled
    await top.write_ok(regs.IRQ_ENABLE_OFFSET, bit("IDLE"))
    assert await irq_after_two_edges() == 1
    await top.write_ok(regs.IRQ_STATUS_OFFSET, bit("IDLE"))  # the condition still holds: set again
    assert await status() == bit("IDLE")

    # the capture level: below the threshold nothing, at it CAP_LEVEL
    await tb.load(np.zeros((n, n), dtype=np.int64), np.zeros(n, dtype=np.int64))
    await top.write_ok(regs.IRQ_THRESHOLD_OFFSET, 3)
    await top.write_ok(regs.IRQ_ENABLE_OFFSET, bit("CAP_LEVEL"))
    await tb.begin(enable=True)
    await top.write_ok(regs.IRQ_STATUS_OFFSET, 0x1F)
    assert await status() == 0 and await irq_after_two_edges() == 0
    X = np.arange(4 * n, dtype=np.int64).reshape(4, n) - 2 * n
    await offer(X[:2], [0, ii])
    assert regs.CAP_STATUS.field("LEVEL").get(await top.read_ok(regs.CAP_STATUS_OFFSET)) == 2
    assert await status() == 0 and await irq_after_two_edges() == 0
    await offer(X[2:3], [0])
    assert await status() == bit("CAP_LEVEL") and await irq_after_two_edges() == 1
    for j in range(n):                                       # one entry out: level 2 < 3
        await top.read_ok(regs.CAP_DATA.entry_offset(j))
    await top.write_ok(regs.IRQ_STATUS_OFFSET, bit("CAP_LEVEL"))
    assert await status() == 0 and await irq_after_two_edges() == 0
    # threshold 0 acts as 1
    await top.write_ok(regs.IRQ_THRESHOLD_OFFSET, 0)
    assert await status() == bit("CAP_LEVEL")
    await top.write_ok(regs.IRQ_THRESHOLD_OFFSET, depth)

    # an SLVERR answer sets BUS_ERROR (not enabled: irq stays low)
    await top.write_ok(regs.IRQ_STATUS_OFFSET, 0x1F)
    _, resp = await top.read(0x007C)          # unmapped (the interrupt range ends at 0x0050)
    assert resp == AxiResp.SLVERR
    assert await status() == bit("BUS_ERROR") and await irq_after_two_edges() == 0
    await top.write_ok(regs.IRQ_STATUS_OFFSET, bit("BUS_ERROR"))
    assert await status() == 0

    # overflow: depth + 1 samples more than the FIFO holds
    await top.write_ok(regs.IRQ_ENABLE_OFFSET, bit("CAP_OVERFLOW"))
    level = regs.CAP_STATUS.field("LEVEL").get(await top.read_ok(regs.CAP_STATUS_OFFSET))
    k = depth - level + 1
    Xo = np.zeros((k, n), dtype=np.int64)
    await offer(Xo, [i * ii for i in range(k)])
    assert await status() & bit("CAP_OVERFLOW") and await irq_after_two_edges() == 1

    # a dropped sample (offered inside the initiation interval) sets COUNTERS
    if ii > 1:
        await top.write_ok(regs.IRQ_STATUS_OFFSET, 0x1F)
        await offer(Xo[:2], [0, 1])
        assert await status() & bit("COUNTERS")

    # stopping: IDLE once the unit is idle
    await top.set_enable(False)
    await top.before_edge(top.cycle_now() + spec.latency_cycles + 3)
    assert await status() & bit("IDLE")
