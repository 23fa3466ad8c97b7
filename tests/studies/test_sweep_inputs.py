"""Sweeps on every kind of config and with hostile inputs: score-network configs swept from any
folder (the network found beside the config), a failing run's message reaching the user from a
worker, bounded and JSON-safe grids, incomplete run files redone, workers that end with the
sweep's process."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from demonloop.config import ConfigError
from demonloop.studies.sweep import (
    RunFailed,
    Sweep,
    _run_pool,
    parse_axes,
    parse_axis,
    run_sweep,
)
from tests.studies.test_sweep import loop_config, run_cli


def test_a_score_network_config_is_swept_by_name_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)              # nowhere near the config or its weights/
    code, out, err = run_cli(["sweep", "posterior_wells", "--set", "adc.bits=8,10", "--set", "run.samples=40",
                              "--seeds", "1", "--chains", "8", "--workers", "2", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["runs"] == 2 and summary["ran"] == 2
    assert (tmp_path / "out" / "posterior_wells-sweep" / "sweep.csv").exists()


def test_errors_cross_process_boundaries_with_their_message():
    e = pickle.loads(pickle.dumps(ConfigError("workload.network", "no such file: x.npz", "c.yaml")))
    assert str(e) == "c.yaml: workload.network: no such file: x.npz"
    r = pickle.loads(pickle.dumps(RunFailed("p00001-r00", "boom")))
    assert str(r) == "run p00001-r00 failed: boom"


def test_a_failing_run_in_a_worker_reports_its_message():
    from demonloop.config import load_config
    from demonloop.resources import config_path

    raw = load_config(config_path("posterior_wells")).raw()    # its network is weights/wells2d
    task = {"run": "p00000-r00", "point": 0, "replicate": 0, "seed": 1, "values": {}, "raw": raw,
            "base_dir": "/nonexistent"}
    with pytest.raises(RunFailed) as exc:
        _run_pool([task], 1, lambda row: None)
    assert exc.value.run == "p00000-r00" and "workload.network" in exc.value.message
    assert "no such file" in exc.value.message


@pytest.mark.parametrize("item,needle", [
    ("adc.bits=0:100000000", "more than 10000"),
    ("adc.bits=0:1e300:1e-300", "more than 10000"),
    ("adc.bits=1,.inf", "finite"),
    ("adc.bits=1,.nan", "finite"),
    ("adc.bits=1,!!timestamp 2020-01-01", "not a config value"),
    ("adc.bits=[1, *a]", "alias"),
    ("adc.bits=" + ",".join(map(str, range(20000))), "more than 10000"),
])
def test_sweep_values_are_bounded_and_json_safe(item, needle):
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=needle):
        parse_axes([item])
    assert time.perf_counter() - t0 < 5


def test_a_date_is_a_string_and_a_string_is_refused_where_a_number_is_needed(tmp_path):
    assert parse_axis("adc.bits=2020-01-01,8").values == ("2020-01-01", 8)
    sw = Sweep(cfg=loop_config(), axes=parse_axes(["adc.bits=2020-01-01,8"]), seeds=1, base_seed=0,
               out_dir=tmp_path / "sw")
    with pytest.raises(ConfigError, match="adc.bits"):
        run_sweep(sw, workers=1, progress=False)
    assert not (tmp_path / "sw").exists()


@pytest.mark.parametrize("seeds,axes", [(10**9, []), (1000, ["adc.bits=2:24", "demon.latency_cycles=0:10000"])])
def test_huge_sweeps_are_refused_before_any_allocation(tmp_path, seeds, axes):
    with pytest.raises(ConfigError, match="--seeds|--set"):
        Sweep(cfg=loop_config(), axes=parse_axes(axes), seeds=seeds, base_seed=0, out_dir=tmp_path)


def test_an_incomplete_run_file_is_redone(tmp_path):
    def sweep():
        return Sweep(cfg=loop_config(), axes=parse_axes(["adc.bits=8,10"]), seeds=1, base_seed=0,
                     out_dir=tmp_path / "sw")

    first = run_sweep(sweep(), workers=1, progress=False)
    victim = tmp_path / "sw" / "runs" / "p00001-r00.json"
    row = json.loads(victim.read_text())
    victim.write_text(json.dumps({k: row[k] for k in ("run", "point", "replicate", "seed", "adc.bits")}))
    again = run_sweep(sweep(), workers=1, progress=False)
    assert again["ran"] == 1 and again["skipped"] == 1
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in again["rows"]]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"} for r in first["rows"]]


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out.update(kids)
        todo += kids
    return out


def _running(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc (Linux)")
def test_workers_end_when_the_sweep_process_is_killed(tmp_path, demonloop_env):
    cfg = tmp_path / "loop.yaml"
    doc = loop_config().raw()
    doc["run"]["samples"] = 20000                  # runs long enough to be killed in flight
    cfg.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "demonloop.cli.main", "sweep", str(cfg), "--set", "adc.bits=8,10,12",
           "--seeds", "2", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=demonloop_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    kids: set[int] = set()
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(kids) < 3:      # fork server and at least 2 workers
            time.sleep(0.2)
            kids = _descendants(proc.pid)
        assert len(kids) >= 3, "the sweep's workers never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.time() + 15
        alive = kids
        while time.time() < deadline and alive:
            time.sleep(0.2)
            alive = {p for p in alive if _running(p)}
        assert not alive, f"processes left after kill -9 of the sweep: {sorted(alive)}"
    finally:
        for p in kids | {proc.pid}:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def test_sweep_files_record_versions_and_a_resume_under_other_versions_is_refused(tmp_path, monkeypatch):
    import numpy
    import scipy

    import demonloop
    from demonloop import report

    def sweep():
        return Sweep(cfg=loop_config(), axes=parse_axes(["adc.bits=8,10"]), seeds=1, base_seed=0,
                     out_dir=tmp_path / "sw")

    run_sweep(sweep(), workers=1, progress=False)
    spec = json.loads((tmp_path / "sw" / "sweep.json").read_text())["sweep"]
    assert spec["versions"] == {"demonloop": demonloop.__version__, "python": sys.version.split()[0],
                                "numpy": numpy.__version__, "scipy": scipy.__version__}
    assert len(spec["config_sha256"]) == 64
    real = report.versions
    monkeypatch.setattr(report, "versions", lambda: {**real(), "numpy": "0.0.1"})
    with pytest.raises(ConfigError, match=r"other versions \(numpy .* -> 0.0.1\)"):
        run_sweep(sweep(), workers=1, progress=False)


def test_a_spec_file_that_is_not_a_mapping_is_a_different_sweep(tmp_path):
    out = tmp_path / "sw"
    out.mkdir()
    (out / "sweep_spec.json").write_text("[1, 2]")
    sw = Sweep(cfg=loop_config(), axes=parse_axes(["adc.bits=8,10"]), seeds=1, base_seed=0, out_dir=out)
    with pytest.raises(ConfigError, match="unreadable"):
        run_sweep(sw, workers=1, progress=False)
