"""RTL regression of the demon: rtl/demon_top.v against the golden LinearDemon, under cocotb 2.x.

One pytest node per (simulator, parameter set): it builds tb_demon_top once into its own build
directory (the test's temporary folder: ``pytest -n auto`` never shares one, the repository stays clean) and runs every cocotb
test of tests/rtl/cocotb_demon_top.py on that build. A missing simulator fails the node with the
install command (demonloop.cosim.simulators.SimulatorMissing); nothing is skipped.

Seeds: ``DEMONLOOP_SEED=<n>`` replays a run; by default each parameter set has a fixed seed
(printed, and logged by every cocotb test). Waveforms: ``WAVES=1`` (FST in the build directory).

    .venv/bin/python -m pytest tests/rtl/test_linear.py -k icarus
    .venv/bin/python -m pytest tests/rtl/test_linear.py -k "verilator and n16"
"""

from __future__ import annotations

import pytest

from demonloop.cosim import simulators as sim
from demonloop.demon.linear import LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding


PARAM_SETS = {
    # the small one: every row in its own multiplier, floor, saturate
    "n4p4-trn-sat": LinearDemonSpec(
        n=4, multipliers=4, x_bits=10, f_bits=10, coef=QFormat(3, 9), bias=QFormat(3, 9),
        rounding=Rounding.TRN, overflow=Overflow.SAT),
    # P does not divide N (5 lanes asked, 4 built, 4 groups), convergent rounding
    "n16p5-rndconv-sat": LinearDemonSpec(
        n=16, multipliers=5, x_bits=12, f_bits=14, coef=QFormat(5, 14), bias=QFormat(4, 16),
        rounding=Rounding.RND_CONV, overflow=Overflow.SAT),
    # a partly filled last lane (rows 3..4 of a 3-row group), round half up, wrap
    "n5p2-rnd-wrap": LinearDemonSpec(
        n=5, multipliers=2, x_bits=8, f_bits=9, coef=QFormat(2, 10), bias=QFormat(4, 6),
        rounding=Rounding.RND, overflow=Overflow.WRAP),
}


@pytest.mark.sim
@pytest.mark.parametrize("name", list(PARAM_SETS))
@pytest.mark.parametrize("simulator", sim.cocotb_names())
def test_rtl_demon(simulator: str, name: str, cocotb_regression) -> None:
    spec = PARAM_SETS[name]
    params = sim.hdl_parameters(spec, clk_period_ns=10)
    cocotb_regression(simulator, params, "cocotb_demon_top", name)
