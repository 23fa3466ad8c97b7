"""The closed loop with the RTL demon: a cocotb test run inside the simulator by :mod:`demonloop.cosim.run`.

The plant (analog array, converters, timeline) is the same :class:`demonloop.loop.Loop` the
golden run uses; here the Verilog demon computes the force (the linear unit, or the score
network with its schedule: the output word then carries the two analog control codes, which the
plant applies like the force). HDL cycle ``base + k`` is timeline cycle ``k``. Python wakes once
per sample (one Timer, never per clock edge), at the sample's *observation point*, half a period
before HDL edge ``base + k_m - L_dac``:

- every output handshake at an earlier edge has happened; the testbench top holds the latest
  one (its cycle, word and HDL-measured latency) and a count, which shows that at most one
  output came since the last look, as it must (inputs are a sample period apart, latency fixed);
  it is checked against the golden model, cycle for cycle and code for code, and delivered to
  the DAC; on the first difference the run stops and the report names the cycle, the channel,
  both codes and the ADC input that caused them;
- the plant advances to ``k_m`` and converts; the ADC word is handed to the testbench's input
  scheduler, which presents it on the stream for exactly edge ``base + k_m + L_adc`` (the ADC
  cannot wait: if the demon is not ready then, the RTL drops and counts it by its own rule).

Several chains run back to back (the hardware runs one at a time): chain ``c`` has its own
plant seeded by :func:`demonloop.report.chain_seed` (chain 0 is the config's seed, so one chain is
exactly ``demonloop run --chains 1``), the score network's step counter is reset between chains,
and the workload is scored on all of them at the end.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import Timer

from demonloop import demon, workloads
from demonloop.config import validate_config
from demonloop.cosim.testbench import DemonTop, pack
from demonloop.demon import regs
from demonloop.loop import Loop, chain_seed, replay_estimator
from demonloop.report import build_report, write_json

#: Cycles between the end of the bus configuration (or of the previous chain) and cycle 0.
START_MARGIN = 4


@dataclass
class ChainResult:
    loop: Loop
    codes: np.ndarray                     # (samples, n) ADC codes, int64
    outputs: int = 0
    latencies: set = field(default_factory=set)
    mismatch: dict | None = None
    python_s: float = 0.0


class RTLDriver:
    """Drives the :class:`~demonloop.loop.Loop` with the RTL demon computing the force:
    configuration over the bus, then chains one after another, every output checked against the
    golden model."""

    def __init__(self, top: DemonTop, program, simulator: str):
        self.top = top
        self.program = program
        self.cfg = program.config
        self.simulator = simulator
        self.spec = program.spec
        self.kind = demon.for_spec(program.spec)
        self.n = self.cfg.n
        self._timers: dict[int, Timer] = {}      # the run loop's own (DemonTop.until)
        self.profile = None
        if os.environ.get("DEMONLOOP_COSIM_PROFILE"):
            import cProfile
            self.profile = cProfile.Profile()

    async def configure(self) -> int:
        """Load the demon over AXI4-Lite, as firmware would; returns the TIMING register's latency."""
        top = self.top
        await self.kind.load(top, self.program)
        timing_word = await top.read_ok(regs.TIMING_OFFSET)
        await top.clear_counters(enable=True)
        return regs.TIMING.field("LATENCY").get(timing_word)

    def _pack_out(self, codes: np.ndarray) -> int:
        """The output word the RTL delivers for golden ``codes`` (n_out,)."""
        return self.kind.pack_out(self.spec, codes)

    def _unpack(self, word: int) -> np.ndarray:
        return self.kind.unpack_out(self.spec, word)

    async def run_chain(self, c: int, reset_step: bool = True) -> ChainResult:
        """Run chain c against the golden model. With ``reset_step`` (the co-simulation's own
        driver) the demon kind's per-chain bus writes come first (a score demon's schedule step
        reset); firmware in the loop passes False, since the bus is the firmware's."""
        top, program, cfg = self.top, self.program, self.cfg
        if reset_step:
            await self.kind.start_chain(top)
        loop = Loop(program, 1, chain_seed(cfg.seed, c), instance_seed=cfg.seed)
        golden = program.demon()
        golden.reset()
        t = loop.timing
        total = cfg.total_samples
        res = ChainResult(loop=loop, codes=np.zeros((total, self.n), dtype=np.int64))
        base = top.cycle_now() + START_MARGIN
        # (hdl out cycle, packed word, codes (1, n_out) float64, X (n,), sample index)
        expected: deque = deque()
        seen = {"count": top.output_count()}
        pack_out = self._pack_out
        x_bits = self.spec.x_bits
        t_adc, t_dem = t.adc_latency, t.demon_latency

        def fail(info):
            if res.mismatch is None:
                res.mismatch = {"chain": c, **info}

        def collect():
            count, cyc, word, lat = top.output_status()
            new = count - seen["count"]
            if new == 0 or res.mismatch is not None:
                return
            seen["count"] = count
            cy = cyc - base
            if new > 1:
                fail({"kind": "several outputs in one sample period", "cycle": cy, "outputs": new,
                      "rtl_codes": self._unpack(word).tolist()})
                return
            if not expected:
                fail({"kind": "unexpected output", "cycle": cy, "rtl_codes": self._unpack(word).tolist()})
                return
            c_exp, w_exp, F, X, m = expected.popleft()
            res.latencies.add(lat)
            if cyc != c_exp or word != w_exp:
                # equal words are equal codes; only a difference is unpacked, for the report
                codes = self._unpack(word)
                F_exp = F[0].astype(np.int64)
                diff = np.nonzero(codes != F_exp)[0]
                j = int(diff[0]) if len(diff) else 0
                fail({
                    "kind": "code" if cyc == c_exp else "timing",
                    "cycle": cy, "expected_cycle": c_exp - base, "sample": m, "channel": j,
                    "rtl_code": int(codes[j]), "golden_code": int(F_exp[j]),
                    "rtl_codes": codes.tolist(), "golden_codes": F_exp.tolist(),
                    "adc_input": X.tolist(),
                })
                return
            res.outputs += 1
            loop.deliver(cy, F)     # the golden codes: the RTL's word was just found equal to them

        for m in range(total):
            k = t.sample_cycle(m)
            edge = base + k - t.dac_latency
            # One wake per sample, half a period before `edge`: every output handshake at an
            # earlier edge has happened, so every DAC update due before cycle k is known.
            await top.before_edge(edge, self._timers)
            tw = time.perf_counter()
            if self.profile:
                self.profile.enable()
            collect()
            _check_missing(expected, edge, base, fail)
            if res.mismatch is not None:
                break
            k, X = loop.observe()
            Xi = X[0].astype(np.int64)
            res.codes[m] = Xi
            t_in = loop.offer(k)
            if t_in is not None:
                F, n_ovf = golden.force_count(X)          # the same integers as golden.force
                loop.counters.demon_overflows += n_ovf
                expected.append((base + t_in + t_dem, pack_out(F[0]), F, Xi, m))
            top.schedule_input(base + k + t_adc, pack(Xi, x_bits))
            if self.profile:
                self.profile.disable()
            res.python_s += time.perf_counter() - tw

        # drain: the last outputs, then the end of the run
        end = loop.end_cycle
        if res.mismatch is None:
            last = max([e[0] for e in expected], default=base) + 1
            await top.before_edge(max(last, base + end - t.dac_latency))
            collect()
            _check_missing(expected, base + end, base, fail)
        if res.mismatch is None:
            loop.flush(end)
        return res


@cocotb.test()
async def closed_loop(dut):
    job = json.loads(os.environ["DEMONLOOP_COSIM_JOB"])
    cfg = validate_config(job["config"], base_dir=job.get("base_dir"))
    program = workloads.of(cfg).compile(cfg)
    chains = int(job.get("chains", 1))
    top = DemonTop(dut, program.spec)
    top.out_ready.value = 1          # the DAC is always ready
    await top.reset()
    runner = RTLDriver(top, program, job["simulator"])
    rtl_latency = await runner.configure()

    t0 = time.perf_counter()
    results: list[ChainResult] = []
    for c in range(chains):
        r = await runner.run_chain(c)
        results.append(r)
        if r.mismatch is not None:
            break
    wall = time.perf_counter() - t0
    if str(top.sched_late.value) == "1" and results[-1].mismatch is None:
        results[-1].mismatch = {"kind": "testbench: an input was scheduled after its cycle"}

    rtl = await top.counters()
    c0 = results[0].loop
    golden_counters = {"CNT_IN": sum(r.loop.counters.accepted for r in results),
                       "CNT_OUT": sum(r.outputs for r in results),
                       "CNT_DROP": sum(r.loop.counters.dropped for r in results),
                       "CNT_SAT": sum(r.loop.counters.demon_overflows for r in results)}
    mismatch = next((r.mismatch for r in results if r.mismatch is not None), None)
    measured = sorted(set().union(*(r.latencies for r in results)))
    t = c0.timing
    cycles = sum(r.loop.end_cycle + START_MARGIN for r in results)
    outputs = sum(r.outputs for r in results)
    if mismatch is None:
        est = replay_estimator(program, [r.codes for r in results])
    else:
        est = workloads.of(cfg).estimator(program, 1)
    extra = {
        "bit_exact": mismatch is None and rtl == golden_counters,
        "mismatch": mismatch,
        "rtl_counters": rtl,
        "golden_counters": golden_counters,
        "rtl_latency_register": rtl_latency,
        "demon_latency_measured": measured,
        "latency_predicted": t.loop_latency,
        "outputs_checked": outputs,
        "simulator": job["simulator"],
        "streamed_chains": len(results),
        "codes_sha256_all": _all_hash(results),
        "sim_cycles_per_s": cycles / wall if wall > 0 else None,
        "updates_per_s": outputs / wall if wall > 0 else None,
        "python_us_per_update": sum(r.python_s for r in results) / max(1, outputs) * 1e6,
        "latency_cycles": t.adc_latency + measured[0] + t.dac_latency if len(measured) == 1 else None,
    }
    rep = build_report(cfg, program, c0, est, demon=job["simulator"], wall_s=wall, extra=extra)
    rep["chains"] = len(results)
    rep["n_updates"] = sum(r.loop.counters.accepted for r in results)
    rep["dropped_samples"] = golden_counters["CNT_DROP"]
    rep["demon_overflows"] = golden_counters["CNT_SAT"]
    for key in ("adc_clipped", "dac_saturated", "rail_clipped"):
        rep[key] = sum(getattr(r.loop.plant.counters, key) for r in results)
    write_json(job["result"], rep)
    if job.get("codes"):
        np.save(job["codes"], np.stack([r.codes for r in results], axis=1))
    if job.get("plot") and mismatch is None:
        workloads.of(cfg).plot(rep, est, job["plot"], f"{cfg.name} — {job['simulator']} demon, {len(results)} chain(s)")
    if runner.profile:
        import pstats
        pstats.Stats(runner.profile).sort_stats("tottime").print_stats(20)


def _all_hash(results) -> str:
    import hashlib

    h = hashlib.sha256()
    for r in results:
        h.update(r.loop.hasher.hexdigest().encode())
    return h.hexdigest()


def _check_missing(expected, edge_limit, base, fail):
    """An expected output whose edge is before ``edge_limit`` and has not arrived: the RTL missed it."""
    if expected and expected[0][0] < edge_limit:
        c_exp, _, F, X, m = expected[0]
        fail({"kind": "missing output", "expected_cycle": c_exp - base, "sample": m,
              "golden_codes": F[0].astype(np.int64).tolist(), "adc_input": X.tolist()})
