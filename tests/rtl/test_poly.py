"""RTL regression of the polynomial demon's bus side: rtl/demon_top.v with FORCE_UNIT=2, the cocotb
tests of tests/rtl/cocotb_demon_poly.py, one build per (simulator, parameter set).

    .venv/bin/python -m pytest tests/rtl/test_poly.py -k icarus
"""

from __future__ import annotations

import pytest

from demonloop.cosim import simulators as sim
from demonloop.demon.polynomial import PolySpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding

PARAM_SETS = {
    # P does not divide N, convergent rounding, saturation
    "n5p2-rndconv-sat": PolySpec(n=5, multipliers=2, x_bits=10, f_bits=12, coef=QFormat(2, 12), bias=QFormat(2, 12),
                                 sched=QFormat(6, 12), sched_len=7, rounding=Rounding.RND_CONV, overflow=Overflow.SAT),
    # one unit, the narrowest schedule rows, truncation, wrap
    "n1p1-trn-wrap": PolySpec(n=1, multipliers=1, x_bits=8, f_bits=8, coef=QFormat(3, 5), bias=QFormat(3, 5),
                              sched=QFormat(3, 6), sched_len=3, rounding=Rounding.TRN, overflow=Overflow.WRAP),
}


@pytest.mark.sim
@pytest.mark.parametrize("name", list(PARAM_SETS))
@pytest.mark.parametrize("simulator", sim.cocotb_names())
def test_rtl_poly(simulator: str, name: str, cocotb_regression) -> None:
    spec = PARAM_SETS[name]
    params = sim.hdl_parameters(spec, clk_period_ns=10)
    assert sim.spec_from_parameters(params) == spec
    cocotb_regression(simulator, params, "cocotb_demon_poly", name)
