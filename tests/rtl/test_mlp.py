"""RTL regression of the score-network demon: rtl/demon_top.v with FORCE_UNIT=1 (demon_mlp,
demon_sched) against the golden MLPDemon, under cocotb 2.x.

One pytest node per (simulator, parameter set): it builds tb_demon_top once into its own build
directory (the test's temporary folder: ``pytest -n auto`` never shares one, the repository stays clean) and runs every cocotb
test of tests/rtl/cocotb_demon_mlp.py on that build. A missing simulator fails the node with the
install command (demonloop.cosim.simulators.SimulatorMissing); nothing is skipped.

Seeds: ``DEMONLOOP_SEED=<n>`` replays a run; by default each parameter set has a fixed seed
(printed, and logged by every cocotb test). Waveforms: ``WAVES=1`` (FST in the build directory).

    .venv/bin/python -m pytest tests/rtl/test_mlp.py -k icarus
    .venv/bin/python -m pytest tests/rtl/test_mlp.py -k "verilator and h3"
"""

from __future__ import annotations

import pytest

from demonloop.cosim import simulators as sim
from demonloop.demon.mlp import MLPSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding


PARAM_SETS = {
    # one hidden layer, ReLU, every output row in its own lane except the hidden layer's 4 groups;
    # floor and saturate; the operand format is the ADC's (x_bits - 1 > act.frac_bits)
    "n4e2-h16-p4-relu-trn-sat": MLPSpec(
        n=4, emb=2, hidden=(16,), x_bits=10, f_bits=10, ctrl_bits=8,
        weight=QFormat(3, 8), bias=QFormat(4, 8), act=QFormat(4, 7), scale=QFormat(4, 8),
        activation="relu", multipliers=4, sched_len=16),
    # three hidden layers (both activation buffers, ping-pong twice), hard-tanh, P = 3 dividing no
    # layer (partly filled last groups, 2 force cycles), convergent rounding, wrap; the operand
    # format is the activations' (act.frac_bits > x_bits - 1)
    "n5e3-h7x6x4-p3-hardtanh-rndconv-wrap": MLPSpec(
        n=5, emb=3, hidden=(7, 6, 4), x_bits=8, f_bits=9, ctrl_bits=6,
        weight=QFormat(2, 9), bias=QFormat(3, 10), act=QFormat(3, 9), scale=QFormat(3, 9),
        activation="hardtanh", multipliers=3, sched_len=12,
        rounding=Rounding.RND_CONV, overflow=Overflow.WRAP),
    # the table activation: two hidden layers (two gap cycles), P = 2 dividing neither hidden
    # layer, round half up, saturate; random tables (every slope sign) under the whole suite
    "n3e2-h5x3-p2-table-rnd-sat": MLPSpec(
        n=3, emb=2, hidden=(5, 3), x_bits=9, f_bits=10, ctrl_bits=8,
        weight=QFormat(3, 8), bias=QFormat(4, 8), act=QFormat(3, 8), scale=QFormat(3, 9),
        activation="table", multipliers=2, sched_len=8, rounding=Rounding.RND, overflow=Overflow.SAT,
        table_bits=5, table_frac=11),
    # the table sweep instance (cocotb test_table_sweep): hidden unit = input, force code =
    # activation, act as wide as the ADC code, so all 256 input codes cross every table entry
    "n2-h2-p2-table-sweep": MLPSpec(
        n=2, emb=0, hidden=(2,), x_bits=8, f_bits=8, ctrl_bits=8,
        weight=QFormat(3, 4), bias=QFormat(2, 4), act=QFormat(2, 6), scale=QFormat(1, 7),
        activation="table", multipliers=2, sched_len=4, rounding=Rounding.RND_CONV, overflow=Overflow.SAT,
        table_bits=5, table_frac=9),
}


@pytest.mark.sim
@pytest.mark.parametrize("name", list(PARAM_SETS))
@pytest.mark.parametrize("simulator", sim.cocotb_names())
def test_rtl_mlp(simulator: str, name: str, cocotb_regression) -> None:
    spec = PARAM_SETS[name]
    params = sim.hdl_parameters(spec, clk_period_ns=10)
    assert sim.spec_from_parameters(params) == spec
    cocotb_regression(simulator, params, "cocotb_demon_mlp", name)


def test_parameter_sets_are_distinct_corners() -> None:
    """The sets cover both operand alignments, both activations, 1 and 3 hidden layers, full and
    partly filled lane groups, and a force pass of one and of several cycles."""
    a, b = PARAM_SETS["n4e2-h16-p4-relu-trn-sat"], PARAM_SETS["n5e3-h7x6x4-p3-hardtanh-rndconv-wrap"]
    assert a.x_shift == 0 < a.act_shift and b.act_shift == 0 < b.x_shift
    assert {a.activation, b.activation} == {"relu", "hardtanh"}
    assert (len(a.hidden), len(b.hidden)) == (1, 3)
    assert a.force_cycles == 1 and b.force_cycles == 2
    assert any(o % b.multipliers for o, _ in b.layer_shapes)
    t, w = PARAM_SETS["n3e2-h5x3-p2-table-rnd-sat"], PARAM_SETS["n2-h2-p2-table-sweep"]
    assert t.table_cycles == 2 and t.latency_cycles == t.mac_cycles + t.force_cycles + 1 + 2
    assert all(o % t.multipliers for o in t.hidden)
    assert w.act.width == w.x_bits and w.x_shift == 0       # the sweep's hidden units are the inputs
