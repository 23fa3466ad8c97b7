"""ADC and DAC with every error term off: exact codes, clipping at both ends, quantization error
variance lsb^2 / 12 for a wide input (standard error of the mean of e^2: lsb^2 / sqrt(180 N))."""

import numpy as np
import pytest

from demonloop.plant.converters import ADC, DAC, extremes


def ideal_adc(bits, fs=1.0, n=1):
    return ADC(bits=bits, full_scale_V=fs, offset_V=np.zeros(n), gain_error=np.zeros(n))


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_adc_exact_codes_and_clipping(bits):
    adc = ideal_adc(bits)
    lsb = adc.lsb
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    ks = np.arange(lo, hi + 1)
    v = ks * lsb
    codes, clipped = adc.convert(v)
    assert codes.tolist() == ks.tolist() and clipped == 0
    # mid-tread, round half up: just below a half step stays, the half step goes up
    codes, _ = adc.convert(ks[:-1] * lsb + 0.5 * lsb)
    assert codes.tolist() == (ks[:-1] + 1).tolist()
    codes, _ = adc.convert(np.nextafter(ks[1:] * lsb + 0.5 * lsb, -np.inf) - 1e-12 * lsb)
    assert codes.tolist() == ks[1:].tolist()
    # clipping at both ends, counted
    codes, clipped = adc.convert(np.array([1.0, 5.0, -1.0 - lsb, -7.0, -1.0, (hi + 0.49) * lsb]))
    assert codes.tolist() == [hi, hi, lo, lo, lo, hi]
    assert clipped == 4


@pytest.mark.parametrize("bits", [6, 10, 14])
def test_quantization_error_variance_is_lsb_squared_over_12(bits):
    adc = ideal_adc(bits, fs=2.0)
    N = 400_000
    v = np.random.default_rng(bits).uniform(-1.9, 1.9, N)
    codes, clipped = adc.convert(v)
    assert clipped == 0
    e = codes * adc.lsb - v
    ms = np.mean(e * e)
    expected = adc.lsb**2 / 12
    se = adc.lsb**2 / np.sqrt(180 * N)
    assert abs(ms - expected) < 5 * se
    assert abs(e.mean()) < 5 * adc.lsb / np.sqrt(12 * N)
    assert np.abs(e).max() <= adc.lsb / 2


def test_adc_errors_apply_in_order():
    adc = ADC(bits=10, full_scale_V=1.0, offset_V=np.array([0.01]), gain_error=np.array([0.02]))
    v = np.array([[0.3]])
    codes, _ = adc.convert(v)
    assert codes[0, 0] == np.floor((0.3 * 1.02 + 0.01) / adc.lsb + 0.5)


def test_dac_current_and_saturation_count():
    dac = DAC(bits=8, full_scale_A=1e-4, offset_A=np.zeros(2), gain_error=np.zeros(2))
    codes = np.array([[-128, 127], [5, -3]])
    np.testing.assert_allclose(dac.current(codes), codes * 1e-4 / 128, rtol=0, atol=0)
    assert dac.saturated(codes) == 2
    dac2 = DAC(bits=8, full_scale_A=1e-4, offset_A=np.array([1e-7, 0]), gain_error=np.array([0.0, -0.01]))
    np.testing.assert_allclose(dac2.current(np.array([10, 10])), [10 * 1e-4 / 128 + 1e-7, 10 * 1e-4 / 128 * 0.99])


@pytest.mark.parametrize("size", [1, 8, 32, 33, 200])
def test_extremes_equals_numpy_min_max(size):
    """The list path (<= 32 elements) and the numpy path give numpy's (min, max), NaN included."""
    rng = np.random.default_rng(size)
    for x in (rng.standard_normal(size), rng.integers(-2048, 2048, size), rng.standard_normal((1, size))):
        assert extremes(x) == (x.min(), x.max())
    if size > 1:
        x = rng.standard_normal(size)
        x[[0, -1]] = np.inf, -np.inf
        assert extremes(x) == (-np.inf, np.inf)
    for pos in {0, size // 2, size - 1}:
        x = rng.standard_normal(size)
        x[pos] = np.nan
        assert all(np.isnan(extremes(x)))
