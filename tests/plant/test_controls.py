"""The plant's analog controls (a schedule's drift and noise, carried by DAC updates): exact
composition of segments with different SDEs, including a negative (active) conductance, against
the closed form of a scalar OU process; Monte Carlo at 5 standard errors."""

import numpy as np
import pytest

from demonloop.plant.analog import Network
from demonloop.plant.converters import ADC, DAC
from demonloop.plant.plant import Controls, Plant


def scalar_plant(chains, seed, g_ctrl, q_max, bits=8, R=1e4, C=1e-9):
    net = Network(C=np.array([[C]]), G=np.array([[1.0 / R]]), T=0.0, q_amp=np.zeros(1))
    adc = ADC(bits=12, full_scale_V=1.0, offset_V=np.zeros(1), gain_error=np.zeros(1))
    dac = DAC(bits=12, full_scale_A=1e-4, offset_A=np.zeros(1), gain_error=np.zeros(1))
    ctl = Controls(g_ctrl_S=np.array([g_ctrl]), q_max=np.array([q_max]), bits=bits)
    return Plant(net, adc, dac, 100e6, chains, np.random.default_rng(seed), controls=ctl)


def ou(mean, var, a, q, C, t):
    """Exact scalar step of C dv = -a C v dt + noise(q): mean and variance after t seconds
    (a [1/s] may be negative: an active, growing cell)."""
    e = np.exp(-a * t)
    noise = q / C**2 * (1 - e * e) / (2 * a) if a != 0 else q / C**2 * t
    return mean * e, var * e * e + noise


@pytest.mark.parametrize("h_code,neg_code", [(40, -100), (-90, 60)])
def test_control_segments_compose_exactly(h_code, neg_code):
    R, C, g_ctrl, q_max, bits = 1e4, 1e-9, 2e-4, 4e-15, 8
    N = 200_000
    plant = scalar_plant(N, seed=h_code + 1000, g_ctrl=g_ctrl, q_max=q_max, bits=bits, R=R, C=C)
    v0 = 0.05
    plant.state = np.full((N, 1), v0)
    # controls change twice inside one observation interval: at cycle 30 and at cycle 70
    u1 = np.zeros((N, 3)); u1[:, 1], u1[:, 2] = h_code, 100
    u2 = np.zeros((N, 3)); u2[:, 1], u2[:, 2] = neg_code, 50
    plant.advance(120, [(30, u1), (70, u2)])
    T = 1e-8
    scale = 2.0 ** (1 - bits)
    mean, var = v0, 0.0
    segs = [(30, 0.0, 0.0), (40, h_code * scale, 100 * scale), (50, neg_code * scale, 50 * scale)]
    for cycles, h, g in segs:
        a = (1 / R + h * g_ctrl) / C
        mean, var = ou(mean, var, a, g * g * q_max, C, cycles * T)
    assert any((1 / R + h * g_ctrl) < 0 for _, h, _ in segs), "a segment must be active (growing)"
    v = plant.voltages[:, 0]
    assert abs(v.mean() - mean) < 5 * np.sqrt(var / N)
    assert abs(v.var(ddof=1) - var) < 5 * var * np.sqrt(2.0 / (N - 1))
    assert plant.ctrl == (neg_code, 50)


def test_controls_hold_across_intervals_and_zero_noise_without_amplifier():
    # With g = 0 and T = 0 there is no noise at all: the state is deterministic and exact.
    R, C, g_ctrl = 1e4, 1e-9, 2e-4
    plant = scalar_plant(4, seed=0, g_ctrl=g_ctrl, q_max=1e-15)
    plant.state = np.full((4, 1), 0.1)
    u = np.zeros((4, 3)); u[:, 1] = 64                 # h = 0.5, g = 0
    plant.advance(10, [(10, u)])                        # lands at the end: no effect yet
    np.testing.assert_allclose(plant.voltages[:, 0], 0.1 * np.exp(-10e-8 / (R * C)), rtol=1e-12)
    plant.advance(60, [])                               # held: 50 cycles with the new conductance
    a = (1 / R + 0.5 * g_ctrl) / C
    np.testing.assert_allclose(plant.voltages[:, 0], 0.1 * np.exp(-10e-8 / (R * C)) * np.exp(-a * 50e-8), rtol=1e-12)
