"""The analog array against closed forms: the exact OU step, fluctuation-dissipation
(stationary covariance k_B T C^-1, and k_B T L^-1 for RLC), and the Lyapunov solution.

Monte Carlo tolerances come from the estimators' standard errors: for N independent draws,
SE(mean) = sigma / sqrt(N), SE(var) = var * sqrt(2 / (N - 1)), and for a covariance entry
SE(S_ij) = sqrt((S_ii S_jj + S_ij^2) / N) (Wishart). Every check is at 5 standard errors.
"""

import numpy as np
import pytest

from demonloop.plant.analog import K_B, Network, coupled_matrix, discretize, stationary_covariance
from demonloop.plant.converters import ADC, DAC
from demonloop.plant.plant import Plant

Z = 5.0  # standard errors


def scalar_network(R, C, T):
    return Network(C=np.array([[C]]), G=np.array([[1.0 / R]]), T=T, q_amp=np.zeros(1))


def quiet_plant(network, chains, seed, f_clk=100e6, dac_fs=1e-4, bits=16):
    n = network.n
    adc = ADC(bits=bits, full_scale_V=1.0, offset_V=np.zeros(n), gain_error=np.zeros(n))
    dac = DAC(bits=bits, full_scale_A=dac_fs, offset_A=np.zeros(n), gain_error=np.zeros(n))
    return Plant(network, adc, dac, f_clk, chains, np.random.default_rng(seed))


@pytest.mark.parametrize("h_over_tau", [1e-4, 0.03, 1.0, 7.5, 300.0])
def test_one_exact_ou_step_matches_closed_form(h_over_tau):
    R, C, T = 1e4, 1e-9, 300.0
    tau = R * C
    h = h_over_tau * tau
    u = 3e-5                                  # injected current [A]
    sde = scalar_network(R, C, T).sde()
    Phi, Gam, Q = discretize(sde.A, sde.B, sde.Qc, h)
    e = np.exp(-h / tau)
    var_closed = K_B * T / C * (1.0 - e * e)
    assert Phi[0, 0] == pytest.approx(e, rel=1e-12, abs=1e-300)
    assert Gam[0, 0] * u == pytest.approx(R * u * (1.0 - e), rel=1e-11)
    assert Q[0, 0] == pytest.approx(var_closed, rel=1e-10)


@pytest.mark.parametrize("cycles", [3, 100, 2500])
def test_ou_step_through_the_plant_monte_carlo(cycles):
    # One plant step (with a held DAC current) from a fixed start: sample mean and variance.
    R, C, T = 1e4, 1e-9, 300.0
    f_clk = 100e6
    N = 200_000
    plant = quiet_plant(scalar_network(R, C, T), N, seed=cycles)
    v0 = 2e-6
    plant.state = np.full((N, 1), v0)
    code = 1234
    plant.advance(0, [(0, np.full((N, 1), float(code)))])
    plant.advance(cycles, [])
    h, tau = cycles / f_clk, R * C
    e = np.exp(-h / tau)
    u = code * plant.dac.lsb
    mean = v0 * e + R * u * (1.0 - e)
    var = K_B * T / C * (1.0 - e * e)
    v = plant.voltages[:, 0]
    assert abs(v.mean() - mean) < Z * np.sqrt(var / N)
    assert abs(v.var(ddof=1) - var) < Z * var * np.sqrt(2.0 / (N - 1))


def rc_network(T=300.0):
    # Unequal capacitances, resistive and capacitive coupling, both polarities: C^-1 G is non-normal.
    C_self = np.array([1.0e-9, 2.2e-9, 0.47e-9, 1.5e-9, 0.8e-9])
    C_c = np.zeros((5, 5))
    C_c[0, 1] = C_c[1, 0] = 0.3e-9
    C_c[2, 3] = C_c[3, 2] = -0.2e-9       # inverted polarity
    C_c[1, 4] = C_c[4, 1] = 0.15e-9
    g_self = 1.0 / np.array([1e4, 2.2e4, 4.7e3, 1e4, 6.8e3])
    G_c = np.zeros((5, 5))
    G_c[0, 2] = G_c[2, 0] = 1 / 3.3e4
    G_c[1, 3] = G_c[3, 1] = -1 / 4.7e4    # inverted polarity
    G_c[3, 4] = G_c[4, 3] = 1 / 1e4
    return Network(C=coupled_matrix(C_self, C_c), G=coupled_matrix(g_self, G_c), T=T, q_amp=np.zeros(5))


def rlc_network(T=300.0):
    base = rc_network(T)
    return Network(C=base.C, G=base.G, T=T, q_amp=np.zeros(5), L=np.array([1e-3, 2.2e-3, 0.47e-3, 1e-3, 3.3e-3]))


@pytest.mark.parametrize("make", [rc_network, rlc_network], ids=["RC", "RLC"])
def test_lyapunov_equals_fluctuation_dissipation(make):
    net = make()
    sde = net.sde()
    A = sde.A
    assert not np.allclose(A @ A.T, A.T @ A), "the drift must be non-normal for this test to mean anything"
    S = stationary_covariance(sde.A, sde.Qc)
    E = net.equilibrium_covariance()
    np.testing.assert_allclose(S, E, rtol=1e-8, atol=1e-8 * np.abs(E).max())
    # and Q(h) of the exact step is the stationary covariance minus what Phi carries over
    for h in (1e-8, 3e-7, 1e-5, 1e-3):
        Phi, _, Q = sde.step(h)
        np.testing.assert_allclose(Q, E - Phi @ E @ Phi.T, rtol=1e-7, atol=1e-9 * np.abs(E).max())


@pytest.mark.parametrize("make", [rc_network, rlc_network], ids=["RC", "RLC"])
def test_stationary_covariance_monte_carlo(make):
    net = make()
    N = 20_000
    plant = quiet_plant(net, N, seed=11)
    lam = np.linalg.eigvals(plant.sde.A).real.min()
    tau = 1.0 / lam
    step = max(1, int(tau * 100e6 / 3))
    for k in range(1, 121):                        # 40 slowest time constants in many exact steps
        plant.advance(k * step, [])
    s = plant.state
    S_hat = np.cov(s, rowvar=False)
    E = net.equilibrium_covariance()
    se = np.sqrt((np.outer(np.diag(E), np.diag(E)) + E**2) / N)
    z = np.abs(S_hat - E) / se
    assert z.max() < Z, f"largest deviation {z.max():.2f} standard errors"
    if net.is_rlc:
        n = net.n
        np.testing.assert_allclose(np.diag(E)[n:], K_B * net.T / net.L)   # i ~ k_B T / L
        assert np.all(np.abs(S_hat[:n, n:]) < Z * se[:n, n:])             # v and i independent


def test_amplifier_noise_realises_the_spu_sampler():
    # Uniform per-node amplifier noise and G = gamma M with C = c I: Sigma = q / (2 c gamma) M^-1
    # (plus the physical floor k_B T / c I, zero here at T = 0).
    M = np.array([[3.0, -1.0, 0.5], [-1.0, 2.5, 0.0], [0.5, 0.0, 1.5]])
    gamma, c, q = 1e-4, 1e-9, 1e-15
    net = Network(C=c * np.eye(3), G=gamma * M, T=0.0, q_amp=np.full(3, q))
    S = stationary_covariance(*(lambda s: (s.A, s.Qc))(net.sde()))
    np.testing.assert_allclose(S, q / (2 * c * gamma) * np.linalg.inv(M), rtol=1e-10)
