"""``demonloop firmware run PROGRAM CONFIG``: bad input is one line and exit 2 with nothing
written; a run prints one JSON object whose firmware answer is scored, and writes the trace."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.cli.test_main import run_cli

DEFAULT = REPO / "hw_configs" / "spu8_linear_solve.yaml"
QUICK = ["--set", "run.samples=150", "--set", "run.burn_in_samples=30"]


@pytest.mark.parametrize("argv,field,words", [
    (["nosuch", str(DEFAULT)], "PROGRAM", "diffusion"),
    (["linear_solve", "missing.yaml"], "CONFIG", "no such file"),
    (["linear_solve", str(REPO / "hw_configs" / "gauss16_digital.yaml")], "workload.kind", "linear_solve workload"),
    (["linear_solve", str(REPO / "hw_configs" / "diffusion_mixture.yaml")], "workload.kind", "linear_solve workload"),
    (["anneal", str(REPO / "hw_configs" / "diffusion_mixture.yaml")], "demon.kind", "linear force unit"),
    (["linear_solve", str(DEFAULT), "--set", "adc.sample_period_cycles=5"], "adc.sample_period_cycles",
     "initiation interval"),
    (["linear_solve", str(DEFAULT), "--trace", "/nonexistent-folder/t.csv"], "--trace", "does not exist"),
    (["linear_solve", str(DEFAULT), "--demon", "golden"], "--demon", "icarus"),
    (["diffusion", str(DEFAULT)], "workload.kind", "diffusion workload"),
    (["diffusion", str(REPO / "hw_configs" / "posterior_wells.yaml")], "workload.kind", "diffusion workload"),
    (["linear_solve", str(DEFAULT), "--bus-wait-states", "-1"], "--bus-wait-states", "0..100000"),
    (["linear_solve", str(DEFAULT), "--cpu-clock-ratio", "0"], "--cpu-clock-ratio", "0.01..1000"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, field, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["firmware", "run", *argv], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0] and words in lines[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.sim
def test_json_run_scores_the_firmware_and_writes_the_trace(tmp_path, capsys):
    trace = tmp_path / "trace.csv"
    code, out, err = run_cli(["firmware", "run", "linear_solve", str(DEFAULT), "--json", "--trace", str(trace),
                              *QUICK], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    rep = json.loads(lines[0])
    fw = rep["firmware"]
    assert fw["status"] == "DEMON_OK" and rep["bit_exact"] and rep["simulator"] == "icarus"
    assert fw["result"]["count"] == 150 and len(fw["solution"]) == 8
    assert fw["rel_error"] < fw["rel_error_bound"]
    rows = [r for r in trace.read_text().splitlines() if not r.startswith("#")]
    assert rows[0] == "cycle,op,offset,value,resp,register" and len(rows) - 1 == fw["reads"] + fw["writes"]
