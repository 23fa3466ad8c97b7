"""Golden score-network unit (emulator/demon/mlp.py): the datapath against APyTypes, the float64
fast path against the int64 path, the step counter, the accumulator bound at its extremes, the
latency formula, the activation's exactness, the float twin within a derived error bound, and
the quantization report."""

import numpy as np
import pytest
from apytypes import APyFixedArray, OverflowMode, QuantizationMode

from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.demon.mlp import (
    MLPDemon, MLPFloat, MLPSpec, activate_raw, quantize_mlp, quantize_schedule,
)
from demonloop.fixedpoint import Overflow, QFormat, Rounding, narrow

QMODE = {Rounding.TRN: QuantizationMode.TRN, Rounding.RND: QuantizationMode.RND,
         Rounding.RND_CONV: QuantizationMode.RND_CONV}
OMODE = {Overflow.SAT: OverflowMode.SAT, Overflow.WRAP: OverflowMode.WRAP}

SPECS = {
    "relu-1h-trn-sat": MLPSpec(n=4, emb=2, hidden=(8,), x_bits=10, f_bits=10, ctrl_bits=8,
                               weight=QFormat(3, 8), bias=QFormat(4, 8), act=QFormat(4, 8), scale=QFormat(4, 8),
                               activation="relu", multipliers=4, sched_len=16),
    "hardtanh-2h-rndconv-sat": MLPSpec(n=3, emb=4, hidden=(7, 5), x_bits=12, f_bits=12, ctrl_bits=10,
                                       weight=QFormat(2, 10), bias=QFormat(3, 12), act=QFormat(3, 9),
                                       scale=QFormat(6, 10), activation="hardtanh", multipliers=3,
                                       sched_len=8, rounding=Rounding.RND_CONV),
    "relu-3h-rnd-wrap-noemb": MLPSpec(n=2, emb=0, hidden=(5, 6, 3), x_bits=8, f_bits=9, ctrl_bits=6,
                                      weight=QFormat(3, 6), bias=QFormat(5, 6), act=QFormat(3, 5),
                                      scale=QFormat(3, 7), activation="relu", multipliers=2,
                                      sched_len=4, rounding=Rounding.RND, overflow=Overflow.WRAP),
}


def random_network(spec, rng, kind="full"):
    """Raw weights/biases: ``inrange`` |W| <= 1/in and |b| <= 1/4 (most values in range, so the
    rounding shows), ``full`` uniform over the formats, ``extreme`` at the format's ends."""
    Ws, bs = [], []
    for o, i in spec.layer_shapes:
        wf, bf = spec.weight, spec.bias
        if kind == "inrange":
            rw = max(1, min(wf.max_raw, (1 << wf.frac_bits) // i))
            rb = max(1, min(bf.max_raw, 1 << max(bf.frac_bits - 2, 0)))
            W = rng.integers(-rw, rw, (o, i), endpoint=True)
            b = rng.integers(-rb, rb, o, endpoint=True)
        elif kind == "extreme":
            W = np.where(rng.integers(0, 2, (o, i), dtype=bool), wf.min_raw, wf.max_raw)
            W[0] = wf.min_raw
            if o > 1:
                W[1] = wf.max_raw
            b = np.where(rng.integers(0, 2, o, dtype=bool), bf.min_raw, bf.max_raw)
        else:
            W = rng.integers(wf.min_raw, wf.max_raw, (o, i), endpoint=True)
            b = rng.integers(bf.min_raw, bf.max_raw, o, endpoint=True)
        Ws.append(W)
        bs.append(b)
    return Ws, bs


def random_schedule(spec, rng, K):
    S = np.empty((K, 3 + spec.emb), dtype=np.int64)
    S[:, 0] = rng.integers(spec.scale.min_raw, spec.scale.max_raw, K, endpoint=True)
    c = 1 << (spec.ctrl_bits - 1)
    S[:, 1:3] = rng.integers(-c, c, (K, 2))
    S[:, 3:] = rng.integers(spec.act.min_raw, spec.act.max_raw, (K, spec.emb), endpoint=True)
    return S


def corner_inputs(spec, rng, count):
    lo, hi = -(1 << (spec.x_bits - 1)), (1 << (spec.x_bits - 1)) - 1
    X = rng.integers(lo, hi, (count, spec.n), endpoint=True)
    X[:8] = lo
    X[8:16] = hi
    X[16:24] = rng.choice([lo, hi], (8, spec.n))
    X[24:32] = rng.integers(-2, 2, (8, spec.n), endpoint=True)
    return X


# ----------------------------------------------------------------------------------------------
# APyTypes reference: real fixed-point arithmetic, no shared helper
# ----------------------------------------------------------------------------------------------

def _apy(raw, fmt: QFormat):
    raw = np.asarray(raw, dtype=np.int64)
    return APyFixedArray.from_float((raw * fmt.lsb).ravel().tolist(), int_bits=fmt.int_bits,
                                    frac_bits=fmt.frac_bits).reshape(raw.shape if raw.ndim else (1,))


def _raw(a, frac):
    return np.rint(np.asarray(a.to_numpy()) * 2.0 ** frac).astype(np.int64)


def _cast(acc, fmt: QFormat, spec):
    """Cast to ``fmt`` with the spec's modes; also the overflow mask (the rounded value before the
    overflow step did not fit)."""
    y = acc.cast(int_bits=fmt.int_bits, frac_bits=fmt.frac_bits, quantization=QMODE[spec.rounding],
                 overflow=OMODE[spec.overflow])
    wide = acc.cast(int_bits=64, frac_bits=fmt.frac_bits, quantization=QMODE[spec.rounding])
    return y, _raw(y, fmt.frac_bits) != _raw(wide, fmt.frac_bits)


def apy_word(spec, Ws, bs, row, x_codes):
    """One output word and its overflow mask in APyTypes, from the contract's equations."""
    xfmt = QFormat(1, spec.x_bits - 1)
    x = _apy(x_codes, xfmt)
    emb = _apy(row[3:], spec.act) if spec.emb else None
    a_raw = None
    masks = []
    for l, (W, b) in enumerate(zip(Ws, bs)):
        Wa = _apy(W, spec.weight)
        acc = _apy(b, spec.bias)
        if l == 0:
            acc = acc + (_apy(W[:, :spec.n], spec.weight) @ x)
            if spec.emb:
                acc = acc + (_apy(W[:, spec.n:], spec.weight) @ emb)
        else:
            acc = acc + (Wa @ _apy(a_raw, spec.act))
        h, m = _cast(acc, spec.act, spec)
        masks.append(m)
        h_raw = _raw(h, spec.act.frac_bits)
        if l + 1 < len(Ws):
            one = 1 << spec.act.frac_bits
            a_raw = np.maximum(h_raw, 0) if spec.activation == "relu" else np.clip(h_raw, -one, one)
    prod = _apy(np.full(1, row[0]), spec.scale)[0] * _apy(h_raw, spec.act)
    F, m = _cast(prod, QFormat(1, spec.f_bits - 1), spec)
    masks.append(m)
    return np.concatenate([_raw(F, spec.f_bits - 1), row[1:3]]), np.concatenate(masks)


@pytest.mark.parametrize("name", list(SPECS))
def test_force_matches_apytypes(name):
    spec = SPECS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    overflowed = 0
    for kind in ("inrange", "full", "extreme"):
        Ws, bs = random_network(spec, rng, kind)
        S = random_schedule(spec, rng, 3)
        S[0, 0] = spec.scale.max_raw
        S[1, 0] = spec.scale.min_raw
        demon = MLPDemon(spec, Ws, bs, S)
        X = corner_inputs(spec, rng, 60)
        for k in range(3):
            got, mask = demon.force(X)
            for c in range(X.shape[0]):
                exp, emask = apy_word(spec, Ws, bs, S[k], X[c])
                np.testing.assert_array_equal(got[c], exp, err_msg=f"{kind} row {k} chain {c}")
                np.testing.assert_array_equal(mask[c], emask, err_msg=f"{kind} row {k} chain {c}")
            overflowed += int(mask.sum())
    assert overflowed, "the corners must exercise overflow"


# ----------------------------------------------------------------------------------------------
# Fast path, state, bounds, timing
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SPECS))
def test_float_path_equals_int_path(name):
    spec = SPECS[name]
    rng = np.random.default_rng(7 + len(name))
    for kind in ("inrange", "full", "extreme"):
        Ws, bs = random_network(spec, rng, kind)
        S = random_schedule(spec, rng, spec.sched_len)
        ref, fast = MLPDemon(spec, Ws, bs, S), MLPDemon(spec, Ws, bs, S)
        assert fast.float_exact
        X = corner_inputs(spec, rng, 5000)
        for step in range(spec.sched_len + 2):
            words, mask = ref.force(X)
            Xf = X.astype(np.float64) if step % 2 else np.asfortranarray(X.astype(np.float64))
            got, n_ovf = fast.force_count(Xf)
            np.testing.assert_array_equal(got, words.astype(np.float64))
            assert n_ovf == int(mask.sum())
            assert ref.step == fast.step


def test_step_counter_advances_saturates_and_resets():
    spec = SPECS["relu-1h-trn-sat"]
    rng = np.random.default_rng(3)
    Ws, bs = random_network(spec, rng)
    K = 5
    S = random_schedule(spec, rng, K)
    S[:, 1] = np.arange(K)                  # drift_ctrl names the row
    demon = MLPDemon(spec, Ws, bs, S)
    X = corner_inputs(spec, rng, 32)
    rows = []
    for _ in range(K + 3):
        words, _ = demon.force(X)
        assert (words[:, spec.n] == words[0, spec.n]).all(), "all chains share one row"
        rows.append(int(words[0, spec.n]))
        np.testing.assert_array_equal(words, demon.force_at(X, rows[-1])[0])
    assert rows == [0, 1, 2, 3, 4, 4, 4, 4]
    assert demon.step == K - 1
    demon.reset()
    assert demon.step == 0
    assert int(demon.force(X)[0][0, spec.n]) == 0
    # the controls are the schedule's raw codes, the force codes differ with the row's scale
    words = demon.force_at(X, 2)[0]
    np.testing.assert_array_equal(words[:, spec.n:], np.broadcast_to(S[2, 1:3], (32, 2)))


@pytest.mark.parametrize("name", list(SPECS))
def test_accumulator_width_holds_the_extremes(name):
    """The largest |acc| of the first layer: every weight most negative times the most negative
    operand (the embedding at its most negative code, which is the widest operand), bias most
    negative; it must fit acc_width, and the exact value must match Python integers."""
    spec = SPECS[name]
    Ws = [np.full((o, i), spec.weight.min_raw) for o, i in spec.layer_shapes]
    bs = [np.full(o, spec.bias.min_raw) for o, _ in spec.layer_shapes]
    S = np.zeros((1, 3 + spec.emb), dtype=np.int64)
    S[0, 3:] = spec.act.min_raw
    demon = MLPDemon(spec, Ws, bs, S)
    X = np.full((1, spec.n), -(1 << (spec.x_bits - 1)))
    accs, _, _ = demon.layers_at(X, 0)
    lo, hi = -(1 << (spec.acc_width - 1)), (1 << (spec.acc_width - 1)) - 1
    for acc in accs:
        assert lo <= acc.min() and acc.max() <= hi
    w, xb = spec.weight.min_raw, -(1 << (spec.x_bits - 1))
    exact = (spec.bias.min_raw << spec.b_shift) + spec.n * w * (xb << spec.x_shift) \
        + spec.emb * w * (spec.act.min_raw << spec.act_shift)
    assert int(accs[0][0, 0]) == exact
    # the bound is the one documented: widest input times the largest product, plus the bias
    max_in = max(i for _, i in spec.layer_shapes)
    bound = max_in * 2 ** (spec.weight.width - 1 + spec.op.width - 1) + 2 ** (spec.bias.width - 1 + spec.b_shift)
    assert spec.acc_width == int(bound).bit_length() + 1
    assert spec.acc_width <= 53


def test_latency_formula():
    # n=4, E=2, hidden 8, P=3: layer 1 is 6 inputs x ceil(8/3)=3 groups, layer 2 is 8 x ceil(4/3)=2,
    # the force pass ceil(4/3)=2 cycles, plus the output register.
    s = MLPSpec(n=4, emb=2, hidden=(8,), x_bits=10, f_bits=10, ctrl_bits=8, weight=QFormat(3, 8),
                bias=QFormat(4, 8), act=QFormat(4, 8), scale=QFormat(4, 8), activation="relu",
                multipliers=3, sched_len=4)
    assert s.layer_cycles == (18, 16) and s.force_cycles == 2
    assert s.latency_cycles == 18 + 16 + 2 + 1 == s.initiation_interval
    s = SPECS["relu-3h-rnd-wrap-noemb"]       # n=2, hidden 5,6,3, P=2
    assert s.latency_cycles == 2 * 3 + 5 * 3 + 6 * 2 + 3 * 1 + 1 + 1
    assert s.n_out == 4 and s.narrow_points == 5 + 6 + 3 + 2 * 2


# ----------------------------------------------------------------------------------------------
# Error of the fixed-point network
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "hardtanh"])
@pytest.mark.parametrize("rounding", list(Rounding))
def test_activation_commutes_with_the_requantization(activation, rounding):
    """act(narrow(z)) == narrow(act(z)) whenever nothing overflows: the activation adds no error."""
    spec = MLPSpec(n=2, emb=0, hidden=(4,), x_bits=10, f_bits=10, ctrl_bits=8, weight=QFormat(3, 8),
                   bias=QFormat(4, 8), act=QFormat(4, 8), scale=QFormat(4, 8), activation=activation,
                   multipliers=2, sched_len=1, rounding=rounding)
    rng = np.random.default_rng(11)
    s = spec.req_shift
    z = rng.integers(-(1 << (s + 5)), 1 << (s + 5), 200000)
    z = np.concatenate([z, np.arange(-4, 5) << s, (np.arange(-4, 5) << s) + (1 << (s - 1))])
    one = 1 << spec.acc_frac
    z_act = np.maximum(z, 0) if activation == "relu" else np.clip(z, -one, one)
    left, m1 = narrow(z, s, spec.act.width, rounding, Overflow.SAT)
    right, m2 = narrow(z_act, s, spec.act.width, rounding, Overflow.SAT)
    assert not m1.any() and not m2.any()
    np.testing.assert_array_equal(activate_raw(left, spec), right)


@pytest.mark.parametrize("name", ["relu-1h-trn-sat", "hardtanh-2h-rndconv-sat"])
def test_fixed_point_within_the_rounding_bound_of_the_float_twin(name):
    """Against MLPFloat on the *quantized* weights, the only errors are the roundings of the
    pre-activations and of the score: at most e_l = ||W_l||_inf e_{l-1} + r with r = 1 LSB (TRN)
    or 1/2 LSB (RND, RND_CONV) of act, e_0 = 0 (x and emb are exact), activations 1-Lipschitz."""
    spec = SPECS[name]
    rng = np.random.default_rng(5)
    layers = [(rng.normal(size=(o, i)) * 0.6 / np.sqrt(i), rng.normal(size=o) * 0.2) for o, i in spec.layer_shapes]
    Ws, bs, _ = quantize_mlp(layers, spec)
    emb = rng.uniform(-1, 1, spec.emb)
    S, _ = quantize_schedule([1.0], [0.0], [0.0], emb[None, :], spec)
    demon = MLPDemon(spec, Ws, bs, S)
    X = rng.integers(-(1 << (spec.x_bits - 1)), 1 << (spec.x_bits - 1), (4000, spec.n))
    _, hs, masks = demon.layers_at(X, 0)
    assert not any(m.any() for m in masks), "choose the network so that nothing saturates"
    twin = MLPFloat.from_raw(spec, Ws, bs)
    s_float = twin.forward(X / 2.0 ** (spec.x_bits - 1), S[0, 3:] * spec.act.lsb)
    r = spec.act.lsb * (1.0 if spec.rounding is Rounding.TRN else 0.5)
    e = 0.0
    for W in Ws:
        e = np.abs(W * spec.weight.lsb).sum(axis=1).max() * e + r
    err = np.abs(hs[-1] * spec.act.lsb - s_float).max()
    assert err <= e
    assert err >= r / 4, "the comparison must see the rounding at all"


def test_quantize_mlp_report():
    spec = SPECS["hardtanh-2h-rndconv-sat"]
    rng = np.random.default_rng(9)
    layers = [(rng.normal(size=(o, i)) * 0.5 / np.sqrt(i), rng.normal(size=o) * 0.1) for o, i in spec.layer_shapes]
    layers[1][0][0, 0] = 5.0                     # beyond Q(2, 10): saturated and counted
    Ws, bs, rep = quantize_mlp(layers, spec, probe_x=rng.uniform(-0.9, 0.9, (500, spec.n)),
                               probe_emb=rng.uniform(-1, 1, spec.emb))
    assert rep.weights[1].clipped == 1 and Ws[1][0, 0] == spec.weight.max_raw
    assert sum(t.clipped for t in rep.weights) == 1 and rep.notes
    for t, (W, _) in zip(rep.weights, layers):
        assert t.max_abs_error <= spec.weight.lsb / 2
    for t in rep.biases:
        assert t.max_abs_error <= spec.bias.lsb / 2 and t.clipped == 0
    for (W, b), Wr, br in zip(layers, Ws, bs):
        ok = np.abs(W) < spec.weight.max_value
        np.testing.assert_array_equal(Wr[ok], np.rint(W[ok] * 2 ** spec.weight.frac_bits))
        np.testing.assert_array_equal(br, np.rint(b * 2 ** spec.bias.frac_bits))
    assert rep.probe_chains == 500 and 0 < rep.score_rms_error < rep.score_rms
    assert rep.summary()["weights"][1]["clipped"] == 1


def test_quantize_schedule():
    spec = SPECS["hardtanh-2h-rndconv-sat"]
    K = 6
    t = np.linspace(0, 1, K)
    S, rep = quantize_schedule(1.5 * t, -t, t ** 2, np.stack([np.sin(t + e) for e in range(spec.emb)], 1), spec)
    assert S.shape == (K, 3 + spec.emb)
    np.testing.assert_array_equal(S[:, 0], np.rint(1.5 * t * 2 ** spec.scale.frac_bits))
    c = 1 << (spec.ctrl_bits - 1)
    assert S[-1, 1] == -c and S[-1, 2] == c - 1 and rep["noise_ctrl"]["clipped"] == 1
    MLPDemon(spec, *random_network(spec, np.random.default_rng(0)), S)     # loads


def test_illegal_specs_are_named():
    base = SPECS["relu-1h-trn-sat"]
    from dataclasses import replace
    cases = {
        "multipliers": replace(base, multipliers=9),
        "hidden": replace(base, hidden=(8, 8, 8, 8)),
        "act.int_bits": replace(base, activation="hardtanh", act=QFormat(1, 8)),
        "f_bits": replace(base, f_bits=20),
        "bias.frac_bits": replace(base, bias=QFormat(2, 20)),
        "sched_len": replace(base, sched_len=0),
        "activation": replace(base, activation="tanh"),
    }
    for field, spec in cases.items():
        assert field in {f for f, _ in spec.problems()}, (field, spec.problems())
        with pytest.raises(ValueError):
            MLPDemon(spec, [], [], np.zeros((1, 3 + spec.emb)))
    big = replace(base, hidden=(64, 64, 64), n=16, multipliers=1)
    assert "hidden" in {f for f, _ in big.problems()}            # 9,472 weights > 4,096


def test_loading_checks_shapes_and_formats():
    spec = SPECS["relu-1h-trn-sat"]
    Ws, bs = random_network(spec, np.random.default_rng(1))
    S = random_schedule(spec, np.random.default_rng(2), 2)
    bad = [Ws[0].copy(), Ws[1]]
    bad[0][0, 0] = spec.weight.max_raw + 1
    with pytest.raises(ValueError, match="weights do not fit"):
        MLPDemon(spec, bad, bs, S)
    with pytest.raises(ValueError, match="schedule"):
        MLPDemon(spec, Ws, bs, np.zeros((spec.sched_len + 1, 3 + spec.emb)))
    S2 = S.copy()
    S2[0, 1] = 1 << (spec.ctrl_bits - 1)
    with pytest.raises(ValueError, match="drift_ctrl"):
        MLPDemon(spec, Ws, bs, S2)


def test_linear_demon_has_n_out_and_reset():
    spec = LinearDemonSpec(n=3, multipliers=3, x_bits=10, f_bits=10, coef=QFormat(3, 9), bias=QFormat(3, 9))
    d = LinearDemon(spec, np.eye(3, dtype=np.int64), np.zeros(3, dtype=np.int64))
    X = np.arange(6).reshape(2, 3)
    before = d.force(X)[0]
    d.reset()
    assert d.n_out == 3
    np.testing.assert_array_equal(d.force(X)[0], before)
