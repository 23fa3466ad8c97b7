"""The emulated analog array, with its converters and clock timeline, as a cocotb component for
your own testbench (in the style of cocotbext-axi): attach it to your demon's clock and streams,
give it a demonloop config, and await a run::

    import cocotb
    from cocotb.clock import Clock
    from demonloop.cocotb import AnalogArray, StreamBus

    @cocotb.test()
    async def closed_loop(dut):
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        array = AnalogArray(dut.clk, StreamBus.from_prefix(dut, "adc"), StreamBus.from_prefix(dut, "dac"),
                            "gauss8_digital.yaml", overrides={"run.samples": 300})
        await array.reset(dut.rst)
        # configure your demon with array.program (e.g. A_raw, b_raw) over your own bus, enable it
        report = await array.run(reference="model.py:serial_model")
        assert report["bit_exact"], report["mismatch"]

The component drives the ADC stream (``in``: one word per sample, valid for exactly the one
cycle its sample reaches the demon, ``adc.latency_cycles`` after it was taken: the ADC cannot
wait) and is the DAC (``out``: always ready; a word applies ``dac.latency_cycles`` after its
handshake), and steps the plant exactly between events, as ``demonloop run --demon <simulator>``
does. Clock cycle ``base + k`` is timeline cycle ``k``. ``run`` returns the same report as
``demonloop run --json`` (``codes_sha256``, the workload's ``metrics``, counters), with
``reference`` and, when one checked the outputs, ``bit_exact`` and the first ``mismatch``:

- ``reference="golden"``: each answer equals the golden model's codes, at the golden latency;
- ``reference="none"``: nothing compared, the demon's own answers drive the plant;
- ``"MODULE:FUNCTION"`` or a callable ``factory(program) -> model``: each answer equals
  ``model(X)`` (see :mod:`demonloop.cosim.reference`).

Answers are paired with the words the demon accepted, in order (the contract: one answer per
accepted word, ``rtl/INTERFACE.md``); the monitor wakes on the output's valid, so a run costs a few
wakes per sample, not one per clock cycle.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from demonloop import demon, workloads
from demonloop.api import load_config
from demonloop.cosim.reference import GOLDEN, NONE, Reference, parse_reference
from demonloop.demon.base import pack
from demonloop.loop import Loop, chain_seed, replay_estimator
from demonloop.report import build_report

__all__ = ["AnalogArray", "StreamBus"]

#: Cycles between the start of a chain and its cycle 0.
START_MARGIN = 4
#: Cycles a run waits after its end for the answers to its last accepted samples.
DRAIN_CYCLES = 1 << 16


@dataclass(frozen=True)
class StreamBus:
    """A valid/ready stream's three handles."""

    valid: Any
    ready: Any
    data: Any

    @classmethod
    def from_prefix(cls, dut, prefix: str) -> "StreamBus":
        """``{prefix}_valid``, ``{prefix}_ready``, ``{prefix}_data`` of ``dut``."""
        return cls(*(getattr(dut, f"{prefix}_{s}") for s in ("valid", "ready", "data")))


class _Factory:
    """A callable reference factory wrapped as a :class:`Reference`."""

    def __init__(self, factory: Callable):
        self.factory = factory
        self.name = getattr(factory, "__qualname__", repr(factory))
        self.checks, self.timing = True, False

    def model(self, program):
        user = self.factory(program)

        def force(X):
            return np.asarray(user(np.asarray(X, dtype=np.int64))).astype(np.float64).reshape(1, -1), 0

        return force


class AnalogArray:
    """The plant of ``config`` (a path, a bundled name, a dict or a Config; ``overrides`` as
    ``--set``) on your demon's ``clock``, ADC stream ``inp`` and DAC stream ``out``.

    ``program``: the compiled hardware program (what your demon must be loaded with: for the
    linear unit ``A_raw``, ``b_raw``, ``spec``); ``config``: the validated config."""

    def __init__(self, clock, inp: StreamBus, out: StreamBus, config, overrides: Mapping[str, Any] | None = None,
                 base_dir=None):
        self.clock = clock
        self.inp = inp
        self.out = out
        self.config = load_config(config, overrides=overrides, base_dir=base_dir)
        self.workload = workloads.of(self.config)
        self.program = self.workload.compile(self.config)
        self.spec = self.program.spec
        self.kind = demon.for_spec(self.spec)
        self.inp.valid.value = 0
        self.out.ready.value = 1          # the DAC is always ready
        self.period: int | None = None
        self.t0: int | None = None

    # ---- the clock --------------------------------------------------------------------------
    async def _anchor(self) -> None:
        """Measure the clock period and anchor edge 0 at the next rising edge."""
        from cocotb.simtime import get_sim_time

        await RisingEdge(self.clock)
        a = get_sim_time("step")
        await RisingEdge(self.clock)
        self.period = get_sim_time("step") - a
        self.t0 = get_sim_time("step")

    def _edge_now(self) -> int:
        from cocotb.simtime import get_sim_time

        return (get_sim_time("step") - self.t0) // self.period

    async def _before_edge(self, e: int) -> None:
        from cocotb.simtime import get_sim_time

        dt = self.t0 + e * self.period - self.period // 2 - get_sim_time("step")
        if dt > 0:
            await Timer(dt, unit="step")

    async def reset(self, rst, cycles: int = 4, active_high: bool = True) -> None:
        """Hold ``rst`` for ``cycles`` clock cycles (synchronous reset, as the contract has it)."""
        rst.value = int(active_high)
        for _ in range(cycles):
            await RisingEdge(self.clock)
        rst.value = int(not active_high)
        await RisingEdge(self.clock)

    # ---- a run ------------------------------------------------------------------------------
    async def run(self, reference: str | Callable | None = "golden", chains: int = 1, seed: int | None = None) -> dict:
        """Run ``chains`` chains one after another (chain 0 seeded with the config's seed, or
        ``seed``) and return the report."""
        ref = _reference(reference)
        if self.period is None:
            await self._anchor()
        seed = self.config.seed if seed is None else int(seed)
        t_start = time.perf_counter()
        chains_out = []
        for c in range(chains):
            chains_out.append(await self._chain(c, seed, ref))
            if chains_out[-1]["mismatch"] is not None:
                break
        wall = time.perf_counter() - t_start
        mismatch = next((r["mismatch"] for r in chains_out if r["mismatch"] is not None), None)
        first = chains_out[0]["loop"]
        if mismatch is None:
            est = replay_estimator(self.program, [r["codes"] for r in chains_out])
        else:
            est = self.workload.estimator(self.program, 1)
        latencies = sorted(set().union(*(r["latencies"] for r in chains_out)))
        t = first.timing
        extra = {"reference": ref.name, "mismatch": mismatch, "simulator": "cocotb",
                 "demon_latency_measured": latencies,
                 "outputs": sum(r["outputs"] for r in chains_out),
                 "outputs_checked": sum(r["outputs"] for r in chains_out) if ref.checks else 0,
                 "unanswered_inputs": sum(r["unanswered"] for r in chains_out),
                 "rtl_counters": None, "streamed_chains": len(chains_out),
                 "latency_cycles": t.adc_latency + latencies[0] + t.dac_latency if len(latencies) == 1 else None}
        if ref.checks:
            extra["bit_exact"] = mismatch is None
        rep = build_report(self.config.with_overrides({"chains": len(chains_out)}) if len(chains_out) != self.config.chains
                           else self.config, self.program, first, est, demon="cocotb", wall_s=wall, extra=extra)
        rep["seed"] = seed
        rep["n_updates"] = sum(r["loop"].counters.accepted for r in chains_out)
        rep["dropped_samples"] = sum(r["loop"].counters.dropped for r in chains_out)
        for key in ("adc_clipped", "dac_saturated", "rail_clipped"):
            rep[key] = sum(getattr(r["loop"].plant.counters, key) for r in chains_out)
        self.estimator = est
        return rep

    async def _chain(self, c: int, seed: int, ref) -> dict:
        cfg, program, spec = self.config, self.program, self.spec
        loop = Loop(program, 1, chain_seed(seed, c), instance_seed=seed)
        model = ref.model(program)
        t = loop.timing
        total = cfg.total_samples
        base = self._edge_now() + START_MARGIN
        codes = np.zeros((total, cfg.n), dtype=np.int64)
        accepted: deque = deque()            # (edge, sample) of the words the demon took
        answers: deque = deque()             # (edge, word) of its answers, not yet checked
        out = {"loop": loop, "codes": codes, "mismatch": None, "latencies": set(), "outputs": 0,
               "unanswered": 0}

        async def monitor():
            # outputs change only at rising edges: read them half a cycle before the next one, and
            # sleep until valid changes while it is low
            valid, word = self.out.valid, self.out.data
            e = None
            while True:
                if e is None:
                    if not int(valid.value):
                        await valid.value_change
                    e = self._edge_now() + 1
                await self._before_edge(e)
                if int(valid.value):
                    answers.append((e, int(word.value)))     # the DAC is always ready: a handshake
                    e += 1
                else:
                    e = None

        def fail(info):
            if out["mismatch"] is None:
                out["mismatch"] = {"chain": c, **info}

        def settle():
            while answers and out["mismatch"] is None:
                edge, word = answers.popleft()
                cy = edge - base
                got = self.kind.unpack_out(spec, word)
                if not accepted:
                    fail({"kind": "unexpected output", "cycle": cy, "rtl_codes": got.tolist()})
                    return
                e_in, m = accepted.popleft()
                lat = edge - e_in
                out["latencies"].add(lat)
                if ref.timing and lat != t.demon_latency:
                    fail({"kind": "timing", "cycle": cy, "expected_cycle": e_in - base + t.demon_latency,
                          "sample": m, "adc_input": codes[m].tolist()})
                    return
                if model is not None:
                    F, _ = model(codes[m][None, :])
                    want = F[0].astype(np.int64)
                    if len(want) != len(got) or np.any(got != want):
                        diff = np.flatnonzero(got != want) if len(want) == len(got) else np.array([0])
                        j = int(diff[0])
                        fail({"kind": "code", "cycle": cy, "sample": m, "channel": j, "rtl_code": int(got[j]),
                              "golden_code": int(want[j]) if j < len(want) else None, "rtl_codes": got.tolist(),
                              "golden_codes": want.tolist(), "adc_input": codes[m].tolist(), "reference": ref.name})
                        return
                out["outputs"] += 1
                loop.deliver(cy, got[None, :].astype(np.float64))

        task = cocotb.start_soon(monitor())
        for m in range(total):
            k = t.sample_cycle(m)
            e_in = base + k + t.adc_latency
            await self._before_edge(e_in)
            settle()
            if out["mismatch"] is not None:
                break
            k, X = loop.observe()
            codes[m] = X[0].astype(np.int64)
            predicted = loop.offer(k) if ref.timing else None
            self.inp.data.value = pack(codes[m], spec.x_bits)
            self.inp.valid.value = 1
            await ReadOnly()
            took = bool(int(self.inp.ready.value))      # what edge e_in samples
            await Timer(self.period, unit="step")        # half a cycle after it
            self.inp.valid.value = 0
            if took:
                accepted.append((e_in, m))
            if ref.timing and took != (predicted is not None):
                fail({"kind": "acceptance", "cycle": k + t.adc_latency, "sample": m,
                      "rtl_accepted": took, "golden_accepted": predicted is not None})
                break
        # drain: the answers to the last accepted samples (after the end: in the code stream only)
        end = loop.end_cycle
        edge = base + end
        limit = edge + DRAIN_CYCLES
        while out["mismatch"] is None and (accepted or answers) and edge < limit:
            await self._before_edge(edge)
            settle()
            edge += t.sample_period
        task.cancel()
        if out["mismatch"] is None:
            loop.flush(end)
        if not ref.timing:
            loop.counters.accepted = out["outputs"] + len(accepted)
            loop.counters.dropped = loop.counters.samples - loop.counters.accepted
        out["unanswered"] = len(accepted)
        return out


def _reference(reference) -> Reference | _Factory:
    if reference is None:
        return NONE
    if callable(reference):
        return _Factory(reference)
    return parse_reference(reference) if reference != "golden" else GOLDEN
