"""``demonloop sweep`` / ``plot``: grid syntax, per-point seeds, the same rows in one process and
in a pool, divergence reported without NaN, resuming after Ctrl-C or a killed worker with no run
lost or duplicated, atomic outputs, the CLI's errors, and the figures."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from demonloop.cli.main import main
from demonloop.config import ConfigError
from demonloop.studies.sweep import (
    Sweep,
    SweepInterrupted,
    grid_points,
    parse_axes,
    parse_axis,
    run_seeds,
    run_sweep,
)
from tests.conftest import small_config

# A 2-unit Gaussian sampler whose couplings the demon computes (digital mode), so latency can
# destabilise it. With time_constant_samples = 2 the linear loop is stable up to 63 cycles of
# loop latency (linearised.max_stable_latency), so demon.latency_cycles = 300 diverges.
LOOP = {
    "compiler.mode": "digital",
    "compiler.time_constant_samples": 2,
    "array.n": 2,
    "array.R_ohm": 1e5,
    "demon.multipliers": 2,
    "demon.coef": {"int_bits": 4, "frac_bits": 12},
    "dac.full_scale_A": 1e-3,
    "workload": {"kind": "gaussian", "covariance": [[1.0, 0.3], [0.3, 0.5]]},
    "chains": 32,
    "run.burn_in_samples": 50,
    "run.samples": 150,
}


def loop_config(**over):
    d = dict(LOOP)
    d.update(over)
    return small_config(d)


AXES = ["demon.latency_cycles=0,300", "adc.bits=8,10"]


def make_sweep(tmp_path, name="sw", axes=AXES, seeds=2, cfg=None):
    return Sweep(cfg or loop_config(), parse_axes(axes), seeds=seeds, base_seed=5, out_dir=tmp_path / name)


def strip(rows):
    """Rows without the wall time (the only field allowed to differ between two executions)."""
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted in-process run of the small sweep."""
    sw = make_sweep(tmp_path_factory.mktemp("ref"))
    return run_sweep(sw, workers=1, progress=False)


# ---- grid -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,values", [
    ("adc.bits=6,8,10,12", [6, 8, 10, 12]),
    ("demon.latency_cycles=0:64:8", [0, 8, 16, 24, 32, 40, 48, 56, 64]),   # STOP included
    ("demon.latency_cycles=0:60:8", [0, 8, 16, 24, 32, 40, 48, 56]),       # STOP off the grid
    ("demon.latency_cycles=3:6", [3, 4, 5, 6]),
    ("x.y=10:4:-2", [10, 8, 6, 4]),
    ("x.y=0.1:0.3:0.1", [0.1, 0.2, 0.3]),
    ("array.C_F=1e-9:3e-9:1e-9", [1e-9, 2e-9, 3e-9]),
    ("adc.dither=true,false", [True, False]),
    ("compiler.mode=analog,digital", ["analog", "digital"]),
    ("adc.offset_V=[0.01, 0.0, -0.01]", [[0.01, 0.0, -0.01]]),
    ("adc.full_scale_V=0.5,1,2.0", [0.5, 1, 2.0]),
])
def test_axis_syntax(text, values):
    axis = parse_axis(text)
    assert list(axis.values) == values
    assert [type(v) for v in axis.values] == [type(v) for v in values]


@pytest.mark.parametrize("text,words", [
    ("adc.bits", "KEY=VALUES"),
    ("adc.bits=", "no value"),
    ("adc.bits=1:9:0", "step is 0"),
    ("adc.bits=9:1:1", "empty"),
    ("adc.bits=6,6", "repeated"),
    ("seed=1,2", "--seeds"),
    ("adc.bits=1:2:3:4", "START:STOP"),
])
def test_bad_axis_names_the_key(text, words):
    with pytest.raises(ConfigError) as exc:
        parse_axis(text)
    assert words in str(exc.value)


def test_grid_is_the_product_first_key_slowest():
    axes = parse_axes(["a.b=1,2", "c.d=x,y,z"])
    pts = grid_points(axes)
    assert pts == [{"a.b": a, "c.d": c} for a in (1, 2) for c in "xyz"]
    with pytest.raises(ConfigError, match="more than once"):
        parse_axes(["a.b=1", "a.b=2"])


def test_seeds_come_from_one_seed_sequence_spawned_per_point():
    table = run_seeds(7, points=4, seeds=3)
    children = np.random.SeedSequence(7).spawn(4)
    for i in range(4):
        words = children[i].generate_state(3, np.uint64)
        assert table[i] == [int(w) >> 11 for w in words]
        # the same child, rebuilt from its spawn key alone: nothing depends on who runs it
        again = np.random.SeedSequence(7, spawn_key=(i,)).generate_state(3, np.uint64)
        assert table[i] == [int(w) >> 11 for w in again]
    flat = [s for row in table for s in row]
    assert len(set(flat)) == len(flat) and max(flat) < 2**53
    assert run_seeds(7, 4, 5)[2][:3] == table[2]          # more seeds keep the first ones
    assert run_seeds(8, 4, 3) != table


# ---- running ----------------------------------------------------------------------------------


def test_rows_carry_values_seeds_metrics_counters_and_divergence(reference, tmp_path):
    rows = reference["rows"]
    sw = make_sweep(tmp_path)
    assert len(rows) == 8 and [r["run"] for r in rows] == [t["run"] for t in sw.tasks()]
    for r, t in zip(rows, sw.tasks()):
        assert r["seed"] == t["seed"] and r["demon.latency_cycles"] == t["values"]["demon.latency_cycles"]
        assert r["adc.bits"] == t["values"]["adc.bits"]
    stable = [r for r in rows if r["demon.latency_cycles"] == 0]
    unstable = [r for r in rows if r["demon.latency_cycles"] == 300]
    for r in stable:
        assert r["stable"] is True and r["diverged_at_cycle"] is None and r["diverged_kind"] is None
        assert r["predicted_stable"] is True and r["predicted_spectral_radius"] < 1
        assert r["samples"] == 200 and r["cycles"] == 200 * 100
        assert isinstance(r["cov_rel_error"], float) and isinstance(r["kl"], float)
        assert len(r["codes_sha256"]) == 64 and r["wall_s"] > 0
    # the unstable loop is stopped where it diverged, reported, and the sweep carried on after it
    for r in unstable:
        assert r["stable"] is False and r["predicted_stable"] is False
        K = r["diverged_at_cycle"]
        assert isinstance(K, int) and K % 100 == 0 and r["cycles"] == K and r["samples"] == K // 100 + 1
        assert r["samples"] < 200
        assert r["diverged_at_s"] == pytest.approx(K / 100e6)
        assert r["diverged_cause"] in ("adc_clip", "dac_saturation", "rail_clip")
        assert r["diverged_kind"] == "unstable"
        assert "cov_rel_error" not in r
    # replicates differ (their own seeds), points differ
    assert len({r["codes_sha256"] for r in rows}) == len(rows)


def test_outputs_are_strict_json_and_csv_without_nan(reference):
    out = reference["files"]
    text_csv = open(out[0]).read()
    text_json = open(out[1]).read()
    for bad in ("NaN", "nan", "Infinity", "inf,"):
        assert bad not in text_csv and bad not in text_json
    data = json.loads(text_json, parse_constant=lambda c: pytest.fail(f"non-finite {c} in JSON"))
    assert data["rows"] == reference["rows"] and data["swept"] == ["demon.latency_cycles", "adc.bits"]
    lines = text_csv.strip().split("\n")
    header = lines[0].split(",")
    assert len(lines) == 9
    for col in ("seed", "demon.latency_cycles", "adc.bits", "stable", "diverged_at_cycle", "cov_rel_error",
                "adc_clipped", "dac_saturated", "predicted_spectral_radius", "wall_s"):
        assert col in header
    assert all(len(line.split(",")) == len(header) for line in lines[1:])
    # a diverged run's metric cell is empty, not NaN
    i_stable, i_metric = header.index("stable"), header.index("cov_rel_error")
    for line in lines[1:]:
        cells = line.split(",")
        assert (cells[i_metric] == "") == (cells[i_stable] == "false")


def test_pool_of_processes_gives_the_same_rows_bit_for_bit(reference, tmp_path):
    res = run_sweep(make_sweep(tmp_path), workers=2, progress=False)
    assert strip(res["rows"]) == strip(reference["rows"])
    assert multiprocessing.active_children() == []


def test_progress_bar_shows_points_done_left_and_time_left(tmp_path, capsys):
    run_sweep(make_sweep(tmp_path, axes=["demon.latency_cycles=0,300"], seeds=1), workers=1, progress=True)
    err = capsys.readouterr().err
    assert "2/2 points done, 0 left" in err and "ETA" in err and "1/2 points done, 1 left" in err


# ---- resuming --------------------------------------------------------------------------------


def _interrupt_after(k, action):
    def cb(row, done, total):
        if done == k:
            action()
    return cb


def _raise_ctrl_c():
    raise KeyboardInterrupt


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_sweep_resumes_without_losing_or_repeating_a_run(reference, tmp_path, workers):
    sw = make_sweep(tmp_path)
    with pytest.raises(SweepInterrupted) as exc:
        run_sweep(sw, workers=workers, progress=False, on_result=_interrupt_after(3, _raise_ctrl_c))
    assert isinstance(exc.value.__cause__, KeyboardInterrupt)
    saved = sorted(p.name for p in (tmp_path / "sw" / "runs").glob("*.json"))
    assert len(saved) >= 3 and exc.value.done == len(saved)
    assert not (tmp_path / "sw" / "sweep.csv").exists() and not (tmp_path / "sw" / "sweep.json").exists()
    assert multiprocessing.active_children() == []      # the pool's workers were ended
    ran = []
    res = run_sweep(make_sweep(tmp_path), workers=workers, progress=False,
                    on_result=lambda row, d, t: ran.append(row["run"]))
    assert res["skipped"] == len(saved) and res["ran"] == 8 - len(saved)
    assert sorted(ran + [s[:-5] for s in saved]) == sorted(r["run"] for r in reference["rows"])
    assert strip(res["rows"]) == strip(reference["rows"])
    # and once more: nothing left to do, same files
    again = run_sweep(make_sweep(tmp_path), workers=workers, progress=False)
    assert again["ran"] == 0 and strip(again["rows"]) == strip(reference["rows"])


def test_killed_worker_stops_the_sweep_and_a_rerun_finishes_it(reference, tmp_path):
    def kill_a_worker():
        victim = multiprocessing.active_children()[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(5)

    sw = make_sweep(tmp_path)
    with pytest.raises(SweepInterrupted, match="worker process died") as exc:
        run_sweep(sw, workers=2, progress=False, on_result=_interrupt_after(1, kill_a_worker))
    assert exc.value.done < 8
    res = run_sweep(make_sweep(tmp_path), workers=2, progress=False)
    assert res["skipped"] == exc.value.done
    assert strip(res["rows"]) == strip(reference["rows"])
    names = [p.name for p in (tmp_path / "sw" / "runs").iterdir()]
    assert sorted(names) == sorted(f"{r['run']}.json" for r in reference["rows"])   # no temporaries left


def test_a_different_sweep_in_the_same_folder_is_refused(reference, tmp_path):
    run_sweep(make_sweep(tmp_path, axes=["demon.latency_cycles=0,300"], seeds=1), workers=1, progress=False)
    with pytest.raises(ConfigError, match="different sweep") as exc:
        run_sweep(make_sweep(tmp_path, axes=["demon.latency_cycles=0,200"], seeds=1), workers=1, progress=False)
    assert "axes" in str(exc.value)
    with pytest.raises(ConfigError, match="different sweep") as exc:
        run_sweep(make_sweep(tmp_path, axes=["demon.latency_cycles=0,300"], seeds=1,
                             cfg=loop_config(chains=16)), workers=1, progress=False)
    assert "config_sha256" in str(exc.value)


def test_ctrl_c_on_the_command_then_the_same_command_finishes(tmp_path, demonloop_env):
    """A real SIGINT to the command's process group (what Ctrl-C sends), mid-sweep."""
    cfg = tmp_path / "loop.yaml"
    doc = copy.deepcopy(loop_config().raw())
    doc["run"]["samples"] = 300
    cfg.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "demonloop.cli.main", "sweep", str(cfg), "--set", "demon.latency_cycles=0:40:10",
           "--set", "adc.bits=10,12", "--seeds", "1", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=demonloop_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((out / "runs").glob("p*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err and "Traceback" not in err
    saved = len(list((out / "runs").glob("p*.json")))
    assert 2 <= saved < 10 and not (out / "sweep.csv").exists()
    done = subprocess.run(cmd + ["--json"], env=demonloop_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["skipped"] == saved and summary["ran"] == 10 - saved and summary["runs"] == 10
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert [r["run"] for r in rows] == [f"p{p:05d}-r00" for p in range(10)]


# ---- command line and plots -------------------------------------------------------------------


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_cli_sweep_then_plot(tmp_path, capsys):
    cfg = tmp_path / "loop.yaml"
    cfg.write_text(yaml.safe_dump(loop_config().raw()))
    out = tmp_path / "out"
    code, text, err = run_cli(["sweep", str(cfg), "--set", "demon.latency_cycles=0:300:150",
                               "--set", "compiler.time_constant_samples=2,8", "--seeds", "2",
                               "--workers", "1", "--out", str(out)], capsys)
    assert code == 0, err
    assert "6 points x 2 seeds = 12 runs" in text and "diverged" in text and str(out / "sweep.csv") in text
    code, text, err = run_cli(["plot", str(out)], capsys)
    assert code == 0, err
    for name in ("heatmap.png", "curves.png", "stability.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert name in text
    code, text, err = run_cli(["plot", str(out), "--metric", "adc_error_ms_lsb2", "--out", str(tmp_path / "p2")],
                              capsys)
    assert code == 0 and (tmp_path / "p2" / "curves.png").exists()
    code, text, err = run_cli(["plot", str(out), "--metric", "no_such_metric"], capsys)
    assert code == 2 and err.startswith("error: --metric") and "kl" in err


@pytest.mark.parametrize("argv_tail,field", [
    (["--set", "adc.bits=6,8,1"], "adc.bits"),                          # a point fails validation
    (["--set", "adc.bitz=6,8"], "adc.bitz"),                            # unknown key
    (["--set", "adc.bits=1:5:0"], "--set adc.bits"),                    # malformed range
    (["--seeds", "0"], "--seeds"),
    (["--workers", "0"], "--workers"),
])
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv_tail, field):
    cfg = tmp_path / "loop.yaml"
    cfg.write_text(yaml.safe_dump(loop_config().raw()))
    out = tmp_path / "out"
    code, text, err = run_cli(["sweep", str(cfg), "--out", str(out)] + argv_tail, capsys)
    assert code == 2
    assert text == "" and len(err.strip().splitlines()) == 1 and field in err and "Traceback" not in err
    assert not out.exists()


def test_plot_without_a_sweep_exits_2(tmp_path, capsys):
    code, _, err = run_cli(["plot", str(tmp_path)], capsys)
    assert code == 2 and "no sweep.json" in err


# ---- the hooks the sweep adds to the engine and the ADC ---------------------------------------


def test_monitor_hook_stops_the_golden_run_and_changes_nothing_else():
    from demonloop.workloads import compile_program
    from demonloop.loop import Loop

    cfg = loop_config()
    program = compile_program(cfg)
    plain = Loop(program, cfg.chains, 9)
    plain.run_golden(lambda m, X: None)
    watched = Loop(program, cfg.chains, 9)
    calls = []
    watched.run_golden(lambda m, X: None, None, lambda m, k: calls.append((m, k)) and False)
    assert watched.hasher.hexdigest() == plain.hasher.hexdigest()
    assert calls == [(m, 100 * m) for m in range(cfg.total_samples)]
    stopped = Loop(program, cfg.chains, 9)
    stopped.run_golden(lambda m, X: None, None, lambda m, k: m == 9)
    assert stopped.counters.samples == 10 and stopped.plant.cycle == 900


def test_dithered_adc_error_is_uniform_and_independent_of_the_input():
    from demonloop.plant.converters import ADC

    adc = ADC(bits=6, full_scale_V=1.0, offset_V=np.zeros(1), gain_error=np.zeros(1), dither=True)
    rng = np.random.default_rng(1)
    N = 200_000
    for v0 in (0.0, 0.3 * adc.lsb, 0.5 * adc.lsb, 0.2137):          # constant inputs, on and off codes
        v = np.full(N, v0)
        d = np.empty(N)
        codes, clipped = adc.convert(v, rng, dither_out=d)
        assert clipped == 0 and np.all(codes == np.floor(codes))
        assert np.all(np.abs(d) <= adc.lsb / 2)
        e = (codes * adc.lsb - d - v) / adc.lsb                        # subtractive reconstruction
        assert np.all(np.abs(e) <= 0.5 + 1e-9)
        assert abs(np.mean(e * e) - 1 / 12) < Z_UNIT / np.sqrt(180 * N)
        assert abs(e.mean()) < Z_UNIT / np.sqrt(12 * N)
        # uniform: each tenth of the LSB holds a tenth of the errors (chi-square, 9 d.o.f.)
        counts = np.histogram(e, bins=10, range=(-0.5, 0.5))[0]
        assert np.sum((counts - N / 10) ** 2 / (N / 10)) < 33.7          # chi2(9).ppf(0.9999)
    # without dither a constant input gives a constant error: the thing dither removes
    plain = ADC(bits=6, full_scale_V=1.0, offset_V=np.zeros(1), gain_error=np.zeros(1))
    codes, _ = plain.convert(np.full(10, 0.3 * adc.lsb))
    assert np.all(codes == 0)


Z_UNIT = 4.5


def test_dither_is_a_config_key_and_reaches_the_plant():
    from demonloop.workloads import compile_program
    from demonloop.loop import Loop

    cfg = loop_config(**{"adc.dither": True})
    loop = Loop(compile_program(cfg), cfg.chains, 1)
    assert loop.plant.adc.dither and loop.plant.adc_dither_V.shape == (cfg.chains, cfg.n)
    off = Loop(compile_program(loop_config()), cfg.chains, 1)
    assert not off.plant.adc.dither and off.plant.adc_dither_V is None
