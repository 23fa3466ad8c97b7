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
    # every sample taken is opened by a CAP_STATUS check (OVERFLOW, UNDERFLOW, LEVEL) and CAP_SEQ
    takes = [i for i, r in enumerate(rows) if r["register"] in ("CAP_DATA[0]", f"CAP_DATA[{n - 1}]")
             and (i == 0 or not rows[i - 1]["register"].startswith("CAP_DATA"))]
    assert len(takes) == SAMPLES + BURN_IN
    assert all(rows[i - 2]["register"] == "CAP_STATUS" and rows[i - 1]["register"] == "CAP_SEQ" for i in takes)
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
def test_a_firmware_waiting_for_samples_that_never_come_is_stopped(tmp_path):
    cfg = _config(**{"run.burn_in_samples": 10, "run.samples": 100})
    rep = run_firmware("linear_solve", cfg, "icarus", quiet=True, program_overrides={"samples": 150},
                       trace=tmp_path / "trace.csv")
    assert rep["bit_exact"], rep["mismatch"]          # the loop itself was fine
    fw = rep["firmware"]
    assert fw["status"] == "DEMON_E_BUS" and fw["bus_errors_after_deadline"] and fw["result"] is None
    # the trace holds every access, the failing one included: a capture read refused after the
    # deadline, then the program's best-effort stop (a CTRL write, refused too)
    rows = _trace(tmp_path / "trace.csv")
    assert len(rows) == fw["reads"] + fw["writes"]
    bad = [i for i, r in enumerate(rows) if r["resp"] != "OKAY"]
    assert bad and bad == list(range(bad[0], len(rows)))
    assert all(rows[i]["resp"] == "DEADLINE" for i in bad)
    assert rows[bad[0]]["op"] == "R" and rows[bad[0]]["register"].startswith("CAP_")
    assert rows[-1]["op"] == "W" and rows[-1]["register"] == "CTRL" and int(rows[-1]["value"], 16) == 0


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


# ---- annealing in the loop ------------------------------------------------------------------------

ANNEAL_BURN_IN, ANNEAL_SAMPLES = 100, 1500


def _rnd_shift16(p: int) -> int:
    """RND(p / 2^16) in exact integers (floor(p / 2^16 + 1/2))."""
    return (p + (1 << 15)) >> 16


def _stage_law(program, A_raw, b_raw, count):
    """Stationary law of the normalised ADC input x = X / 2^(X_BITS-1) of the linearised closed
    loop (demonloop.linearised: the exact discrete-time law of the linear SDE with the demon's
    force held between updates, converters linearised) with the demon holding (A_raw, b_raw):
    mean, variance, the standard error of a `count`-sample time average, and the expected
    population variance of `count` consecutive samples with its standard error. The ADC's
    rounding is the one approximation: it adds LSB^2/12 to the variance (uniform quantization
    noise) and biases a mean by at most LSB/2."""
    import copy

    import scipy.linalg as sla

    from demonloop import linearised

    p = copy.copy(program)
    p.A_raw, p.b_raw = np.asarray(A_raw, dtype=np.int64), np.asarray(b_raw, dtype=np.int64)
    lin = linearised.from_program(p)
    n = program.config.n
    z, _ = lin.stationary()
    g = program.adc.linear_gain / program.config.adc.full_scale_V
    x0 = program.adc.linear_offset_V / program.config.adc.full_scale_V
    mean = g * z[:n] + x0
    P = sla.solve_discrete_lyapunov(lin.F, lin.W)
    P = 0.5 * (P + P.T)
    # autocovariances of x_j at lags 0, 1, ...: gamma_j(k) = g_j^2 (F^k P)_jj
    gam = [np.diag(P)[:n] * g**2]
    Fk = np.eye(lin.F.shape[0])
    for _ in range(1, count):
        Fk = Fk @ lin.F
        gam.append(np.diag(Fk @ P)[:n] * g**2)
        if np.abs(Fk).max() < 1e-14:
            break
    gam = np.array(gam)
    var = gam[0]
    var_of_mean = np.diag(lin.time_average_covariance(count))[:n] * g**2
    # Gaussian process: Var(sample variance) ~ (2/S) sum_{k=-inf}^{inf} gamma(k)^2 (Bartlett)
    se_var = np.sqrt(2.0 / count * (gam[0] ** 2 + 2 * (gam[1:] ** 2).sum(axis=0)))
    lsb = 2.0 ** (1 - program.spec.x_bits)
    return {"mean": mean, "se_mean": np.sqrt(var_of_mean), "pop_var": var + lsb**2 / 12 - var_of_mean,
            "se_var": se_var, "lsb": lsb}


@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMS)
def test_anneal_in_the_loop(simulator, tmp_path):
    # The anneal program stops the unit, waits until idle, reloads beta_k * (A, b) and restarts at
    # every stage; the golden model follows those writes (and the ENABLE gate), so the loop is
    # bit-exact through every stage; the program's per-stage statistics equal the exact integer
    # recomputation from the loop's own samples, and agree with the linearised loop's stationary
    # law for each stage's coefficients.
    from demonloop.cosim.firmware import ANNEAL_BETAS, anneal_schedule

    cfg = load_config(DEFAULT).with_overrides({"chains": 1, "run.burn_in_samples": ANNEAL_BURN_IN,
                                               "run.samples": ANNEAL_SAMPLES})
    program = compile_program(cfg)
    rep = run_firmware("anneal", cfg, simulator, trace=tmp_path / "trace.csv", quiet=True)
    fw = rep["firmware"]
    assert fw["status"] == "DEMON_OK", fw
    assert rep["bit_exact"], rep["mismatch"]
    assert rep["rtl_counters"] == rep["golden_counters"]
    assert rep["rtl_counters"]["CNT_DROP"] == 0
    # samples refused while stopped are neither captured nor counted
    assert rep["rtl_counters"]["CNT_IN"] + rep["refused_samples"] == cfg.total_samples
    assert rep["refused_samples"] > 0
    assert rep["anneal_matches_exact"], (rep["anneal_exact"], fw["result"])

    # what each stage loaded: RND(beta_q16 * v / 2^16) of the config's coefficients, in order
    sched = anneal_schedule(cfg)
    sets = rep["coefficient_sets"]
    assert len(sets) == len(ANNEAL_BETAS)
    for s, bq in zip(sets, sched["beta_q16"]):
        assert s["A_raw"] == [[_rnd_shift16(bq * int(v)) for v in row] for row in program.A_raw]
        assert s["b_raw"] == [_rnd_shift16(bq * int(v)) for v in program.b_raw]

    # the physics of each stage
    per = sched["stage_samples"][0]
    for k, s in enumerate(sets):
        law = _stage_law(program, s["A_raw"], s["b_raw"], per)
        mean = np.array(fw["result"]["mean_q30"][k], dtype=np.float64) / 2**30
        var = np.array(fw["result"]["var_q30"][k], dtype=np.float64) / 2**30
        assert np.all(np.abs(mean - law["mean"]) <= 5 * law["se_mean"] + law["lsb"] / 2), (k, mean, law)
        assert np.all(np.abs(var - law["pop_var"]) <= 5 * law["se_var"]), (k, var, law)


# ---- interrupt-driven solve ----------------------------------------------------------------------

@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMS)
def test_interrupt_driven_linear_solve_in_the_loop(simulator, tmp_path):
    # The C program sleeps in demon_wait_irq; the bridge calls its ISR back when demon_top's irq
    # line is high (the FIFO holds IRQ_THRESHOLD samples); the ISR drains the FIFO. The loop is the
    # golden run bit for bit, and the answer is the polling solve's, to the bit: the same samples
    # averaged with the same arithmetic.

    cfg = _config(**{"run.burn_in_samples": 50, "run.samples": 400})
    trace_path = tmp_path / "trace.csv"
    rep, _ = _run_ok("linear_solve_irq", cfg, simulator, trace_path)
    fw = rep["firmware"]
    total = 450
    assert fw["result"]["count"] == 400 and fw["result"]["discarded"] == 50
    assert rep["rtl_counters"]["CNT_IN"] == total and rep["rtl_counters"]["CNT_DROP"] == 0
    polled = run_firmware("linear_solve", cfg, simulator, quiet=True)
    assert polled["firmware"]["status"] == "DEMON_OK"
    assert fw["result"]["x_q16"] == polled["firmware"]["result"]["x_q16"]
    assert fw["result"]["sum"] == polled["firmware"]["result"]["sum"]
    # interrupts did the work: the FIFO is touched only by the ISR's drains (CAP_STATUS, CAP_SEQ,
    # whole samples, CAP_STATUS), never polled; each drain follows an interrupt
    assert fw["irq_rises"] >= 1
    rows = _trace(trace_path)
    assert len(rows) == fw["reads"] + fw["writes"]
    n = cfg.n
    assert sum(r["register"].startswith("CAP_DATA") for r in rows) == total * n
    reg = [r["register"] for r in rows]
    for i, name in enumerate(reg):
        if name == "CAP_STATUS":
            opens = i + 1 < len(reg) and reg[i + 1] == "CAP_SEQ"
            closes = reg[i - 1] == f"CAP_DATA[{n - 1}]"
            empty = reg[i - 1] == "CAP_SEQ" or (i + 1 < len(reg) and not reg[i + 1].startswith("CAP_"))
            assert opens or closes or empty, (i, reg[i - 2: i + 3])
    # a drain takes at most IRQ_DRAIN_MAX = 8 samples (programs/linear_solve.c)
    assert reg.count("CAP_SEQ") >= total // 8
    C = regs.IRQ_STATUS
    clears = [r for r in rows if r["op"] == "W" and r["register"] == "IRQ_STATUS"]
    assert clears and all(int(r["value"], 16) in (C.field("CAP_LEVEL").put(1), 0x1F) for r in clears)
    enables = [int(r["value"], 16) for r in rows if r["op"] == "W" and r["register"] == "IRQ_ENABLE"]
    assert enables[0] == C.field("CAP_LEVEL").put(1) | C.field("CAP_OVERFLOW").put(1) and enables[-1] == 0


# ---- the bus-latency model -----------------------------------------------------------------------

@pytest.mark.sim
def test_bus_wait_states_lengthen_every_access_exactly(tmp_path):
    # ceil(wait_states * cpu_clock_ratio) demon cycles after every response: consecutive CAP_DATA
    # reads of one sample are that many cycles further apart than without the model; the loop and
    # the answer do not change (the FIFO absorbs the slower reads at this latency).
    cfg = _config(**{"run.burn_in_samples": 10, "run.samples": 60})

    def gaps(path):
        rows = _trace(path)
        return [int(b["cycle"]) - int(a["cycle"]) for a, b in zip(rows, rows[1:])
                if a["register"].startswith("CAP_DATA") and b["register"].startswith("CAP_DATA")]

    base, _ = _run_ok("linear_solve", cfg, "icarus", tmp_path / "t0.csv")
    slow = run_firmware("linear_solve", cfg, "icarus", trace=tmp_path / "t1.csv", quiet=True,
                        bus_wait_states=2, cpu_clock_ratio=1.5)
    assert slow["firmware"]["status"] == "DEMON_OK" and slow["bit_exact"]
    assert slow["firmware"]["access_extra_cycles"] == 3
    g0, g1 = gaps(tmp_path / "t0.csv"), gaps(tmp_path / "t1.csv")
    assert len(g0) == len(g1) > 0
    assert set(np.array(g1) - np.array(g0)) == {3}
    assert slow["firmware"]["result"]["x_q16"] == base["firmware"]["result"]["x_q16"]
