"""Shared helpers for the tests."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SMALL = {
    "name": "small",
    "seed": 1,
    "chains": 64,
    "array": {"n": 3, "C_F": 1e-9, "rail_V": 1.5},
    "adc": {"bits": 12, "sample_period_cycles": 100, "latency_cycles": 3},
    "dac": {"bits": 12, "latency_cycles": 2},
    "demon": {"multipliers": 3},
    "compiler": {"mode": "analog"},
    "workload": {"kind": "linear_solve",
                 "A": [[3.0, -1.0, 0.5], [-1.0, 2.5, 0.0], [0.5, 0.0, 1.5]],
                 "b": [1.0, -0.5, 0.25]},
    "run": {"burn_in_samples": 50, "samples": 200},
}


def small_config(overrides: dict | None = None, base: dict | None = None):
    """A validated config: SMALL (or ``base``) with dotted-key ``overrides``."""
    from demonloop.config import set_dotted, validate_config

    data = copy.deepcopy(base or SMALL)
    for k, v in (overrides or {}).items():
        set_dotted(data, k, v)
    return validate_config(data)


@pytest.fixture
def demonloop_env():
    """Environment for running the `demonloop` CLI as a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
