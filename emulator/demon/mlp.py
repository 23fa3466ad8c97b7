"""Golden model of the score-network force unit (rtl/demon_mlp.v, rtl/demon_sched.v): a small MLP
conditioned on a time embedding, its output scaled by a step schedule, bit and cycle exact.

The contract is docs/score_demon.md (sections 1 and 2); this module fixes what the contract
leaves open. All values are signed two's complement, ``Q(m, f)`` = ``m`` integer bits with the
sign and ``f`` fractional bits (see :mod:`demonloop.fixedpoint`).

Formats

- input ``x``: ADC codes ``X`` of ``x_bits`` bits, Q(1, x_bits-1), ``x = X / 2**(x_bits-1)``;
- weights ``W_l``: ``weight`` = Q(wi, wf); biases ``b_l``: ``bias`` = Q(bi, bf);
- activations (the hidden units, the time embedding and the score ``s``): ``act`` = Q(ai, af);
- force scale ``force_scale[k]``: ``scale`` = Q(si, sf);
- controls ``drift_ctrl[k]``, ``noise_ctrl[k]``: Q(1, ctrl_bits-1), passed through unchanged;
- output ``F``: DAC codes of ``f_bits`` bits, Q(1, f_bits-1).

Operand format. The multipliers see one operand format for every layer, wide enough to hold the
ADC codes and the activations exactly: ``op = Q(ai, op_frac)``, ``op_frac = max(x_bits-1, af)``.
An input code enters as ``X << x_shift`` (``x_shift = op_frac - (x_bits-1)``), an activation or an
embedding value as ``a << act_shift`` (``act_shift = op_frac - af``): exact, no rounding. Every
accumulator therefore has ``acc_frac = wf + op_frac`` fractional bits.

Datapath of one word (``L = len(hidden) + 1`` layers; step ``k`` is the schedule row in use)::

    a_0    = [X << x_shift ; emb[k] << act_shift]                 (n + E operands)
    acc_l  = (b_l << b_shift) + W_l a_{l-1}                       exact, b_shift = acc_frac - bf
    h_l    = narrow(acc_l, req_shift, act.width, rounding, overflow)        req_shift = acc_frac - af
    a_l    = act(h_l) << act_shift                                l = 1 .. L-1
    s      = narrow(acc_L, req_shift, act.width, rounding, overflow)        the score, format act
    F      = narrow(force_scale[k] * s, force_shift, f_bits, rounding, overflow)
                                                                  force_shift = sf + af - (f_bits-1)
    word   = [F_0 .. F_{n-1}, drift_ctrl[k], noise_ctrl[k]]

``narrow`` is :func:`demonloop.fixedpoint.narrow` (the RTL's ``demon_narrow``): drop the low bits
with the named rounding, then fit the width with the named overflow (SAT clips, WRAP wraps;
either way the value is flagged). One ``rounding`` and one ``overflow`` name every narrowing point.

Accumulator: ``acc_width = bit_length(max_in << (weight.width-1 + op.width-1) + 1 << (bias.width-1
+ b_shift)) + 1`` bits, where ``max_in`` is the widest layer input: no input, weight or bias can
overflow it (every product is at most ``2**(weight.width-1 + op.width-2)`` in magnitude).

Activation (``activation``): ``"relu"`` ``max(h, 0)``, ``"hardtanh"`` ``clip(h, -1, 1)`` (needs
``ai >= 2`` so that +1 is a code), or ``"table"``: a lookup table with linear interpolation
(:mod:`demonloop.demon.table`, sigmoid, tanh, SiLU or softplus, ``table_bits``/``table_frac``).
ReLU and hard-tanh: Both are piecewise linear with their kinks on the grid, and
rounding is monotone and maps 0 (and +-1) to themselves, so ``act(narrow(z)) == narrow(act(z))``
whenever the narrowing does not overflow: the activation adds *no* error of its own. The
fixed-point network is the float network with every pre-activation and the score rounded to
``act`` (error at most one LSB ``2**-af`` under TRN, half an LSB under RND/RND_CONV, per unit and
per layer) and the force rounded to the DAC; those errors then propagate through the following
weights. The table activation adds its own error (entry rounding, interpolation, one final
rounding), bounded exactly over every input code by :func:`demonloop.demon.table.table_error`.

Step counter: ``step`` (``k``) starts at 0, is the row used by the next word, and advances by one
per word (per call of :meth:`MLPDemon.force` / :meth:`MLPDemon.force_count`, all chains sharing
it), saturating at ``K - 1`` (``K`` = rows of the schedule). :meth:`MLPDemon.reset` sets it to 0
(CTRL.STEP_RESET in the RTL).

Overflow: every narrowing point is counted: ``sum(hidden)`` hidden requantizations, ``n`` score
requantizations and ``n`` force narrowings per word (:attr:`MLPSpec.narrow_points`). The RTL adds
the same count to CNT_SAT when the word is delivered. An activation clipping to its rails
(hard-tanh at +-1, ReLU at 0) is the activation, not an overflow.

Timing (``P = multipliers`` lanes, the RTL implements exactly this): layer ``l`` with ``in_l``
inputs and ``out_l`` outputs runs ``G_l = ceil(out_l / P)`` row groups of ``in_l`` cycles (lane
``p`` computes row ``g*P + p`` in group ``g``, one input per cycle); the force pass multiplies
the ``n`` scores by the scale on the same ``P`` multipliers, ``ceil(n / P)`` cycles; the word is
registered in the last of them. Hence

    latency_cycles      = sum_l in_l * ceil(out_l / P) + ceil(n / P) + 1  (+ len(hidden) with a table)
    initiation_interval = latency_cycles

With ``activation: table`` the hidden units are stored before the activation and the table is
read on the operand path (one table, one synchronous read per cycle, shared by the lanes): the
read of a layer's first input needs the previous layer's last row written, so every hidden
layer costs one more cycle.

(input handshake to output handshake with the DAC ready; the input is ready when the unit is
idle and its output register is empty or drains; a sample offered while not ready is dropped and
counted, and does not advance the step).
"""

from __future__ import annotations

import numbers

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np
from pydantic import Field, PositiveInt

from demonloop.config.base import OverflowMode, QFormatConfig, RoundingMode, Section
from demonloop.demon.base import DemonKind, pack, unpack
from demonloop.demon.table import TABLE_FUNCTIONS, check_table, interpolate, table_format, table_problems
from demonloop.fixedpoint import (
    Overflow, QFormat, Rounding, count_overflow, narrow, overflow, quantize, shift_round,
)

#: Largest accumulator (and product) for which float64 arithmetic on integers is exact.
_FLOAT_EXACT_WIDTH = 53
#: Largest accumulator int64 holds with one bit of headroom for the rounding addend.
MAX_ACC_WIDTH = 62
#: Activation functions and their RTL codes (parameter ACTIVATION).
ACTIVATIONS = {"relu": 0, "hardtanh": 1, "table": 2}
#: Capacities fixed by the register map (rtl/regmap.yaml): MLP_W, MLP_B, schedule rows, SCHED_EMB
#: entries; and the widest hidden layer.
MAX_WEIGHTS = 8192
MAX_BIASES = 512
MAX_SCHED_LEN = 512
MAX_EMB_ENTRIES = 1024
MAX_HIDDEN = 128
#: Largest latency the TIMING register reports (16-bit fields).
MAX_LATENCY = 0xFFFF


@dataclass(frozen=True)
class MLPSpec:
    """Every parameter of the score-network unit; the RTL parameters have the same names in caps
    (``hidden`` is ``LAYERS`` and ``HIDDEN1..HIDDEN3``; formats are ``<NAME>_INT``/``<NAME>_FRAC``;
    ``activation``, ``rounding``, ``overflow`` are codes)."""

    n: int
    emb: int
    hidden: tuple[int, ...]
    x_bits: int
    f_bits: int
    ctrl_bits: int
    weight: QFormat
    bias: QFormat
    act: QFormat
    scale: QFormat
    activation: str
    multipliers: int
    sched_len: int
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.SAT
    #: ``activation: table`` only: log2 of the table's segments, and its entries' fractional bits
    #: (entries are ``Q(act.int_bits, table_frac)``); 0 otherwise.
    table_bits: int = 0
    table_frac: int = 0

    # -- shapes ----------------------------------------------------------------------------------

    @property
    def n_out(self) -> int:
        """Channels of the output word: n force codes, then drift_ctrl and noise_ctrl."""
        return self.n + 2

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """(out, in) of every layer, input layer first: W_l has this shape."""
        sizes = (self.n + self.emb,) + tuple(self.hidden) + (self.n,)
        return tuple((sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1))

    @property
    def weight_entries(self) -> int:
        """Weights of all layers (entries of MLP_W)."""
        return sum(o * i for o, i in self.layer_shapes)

    @property
    def bias_entries(self) -> int:
        """Biases of all layers (entries of MLP_B)."""
        return sum(o for o, _ in self.layer_shapes)

    @property
    def narrow_points(self) -> int:
        """Narrowing points per word (hidden units, score channels, force channels): the width of
        the overflow mask of :meth:`MLPDemon.force` and the most CNT_SAT can grow per word."""
        return sum(self.hidden) + 2 * self.n

    # -- formats ---------------------------------------------------------------------------------

    @property
    def op_frac(self) -> int:
        return max(self.x_bits - 1, self.act.frac_bits)

    @property
    def op(self) -> QFormat:
        """Operand format of the multipliers: holds every ADC code and every activation exactly."""
        return QFormat(self.act.int_bits, self.op_frac)

    @property
    def x_shift(self) -> int:
        return self.op_frac - (self.x_bits - 1)

    @property
    def act_shift(self) -> int:
        return self.op_frac - self.act.frac_bits

    @property
    def acc_frac(self) -> int:
        return self.weight.frac_bits + self.op_frac

    @property
    def b_shift(self) -> int:
        return self.acc_frac - self.bias.frac_bits

    @property
    def req_shift(self) -> int:
        return self.acc_frac - self.act.frac_bits

    @property
    def force_shift(self) -> int:
        return self.scale.frac_bits + self.act.frac_bits - (self.f_bits - 1)

    @property
    def acc_width(self) -> int:
        """Signed width holding ``(b << b_shift) + W a`` for every operand, weight and bias."""
        max_in = max(i for _, i in self.layer_shapes)
        bound = (max_in << (self.weight.width - 1 + self.op.width - 1)) + (
            1 << (self.bias.width - 1 + self.b_shift))
        return bound.bit_length() + 1

    @property
    def force_product_width(self) -> int:
        """Signed width of ``force_scale * s`` (exact product)."""
        return self.scale.width + self.act.width

    # -- timing ----------------------------------------------------------------------------------

    def groups(self, out: int) -> int:
        return -(-out // self.multipliers)

    @property
    def layer_cycles(self) -> tuple[int, ...]:
        """MAC cycles of every layer, ``in_l * ceil(out_l / P)``."""
        return tuple(i * self.groups(o) for o, i in self.layer_shapes)

    @property
    def mac_cycles(self) -> int:
        return sum(self.layer_cycles)

    @property
    def force_cycles(self) -> int:
        """Cycles of the force pass, ``ceil(n / P)``."""
        return self.groups(self.n)

    @property
    def table_cycles(self) -> int:
        """Cycles the table activation adds: one per hidden layer (0 without a table)."""
        return len(self.hidden) if self.activation == "table" else 0

    @property
    def table_entries(self) -> int:
        """Entries of ACT_TABLE, ``2**table_bits + 1`` (0 without a table)."""
        return (1 << self.table_bits) + 1 if self.activation == "table" else 0

    @property
    def table_fmt(self) -> QFormat:
        return table_format(self.act, self.table_frac)

    @property
    def latency_cycles(self) -> int:
        """Input handshake to output handshake (DAC ready): MAC cycles + force pass + 1, and one
        cycle per hidden layer with a table activation."""
        return self.mac_cycles + self.force_cycles + 1 + self.table_cycles

    @property
    def initiation_interval(self) -> int:
        return self.latency_cycles

    # -- validity --------------------------------------------------------------------------------

    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) for every parameter the datapath cannot implement; empty when legal."""
        out: list[tuple[str, str]] = []
        if not 1 <= self.n <= 64:
            out.append(("n", f"must be between 1 and 64, got {self.n}"))
        if not 0 <= self.emb <= 16:
            out.append(("emb", f"must be between 0 and 16, got {self.emb}"))
        hidden = tuple(self.hidden)
        if not 1 <= len(hidden) <= 3:
            out.append(("hidden", f"must have 1 to 3 hidden layers, got {len(hidden)}"))
        if any((not isinstance(h, numbers.Integral)) or not 1 <= h <= MAX_HIDDEN for h in hidden):
            out.append(("hidden", f"every hidden layer must have 1 to {MAX_HIDDEN} units, got {hidden}"))
        widest = max(hidden + (self.n,)) if hidden else self.n
        if not 1 <= self.multipliers <= widest:
            out.append(("multipliers", f"must be between 1 and the widest layer ({widest}), got {self.multipliers}"))
        for name, w in (("x_bits", self.x_bits), ("f_bits", self.f_bits)):
            if not 2 <= w <= 24:
                out.append((name, f"must be between 2 and 24, got {w}"))
        if not 2 <= self.ctrl_bits <= 16:
            out.append(("ctrl_bits", f"must be between 2 and 16, got {self.ctrl_bits}"))
        for name, fmt, wmax in (("weight", self.weight, 32), ("bias", self.bias, 32),
                                ("act", self.act, 24), ("scale", self.scale, 32)):
            if fmt.int_bits < 1 or fmt.frac_bits < 0 or not 2 <= fmt.width <= wmax:
                out.append((name, f"{fmt} needs int_bits >= 1, frac_bits >= 0, width 2..{wmax}"))
        if self.activation not in ACTIVATIONS:
            out.append(("activation", f"must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"))
        elif self.activation == "hardtanh" and self.act.int_bits < 2:
            out.append(("act.int_bits", "hardtanh needs act.int_bits >= 2 so that +1 is a code"))
        elif self.activation == "table" and self.act.int_bits >= 1 and self.act.frac_bits >= 0:
            out.extend(table_problems(self.act, self.table_bits, self.table_frac))
        if not 1 <= self.sched_len <= MAX_SCHED_LEN:
            out.append(("sched_len", f"must be between 1 and {MAX_SCHED_LEN}, got {self.sched_len}"))
        if out:
            return out
        if self.b_shift < 0:
            out.append(("bias.frac_bits", f"must be <= weight.frac_bits + max(x_bits-1, act.frac_bits) = {self.acc_frac}"))
        if self.force_shift < 0:
            out.append(("f_bits", f"f_bits - 1 must be <= scale.frac_bits + act.frac_bits = "
                                  f"{self.scale.frac_bits + self.act.frac_bits}"))
        if self.acc_width > MAX_ACC_WIDTH:
            out.append(("weight", f"accumulator would need {self.acc_width} bits (max {MAX_ACC_WIDTH})"))
        if self.weight_entries > MAX_WEIGHTS:
            out.append(("hidden", f"{self.weight_entries} weights, the weight memory holds {MAX_WEIGHTS}"))
        if self.bias_entries > MAX_BIASES:
            out.append(("hidden", f"{self.bias_entries} biases, the bias memory holds {MAX_BIASES}"))
        if self.sched_len * self.emb > MAX_EMB_ENTRIES:
            out.append(("sched_len", f"sched_len * emb = {self.sched_len * self.emb} embedding entries, "
                                     f"the table holds {MAX_EMB_ENTRIES}"))
        if not out and self.latency_cycles > MAX_LATENCY:
            out.append(("multipliers", f"latency {self.latency_cycles} cycles exceeds {MAX_LATENCY}"))
        return out

    def check(self) -> None:
        """Raise ValueError naming every problem (see :meth:`problems`)."""
        bad = self.problems()
        if bad:
            raise ValueError("; ".join(f"{f}: {r}" for f, r in bad))


# ----------------------------------------------------------------------------------------------
# Activation
# ----------------------------------------------------------------------------------------------

def activate_raw(h: np.ndarray, spec: MLPSpec, table: np.ndarray | None = None) -> np.ndarray:
    """The activation on raw ``act`` values (int64 or float64 holding integers): ReLU ``max(h, 0)``
    or hard-tanh ``clip(h, -2**af, 2**af)``, exact (no rounding), the RTL's ``ACTIVATION`` mux;
    or the interpolated ``table`` (:func:`demonloop.demon.table.interpolate`, one rounding)."""
    if spec.activation == "relu":
        return np.maximum(h, 0)
    if spec.activation == "table":
        return interpolate(h, table, spec.act, spec.table_bits, spec.table_frac, spec.rounding)
    one = 1 << spec.act.frac_bits
    return np.clip(h, -one, one)


def activate_float(z: np.ndarray, activation: str) -> np.ndarray:
    """The same activation on real values (the float twin)."""
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "hardtanh":
        return np.clip(z, -1.0, 1.0)
    if activation in TABLE_FUNCTIONS:
        from demonloop.demon.table import table_function

        return table_function(activation, z)
    raise ValueError(f"activation must be one of {', '.join(FLOAT_ACTIVATIONS)}, got {activation!r}")


#: What a float network may use: the exact activations and the functions a table holds.
FLOAT_ACTIVATIONS = ("relu", "hardtanh") + TABLE_FUNCTIONS


# ----------------------------------------------------------------------------------------------
# The bit-exact unit
# ----------------------------------------------------------------------------------------------

def _fits(arr: np.ndarray, width: int) -> bool:
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return arr.size == 0 or (int(arr.min()) >= lo and int(arr.max()) <= hi)


class MLPDemon:
    """Bit-exact golden score-network unit, vectorised over chains, with its step counter.

    ``weights_raw[l]`` (out_l, in_l) and ``biases_raw[l]`` (out_l,) are the raw integers as
    written to MLP_W / MLP_B (layer by layer, rows in order); ``schedule_raw`` (K, 3 + E) holds per
    row ``[force_scale, drift_ctrl, noise_ctrl, emb_0 .. emb_{E-1}]`` raw, as written to
    SCHED_SCALE, SCHED_DRIFT, SCHED_NOISE, SCHED_EMB (with SCHED_K = K); ``table_raw`` (``2**table_bits + 1``,)
    the ACT_TABLE entries of a table activation. Everything must already fit its format
    (ValueError otherwise).

    :meth:`force` is the int64 reference (cross-checked against APyTypes and the RTL);
    :meth:`force_count` computes the same integers on float64 arrays (BLAS; exact because every
    accumulator and product is checked to stay below 2**53) and is the engine's path.
    """

    def __init__(self, spec: MLPSpec, weights_raw: Sequence[np.ndarray], biases_raw: Sequence[np.ndarray],
                 schedule_raw: np.ndarray, table_raw: np.ndarray | None = None):
        spec.check()
        self.spec = spec
        if spec.activation == "table":
            if table_raw is None:
                raise ValueError("activation 'table' needs table_raw (the ACT_TABLE entries)")
            self.table = check_table(table_raw, spec.act, spec.table_bits, spec.table_frac)
        else:
            self.table = None
        shapes = spec.layer_shapes
        if len(weights_raw) != len(shapes) or len(biases_raw) != len(shapes):
            raise ValueError(f"expected {len(shapes)} weight matrices and bias vectors, got "
                             f"{len(weights_raw)} and {len(biases_raw)}")
        self.W: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        for l, ((o, i), W, b) in enumerate(zip(shapes, weights_raw, biases_raw)):
            W = np.asarray(W, dtype=np.int64)
            b = np.asarray(b, dtype=np.int64)
            if W.shape != (o, i) or b.shape != (o,):
                raise ValueError(f"layer {l}: W must be {(o, i)} and b {(o,)}, got {W.shape} and {b.shape}")
            if not _fits(W, spec.weight.width):
                raise ValueError(f"layer {l}: weights do not fit {spec.weight}")
            if not _fits(b, spec.bias.width):
                raise ValueError(f"layer {l}: biases do not fit {spec.bias}")
            self.W.append(W)
            self.b.append(b)
        S = np.asarray(schedule_raw, dtype=np.int64)
        if S.ndim != 2 or S.shape[1] != 3 + spec.emb or not 1 <= S.shape[0] <= spec.sched_len:
            raise ValueError(f"schedule must be (K, {3 + spec.emb}) with 1 <= K <= sched_len={spec.sched_len}, "
                             f"got {S.shape}")
        for name, col, width in (("force_scale", S[:, 0], spec.scale.width), ("drift_ctrl", S[:, 1], spec.ctrl_bits),
                                 ("noise_ctrl", S[:, 2], spec.ctrl_bits), ("emb", S[:, 3:], spec.act.width)):
            if not _fits(col, width):
                raise ValueError(f"schedule column {name} does not fit {width} signed bits")
        self.schedule = S
        self.K = S.shape[0]
        self.step = 0

        # Fast path: float64 copies with the operand alignment folded in (exact: powers of two),
        # and the first layer's embedding term precomputed per schedule row (exact integers).
        n = spec.n
        self.float_exact = (spec.acc_width <= _FLOAT_EXACT_WIDTH
                            and spec.force_product_width - 1 <= _FLOAT_EXACT_WIDTH)
        W1 = self.W[0]
        emb_op = S[:, 3:] << np.int64(spec.act_shift)                     # (K, E)
        self._b1_rows = (self.b[0] << np.int64(spec.b_shift))[None, :] + emb_op @ W1[:, n:].T   # (K, h1)
        self._b1_rows_f = self._b1_rows.astype(np.float64)
        self._Wf = [W1[:, :n].astype(np.float64) * 2.0 ** spec.x_shift]
        self._Wf += [W.astype(np.float64) * 2.0 ** spec.act_shift for W in self.W[1:]]
        self._bf = [None] + [(b << np.int64(spec.b_shift)).astype(np.float64) for b in self.b[1:]]

    # -- state -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Step counter to 0 (CTRL.STEP_RESET)."""
        self.step = 0

    def _advance(self) -> int:
        k = self.step
        self.step = min(k + 1, self.K - 1)
        return k

    # -- reference path --------------------------------------------------------------------------

    def _operands(self, X: np.ndarray, k: int) -> np.ndarray:
        """``a_0`` (chains, n + E) in the operand format: ``[X << x_shift ; emb[k] << act_shift]``."""
        s = self.spec
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        if X.shape[1] != s.n:
            raise ValueError(f"X must be (chains, {s.n}), got {X.shape}")
        emb = np.broadcast_to(self.schedule[k, 3:], (X.shape[0], s.emb))
        return np.concatenate([X << np.int64(s.x_shift), emb << np.int64(s.act_shift)], axis=1)

    def layers_at(self, X: np.ndarray, k: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """int64 accumulators ``acc_l`` (chains, out_l), narrowed values ``h_l`` (before the
        activation; the last is the score ``s``) and their overflow masks, for ADC codes ``X``
        (chains, n) at schedule row ``k``; no state changes. For tests and diagnostics."""
        s = self.spec
        a = self._operands(X, k)
        accs, hs, masks = [], [], []
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            acc = (b << np.int64(s.b_shift))[None, :] + a @ W.T                     # exact
            h, m = narrow(acc, s.req_shift, s.act.width, s.rounding, s.overflow)   # ROUNDING, OVERFLOW
            accs.append(acc)
            hs.append(h)
            masks.append(m)
            if l + 1 < len(self.W):
                a = activate_raw(h, s, self.table) << np.int64(s.act_shift)
        return accs, hs, masks

    def force_at(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Output words (chains, n+2) int64 and the overflow mask (chains, narrow_points) for ADC
        codes ``X`` (chains, n) at schedule row ``k``, without touching the step counter.

        Mask columns: the hidden units of every layer in order, then the n score channels, then
        the n force channels; ``mask.sum()`` is what CNT_SAT grows by."""
        s = self.spec
        _, hs, masks = self.layers_at(X, k)
        prod = self.schedule[k, 0] * hs[-1]                                        # exact
        F, m = narrow(prod, s.force_shift, s.f_bits, s.rounding, s.overflow)      # ROUNDING, OVERFLOW
        ctrl = np.broadcast_to(self.schedule[k, 1:3], (F.shape[0], 2))
        return np.concatenate([F, ctrl], axis=1), np.concatenate(masks + [m], axis=1)

    def force(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output words for ADC codes ``X`` (chains, n) at the current step, then advance the step
        (once per call: all chains share the schedule). Returns (int64 (chains, n+2), overflow
        mask (chains, narrow_points)); see :meth:`force_at`."""
        return self.force_at(X, self._advance())

    # -- fast path -------------------------------------------------------------------------------

    def force_count(self, X: np.ndarray) -> tuple[np.ndarray, int]:
        """Output words for ADC codes ``X`` (chains, n) as float64 integers and the number of
        overflowed narrowing points, at the current step; advances the step. Same integers as
        :meth:`force`; the engine's path."""
        s = self.spec
        k = self._advance()
        if not self.float_exact:
            words, mask = self.force_at(np.asarray(X).astype(np.int64), k)
            return words.astype(np.float64), int(np.count_nonzero(mask))
        Xf = X if (isinstance(X, np.ndarray) and X.dtype == np.float64) else np.asarray(X, dtype=np.float64)
        n_ovf = 0
        a = Xf
        last = len(self._Wf) - 1
        for l, Wf in enumerate(self._Wf):
            bias = self._b1_rows_f[k] if l == 0 else self._bf[l]
            acc = a @ Wf.T
            acc += bias
            h = shift_round(acc, s.req_shift, s.rounding)
            c = count_overflow(h, s.act.width)
            if c:
                n_ovf += c
                h, _ = overflow(h, s.act.width, s.overflow)
            a = h if l == last else activate_raw(h, s, self.table)
        prod = a * float(self.schedule[k, 0])
        F = shift_round(prod, s.force_shift, s.rounding)
        c = count_overflow(F, s.f_bits)
        if c:
            n_ovf += c
            F, _ = overflow(F, s.f_bits, s.overflow)
        out = np.empty((F.shape[0], s.n + 2), dtype=np.float64)
        out[:, :s.n] = F
        out[:, s.n:] = self.schedule[k, 1:3]
        return out, n_ovf


# ----------------------------------------------------------------------------------------------
# The float twin and quantization
# ----------------------------------------------------------------------------------------------

class MLPFloat:
    """The float64 twin: the same architecture in real arithmetic, the workloads' ideal reference.

    ``layers`` is a sequence of ``(W, b)`` (W: (out, in), b: (out,)), input layer first; the
    input of the first layer is ``[x ; emb]``; ``activation`` follows every layer but the last.
    """

    def __init__(self, layers: Sequence[tuple[np.ndarray, np.ndarray]], activation: str, gain: float = 1.0):
        self.gain = float(gain)                 # a table function acts on gain * z
        if activation not in FLOAT_ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(FLOAT_ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.layers = [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)) for W, b in layers]
        if not self.layers:
            raise ValueError("an MLP needs at least one layer")
        for l, (W, b) in enumerate(self.layers):
            if W.ndim != 2 or b.shape != (W.shape[0],):
                raise ValueError(f"layer {l}: W must be (out, in) and b (out,), got {W.shape} and {b.shape}")
            if l and W.shape[1] != self.layers[l - 1][0].shape[0]:
                raise ValueError(f"layer {l}: {W.shape[1]} inputs but layer {l - 1} has {self.layers[l - 1][0].shape[0]} outputs")
        self.n = self.layers[-1][0].shape[0]
        self.emb = self.layers[0][0].shape[1] - self.n
        if self.emb < 0:
            raise ValueError(f"the first layer has {self.layers[0][0].shape[1]} inputs, fewer than n={self.n}")

    @classmethod
    def from_raw(cls, spec: MLPSpec, weights_raw: Sequence[np.ndarray], biases_raw: Sequence[np.ndarray]) -> "MLPFloat":
        """The float network whose weights are the quantized ones (separates the weight error from
        the rounding of the activations)."""
        return cls([(np.asarray(W) * spec.weight.lsb, np.asarray(b) * spec.bias.lsb)
                    for W, b in zip(weights_raw, biases_raw)], spec.activation)

    def forward(self, x: np.ndarray, emb: np.ndarray | None = None) -> np.ndarray:
        """Score ``s`` (chains, n) for states ``x`` (chains, n) in ADC full scales and the time
        embedding ``emb``: (E,) shared by the chains, or (chains, E)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        e = np.zeros((0,)) if emb is None else np.asarray(emb, dtype=np.float64)
        if x.shape[1] != self.n or e.shape[-1:] != (self.emb,) or e.ndim > 2:
            raise ValueError(f"x must be (chains, {self.n}) and emb ({self.emb},) or (chains, {self.emb}), "
                             f"got {x.shape} and {e.shape}")
        a = np.concatenate([x, np.broadcast_to(e, (x.shape[0], self.emb))], axis=1)
        last = len(self.layers) - 1
        for l, (W, b) in enumerate(self.layers):
            z = a @ W.T + b
            a = z if l == last else activate_float(self.gain * z if self.gain != 1.0 else z, self.activation)
        return a


@dataclass(frozen=True)
class TensorQuant:
    """What quantizing one tensor to its format cost."""

    fmt: str
    max_abs_error: float      # over the entries that fit (at most lsb/2: RND_CONV)
    rms_error: float
    clipped: int              # entries outside the format's range, saturated
    range_used: float         # max |value| / largest representable value


@dataclass(frozen=True)
class QuantReport:
    """Report of :func:`quantize_mlp`: per layer the weight and bias errors; on a probe set (if
    given) the score error of the fixed-point network against the float one, in act units."""

    weights: tuple[TensorQuant, ...]
    biases: tuple[TensorQuant, ...]
    probe_chains: int = 0
    score_max_abs_error: float | None = None
    score_rms_error: float | None = None
    score_rms: float | None = None                 # rms of the float score, for scale
    probe_overflows: int | None = None             # narrowing overflows over the probe
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> dict:
        """JSON-ready dict."""
        return {
            "weights": [t.__dict__ for t in self.weights],
            "biases": [t.__dict__ for t in self.biases],
            "probe_chains": self.probe_chains,
            "score_max_abs_error": self.score_max_abs_error,
            "score_rms_error": self.score_rms_error,
            "score_rms": self.score_rms,
            "probe_overflows": self.probe_overflows,
            "notes": list(self.notes),
        }


def _quantize_tensor(x: np.ndarray, fmt: QFormat) -> tuple[np.ndarray, TensorQuant]:
    raw, clipped = quantize(x, fmt, Rounding.RND_CONV, Overflow.SAT)
    err = raw * fmt.lsb - x
    ok = ~clipped
    max_err = float(np.abs(err[ok]).max()) if ok.any() else 0.0
    rms = float(np.sqrt(np.mean(err ** 2))) if err.size else 0.0
    used = float(np.abs(x).max() / fmt.max_value) if x.size else 0.0
    return raw, TensorQuant(str(fmt), max_err, rms, int(clipped.sum()), used)


def quantize_mlp(float_layers: Sequence[tuple[np.ndarray, np.ndarray]], spec: MLPSpec,
                 probe_x: np.ndarray | None = None,
                 probe_emb: np.ndarray | None = None, *, function: str | None = None,
                 table_raw: np.ndarray | None = None, table_gain: float = 1.0) -> tuple[list[np.ndarray], list[np.ndarray], QuantReport]:
    """Float network ``[(W, b), ...]`` (real weights, input layer first) to the raw integers of
    MLP_W / MLP_B: round to nearest (ties to even) in ``spec.weight`` / ``spec.bias``, saturating
    (clipped entries are counted in the report).

    With ``probe_x`` (chains, n) states in ADC full scales and ``probe_emb`` (E,) or (chains, E)
    real embeddings, the report also gives the score error of the fixed-point network (with a
    table activation: ``table_raw`` against the float ``function``) (inputs
    quantized as the ADC and the schedule table would: RND_CONV, SAT) against :class:`MLPFloat`
    on the float layers: what quantization costs end to end, in the score's own units.
    """
    spec.check()
    shapes = spec.layer_shapes
    if len(float_layers) != len(shapes):
        raise ValueError(f"expected {len(shapes)} layers (input, {len(spec.hidden)} hidden, output), got {len(float_layers)}")
    Ws, bs, wq, bq = [], [], [], []
    for l, ((o, i), (W, b)) in enumerate(zip(shapes, float_layers)):
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if W.shape != (o, i) or b.shape != (o,):
            raise ValueError(f"layer {l}: W must be {(o, i)} and b {(o,)}, got {W.shape} and {b.shape}")
        Wr, tw = _quantize_tensor(W, spec.weight)
        br, tb = _quantize_tensor(b, spec.bias)
        Ws.append(Wr)
        bs.append(br)
        wq.append(tw)
        bq.append(tb)
    notes = []
    if any(t.clipped for t in wq + bq):
        notes.append("some weights or biases exceed their format and were saturated: widen int_bits")
    if probe_x is None:
        return Ws, bs, QuantReport(tuple(wq), tuple(bq), notes=tuple(notes))

    x = np.atleast_2d(np.asarray(probe_x, dtype=np.float64))
    chains = x.shape[0]
    e = np.zeros((chains, spec.emb)) if probe_emb is None else np.broadcast_to(
        np.asarray(probe_emb, dtype=np.float64), (chains, spec.emb))
    X, _ = quantize(x, QFormat(1, spec.x_bits - 1), Rounding.RND_CONV, Overflow.SAT)
    Ef, _ = quantize(e, spec.act, Rounding.RND_CONV, Overflow.SAT)
    ref = (MLPFloat(float_layers, function, table_gain) if spec.activation == "table"
           else MLPFloat(float_layers, spec.activation))
    s_ref = ref.forward(x, e)
    # The fixed-point score, one schedule row per distinct embedding (scale 1 is irrelevant here).
    s_fix = np.empty((chains, spec.n))
    overflows = 0
    rows, inverse = np.unique(Ef, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for r, row in enumerate(rows):
        sched = np.zeros((1, 3 + spec.emb), dtype=np.int64)
        sched[0, 3:] = row
        demon = MLPDemon(spec, Ws, bs, sched, table_raw)
        idx = np.flatnonzero(inverse == r)
        _, hs, masks = demon.layers_at(X[idx], 0)
        s_fix[idx] = hs[-1] * spec.act.lsb
        overflows += int(sum(m.sum() for m in masks))
    err = s_fix - s_ref
    return Ws, bs, QuantReport(
        tuple(wq), tuple(bq), probe_chains=chains,
        score_max_abs_error=float(np.abs(err).max()), score_rms_error=float(np.sqrt(np.mean(err ** 2))),
        score_rms=float(np.sqrt(np.mean(s_ref ** 2))), probe_overflows=overflows, notes=tuple(notes))


def quantize_schedule(force_scale: np.ndarray, drift_ctrl: np.ndarray, noise_ctrl: np.ndarray,
                      emb: np.ndarray | None, spec: MLPSpec) -> tuple[np.ndarray, dict]:
    """Real schedule columns (K,), (K,), (K,) and embeddings (K, E) to the raw table (K, 3 + E) of
    :class:`MLPDemon` (RND_CONV, SAT). Returns the table and a report (per column: max error,
    clipped entries)."""
    force_scale = np.asarray(force_scale, dtype=np.float64).reshape(-1)
    K = force_scale.size
    if not 1 <= K <= spec.sched_len:
        raise ValueError(f"schedule has {K} rows, the table holds 1..{spec.sched_len}")
    e = np.zeros((K, 0)) if emb is None else np.asarray(emb, dtype=np.float64).reshape(K, spec.emb)
    ctrl = QFormat(1, spec.ctrl_bits - 1)
    out = np.empty((K, 3 + spec.emb), dtype=np.int64)
    report = {}
    for j, (name, col, fmt) in enumerate((("force_scale", force_scale, spec.scale),
                                          ("drift_ctrl", np.asarray(drift_ctrl, dtype=np.float64).reshape(K), ctrl),
                                          ("noise_ctrl", np.asarray(noise_ctrl, dtype=np.float64).reshape(K), ctrl))):
        raw, t = _quantize_tensor(col, fmt)
        out[:, j] = raw
        report[name] = t.__dict__
    raw, t = _quantize_tensor(e, spec.act)
    out[:, 3:] = raw
    report["emb"] = t.__dict__
    return out, report


# ----------------------------------------------------------------------------------------------
# The demon kind: config section, spec from a config, HDL parameters, loading over the bus
# ----------------------------------------------------------------------------------------------


class MLPSection(Section):
    """``demon: {kind: mlp}``: the score-network force unit (rtl/demon_mlp.v + rtl/demon_sched.v,
    docs/score_demon.md). The network's shape comes from the workload (``workload.network``);
    these are its arithmetic and speed."""

    kind: Literal["mlp"]
    multipliers: PositiveInt = 8
    weight: QFormatConfig = QFormatConfig(int_bits=3, frac_bits=10)
    bias: QFormatConfig = QFormatConfig(int_bits=4, frac_bits=10)
    act: QFormatConfig = QFormatConfig(int_bits=3, frac_bits=10)
    scale: QFormatConfig = QFormatConfig(int_bits=4, frac_bits=12)
    ctrl_bits: int = Field(12, ge=4, le=16)
    rounding: RoundingMode = Rounding.RND_CONV
    overflow: OverflowMode = Overflow.SAT
    latency_cycles: None = None
    #: A network with a smooth activation (sigmoid, tanh, silu, softplus) runs it through the
    #: table activation: 2**table_bits segments over the act range, entries Q(act.int_bits,
    #: table_frac) (default act.frac_bits + 4, at most 24 bits wide).
    table_bits: int = Field(8, ge=1, le=8)
    table_frac: Optional[int] = Field(None, ge=0, le=23)


class MLPKind(DemonKind):
    """The score network. Its workloads (``demons = ("mlp",)``) provide the network's
    architecture (``network_architecture(cfg)``) and the schedule's rows (``schedule_rows(cfg)``)."""

    kind = "mlp"
    section = MLPSection
    spec_type = MLPSpec
    force_unit = 1
    fields = {**DemonKind.fields, "hidden": "workload.network", "emb": "workload.network",
              "activation": "workload.network"}

    def spec(self, cfg) -> MLPSpec:
        from demonloop import workloads

        w = workloads.of(cfg)
        arch = w.network_architecture(cfg)
        d = cfg.demon
        table = arch["activation"] in TABLE_FUNCTIONS
        tf = d.table_frac if d.table_frac is not None else min(d.act.fmt.frac_bits + 4, 24 - d.act.fmt.int_bits)
        return MLPSpec(
            n=cfg.n, emb=int(arch["emb"]), hidden=tuple(int(h) for h in arch["hidden"]),
            x_bits=cfg.adc.bits, f_bits=cfg.dac.bits, ctrl_bits=d.ctrl_bits,
            weight=d.weight.fmt, bias=d.bias.fmt, act=d.act.fmt, scale=d.scale.fmt,
            activation="table" if table else arch["activation"], multipliers=d.multipliers,
            sched_len=w.schedule_rows(cfg), rounding=d.rounding, overflow=d.overflow,
            table_bits=d.table_bits if table else 0, table_frac=tf if table else 0)

    def validate(self, cfg) -> None:
        from demonloop.config.errors import ConfigError

        super().validate(cfg)
        spec = cfg.demon_spec()
        if spec.initiation_interval > cfg.adc.sample_period_cycles:
            raise ConfigError("adc.sample_period_cycles",
                              f"is {cfg.adc.sample_period_cycles}, below the network's initiation interval "
                              f"({spec.initiation_interval} cycles): samples would be dropped and the schedule would slip")

    def hdl_parameters(self, spec: MLPSpec) -> dict[str, int]:
        hidden = tuple(spec.hidden) + (1,) * (3 - len(spec.hidden))
        return {
            "FORCE_UNIT": self.force_unit, "N": spec.n, "EMB": spec.emb, "LAYERS": len(spec.hidden),
            "HIDDEN1": hidden[0], "HIDDEN2": hidden[1], "HIDDEN3": hidden[2],
            "MULTIPLIERS": spec.multipliers, "X_BITS": spec.x_bits, "F_BITS": spec.f_bits,
            "CTRL_BITS": spec.ctrl_bits, "WEIGHT_INT": spec.weight.int_bits, "WEIGHT_FRAC": spec.weight.frac_bits,
            "BIAS_INT": spec.bias.int_bits, "BIAS_FRAC": spec.bias.frac_bits,
            "ACT_INT": spec.act.int_bits, "ACT_FRAC": spec.act.frac_bits,
            "SCALE_INT": spec.scale.int_bits, "SCALE_FRAC": spec.scale.frac_bits,
            "ACTIVATION": ACTIVATIONS[spec.activation], "SCHED_LEN": spec.sched_len,
            "ROUNDING": spec.rounding.code, "OVERFLOW": spec.overflow.code,
            # the table's parameters only where there is one (a user's RTL need not declare them)
            **({"TABLE_BITS": spec.table_bits, "TABLE_FRAC": spec.table_frac} if spec.activation == "table" else {}),
        }

    def spec_from_parameters(self, p) -> MLPSpec:
        hidden = tuple(p[f"HIDDEN{i + 1}"] for i in range(p["LAYERS"]))
        return MLPSpec(
            n=p["N"], emb=p["EMB"], hidden=hidden, x_bits=p["X_BITS"], f_bits=p["F_BITS"],
            ctrl_bits=p["CTRL_BITS"], weight=QFormat(p["WEIGHT_INT"], p["WEIGHT_FRAC"]),
            bias=QFormat(p["BIAS_INT"], p["BIAS_FRAC"]), act=QFormat(p["ACT_INT"], p["ACT_FRAC"]),
            scale=QFormat(p["SCALE_INT"], p["SCALE_FRAC"]),
            activation={v: k for k, v in ACTIVATIONS.items()}[p["ACTIVATION"]],
            multipliers=p["MULTIPLIERS"], sched_len=p["SCHED_LEN"],
            rounding=Rounding.from_code(p["ROUNDING"]), overflow=Overflow.from_code(p["OVERFLOW"]),
            table_bits=p.get("TABLE_BITS", 0) if p["ACTIVATION"] == 2 else 0,
            table_frac=p.get("TABLE_FRAC", 0) if p["ACTIVATION"] == 2 else 0)

    def out_word_bits(self, spec: MLPSpec) -> int:
        return spec.n * spec.f_bits + 2 * spec.ctrl_bits

    def pack_out(self, spec: MLPSpec, codes) -> int:
        """n force codes, then drift_ctrl and noise_ctrl above them."""
        n = spec.n
        return pack(codes[:n], spec.f_bits) | (pack(codes[n:], spec.ctrl_bits) << (n * spec.f_bits))

    def unpack_out(self, spec: MLPSpec, word: int) -> np.ndarray:
        n = spec.n
        return np.concatenate([unpack(word, n, spec.f_bits), unpack(word >> (n * spec.f_bits), 2, spec.ctrl_bits)])

    async def load(self, top, program) -> None:
        await top.load_network(program.W_raw, program.b_raw)
        await top.load_schedule(program.schedule_raw)
        if program.spec.activation == "table":
            await top.load_table(program.table_raw)

    async def start_chain(self, top) -> None:
        await top.step_reset(enable=True)


KIND = MLPKind()
