"""The Python API: configs in, reports and numpy arrays out (what ``import demonloop`` gives).

::

    import demonloop

    cfg = demonloop.load_config("hw_configs/spu8_linear_solve.yaml",
                                overrides={"run.samples": 200, "chains": 64})
    demonloop.check(cfg)["stability"]["stable"]          # True
    res = demonloop.run(cfg)                             # the golden demon, every chain at once
    res.report["metrics"]["rel_error"]                   # the same dict as `demonloop run --json`
    res.estimate["x_hat"]                                # the solution, numpy (8,)
    res.samples.shape                                    # (samples, traced chains, units) ADC codes

Every function raises :class:`~demonloop.config.ConfigError` (field and reason) on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from demonloop.config import Config, ConfigError


def load_config(config: str | Path | Mapping[str, Any] | Config, overrides: Mapping[str, Any] | None = None,
                base_dir: str | Path | None = None) -> Config:
    """A validated config from a YAML file's path, a bundled config's name (``"spu8_linear_solve"``;
    ``demonloop configs`` lists them) or a dict (the parsed YAML), with dotted-key
    ``overrides`` applied as ``--set`` does (``{"adc.bits": 10, "chains": 64}``; values are Python
    values). Relative paths inside a dict config (a score network) are read from ``base_dir``
    (default: the current folder); inside a file, from the file's folder. A :class:`Config` is
    returned as it is (with the overrides applied)."""
    from demonloop.config.loading import load_config as _load, validate_config

    if isinstance(config, Config):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = validate_config(dict(config), source=None, base_dir=Path(base_dir) if base_dir else None)
    elif isinstance(config, (str, Path)):
        from demonloop.resources import config_path

        cfg = _load(config_path(config))
    else:
        raise ConfigError("config", f"must be a path, a dict or a Config, got {type(config).__name__}")
    return cfg.with_overrides(dict(overrides)) if overrides else cfg


def check(config) -> dict:
    """``demonloop check``: the config validated and explained (time constants, spread against the
    ADC range, quantization, loop stability, warnings) as a JSON-able dict. ``config`` is anything
    :func:`load_config` takes."""
    from demonloop import workloads

    cfg = load_config(config)
    return workloads.of(cfg).check(cfg)


@dataclass
class Result:
    """One run.

    ``report``: the JSON report, the same dict ``demonloop run --json`` prints (``metrics``,
    counters, ``codes_sha256``, ...). ``estimate``: the workload's answer as numpy arrays (e.g.
    ``x_hat`` and ``x_star`` for a linear solve; ``mean``, ``covariance`` for a posterior; the
    generated ``samples`` of a diffusion). ``samples``: the raw ADC codes of the traced chains,
    int32 ``(samples, chains, units)``, burn-in included (``run.trace_chains`` chains of a golden
    run; every chain of a co-simulation). ``config``: the config that ran."""

    report: dict
    estimate: dict[str, np.ndarray]
    samples: np.ndarray
    config: Config
    estimator: Any = field(default=None, repr=False)

    @property
    def metrics(self) -> dict:
        return self.report["metrics"]

    def plot(self, path: str | Path) -> Path | None:
        """Write the run's figure (the same PNG ``demonloop run`` writes) to ``path``."""
        from demonloop import workloads

        return workloads.of(self.config).plot(self.report, self.estimator, Path(path),
                                              f"{self.config.name} — {self.report['demon']} demon")


def run(config, demon: str = "golden", seed: int | None = None, chains: int | None = None) -> Result:
    """Run ``config`` (anything :func:`load_config` takes) in closed loop and score it.

    ``demon``: ``"golden"`` (the bit-exact Python model, every chain at once) or a simulator
    (``"icarus"``, ``"verilator"``: the RTL computes the force, chains run one after another and
    every output is checked against the golden model; ``report["bit_exact"]`` says whether it
    held; ``"verilator-fast"``: the same check, every chain at once as in the golden loop). ``seed`` and ``chains`` override the config's (an RTL run defaults to one chain)."""
    from demonloop import workloads
    from demonloop.cosim.simulators import SIMULATORS

    cfg = load_config(config)
    over: dict[str, Any] = {}
    if seed is not None:
        over["seed"] = seed
    if chains is not None:
        over["chains"] = chains
    elif demon in SIMULATORS and not SIMULATORS.get(demon).vectorised and cfg.chains != 1:
        over["chains"] = 1
    if over:
        cfg = cfg.with_overrides(over)
    w = workloads.of(cfg)
    if demon == "golden":
        from demonloop.loop import SampleTrace, run_golden

        trace = SampleTrace(cfg.total_samples, min(cfg.run.trace_chains, cfg.chains), cfg.n)
        rep, est = run_golden(cfg, trace=trace)
        samples = trace.codes
    elif demon in SIMULATORS and SIMULATORS.get(demon).vectorised:
        from demonloop.cosim.fast import run_fast

        rep, est, samples = run_fast(cfg, quiet=True, return_codes=True)
    elif demon in SIMULATORS:
        from demonloop.cosim.run import run_cosim
        from demonloop.loop import replay_estimator

        rep, codes = run_cosim(cfg, simulator=demon, quiet=True, return_codes=True)
        program = w.compile(cfg)
        est = replay_estimator(program, [codes[:, c] for c in range(codes.shape[1])])
        samples = codes.astype(np.int32)
    else:
        raise ConfigError("demon", f"must be golden or one of {', '.join(SIMULATORS.names())}, got {demon!r}")
    from demonloop.cli.main import _checked

    checked = _checked(w, cfg)             # check's design rules and predictions, as the CLI reports them
    rep["warnings"] = checked.get("warnings", [])
    if checked.get("predictions"):
        rep["predictions"] = checked["predictions"]
    return Result(report=rep, estimate=est.estimate(), samples=samples, config=cfg, estimator=est)
