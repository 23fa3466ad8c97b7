"""Firmware in the loop: the C driver and the linear-solve program, built as a shared library,
drive the RTL demon over AXI4-Lite (cocotb bridge/resume) while the emulated analog array runs in
closed loop with it, on Icarus and on Verilator.

- The loop the firmware configured is the golden run, bit for bit (same DAC code stream).
- The firmware's answer is within the bound the golden run of the same config is held to (five
  standard errors predicted from the closed loop, plus the quantization error, as
  tests/workloads/test_langevin.py derives it), and so is the golden run's.
- The firmware's fixed-point average equals the emulator's float average of the same samples to
  within the rounding the program's formats allow.
- The register trace is complete and says what the register map says a solve must do.
- A firmware that loads a wrong coefficient is caught by the golden check, and one that waits for
  more samples than come is stopped after the run.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from demonloop.cosim.simulators import cocotb_names

from demonloop.demon import regs
from demonloop.workloads import compile_program
from demonloop.config import load_config
from demonloop.cosim.firmware import run_firmware
from demonloop.loop import run_golden
from tests.conftest import REPO
from tests.workloads.test_langevin import predicted_se_target_units

DEFAULT = REPO / "hw_configs" / "spu8_linear_solve.yaml"
SIMS = list(cocotb_names())
BURN_IN, SAMPLES = 100, 1000


def _config(**over):
    return load_config(DEFAULT).with_overrides({"chains": 1, "run.burn_in_samples": BURN_IN,
                                                "run.samples": SAMPLES, **over})


def _trace(path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _run_ok(program_name, cfg, simulator, trace_path):
    """Run the firmware program; it must return DEMON_OK, and the loop it configured must be the
    golden run, bit for bit. Returns the report and the golden report."""
    rep = run_firmware(program_name, cfg, simulator, trace=trace_path, quiet=True)
    fw = rep["firmware"]
    assert fw["status"] == "DEMON_OK", fw
    assert not fw["python_errors"] and not fw["bus_errors_after_deadline"]
    gold, _ = run_golden(cfg)
    assert rep["bit_exact"], rep["mismatch"]
    assert rep["codes_sha256"] == gold["codes_sha256"]
    return rep, gold


@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMS)
def test_linear_solve_in_the_loop(simulator, tmp_path):
    cfg = _config()
    program = compile_program(cfg)
    n = cfg.n
    trace_path = tmp_path / "trace.csv"
    rep, gold = _run_ok("linear_solve", cfg, simulator, trace_path)
    fw = rep["firmware"]
    total = BURN_IN + SAMPLES
    assert rep["rtl_counters"]["CNT_IN"] == total and rep["rtl_counters"]["CNT_DROP"] == 0
    assert fw["result"]["count"] == SAMPLES and fw["result"]["discarded"] == BURN_IN
    assert fw["result"]["counters"]["CNT_IN"] == total and fw["result"]["counters"]["CNT_DROP"] == 0

    # The same bound for the firmware's answer and the golden run's (tests/workloads/test_langevin.py).
    se = predicted_se_target_units(cfg, program)
    x_star = np.linalg.solve(program.M, program.b_t)
    bound = 5 * np.linalg.norm(se) / np.linalg.norm(x_star) + program.quantization["solution_rel_error"]
    x_fw = np.array(fw["solution"])
    assert gold["metrics"]["rel_error"] < bound
    assert np.linalg.norm(x_fw - x_star) / np.linalg.norm(x_star) < bound
    assert fw["rel_error"] == pytest.approx(np.linalg.norm(x_fw - x_star) / np.linalg.norm(x_star))

    # Fixed point against the emulator's float average of the same samples: the mean is rounded
    # to Q(2,30) (error <= 2^-31), 1/a to Q(16,16) (<= 2^-17), x to Q(16,16) (<= 2^-17).
    x_gold = np.array(gold["metrics"]["solution"])
    mean = np.abs(x_gold * program.scale)
    tol = 2.0**-17 + mean * 2.0**-17 + 2.0**-31 / program.scale + 1e-12
    assert np.all(np.abs(x_fw - x_gold) <= tol), (x_fw - x_gold, tol)
    assert np.allclose(np.array(fw["result"]["sum"]) / SAMPLES * 2.0 ** (1 - cfg.adc.bits), x_gold * program.scale,
                       rtol=0, atol=1e-12)

    # The trace: every access, in time order; what a solve must write, where the map says.
    rows = _trace(trace_path)
    assert len(rows) == fw["reads"] + fw["writes"]
    cycles = [int(r["cycle"]) for r in rows]
    assert cycles == sorted(cycles)
    assert all(r["resp"] == "OKAY" for r in rows)
    writes = [(int(r["offset"], 16), int(r["value"], 16)) for r in rows if r["op"] == "W"]
    coef = [w for w in writes if w[0] not in (regs.CTRL_OFFSET,)]
    assert coef == ([(regs.COEF_A.entry_offset(i), int(v) & 0xFFFF_FFFF) for i, v in enumerate(program.A_raw.ravel())]
                    + [(regs.COEF_B.entry_offset(i), int(v) & 0xFFFF_FFFF) for i, v in enumerate(program.b_raw)])
    ctrl = [v for o, v in writes if o == regs.CTRL_OFFSET]
    C = regs.CTRL
    start = C.field("ENABLE").put(1) | C.field("CLEAR").put(1) | C.field("CAP_CLEAR").put(1)
    assert ctrl == [C.field("CLEAR").put(1) | C.field("CAP_CLEAR").put(1), 0, start, 0]   # init, stop, start, stop
    data = [r for r in rows if r["register"].startswith("CAP_DATA")]
    assert len(data) == SAMPLES * n + BURN_IN          # N reads per averaged sample, one per skipped one
    # the first coefficient is written before the start, every capture read after it
    first_start = next(i for i, r in enumerate(rows) if r["op"] == "W" and int(r["value"], 16) == start)
    assert all(rows.index(r) > first_start for r in data)


@pytest.mark.sim
def test_a_firmware_loading_a_wrong_coefficient_is_caught():
    # b[3] two DAC codes off in what the firmware writes: the RTL's forces leave the golden
    # trajectory, the run says where, and the firmware (starved of samples) is stopped after it.
    cfg = _config(**{"run.burn_in_samples": 10, "run.samples": 100})
    program = compile_program(cfg)
    spec = program.spec
    b = program.b_raw.copy()
    b[3] += 2 << (spec.bias.frac_bits - (spec.f_bits - 1))     # 2 output LSBs in b's format
    rep = run_firmware("linear_solve", cfg, "icarus", quiet=True, program_overrides={"b_raw": b.tolist()})
    assert rep["bit_exact"] is False
    mm = rep["mismatch"]
    assert mm["kind"] == "code" and mm["channel"] == 3
    assert mm["rtl_code"] - mm["golden_code"] == 2
    fw = rep["firmware"]
    assert fw["status"] == "DEMON_E_BUS" and fw["bus_errors_after_deadline"]


@pytest.mark.sim
def test_a_firmware_waiting_for_samples_that_never_come_is_stopped():
    cfg = _config(**{"run.burn_in_samples": 10, "run.samples": 100})
    rep = run_firmware("linear_solve", cfg, "icarus", quiet=True, program_overrides={"samples": 150})
    assert rep["bit_exact"], rep["mismatch"]          # the loop itself was fine
    fw = rep["firmware"]
    assert fw["status"] == "DEMON_E_BUS" and fw["bus_errors_after_deadline"] and fw["result"] is None


SPIRAL = REPO / "hw_configs" / "diffusion_spiral.yaml"


@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMS)
def test_diffusion_schedule_in_the_loop(simulator, tmp_path):
    # The diffusion program loads the score network and the schedule table itself and starts the
    # run with the step reset; the loop it configured is the golden run, bit for bit, and what it
    # returns is the run's last sample (the generated point), at the schedule's hold row.
    cfg = load_config(SPIRAL).with_overrides({"chains": 1})
    program = compile_program(cfg)
    total = cfg.total_samples
    trace_path = tmp_path / "trace.csv"
    rep, _ = _run_ok("diffusion", cfg, simulator, trace_path)
    fw = rep["firmware"]
    r = fw["result"]
    assert r["final_seq"] == total - 1 and r["discarded"] == total - 1
    assert r["final_codes"] == rep["last_sample_codes"]
    rows = np.asarray(program.schedule_raw).shape[0]
    assert r["step"] == min(total - 1, rows - 1)
    assert r["counters"]["CNT_IN"] == total and r["counters"]["CNT_DROP"] == 0

    # The network's writes are the compiled weights and biases, layer by layer, where the map says.
    writes = [(int(t["offset"], 16), int(t["value"], 16)) for t in _trace(trace_path) if t["op"] == "W"]
    w = np.concatenate([np.asarray(W, dtype=np.int64).reshape(-1) for W in program.W_raw])
    b = np.concatenate([np.asarray(v, dtype=np.int64).reshape(-1) for v in program.b_raw])
    net = [x for x in writes if x[0] != regs.CTRL_OFFSET][: len(w) + len(b)]
    expect, wo, bo = [], 0, 0
    for W, v in zip(program.W_raw, program.b_raw):
        k, m = np.asarray(W).size, np.asarray(v).size
        expect += [(regs.MLP_W.entry_offset(wo + i), int(w[wo + i]) & 0xFFFF_FFFF) for i in range(k)]
        expect += [(regs.MLP_B.entry_offset(bo + i), int(b[bo + i]) & 0xFFFF_FFFF) for i in range(m)]
        wo, bo = wo + k, bo + m
    assert net == expect
