"""The closed loop with the RTL demon: a cocotb test run inside the simulator by :mod:`demonloop.cosim.run`.

The plant (analog array, converters, timeline) is the same :class:`demonloop.loop.Loop` the
golden run uses; here the Verilog demon computes the force (the linear unit, or the score
network with its schedule: the output word then carries the two analog control codes, which the
plant applies like the force). HDL cycle ``base + k`` is timeline cycle ``k``. Python wakes once
per sample (one Timer, never per clock edge), at the sample's *observation point*, half a period
before HDL edge ``base + k_m - L_dac``:

- every output handshake at an earlier edge has happened; the testbench top holds the latest
  one (its cycle, word and HDL-measured latency) and a count, which shows that at most one
  output came since the last look, as it must (inputs are a sample period apart);
- the output is checked against the reference (:mod:`demonloop.cosim.reference`) and delivered to
  the DAC. With ``golden`` it is checked cycle for cycle and code for code against the golden
  model's prediction (which also says which samples the demon accepts); with a user's model,
  code for code, the RTL's own latency telling which sample it answers; with ``none``, not at
  all. On the first difference the run stops and the report names the cycle, the channel, both
  codes and the ADC input that caused them;
- the plant advances to ``k_m`` and converts; the ADC word is handed to the testbench's input
  scheduler, which presents it on the stream for exactly edge ``base + k_m + L_adc`` (the ADC
  cannot wait: if the demon is not ready then, the RTL drops it by its own rule).

Several chains run back to back (the hardware runs one at a time): chain ``c`` has its own
plant seeded by :func:`demonloop.loop.chain_seed` (chain 0 is the config's seed, so one chain is
exactly ``demonloop run --chains 1``), the demon kind's per-chain bus writes come first (the
score network's step reset), and the workload is scored on all of them at the end.

A demon without the AXI4-Lite port (``rtl/INTERFACE.md``) is not configured over the bus: it must
come out of reset ready, with what its parameters give it; its counters are not read.
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
from cocotbext.axi import AxiResp

from demonloop import demon, workloads
from demonloop.config import validate_config
from demonloop.cosim.reference import GOLDEN, Reference
from demonloop.cosim.testbench import BusTimeout, DemonTop, pack
from demonloop.demon import regs
from demonloop.loop import Loop, chain_seed, replay_estimator
from demonloop.report import build_report, write_json

#: Cycles between the end of the bus configuration (or of the previous chain) and cycle 0.
START_MARGIN = 4
#: Cycles a free run waits after its end for the answers to its last accepted samples.
DRAIN_CYCLES = 1 << 16


@dataclass
class ChainResult:
    loop: Loop
    codes: np.ndarray                     # (samples, n) ADC codes, int64
    outputs: int = 0
    latencies: set = field(default_factory=set)
    mismatch: dict | None = None
    python_s: float = 0.0
    unanswered: int = 0                   # accepted inputs the RTL never answered (free runs)
    refused: int = 0                      # samples offered while CTRL.ENABLE was 0 (with a control)
    # (sample index, run epoch) of every sample the demon accepted, in order: the capture FIFO's
    # sequence numbers; the epoch counts CTRL.ENABLE rising writes (with a control; else 0)
    accepted_m: list = field(default_factory=list)


class Control:
    """What the golden model needs to know of the firmware's run-time reconfiguration: for an
    input handshake at HDL edge ``edge``, whether CTRL.ENABLE is set and the reference model the
    demon computes with then (its coefficients as the firmware last wrote them). Queries come in
    non-decreasing edge order, at least :attr:`lag` cycles after the edge (so every bus write
    that took effect before it has been recorded). Implemented by
    :class:`demonloop.cosim.firmware_tb.RegisterShadow`."""

    lag: int = 4
    #: CTRL.ENABLE writes that started the unit (0 -> 1), as of the last state_at
    starts: int = 0

    def state_at(self, edge: int):   # pragma: no cover - protocol
        raise NotImplementedError


class Progress:
    """Writes ``done total`` (demon updates) to a file now and then, for the host's progress bar."""

    def __init__(self, path: str | None, total: int):
        self.path, self.total, self.done, self._next = path, total, 0, 0.0

    def add(self, k: int = 1) -> None:
        self.done += k
        if self.path is not None and (self.done & 63) == 0:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + 0.25
                with open(self.path, "w") as fh:
                    fh.write(f"{self.done} {self.total}\n")


class RTLDriver:
    """Drives the :class:`~demonloop.loop.Loop` with the RTL demon computing the force:
    configuration over the bus, then chains one after another, every output checked against
    ``reference``."""

    def __init__(self, top: DemonTop, program, simulator: str, reference: Reference = GOLDEN,
                 has_axi: bool = True, progress: Progress | None = None, control: Control | None = None):
        self.top = top
        # None: the demon keeps the configuration it had at the start (every run but firmware that
        # reprograms the demon mid-run); else the golden model follows the control's view of it.
        self.control = control
        self.program = program
        self.cfg = program.config
        self.simulator = simulator
        self.reference = reference
        self.has_axi = has_axi
        self.progress = progress or Progress(None, 0)
        self.spec = program.spec
        self.kind = demon.for_spec(program.spec)
        self.n = self.cfg.n
        self._timers: dict[int, Timer] = {}      # the run loop's own (DemonTop.until)
        self.profile = None
        if os.environ.get("DEMONLOOP_COSIM_PROFILE"):
            import cProfile
            self.profile = cProfile.Profile()

    async def configure(self) -> int | None:
        """Load the demon over AXI4-Lite, as firmware would, and enable it; returns the TIMING
        register's latency (None without the bus, or when the demon does not map TIMING)."""
        if not self.has_axi:
            return None
        top = self.top
        await self.kind.load(top, self.program)
        timing_word, resp = await top.read(regs.TIMING_OFFSET)
        await top.clear_counters(enable=True)
        return regs.TIMING.field("LATENCY").get(timing_word) if resp == AxiResp.OKAY else None

    async def counters(self) -> dict[str, int] | None:
        """The RTL's CNT_IN, CNT_OUT, CNT_DROP, CNT_SAT, or None where it has none."""
        if not self.has_axi:
            return None
        out = {}
        for r in (regs.CNT_IN, regs.CNT_OUT, regs.CNT_DROP, regs.CNT_SAT):
            value, resp = await self.top.read(r.offset)
            if resp != AxiResp.OKAY:
                return None
            out[r.name] = value
        return out

    def _pack_out(self, codes: np.ndarray) -> int:
        """The output word the RTL delivers for golden ``codes`` (n_out,)."""
        return self.kind.pack_out(self.spec, codes)

    def _unpack(self, word: int) -> np.ndarray:
        return self.kind.unpack_out(self.spec, word)

    async def run_chain(self, c: int, reset_step: bool = True) -> ChainResult:
        """Run chain c. With ``reset_step`` (the co-simulation's own driver) the demon kind's
        per-chain bus writes come first (a score demon's schedule step reset); firmware in the
        loop passes False, since the bus is the firmware's."""
        if reset_step and self.has_axi:
            await self.kind.start_chain(self.top)
        loop = Loop(self.program, 1, chain_seed(self.cfg.seed, c), instance_seed=self.cfg.seed)
        res = ChainResult(loop=loop, codes=np.zeros((self.cfg.total_samples, self.n), dtype=np.int64))
        if self.reference.timing:
            await self._run_predicted(c, res)
        else:
            await self._run_free(c, res)
        return res

    def _mismatch(self, res: ChainResult, c: int, info: dict) -> None:
        if res.mismatch is None:
            res.mismatch = {"chain": c, **info}

    def _code_mismatch(self, codes, expected, cy, m, X, kind="code", expected_cycle=None) -> dict:
        diff = np.nonzero(codes != expected)[0]
        j = int(diff[0]) if len(diff) else 0
        return {"kind": kind, "cycle": cy, "expected_cycle": cy if expected_cycle is None else expected_cycle,
                "sample": m, "channel": j, "rtl_code": int(codes[j]), "golden_code": int(expected[j]),
                "rtl_codes": codes.tolist(), "golden_codes": expected.tolist(), "adc_input": X.tolist(),
                "reference": self.reference.name}

    # ---- golden reference: outputs predicted cycle for cycle -------------------------------------
    async def _run_predicted(self, c: int, res: ChainResult) -> None:
        top, cfg, loop = self.top, self.cfg, res.loop
        golden = self.reference.model(self.program)
        t = loop.timing
        total = cfg.total_samples
        base = top.cycle_now() + START_MARGIN
        # (hdl out cycle, packed word, codes (1, n_out) float64, X (n,), sample index)
        expected: deque = deque()
        seen = {"count": top.output_count()}
        pack_out = self._pack_out
        x_bits = self.spec.x_bits
        t_adc, t_dem = t.adc_latency, t.demon_latency
        progress = self.progress

        def fail(info):
            self._mismatch(res, c, info)

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
                fail(self._code_mismatch(self._unpack(word), F[0].astype(np.int64), cy, m, X,
                                         "code" if cyc == c_exp else "timing", c_exp - base))
                return
            res.outputs += 1
            progress.add()
            loop.deliver(cy, F)     # the golden codes: the RTL's word was just found equal to them

        control = self.control
        # (input edge, cycle k, X, Xi, m) of samples whose acceptance waits for the control's
        # view of the bus (firmware that reconfigures the demon at run time)
        pending: deque = deque()

        def offer(k, X, Xi, m):
            """Sample m (taken at cycle k) reaches the demon's input at edge base + k + L_adc."""
            nonlocal golden
            if control is not None:
                enabled, golden = control.state_at(base + k + t_adc)
                if not enabled:
                    res.refused += 1          # not ready, not counted: the RTL's ENABLE gate
                    return
            t_in = loop.offer(k)
            if t_in is not None:
                F, n_ovf = golden(X)          # the same integers as the golden model's force
                loop.counters.demon_overflows += n_ovf
                res.accepted_m.append((m, control.starts if control is not None else 0))
                expected.append((base + t_in + t_dem, pack_out(F[0]), F, Xi, m))

        def resolve(now_edge):
            lag = control.lag
            while pending and pending[0][0] + lag <= now_edge:
                _, k, X, Xi, m = pending.popleft()
                offer(k, X, Xi, m)

        for m in range(total):
            k = t.sample_cycle(m)
            edge = base + k - t.dac_latency
            # One wake per sample, half a period before `edge`: every output handshake at an
            # earlier edge has happened, so every DAC update due before cycle k is known.
            await top.before_edge(edge, self._timers)
            tw = time.perf_counter()
            if self.profile:
                self.profile.enable()
            if control is not None:
                resolve(edge)
            collect()
            _check_missing(expected, edge, base, fail)
            if res.mismatch is not None:
                break
            k, X = loop.observe()
            Xi = X[0].astype(np.int64)
            res.codes[m] = Xi
            if control is None:
                offer(k, X, Xi, m)
            else:
                pending.append((base + k + t_adc, k, X, Xi, m))
            top.schedule_input(base + k + t_adc, pack(Xi, x_bits))
            if self.profile:
                self.profile.disable()
            res.python_s += time.perf_counter() - tw

        # drain: the last outputs, then the end of the run
        end = loop.end_cycle
        if res.mismatch is None and pending:
            await top.before_edge(pending[-1][0] + control.lag)
            resolve(pending[-1][0] + control.lag)
        if res.mismatch is None:
            last = max([e[0] for e in expected], default=base) + 1
            await top.before_edge(max(last, base + end - t.dac_latency))
            collect()
            _check_missing(expected, base + end, base, fail)
        if res.mismatch is None:
            loop.flush(end)

    # ---- a user's model, or none: the RTL's own outputs at its own cycles ------------------------
    async def _run_free(self, c: int, res: ChainResult) -> None:
        top, cfg, loop = self.top, self.cfg, res.loop
        model = self.reference.model(self.program)
        t = loop.timing
        total = cfg.total_samples
        base = top.cycle_now() + START_MARGIN
        seen = {"count": top.output_count()}
        inputs_before = top.input_count()
        x_bits = self.spec.x_bits
        t_adc, P = t.adc_latency, t.sample_period
        progress = self.progress

        def fail(info):
            self._mismatch(res, c, info)

        def collect():
            count, cyc, word, lat = top.output_status()
            new = count - seen["count"]
            if new == 0 or res.mismatch is not None:
                return
            seen["count"] = count
            cy = cyc - base
            codes = self._unpack(word)
            if new > 1:
                fail({"kind": "several outputs in one sample period", "cycle": cy, "outputs": new,
                      "rtl_codes": codes.tolist()})
                return
            # the input this output answers: its handshake was `lat` cycles earlier, at the edge
            # the scheduler presented sample m on
            offset = cy - lat - t_adc
            m = offset // P
            if lat >> 63 or offset % P or not 0 <= m < total:
                fail({"kind": "output without a matching input", "cycle": cy, "rtl_codes": codes.tolist()})
                return
            res.latencies.add(lat)
            if model is not None:
                F, _ = model(res.codes[m][None, :])
                expected = F[0].astype(np.int64)
                if len(expected) != len(codes) or np.any(codes != expected):
                    if len(expected) != len(codes):
                        fail({"kind": "reference output has the wrong width", "cycle": cy,
                              "rtl_codes": codes.tolist(), "golden_codes": expected.tolist()})
                    else:
                        fail(self._code_mismatch(codes, expected, cy, int(m), res.codes[m]))
                    return
            res.outputs += 1
            progress.add()
            loop.deliver(cy, codes[None, :].astype(np.float64))

        for m in range(total):
            k = t.sample_cycle(m)
            edge = base + k - t.dac_latency
            await top.before_edge(edge, self._timers)
            tw = time.perf_counter()
            collect()
            if res.mismatch is not None:
                break
            k, X = loop.observe()
            Xi = X[0].astype(np.int64)
            res.codes[m] = Xi
            top.schedule_input(base + k + t_adc, pack(Xi, x_bits))
            res.python_s += time.perf_counter() - tw
        # drain: every answer that reaches the array before the end, then the answers to the last
        # accepted samples (after the end: in the code stream, as in a golden run, not applied)
        end = loop.end_cycle
        if res.mismatch is None:
            edge = base + end - t.dac_latency + 1
            await top.before_edge(edge)
            collect()
            limit = edge + DRAIN_CYCLES
            while res.mismatch is None and top.input_count() - inputs_before > res.outputs and edge < limit:
                edge += P
                await top.before_edge(edge, self._timers)
                collect()
            loop.flush(end)
        # what the demon did with the samples: the RTL's own handshakes
        accepted = top.input_count() - inputs_before
        loop.counters.accepted = accepted
        loop.counters.dropped = loop.counters.samples - accepted
        res.unanswered = accepted - res.outputs


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


@cocotb.test()
async def closed_loop(dut):
    job = json.loads(os.environ["DEMONLOOP_COSIM_JOB"])
    cfg = validate_config(job["config"], base_dir=job.get("base_dir"))
    program = workloads.of(cfg).compile(cfg)
    chains = int(job.get("chains", 1))
    reference = Reference.from_json(job.get("reference"))
    top = DemonTop(dut, program.spec)
    top.out_ready.value = 1          # the DAC is always ready
    await top.reset()
    progress = Progress(job.get("progress"), chains * cfg.total_samples)
    runner = RTLDriver(top, program, job["simulator"], reference, has_axi=job.get("has_axi", True),
                       progress=progress)
    try:
        rtl_latency = await runner.configure()
    except BusTimeout as exc:
        write_json(job["result"], {"failed": str(exc)})
        return

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

    rtl = await runner.counters()
    c0 = results[0].loop
    expected_counters = {"CNT_IN": sum(r.loop.counters.accepted for r in results),
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
        "reference": reference.name,
        "mismatch": mismatch,
        "rtl_counters": rtl,
        "rtl_latency_register": rtl_latency,
        "demon_latency_measured": measured,
        "latency_predicted": t.loop_latency if reference.timing else None,
        "outputs_checked": outputs if reference.checks else 0,
        "outputs": outputs,
        "unanswered_inputs": sum(r.unanswered for r in results),
        "simulator": job["simulator"],
        "streamed_chains": len(results),
        "codes_sha256_all": _all_hash(results),
        "sim_cycles_per_s": cycles / wall if wall > 0 else None,
        "updates_per_s": outputs / wall if wall > 0 else None,
        "python_us_per_update": sum(r.python_s for r in results) / max(1, outputs) * 1e6,
        "latency_cycles": t.adc_latency + measured[0] + t.dac_latency if len(measured) == 1 else None,
    }
    if reference.timing:
        # the golden model also predicts the demon's counters
        extra["golden_counters"] = expected_counters
        extra["bit_exact"] = mismatch is None and (rtl is None or rtl == expected_counters)
    elif reference.checks:
        extra["bit_exact"] = mismatch is None
    rep = build_report(cfg, program, c0, est, demon=job["simulator"], wall_s=wall, extra=extra)
    rep["chains"] = len(results)
    rep["n_updates"] = sum(r.loop.counters.accepted for r in results)
    rep["dropped_samples"] = expected_counters["CNT_DROP"]
    rep["demon_overflows"] = expected_counters["CNT_SAT"] if reference.timing else (rtl or {}).get("CNT_SAT", 0)
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
