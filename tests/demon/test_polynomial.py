"""The polynomial (Ising) unit's golden model: against an independent exact-rational reference
(Python fractions, the force equation of the module docstring rounded once per narrowing point),
closed forms (the self force at exactly representable points, the wells' zero force), the
schedule's stepping with a dwell, and the compiler's power-of-two coupling scaling."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from demonloop.demon.polynomial import KIND, PolynomialDemon, PolySpec, quantize_poly
from demonloop.fixedpoint import Overflow, QFormat, Rounding


def spec(**kw) -> PolySpec:
    base = dict(n=4, multipliers=2, x_bits=10, f_bits=12, coef=QFormat(2, 12), bias=QFormat(2, 12),
                sched=QFormat(6, 12), sched_len=8, rounding=Rounding.RND_CONV, overflow=Overflow.SAT)
    base.update(kw)
    return PolySpec(**base)


def round_frac(q: Fraction, rounding: Rounding) -> int:
    """Round a rational to an integer: TRN floor, RND half up, RND_CONV half to even."""
    fl = math.floor(q)
    if rounding is Rounding.TRN:
        return fl
    rem = q - fl
    if rounding is Rounding.RND:
        return fl + (1 if rem >= Fraction(1, 2) else 0)
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2):
        return fl + 1
    return fl


def fit(v: int, bits: int, mode: Overflow) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if mode is Overflow.SAT:
        return min(max(v, lo), hi)
    return ((v - lo) % (1 << bits)) + lo


def reference_force(s: PolySpec, J, b, row, X) -> list[int]:
    """The unit's output codes from real-valued arithmetic: L, x^3 and f each the exact real value
    rounded once to its format (by value, not by shifting integers)."""
    n = s.n
    g, a, c, h = row[0], row[1:1 + n], row[1 + n:1 + 2 * n], row[1 + 2 * n:]
    xl = Fraction(1, 1 << (s.x_bits - 1))
    x = [Fraction(int(v)) * xl for v in X]
    lin_lsb = Fraction(1, 1 << (s.lin_bits - 1))
    out = []
    for i in range(n):
        L_real = Fraction(int(b[i]), 1 << s.bias.frac_bits) - sum(
            Fraction(int(J[i][j]), 1 << s.coef.frac_bits) * x[j] for j in range(n))
        L = fit(round_frac(L_real / lin_lsb, s.rounding), s.lin_bits, s.overflow)
        x3 = fit(round_frac(x[i] ** 3 / xl, s.rounding), s.x_bits, Overflow.SAT)
        sc = Fraction(1, 1 << s.sched.frac_bits)
        f_real = (int(g) * sc * L * lin_lsb + int(h[i]) * sc - 2 * int(a[i]) * sc * x[i]
                  - 4 * int(c[i]) * sc * x3 * xl)
        out.append(fit(round_frac(f_real * (1 << (s.f_bits - 1)), s.rounding), s.f_bits, s.overflow))
    return out


@pytest.mark.parametrize("rounding", list(Rounding))
@pytest.mark.parametrize("ovf", list(Overflow))
@pytest.mark.parametrize("family", ["inrange", "full"])
def test_golden_matches_the_rational_reference(rounding, ovf, family):
    s = spec(rounding=rounding, overflow=ovf, x_bits=8, f_bits=10, coef=QFormat(2, 6), bias=QFormat(2, 8),
             sched=QFormat(4, 8))
    rng = np.random.default_rng(hash((rounding.value, ovf.value, family)) % 2**32)
    prog = KIND.random_program(s, rng, family)
    d = prog.demon()
    X = rng.integers(-(1 << 7), 1 << 7, size=(40, s.n))
    X[0] = -(1 << 7)          # the most negative code (its cube is exact)
    X[1] = (1 << 7) - 1
    for k in range(prog.schedule_raw.shape[0]):
        F, _ = d.force_at(X, k)
        want = [reference_force(s, prog.J_raw, prog.b_raw, prog.schedule_raw[k], x) for x in X]
        assert F.tolist() == want


def test_self_force_closed_form():
    """J = 0, b = 0, g = 0, h = 0: f = -(2 a x + 4 c x^3); with a = -1/2, c = 1/2 the force is
    x - 2 x^3: f(1/2) = 1/4, f(-1/2) = -1/4, f(0) = 0, f(1/4) = 7/32 (exact codes)."""
    s = spec(x_bits=10, f_bits=12)
    n = s.n
    row = np.zeros(1 + 3 * n, dtype=np.int64)
    row[1:1 + n] = -(1 << 11)          # a = -1/2 in Q(6, 12)
    row[1 + n:1 + 2 * n] = 1 << 11     # c = +1/2
    d = PolynomialDemon(s, np.zeros((n, n)), np.zeros(n), row[None, :])
    X = np.array([[256, -256, 0, 128]])           # x = 1/2, -1/2, 0, 1/4
    F, m = d.force_at(X, 0)
    # f = x - 2x^3 in Q(1, 11): 1/4 -> 512, -1/4 -> -512, 0, 1/4 - 1/32 = 7/32 -> 448
    assert F.tolist() == [[512, -512, 0, 448]]
    assert not m.any()


def test_couplings_and_bias_closed_form():
    """a = c = 0: f = g (b - J x) + h, exactly representable: J = [[0, 1/2], [1/2, 0]] (n = 2),
    b = (1/8, 0), g = 2, h = (0, -1/4); x = (1/2, -1/2): L = (1/8 + 1/4, -1/4), f = (3/4, -3/4)."""
    s = spec(n=2, multipliers=1)
    J = np.array([[0, 1 << 11], [1 << 11, 0]])
    b = np.array([1 << 9, 0])
    row = np.zeros(7, dtype=np.int64)
    row[0] = 2 << 12
    row[6] = -(1 << 10)
    d = PolynomialDemon(s, J, b, row[None, :])
    F, _ = d.force_at(np.array([[256, -256]]), 0)
    assert F.tolist() == [[3 << 9, -(3 << 9)]]


def test_schedule_steps_with_dwell_and_saturates():
    s = spec(n=1, multipliers=1, sched_len=4)
    K, dwell = 3, 2
    rows = np.zeros((K, 4), dtype=np.int64)
    rows[:, 3] = np.array([1, 2, 3]) << 10       # h = 1/4, 1/2, 3/4: f = h at x = 0
    d = PolynomialDemon(s, np.zeros((1, 1)), np.zeros(1), rows, dwell=dwell)
    got = [int(d.force(np.zeros((2, 1), dtype=np.int64))[0][0, 0]) for _ in range(9)]
    assert got == [512, 512, 1024, 1024, 1536, 1536, 1536, 1536, 1536]
    d.reset()
    assert int(d.force(np.zeros((1, 1), dtype=np.int64))[0][0, 0]) == 512


def test_force_count_equals_force():
    s = spec()
    rng = np.random.default_rng(3)
    prog = KIND.random_program(s, rng, "full")
    d1, d2 = prog.demon(), prog.demon()
    for _ in range(7):
        X = rng.integers(-512, 512, size=(16, s.n))
        F, m = d1.force(X)
        Fc, c = d2.force_count(X.astype(np.float64))
        assert np.array_equal(F, Fc.astype(np.int64)) and c == int(m.sum())


def test_quantize_poly_scales_couplings_by_a_power_of_two():
    s = spec(n=3, multipliers=3)
    W = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)   # row sums 2: shift 2 keeps |L| < 1
    J_raw, b_raw, S, rep = quantize_poly(s, W, np.zeros(3), np.array([0.25]), np.zeros((1, 3)),
                                         np.zeros((1, 3)), np.zeros((1, 3)))
    assert rep["coupling_shift"] == 2
    assert np.array_equal(J_raw, (W * 2 ** 12 / 4).astype(np.int64))
    assert S[0, 0] == int(0.25 * 4 * 2 ** 12)
    assert rep["clipped"] == 0


def test_problems_name_the_fields():
    assert ("x_bits", "must be between 2 and 20 for the polynomial unit (the cube), got 22") in spec(x_bits=22).problems()
    assert any(f == "sched_len" for f, _ in spec(n=64, multipliers=8, sched_len=16).problems())
    assert spec(n=64, multipliers=8, sched_len=15).problems() == []
