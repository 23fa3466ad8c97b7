"""RTL regression of the demon's capture FIFO (CAP_STATUS, CAP_SEQ, CAP_DATA, CTRL.CAP_CLEAR):
tests/rtl/cocotb_demon_capture.py on Icarus and Verilator, one build per (simulator, parameter set).

    .venv/bin/python -m pytest tests/rtl/test_capture.py -k icarus
"""

from __future__ import annotations

import pytest

from demonloop.cosim import simulators as sim
from demonloop.demon.linear import LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding


PARAM_SETS = {
    # a shallow FIFO (overflow after 8 samples), 10-bit codes
    "n4-depth8": (LinearDemonSpec(n=4, multipliers=4, x_bits=10, f_bits=10, coef=QFormat(3, 9),
                                  bias=QFormat(3, 9), rounding=Rounding.TRN, overflow=Overflow.SAT), 8),
    # odd channel count, 8-bit codes (sign extension from bit 7), the smallest legal depth
    "n5-depth2": (LinearDemonSpec(n=5, multipliers=2, x_bits=8, f_bits=9, coef=QFormat(2, 10),
                                  bias=QFormat(4, 6), rounding=Rounding.RND, overflow=Overflow.WRAP), 2),
    # the default depth, wide codes
    "n3-depth32": (LinearDemonSpec(n=3, multipliers=3, x_bits=16, f_bits=12, coef=QFormat(4, 12),
                                   bias=QFormat(2, 14), rounding=Rounding.RND_CONV, overflow=Overflow.SAT), 32),
}


@pytest.mark.sim
@pytest.mark.parametrize("name", list(PARAM_SETS))
@pytest.mark.parametrize("simulator", sim.cocotb_names())
def test_rtl_capture(simulator: str, name: str, cocotb_regression) -> None:
    spec, depth = PARAM_SETS[name]
    params = sim.hdl_parameters(spec, clk_period_ns=10)
    params["CAP_DEPTH"] = depth
    cocotb_regression(simulator, params, "cocotb_demon_capture", name)
