"""The closed loop with the RTL demon: a cocotb test run inside the simulator by :mod:`emulator.cosim`.

The plant (analog array, converters, timeline) is the same :class:`emulator.engine.Loop` the
golden run uses; here the Verilog demon computes the force. HDL cycle ``base + k`` is timeline
cycle ``k``. Python wakes once per sample (one Timer, never per clock edge), at the sample's
*observation point*, half a period before HDL edge ``base + k_m - L_dac``:

- every output handshake at an earlier edge has happened; the testbench top holds the latest
  one (its cycle, word and HDL-measured latency) and a count, which shows that at most one
  output came since the last look, as it must (inputs are a sample period apart, latency fixed);
  it is checked against the golden model, cycle for cycle and code for code, and delivered to
  the DAC; on the first difference the run stops and the report names the cycle, the channel,
  both codes and the ADC input that caused them;
- the plant advances to ``k_m`` and converts; the ADC word is handed to the testbench's input
  scheduler, which presents it on the stream for exactly edge ``base + k_m + L_adc`` (the ADC
  cannot wait: if the demon is not ready then, the RTL drops and counts it by its own rule).
"""

from __future__ import annotations

import json
import os
import time
from collections import deque

import cocotb
import numpy as np

from emulator import demon_regs as regs
from emulator.compiler import compile_program
from emulator.config import validate_config
from emulator.engine import Loop
from emulator.hdl.tb_demon_top import DemonTop, pack, unpack
from emulator.report import build_report, write_json
from emulator.workloads import Estimator

#: Cycles between the end of the bus configuration and timeline cycle 0.
START_MARGIN = 4


class Mismatch(Exception):
    def __init__(self, info: dict):
        self.info = info
        super().__init__(json.dumps(info))


@cocotb.test()
async def closed_loop(dut):
    job = json.loads(os.environ["DEMONLOOP_COSIM_JOB"])
    cfg = validate_config(job["config"])
    program = compile_program(cfg)
    spec = program.spec
    n = cfg.n
    top = DemonTop(dut, spec)
    top.out_ready.value = 1          # the DAC is always ready
    await top.reset()

    # Configure the demon over AXI4-Lite, as firmware would.
    await top.load_coefficients(program.A_raw, program.b_raw)
    timing_word = await top.read_ok(regs.TIMING_OFFSET)
    rtl_latency = regs.TIMING.field("LATENCY").get(timing_word)
    await top.clear_counters(enable=True)

    loop = Loop(program, 1, cfg.seed)
    est = Estimator(program, 1)
    golden = program.demon()
    t = loop.timing
    base = top.cycle_now() + START_MARGIN
    half = top.period // 2

    expected: deque = deque()     # (hdl out cycle, codes (n,), X (n,), sample index)
    state = {"mismatch": None, "outputs": 0, "latencies": set(), "count": 0}

    def fail(info):
        if state["mismatch"] is None:
            state["mismatch"] = info

    def collect():
        """Check and deliver the output handshake(s) since the last look (at most one per sample
        period for a correct demon: its inputs are a sample period apart and its latency fixed)."""
        count = top.output_count()
        new = count - state["count"]
        if new == 0 or state["mismatch"] is not None:
            return
        state["count"] = count
        cyc, word, lat = top.latest_output()
        codes = unpack(word, n, spec.f_bits)
        c = cyc - base
        if new > 1:
            fail({"kind": "several outputs in one sample period", "cycle": c, "outputs": new,
                  "rtl_codes": codes.tolist()})
            return
        if not expected:
            fail({"kind": "unexpected output", "cycle": c, "rtl_codes": codes.tolist()})
            return
        c_exp, F_exp, X, m = expected.popleft()
        state["latencies"].add(lat)
        if cyc != c_exp or codes.tolist() != F_exp.tolist():
            diff = np.nonzero(codes != F_exp)[0]
            j = int(diff[0]) if len(diff) else 0
            fail({
                "kind": "code" if cyc == c_exp else "timing",
                "cycle": c, "expected_cycle": c_exp - base, "sample": m, "channel": j,
                "rtl_code": int(codes[j]), "golden_code": int(F_exp[j]),
                "rtl_codes": codes.tolist(), "golden_codes": F_exp.tolist(),
                "adc_input": X.tolist(),
            })
            return
        state["outputs"] += 1
        loop.deliver(c, codes[None, :].astype(np.float64))

    total = cfg.total_samples
    profile = None
    if os.environ.get("DEMONLOOP_COSIM_PROFILE"):
        import cProfile
        profile = cProfile.Profile()
    py_s = 0.0                      # time spent in Python between wakes (the plant, the checks)
    t0 = time.perf_counter()
    for m in range(total):
        k = t.sample_cycle(m)
        edge = base + k - t.dac_latency
        # One wake per sample, half a period before `edge`: every output handshake at an earlier
        # edge has happened, so every DAC update due before cycle k is known.
        await top.before_edge(edge)
        tw = time.perf_counter()
        if profile:
            profile.enable()
        collect()
        _check_missing(expected, edge, base, fail)
        if state["mismatch"] is not None:
            break
        k, X = loop.observe()
        est.on_sample(m, X)
        Xi = X[0].astype(np.int64)
        t_in = loop.offer(k)
        if t_in is not None:
            F, n_ovf = golden.force_count(X)          # the same integers as golden.force
            loop.counters.demon_overflows += n_ovf
            expected.append((base + t_in + t.demon_latency, F[0].astype(np.int64), Xi, m))
        top.schedule_input(base + k + t.adc_latency, pack(Xi, spec.x_bits))
        if profile:
            profile.disable()
        py_s += time.perf_counter() - tw

    # drain: the last outputs, then the end of the run
    end = loop.end_cycle
    if state["mismatch"] is None:
        last = max([c for c, *_ in expected], default=base) + 1
        await top.before_edge(max(last, base + end - t.dac_latency))
        collect()
        _check_missing(expected, base + end, base, fail)
    wall = time.perf_counter() - t0
    if state["mismatch"] is None:
        loop.flush(end)
    if str(top.sched_late.value) == "1":
        fail({"kind": "testbench: an input was scheduled after its cycle"})

    rtl = await top.counters()
    golden_counters = {"CNT_IN": loop.counters.accepted, "CNT_OUT": state["outputs"],
                       "CNT_DROP": loop.counters.dropped, "CNT_SAT": loop.counters.demon_overflows}
    measured = sorted(state["latencies"])
    ok = state["mismatch"] is None
    extra = {
        "bit_exact": ok and rtl == golden_counters,
        "mismatch": state["mismatch"],
        "rtl_counters": rtl,
        "golden_counters": golden_counters,
        "rtl_latency_register": rtl_latency,
        "demon_latency_measured": measured,
        "latency_predicted": t.loop_latency,
        "outputs_checked": state["outputs"],
        "simulator": job["simulator"],
        "sim_cycles_per_s": (end + START_MARGIN) / wall if wall > 0 else None,
        "updates_per_s": state["outputs"] / wall if wall > 0 else None,
        "python_us_per_update": py_s / max(1, total) * 1e6,
        "latency_cycles": t.adc_latency + measured[0] + t.dac_latency if len(measured) == 1 else None,
    }
    rep = build_report(cfg, program, loop, est, demon=job["simulator"], wall_s=wall, extra=extra)
    write_json(job["result"], rep)
    if profile:
        import pstats
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


def _check_missing(expected, edge_limit, base, fail):
    """An expected output whose edge is before ``edge_limit`` and has not arrived: the RTL missed it."""
    if expected and expected[0][0] < edge_limit:
        c_exp, F_exp, X, m = expected[0]
        fail({"kind": "missing output", "expected_cycle": c_exp - base, "sample": m,
              "golden_codes": F_exp.tolist(), "adc_input": X.tolist()})
