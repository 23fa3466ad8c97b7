"""Closed loop with the RTL demon under cocotb: the DAC code stream equals the golden run's, bit
for bit and cycle for cycle, on Icarus and on Verilator; the measured latency equals the
prediction; a deliberately different RTL is caught at the first differing code."""


import pytest

from demonloop.cosim.simulators import cocotb_names

from demonloop.config import load_config
from demonloop.cosim.run import run_cosim
from demonloop.loop import run_golden
from tests.conftest import REPO

DEFAULT = REPO / "hw_configs" / "spu8_linear_solve.yaml"
DIGITAL = REPO / "hw_configs" / "gauss16_digital.yaml"
SIMS = list(cocotb_names())


@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMS)
def test_default_config_20000_updates_bit_exact(simulator):
    cfg = load_config(DEFAULT).with_overrides({"chains": 1, "run.burn_in_samples": 200, "run.samples": 19900})
    rtl = run_cosim(cfg, simulator, quiet=True)
    gold, _ = run_golden(cfg)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["n_updates"] >= 20000 and rtl["outputs_checked"] == rtl["n_updates"]
    assert rtl["codes_sha256"] == gold["codes_sha256"]
    assert rtl["metrics"] == gold["metrics"]
    assert rtl["demon_latency_measured"] == [cfg.demon_spec().latency_cycles]
    assert rtl["latency_cycles"] == gold["latency_cycles"] == cfg.loop_latency_cycles
    assert rtl["rtl_counters"] == {"CNT_IN": 20100, "CNT_OUT": 20100, "CNT_DROP": 0, "CNT_SAT": 0}


@pytest.mark.sim
@pytest.mark.parametrize("simulator", SIMS)
def test_digital_loop_with_drops_and_saturation_bit_exact(simulator):
    # The demon's full matrix in the loop, a sample period shorter than its initiation interval
    # (every other sample dropped, by both models), and a DAC range small enough to saturate.
    cfg = load_config(DIGITAL).with_overrides({
        "chains": 1, "run.burn_in_samples": 20, "run.samples": 600,
        "adc.sample_period_cycles": 40, "compiler.time_constant_samples": 80,
        "demon.coef": {"int_bits": 5, "frac_bits": 11},
    })
    rtl = run_cosim(cfg, simulator, quiet=True)
    gold, _ = run_golden(cfg)
    assert rtl["bit_exact"], rtl["mismatch"]
    assert rtl["dropped_samples"] == gold["dropped_samples"] > 0
    assert rtl["rtl_counters"]["CNT_DROP"] == gold["dropped_samples"]
    assert rtl["codes_sha256"] == gold["codes_sha256"]


@pytest.mark.sim
def test_a_different_rtl_is_caught_at_the_first_difference():
    # Build the RTL with TRN rounding while the golden model rounds RND_CONV: the checker must
    # stop at the first output whose codes differ and name the channel and both codes.
    cfg = load_config(DIGITAL).with_overrides({"chains": 1, "run.burn_in_samples": 10, "run.samples": 200})
    assert cfg.demon.rounding.value == "RND_CONV"
    rep = run_cosim(cfg, "icarus", quiet=True, hdl_overrides={"ROUNDING": 0})
    assert rep["bit_exact"] is False
    mm = rep["mismatch"]
    assert mm["kind"] == "code"
    j = mm["channel"]
    assert mm["rtl_codes"][j] != mm["golden_codes"][j]
    assert all(a == b for a, b in zip(mm["rtl_codes"][:j], mm["golden_codes"][:j]))
    # TRN is floor: the RTL code is the golden one or one below it
    assert mm["golden_code"] - mm["rtl_code"] in (0, 1) and mm["golden_code"] != mm["rtl_code"]
    assert len(mm["adc_input"]) == cfg.n


@pytest.mark.sim
def test_waves_write_an_fst(tmp_path):
    cfg = load_config(DEFAULT).with_overrides({"chains": 1, "run.burn_in_samples": 5, "run.samples": 20})
    rep = run_cosim(cfg, "icarus", waves=True, out_dir=tmp_path, quiet=True)
    assert rep["bit_exact"]
    fst = rep["waves"]
    assert fst and fst.endswith(".fst")
    from pathlib import Path
    assert Path(fst).stat().st_size > 0
