"""The fixed-point helpers agree with an independent library (APyTypes) bit for bit.

Both the int64 reference path and the float64 fast path of every helper are compared with
APyTypes casts on random vectors and on the corners (ties, the most negative value, values just
past the range) for every rounding and overflow mode.
"""

import numpy as np
import pytest
from apytypes import APyFixedArray, OverflowMode, QuantizationMode

from demonloop.fixedpoint import (
    Overflow, QFormat, Rounding, count_overflow, narrow, quantize, saturate, shift_round, wrap,
)

QMODE = {Rounding.TRN: QuantizationMode.TRN, Rounding.RND: QuantizationMode.RND,
         Rounding.RND_CONV: QuantizationMode.RND_CONV}
OMODE = {Overflow.SAT: OverflowMode.SAT, Overflow.WRAP: OverflowMode.WRAP}


def apy_narrow(raw, in_width, in_frac, shift, width, rounding, overflow):
    """Reference: APyTypes cast of Q(in_width - in_frac, in_frac) to ``width`` bits with
    ``in_frac - shift`` fractional bits. Returns raw integers."""
    vals = np.asarray(raw, dtype=np.float64) * 2.0 ** -in_frac      # exact dyadic values
    x = APyFixedArray.from_float(vals, int_bits=in_width - in_frac, frac_bits=in_frac)
    out_frac = in_frac - shift
    y = x.cast(int_bits=width - out_frac, frac_bits=out_frac,
               quantization=QMODE[rounding], overflow=OMODE[overflow])
    return np.rint(y.to_numpy() * 2.0 ** out_frac).astype(np.int64)


def corners(in_width, shift):
    lo, hi = -(1 << (in_width - 1)), (1 << (in_width - 1)) - 1
    half = 1 << max(shift - 1, 0)
    step = 1 << shift
    base = np.array([lo, lo + 1, hi, hi - 1, 0, -1, 1], dtype=np.int64)
    ties = np.array([k * step + half for k in range(-4, 4)] + [k * step - half for k in range(-4, 4)], dtype=np.int64)
    return np.concatenate([base, ties, ties + 1, ties - 1])


@pytest.mark.parametrize("rounding", list(Rounding))
@pytest.mark.parametrize("overflow", list(Overflow))
@pytest.mark.parametrize("in_width,in_frac,shift,width", [(24, 12, 6, 10), (31, 20, 11, 12), (16, 8, 1, 16), (40, 30, 17, 14), (20, 4, 0, 8)])
def test_narrow_matches_apytypes(rounding, overflow, in_width, in_frac, shift, width):
    rng = np.random.default_rng(in_width * 1000 + shift)
    raw = np.concatenate([rng.integers(-(1 << (in_width - 1)), 1 << (in_width - 1), 20000), corners(in_width, shift)])
    raw = raw[(raw >= -(1 << (in_width - 1))) & (raw < (1 << (in_width - 1)))]
    expect = apy_narrow(raw, in_width, in_frac, shift, width, rounding, overflow)
    got, mask = narrow(raw, shift, width, rounding, overflow)
    np.testing.assert_array_equal(got, expect)
    # the float64 path computes the same integers
    got_f, mask_f = narrow(raw.astype(np.float64), shift, width, rounding, overflow)
    np.testing.assert_array_equal(got_f, expect.astype(np.float64))
    np.testing.assert_array_equal(mask, mask_f)
    # the mask flags exactly the values that did not fit
    unclipped = shift_round(raw, shift, rounding)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    np.testing.assert_array_equal(mask, (unclipped < lo) | (unclipped > hi))
    assert count_overflow(unclipped, width) == int(mask.sum())


def test_rounding_ties_by_hand():
    a = np.array([1, 3, 5, -1, -3, -5, 2, -2], dtype=np.int64)  # halves at shift 1: .5, 1.5, 2.5, ...
    assert shift_round(a, 1, Rounding.TRN).tolist() == [0, 1, 2, -1, -2, -3, 1, -1]
    assert shift_round(a, 1, Rounding.RND).tolist() == [1, 2, 3, 0, -1, -2, 1, -1]
    assert shift_round(a, 1, Rounding.RND_CONV).tolist() == [0, 2, 2, 0, -2, -2, 1, -1]


def test_saturate_and_wrap_corners():
    a = np.array([-129, -128, 127, 128, 255, -256, 0], dtype=np.int64)
    s, m = saturate(a, 8)
    assert s.tolist() == [-128, -128, 127, 127, 127, -128, 0]
    assert m.tolist() == [True, False, False, True, True, True, False]
    w, m = wrap(a, 8)
    assert w.tolist() == [127, -128, 127, -128, -1, 0, 0]
    assert m.tolist() == [True, False, False, True, True, True, False]


@pytest.mark.parametrize("rounding", list(Rounding))
def test_quantize_matches_apytypes(rounding):
    rng = np.random.default_rng(7)
    fmt = QFormat(3, 9)
    x = np.concatenate([rng.uniform(-5, 5, 5000), np.arange(-40, 40) / 2 ** 10, [3.999, -4.0, -4.001]])
    got, mask = quantize(x, fmt, rounding, Overflow.SAT)
    ref = APyFixedArray.from_float(x, int_bits=12, frac_bits=30).cast(
        int_bits=3, frac_bits=9, quantization=QMODE[rounding], overflow=OverflowMode.SAT)
    np.testing.assert_array_equal(got, np.rint(ref.to_numpy() * 2 ** 9).astype(np.int64))
    wide = APyFixedArray.from_float(x, int_bits=12, frac_bits=30).cast(
        int_bits=8, frac_bits=9, quantization=QMODE[rounding], overflow=OverflowMode.SAT)
    unclipped = np.rint(wide.to_numpy() * 2 ** 9)
    np.testing.assert_array_equal(mask, (unclipped < fmt.min_raw) | (unclipped > fmt.max_raw))
