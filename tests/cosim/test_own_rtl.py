"""A user's demon in the loop (``run --rtl RTL.yaml --reference ...``): an unchanged copy of rtl/ in
another folder is the project's demon, bit for bit; ``none`` lets the RTL drive the plant; a
user's model is checked code for code; a demon without the bus runs; and every bad RTL.yaml is one
line and exit 2 before anything is built."""

from __future__ import annotations

import json
import shutil

import pytest

from demonloop.cosim.simulators import cocotb_names
from tests.cli.test_main import run_cli
from tests.conftest import REPO

QUICK = ["--set", "run.samples=150", "--set", "run.burn_in_samples=20"]
NEGATE = REPO / "tests" / "rtl" / "negate_demon"


def rtl_copy(tmp_path):
    """rtl/ copied unchanged to another folder, described by the three keys only."""
    d = tmp_path / "their_rtl"
    shutil.copytree(REPO / "rtl", d)
    (d / "RTL.yaml").write_text("sources: ['*.v']\ninclude_dirs: ['.']\ntoplevel: demon_top\n")
    return d / "RTL.yaml"


def report(capsys, *argv, code=0):
    rc, out, err = run_cli(["run", *argv, "--json", "--no-plot"], capsys)
    assert rc == code, err
    return json.loads(out)


@pytest.mark.sim
@pytest.mark.parametrize("simulator", cocotb_names())
def test_a_copy_of_the_project_rtl_is_bit_exact(simulator, tmp_path, capsys):
    rtl = rtl_copy(tmp_path)
    gold = report(capsys, "gauss16_digital", "--chains", "1", "--out", str(tmp_path / "g"), *QUICK)
    rep = report(capsys, "gauss16_digital", "--demon", simulator, "--rtl", str(rtl), "--out", str(tmp_path / "r"), *QUICK)
    assert rep["bit_exact"] and rep["reference"] == "golden" and rep["rtl"]["toplevel"] == "demon_top"
    assert rep["codes_sha256"] == gold["codes_sha256"]


@pytest.mark.sim
def test_reference_none_lets_the_rtl_drive_and_a_model_is_checked_code_for_code(tmp_path, capsys):
    models = tmp_path / "models.py"
    models.write_text("def same(program):\n    d = program.demon()\n    return lambda X: d.force(X)[0]\n\n"
                      "def off(program):\n    d = program.demon()\n    return lambda X: d.force(X)[0] + 1\n")
    args = ["gauss16_digital", "--demon", "verilator", "--out", str(tmp_path / "o"), *QUICK]
    gold = report(capsys, *args)
    free = report(capsys, *args, "--reference", "none")
    # the project's RTL drives the plant with the golden model's codes at the golden model's cycles
    assert free["codes_sha256"] == gold["codes_sha256"] and "bit_exact" not in free and free["reference"] == "none"
    assert free["metrics"] == gold["metrics"] and free["n_updates"] == gold["n_updates"]
    same = report(capsys, *args, "--reference", f"{models}:same")
    assert same["bit_exact"] and same["codes_sha256"] == gold["codes_sha256"]
    off = report(capsys, *args, "--reference", f"{models}:off", code=1)
    mm = off["mismatch"]
    assert not off["bit_exact"] and mm["kind"] == "code" and mm["sample"] == 0
    assert mm["rtl_code"] + 1 == mm["golden_code"]


@pytest.mark.sim
def test_a_demon_without_the_bus_runs_and_matches_its_model(tmp_path, capsys):
    args = ["spu8_linear_solve", "--demon", "icarus", "--rtl", str(NEGATE / "RTL.yaml"), "--out", str(tmp_path / "o"), *QUICK]
    rep = report(capsys, *args, "--reference", f"{NEGATE / 'model.py'}:negate")
    assert rep["bit_exact"] and rep["rtl"]["has_axi"] is False and rep["rtl_counters"] is None
    assert rep["demon_latency_measured"] == [1] and rep["n_updates"] == 170 and rep["unanswered_inputs"] == 0
    golden = report(capsys, *args, code=1)                  # the golden model is the linear unit's
    assert golden["mismatch"]["kind"] in ("code", "timing")


BAD = [
    # (RTL.yaml text or a callable of the folder, field the message names, words)
    ("sources: [nope.v]\ntoplevel: demon_top\n", "rtl.sources", "matches no file"),
    ("sources: []\ntoplevel: demon_top\n", "rtl.sources", "at least 1"),
    ("sources: ['*.v']\n", "rtl.toplevel", "required"),
    ("sources: ['*.v']\ntoplevel: demon_top\nportz: {}\n", "rtl.portz", "unknown key"),
    ("sources: ['*.v']\ninclude_dirs: [nodir]\ntoplevel: demon_top\n", "rtl.include_dirs", "no such folder"),
    ("sources: ['*.v']\ninclude_dirs: ['.']\ntoplevel: demon_top\nports: {in_valid: adc_valid}\n", "rtl.ports", "rename the top"),
    ("sources: ['*.v']\ninclude_dirs: ['.']\ntoplevel: demon_top\nports: {in_vld: x}\n", "rtl.ports.in_vld", "not a contract port"),
    ("sources: ['*.v']\ninclude_dirs: ['.']\ntoplevel: demon_top\nparameters: {NOPE: 1}\n", "rtl.parameters.NOPE", "no such parameter"),
    ("sources: ['*.v']\ninclude_dirs: ['.']\ntoplevel: demon_top\nparameters: {N: 4}\n", "port in_data", "bits wide"),
    ("sources: [demon_top.v]\ninclude_dirs: ['.']\ntoplevel: demon_top\n", "rtl.sources", "does not list"),
    ("sources: [demon_top.v]\ntoplevel: demon_top\n", "--rtl", "cannot elaborate"),
    ("- not a mapping\n", "rtl", "mapping"),
    ("sources: ['*.v'\n", "rtl", "line"),
]


@pytest.mark.sim            # the ports are checked by elaborating the top with Verilator
@pytest.mark.parametrize("text,field,words", BAD, ids=[b[1] + "-" + b[2].replace(" ", "_") for b in BAD])
def test_a_bad_rtl_yaml_is_one_line_and_exit_2_before_any_build(text, field, words, tmp_path, capsys,
                                                                monkeypatch):
    rtl = rtl_copy(tmp_path)
    rtl.write_text(text)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEMONLOOP_CACHE", str(cache))
    rc, out, err = run_cli(["run", "--demon", "icarus", "--rtl", str(rtl), "--out", str(tmp_path / "o")], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: "), err
    assert f"{field}:" in lines[0] and words in lines[0], lines[0]
    assert not (tmp_path / "o").exists() and not cache.exists()


def test_rtl_and_reference_need_an_rtl_demon(tmp_path, capsys):
    for flag, value in (("--rtl", "x.yaml"), ("--reference", "none")):
        rc, _, err = run_cli(["run", flag, value, "--out", str(tmp_path / "o")], capsys)
        assert rc == 2 and f"error: {flag}: applies to an RTL demon" in err


@pytest.mark.parametrize("value,words", [("bogus", "MODULE:FUNCTION"), ("nosuchmodule:f", "cannot import"),
                                         ("/nonexistent/m.py:f", "no such file"), ("json:nosuch", "has no nosuch")])
def test_a_bad_reference_is_one_line(value, words, tmp_path, capsys):
    rc, _, err = run_cli(["run", "--demon", "icarus", "--reference", value, "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and err.startswith("error: --reference: ") and words in err and len(err.strip().splitlines()) == 1
