"""The cycle timeline: a step in the demon output reaches the array exactly
L_adc + L_demon + L_dac cycles after the sample that caused it; drops are deterministic."""

import numpy as np
import pytest

from demonloop.workloads import compile_program
from demonloop.loop import Loop
from tests.conftest import small_config


def noiseless(overrides):
    base = {"array.temperature_K": 0.0, "array.noise": {"off": True}, "chains": 2}
    base.update(overrides)
    return small_config(base)


@pytest.mark.parametrize("adc_lat,mult,dac_lat", [(0, 3, 0), (3, 1, 5), (7, 2, 0), (0, 1, 11)])
def test_force_step_reaches_the_array_after_the_loop_latency(adc_lat, mult, dac_lat):
    # Sample every cycle; the array starts at rest with the DAC at 0 and no noise, so the node
    # voltages stay exactly 0 until the first force (the constant b) lands.
    cfg = noiseless({"adc.sample_period_cycles": 1, "adc.latency_cycles": adc_lat,
                     "dac.latency_cycles": dac_lat, "demon.multipliers": mult,
                     "run.burn_in_samples": 0, "run.samples": 200})
    L = adc_lat + (3 * -(-3 // mult) + 1) + dac_lat
    assert cfg.loop_latency_cycles == L
    loop = Loop(compile_program(cfg), cfg.chains, seed=0)
    demon = loop.program.demon()
    first_nonzero = None
    for _ in range(L + 5):
        k, X = loop.observe()
        v = loop.plant.voltages
        if first_nonzero is None and np.any(v != 0.0):
            first_nonzero = k
        t_in = loop.offer(k)
        if t_in is not None:
            F, _ = demon.force_count(X)
            loop.deliver(t_in + loop.timing.demon_latency, F)
    # the update from sample 0 is applied at cycle L: the state at L is untouched, at L+1 it moved
    assert first_nonzero == L + 1


@pytest.mark.parametrize("period,mult", [(4, 3), (5, 1), (9, 1), (10, 1), (3, 1)])
def test_samples_arriving_while_busy_are_dropped_deterministically(period, mult):
    cfg = noiseless({"adc.sample_period_cycles": period, "demon.multipliers": mult,
                     "run.burn_in_samples": 0, "run.samples": 300, "adc.latency_cycles": 2})
    ii = cfg.demon_initiation_interval
    loop = Loop(compile_program(cfg), cfg.chains, seed=0)
    loop.run_golden(lambda m, X: None)
    q = 1 if ii <= period else -(-ii // period)       # every q-th sample is accepted
    assert loop.counters.accepted == -(-300 // q)
    assert loop.counters.dropped == 300 - loop.counters.accepted


def test_several_samples_in_flight_keep_their_order():
    # Latency longer than the sample period: outputs of samples m and m+1 are both in flight.
    cfg = noiseless({"adc.sample_period_cycles": 10, "demon.multipliers": 3, "adc.latency_cycles": 20,
                     "dac.latency_cycles": 13, "run.burn_in_samples": 0, "run.samples": 50})
    loop = Loop(compile_program(cfg), cfg.chains, seed=0)
    seen = []
    orig = loop.deliver

    def spy(out_cycle, codes):
        seen.append(out_cycle + loop.timing.dac_latency)
        orig(out_cycle, codes)

    loop.deliver = spy
    loop.run_golden(lambda m, X: None)
    L = cfg.loop_latency_cycles
    assert L > 2 * cfg.adc.sample_period_cycles
    assert seen == [10 * m + L for m in range(50)]
