"""Golden linear force unit f = b - A x: the datapath against APyTypes, the fast float64 path
against the int64 path, the accumulator width bound at the corners, and the latency formula."""

import numpy as np
import pytest
from apytypes import APyFixedArray, OverflowMode, QuantizationMode

from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding

QMODE = {Rounding.TRN: QuantizationMode.TRN, Rounding.RND: QuantizationMode.RND,
         Rounding.RND_CONV: QuantizationMode.RND_CONV}
OMODE = {Overflow.SAT: OverflowMode.SAT, Overflow.WRAP: OverflowMode.WRAP}

SPECS = [
    LinearDemonSpec(n=4, multipliers=4, x_bits=10, f_bits=10, coef=QFormat(3, 9), bias=QFormat(3, 9),
                    rounding=Rounding.TRN, overflow=Overflow.SAT),
    LinearDemonSpec(n=16, multipliers=5, x_bits=12, f_bits=14, coef=QFormat(5, 14), bias=QFormat(4, 16),
                    rounding=Rounding.RND_CONV, overflow=Overflow.SAT),
    LinearDemonSpec(n=8, multipliers=3, x_bits=12, f_bits=12, coef=QFormat(2, 14), bias=QFormat(2, 12),
                    rounding=Rounding.RND, overflow=Overflow.WRAP),
]


def corner_inputs(spec, rng, count):
    lo, hi = -(1 << (spec.x_bits - 1)), (1 << (spec.x_bits - 1)) - 1
    X = rng.integers(lo, hi + 1, (count, spec.n))
    X[:8] = lo                      # most negative input
    X[8:16] = hi
    X[16:24] = rng.choice([lo, hi], (8, spec.n))
    return X


def corner_coefs(spec, rng):
    f = spec.coef
    A = rng.integers(f.min_raw, f.max_raw + 1, (spec.n, spec.n))
    A[0, :] = f.min_raw             # with the most negative input: the largest positive products
    A[1, :] = f.max_raw
    b = rng.integers(spec.bias.min_raw, spec.bias.max_raw + 1, spec.n)
    b[0] = spec.bias.max_raw
    b[1] = spec.bias.min_raw
    return A, b


def apy_force(spec, A, b, X):
    """b - A x in APyTypes: exact products and sums, then one cast to the output format."""
    fx = spec.x_bits - 1
    x = APyFixedArray.from_float((X * 2.0 ** -fx).ravel().tolist(), int_bits=1, frac_bits=fx).reshape(X.shape)
    Aa = APyFixedArray.from_float((A * 2.0 ** -spec.coef.frac_bits).ravel().tolist(),
                                  int_bits=spec.coef.int_bits, frac_bits=spec.coef.frac_bits).reshape(A.shape)
    ba = APyFixedArray.from_float((b * 2.0 ** -spec.bias.frac_bits).tolist(),
                                  int_bits=spec.bias.int_bits, frac_bits=spec.bias.frac_bits)
    out = []
    ff = spec.f_bits - 1
    for row in range(X.shape[0]):
        acc = ba - (Aa @ x[row])        # exact (APyTypes grows the word)
        y = acc.cast(int_bits=1, frac_bits=ff, quantization=QMODE[spec.rounding], overflow=OMODE[spec.overflow])
        out.append(np.rint(y.to_numpy() * 2.0 ** ff))
    return np.asarray(out, dtype=np.int64)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"n{s.n}_{s.rounding.value}_{s.overflow.value}")
def test_force_matches_apytypes(spec):
    rng = np.random.default_rng(spec.n)
    A, b = corner_coefs(spec, rng)
    X = corner_inputs(spec, rng, 300)
    demon = LinearDemon(spec, A, b)
    got, mask = demon.force(X)
    np.testing.assert_array_equal(got, apy_force(spec, A, b, X))
    assert mask.any(), "the corners must exercise overflow"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"n{s.n}_{s.rounding.value}_{s.overflow.value}")
def test_float_path_equals_int_path(spec):
    rng = np.random.default_rng(100 + spec.n)
    A, b = corner_coefs(spec, rng)
    X = corner_inputs(spec, rng, 20000)
    demon = LinearDemon(spec, A, b)
    assert demon.float_exact
    ref, mask = demon.force(X)
    for Xf in (X.astype(np.float64), np.asfortranarray(X.astype(np.float64))):
        got, n_ovf = demon.force_count(Xf)
        np.testing.assert_array_equal(got, ref.astype(np.float64))
        assert n_ovf == int(mask.sum())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"n{s.n}")
def test_accumulator_width_holds_the_extremes(spec):
    # The largest |acc|: every product at its maximum, b at its extreme, same sign.
    A = np.full((spec.n, spec.n), spec.coef.min_raw)
    X = np.full((1, spec.n), -(1 << (spec.x_bits - 1)))
    b = np.full(spec.n, spec.bias.min_raw)
    acc = LinearDemon(spec, A, b).accumulate(X)
    lo, hi = -(1 << (spec.acc_width - 1)), (1 << (spec.acc_width - 1)) - 1
    assert lo <= acc.min() and acc.max() <= hi
    exact = spec.bias.min_raw * 2 ** spec.b_shift - spec.n * spec.coef.min_raw * -(1 << (spec.x_bits - 1))
    assert int(acc[0, 0]) == exact


def test_latency_formula():
    s = SPECS[1]                        # n = 16, P = 5: ceil(16/5) = 4 groups of 16 columns
    assert (s.groups, s.latency_cycles, s.initiation_interval) == (4, 16 * 4 + 1, 16 * 4 + 1)
    s = SPECS[0]
    assert (s.latency_cycles, s.initiation_interval) == (4 * 1 + 1, 5)


def test_illegal_specs_are_named():
    bad = LinearDemonSpec(n=4, multipliers=5, x_bits=10, f_bits=30, coef=QFormat(3, 9), bias=QFormat(3, 20))
    fields = {f for f, _ in bad.problems()}
    assert {"multipliers", "f_bits"} <= fields
    with pytest.raises(ValueError):
        LinearDemon(bad, np.zeros((4, 4)), np.zeros(4))
