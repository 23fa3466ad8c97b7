"""The command line: bad input exits 2 with one line naming the field and the reason (no
traceback, no files); the JSON report's contract; determinism of seeds; the bundled configs."""

import copy
import json
import subprocess
import sys

import pytest
import yaml

from demonloop.cli.main import main
from tests.conftest import REPO, SMALL

DEFAULT = REPO / "hw_configs" / "spu8_linear_solve.yaml"


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def doc(**changes):
    d = copy.deepcopy(SMALL)
    for key, value in changes.items():
        cur = d
        parts = key.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        if value is _DELETE:
            del cur[parts[-1]]
        else:
            cur[parts[-1]] = value
    return yaml.safe_dump(d)


_DELETE = object()

MALFORMED = [
    # (name, yaml text, field the message must name, words the reason must contain)
    ("bad_yaml", "name: x\narray: [1, 2\n", "(yaml)", "line"),
    ("not_mapping", "- 1\n- 2\n", "(top level)", "mapping"),
    ("unknown_key", doc(bogus=1), "bogus", "unknown key"),
    ("unknown_nested", doc(**{"adc.bitz": 10}), "adc.bitz", "unknown key"),
    ("wrong_type", doc(**{"adc.bits": "twelve"}), "adc.bits", "integer"),
    ("negative_capacitance", doc(**{"array.C_F": -1e-9}), "array.C_F", "positive"),
    ("zero_bits", doc(**{"adc.bits": 0}), "adc.bits", "greater than or equal to 2"),
    ("huge_dac_bits", doc(**{"dac.bits": 30}), "dac.bits", "less than or equal to 24"),
    ("non_spd", doc(**{"workload.A": [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}), "workload.A", "positive definite"),
    ("non_symmetric", doc(**{"workload.A": [[3.0, -1.0, 0.0], [-0.5, 2.5, 0.0], [0.0, 0.0, 1.5]]}), "workload.A", "symmetric"),
    ("latency_longer_than_run", doc(**{"adc.latency_cycles": 10 ** 9}), "adc.latency_cycles", "latency"),
    ("missing_workload", doc(workload=_DELETE), "workload", "required"),
    ("b_wrong_length", doc(**{"workload.b": [1.0, 2.0]}), "workload.b", "entries"),
    ("nan_in_matrix", doc(**{"workload.A": [[float("nan"), 0, 0], [0, 1.0, 0], [0, 0, 1.0]]}), "workload.A.0.0", "finite"),
    ("tolerance_too_large", doc(**{"array.tolerance": {"R": 0.5}}), "array.tolerance.R", "0.3"),
    ("rlc_without_inductor", doc(**{"array.cell": "RLC"}), "array.L_H", "inductance"),
    ("digital_without_leak", doc(**{"compiler.mode": "digital"}), "array.R_ohm", "self resistance"),
    ("not_diagonally_dominant", doc(**{"workload.A": [[1.0, 0.9, 0.9], [0.9, 2.0, 0.5], [0.9, 0.5, 2.0]]}), "workload.A", "diagonally dominant"),
    ("coefficient_overflow", doc(**{"compiler.mode": "digital", "array.R_ohm": 1e5, "demon.coef": {"int_bits": 1, "frac_bits": 12}, "dac.full_scale_A": 1e-6}), "demon.coef.int_bits", "int_bits"),
    ("bad_rounding", doc(**{"demon.rounding": "FLOOR"}), "demon.rounding", "TRN"),
    ("zero_chains", doc(chains=0), "chains", "greater than or equal to 1"),
    ("multipliers_beyond_n", doc(**{"demon.multipliers": 9}), "demon.multipliers", "between 1 and n"),
    ("unknown_workload", doc(**{"workload.kind": "sorting"}), "workload.kind", "linear_solve"),
    ("bias_frac_too_fine", doc(**{"demon.bias": {"int_bits": 2, "frac_bits": 26}}), "demon.bias.frac_bits", "<="),
]


@pytest.mark.parametrize("name,text,field,words", MALFORMED, ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("command", ["run", "check"])
def test_malformed_config_exits_2_with_one_line(tmp_path, capsys, name, text, field, words, command):
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(text)
    out_dir = tmp_path / "out"
    argv = [command, str(cfg)] + (["--out", str(out_dir)] if command == "run" else [])
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert f"{field}:" in lines[0], lines[0]
    assert words.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err
    assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [cfg.name]


def test_missing_file_and_bad_options(tmp_path, capsys):
    code, _, err = run_cli(["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "no such file" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["run", str(DEFAULT), "--chains", "0", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--chains" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["run", str(DEFAULT), "--set", "adc.bits=1", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "adc.bits:" in err
    assert not (tmp_path / "o").exists()


REQUIRED = {"config", "workload", "seed", "demon", "chains", "metrics", "n_updates", "cycles", "latency_cycles",
            "adc_clipped", "dac_saturated", "wall_s", "unit_updates_per_s", "codes_sha256"}

QUICK = ["--set", "run.samples=150", "--set", "run.burn_in_samples=50"]
DIGITAL = REPO / "hw_configs" / "gauss16_digital.yaml"


def json_run(capsys, *args):
    code, out, err = run_cli(["run", *args, "--json", "--no-plot"], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    return json.loads(lines[0])


def test_json_report_contract(tmp_path, capsys):
    rep = json_run(capsys, str(DEFAULT), "--chains", "64", "--seed", "5", "--out", str(tmp_path / "o"), *QUICK)
    assert REQUIRED <= set(rep)
    assert rep["seed"] == 5 and rep["chains"] == 64 and rep["demon"] == "golden"
    assert rep["workload"] == "linear_solve" and "rel_error" in rep["metrics"]
    assert rep["latency_cycles"] == 4 + (8 * 1 + 1) + 2
    assert rep["n_updates"] == 200 and rep["cycles"] == 200 * 100
    on_disk = json.loads((tmp_path / "o" / "report.json").read_text())
    assert on_disk["codes_sha256"] == rep["codes_sha256"]


def test_same_seed_same_hash_other_seed_other_hash(tmp_path, capsys):
    a = json_run(capsys, str(DIGITAL), "--chains", "8", "--seed", "1", "--out", str(tmp_path / "a"), *QUICK)
    b = json_run(capsys, str(DIGITAL), "--chains", "8", "--seed", "1", "--out", str(tmp_path / "b"), *QUICK)
    c = json_run(capsys, str(DIGITAL), "--chains", "8", "--seed", "2", "--out", str(tmp_path / "c"), *QUICK)
    assert a["codes_sha256"] == b["codes_sha256"]
    assert a["metrics"] == b["metrics"]
    assert a["codes_sha256"] != c["codes_sha256"]
    assert a["metrics"]["cov_rel_error"] != c["metrics"]["cov_rel_error"]


def test_run_writes_report_and_plot(tmp_path, capsys):
    code, out, err = run_cli(["run", str(DEFAULT), "--chains", "32", "--out", str(tmp_path / "o"), *QUICK], capsys)
    assert code == 0, err
    assert "solution error" in out and "wall time" in out
    png = (tmp_path / "o" / "plot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_configs_lists_every_bundled_config(capsys):
    code, out, _ = run_cli(["configs"], capsys)
    assert code == 0
    names = sorted(p.stem for p in (REPO / "hw_configs").glob("*.yaml"))
    assert len(out.strip().splitlines()) == len(names)
    for n in names:
        assert n in out and "INVALID" not in out


@pytest.mark.parametrize("config", sorted((REPO / "hw_configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_check_explains_every_bundled_config(config, capsys):
    code, out, err = run_cli(["check", str(config), "--json"], capsys)
    assert code == 0, err
    rep = json.loads(out)
    assert rep["valid"]
    code, text, _ = run_cli(["check", str(config)], capsys)
    if rep["mode"] == "score":
        # the nonlinear demon: timing against the sample period, what the fixed point costs
        assert rep["timing"]["demon_initiation_interval"] <= rep["timing"]["sample_period_cycles"]
        assert rep["quantization"]["score_rms_error"] < 0.05 * rep["quantization"]["score_rms"]
        assert "fixed point" in text and "timing" in text
    elif rep["workload"] == "anneal":
        # the polynomial demon: timing against the sample period, nothing clipped by the compiler
        assert rep["timing"]["demon_initiation_interval"] <= rep["timing"]["sample_period_cycles"]
        assert rep["quantization"]["clipped"] == 0 and rep["exact_optimum"]
        assert "schedule" in text and "timing" in text
    else:
        assert rep["stability"]["stable"]
        assert rep["time_constants"]["open_loop"]["fastest_tau_s"] > 0
        assert "spectral radius" in text and "spread vs ADC" in text


def test_entry_point_as_a_user_runs_it(tmp_path, demonloop_env):
    # the installed console script, in a subprocess: exit 2 and one line on a bad config
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nchains: -3\n")
    exe = [sys.executable, "-m", "demonloop"]
    r = subprocess.run(exe + ["run", str(bad), "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       env=demonloop_env, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
