"""The table activation (emulator/demon/table.py, ``activation: table`` of the score network):
the interpolation's closed forms, its worst-case error against the target function within the
bound derived from the entries' rounding, the interpolation remainder and the final rounding,
the fast path against the int64 path, the latency, and the illegal parameters."""

from dataclasses import replace

import numpy as np
import pytest

from demonloop.demon.mlp import MLPDemon, MLPSpec
from demonloop.demon.table import (
    TABLE_FUNCTIONS, interpolate, make_table, table_error, table_function, table_inputs,
)
from demonloop.fixedpoint import Overflow, QFormat, Rounding, shift_round

#: max |f''| over the real line: sigmoid 1/(6 sqrt 3) (at u = log(2 +- sqrt 3)), tanh 4/(3 sqrt 3)
#: (at artanh(1/sqrt 3)), SiLU 1/2 (at 0), softplus 1/4 (sigmoid' at 0).
MAX_F2 = {"sigmoid": 1 / (6 * np.sqrt(3)), "tanh": 4 / (3 * np.sqrt(3)), "silu": 0.5, "softplus": 0.25}

SPEC = MLPSpec(n=3, emb=2, hidden=(7, 5), x_bits=10, f_bits=10, ctrl_bits=8, weight=QFormat(3, 8),
               bias=QFormat(4, 8), act=QFormat(3, 9), scale=QFormat(3, 9), activation="table",
               multipliers=3, sched_len=4, rounding=Rounding.RND, table_bits=6, table_frac=12)


@pytest.mark.parametrize("function", TABLE_FUNCTIONS)
@pytest.mark.parametrize("act,bits,frac,gain,rounding", [
    (QFormat(5, 11), 8, 15, 1.0, Rounding.RND_CONV),
    (QFormat(5, 11), 8, 15, 3.0, Rounding.RND_CONV),
    (QFormat(3, 9), 5, 12, 1.0, Rounding.TRN),
    (QFormat(2, 6), 4, 6, 2.0, Rounding.RND),
])
def test_worst_case_error_within_the_derived_bound(function, act, bits, frac, gain, rounding):
    """Over every input code: |table(h) - f(gain h)| <= 2**-frac / 2 (entries, interpolated values
    are convex combinations) + (gain d)**2 max|f''| / 8 (linear interpolation over a segment of
    width d) + the final rounding (act LSB / 2, or one LSB under TRN), where the entries were not
    clipped to the act range."""
    T = make_table(function, act, bits, frac, gain)
    err = table_error(function, T, act, bits, frac, rounding, gain)
    assert err["codes"] == 1 << act.width
    d = 2.0 ** (act.width - bits) * act.lsb
    final = act.lsb if rounding is Rounding.TRN else act.lsb / 2
    bound = 2.0**-frac / 2 + (gain * d) ** 2 * MAX_F2[function] / 8 + final
    y = table_function(function, gain * table_inputs(act, bits))
    if (y > act.max_value).any() or (y < act.min_value).any():
        # clipped entries: only codes whose segment has no clipped end are bounded
        h = np.arange(act.min_raw, act.max_raw + 1)
        seg = (h - act.min_raw) >> (act.width - bits)
        ok = (y[seg] <= act.max_value) & (y[seg + 1] <= act.max_value)
        a = interpolate(h, T, act, bits, frac, rounding) * act.lsb
        e = np.abs(a - table_function(function, gain * h * act.lsb))[ok]
        assert e.max() <= bound
    else:
        assert err["max_abs_error"] <= bound


def test_segment_starts_are_the_entries_and_positions_interpolate_linearly():
    """At a segment's first code the output is the entry rounded to act; halfway through with an
    even segment it is the rounded mean of the two entries (closed forms)."""
    act, bits, frac = QFormat(3, 9), 6, 12
    rng = np.random.default_rng(3)
    d = frac - act.frac_bits
    T = rng.integers(act.min_raw << d, act.max_raw << d, (1 << bits) + 1, endpoint=True)
    sb = act.width - bits
    i = np.arange(1 << bits)
    h0 = (i << sb) + act.min_raw
    for rounding in Rounding:
        assert (interpolate(h0, T, act, bits, frac, rounding) == shift_round(T[i], d, rounding)).all()
        mid = interpolate(h0 + (1 << (sb - 1)), T, act, bits, frac, rounding)
        assert (mid == shift_round(T[i] + T[i + 1], d + 1, rounding)).all()


def test_entries_stay_in_the_act_range_and_loading_checks_them():
    act = QFormat(2, 6)
    T = make_table("softplus", act, 4, 8, gain=4.0)          # softplus(8) = 8 > act.max: clipped
    assert T.max() == act.max_raw << 2 and T.min() >= act.min_raw << 2
    Ws = [np.zeros(s, dtype=np.int64) for s in SPEC.layer_shapes]
    bs = [np.zeros(o, dtype=np.int64) for o, _ in SPEC.layer_shapes]
    S = np.zeros((1, 5), dtype=np.int64)
    with pytest.raises(ValueError, match="needs table_raw"):
        MLPDemon(SPEC, Ws, bs, S)
    with pytest.raises(ValueError, match="entries"):
        MLPDemon(SPEC, Ws, bs, S, np.zeros(10))
    bad = np.zeros(SPEC.table_entries, dtype=np.int64)
    bad[3] = SPEC.act.max_raw << (SPEC.table_frac - SPEC.act.frac_bits) + 1
    with pytest.raises(ValueError, match="act range"):
        MLPDemon(SPEC, Ws, bs, S, bad)


def test_float_path_equals_int_path_and_latency():
    rng = np.random.default_rng(7)
    Ws = [rng.integers(SPEC.weight.min_raw, SPEC.weight.max_raw, s, endpoint=True) for s in SPEC.layer_shapes]
    bs = [rng.integers(-300, 300, o) for o, _ in SPEC.layer_shapes]
    S = rng.integers(-100, 100, (3, 5))
    T = make_table("tanh", SPEC.act, SPEC.table_bits, SPEC.table_frac, gain=0.7)
    a, b = MLPDemon(SPEC, Ws, bs, S, T), MLPDemon(SPEC, Ws, bs, S, T)
    X = rng.integers(-512, 512, (2000, 3))
    for _ in range(4):
        w, mask = a.force(X)
        f, n = b.force_count(X.astype(np.float64))
        assert (w == f).all() and n == mask.sum()
    # one gap cycle per hidden layer: 2 more than the same network with an exact activation
    assert SPEC.latency_cycles == replace(SPEC, activation="relu", table_bits=0, table_frac=0).latency_cycles + 2


@pytest.mark.parametrize("change,field", [
    (dict(table_bits=0), "table_bits"),
    (dict(table_bits=9), "table_bits"),
    (dict(act=QFormat(2, 3), table_bits=5), "table_bits"),
    (dict(table_frac=8), "table_frac"),
    (dict(table_frac=22), "table_frac"),
])
def test_illegal_table_parameters_are_named(change, field):
    assert field in [f for f, _ in replace(SPEC, **change).problems()]
    assert not SPEC.problems()
    assert SPEC.overflow is Overflow.SAT
