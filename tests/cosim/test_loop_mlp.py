"""Closed loop with the score-network RTL demon (MLP engine + schedule unit) under cocotb: the
DAC code streams (force codes and the two analog control codes) equal the golden run's, bit for
bit and cycle for cycle, on Icarus and Verilator; a diffusion of more than 5,000 demon updates
(chains streamed back to back, as the hardware runs them) and the table activation included."""

import math

import pytest

from demonloop.cosim.simulators import cocotb_names

from demonloop.config import load_config
from demonloop.cosim.run import run_cosim
from demonloop.loop import run_golden, run_golden_streamed
from tests.conftest import REPO

SPIRAL = REPO / "hw_configs" / "diffusion_spiral.yaml"
WELLS = REPO / "hw_configs" / "posterior_wells.yaml"
IRIS = REPO / "hw_configs" / "posterior_iris.yaml"


@pytest.mark.sim
@pytest.mark.parametrize("simulator", cocotb_names())
def test_one_diffusion_chain_bit_exact(simulator):
    cfg = load_config(SPIRAL).with_overrides({"chains": 1})
    rtl = run_cosim(cfg, simulator, quiet=True)
    gold, _ = run_golden(cfg)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["codes_sha256"] == gold["codes_sha256"]
    assert rtl["outputs_checked"] == rtl["n_updates"] == cfg.total_samples
    assert rtl["demon_latency_measured"] == [cfg.demon_spec().latency_cycles]
    assert rtl["rtl_counters"]["CNT_IN"] == cfg.total_samples


@pytest.mark.sim
@pytest.mark.parametrize("simulator", cocotb_names())
def test_posterior_chain_bit_exact(simulator):
    cfg = load_config(WELLS).with_overrides({"chains": 1, "run.burn_in_samples": 100, "run.samples": 1500})
    rtl = run_cosim(cfg, simulator, quiet=True)
    gold, _ = run_golden(cfg)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["codes_sha256"] == gold["codes_sha256"]


@pytest.mark.sim
@pytest.mark.parametrize("simulator", cocotb_names())
def test_table_activation_chain_bit_exact(simulator):
    """posterior_iris: the sigmoid table (ACT_TABLE written by the kind's loader) in the loop,
    its latency one gap cycle longer than the exact activations' formula."""
    cfg = load_config(IRIS).with_overrides({"chains": 1, "run.burn_in_samples": 100, "run.samples": 300})
    spec = cfg.demon_spec()
    assert spec.activation == "table" and spec.table_cycles == 1
    rtl = run_cosim(cfg, simulator, quiet=True)
    gold, _ = run_golden(cfg)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["codes_sha256"] == gold["codes_sha256"]
    assert rtl["demon_latency_measured"] == [spec.latency_cycles]


@pytest.mark.sim
def test_diffusion_over_5000_updates_bit_exact():
    cfg = load_config(SPIRAL)
    chains = math.ceil(5000 / cfg.total_samples)
    cfg = cfg.with_overrides({"chains": chains})
    rtl = run_cosim(cfg, "verilator", quiet=True)
    gold, _ = run_golden_streamed(cfg, chains)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["n_updates"] >= 5000 and rtl["outputs_checked"] == rtl["n_updates"]
    assert rtl["codes_sha256_all"] == gold["codes_sha256_all"]
    assert rtl["metrics"]["mmd2"] == gold["metrics"]["mmd2"]
