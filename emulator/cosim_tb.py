"""The closed loop with the RTL demon: a cocotb test run inside the simulator by :mod:`emulator.cosim`.

The plant (analog array, converters, timeline) is the same :class:`emulator.engine.Loop` the
golden run uses; here the Verilog demon computes the force. HDL cycle ``base + k`` is timeline
cycle ``k``. One coroutine walks the events in time order, waking only at event times (one
Timer each, never per clock edge):

- the *observation point* of sample ``m``, half a period before HDL edge ``base + k_m - L_dac``:
  every output handshake at an earlier edge has been seen, so every DAC update due before
  ``k_m`` is known; the plant advances to ``k_m`` and converts;
- the ADC word is driven onto the input stream for the one edge ``base + k_m + L_adc`` (the ADC
  cannot wait: if the demon is not ready then, the sample is dropped, by the RTL's own rule);

and two monitors wake on the handshake toggles of ``tb_demon_top``. Every RTL output is checked
against the golden model, cycle for cycle and code for code, as it arrives; on the first
difference the run stops and the report names the cycle, the channel, both codes and the ADC
input that caused them.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque

import cocotb
import numpy as np
from cocotb.triggers import Timer

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
    inputs_seen: deque = deque()  # hdl cycles of RTL input handshakes
    state = {"mismatch": None, "outputs": 0, "latencies": set()}

    def fail(info):
        if state["mismatch"] is None:
            state["mismatch"] = info

    def on_output(fire):
        if state["mismatch"] is not None:
            return
        codes = unpack(fire.word, n, spec.f_bits)
        c = fire.cycle - base
        if not expected:
            fail({"kind": "unexpected output", "cycle": c, "rtl_codes": codes.tolist()})
            return
        c_exp, F_exp, X, m = expected.popleft()
        if inputs_seen:
            state["latencies"].add(fire.cycle - inputs_seen.popleft())
        if fire.cycle != c_exp or not np.array_equal(codes, F_exp):
            diff = np.nonzero(codes != F_exp)[0]
            j = int(diff[0]) if len(diff) else 0
            fail({
                "kind": "code" if fire.cycle == c_exp else "timing",
                "cycle": c, "expected_cycle": c_exp - base, "sample": m, "channel": j,
                "rtl_code": int(codes[j]), "golden_code": int(F_exp[j]),
                "rtl_codes": codes.tolist(), "golden_codes": F_exp.tolist(),
                "adc_input": X.tolist(),
            })
            return
        state["outputs"] += 1
        loop.deliver(c, codes[None, :].astype(np.float64))

    async def output_monitor():
        while True:
            on_output(await top.next_output())

    async def input_monitor():
        while True:
            fire = await top.next_input()
            inputs_seen.append(fire.cycle)

    mon_out = cocotb.start_soon(output_monitor())
    mon_in = cocotb.start_soon(input_monitor())

    total = cfg.total_samples
    pending_in: deque = deque()   # (hdl cycle, word) to drive, in order
    valid_until = None            # hdl cycle whose edge samples the currently driven word
    t0 = time.perf_counter()
    m = 0
    INF = float("inf")
    while m < total or pending_in or valid_until is not None:
        if state["mismatch"] is not None:
            break
        t_obs = top.edge_time(base + t.sample_cycle(m) - t.dac_latency) - half if m < total else INF
        t_clr = top.edge_time(valid_until + 1) - half if valid_until is not None else INF
        t_set = top.edge_time(pending_in[0][0]) - half if pending_in else INF
        now_t = min(t_obs, t_clr, t_set)
        dt = int(now_t) - top.now()
        if dt > 0:
            await Timer(dt, unit="step")
        if t_obs == now_t:
            # every output at an edge before this point has been checked and delivered
            k = t.sample_cycle(m)
            _check_missing(expected, base + k - t.dac_latency, base, fail)
            if state["mismatch"] is not None:
                break
            k, X = loop.observe()
            est.on_sample(m, X)
            Xi = X[0].astype(np.int64)
            t_in = loop.offer(k)
            if t_in is not None:
                F, ovf = golden.force(Xi[None, :])
                loop.counters.demon_overflows += int(np.count_nonzero(ovf))
                expected.append((base + t_in + t.demon_latency, F[0], Xi, m))
            pending_in.append((base + k + t.adc_latency, pack(Xi, spec.x_bits)))
            m += 1
            continue
        if t_clr == now_t:
            top.in_valid.value = 0
            valid_until = None
        if t_set == now_t:
            cyc, word = pending_in.popleft()
            top.in_data.value = word
            top.in_valid.value = 1
            valid_until = cyc

    # drain: the last outputs, then the end of the run
    end = loop.end_cycle
    if state["mismatch"] is None:
        last = max([c for c, *_ in expected], default=base) + 2
        await top.before_edge(max(last, base + end - t.dac_latency))
        _check_missing(expected, base + end, base, fail)
    wall = time.perf_counter() - t0
    mon_out.cancel()
    mon_in.cancel()
    if state["mismatch"] is None:
        loop.flush(end)

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
        "sim_cycles_per_s": (base + end) / wall if wall > 0 else None,
        "updates_per_s": state["outputs"] / wall if wall > 0 else None,
    }
    if measured and len(measured) == 1:
        extra["latency_cycles"] = t.adc_latency + measured[0] + t.dac_latency
    rep = build_report(cfg, program, loop, est, demon=job["simulator"], wall_s=wall, extra=extra)
    if len(measured) != 1:
        rep["latency_cycles"] = None if not measured else rep["latency_cycles"]
    write_json(job["result"], rep)


def _check_missing(expected, edge_limit, base, fail):
    """An expected output whose edge is before ``edge_limit`` and has not arrived: the RTL missed it."""
    if expected and expected[0][0] < edge_limit:
        c_exp, F_exp, X, m = expected[0]
        fail({"kind": "missing output", "expected_cycle": c_exp - base, "sample": m,
              "golden_codes": F_exp.tolist(), "adc_input": X.tolist()})
