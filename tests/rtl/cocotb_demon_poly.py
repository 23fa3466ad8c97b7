"""cocotb tests of the polynomial demon's bus side: rtl/demon_top.v built with FORCE_UNIT=2
(demon_poly around demon_linear, behind demon_axil), through emulator/cosim/hdl/tb_demon_top.v.
Launched by tests/rtl/test_poly.py; the parameter set arrives in ``DEMONLOOP_SPEC``, the seed in
``DEMONLOOP_SEED``. The datapath against the golden model is the conformance regression's and the
closed loop's (tests/cosim/test_loop_polynomial.py); here: the read-only registers, the schedule
arrays (sign extension, the entries mapped), POLY_DWELL, and STEP against the golden step counter
as words are accepted one at a time.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotbext.axi import AxiResp

from demonloop.cosim import simulators as sim
from demonloop.cosim.testbench import DemonTop, from_u32, pack, to_u32, unpack
from demonloop.demon import regs as R
from demonloop.demon.polynomial import KIND, PolySpec


def setup(dut):
    params = sim.json_parameters(os.environ["DEMONLOOP_SPEC"])
    spec = sim.spec_from_parameters(params)
    assert isinstance(spec, PolySpec)
    top = DemonTop(dut, spec)
    return spec, top, np.random.default_rng(int(os.environ["DEMONLOOP_SEED"]))


@cocotb.test()
async def test_registers_and_arrays(dut):
    spec, top, rng = setup(dut)
    top.out_ready.value = 1
    await top.reset()
    n = spec.n
    expected = {
        "UNIT": R.UNIT.field("FORCE_UNIT").put(2),
        "SCHED_LEN": spec.sched_len,
        "POLY_FORMAT": (R.POLY_FORMAT.field("SCHED_W").put(spec.sched.width)
                        | R.POLY_FORMAT.field("SCHED_FRAC").put(spec.sched.frac_bits)
                        | R.POLY_FORMAT.field("LIN_BITS").put(spec.lin_bits)),
        "TIMING": R.TIMING.field("LATENCY").put(spec.latency_cycles) | R.TIMING.field("II").put(spec.initiation_interval),
        "WIDTHS": (R.WIDTHS.field("X_BITS").put(spec.x_bits) | R.WIDTHS.field("F_BITS").put(spec.f_bits)
                   | R.WIDTHS.field("COEF_W").put(spec.coef.width) | R.WIDTHS.field("BIAS_W").put(spec.bias.width)),
        "MLP_SHAPE": 0, "MLP_WIDTHS": 0, "MLP_FORMAT": 0,
        "POLY_DWELL": R.POLY_DWELL.reset, "SCHED_K": R.SCHED_K.reset, "STEP": 0,
    }
    for name, want in expected.items():
        got = await top.read_ok(getattr(R, name).offset)
        assert got == want, f"{name} reads {got:#010x}, expected {want:#010x}"
    for name in ("UNIT", "SCHED_LEN", "POLY_FORMAT", "STEP"):
        assert await top.write(getattr(R, name).offset, 0x5A5A5A5A) == AxiResp.SLVERR, f"write to {name} accepted"
    await top.write_ok(R.POLY_DWELL_OFFSET, 0x0001_0007)
    assert await top.read_ok(R.POLY_DWELL_OFFSET) == 0x0001_0007

    # Arrays: random raw values with junk above the entry's width read back sign-extended.
    w = spec.sched.width
    arrays = [(R.POLY_A, spec.sched_len * n, w), (R.POLY_C, spec.sched_len * n, w), (R.POLY_H, spec.sched_len * n, w),
              (R.POLY_G, spec.sched_len, w), (R.COEF_A, n * n, spec.coef.width), (R.COEF_B, n, spec.bias.width)]
    for arr, entries, width in arrays:
        picks = sorted(set([0, entries - 1] + rng.integers(0, entries, 12).tolist()))
        vals = {}
        for i in picks:
            v = int(rng.integers(-(1 << (width - 1)), 1 << (width - 1)))
            junk = int(rng.integers(0, 1 << 32)) & ~((1 << width) - 1) & 0xFFFF_FFFF
            await top.write_ok(arr.entry_offset(i), (to_u32(v) & ((1 << width) - 1)) | junk)
            vals[i] = v
        for i, v in vals.items():
            assert from_u32(await top.read_ok(arr.entry_offset(i))) == v, f"{arr.name}[{i}]"
        # the entry after the last mapped one answers SLVERR (when the array has room for it)
        if entries < arr.max_entries:
            value, resp = await top.read(arr.entry_offset(entries))
            assert resp == AxiResp.SLVERR and value == 0, f"{arr.name}[{entries}] answered {resp!r}"
            assert await top.write(arr.entry_offset(entries), 1) == AxiResp.SLVERR
    # the score network's arrays are not mapped here (MLP_W's range holds the POLY arrays)
    for arr in (R.MLP_W, R.MLP_B, R.SCHED_SCALE, R.SCHED_DRIFT, R.SCHED_NOISE, R.SCHED_EMB):
        value, resp = await top.read(arr.entry_offset(0))
        assert resp == AxiResp.SLVERR and value == 0, f"read of {arr.name}[0] answered {resp!r}"


@cocotb.test()
async def test_step_follows_the_golden_counter(dut):
    """A program with K rows and a dwell, words accepted one at a time: after each, STEP equals the
    golden model's step and the output word its force; STEP_RESET returns to row 0."""
    spec, top, rng = setup(dut)
    top.out_ready.value = 1
    await top.reset()
    prog = KIND.random_program(spec, rng, "inrange")
    K = min(spec.sched_len, 3)
    prog = type(prog)(spec, prog.J_raw, prog.b_raw, prog.schedule_raw[:K] if prog.schedule_raw.shape[0] >= K
                      else np.resize(prog.schedule_raw, (K, spec.row_entries)), 2)
    await KIND.load(top, prog)
    await top.step_reset(enable=True)
    golden = prog.demon()
    half = 1 << (spec.x_bits - 1)
    for m in range(2 * K + 3):
        if m == 2 * K + 1:
            await top.step_reset(enable=True)
            golden.reset()
        X = rng.integers(-half, half, size=(1, spec.n))
        c = top.cycle_now() + 2
        await top.before_edge(c)
        top.schedule_input(c, pack(X[0], spec.x_bits))
        fire = await top.next_output()
        F, _ = golden.force(X)
        assert unpack(fire.word, spec.n, spec.f_bits).tolist() == F[0].tolist(), f"word {m}"
        step = await top.read_ok(R.STEP_OFFSET)
        assert step == golden.step, f"after word {m}: STEP {step}, golden {golden.step}"
