"""Each class of bad input the issue found, refused in one line with nothing written; what the
strict YAML reading accepts; and the provenance a report records."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re

import numpy
import pytest
import scipy

import demonloop
from demonloop.config import ConfigError, load_config
from demonloop.config.yaml_io import MAX_BYTES, parse_yaml
from demonloop.resources import bundled_configs
from tests.cli.test_main import DEFAULT, run_cli


def refused(argv, capsys, tmp_path, field):
    """Exit 2, one line naming ``field``, under 2,000 characters, nothing in ``tmp_path`` or ./out."""
    before = set(tmp_path.rglob("*"))
    code, out, err = run_cli(argv, capsys)
    assert code == 2, err
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1 and len(err) < 2000, err
    assert field in err, err
    assert set(tmp_path.rglob("*")) == before
    return err


# ---- YAML ------------------------------------------------------------------------------------


def test_yaml_1_2_scalars():
    doc = parse_yaml("a: off\nb: yes\nc: 1e5\nd: 1.0e-9\ne: 012\nf: 0x1F\ng: 2020-01-01\nh: True\ni: ~\nj: .inf\n"
                     "k: '12'\nl: -.5\nm: 1_000\n")
    assert doc == {"a": "off", "b": "yes", "c": 1e5, "d": 1e-9, "e": 12, "f": 31, "g": "2020-01-01", "h": True,
                   "i": None, "j": float("inf"), "k": "12", "l": -0.5, "m": "1_000"}
    assert type(doc["c"]) is float and type(doc["e"]) is int


@pytest.mark.parametrize("text,words", [
    ("a: 1\na: 2\n", "duplicate key 'a' (line 2)"),
    ("a: {b: 1, b: 2}\n", "duplicate key 'b'"),
    ("1: x\n", "keys must be strings"),
    ("a: &x [1, *x]\n", "refers to a node that contains it"),
    ("a: !!timestamp 2020-01-01\n", "not a config value"),
    ("a: !!binary aGVsbG8=\n", "not a config value"),
    ("a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    ("b: &b {x: 1}\na: {<<: *b}\n", "merge keys"),
    ("a: " + "[" * 40 + "]" * 40 + "\n", "nested more than"),
    ("a: \x1f\n", "special characters"),
])
def test_yaml_refusals(text, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        parse_yaml(text)


def test_an_alias_bomb_is_refused_quickly_and_in_a_short_line():
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    with pytest.raises(ConfigError, match="aliases are expanded") as exc:
        parse_yaml("\n".join(lines))
    assert len(str(exc.value)) < 200


def test_every_bundled_config_still_loads():
    for name, path in bundled_configs().items():
        assert load_config(path).name == name


# ---- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("sets,field", [
    (["adc.noise_V=.inf"], "adc.noise_V"),
    (["adc.noise_V=2.0"], "adc.noise_V"),                 # above the full scale: all noise
    (["array.temperature_K=1e300"], "array.temperature_K"),
    (["array.C_F=1e-300"], "array.C_F"),
    (["clock.f_clk_Hz=.inf"], "clock.f_clk_Hz"),
    (["compiler.time_constant_samples=1e300"], "compiler.time_constant_samples"),
    (["array.rail_V=1e300"], "array.rail_V"),
    (["adc.bits=true"], "adc.bits"),
    (["adc.bits='12'"], "adc.bits"),
    (["adc.full_scale_V='1.0'"], "adc.full_scale_V"),
    (["name=../../x"], "name"),
    (["name=/tmp/x"], "name"),
    (["description=" + "x" * 100_000], "description"),
    (["adc.bits=1", "adc.bits=2"], "given more than once"),
    (["workload.A={}"], "workload.A"),                    # found by the fuzzer: an IndexError
    (["demon.kind=[]"], "demon.kind"),                    # found by the fuzzer: unhashable
])
def test_bad_values_are_refused(tmp_path, capsys, monkeypatch, sets, field):
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(DEFAULT)]
    for s in sets:
        argv += ["--set", s]
    refused(argv, capsys, tmp_path, field)


def test_a_huge_string_is_not_echoed_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = refused(["check", str(DEFAULT), "--set", "adc.bits=" + "x" * 100_000], capsys, tmp_path, "adc.bits")
    assert len(err) < 300


@pytest.mark.parametrize("config,words", [
    ("/dev/zero", "not a regular file"),
    ("/", "a folder"),
    ("a" * 5000, "cannot read"),
])
def test_special_config_paths(tmp_path, capsys, monkeypatch, config, words):
    monkeypatch.chdir(tmp_path)
    refused(["check", config], capsys, tmp_path, words)


def test_a_config_larger_than_the_bound_is_not_read(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    refused(["check", str(big)], capsys, tmp_path, "more than a config's")


def test_unusable_out_folders_are_refused_before_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (str(afile), str(afile / "sub"), "/proc/x"):
        refused(["run", str(DEFAULT), "--out", out], capsys, tmp_path, "--out")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not os.access(ro, os.W_OK):            # root writes anywhere: nothing to refuse then
            refused(["run", str(DEFAULT), "--out", str(ro / "o")], capsys, tmp_path, "--out")
    finally:
        ro.chmod(0o700)


def test_weight_files_are_checked_against_their_schema(tmp_path, capsys):
    src = bundled_configs()["posterior_wells"]
    (tmp_path / "weights").mkdir()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(src.read_text())
    net = src.parent / "weights" / "wells2d"

    def files(json_text=None, npz=None):
        (tmp_path / "weights" / "wells2d.json").write_text(json_text or net.with_suffix(".json").read_text())
        (tmp_path / "weights" / "wells2d.npz").write_bytes(npz if npz is not None else net.with_suffix(".npz").read_bytes())

    files()
    code, _, err = run_cli(["check", str(cfg)], capsys)
    assert code == 0, err
    good = json.loads(net.with_suffix(".json").read_text())
    arrays = dict(numpy.load(net.with_suffix(".npz")))
    for json_text, npz, words in [
        ("[1, 2]", None, "expected a mapping"),
        (json.dumps({**good, "architecture": {**good["architecture"], "hidden": "64"}}), None, "hidden"),
        ("{not json", None, "is not JSON"),
        (None, net.with_suffix(".npz").read_bytes()[:200], "not a readable npz"),
        (None, b"plain text", "npz"),
        (None, _npz({k: v for k, v in arrays.items() if k != "W1"}), "array W1 is missing"),
        (None, _npz({**arrays, "W0": arrays["W0"][:, :1]}), "W0 must be numbers shaped"),
        (None, _npz({**arrays, "b0": arrays["b0"] * numpy.nan}), "non-finite"),
    ]:
        files(json_text, npz)
        err = refused(["check", str(cfg)], capsys, tmp_path, "workload.network")
        assert words in err, err


def _npz(arrays) -> bytes:
    import io

    buf = io.BytesIO()
    numpy.savez(buf, **arrays)
    return buf.getvalue()


# ---- provenance --------------------------------------------------------------------------------


def test_a_report_records_its_versions_and_the_configs_sha256(tmp_path, capsys):
    out = tmp_path / "o"
    code, text, err = run_cli(["run", str(DEFAULT), "--chains", "4", "--set", "run.samples=50", "--no-plot",
                               "--json", "--out", str(out)], capsys)
    assert code == 0, err
    rep = json.loads(text)
    assert rep == json.loads((out / "report.json").read_text())
    prov = rep["provenance"]
    assert prov["versions"] == {"demonloop": demonloop.__version__, "python": platform.python_version(),
                                "numpy": numpy.__version__, "scipy": scipy.__version__}
    assert prov["config_file_sha256"] == hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    cfg = load_config(DEFAULT).with_overrides({"chains": 4, "run.samples": 50})
    canon = json.dumps(cfg.raw(), sort_keys=True, separators=(",", ":"))
    assert prov["config_sha256"] == hashlib.sha256(canon.encode()).hexdigest()
    assert "simulator" not in prov                      # the golden model: no simulator ran


def test_simulator_versions_are_readable():
    from demonloop.cosim.simulators import SIMULATORS

    for name in SIMULATORS.names():
        v = SIMULATORS.get(name).version()
        assert v is not None and re.match(r"\d+\.\d+", v), (name, v)
