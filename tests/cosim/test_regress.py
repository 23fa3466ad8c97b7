"""``demonloop regress``: the conformance regression passes on the project's demon and on a copy of
it in another folder (JUnit written), and fails, naming the tests, on a demon whose backpressure
handling is broken (tests/rtl/broken_backpressure) and against a wrong reference."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from tests.cli.test_main import run_cli
from tests.conftest import REPO
from tests.cosim.test_own_rtl import rtl_copy

BROKEN = REPO / "tests" / "rtl" / "broken_backpressure" / "RTL.yaml"


def regress(capsys, *argv):
    rc, out, err = run_cli(["regress", "--json", "--vectors", "300", *argv], capsys)
    return rc, json.loads(out), err


@pytest.mark.sim
def test_the_project_rtl_and_a_copy_of_it_conform(tmp_path, capsys):
    junit = tmp_path / "results.xml"
    rc, rep, err = regress(capsys, "--rtl", str(rtl_copy(tmp_path)), "--simulator", "verilator", "--junit", str(junit))
    assert rc == 0 and rep["failed"] == 0 and rep["passed"] == len(rep["tests"]) >= 8, err
    cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    assert len(cases) == len(rep["tests"]) and not [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    rc, rep, _ = regress(capsys, "--config", "diffusion_spiral", "--simulator", "icarus", "--vectors", "100")
    assert rc == 0 and rep["failed"] == 0


@pytest.mark.sim
def test_broken_backpressure_fails_naming_the_tests(tmp_path, capsys):
    rc, rep, _ = regress(capsys, "--rtl", str(BROKEN), "--simulator", "verilator")
    failed = sorted(c["name"] for c in rep["tests"] if not c["passed"])
    assert rc == 1 and failed and all("backpressure_inserter=random" in name for name in failed), failed
    assert all("answered" in c["message"] for c in rep["tests"] if not c["passed"])
    rc, out, _ = run_cli(["regress", "--rtl", str(BROKEN), "--simulator", "verilator", "--vectors", "300"], capsys)
    assert rc == 1 and "FAIL  idle_and_backpressure/idle_inserter=None/backpressure_inserter=random" in out


@pytest.mark.sim
def test_a_wrong_reference_fails(tmp_path, capsys):
    models = tmp_path / "m.py"
    models.write_text("def off(program):\n    d = program.demon()\n    return lambda X: d.force(X)[0] + 1\n")
    rc, rep, _ = regress(capsys, "--simulator", "icarus", "--reference", f"{models}:off", "--vectors", "50")
    assert rc == 1 and rep["failed"] == len(rep["tests"]) - 0 - sum(c["passed"] for c in rep["tests"])
    assert "differs from" in next(c["message"] for c in rep["tests"] if c["name"] == "vectors")
