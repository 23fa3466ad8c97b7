"""Non-idealities against closed forms: component tolerances drawn per instance from the seed,
supply rails that clip (counted), ADC input noise (Sheppard's correction), and first-order DAC
settling, which stays exact because it is one more linear state."""

import numpy as np
import pytest

from demonloop.plant.analog import Network
from demonloop.workloads import compile_program
from demonloop.config.schema import Tolerance
from demonloop.plant.converters import ADC, DAC
from demonloop.loop import Loop
from demonloop.plant.plant import Plant
from tests.conftest import small_config


def test_tolerances_are_drawn_per_instance_with_the_stated_spread():
    cfg = small_config({"array.n": 3})
    el = compile_program(cfg).elements
    tol = Tolerance(R=0.05, C=0.02)
    # many instances of a 3-cell array: the self resistors' relative deviations are N(0, 0.05^2)
    devs_R, devs_C = [], []
    for seed in range(400):
        net = el.network(np.random.default_rng(seed), tol)
        R = 1.0 / (np.diag(net.G) - np.abs(net.G - np.diag(np.diag(net.G))).sum(axis=1))
        R0 = 1.0 / el.g_self
        devs_R.extend(R / R0 - 1.0)
        devs_C.extend(np.diag(net.C) / el.C_self - 1.0)
    for devs, sig in ((np.array(devs_R), 0.05), (np.array(devs_C), 0.02)):
        N = len(devs)
        assert abs(devs.mean()) < 5 * sig / np.sqrt(N)
        assert abs(devs.std(ddof=1) - sig) < 5 * sig / np.sqrt(2 * (N - 1))
    # the same seed gives the same instance; the loop's chains all share it
    a = Loop(compile_program(small_config({"array.tolerance": {"R": 0.05}})), 4, seed=7).network
    b = Loop(compile_program(small_config({"array.tolerance": {"R": 0.05}})), 64, seed=7).network
    c = Loop(compile_program(small_config({"array.tolerance": {"R": 0.05}})), 4, seed=8).network
    np.testing.assert_array_equal(a.G, b.G)
    assert not np.array_equal(a.G, c.G)


def quiet_plant(net, chains, seed, rail=None, settling=None, adc_noise=0.0):
    n = net.n
    adc = ADC(bits=10, full_scale_V=1.0, offset_V=np.zeros(n), gain_error=np.zeros(n), noise_V=adc_noise)
    dac = DAC(bits=12, full_scale_A=1e-4, offset_A=np.zeros(n), gain_error=np.zeros(n), settling_tau_s=settling)
    return Plant(net, adc, dac, 100e6, chains, np.random.default_rng(seed), rail_V=rail)


def test_rails_clip_and_are_counted():
    # 2 nF at an absurd temperature: sigma = sqrt(k T / C) ~ 0.26 V; rails at 0.3 V clip often.
    net = Network(C=np.array([[2e-9]]), G=np.array([[1e-4]]), T=1e13, q_amp=np.zeros(1))
    plant = quiet_plant(net, 20000, seed=3, rail=0.3)
    plant.advance(100_000, [])                # 50 time constants: stationary
    v = plant.voltages[:, 0]
    assert np.abs(v).max() <= 0.3
    at_rail = np.count_nonzero(np.abs(v) == 0.3)
    assert at_rail == plant.counters.rail_clipped > 0
    # the clipped fraction is the Gaussian tail beyond the rail (5 standard errors)
    from math import erfc, sqrt
    sigma = np.sqrt(1.380649e-23 * 1e13 / 2e-9)
    p = erfc(0.3 / sigma / sqrt(2))
    N = len(v)
    assert abs(at_rail / N - p) < 5 * np.sqrt(p * (1 - p) / N)


def test_adc_input_noise_adds_its_variance():
    # a constant input and input-referred noise of 3 LSB: the code variance is
    # (noise / lsb)^2 + 1/12 (Sheppard's correction; exact up to exp(-2 pi^2 sigma^2) terms)
    net = Network(C=np.array([[1e-9]]), G=np.array([[1e-4]]), T=0.0, q_amp=np.zeros(1))
    plant = quiet_plant(net, 200_000, seed=5, adc_noise=3 * 1.0 / 512)
    plant.state = np.full((200_000, 1), 0.1234)
    codes = plant.sample()[:, 0]
    var = codes.var(ddof=1)
    expect = 9.0 + 1.0 / 12
    assert abs(var - expect) < 5 * expect * np.sqrt(2.0 / (len(codes) - 1))
    assert abs(codes.mean() - 0.1234 * 512) < 5 * np.sqrt(expect / len(codes))


def test_dac_settling_step_response_is_exact():
    # RC cell (tau) driven through a DAC with first-order settling (tau_d), noiseless:
    # v(t) = R u [1 - (tau e^{-t/tau} - tau_d e^{-t/tau_d}) / (tau - tau_d)]
    R, C, tau_d = 1e4, 1e-9, 3e-6
    tau = R * C
    net = Network(C=np.array([[C]]), G=np.array([[1.0 / R]]), T=0.0, q_amp=np.zeros(1))
    plant = quiet_plant(net, 1, seed=0, settling=tau_d)
    code = 1000.0
    u = code * plant.dac.lsb
    plant.advance(0, [(0, np.array([[code]]))])
    for k in (50, 300, 1000, 4000):
        plant.advance(k, [])
        t = k * 1e-8
        v = R * u * (1 - (tau * np.exp(-t / tau) - tau_d * np.exp(-t / tau_d)) / (tau - tau_d))
        assert plant.voltages[0, 0] == pytest.approx(v, rel=1e-10)
