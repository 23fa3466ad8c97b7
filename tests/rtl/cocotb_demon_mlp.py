"""cocotb tests of the score-network demon: rtl/demon_top.v built with FORCE_UNIT=1 (demon_mlp and
demon_sched behind demon_axil), through emulator/cosim/hdl/tb_demon_top.v, against the golden MLPDemon.

Launched by tests/rtl/test_mlp.py (one build per simulator and parameter set); the parameter set
arrives in ``DEMONLOOP_SPEC`` (JSON of the HDL parameters), the seed in ``DEMONLOOP_SEED``.

The transaction-level pieces are those of demonloop.cosim.testbench (the out_ready pattern, the
handshake rule, the drivers, the monitors, the in-order checker); here:

- :class:`MLPTB` loads a network and a schedule table over AXI4-Lite and points the golden
  :class:`~demonloop.demon.mlp.MLPDemon` at them; its reference words follow the golden step
  counter, which advances once per *accepted* input, exactly as the RTL's does;
- :func:`draw_network` draws the coefficient families (in range, full range, extremes, rails,
  rounding ties); :func:`draw_schedule` the table.
"""

from __future__ import annotations

import os
import zlib

import cocotb
import numpy as np
from cocotb.triggers import with_timeout
from cocotbext.axi import AxiResp

from demonloop.cosim.testbench import (
    TB, Expected, HandshakeModel, InOrderChecker, Plan, ReadySchedule, backpressure, draw_inputs, idle_gaps,
)
from demonloop.demon import regs
from demonloop.cosim import simulators as sim
from demonloop.demon.mlp import ACTIVATIONS, MLPDemon, MLPSpec
from demonloop.demon.table import TABLE_FUNCTIONS, make_table
from demonloop.fixedpoint import shift_round
from demonloop.cosim.testbench import DemonTop, from_u32, pack, to_u32, unpack

# ----------------------------------------------------------------------------------------------
# Reference pieces
# ----------------------------------------------------------------------------------------------


def word_of(spec: MLPSpec, codes: np.ndarray) -> int:
    """Packed output word of one row of ``MLPDemon.force`` (n force codes, drift, noise)."""
    return pack(codes[:spec.n], spec.f_bits) | (pack(codes[spec.n:], spec.ctrl_bits) << (spec.n * spec.f_bits))


def codes_of(spec: MLPSpec, word: int) -> np.ndarray:
    return np.concatenate([unpack(word, spec.n, spec.f_bits), unpack(word >> (spec.n * spec.f_bits), 2, spec.ctrl_bits)])


def golden_words(golden: MLPDemon, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Words (count, n+2), overflow counts (count,) and rows (count,) of ``count`` accepted inputs in
    order, each advancing the golden step counter (batched per schedule row)."""
    count = X.shape[0]
    k0 = golden.step
    rows = np.minimum(k0 + np.arange(count), golden.K - 1)
    words = np.empty((count, golden.spec.n_out), dtype=np.int64)
    ovf = np.empty(count, dtype=np.int64)
    for k in np.unique(rows):
        idx = np.flatnonzero(rows == k)
        w, m = golden.force_at(X[idx], int(k))
        words[idx] = w
        ovf[idx] = m.sum(axis=1)
    golden.step = int(min(k0 + count, golden.K - 1))
    return words, ovf, rows


class MLPChecker(InOrderChecker):
    """The in-order checker, with a diagnosis in force and control channels."""

    def got_output(self, fire) -> None:
        if self.outputs and fire.word != self.outputs[0].out_word:
            s = self.tb.spec
            e = self.outputs[0]
            got, exp = codes_of(s, fire.word), codes_of(s, e.out_word)
            bad = np.flatnonzero(got != exp)
            raise AssertionError(
                f"output of the input accepted at cycle {e.in_cycle} differs in channels {bad.tolist()} "
                f"(channels {s.n}, {s.n + 1} are drift, noise): got {got[bad].tolist()}, golden "
                f"{exp[bad].tolist()} (x = {unpack(e.in_word, s.n, s.x_bits).tolist()})")
        super().got_output(fire)


# ----------------------------------------------------------------------------------------------
# Stimulus
# ----------------------------------------------------------------------------------------------

FAMILIES = ("inrange", "full", "extreme", "rails", "ties")


def draw_network(rng: np.random.Generator, spec: MLPSpec, kind: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Raw weights and biases of one family:

    ``inrange``  |W| <= 1/in, |b| <= 1/4: most values in range, the roundings show;
    ``full``     uniform over the formats: most narrowings saturate (or wrap);
    ``extreme``  every weight and bias at the most negative or the largest code, whole rows of one
                 sign, so that with extreme inputs the accumulators reach their extremes;
    ``rails``    in-range weights, biases of +-3/2 and 0: hidden units sit at the activation's
                 rails (ReLU at 0, hard-tanh at +-1) without overflowing the format;
    ``ties``     first-layer weights odd multiples of half an output LSB of the requantization
                 (embedding weights 0) and biases multiples of an LSB: many pre-activations sit
                 exactly halfway between two codes.
    """
    wf, bf = spec.weight, spec.bias
    Ws, bs = [], []
    for l, (o, i) in enumerate(spec.layer_shapes):
        ra = max(1, min(wf.max_raw, (1 << wf.frac_bits) // i))
        rb = max(1, min(bf.max_raw, 1 << max(bf.frac_bits - 2, 0)))
        W = rng.integers(-ra, ra, (o, i), endpoint=True)
        b = rng.integers(-rb, rb, o, endpoint=True)
        if kind == "full":
            W = rng.integers(wf.min_raw, wf.max_raw, (o, i), endpoint=True)
            b = rng.integers(bf.min_raw, bf.max_raw, o, endpoint=True)
        elif kind == "extreme":
            W = np.where(rng.integers(0, 2, (o, i), dtype=bool), wf.min_raw, wf.max_raw)
            sign = rng.integers(0, 3, o)
            W[sign == 1] = wf.min_raw
            W[sign == 2] = wf.max_raw
            b = np.where(rng.integers(0, 2, o, dtype=bool), bf.min_raw, bf.max_raw)
        elif kind == "rails":
            big = min(bf.max_raw, 3 << max(bf.frac_bits - 1, 0))
            b = rng.choice([-big, 0, big], o)
        elif kind == "ties" and l == 0 and tie_unit(spec) is not None:
            u, ub = tie_unit(spec)
            m = max(1, ra // u)
            W = (2 * rng.integers(-m, m, (o, i), endpoint=True) + 1) * u
            W = np.clip(W, wf.min_raw, wf.max_raw)
            W[:, spec.n:] = 0
            b = rng.integers(-4, 4, o, endpoint=True) * ub
            b = np.clip(b, bf.min_raw, bf.max_raw)
        Ws.append(W.astype(np.int64))
        bs.append(b.astype(np.int64))
    return Ws, bs


def tie_unit(spec: MLPSpec) -> tuple[int, int] | None:
    """(weight unit, bias unit) that puts first-layer accumulators on half-LSB multiples, or None."""
    e = spec.req_shift - 1 - spec.x_shift           # W * (X << x_shift) = odd * 2^(req_shift-1) * X
    eb = spec.req_shift - spec.b_shift
    if spec.req_shift < 1 or e < 0 or (1 << e) > spec.weight.max_raw:
        return None
    return 1 << e, 1 << max(eb, 0)


def draw_schedule(rng: np.random.Generator, spec: MLPSpec, K: int, kind: str) -> np.ndarray:
    """Raw table (K, 3 + E): scale around 1/4 (in-range families) or over its format, with both
    extremes present; controls uniform with both extremes; embedding in [-1, 1) or over the format."""
    S = np.empty((K, 3 + spec.emb), dtype=np.int64)
    sf, af = spec.scale, spec.act
    if kind in ("inrange", "rails", "ties"):
        r = max(1, min(sf.max_raw, 1 << max(sf.frac_bits - 1, 0)))
        S[:, 0] = rng.integers(-r, r, K, endpoint=True)
        re = max(1, min(af.max_raw, 1 << af.frac_bits))
        S[:, 3:] = rng.integers(-re, re - 1, (K, spec.emb), endpoint=True)
        if kind == "ties" and spec.force_shift >= 1 and (1 << (spec.force_shift - 1)) <= sf.max_raw:
            u = 1 << (spec.force_shift - 1)
            S[:, 0] = (2 * rng.integers(0, max(1, r // u), K) + 1) * u * rng.choice([-1, 1], K)
            S[:, 0] = np.clip(S[:, 0], sf.min_raw, sf.max_raw)
    else:
        S[:, 0] = rng.integers(sf.min_raw, sf.max_raw, K, endpoint=True)
        S[:, 3:] = rng.integers(af.min_raw, af.max_raw, (K, spec.emb), endpoint=True)
        if kind == "extreme":
            S[:, 0] = rng.choice([sf.min_raw, sf.max_raw], K)
            S[:, 3:] = rng.choice([af.min_raw, af.max_raw], (K, spec.emb))
    c = 1 << (spec.ctrl_bits - 1)
    S[:, 1:3] = rng.integers(-c, c - 1, (K, 2), endpoint=True)
    S[0, 1:3] = [-c, c - 1]
    if K > 1:
        S[1, 1:3] = [c - 1, -c]
    return S


def draw_table(rng: np.random.Generator, spec: MLPSpec) -> np.ndarray | None:
    """Raw ACT_TABLE entries (None without a table): uniform over the legal range (the act range
    in the table's format), both ends present, so slopes of every sign and size occur."""
    if spec.activation != "table":
        return None
    d = spec.table_frac - spec.act.frac_bits
    lo, hi = spec.act.min_raw << d, spec.act.max_raw << d
    T = rng.integers(lo, hi, spec.table_entries, endpoint=True)
    T[0], T[-1] = lo, hi
    return T


# ----------------------------------------------------------------------------------------------
# Testbench
# ----------------------------------------------------------------------------------------------


class MLPTB(TB):
    """Clock (in HDL), reset, drivers, monitors and the golden score network of one test."""

    def __init__(self, dut, tag: str):
        params = sim.json_parameters(os.environ["DEMONLOOP_SPEC"])
        self.spec = sim.spec_from_parameters(params)
        assert isinstance(self.spec, MLPSpec)
        self.period_ns = params["CLK_PERIOD_NS"]
        self.seed = int(os.environ["DEMONLOOP_SEED"])
        self.top = DemonTop(dut, self.spec)
        self.log = cocotb.log
        self.log.info("seed %d (replay: DEMONLOOP_SEED=%d), test %s, spec %s",
                      self.seed, self.seed, tag, self.spec)
        streams = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(tag.encode()),)).spawn(4)
        self.rng_stim, self.rng_coef, self.rng_idle, self.rng_bp = (np.random.default_rng(s) for s in streams)
        s = self.spec
        self.Ws = [np.zeros(shape, dtype=np.int64) for shape in s.layer_shapes]
        self.bs = [np.zeros(o, dtype=np.int64) for o, _ in s.layer_shapes]
        self.S = np.zeros((1, 3 + s.emb), dtype=np.int64)
        self.T = draw_table(self.rng_coef, s)
        self.golden = MLPDemon(s, self.Ws, self.bs, self.S, self.T)

    def make_checker(self, expected: list[Expected]) -> InOrderChecker:
        return MLPChecker(self, expected)

    async def load(self, Ws: list[np.ndarray], bs: list[np.ndarray], S: np.ndarray,
                   T: np.ndarray | None = None) -> None:
        """Write the network, the schedule table and (with a table activation) the activation
        table over AXI (SCHED_K = rows; a fresh random activation table unless ``T`` is given),
        reset the step counter (CTRL.STEP_RESET) and point the golden model at them (step 0)."""
        if self.spec.activation == "table":
            T = draw_table(self.rng_coef, self.spec) if T is None else np.asarray(T, dtype=np.int64)
        self.Ws, self.bs, self.S, self.T = Ws, bs, np.asarray(S, dtype=np.int64), T
        self.golden = MLPDemon(self.spec, Ws, bs, self.S, T)
        await self.top.load_network(Ws, bs)
        await self.top.load_schedule(self.S)
        if T is not None:
            await self.top.load_table(T)
        await self.top.step_reset(enable=True)

    def _expect(self, plan: Plan, X: np.ndarray, words: list[int], accepted: list[tuple[int, int, int]]) -> None:
        if not accepted:
            return
        idx = [m for m, _, _ in accepted]
        W, ovf, _ = golden_words(self.golden, X[idx])
        for (m, t, h), w, o in zip(accepted, W, ovf):
            plan.expected.append(Expected(t, words[m], h, word_of(self.spec, w), int(o)))


def count_ties(spec: MLPSpec, golden: MLPDemon, X: np.ndarray, rows: np.ndarray) -> int:
    """Accumulators of the first layer and force products sitting exactly on a rounding tie."""
    ties = 0
    for k in np.unique(rows):
        sel = X[rows == k]
        accs, hs, _ = golden.layers_at(sel, int(k))
        r = spec.req_shift
        if r >= 1:
            ties += int(np.count_nonzero((accs[0] & ((1 << r) - 1)) == (1 << (r - 1))))
        f = spec.force_shift
        if f >= 1:
            prod = golden.schedule[k, 0] * hs[-1]
            ties += int(np.count_nonzero((prod & ((1 << f) - 1)) == (1 << (f - 1))))
    return ties


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------

STREAM_CASES = [
    (None, None, 10_000),        # the golden comparison: 10,000 vectors at the full rate
    ("random", "random", 400),
]


@cocotb.test()
@cocotb.parametrize((("idle_inserter", "backpressure_inserter", "vectors"), STREAM_CASES))
async def test_stream_golden(dut, idle_inserter, backpressure_inserter, vectors):
    """Random and corner inputs through the RTL network vs the golden model, every word exact (force
    codes and controls, the schedule row following the accepted inputs); latency, acceptance and
    drops as the handshake rule predicts; CNT_SAT and STEP as the golden model counts."""
    tb = MLPTB(dut, f"stream-{idle_inserter}-{backpressure_inserter}-{vectors}")
    spec = tb.spec
    await tb.start()
    shares = [0.35, 0.15, 0.2, 0.15, 0.15]
    counts = [int(vectors * s) for s in shares]
    counts[0] += vectors - sum(counts)
    total = overflows = ties = 0
    rails = {"low": 0, "high": 0}
    for family, count in zip(FAMILIES, counts):
        K = int(tb.rng_coef.integers(1, spec.sched_len, endpoint=True))
        Ws, bs = draw_network(tb.rng_coef, spec, family)
        await tb.load(Ws, bs, draw_schedule(tb.rng_coef, spec, K, family))
        X = draw_inputs(tb.rng_stim, spec, count)
        gaps = idle_gaps(tb.rng_idle, idle_inserter, count, spec.initiation_interval)
        begin = await tb.begin()
        cycles = (begin + np.cumsum(spec.initiation_interval + gaps) - spec.initiation_interval).tolist()
        schedule = backpressure(tb.rng_bp, backpressure_inserter, begin, cycles[-1] + spec.latency_cycles,
                                spec.latency_cycles)
        k0 = tb.golden.step
        plan = tb.plan_offers(X, cycles, HandshakeModel(spec, schedule))
        checker = await tb.run(plan, schedule)
        assert await tb.top.read_ok(regs.STEP_OFFSET) == tb.golden.step, "STEP register"
        total += len(plan.expected)
        overflows += sum(e.overflows for e in plan.expected)
        taken = np.array([unpack(e.in_word, spec.n, spec.x_bits) for e in plan.expected]).reshape(-1, spec.n)
        rows = np.minimum(k0 + np.arange(len(taken)), tb.golden.K - 1)
        if family == "ties":
            ties += count_ties(spec, tb.golden, taken, rows)
        for k in np.unique(rows):
            _, hs, _ = tb.golden.layers_at(taken[rows == k], int(k))
            one = 1 << spec.act.frac_bits
            for h in hs[:-1]:
                lo = 0 if spec.activation == "relu" else -one
                rails["low"] += int(np.count_nonzero(h <= lo))
                rails["high"] += int(np.count_nonzero(h >= (one if spec.activation == "hardtanh" else spec.act.max_raw)))
        if backpressure_inserter is None:
            assert set(checker.latencies) == {spec.latency_cycles}, (
                f"latencies {sorted(set(checker.latencies))}, spec {spec.latency_cycles}")
            assert plan.drops == 0 and len(plan.expected) == count
    tb.log.info("%d words checked, %d narrowing overflows, %d rounding ties, activations at the rails %s",
                total, overflows, ties, rails)
    if backpressure_inserter is None:
        assert total == vectors
    assert overflows > 0, "no saturation corner was exercised"
    assert rails["low"] > 0 and rails["high"] > 0, f"activations at their rails: {rails}"
    if tie_unit(spec) is not None or spec.force_shift >= 1:
        assert ties > 0 or vectors < 1000, "no rounding tie was exercised"


@cocotb.test()
async def test_saturation_corners(dut):
    """Deterministic corners: most negative inputs with the largest weights (the accumulator bound
    reached within a factor of two), every narrowing overflowing and counted, the scale's extremes;
    then the activations pinned at both rails."""
    tb = MLPTB(dut, "corners")
    spec = tb.spec
    wf, bf, af = spec.weight, spec.bias, spec.act
    await tb.start()
    lo_x, hi_x = -(1 << (spec.x_bits - 1)), (1 << (spec.x_bits - 1)) - 1
    X = np.array([[lo_x] * spec.n, [hi_x] * spec.n, [lo_x, hi_x] * (spec.n // 2) + [lo_x] * (spec.n % 2)])
    # 1. All weights and biases most negative, inputs and embedding most negative.
    Ws = [np.full(shape, wf.min_raw) for shape in spec.layer_shapes]
    bs = [np.full(o, bf.min_raw) for o, _ in spec.layer_shapes]
    S = np.zeros((2, 3 + spec.emb), dtype=np.int64)
    S[:, 0] = [spec.scale.max_raw, spec.scale.min_raw]
    S[:, 3:] = af.min_raw
    await tb.load(Ws, bs, S)
    # every first-layer product at its largest (most negative x most negative), the bias at its
    # most negative: the accumulator's extreme for these formats, computed independently
    accs, _, _ = tb.golden.layers_at(X[:1], 0)
    extreme = ((bf.min_raw << spec.b_shift) + spec.n * wf.min_raw * (lo_x << spec.x_shift)
               + spec.emb * wf.min_raw * (af.min_raw << spec.act_shift))
    assert (accs[0] == extreme).all()
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    ii = spec.initiation_interval
    plan = tb.plan_offers(np.concatenate([X, X]), [begin + m * ii for m in range(6)], HandshakeModel(spec, schedule))
    await tb.run(plan, schedule)
    assert sum(e.overflows for e in plan.expected) > 0
    # 2. Rails: biases +-3/2 around small weights pin the hidden units at ReLU 0 / hard-tanh +-1.
    big = min(bf.max_raw, 3 << max(bf.frac_bits - 1, 0))
    Ws = [np.zeros(shape, dtype=np.int64) for shape in spec.layer_shapes]
    bs = [np.where(np.arange(o) % 2 == 0, big, -big) for o, _ in spec.layer_shapes]
    S[:, 0] = 1 << max(spec.scale.frac_bits - 2, 0)
    await tb.load(Ws, bs, S)
    _, hs, masks = tb.golden.layers_at(X, 0)
    one = 1 << af.frac_bits
    for h in hs[:-1]:
        if spec.activation == "hardtanh":
            assert (h[:, 0::2] > one).all() and (h[:, 1::2] < -one).all()
        else:
            assert (h[:, 1::2] < 0).all()
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    plan = tb.plan_offers(X, [begin + m * ii for m in range(3)], HandshakeModel(spec, schedule))
    await tb.run(plan, schedule)


@cocotb.test()
async def test_schedule_stepping(dut):
    """The step counter: one row per accepted word, saturating at SCHED_K - 1; dropped samples do not
    advance it; CTRL.STEP_RESET returns it to 0 (mid-stream too); a smaller SCHED_K clamps it; reset
    clears it. Rows are told apart by their drift code."""
    tb = MLPTB(dut, "schedule")
    spec, top = tb.spec, tb.top
    ii = spec.initiation_interval
    await tb.start()
    K = min(spec.sched_len, 5)
    Ws, bs = draw_network(tb.rng_coef, spec, "inrange")
    S = draw_schedule(tb.rng_coef, spec, K, "inrange")
    S[:, 1] = np.arange(K) - (1 << (spec.ctrl_bits - 1))       # distinct drift codes name the rows
    await tb.load(Ws, bs, S)
    assert await top.read_ok(regs.STEP_OFFSET) == 0
    assert await top.read_ok(regs.SCHED_K_OFFSET) == K

    async def stream(count: int, every: int) -> list[int]:
        """``count`` offers ``every`` cycles apart; returns the rows of the accepted words."""
        X = draw_inputs(tb.rng_stim, spec, count)
        begin = await tb.begin()
        schedule = ReadySchedule([(begin, 1)])
        plan = tb.plan_offers(X, [begin + m * every for m in range(count)], HandshakeModel(spec, schedule))
        await tb.run(plan, schedule)
        return [int(codes_of(spec, e.out_word)[spec.n]) + (1 << (spec.ctrl_bits - 1)) for e in plan.expected]

    rows = await stream(K + 3, ii)
    assert rows == list(range(K)) + [K - 1] * 3
    assert await top.read_ok(regs.STEP_OFFSET) == K - 1 == tb.golden.step
    # Drops do not advance the step: offers every cycle, one in II accepted.
    await top.step_reset(enable=True)
    tb.golden.reset()
    rows = await stream(2 * ii + 1, 1)
    assert rows == [0, 1, 2][:len(rows)] and len(rows) == 3
    assert await top.read_ok(regs.STEP_OFFSET) == min(3, K - 1)
    # STEP_RESET mid-stream: the next word uses row 0.
    await top.step_reset(enable=True)
    tb.golden.reset()
    assert await top.read_ok(regs.STEP_OFFSET) == 0
    assert (await stream(2, ii)) == [0, 1]
    # A smaller SCHED_K clamps the row and the step (golden: the same table cut to K' rows).
    await top.write_ok(regs.SCHED_K_OFFSET, 1)
    tb.golden = MLPDemon(spec, Ws, bs, S[:1], tb.T)
    assert (await stream(3, ii)) == [0, 0, 0]
    assert await top.read_ok(regs.STEP_OFFSET) == 0
    await top.write_ok(regs.SCHED_K_OFFSET, K)
    tb.golden = MLPDemon(spec, Ws, bs, S, tb.T)
    assert (await stream(2, ii)) == [0, 1]
    # Reset clears the step; the table and SCHED_K are memories/registers that reset restores to 1.
    await top.reset()
    assert await top.read_ok(regs.STEP_OFFSET) == 0
    assert await top.read_ok(regs.SCHED_K_OFFSET) == regs.SCHED_K.reset
    await top.write_ok(regs.SCHED_K_OFFSET, K)
    await top.set_enable(True)
    tb.golden.reset()
    assert (await stream(2, ii)) == [0, 1]


@cocotb.test()
async def test_backpressure_loses_nothing(dut):
    """A source that honours in_ready and random DAC backpressure: every sample delivered once, in
    order, each with its own schedule row; waiting cycles count as drops."""
    tb = MLPTB(dut, "backpressure")
    spec = tb.spec
    await tb.start()
    K = min(spec.sched_len, 7)
    await tb.load(*draw_network(tb.rng_coef, spec, "inrange"), draw_schedule(tb.rng_coef, spec, K, "inrange"))
    count = 200
    X = draw_inputs(tb.rng_stim, spec, count)
    gaps = idle_gaps(tb.rng_idle, "random", count, spec.initiation_interval)
    gaps[0] = 0
    begin = await tb.begin(lead=4)
    schedule = backpressure(tb.rng_bp, "random", begin, begin + count * 3 * spec.latency_cycles, spec.latency_cycles)
    plan = tb.plan_hold(X, begin, gaps, HandshakeModel(spec, schedule))
    assert len(plan.expected) == count
    await tb.run(plan, schedule, hold=True)


@cocotb.test()
async def test_registers(dut):
    """Read-only shape, widths, formats and timing of the MLP instance; SCHED_K read/write, STEP
    read-only; every array reads back sign-extended (junk above the width ignored) and honours
    WSTRB; entries beyond this instance's network or table, and the linear unit's arrays, answer
    SLVERR."""
    tb = MLPTB(dut, "registers")
    spec, top = tb.spec, tb.top
    await tb.start(enable=False)
    hid = list(spec.hidden) + [0] * (3 - len(spec.hidden))
    R = regs
    expected = {
        "ID": R.ID.reset,
        "VERSION": R.VERSION.reset,
        "SHAPE": R.SHAPE.field("N").put(spec.n) | R.SHAPE.field("MULTIPLIERS").put(spec.multipliers),
        "WIDTHS": (R.WIDTHS.field("X_BITS").put(spec.x_bits) | R.WIDTHS.field("F_BITS").put(spec.f_bits)
                   | R.WIDTHS.field("BIAS_W").put(spec.bias.width)),
        "FORMAT": (R.FORMAT.field("BIAS_FRAC").put(spec.bias.frac_bits)
                   | R.FORMAT.field("ROUNDING").put(spec.rounding.code)
                   | R.FORMAT.field("OVERFLOW").put(spec.overflow.code)),
        "TIMING": R.TIMING.field("LATENCY").put(spec.latency_cycles) | R.TIMING.field("II").put(spec.initiation_interval),
        "UNIT": (R.UNIT.field("FORCE_UNIT").put(1) | R.UNIT.field("ACTIVATION").put(ACTIVATIONS[spec.activation])
                 | R.UNIT.field("LAYERS").put(len(spec.hidden)) | R.UNIT.field("EMB").put(spec.emb)),
        "MLP_SHAPE": (R.MLP_SHAPE.field("HIDDEN1").put(hid[0]) | R.MLP_SHAPE.field("HIDDEN2").put(hid[1])
                      | R.MLP_SHAPE.field("HIDDEN3").put(hid[2])),
        "MLP_WIDTHS": (R.MLP_WIDTHS.field("WEIGHT_W").put(spec.weight.width) | R.MLP_WIDTHS.field("ACT_W").put(spec.act.width)
                       | R.MLP_WIDTHS.field("SCALE_W").put(spec.scale.width)
                       | R.MLP_WIDTHS.field("CTRL_BITS").put(spec.ctrl_bits)),
        "MLP_FORMAT": (R.MLP_FORMAT.field("WEIGHT_FRAC").put(spec.weight.frac_bits)
                       | R.MLP_FORMAT.field("ACT_FRAC").put(spec.act.frac_bits)
                       | R.MLP_FORMAT.field("SCALE_FRAC").put(spec.scale.frac_bits)),
        "SCHED_LEN": spec.sched_len,
        "ACT_TABLE_FMT": (R.ACT_TABLE_FMT.field("BITS").put(spec.table_bits)
                          | R.ACT_TABLE_FMT.field("FRAC").put(spec.table_frac)),
        "SCHED_K": R.SCHED_K.reset,
        "STEP": 0,
        "CTRL": R.CTRL.reset,
        "STATUS": 0,
        "CNT_IN": 0, "CNT_OUT": 0, "CNT_DROP": 0, "CNT_SAT": 0,
        "SCRATCH": R.SCRATCH.reset,
    }
    for r in R.REGISTERS:
        if r.name in expected:
            value = await top.read_ok(r.offset)
            assert value == expected[r.name], f"{r.name} reads {value:#010x}, expected {expected[r.name]:#010x}"
    for name in ("UNIT", "MLP_SHAPE", "MLP_WIDTHS", "MLP_FORMAT", "SCHED_LEN", "STEP", "ACT_TABLE_FMT"):
        r = getattr(R, name)
        assert await top.write(r.offset, 0x5A5A5A5A) == AxiResp.SLVERR, f"write to {name} accepted"
        assert await top.read_ok(r.offset) == expected[name]
    await top.write_ok(R.SCHED_K_OFFSET, 3)
    assert await top.read_ok(R.SCHED_K_OFFSET) == 3
    # STEP_RESET reads 0 and leaves ENABLE alone.
    await top.write_ok(R.CTRL_OFFSET, R.CTRL.field("ENABLE").put(1) | R.CTRL.field("STEP_RESET").put(1))
    assert await top.read_ok(R.CTRL_OFFSET) == R.CTRL.field("ENABLE").put(1)
    await top.set_enable(False)

    # Arrays: random raw values with junk above the entry's width read back sign-extended.
    arrays = [(R.MLP_W, spec.weight_entries, spec.weight.width), (R.MLP_B, spec.bias_entries, spec.bias.width),
              (R.SCHED_SCALE, spec.sched_len, spec.scale.width), (R.SCHED_DRIFT, spec.sched_len, spec.ctrl_bits),
              (R.SCHED_NOISE, spec.sched_len, spec.ctrl_bits), (R.SCHED_EMB, spec.sched_len * spec.emb, spec.act.width),
              (R.ACT_TABLE, spec.table_entries, spec.table_fmt.width if spec.table_entries else 0)]
    rng = tb.rng_coef
    for arr, entries, w in arrays:
        picks = sorted(set([0, entries - 1] + rng.integers(0, entries, 24).tolist())) if entries else []
        vals = {}
        for i in picks:
            v = int(rng.integers(-(1 << (w - 1)), 1 << (w - 1)))
            junk = int(rng.integers(0, 1 << 32)) & ~((1 << w) - 1) & 0xFFFF_FFFF
            await top.write_ok(arr.entry_offset(i), (to_u32(v) & ((1 << w) - 1)) | junk)
            vals[i] = v
        for i, v in vals.items():
            assert from_u32(await top.read_ok(arr.entry_offset(i))) == v, f"{arr.name}[{i}]"
        if entries:
            # WSTRB: byte 0 of the last entry replaced, the rest kept.
            last = entries - 1
            resp = await top.axil.write(arr.entry_offset(last), b"\xa5")
            assert resp.resp == AxiResp.OKAY
            raw = ((to_u32(vals[last]) & ~0xFF) | 0xA5) & ((1 << w) - 1)
            assert from_u32(await top.read_ok(arr.entry_offset(last))) == (raw - (1 << w) if raw >> (w - 1) else raw)
        # Entries beyond this instance: SLVERR both ways.
        for i in sorted({entries, arr.max_entries - 1}):
            if i < arr.max_entries and i >= entries:
                value, resp = await top.read(arr.entry_offset(i))
                assert resp == AxiResp.SLVERR and value == 0, f"read of {arr.name}[{i}] answered {resp!r}"
                assert await top.write(arr.entry_offset(i), 1) == AxiResp.SLVERR, f"write to {arr.name}[{i}]"
    # The linear unit's arrays are not mapped in an MLP instance.
    for arr in (R.COEF_A, R.COEF_B):
        value, resp = await top.read(arr.entry_offset(0))
        assert resp == AxiResp.SLVERR and value == 0
        assert await top.write(arr.entry_offset(0), 1) == AxiResp.SLVERR


@cocotb.test()
async def test_reset_mid_stream(dut):
    """Reset while a word is computed: nothing comes out afterwards, the step and the counters are
    cleared, the network and the table survive (block RAM), and the next stream is exact."""
    tb = MLPTB(dut, "reset")
    spec, top = tb.spec, tb.top
    K = min(spec.sched_len, 4)
    await tb.start()
    await tb.load(*draw_network(tb.rng_coef, spec, "full"), draw_schedule(tb.rng_coef, spec, K, "full"))
    X = draw_inputs(tb.rng_stim, spec, 2)
    begin = await tb.begin()
    schedule = ReadySchedule([(begin, 1)])
    plan = tb.plan_offers(X, [begin, begin + spec.initiation_interval], HandshakeModel(spec, schedule))
    checker = tb.make_checker(plan.expected[:1])       # only the first word may come out
    monitor = cocotb.start_soon(tb.monitor_outputs(checker))
    driver = cocotb.start_soon(tb.drive_offers(plan.offers))
    ready = cocotb.start_soon(tb.drive_ready(schedule))
    k_reset = begin + spec.initiation_interval + spec.latency_cycles // 2
    await top.at_edge(k_reset - 1)
    assert top.dut.dut.g_mlp.u_mlp.busy.value == 1, "the second word should be in computation"
    driver.cancel()
    ready.cancel()
    await top.reset_at(k_reset)
    await top.before_edge(1)
    top.out_ready.value = 1
    await top.at_edge(3 * spec.latency_cycles)
    monitor.cancel()
    assert not checker.outputs, "the word delivered before the reset was not seen"
    assert await top.counters() == {"CNT_IN": 0, "CNT_OUT": 0, "CNT_DROP": 0, "CNT_SAT": 0}
    assert await top.read_ok(regs.STEP_OFFSET) == 0
    for i in range(min(spec.weight_entries, 16)):
        flat = np.concatenate([W.reshape(-1) for W in tb.Ws])
        assert from_u32(await top.read_ok(regs.MLP_W.entry_offset(i))) == flat[i]
    await top.write_ok(regs.SCHED_K_OFFSET, K)
    await top.set_enable(True)
    tb.golden.reset()
    X = draw_inputs(tb.rng_stim, spec, 20)
    begin = await tb.begin()
    ii = spec.initiation_interval
    await tb.run(tb.plan_offers(X, list(range(begin, begin + 20 * ii, ii)), HandshakeModel(spec, schedule)),
                 ReadySchedule([(begin, 1)]))


@cocotb.test()
async def test_counters_saturate(dut):
    """CNT_SAT grows by a word's narrowing overflows and stops at 0xFFFFFFFF."""
    tb = MLPTB(dut, "counters")
    spec, top = tb.spec, tb.top
    await tb.start()
    Ws = [np.full(shape, spec.weight.min_raw) for shape in spec.layer_shapes]
    bs = [np.full(o, spec.bias.min_raw) for o, _ in spec.layer_shapes]
    S = np.zeros((1, 3 + spec.emb), dtype=np.int64)
    S[0, 0] = spec.scale.max_raw
    await tb.load(Ws, bs, S)
    X = np.full((2, spec.n), -(1 << (spec.x_bits - 1)), dtype=np.int64)
    per_word = int(tb.golden.force_at(X[:1], 0)[1].sum())
    assert per_word > 0
    axil = top.dut.dut.u_axil
    await top.before_edge(top.cycle_now() + 2)
    top.out_ready.value = 1
    axil.cnt_sat.value = 0xFFFF_FFFF - per_word - 1
    begin = top.cycle_now() + 3
    ii = spec.initiation_interval
    plan = tb.plan_offers(X, [begin, begin + ii], HandshakeModel(spec, ReadySchedule([(begin, 1)])))
    checker = tb.make_checker(plan.expected)
    tasks = [cocotb.start_soon(tb.monitor_outputs(checker)), cocotb.start_soon(tb.drive_offers(plan.offers))]
    await with_timeout(checker.done.wait(), top.edge_time(plan.last_cycle + 4) - top.now(), "step")
    for t in tasks:
        t.cancel()
    assert await top.read_ok(regs.CNT_SAT_OFFSET) == 0xFFFF_FFFF


@cocotb.test()
async def test_table_sweep(dut):
    """The table activation over every input code (an instance whose hidden unit is the input
    itself and whose force code is the activation itself: ``n = 2``, one hidden layer of 2, see
    tests/rtl/test_mlp.py): each function's table (sigmoid, tanh, SiLU, softplus) and a random
    one, so every entry, every position within a segment and both interpolation corners pass
    through the RTL, bit for bit against the golden model; at every segment start the output is
    the entry itself, rounded to the act format (a closed form, independent of the model)."""
    tb = MLPTB(dut, "table-sweep")
    spec = tb.spec
    if spec.activation != "table" or (spec.n, spec.hidden, spec.emb) != (2, (2,), 0):
        tb.log.info("not the table-sweep instance (n=2, hidden (2,), no embedding): nothing to sweep")
        return
    await tb.start()
    wf, af, sf = spec.weight, spec.act, spec.scale
    # h_j = X_j exactly (W * (X << x_shift) >> req_shift with W = 2^(req_shift - x_shift)), and the
    # score s_j = a_j (W = 2^(req_shift - act_shift), one in the weight format)
    w_id = 1 << (spec.req_shift - spec.x_shift)
    Ws = [np.diag([w_id, w_id]), np.diag([1 << (spec.req_shift - spec.act_shift)] * 2)]
    bs = [np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64)]
    S = np.zeros((1, 3), dtype=np.int64)
    S[0, 0] = 1 << spec.force_shift                       # F = s exactly
    codes = np.arange(af.min_raw, af.max_raw + 1, dtype=np.int64)
    X = np.stack([codes, codes[::-1]], axis=1)
    tables = {f: make_table(f, af, spec.table_bits, spec.table_frac, gain=4.0 / 2 ** (af.int_bits - 1))
              for f in TABLE_FUNCTIONS}
    tables["random"] = draw_table(tb.rng_coef, spec)
    ii = spec.initiation_interval
    for name, T in tables.items():
        await tb.load(Ws, bs, S, T)
        _, hs, masks = tb.golden.layers_at(X, 0)
        assert (hs[0] == X).all() and not any(m.any() for m in masks), "hidden units must be the inputs"
        words, _ = tb.golden.force_at(X, 0)
        a = words[:, :2]
        assert (hs[1] == a).all(), "force codes must be the activations"
        sb = af.width - spec.table_bits
        start = ((codes + (1 << (af.width - 1))) & ((1 << sb) - 1)) == 0
        d = spec.table_frac - af.frac_bits
        seg = (codes[start] + (1 << (af.width - 1))) >> sb
        assert (a[start, 0] == shift_round(T[seg], d, spec.rounding)).all(), f"{name}: segment starts"
        begin = await tb.begin()
        schedule = ReadySchedule([(begin, 1)])
        plan = tb.plan_offers(X, [begin + m * ii for m in range(len(X))], HandshakeModel(spec, schedule))
        await tb.run(plan, schedule)
        assert len(plan.expected) == len(X)
        tb.log.info("table %s: %d codes, %d segments, exact", name, len(codes), 1 << spec.table_bits)
