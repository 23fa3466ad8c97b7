"""The Python API (``import demonloop``): the same configs, reports and hashes as the command line,
the answer and the raw samples as numpy arrays, and the README's example as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import demonloop
from tests.cli.test_main import run_cli
from tests.conftest import REPO

DEFAULT = REPO / "hw_configs" / "spu8_linear_solve.yaml"
QUICK = {"run.samples": 150, "run.burn_in_samples": 30, "chains": 16}


def test_load_config_from_a_path_or_a_dict_with_dotted_overrides() -> None:
    a = demonloop.load_config(DEFAULT, overrides=QUICK)
    # parsed as the loader parses files (YAML 1.2 numbers: PyYAML's safe_load reads 100.0e6 as a string)
    from demonloop.config.yaml_io import parse_yaml

    b = demonloop.load_config(parse_yaml(DEFAULT.read_text()), overrides=QUICK)
    assert a.model_dump() == b.model_dump()
    assert a.run.samples == 150 and a.chains == 16
    with pytest.raises(demonloop.ConfigError) as exc:
        demonloop.load_config(DEFAULT, overrides={"adc.bits": 1})
    assert exc.value.field == "adc.bits"


def test_check_is_the_check_command(capsys) -> None:
    rep = demonloop.check(DEFAULT)
    code, out, _ = run_cli(["check", str(DEFAULT), "--json"], capsys)
    assert code == 0 and rep == json.loads(out)


def test_run_gives_the_command_lines_report_the_estimate_and_the_samples(tmp_path, capsys) -> None:
    res = demonloop.run(demonloop.load_config(DEFAULT, overrides=QUICK), seed=3)
    code, out, _ = run_cli(["run", str(DEFAULT), "--json", "--no-plot", "--seed", "3", "--chains", "16",
                            "--out", str(tmp_path), "--set", "run.samples=150", "--set", "run.burn_in_samples=30"],
                           capsys)
    cli = json.loads(out)
    assert res.report["codes_sha256"] == cli["codes_sha256"] and res.metrics == cli["metrics"]
    assert set(res.report) == set(cli) - {"config_path"}
    # the estimate is the reported solution; the samples are every code of the traced chains
    assert np.array_equal(res.estimate["x_hat"], np.array(cli["metrics"]["solution"]))
    cfg = res.config
    assert res.samples.shape == (cfg.total_samples, cfg.run.trace_chains, cfg.n)
    # the traced codes' mean after burn-in, in x units, is chain 0..15's share of the estimate
    x = res.samples[cfg.run.burn_in_samples:].astype(np.float64) * 2.0 ** (1 - cfg.adc.bits)
    assert np.allclose(x.mean(axis=(0, 1)), res.estimate["mean_x"], rtol=0, atol=1e-12)


@pytest.mark.sim
def test_an_rtl_run_has_the_golden_runs_codes() -> None:
    cfg = demonloop.load_config(DEFAULT, overrides={"run.samples": 60, "run.burn_in_samples": 10})
    gold = demonloop.run(cfg, chains=1)
    rtl = demonloop.run(cfg, demon="icarus")
    assert rtl.report["bit_exact"] and rtl.report["codes_sha256"] == gold.report["codes_sha256"]
    assert np.array_equal(rtl.samples[:, 0], gold.samples[:, 0])
    assert np.array_equal(rtl.estimate["x_hat"], gold.estimate["x_hat"])


def test_the_readmes_example_runs_as_written(tmp_path) -> None:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr
