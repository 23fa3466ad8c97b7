"""``demonloop synth``: the LUT-level depth on netlists whose answer is known, and the default
config's demon on Xilinx 7-series: one DSP per multiplier lane and one block RAM per lane's
coefficient bank (the banks are written for block RAM: synchronous reads, per-byte write
enables), with every key of the report."""

from __future__ import annotations


import pytest

import demonloop
from demonloop.cosim.synth import lut_depth, synth
from tests.cli.test_main import run_cli
from tests.conftest import REPO


def _cell(typ, ins, outs):
    conns = {f"I{i}": [b] for i, b in enumerate(ins)}
    dirs = {f"I{i}": "input" for i in range(len(ins))}
    conns["O"] = [outs]
    dirs["O"] = "output"
    if typ.startswith("FD"):
        conns = {"D": [ins[0]], "Q": [outs]}
        dirs = {"D": "input", "Q": "output"}
    return {"type": typ, "connections": conns, "port_directions": dirs}


def test_lut_depth_counts_luts_between_registers_only() -> None:
    # FF(q=2) -> LUT -> LUT -> CARRY4 -> LUT -> FF, and a side path FF -> LUT -> FF
    cells = {
        "ff0": _cell("FDRE", [1], 2),
        "l1": _cell("LUT3", [2, 2], 3),
        "l2": _cell("LUT6", [3], 4),
        "c": _cell("CARRY4", [4], 5),
        "l3": _cell("LUT2", [5, 2], 6),
        "ff1": _cell("FDRE", [6], 7),
        "l4": _cell("LUT1", [7], 8),
        "ff2": _cell("FDRE", [8], 1),
    }
    assert lut_depth({"modules": {"demon_top": {"cells": cells}}}) == 3


@pytest.mark.sim
def test_default_config_maps_banks_to_block_ram_on_xc7() -> None:
    cfg = demonloop.load_config(REPO / "hw_configs" / "spu8_linear_solve.yaml")
    P = cfg.demon.multipliers
    rep = synth(cfg, "xc7", pnr=False)
    for key in ("luts", "ffs", "dsps", "block_rams", "lut_rams", "logic_depth"):
        assert isinstance(rep[key], int) and rep[key] >= 0, key
    assert rep["dsps"] == P                 # one COEF x X product per lane
    assert rep["block_rams"] == P           # each lane's A bank (N * ceil(N/P) = 8 words) in one RAMB18
    assert rep["logic_depth"] >= 1


def test_synth_bad_target_is_one_line(capsys) -> None:
    rc, out, err = run_cli(["synth", "spu8_linear_solve", "--target", "vu9p", "--json"], capsys)
    assert rc == 2 and out == "" and err.startswith("error:") and len(err.strip().splitlines()) == 1
