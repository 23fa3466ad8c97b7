"""``demonloop sweep``: latency and quantization studies over dotted config keys.

A sweep is the Cartesian product of axes, one per ``--set KEY=VALUES``, with ``--seeds`` runs per
point. Each run is the golden closed loop (:meth:`demonloop.loop.Loop.run_golden`) of the base
config with the point's overrides, scored by its workload, and becomes one row: every swept
value, the seed, the stability verdict, every scalar metric, the counters, ``demonloop check``'s
linear predictions for that point, and the wall time.

Grid syntax (``VALUES``):

- ``6,8,10,12``: a list; each item is a number or a YAML scalar (``true``, ``digital``);
- ``START:STOP:STEP`` (or ``START:STOP``, step 1): an arithmetic range **including STOP** when
  STOP lies on the grid (``0:64:8`` is 0, 8, ..., 64: nine values); integers stay integers;
  float ranges are rounded to 12 significant digits so ``0.1:0.3:0.1`` is 0.1, 0.2, 0.3;
- a value starting with ``[`` or ``{`` is one YAML value (e.g. a per-unit list), not a list of
  values.

Seeds: one :class:`numpy.random.SeedSequence` from the base seed (``--seed``, default the
config's ``seed``) is spawned once per point, in grid order (the first ``--set`` varies slowest);
run ``j`` of point ``i`` uses the ``j``-th 53-bit word of child ``i``'s state as its config seed.
So every result depends on the command only, never on which process or machine ran it, or when;
and asking for more seeds keeps the first ones.

Stability: a run whose loop diverges is stopped early and reported ``stable: false`` with
``diverged_at_cycle``, and ``diverged_kind``: ``unstable`` when the linearised loop is
predicted unstable, ``range`` when it is predicted stable (DAC, ADC or rail saturation). The definition is in :class:`DivergenceMonitor`; its metrics are empty
(``null`` in JSON, an empty CSV cell), never NaN, and the sweep carries on.

Execution: in this process (``workers=1``), in a pool of local processes (``workers > 1``), or on
an existing Dask cluster (``dask_address``). Every finished run is written at once, atomically, to
``OUT/runs/<run>.json``; a sweep started again with the same command (same config file contents,
axes, seeds and base seed: checked against ``OUT/sweep_spec.json``) skips the runs already
there, so an interrupted sweep (Ctrl-C, a killed worker) loses nothing but the runs in flight.
When every run is done, ``OUT/sweep.csv`` and ``OUT/sweep.json`` are written atomically, rows in
grid order.

Bit-for-bit: the same command gives the same rows (all but ``wall_s``) locally, in any number of
processes and on Dask, as long as the workers run the same numpy/scipy builds on the same kind of
CPU (the golden loop is deterministic given its seed; floating-point BLAS kernels may differ
between CPU generations).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import math
import os
import sys
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from demonloop.config import Config, ConfigError
from demonloop.config.errors import one_line, short
from demonloop.config.loading import set_dotted, validate_config

# demonloop.report (and the compiler, engine and workloads behind it) are imported where used, so
# that registering this command keeps `demonloop --help` and the spawned workers' start light.

SPEC_VERSION = 2

#: Divergence: a converter or supply limit on more than this fraction of its events in a window.
DIVERGENCE_FRACTION = 0.10
#: The window holds at least this many samples ...
DIVERGENCE_WINDOW_MIN = 32
#: ... and at least this many conversions (chains x units x samples).
DIVERGENCE_WINDOW_EVENTS = 2048

#: How long to try reaching a Dask scheduler before giving up.
DASK_CONNECT_TIMEOUT = "20s"

#: Keys a sweep may not set (the seed comes from --seed / --seeds).
_FORBIDDEN_KEYS = {"seed"}

#: Most values of one axis, most runs (points x seeds) of a sweep, most seeds per point.
MAX_AXIS_VALUES = 10_000
MAX_RUNS = 100_000
MAX_SEEDS = 1_000

#: Keys every finished run's row has; a run file without them (cut short, edited) is redone.
ROW_KEYS = ("run", "point", "replicate", "seed", "stable", "samples", "cycles", "codes_sha256", "wall_s")


class SweepInterrupted(Exception):
    """The sweep stopped before every run was done (Ctrl-C, a dead worker). The finished runs
    are saved; running the same command again finishes the rest."""

    def __init__(self, reason: str, done: int, total: int, out_dir: Path):
        self.reason = reason
        self.done = done
        self.total = total
        self.out_dir = out_dir
        super().__init__(f"{reason}: {done} of {total} runs done and saved in {out_dir / 'runs'}; "
                         "run the same command again to finish the rest")


# ---- the grid --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One swept key and its values, in order."""

    key: str
    values: tuple

    @property
    def swept(self) -> bool:
        return len(self.values) > 1


def _number(text: str):
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _scalar(text: str, key: str):
    from demonloop.config.yaml_io import parse_yaml

    num = _number(text)
    if num is not None:
        return num
    value = parse_yaml(text, f"--set {short(key, 80, quote=False)}")
    _json_safe(value, key)
    return value


def _json_safe(value, key: str) -> None:
    """Refuse a value that strict JSON cannot hold (inf, NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"--set {short(key, 80, quote=False)}", f"{value} is not a finite number")
    if isinstance(value, dict):
        for v in value.values():
            _json_safe(v, key)
    elif isinstance(value, list):
        for v in value:
            _json_safe(v, key)


def _tidy(x: float) -> float:
    """``x`` rounded to 12 significant digits (so float ranges land on their decimal values)."""
    return float(f"{x:.12g}")


def parse_range(text: str, key: str) -> list:
    """``START:STOP[:STEP]`` to its values, STOP included when it lies on the grid."""
    parts = text.split(":")
    where = f"--set {short(key, 80, quote=False)}"
    if len(parts) not in (2, 3):
        raise ConfigError(where, f"a range is START:STOP or START:STOP:STEP, got {short(text)}")
    nums = [_number(p) for p in parts]
    if any(v is None for v in nums):
        raise ConfigError(where, f"a range needs finite numbers, got {short(text)}")
    start, stop = nums[0], nums[1]
    step = nums[2] if len(nums) == 3 else 1
    if step == 0:
        raise ConfigError(where, f"the range step is 0 in {short(text)}")
    if (stop - start) * step < 0:
        raise ConfigError(where, f"the range {short(text)} is empty (the step goes away from STOP)")
    if all(isinstance(v, int) for v in (start, stop, step)):
        r = range(start, stop + (1 if step > 0 else -1), step)
        if len(r) > MAX_AXIS_VALUES:
            raise ConfigError(where, f"the range {short(text)} has {len(r)} values, more than {MAX_AXIS_VALUES}")
        return list(r)
    with np.errstate(all="ignore"):
        ratio = (stop - start) / step
    if not math.isfinite(ratio) or ratio > MAX_AXIS_VALUES:
        raise ConfigError(where, f"the range {short(text)} has more than {MAX_AXIS_VALUES} values")
    count = int(math.floor(ratio * (1.0 + 1e-12) + 1e-9)) + 1
    values = [_tidy(start + i * step) for i in range(count)]
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(where, f"the range {short(text)} leaves the finite numbers")
    return values


def parse_axis(item: str) -> Axis:
    """One ``--set KEY=VALUES`` (see the module docstring for VALUES)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("--set", f"expected KEY=VALUES, got {short(item)}")
    where = f"--set {short(key, 80, quote=False)}"
    if key in _FORBIDDEN_KEYS:
        raise ConfigError(where, "the seed is not swept: use --seed (base seed) and --seeds (runs per point)")
    text = text.strip()
    if text == "":
        raise ConfigError(where, "no value given")
    if text.count(",") >= MAX_AXIS_VALUES:
        raise ConfigError(where, f"more than {MAX_AXIS_VALUES} values")
    if text[0] in "[{":
        values = [_scalar(text, key)]
    elif ":" in text and "," not in text and _number(text.split(":")[0]) is not None:
        values = parse_range(text, key)
    else:
        values = [_scalar(t, key) for t in text.split(",")]
    if not values:
        raise ConfigError(where, f"no values in {short(text)}")
    if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
        raise ConfigError(where, f"repeated values in {short(text)}")
    return Axis(key, tuple(values))


def parse_axes(items: Iterable[str]) -> list[Axis]:
    axes = [parse_axis(i) for i in items]
    keys = [a.key for a in axes]
    for k in keys:
        if keys.count(k) > 1:
            raise ConfigError(f"--set {short(k, 80, quote=False)}", "given more than once (list all its values in one --set)")
    points = math.prod(len(a.values) for a in axes)
    if points > MAX_RUNS:
        raise ConfigError("--set", f"the grid has {points} points, more than {MAX_RUNS}")
    return axes


def grid_points(axes: list[Axis]) -> list[dict]:
    """Every point (dict key -> value) of the Cartesian product, the first axis slowest."""
    return [dict(zip([a.key for a in axes], combo)) for combo in itertools.product(*[a.values for a in axes])]


def run_seeds(base_seed: int, points: int, seeds: int) -> list[list[int]]:
    """Config seeds ``[point][replicate]``: one SeedSequence(base_seed) spawned once per point;
    replicate ``j`` of point ``i`` is the ``j``-th 64-bit word of child ``i``'s state, shifted to
    53 bits (exact in any JSON reader)."""
    children = np.random.SeedSequence(base_seed).spawn(points)
    return [[int(w) >> 11 for w in child.generate_state(seeds, np.uint64)] for child in children]


def run_id(point: int, replicate: int) -> str:
    return f"p{point:05d}-r{replicate:02d}"


# ---- one run ---------------------------------------------------------------------------------


class DivergenceMonitor:
    """Decides, sample by sample, whether a closed loop has diverged.

    An unstable sampled loop (too much latency for its gain: the closed-loop spectral radius of
    :mod:`demonloop.linearised` above 1) cannot blow up here: the ADC clips, the DAC saturates and
    the supply rails clip, so its growing mode turns into a limit cycle pinned at those limits.
    A loop that works as designed stays inside them: the compiler ranges the ADC for
    ``compiler.range_sigmas`` (4 by default) standard deviations, so it clips on ~1e-4 of its
    conversions. Definition:

        the loop has **diverged at sample m** (at its cycle ``k_m``) when, over the ``W`` samples
        ending at ``m``, more than ``DIVERGENCE_FRACTION`` (10%) of the ADC conversions clipped,
        or more than 10% of the node-voltage samples hit a supply rail, or more than 10% of the
        DAC codes applied sat at either end of the DAC range,

    with ``W = max(32, ceil(2048 / (chains * units)))`` samples, so every window holds at least
    2048 conversions (a 10% level is then far from a chance fluctuation of a well-ranged loop).
    10% clipping of a zero-mean Gaussian means an RMS about 2.4 times the 4-sigma design, a
    variance six times it: a stable loop gets there only within a hair of spectral radius 1,
    where its variance diverges like ``1 / (1 - rho**2)``, and an unstable one gets there as soon
    as its growing mode reaches the converter limits. The measured boundary therefore sits at
    ``rho ~ 1`` (tests/studies/test_sweep_theory.py checks it against :mod:`demonloop.linearised` to
    within one sample period). Two consequences, stated: a loop only just past the boundary whose
    limit cycle stays mostly inside the ranges is reported stable, its metrics showing the
    damage; and a config ranged so badly that it clips over 10% while stable (``demonloop check``
    warns about it) is reported diverged, which it is in the sense that matters: it no longer
    samples its target. Only a demon that feeds the state back (a nonzero matrix) is monitored; a
    constant force (analog mode) cannot destabilise the array.
    """

    def __init__(self, loop, chains: int, units: int):
        self.pc = loop.plant.counters
        self.per_sample = chains * units
        self.window = max(DIVERGENCE_WINDOW_MIN, -(-DIVERGENCE_WINDOW_EVENTS // self.per_sample))
        self._hist: deque = deque()
        self._sums = [0, 0, 0, 0]
        self._prev = (0, 0, 0, 0)
        self.diverged_at: tuple[int, int] | None = None   # (sample, cycle)
        self.cause: str | None = None
        self.fraction: float | None = None

    def __call__(self, m: int, k: int) -> bool:
        pc = self.pc
        cur = (pc.adc_clipped, pc.rail_clipped, pc.dac_saturated, pc.dac_updates)
        d = tuple(c - p for c, p in zip(cur, self._prev))
        self._prev = cur
        self._hist.append(d)
        s = self._sums
        for i in range(4):
            s[i] += d[i]
        if len(self._hist) > self.window:
            old = self._hist.popleft()
            for i in range(4):
                s[i] -= old[i]
        if len(self._hist) < self.window:
            return False
        conv = self.window * self.per_sample
        fractions = {"adc_clip": s[0] / conv, "rail_clip": s[1] / conv,
                     "dac_saturation": s[2] / (s[3] * self.per_sample) if s[3] else 0.0}
        cause = max(fractions, key=fractions.get)
        if fractions[cause] > DIVERGENCE_FRACTION:
            self.diverged_at = (m, k)
            self.cause = cause
            self.fraction = fractions[cause]
            return True
        return False


class ADCErrorMeter:
    """Error of the ADC against the node voltage it sampled, over the samples after burn-in:
    ``e = X lsb - d - v`` [V] (``d`` the dither when the ADC dithers, else 0), so with dither it
    is the error of the subtractive reconstruction (exactly uniform, variance ``lsb**2 / 12``,
    see :mod:`demonloop.plant.converters`). Conversions whose code sits at either end of the range are
    left out (a clipped conversion's error is unbounded) and counted apart. Reported in LSBs:
    mean and mean square, and the number of conversions they average."""

    def __init__(self, plant, burn: int):
        self.plant = plant
        self.burn = burn
        self.lsb = plant.adc.lsb
        self.lo, self.hi = plant.adc.code_min, plant.adc.code_max
        self.s1 = 0.0
        self.s2 = 0.0
        self.count = 0
        self.at_limits = 0

    def __call__(self, m: int, X: np.ndarray) -> None:
        if m < self.burn:
            return
        e = X * self.lsb
        e -= self.plant.voltages
        if self.plant.adc_dither_V is not None:
            e -= self.plant.adc_dither_V
        if X.min() <= self.lo or X.max() >= self.hi:
            inside = (X > self.lo) & (X < self.hi)
            self.at_limits += int(e.size - np.count_nonzero(inside))
            e = e[inside]
            self.s1 += float(e.sum())
            self.s2 += float(e @ e)
            self.count += e.size
            return
        self.s1 += float(e.sum())
        self.s2 += float(np.einsum("ij,ij->", e, e))
        self.count += e.size

    def result(self) -> dict:
        out = {"adc_error_mean_lsb": None, "adc_error_ms_lsb2": None, "adc_error_count": self.count,
               "adc_codes_at_limits": self.at_limits}
        if self.count:
            out["adc_error_mean_lsb"] = self.s1 / self.count / self.lsb
            out["adc_error_ms_lsb2"] = self.s2 / self.count / self.lsb**2
        return out


def run_task(task: dict) -> dict:
    """Run one (point, seed): the worker function, in any process. Returns the row (JSON-able).

    Everything runs with one BLAS thread (one run per core; and the small matrix exponentials of
    the compiler and of the predictions are ~40x slower when two OpenBLAS pools spin on 2 cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run_task(task)


def _run_task(task: dict) -> dict:
    from demonloop import workloads
    from demonloop.loop import Loop
    from demonloop.report import jsonable

    t0 = time.perf_counter()
    data = copy.deepcopy(task["raw"])
    for key, value in task["values"].items():
        set_dotted(data, key, value)
    data["seed"] = task["seed"]
    base_dir = task.get("base_dir")
    cfg = validate_config(data, base_dir=Path(base_dir) if base_dir else None)
    w = workloads.of(cfg)
    program = w.compile(cfg)
    est = w.estimator(program, cfg.chains)
    loop = Loop(program, cfg.chains, cfg.seed)
    meter = ADCErrorMeter(loop.plant, cfg.run.burn_in_samples)
    monitor = DivergenceMonitor(loop, cfg.chains, cfg.n) if w.feeds_back(program) else None

    def on_sample(m, X):
        est.on_sample(m, X)
        meter(m, X)

    loop.run_golden(on_sample, None, monitor)
    f_clk = cfg.clock.f_clk_Hz
    t = loop.timing
    row: dict[str, Any] = {"run": task["run"], "point": task["point"], "replicate": task["replicate"],
                           "seed": cfg.seed}
    row.update(task["values"])
    diverged = monitor is not None and monitor.diverged_at is not None
    row.update({
        "stable": not diverged,
        "diverged_at_cycle": monitor.diverged_at[1] if diverged else None,
        "diverged_at_s": monitor.diverged_at[1] / f_clk if diverged else None,
        "diverged_cause": monitor.cause if diverged else None,
        "loop_latency_cycles": t.loop_latency,
        "loop_latency_s": t.loop_latency / f_clk,
        "sample_period_cycles": t.sample_period,
        "f_clk_Hz": f_clk,
    })
    row.update(w.predictions(program))
    # why it diverged: "unstable" where the linearised loop is predicted unstable, "range" where
    # it is predicted stable (the converters or the rails saturated: a ranging problem)
    pred = row.get("predicted_stable")
    row["diverged_kind"] = None if not diverged or pred is None else ("range" if pred else "unstable")
    row["headline"] = w.headline
    if not diverged:
        # degenerate estimates (e.g. a coarse ADC on a narrow signal: zero spread) give NaN or
        # inf, which the row stores as null; numpy's warnings about them are not news here
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row.update(est.metrics())
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            row["metrics_error"] = f"{type(exc).__name__}: {exc}"
    row.update(meter.result())
    c, pc = loop.counters, loop.plant.counters
    row.update({
        "samples": c.samples, "n_updates": c.accepted, "dropped_samples": c.dropped,
        "adc_clipped": pc.adc_clipped, "dac_saturated": pc.dac_saturated,
        "rail_clipped": pc.rail_clipped, "demon_overflows": c.demon_overflows,
        "cycles": loop.plant.cycle, "codes_sha256": loop.hasher.hexdigest(),
        "wall_s": time.perf_counter() - t0,
    })
    return jsonable(row)


# ---- the sweep -------------------------------------------------------------------------------


@dataclass
class Sweep:
    """A planned sweep: base config, axes, seeds; knows its runs and its output folder."""

    cfg: Config
    axes: list[Axis]
    seeds: int
    base_seed: int
    out_dir: Path
    config_path: str | None = None

    def __post_init__(self):
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise ConfigError("--seeds", f"must be 1 .. {MAX_SEEDS}, got {self.seeds}")
        points = math.prod(len(a.values) for a in self.axes)
        if points * self.seeds > MAX_RUNS:
            raise ConfigError("--seeds", f"{points} points x {self.seeds} seeds is more than {MAX_RUNS} runs")
        self.points = grid_points(self.axes)
        self.seed_table = run_seeds(self.base_seed, len(self.points), self.seeds)
        self.raw = self.cfg.raw()

    @property
    def spec(self) -> dict:
        """What identifies the sweep (stored in ``sweep_spec.json``; a resume must match it):
        the config's SHA-256, the grid and seeds, and the versions of demonloop, Python, numpy and
        scipy (runs recorded under other versions are not mixed with new ones)."""
        from demonloop.report import versions

        canon = json.dumps(self.raw, sort_keys=True, separators=(",", ":"))
        return {
            "version": SPEC_VERSION,
            "versions": versions(),
            "config": self.cfg.name,
            "config_sha256": hashlib.sha256(canon.encode()).hexdigest(),
            "axes": [{"key": a.key, "values": list(a.values)} for a in self.axes],
            "seeds": self.seeds,
            "base_seed": self.base_seed,
            "points": len(self.points),
            "runs": len(self.points) * self.seeds,
        }

    @property
    def sweep_id(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()[:16]

    def tasks(self) -> list[dict]:
        out = []
        for i, values in enumerate(self.points):
            for j, seed in enumerate(self.seed_table[i]):
                out.append({"run": run_id(i, j), "point": i, "replicate": j, "seed": seed,
                            "values": values, "raw": self.raw,
                            "base_dir": str(self.cfg.base_dir)})
        return out

    def validate(self) -> None:
        """Validate and compile every point before anything runs or is written."""
        from threadpoolctl import threadpool_limits

        from demonloop import workloads

        with threadpool_limits(1):
            for values in self.points:
                self._validate(values, workloads)

    def _validate(self, values: dict, workloads) -> None:
        try:
            cfg = self.cfg.with_overrides(values) if values else self.cfg
            workloads.of(cfg).compile(cfg)
        except ConfigError as e:
            where = ", ".join(f"{k}={short(v, 40, quote=False)}" for k, v in values.items())
            raise ConfigError(e.field, f"{e.reason} (at sweep point {where})", self.config_path) from None

    # ---- files ------------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        return self.out_dir / "runs"

    def prepare_out_dir(self) -> None:
        """Write the spec, or check that the one there is this sweep's (a resume)."""
        from demonloop.report import write_json

        path = self.out_dir / "sweep_spec.json"
        spec = self.spec
        if path.exists():
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError):
                old = None
            if not isinstance(old, dict):
                old = None
            if old is not None and old.get("versions") != spec["versions"] and all(
                    old.get(k) == spec[k] for k in spec if k not in ("version", "versions")):
                was = old.get("versions") if isinstance(old.get("versions"), dict) else {}
                changed = ", ".join(f"{k} {was.get(k, '?')} -> {v}" for k, v in spec["versions"].items()
                                    if was.get(k) != v) or "unrecorded"
                raise ConfigError("--out", f"{self.out_dir} holds runs recorded under other versions ({changed}): "
                                           "they would not be bit-identical to new runs; use another folder, "
                                           "or delete it to start over")
            if old != spec:
                diff = "unreadable" if old is None else ", ".join(
                    k for k in spec if old.get(k) != spec[k]) or "format"
                raise ConfigError("--out", f"{self.out_dir} holds a different sweep ({diff} differ): "
                                           "use another folder, or delete it to start over")
        elif self.runs_dir.exists() and any(self.runs_dir.glob("*.json")):
            raise ConfigError("--out", f"{self.out_dir} holds runs without a sweep_spec.json: use another folder")
        write_json(path, spec)
        self.runs_dir.mkdir(parents=True, exist_ok=True)

    def done_runs(self) -> dict[str, dict]:
        """Finished runs on disk (only the ones this sweep plans, with matching seed and values)."""
        done = {}
        for task in self.tasks():
            path = self.runs_dir / f"{task['run']}.json"
            if not path.exists():
                continue
            try:
                row = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not _complete(row, task):
                continue                                    # cut short or edited: redone
            if row.get("seed") == task["seed"] and all(row.get(k) == v for k, v in task["values"].items()):
                done[task["run"]] = row
        return done

    def save_run(self, row: dict) -> None:
        from demonloop.report import write_json

        write_json(self.runs_dir / f"{row['run']}.json", row)

    def write_results(self, rows: list[dict]) -> list[Path]:
        """``sweep.csv`` (scalars) and ``sweep.json`` (spec, columns, rows), atomically."""
        from demonloop.report import atomic_write, write_json

        cols: list[str] = []
        seen = set()
        for r in rows:
            for k, v in r.items():
                if k not in seen and not isinstance(v, (list, dict)):
                    seen.add(k)
                    cols.append(k)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_csv_cell(r.get(c)) for c in cols])
        csv_path = self.out_dir / "sweep.csv"
        json_path = self.out_dir / "sweep.json"
        atomic_write(csv_path, buf.getvalue().encode())
        write_json(json_path, {"sweep": self.spec, "config_path": self.config_path,
                               "swept": [a.key for a in self.axes], "columns": cols, "rows": rows})
        return [csv_path, json_path]


def _complete(row, task: dict) -> bool:
    """A run file holds a finished run of ``task``: a mapping with every :data:`ROW_KEYS` key,
    the task's run, point and replicate."""
    return (isinstance(row, dict) and all(k in row for k in ROW_KEYS) and row["run"] == task["run"]
            and row["point"] == task["point"] and row["replicate"] == task["replicate"]
            and isinstance(row["stable"], bool))


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ---- executors ---------------------------------------------------------------------------------


class RunFailed(Exception):
    """A run raised an error (in any process): its run id and the error's message."""

    def __init__(self, run: str, message: str):
        self.run = run
        self.message = message
        super().__init__(f"run {run} failed: {message}")

    def __reduce__(self):
        return (type(self), (self.run, self.message))


def run_task_checked(task: dict) -> dict:
    """:func:`run_task`, an error turned into :class:`RunFailed` naming the run (picklable, so
    its message reaches the user from any worker)."""
    try:
        return run_task(task)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - reported with its message, the sweep stops
        text = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
        raise RunFailed(task["run"], one_line(text, 600)) from None


def _run_in_process(tasks, on_done) -> None:
    for task in tasks:
        on_done(run_task_checked(task))


def _run_pool(tasks, workers: int, on_done) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                             initializer=_die_with_parent, initargs=(os.getpid(),))
    futures = {ex.submit(run_task_checked, t): t for t in tasks}
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in sorted(finished, key=lambda f: futures[f]["run"]):
                on_done(f.result())
    except BrokenProcessPool:
        _stop_pool(ex)
        raise _Broken("a worker process died") from None
    except BaseException:
        _stop_pool(ex)
        raise
    ex.shutdown(wait=True)


#: Modules a worker needs, imported once by the fork server rather than by every worker.
_PRELOAD = ["demonloop.studies.sweep", "demonloop.workloads", "demonloop.config.schema", "demonloop.loop",
            "demonloop.report", "demonloop.linearised"]


def _mp_context():
    """A fork server that has imported the emulator (workers start in milliseconds, and no
    worker inherits this process's threads), or spawn where there is no fork server."""
    import multiprocessing as mp

    try:
        ctx = mp.get_context("forkserver")
    except ValueError:  # pragma: no cover - Windows
        return mp.get_context("spawn")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker as soon as the sweep's process (``parent_pid``) is
    gone, however it ended (``kill -9`` included). A daemon thread waits on a pidfd of the parent
    (Linux >= 5.3), else polls once a second."""
    import threading

    try:
        fd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):
        fd = None
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pass

    def watch():
        import select

        if fd is not None:
            select.select([fd], [], [])
            os._exit(1)
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except OSError:
                pass

    threading.Thread(target=watch, name="demonloop-parent-watch", daemon=True).start()


def _stop_pool(ex) -> None:
    """Cancel what has not started and end this pool's worker processes (runs in flight are lost;
    a resume redoes them)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())   # shutdown() forgets them
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


class _Broken(Exception):
    pass


def dask_client(address: str, timeout: str | None = None):
    """A ``distributed.Client`` connected to the scheduler at ``address`` (ConfigError if none)."""
    timeout = timeout or DASK_CONNECT_TIMEOUT
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency
        raise ConfigError("--dask", "dask.distributed is not installed") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError("--dask", f"cannot reach a Dask scheduler at {address}: {exc}") from None


def _run_dask(tasks, client, sweep_id: str, on_done) -> None:
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover
        KilledWorker = RuntimeError
    futures = []
    try:
        futures = [client.submit(run_task_checked, t, key=f"demonloop-{sweep_id}-{t['run']}", pure=False)
                   for t in tasks]
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except (KilledWorker, FutureCancelledError) as exc:
                raise _Broken(f"a Dask worker died ({type(exc).__name__})") from None
            on_done(row)
    finally:
        if futures:
            client.cancel(futures)


# ---- driver ----------------------------------------------------------------------------------


def run_sweep(sweep: Sweep, workers: int = 1, dask_address: str | None = None,
              progress: bool | None = None,
              on_result: Callable[[dict, int, int], None] | None = None) -> dict:
    """Run every run of ``sweep`` not already on disk; write the results. Returns a summary.

    ``on_result(row, done, total)`` is called in this process after each run is saved (tests use
    it to interrupt a sweep). With ``workers > 1`` the workers are new processes that import the
    main module, so a script calling this needs the ``if __name__ == "__main__":`` guard. Raises :class:`SweepInterrupted` (after cleaning up; finished runs
    saved) on Ctrl-C or a dead worker, with ``KeyboardInterrupt`` as its cause for Ctrl-C.
    """
    sweep.validate()
    client = dask_client(dask_address) if dask_address else None   # unreachable: nothing written
    try:
        return _run_sweep(sweep, workers, client, progress, on_result)
    finally:
        if client is not None:
            client.close()


def _run_sweep(sweep: Sweep, workers: int, client, progress: bool | None, on_result) -> dict:
    sweep.prepare_out_dir()
    tasks = sweep.tasks()
    done = sweep.done_runs()
    todo = [t for t in tasks if t["run"] not in done]
    total = len(tasks)
    per_point: dict[int, int] = {}
    for row in done.values():
        per_point[row["point"]] = per_point.get(row["point"], 0) + 1
    points_done = sum(1 for v in per_point.values() if v == sweep.seeds)
    bar = _bar(len(sweep.points), points_done, progress)
    t0 = time.perf_counter()
    skipped = len(done)

    def on_done(row: dict) -> None:
        nonlocal points_done
        sweep.save_run(row)
        done[row["run"]] = row
        p = row["point"]
        per_point[p] = per_point.get(p, 0) + 1
        if per_point[p] == sweep.seeds:
            points_done += 1
            if bar is not None:
                bar.set_description_str(str(len(sweep.points) - points_done), refresh=False)
                bar.update(1)
        if on_result is not None:
            on_result(row, len(done), total)

    try:
        if not todo:
            pass
        elif client is not None:
            _run_dask(todo, client, sweep.sweep_id, on_done)
        elif workers <= 1:
            _run_in_process(todo, on_done)
        else:
            _run_pool(todo, min(workers, len(todo)), on_done)
    except KeyboardInterrupt as exc:
        raise SweepInterrupted("interrupted", len(done), total, sweep.out_dir) from exc
    except (_Broken, RunFailed) as exc:
        raise SweepInterrupted(str(exc), len(done), total, sweep.out_dir) from None
    finally:
        if bar is not None:
            bar.close()
    rows = [done[t["run"]] for t in tasks]
    files = sweep.write_results(rows)
    return {
        "points": len(sweep.points),
        "runs": total,
        "ran": total - skipped,
        "skipped": skipped,
        "unstable": sum(1 for r in rows if not r["stable"]),
        "diverged_range": sum(1 for r in rows if r.get("diverged_kind") == "range"),
        "wall_s": time.perf_counter() - t0,
        "files": [str(f) for f in files],
        "rows": rows,
    }


def _bar(total: int, initial: int, progress: bool | None):
    """A tqdm bar on stderr (points done/total, points left, estimated time left)."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    # {desc} carries the number of points left (tqdm has no field for it)
    bar = tqdm(total=total, initial=initial, file=sys.stderr, unit="point", dynamic_ncols=True,
               mininterval=0, miniters=1,
               desc=str(total - initial),
               bar_format="sweep {bar} {n_fmt}/{total_fmt} points done, {desc} left, "
                          "ETA {remaining} [{elapsed}]")
    return bar


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def summary_text(sweep: Sweep, result: dict) -> str:
    axes = "; ".join(f"{a.key} = {', '.join(map(str, a.values))}" for a in sweep.axes) or "(no axes)"
    lines = [
        f"demonloop sweep: {sweep.cfg.name}, {result['points']} points x {sweep.seeds} seeds = {result['runs']} runs",
        f"  axes             {axes}",
        f"  ran              {result['ran']} runs in {result['wall_s']:.3g} s"
        + (f" ({result['ran'] / result['wall_s'] * 60:.4g} runs/min)" if result["ran"] and result["wall_s"] > 0 else "")
        + (f"; {result['skipped']} already done (resumed)" if result["skipped"] else ""),
        f"  unstable         {result['unstable']} of {result['runs']} runs diverged"
        + (f" ({result['diverged_range']} of them predicted stable: range saturation)"
           if result.get("diverged_range") else ""),
        f"  wrote            {', '.join(result['files'])}",
    ]
    return "\n".join(lines)
