"""Property-based fuzzing of the bad-input contract over the config schema and the command line.

The contract (README, "Errors"): for any input,

- the command exits 0 or 2 (never a traceback, never another exception);
- on exit 2, stderr is exactly one line starting ``error:``, under 2,000 characters, stdout is
  empty and nothing is written anywhere;
- on exit 0, nothing printed says ``nan`` or ``inf`` and JSON output is strict JSON.

Config mutants start from every bundled config and replace, delete or add values anywhere in it
(non-finite and extreme numbers, numbers as strings, booleans, huge strings, paths, nested
junk), or damage the text itself (duplicate keys, alias bombs, deep nesting, huge files, bytes
that are not UTF-8). Command-line cases combine ``check``, ``run`` and ``sweep`` with hostile
arguments. Commands run in this process (click's ``CliRunner`` isolation around
:func:`demonloop.cli.main.main`); a ``run`` or ``sweep`` that passes validation stops where the
real work would start (the loop, the sweep's executor), which is where the contract says every
refusal must already have happened: at that point nothing may have been written.

Examples: ``DEMONLOOP_FUZZ_EXAMPLES`` (default 400 config mutants + 150 command lines), derandomized
so CI runs are reproducible; set ``DEMONLOOP_FUZZ_SEED`` to explore other examples.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, note, seed, settings
from hypothesis import strategies as st

import demonloop.loop
import demonloop.studies.sweep
from demonloop.cli.main import main
from demonloop.config.yaml_io import parse_yaml
from demonloop.resources import bundled_configs

EXAMPLES = int(os.environ.get("DEMONLOOP_FUZZ_EXAMPLES", "400"))
SEED = os.environ.get("DEMONLOOP_FUZZ_SEED")
MAX_ERROR_LINE = 2000

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
CLI_FUZZ = settings(FUZZ, max_examples=max(1, EXAMPLES * 3 // 8))
seeded = seed(int(SEED)) if SEED is not None else (lambda f: f)

BASES = {name: parse_yaml(p.read_text()) for name, p in bundled_configs().items()}
NONFINITE = re.compile(r"(?<![A-Za-z_])(nan|NaN|inf|-inf|Infinity|-Infinity)(?![A-Za-z_])")


class Reached(Exception):
    """Validation passed and the expensive part was about to start."""


@pytest.fixture
def stubs(monkeypatch):
    """``run``'s loop and the sweep's executor stop at once (validation is what is fuzzed)."""
    def stop(*a, **k):
        raise Reached()

    monkeypatch.setattr(demonloop.loop, "run_golden", stop)
    monkeypatch.setattr(demonloop.studies.sweep, "_run_sweep", stop)


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """A folder the commands run in (their default out/ would land here)."""
    return tmp_path_factory.mktemp("fuzz")


# ---- what is generated -------------------------------------------------------------------------

SPECIAL_NUMBERS = [math.inf, -math.inf, math.nan, 1e-300, 1e300, -1e300, 0.0, -0.0, -1.0, 0.5, 1e-12,
                   2**64, -(2**63), 10**400, 0, -1, 1, 7, 4095]
SPECIAL_STRINGS = ["12", "1e5", "0x10", ".inf", "true", "off", "yes", "", " ", "../../x", "/tmp/abs", "a/b",
                   "weights/../../../etc/passwd", "2020-01-01", "RC", "digital", "SAT", "\t",
                   "é", "null", "~", "[1, 2]", "{a: 1}", "-", "..", "/dev/zero", "/proc/self/mem"]

scalars = st.one_of(
    st.sampled_from(SPECIAL_NUMBERS),
    st.sampled_from(SPECIAL_STRINGS),
    st.sampled_from([1000, 100_000]).map(lambda k: "x" * k),        # huge strings (short repr)
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=40),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6),
    st.dictionaries(st.sampled_from(["a", "kind", "n", "bits", "int_bits", "frac_bits", "off", "x"]), inner,
                    max_size=4),
), max_leaves=12)


def _paths(doc, prefix=()):
    """Every (path, value) of ``doc``: sections, keys and list entries."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((prefix + (k,), v))
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((prefix + (i,), v))
            out += _paths(v, prefix + (i,))
    return out


def _parent(doc, path):
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    return cur


@st.composite
def mutated_doc(draw):
    name = draw(st.sampled_from(sorted(BASES)))
    doc = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        op = draw(st.sampled_from(["scale", "scale", "scale", "replace", "replace", "delete", "add"]))
        numbers = [p for p, v in paths if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if op == "scale" and numbers:
            path = draw(st.sampled_from(numbers))
        else:
            path, _ = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        old = parent[path[-1]]
        if op == "scale" and isinstance(old, (int, float)) and not isinstance(old, bool):
            # a plausible design change: the value scaled or nudged (mostly still valid)
            if isinstance(old, int):
                parent[path[-1]] = max(0, old + draw(st.sampled_from([-2, -1, 1, 2, 5, old, 10 * old])))
            else:
                parent[path[-1]] = old * draw(st.sampled_from([1e-3, 0.1, 0.5, 0.9, 1.1, 2.0, 10.0, 1e3]))
        elif op in ("replace", "scale"):
            parent[path[-1]] = draw(values)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "off", "On", "kind", "n", "seed", "rail_V"]))] = draw(values)
        if not doc:
            break
    return name, doc


TEXT_DAMAGE = [
    "dup_section", "dup_key", "alias_bomb", "self_alias", "deep", "huge", "bytes", "tabs", "off_unquoted",
    "merge", "timestamp", "binary", "set", "python_tag", "empty", "scalar_doc", "two_docs",
]


def _damage(text: str, how: str | None) -> bytes:
    if how is None:
        return text.encode()
    if how == "dup_section":
        return (text + "adc: {}\n").encode()
    if how == "dup_key":
        return (text + "seed: 3\n").encode()
    if how == "alias_bomb":
        lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
        return (text + "\n".join(lines) + "\n").encode()
    if how == "self_alias":
        return (text + "loop: &x [1, *x]\n").encode()
    if how == "deep":
        return (text + "deep: " + "[" * 600 + "]" * 600 + "\n").encode()
    if how == "huge":
        return (text + "description: '" + "x" * (2 << 20) + "'\n").encode()
    if how == "bytes":
        return text.encode() + b"\xff\xfe\x00garbage\n"
    if how == "tabs":
        return ("\tname: x\n" + text).encode()
    if how == "off_unquoted":
        return text.replace("array:\n", "array:\n  noise: {off: yes}\n", 1).encode()
    if how == "merge":
        return (text + "base: &b {bits: 8}\nextra: {<<: *b}\n").encode()
    if how == "timestamp":
        return (text + "when: !!timestamp 2020-01-01\n").encode()
    if how == "binary":
        return (text + "blob: !!binary aGVsbG8=\n").encode()
    if how == "set":
        return (text + "s: !!set {a, b}\n").encode()
    if how == "python_tag":
        return (text + "p: !!python/object/apply:os.system ['true']\n").encode()
    if how == "empty":
        return b""
    if how == "scalar_doc":
        return b"just a string\n"
    if how == "two_docs":
        return (text + "---\nname: second\n").encode()
    raise AssertionError(how)


# ---- the contract ----------------------------------------------------------------------------


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def invoke(argv: list[str], cwd: Path, watch: list[Path]) -> tuple[int, str, str, bool]:
    """Run ``demonloop argv`` in this process from ``cwd``; (exit code, stdout, stderr, reached)."""
    runner = CliRunner()
    before = {w: _tree(w) for w in watch}
    old = os.getcwd()
    reached = False
    os.chdir(cwd)
    try:
        with runner.isolation() as (out, err, _):
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Reached:
                code, reached = 0, True
            stdout = out.getvalue().decode(errors="replace")
            stderr = err.getvalue().decode(errors="replace")
    finally:
        os.chdir(old)
    for w in watch:
        written = _tree(w) - before[w]
        if reached or code != 0:
            assert not written, f"files written by a refused or unfinished command: {sorted(written)[:5]}"
    return code, stdout, stderr, reached


def assert_contract(argv, code: int, stdout: str, stderr: str) -> None:
    event(f"{argv[0]} exit {code}")
    note(f"argv={[a[:200] for a in argv]} code={code}\nstdout={stdout[:2000]!r}\nstderr={stderr[:2000]!r}")
    assert "Traceback" not in stderr
    assert code in (0, 2), f"exit {code}"
    if code == 2:
        assert stdout == ""
        assert stderr.startswith("error: ")
        assert stderr.endswith("\n") and stderr.count("\n") == 1, "the error is not exactly one line"
        assert len(stderr) < MAX_ERROR_LINE
    else:
        assert not NONFINITE.search(stdout), "exit 0 printed a non-finite number"
        assert not NONFINITE.search(stderr), "exit 0 printed a non-finite number"
        if "--json" in argv and stdout.strip():
            json.loads(stdout, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


# ---- the properties --------------------------------------------------------------------------


@seeded
@FUZZ
@given(mutant=mutated_doc(), damage=st.one_of(st.none(), st.sampled_from(TEXT_DAMAGE)), as_json=st.booleans())
def test_check_of_any_config_mutant_keeps_the_contract(stubs, arena, tmp_path_factory, mutant, damage, as_json):
    name, doc = mutant
    note(f"base config {name}")
    cfg_dir = tmp_path_factory.mktemp("cfg")
    # the bundled networks beside it, so the score-network configs still find them
    (cfg_dir / "weights").symlink_to(bundled_configs()[name].parent / "weights")
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, RecursionError):
        return
    path = cfg_dir / "c.yaml"
    path.write_bytes(_damage(text, damage))
    argv = ["check", str(path)] + (["--json"] if as_json else [])
    code, out, err, _ = invoke(argv, arena, [arena, cfg_dir])
    assert_contract(argv, code, out, err)


set_values = st.one_of(
    st.sampled_from(["long key", "long value"]).map(
        lambda w: "x" * 3000 + "=1" if w == "long key" else "adc.bits=" + "x" * 100_000),
    st.sampled_from(["adc.bits=10", "adc.bits=.inf", "adc.bits='12'", "adc.bits=true", "clock.f_clk_Hz=1e300",
                     "array.temperature_K=-1", "name=../../x", "name=/tmp/x", "array.noise.off=off",
                     "array.noise={off: true}", "adc={}", "run.samples=1e12", "run.samples=0",
                     "compiler.mode=quantum", "seed=-1", "a.b.c.d.e.f.g.h.i.j=1", "adc.bits.x=1",
                     "=1", "noequals",
                     "adc.bits=[" * 100, "adc.bits=&a [*a]", "workload.network=/dev/zero",
                     "array.C_F=1e-300", "dac.full_scale_A=0", "adc.noise_V=.inf", "run.samples=20"]),
    st.builds(lambda k, v: f"{k}={v}",
              st.sampled_from(["adc.bits", "adc.full_scale_V", "array.n", "chains", "seed", "run.samples",
                               "demon.latency_cycles", "compiler.time_constant_samples", "array.rail_V",
                               "clock.f_clk_Hz", "name", "array.noise.off"]),
              st.one_of(st.text(max_size=30), st.sampled_from(["1", "0", "-5", ".nan", "1e5", "2020-01-01", "~"]))),
)
sweep_values = st.one_of(st.just("many").map(lambda _: "adc.bits=" + ",".join(["8"] * 20000)), st.sampled_from([
    "adc.bits=8,10", "adc.bits=0:100000000", "adc.bits=1:1e300:1e-300", "adc.bits=8,.inf", "adc.bits=8,.nan",
    "adc.bits=8,2020-01-01", "adc.bits=8,!!timestamp 2020-01-01", "seed=1,2", "adc.bits=8,8", "adc.bits=",
    "adc.bits=1:5:0", "adc.bits=5:1", "demon.latency_cycles=0:10000000", "adc.bits=[1,2]", "adc.bits={a: 1}",
    "run.samples=20,30", "adc.bits=8,9,10,11,12,13,14,15,16",
]))


SWEEP_FILES = ["[1]", '{"rows": "x"}', "{", "", "null", '{"sweep": {}, "rows": []}',
               '{"sweep": {"config": 1, "seeds": 1, "axes": []}, "rows": []}',
               '{"sweep": {"config": "x", "seeds": 1, "axes": [{"key": 1}]}, "rows": []}',
               '{"sweep": {"config": "x", "seeds": 1, "axes": []}, "rows": [{"point": "0"}]}',
               '{"sweep": {"config": "x", "seeds": 1, "axes": []}, "rows": [1]}', "NaN", "[" * 100000]


@st.composite
def command_line(draw, tmp: Path):
    cmd = draw(st.sampled_from(["check", "run", "sweep", "plot"]))
    if cmd == "plot":
        sw = tmp / "sw"
        sw.mkdir()
        (sw / "sweep.json").write_text(draw(st.sampled_from(SWEEP_FILES)))
        argv = ["plot", str(sw)]
        if draw(st.booleans()):
            argv += ["--out", draw(st.sampled_from([str(tmp / "afile"), "/proc/x", str(tmp / "p")]))]
        if draw(st.booleans()):
            argv += ["--metric", draw(st.sampled_from(["kl", "", "x" * 10000]))]
        return argv
    config = draw(st.sampled_from(sorted(BASES) + ["/dev/zero", "/", "a" * 5000, "no/such.yaml", "-",
                                                   str(tmp / "afile"), "spu8_linear_solve.yaml"]))
    argv = [cmd, config]
    if cmd in ("check", "run"):
        for _ in range(draw(st.integers(0, 3))):
            argv += ["--set", draw(set_values)]
    if cmd == "sweep":
        for _ in range(draw(st.integers(0, 2))):
            argv += ["--set", draw(sweep_values)]
        if draw(st.booleans()):
            argv += ["--seeds", str(draw(st.sampled_from([0, 1, 3, -1, 10**9, 2**70])))]
        if draw(st.booleans()):
            argv += ["--workers", str(draw(st.sampled_from([0, 1, 2, -3, 10**6])))]
    if cmd in ("run", "sweep"):
        if draw(st.booleans()):
            argv += ["--seed", draw(st.sampled_from(["0", "7", "-1", "x", "1e3", str(2**64), str(2**70)]))]
        if draw(st.booleans()):
            argv += ["--chains", draw(st.sampled_from(["1", "0", "-2", "4", str(2**40), "many"]))]
        if draw(st.booleans()):
            argv += ["--out", draw(st.sampled_from([str(tmp / "afile"), "/proc/x", "/proc/self/y",
                                                    str(tmp / "new" / "deep"), "b" * 5000, "/dev/null",
                                                    str(tmp / "afile" / "sub")]))]
    if draw(st.booleans()):
        argv.append("--json")
    return argv


@seeded
@CLI_FUZZ
@given(data=st.data())
def test_any_command_line_keeps_the_contract(stubs, arena, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "afile").write_text("not a config: [\n")
    argv = data.draw(command_line(tmp))
    code, out, err, reached = invoke(argv, arena, [arena, tmp])
    if reached:
        event(f"{argv[0]} valid, reached the work")
        return          # valid: it would have run (nothing written before that point, checked)
    assert_contract(argv, code, out, err)


def test_the_fuzzer_reaches_valid_runs_and_refusals(stubs, arena):
    """The harness itself: a valid run reaches the loop having written nothing, a bad one is
    refused in one line (so a green fuzz run means something)."""
    code, out, err, reached = invoke(["run", "spu8_linear_solve", "--set", "run.samples=20"], arena, [arena])
    assert reached and code == 0
    code, out, err, reached = invoke(["check", "spu8_linear_solve", "--set", "adc.bits=.inf"], arena, [arena])
    assert not reached and code == 2 and err.startswith("error: ") and err.count("\n") == 1


@st.composite
def small_run(draw):
    """A bundled config with plausible changes, cut to a run of a few chains and samples."""
    name = draw(st.sampled_from(sorted(BASES)))
    doc = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(0, 2))):
        numbers = [p for p, v in _paths(doc) if isinstance(v, (int, float)) and not isinstance(v, bool)
                   and p[0] not in ("chains", "run")]
        path = draw(st.sampled_from(numbers))
        parent = _parent(doc, path)
        old = parent[path[-1]]
        if isinstance(old, int):
            parent[path[-1]] = max(0, old + draw(st.sampled_from([-2, -1, 1, 2, old])))
        else:
            parent[path[-1]] = old * draw(st.sampled_from([0.01, 0.1, 0.5, 2.0, 10.0, 100.0]))
    doc["chains"] = draw(st.sampled_from([1, 2, 3, 8]))
    run = doc.setdefault("run", {})
    run["samples"] = draw(st.sampled_from([1, 2, 3, 10, 40]))
    run["burn_in_samples"] = draw(st.sampled_from([0, 1, 5]))
    if doc.get("workload", {}).get("kind") == "diffusion":
        doc["workload"]["steps"] = draw(st.sampled_from([1, 2, 5, 20]))
        doc["workload"]["burn_in_steps"] = draw(st.sampled_from([1, 2]))
    return name, doc


@seeded
@settings(FUZZ, max_examples=max(1, EXAMPLES // 10))
@given(case=small_run(), as_json=st.booleans())
def test_a_small_run_of_a_changed_config_never_reports_nan(arena, tmp_path_factory, case, as_json):
    """Real runs (tiny): exit 0 prints and writes no NaN or inf, however degenerate the estimate;
    exit 2 writes nothing."""
    name, doc = case
    note(f"base config {name}: {json.dumps(doc)[:3000]}")
    cfg_dir = tmp_path_factory.mktemp("run")
    (cfg_dir / "weights").symlink_to(bundled_configs()[name].parent / "weights")
    path = cfg_dir / "c.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = cfg_dir / "out"
    argv = ["run", str(path), "--no-plot", "--out", str(out)] + (["--json"] if as_json else [])
    code, stdout, stderr, reached = invoke(argv, arena, [arena])
    assert not reached, "the loop is stubbed out"
    assert_contract(argv, code, stdout, stderr)
    if code == 0:
        text = (out / "report.json").read_text()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"report.json holds {c}"))
    else:
        assert not out.exists()
