"""The bounded stability search (:func:`demonloop.linearised.max_stable_latency`) against the
brute-force test it replaces: the spectral radius of the full augmented transition matrix
``F``, whose size grows with the latency. The search's answer ``L*`` must be stable, ``L* + 1``
unstable, and every latency below it stable; "stable at any latency" must hold at latencies far
past anything the old doubling search could reach cheaply."""

from __future__ import annotations

import numpy as np
import pytest

from demonloop import linearised
from demonloop.workloads import compile_program
from tests.studies.test_sweep import loop_config


def rho(program, L: int) -> float:
    return linearised.from_program(program, latency=L).spectral_radius


@pytest.mark.parametrize("over", [
    {"compiler.time_constant_samples": 2},
    {"compiler.time_constant_samples": 10},
    {"compiler.time_constant_samples": 40},
    {"compiler.time_constant_samples": 40, "array.R_ohm": 3e4},   # a crossing far out (~75 periods)
    {"compiler.time_constant_samples": 6, "adc.sample_period_cycles": 3, "demon.multipliers": 1, "dac.full_scale_A": 0.05},  # II 5: updates every 2 periods
])
def test_max_stable_latency_is_the_spectral_radius_crossing(over):
    program = compile_program(loop_config(**over))
    L = linearised.max_stable_latency(program)
    assert L is not None and L >= 0
    assert rho(program, L) < 1.0 < rho(program, L + 1)
    for lat in np.linspace(0, L, 12).astype(int):
        assert rho(program, int(lat)) < 1.0


def test_stable_at_any_latency_is_reported_as_such():
    # the self resistors carry most of the conductance: the demon's loop gain stays under 1 at
    # every frequency, so no latency can destabilise it
    program = compile_program(loop_config(**{"array.R_ohm": 1e4, "compiler.time_constant_samples": 40}))
    assert linearised.max_stable_latency(program) is None
    for lat in (0, 137, 1_000, 4_321, 9_999, 15_000):
        assert rho(program, lat) < 1.0


def test_unstable_with_no_latency_is_minus_one():
    program = compile_program(loop_config(**{"compiler.time_constant_samples": 0.3, "dac.full_scale_A": 3e-3}))
    if rho(program, 0) < 1.0:
        pytest.fail("the test needs a loop unstable at zero latency")
    assert linearised.max_stable_latency(program) == -1
