"""examples/own_demon works as its README says: the three reference modes from the command line,
the serial demon's code stream equal to the golden model's with truncation, its own cocotb test
through demonloop.cocotb (the same code stream as the command line's), and the conformance
regression against its model."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.cli.test_main import run_cli
from tests.conftest import REPO

EX = REPO / "examples" / "own_demon"
CONFIG = str(EX / "gauss8_digital.yaml")
RTL = str(EX / "rtl.yaml")
MODEL = f"{EX / 'model.py'}:serial_model"
SHORT = ["--set", "run.samples=600"]


def run(capsys, *argv):
    rc, out, err = run_cli(["run", CONFIG, "--json", "--no-plot", *argv], capsys)
    return rc, (json.loads(out) if out.strip() else None), err


@pytest.mark.sim
def test_the_three_reference_modes(tmp_path, capsys):
    base = ["--demon", "verilator", "--rtl", RTL, "--out", str(tmp_path / "o"), *SHORT]
    rc, free, err = run(capsys, *base, "--reference", "none")
    assert rc == 0 and free["reference"] == "none" and "bit_exact" not in free, err
    assert free["metrics"]["cov_rel_error"] is not None and free["demon_latency_measured"] == [65]
    rc, gold, _ = run(capsys, *base, "--reference", "golden")
    assert rc == 1 and not gold["bit_exact"] and gold["mismatch"]["kind"] == "code"
    mm = gold["mismatch"]
    assert mm["rtl_code"] in (mm["golden_code"] - 1, mm["golden_code"])     # floor vs round half to even
    rc, model, _ = run(capsys, *base, "--reference", MODEL)
    assert rc == 0 and model["bit_exact"] and model["codes_sha256"] == free["codes_sha256"]
    # the serial demon's arithmetic is the golden model's with truncation
    rc, trn, _ = run(capsys, "--chains", "1", "--set", "demon.rounding=TRN", "--out", str(tmp_path / "t"), *SHORT)
    assert rc == 0 and trn["codes_sha256"] == free["codes_sha256"]


@pytest.mark.sim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_its_own_cocotb_test_through_demonloop_cocotb(simulator, tmp_path, capsys):
    r = subprocess.run([sys.executable, str(EX / "run_test.py"), simulator], capture_output=True, text=True,
                       cwd=tmp_path, timeout=900)
    assert r.returncode == 0 and "1 of 1 cocotb tests passed" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    codes = re.search(r"codes ([0-9a-f]{16})", r.stdout + r.stderr).group(1)
    rc, free, _ = run(capsys, "--demon", simulator, "--rtl", RTL, "--reference", "none", "--out", str(tmp_path / "o"), *SHORT)
    assert rc == 0 and free["codes_sha256"].startswith(codes)
    assert sorted(p.name for p in EX.iterdir()) == sorted(["README.md", "gauss8_digital.yaml", "model.py", "rtl",
                                                          "rtl.yaml", "run_test.py", "test_serial_demon.py"]
                                                         + (["__pycache__"] if (EX / "__pycache__").exists() else []))


@pytest.mark.sim
def test_the_conformance_regression_against_its_model(capsys):
    rc, out, err = run_cli(["regress", "--rtl", RTL, "--config", CONFIG, "--simulator", "verilator",
                            "--reference", MODEL, "--vectors", "300", "--json"], capsys)
    rep = json.loads(out)
    assert rc == 0 and rep["failed"] == 0 and rep["passed"] >= 8, err
