"""Closed loop with the polynomial (Ising) RTL demon under cocotb: the annealing run's DAC code
stream equals the golden run's, bit for bit and cycle for cycle, on Icarus and Verilator (the
schedule stepped through all its rows, several chains streamed back to back); and the
demon-interface conformance regression passes with random full-range programs (saturating
couplings, cubes and outputs; random schedule lengths and dwells)."""

import json

import pytest

from demonloop.config import load_config
from demonloop.cosim.run import run_cosim
from demonloop.cosim.simulators import cocotb_names
from demonloop.loop import run_golden_streamed
from tests.cli.test_main import run_cli
from tests.conftest import REPO

MAXCUT = REPO / "hw_configs" / "maxcut_anneal.yaml"


@pytest.mark.sim
@pytest.mark.parametrize("simulator", cocotb_names())
def test_anneal_chains_bit_exact(simulator):
    cfg = load_config(MAXCUT).with_overrides({"chains": 2, "workload.schedule.dwell_samples": 8,
                                              "workload.baseline.enabled": False})
    rtl = run_cosim(cfg, simulator, quiet=True)
    gold, _ = run_golden_streamed(cfg, 2)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["codes_sha256_all"] == gold["codes_sha256_all"]
    assert rtl["outputs_checked"] == rtl["n_updates"] == 2 * cfg.total_samples
    assert rtl["demon_latency_measured"] == [cfg.demon_spec().latency_cycles]
    assert rtl["metrics"]["best"] == gold["metrics"]["best"]


@pytest.mark.sim
@pytest.mark.parametrize("simulator", cocotb_names())
def test_polynomial_demon_conforms(simulator, capsys):
    rc, out, err = run_cli(["regress", "--json", "--vectors", "300", "--config", str(MAXCUT),
                            "--simulator", simulator, "--seed", "3"], capsys)
    rep = json.loads(out)
    assert rc == 0 and rep["failed"] == 0 and rep["passed"] == len(rep["tests"]) >= 8, err
