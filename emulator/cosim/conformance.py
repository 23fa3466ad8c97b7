"""The demon-interface conformance regression (``demonloop regress``): cocotb tests that any demon
meeting ``rtl/INTERFACE.md`` must pass, run inside the simulator on the testbench top around the
project's demon or a user's (:mod:`demonloop.cosim.rtl`).

The tests observe rather than predict: monitors record every input and output handshake (the
testbench top's strobes), and the checks are the contract's:

- every accepted input word is answered by exactly one output word, in order; nothing else
  comes out;
- each output word equals the reference's (``--reference``: the golden model by default, whose
  latency is then also the contract; a user's model; or ``none``, the protocol only), the
  reference fed the accepted inputs in order (a stateful demon's state follows them);
- with the DAC always ready, the latency from input handshake to output handshake is the same
  for every word (and equals TIMING.LATENCY where the demon maps it);
- backpressure (``out_ready`` low) delays outputs and loses none; idle cycles between inputs
  change nothing;
- a word offered for one cycle while the demon is not ready is dropped (no handshake) and, where
  the demon has counters, counted in CNT_DROP;
- reset in the middle of a stream: nothing accepted before it comes out after it, and the demon
  works again once configured;
- with the AXI4-Lite port: CTRL.ENABLE gates the input (nothing accepted, nothing counted while
  it is 0) and reads back; counters, where mapped, count what the monitors saw and CTRL.CLEAR
  zeroes them.

Every test starts from reset and configures the demon as the co-simulation does (the demon
kind's bus loading of the config's compiled program, then CTRL = ENABLE | CLEAR); a demon without
the bus must come out of reset ready. The job (config, reference, whether the bus is there,
vectors) arrives as JSON in ``DEMONLOOP_REGRESS_JOB``, the seed in ``DEMONLOOP_SEED``.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import Event, SimTimeoutError, with_timeout
from cocotbext.axi import AxiResp

from demonloop import demon, workloads
from demonloop.config import validate_config
from demonloop.cosim.reference import Reference
from demonloop.cosim.testbench import DemonTop, Fire, ReadySchedule, backpressure, draw_inputs, idle_gaps, pack
from demonloop.demon import regs

#: Cycles without a handshake after which a stream is over (missing outputs are then a failure).
SLACK_CYCLES = 20_000


@dataclass
class Observed:
    """What the monitors saw during one stream."""

    inputs: list[Fire] = field(default_factory=list)
    outputs: list[Fire] = field(default_factory=list)


class Conformance:
    """One test's demon: the testbench handle, the job, the reference, the random streams.

    With the bus, the demon is loaded with random coefficients of ``family`` where its kind
    draws them (the linear unit: :func:`demonloop.cosim.testbench.draw_coefficients`), else
    with the config's compiled program; without it, the config's program is what its parameters
    must hold."""

    def __init__(self, dut, tag: str, family: str = "inrange"):
        job = json.loads(os.environ["DEMONLOOP_REGRESS_JOB"])
        cfg = validate_config(job["config"], base_dir=job.get("base_dir"))
        compiled = workloads.of(cfg).compile(cfg)
        self.spec = compiled.spec
        self.kind = demon.for_spec(self.spec)
        self.reference = Reference.from_json(job.get("reference"))
        self.has_axi = bool(job.get("has_axi", True))
        self.vectors = int(job.get("vectors", 2000))
        self.top = DemonTop(dut, self.spec)
        self.seed = int(os.environ.get("DEMONLOOP_SEED", "1"))
        self.rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(tag.encode()),)))
        drawn = self.kind.random_program(self.spec, self.rng, family) if self.has_axi else None
        self.program = drawn or compiled
        self.log = cocotb.log
        self.log.info("seed %d (replay: DEMONLOOP_SEED=%d), test %s, reference %s, bus %s", self.seed, self.seed,
                      tag, self.reference.name, "yes" if self.has_axi else "no")

    # ---- set-up ------------------------------------------------------------------------------
    async def start(self) -> None:
        self.top.out_ready.value = 1
        self.top.in_valid.value = 0
        await self.top.reset()
        await self.configure()

    async def configure(self) -> None:
        if self.has_axi:
            await self.kind.load(self.top, self.program)
            await self.top.clear_counters(enable=True)

    async def read_optional(self, offset: int) -> int | None:
        """A register's value, or None where the demon has no bus or does not map it."""
        if not self.has_axi:
            return None
        value, resp = await self.top.read(offset)
        return value if resp == AxiResp.OKAY else None

    async def counters(self) -> dict[str, int] | None:
        out = {}
        for r in (regs.CNT_IN, regs.CNT_OUT, regs.CNT_DROP):
            v = await self.read_optional(r.offset)
            if v is None:
                return None
            out[r.name] = v
        return out

    def inputs(self, count: int) -> np.ndarray:
        return draw_inputs(self.rng, self.spec, count)

    # ---- driving and watching ----------------------------------------------------------------
    async def stream(self, X: np.ndarray, gaps: np.ndarray | None = None, ready: ReadySchedule | None = None,
                     offers: list[int] | None = None) -> Observed:
        """Present the words ``X``: held until accepted (``gaps[m]`` idle cycles before word m), or
        offered for exactly one cycle each at ``offers[m]``; ``out_ready`` follows ``ready``.
        Returns the handshakes seen until every accepted word is answered (or a deadline)."""
        top = self.top
        obs = Observed()
        done = Event()
        sent = {"accepted": None}          # how many words were accepted, once the driver knows
        words = [pack(x, self.spec.x_bits) for x in X]

        def settled():
            if sent["accepted"] is not None and len(obs.outputs) >= sent["accepted"]:
                done.set()

        async def watch_in():
            while True:
                obs.inputs.append(await top.next_input())

        async def watch_out():
            while True:
                obs.outputs.append(await top.next_output())
                settled()

        async def drive_ready():
            for start, v in (ready.segments if ready else []):
                await top.before_edge(start)
                top.out_ready.value = v

        async def drive():
            if offers is not None:
                prev = None
                for c, w in zip(offers, words):
                    if prev is not None and c != prev + 1:
                        await top.before_edge(prev + 1)
                        top.in_valid.value = 0
                    await top.before_edge(c)
                    top.in_data.value = w
                    top.in_valid.value = 1
                    prev = c
                if prev is not None:
                    await top.before_edge(prev + 1)
                    top.in_valid.value = 0
                    await top.before_edge(prev + 2)      # the monitor has seen the last offer's edge
                sent["accepted"] = len(obs.inputs)
            else:
                g = np.zeros(len(words), dtype=np.int64) if gaps is None else gaps
                c = top.cycle_now() + 2
                for m, w in enumerate(words):
                    await top.before_edge(c + int(g[m]))
                    top.in_data.value = w
                    top.in_valid.value = 1
                    await top.in_fire_toggle.value_change
                    top.in_valid.value = 0
                    c = top.cycle_now() + 1
                sent["accepted"] = len(words)
            settled()

        tasks = [cocotb.start_soon(f()) for f in (watch_in, watch_out, drive_ready, drive)]
        # wait while anything moves: a slow demon is not a failure, a stuck one is
        progress = None
        while True:
            try:
                await with_timeout(done.wait(), top.period * SLACK_CYCLES, "step")
                break
            except SimTimeoutError:
                now = (len(obs.inputs), len(obs.outputs))
                if now == progress:
                    break
                progress = now
        # quiet cycles: nothing more may come out
        await top.before_edge(top.cycle_now() + 32 + 2 * self.spec.latency_cycles)
        for t in tasks:
            t.cancel()
        top.in_valid.value = 0
        top.out_ready.value = 1
        return obs

    def check_answers(self, obs: Observed, what: str) -> list[int]:
        """Every accepted word answered once, in order, as the reference says; returns the latencies."""
        ins, outs = obs.inputs, obs.outputs
        assert len(outs) == len(ins), (
            f"{what}: {len(ins)} words accepted, {len(outs)} answered"
            + (" (outputs were lost or never came)" if len(outs) < len(ins) else " (outputs nobody asked for)"))
        model = self.reference.model(self.program)
        n = self.spec.n
        for i, (a, b) in enumerate(zip(ins, outs)):
            assert b.cycle > a.cycle, f"{what}: output {i} at cycle {b.cycle}, before or at its input's ({a.cycle})"
            if model is None:
                continue
            X = _unpack_in(a.word, n, self.spec.x_bits)
            F, _ = model(X[None, :])
            want = self.kind.pack_out(self.spec, F[0].astype(np.int64))
            if b.word != want:
                got = self.kind.unpack_out(self.spec, b.word)
                exp = self.kind.unpack_out(self.spec, want)
                bad = np.flatnonzero(got != exp)
                raise AssertionError(f"{what}: output {i} (input accepted at cycle {a.cycle}) differs from "
                                     f"{self.reference.name} in channels {bad.tolist()}: got {got[bad].tolist()}, "
                                     f"expected {exp[bad].tolist()} (x = {X.tolist()})")
        return [b.cycle - a.cycle for a, b in zip(ins, outs)]


def _unpack_in(word: int, n: int, bits: int) -> np.ndarray:
    from demonloop.demon.base import unpack

    return unpack(word, n, bits)


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------

STREAM_CASES = [(None, None), ("random", None), (None, "random"), ("random", "random")]


@cocotb.test()
async def vectors(dut):
    """Random and corner inputs at full rate: every word answered, in order, as the reference says,
    with one latency (the golden model's with the golden reference; TIMING.LATENCY where mapped)."""
    t = Conformance(dut, "vectors", family="full")
    await t.start()
    obs = await t.stream(t.inputs(t.vectors))
    lat = t.check_answers(obs, "vectors")
    assert len(obs.inputs) == t.vectors, f"{len(obs.inputs)} of {t.vectors} held words were accepted"
    assert len(set(lat)) == 1, f"the latency varies with the DAC always ready: {sorted(set(lat))[:8]} cycles"
    if t.reference.timing:
        assert lat[0] == t.spec.latency_cycles, (
            f"latency {lat[0]} cycles, the golden model's is {t.spec.latency_cycles}")
    timing = await t.read_optional(regs.TIMING_OFFSET)
    if timing is not None:
        assert regs.TIMING.field("LATENCY").get(timing) == lat[0], "TIMING.LATENCY differs from the measured latency"
    cnt = await t.counters()
    if cnt is not None:
        assert cnt["CNT_IN"] == cnt["CNT_OUT"] == t.vectors, f"counters {cnt} after {t.vectors} words"


@cocotb.test()
@cocotb.parametrize((("idle_inserter", "backpressure_inserter"), STREAM_CASES))
async def idle_and_backpressure(dut, idle_inserter, backpressure_inserter):
    """Idle cycles between words and random out_ready stalls: nothing lost, duplicated or reordered,
    every answer still the reference's."""
    t = Conformance(dut, f"stream-{idle_inserter}-{backpressure_inserter}")
    await t.start()
    count = max(50, t.vectors // 8)
    latency = max(2, t.spec.latency_cycles)
    gaps = idle_gaps(t.rng, idle_inserter, count, latency)
    start = t.top.cycle_now()
    horizon = start + int(count * (latency + 2) + gaps.sum() + 64)
    ready = backpressure(t.rng, backpressure_inserter, start, horizon, latency)
    obs = await t.stream(t.inputs(count), gaps=gaps, ready=ready)
    t.check_answers(obs, f"idle {idle_inserter}, backpressure {backpressure_inserter}")
    assert len(obs.inputs) == count, f"{len(obs.inputs)} of {count} held words were accepted"


@cocotb.test()
async def offers_while_busy(dut):
    """Words offered for one cycle each, at random times, some while the demon is busy: those are
    dropped (no handshake, counted in CNT_DROP where mapped); every accepted one answered."""
    t = Conformance(dut, "offers")
    await t.start()
    count = max(60, t.vectors // 10)
    spacing = t.rng.integers(1, 2 * max(2, t.spec.latency_cycles), size=count)
    first = t.top.cycle_now() + 4
    offers = (first + np.cumsum(spacing)).tolist()
    obs = await t.stream(t.inputs(count), offers=offers)
    t.check_answers(obs, "one-cycle offers")
    accepted = {f.cycle for f in obs.inputs}
    assert accepted <= set(offers), "a word was accepted at a cycle nobody offered one"
    assert 0 < len(accepted), "no offered word was accepted"
    cnt = await t.counters()
    if cnt is not None:
        assert cnt == {"CNT_IN": len(accepted), "CNT_OUT": len(accepted), "CNT_DROP": count - len(accepted)}, (
            f"counters {cnt}: {len(accepted)} accepted and {count - len(accepted)} refused offers seen")


@cocotb.test()
async def reset_mid_stream(dut):
    """Reset with words in flight and outputs held back: nothing accepted before the reset comes
    out after it; configured again, the demon answers a new stream correctly."""
    t = Conformance(dut, "reset")
    await t.start()
    top = t.top
    latency = max(2, t.spec.latency_cycles)
    top.out_ready.value = 0                   # hold the first answer back, keep a word in flight
    seen: list[Fire] = []

    async def watch_out():
        while True:
            seen.append(await top.next_output())

    watcher = cocotb.start_soon(watch_out())
    X = t.inputs(3)
    c = top.cycle_now() + 2
    for x in X[:2]:
        await top.before_edge(c)
        top.in_data.value = pack(x, t.spec.x_bits)
        top.in_valid.value = 1
        c += latency + 3
    await top.before_edge(c)
    top.in_valid.value = 0
    await top.reset_at(c + int(t.rng.integers(1, latency + 1)), 3)
    await top.before_edge(1)
    top.out_ready.value = 1
    await top.before_edge(4 * latency + 40)
    watcher.cancel()
    assert not seen, f"{len(seen)} output(s) came out of reset: words accepted before it were answered after it"
    await t.configure()
    obs = await t.stream(t.inputs(40))
    t.check_answers(obs, "after the reset")
    cnt = await t.counters()
    if cnt is not None:
        assert cnt["CNT_IN"] == cnt["CNT_OUT"] == 40, f"counters after reset and 40 words: {cnt}"


@cocotb.test()
async def registers(dut):
    """With the bus: CTRL.ENABLE reads back and gates the input (nothing accepted or counted while
    it is 0); CTRL.CLEAR zeroes the counters. Without it: the demon is ready out of reset."""
    t = Conformance(dut, "registers")
    await t.start()
    top = t.top
    if not t.has_axi:
        obs = await t.stream(t.inputs(8))
        t.check_answers(obs, "a demon without the bus, out of reset")
        return
    enable = regs.CTRL.field("ENABLE")
    await top.write_ok(regs.CTRL_OFFSET, enable.put(0))
    value, resp = await top.read(regs.CTRL_OFFSET)
    assert resp == AxiResp.OKAY and enable.get(value) == 0, f"CTRL reads {value:#x} ({resp!r}) after ENABLE=0"
    before = await t.counters()
    first = top.cycle_now() + 4
    obs = await t.stream(t.inputs(6), offers=[first + 3 * i for i in range(6)])
    assert not obs.inputs, f"{len(obs.inputs)} words accepted while CTRL.ENABLE = 0"
    after = await t.counters()
    if before is not None:
        assert after == before, f"counters moved while disabled: {before} -> {after}"
    await top.write_ok(regs.CTRL_OFFSET, enable.put(1))
    value, _ = await top.read(regs.CTRL_OFFSET)
    assert enable.get(value) == 1, f"CTRL reads {value:#x} after ENABLE=1"
    obs = await t.stream(t.inputs(8))
    t.check_answers(obs, "enabled again")
    if after is not None:
        await top.clear_counters(enable=True)
        cleared = await t.counters()
        assert cleared == {"CNT_IN": 0, "CNT_OUT": 0, "CNT_DROP": 0}, f"counters after CTRL.CLEAR: {cleared}"
