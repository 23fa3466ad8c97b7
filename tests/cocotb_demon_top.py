"""cocotb tests of rtl/demon_top.v (through emulator/cosim/hdl/tb_demon_top.v) against the golden model.

Launched by tests/test_rtl_demon.py (one build per simulator and parameter set); the parameter set
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

import bisect
import json
import os
import zlib
from collections import deque
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import Event, SimTimeoutError, with_timeout
from cocotbext.axi import AxiResp

from demonloop.demon import regs
from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding
from demonloop.cosim.testbench import DemonTop, Fire, from_u32, pack, to_u32, unpack

# ----------------------------------------------------------------------------------------------
# Reference pieces
# ----------------------------------------------------------------------------------------------


def spec_from_env() -> tuple[LinearDemonSpec, int]:
    """The golden spec and clock period (ns) the HDL was built with."""
    p = json.loads(os.environ["DEMONLOOP_SPEC"])
    rounding = {r.code: r for r in Rounding}[p["ROUNDING"]]
    overflow = {o.code: o for o in Overflow}[p["OVERFLOW"]]
    spec = LinearDemonSpec(
        n=p["N"], multipliers=p["MULTIPLIERS"], x_bits=p["X_BITS"], f_bits=p["F_BITS"],
        coef=QFormat(p["COEF_INT"], p["COEF_FRAC"]), bias=QFormat(p["BIAS_INT"], p["BIAS_FRAC"]),
        rounding=rounding, overflow=overflow,
    )
    return spec, p["CLK_PERIOD_NS"]


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
    kind = rng.choice(5, size=count, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    X[kind == 1] = lo
    X[kind == 2] = hi
    pick = rng.integers(0, 2, size=(count, n), dtype=bool)
    X[kind == 3] = np.where(pick, lo, hi)[kind == 3]
    X[kind == 4] = rng.integers(-2, 2, size=(count, n), endpoint=True)[kind == 4]
    return X.astype(np.int64)


def draw_coefficients(rng: np.random.Generator, spec: LinearDemonSpec, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw (A, b) of one of the coefficient families:

    ``inrange``  |A| <= 1/n and |b| <= 1/2, so most outputs are in range (checks the rounding);
    ``full``     uniform over the whole formats (many saturations);
    ``extreme``  every entry at the most negative or the largest value, whole rows of one sign
                 among them, so that with all-extreme inputs the accumulator reaches its extremes;
    ``ties``     A = odd * 2^(out_shift-1) and b a multiple of 2^out_shift in the accumulator, so
                 half of the accumulators sit exactly halfway between two output codes.
    """
    n, cf, bf = spec.n, spec.coef, spec.bias
    if kind == "inrange":
        ra = max(1, min(cf.max_raw, (1 << cf.frac_bits) // n))
        rb = max(1, min(bf.max_raw, 1 << max(bf.frac_bits - 1, 0)))
        return rng.integers(-ra, ra, size=(n, n), endpoint=True), rng.integers(-rb, rb, size=n, endpoint=True)
    if kind == "full":
        return (rng.integers(cf.min_raw, cf.max_raw, size=(n, n), endpoint=True),
                rng.integers(bf.min_raw, bf.max_raw, size=n, endpoint=True))
    if kind == "extreme":
        A = np.where(rng.integers(0, 2, size=(n, n), dtype=bool), cf.min_raw, cf.max_raw)
        row_kind = rng.integers(0, 3, size=n)          # 0: mixed, 1: all min, 2: all max
        A[row_kind == 1] = cf.min_raw
        A[row_kind == 2] = cf.max_raw
        return A, np.where(rng.integers(0, 2, size=n, dtype=bool), bf.min_raw, bf.max_raw)
    if kind == "ties":
        s = spec.out_shift
        unit_a = 1 << (s - 1)
        m = cf.max_raw // unit_a                       # largest |odd multiplier| that fits
        odd = 2 * rng.integers(-(m + 1) // 2, (m - 1) // 2, size=(n, n), endpoint=True) + 1
        unit_b = 1 << max(s - spec.b_shift, 0)
        mb = bf.max_raw // unit_b
        return odd * unit_a, rng.integers(-mb, mb, size=n, endpoint=True) * unit_b
    raise ValueError(kind)


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
        "SCHED_K": regs.SCHED_K.reset, "STEP": 0,
    }
    assert set(expected) == {r.name for r in regs.REGISTERS}
    for r in regs.REGISTERS:
        value = await top.read_ok(r.offset)
        assert value == expected[r.name], f"{r.name} reads {value:#010x}, expected {expected[r.name]:#010x}"

    # The MLP's arrays are not mapped in a linear instance.
    for arr in (regs.MLP_W, regs.MLP_B, regs.SCHED_SCALE, regs.SCHED_DRIFT, regs.SCHED_NOISE, regs.SCHED_EMB):
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
    unmapped = [0x0018, 0x001C, 0x0028, 0x002C, 0x0044, 0x0FFC,
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
