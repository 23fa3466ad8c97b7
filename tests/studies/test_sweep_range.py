"""Sweep rows name why a run diverged: ``range`` when the linearised loop is predicted stable (the
DAC, ADC or rails saturated), ``unstable`` when it is predicted unstable."""

from __future__ import annotations

from demonloop.config import validate_config
from demonloop.studies.sweep import Sweep, parse_axes, run_sweep
from tests.workloads.test_design_rules import twelve_unit_config


def test_dac_saturation_in_a_stable_loop_is_a_range_divergence(tmp_path):
    # the 12-unit digital Gaussian: predicted stable, but its force needs ~2.4x the DAC range
    # (check's dac_saturation); a 10x wider DAC with a slower loop is fine
    data = twelve_unit_config()
    data["chains"] = 64
    data["run"] = {"burn_in_samples": 50, "samples": 400}
    cfg = validate_config(data)
    sw = Sweep(cfg, parse_axes(["dac.full_scale_A=1e-4,1e-3", "compiler.time_constant_samples=4,24"]),
               seeds=1, base_seed=1, out_dir=tmp_path / "s")
    rows = {(r["dac.full_scale_A"], r["compiler.time_constant_samples"]): r
            for r in run_sweep(sw, workers=1, progress=False)["rows"]}
    bad = rows[(1e-4, 4)]
    assert bad["predicted_stable"] is True and bad["stable"] is False
    assert bad["diverged_cause"] == "dac_saturation" and bad["diverged_kind"] == "range"
    good = rows[(1e-3, 24)]
    assert good["stable"] is True and good["diverged_kind"] is None
