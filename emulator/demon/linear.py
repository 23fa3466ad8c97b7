"""Golden model of the linear force unit ``f = b - A x`` (rtl/demon_linear.v).

Formats (all signed two's complement):

- input ``x``: the ADC code ``X`` of ``x_bits`` bits, read as Q(1, x_bits-1), so x = X / 2**(x_bits-1)
  is the voltage as a fraction of the ADC full scale;
- coefficients ``A``: Q(coef.int_bits, coef.frac_bits); bias ``b``: Q(bias.int_bits, bias.frac_bits);
- accumulator: ``acc_frac = coef.frac_bits + x_bits - 1`` fractional bits, ``acc_width`` bits
  (wide enough that no input can overflow it: see :attr:`LinearDemonSpec.acc_width`);
- output ``f``: the DAC code ``F`` of ``f_bits`` bits, read as Q(1, f_bits-1).

Datapath, per output row r:

    acc_r = (b_r << b_shift) - sum_j A_rj * X_j          exact, b_shift = acc_frac - bias.frac_bits
    F_r   = narrow(acc_r, out_shift, f_bits, rounding, overflow)   out_shift = acc_frac - (f_bits - 1)

Timing (the RTL implements exactly this, and co-simulation measures it):

- ``multipliers`` = P lanes compute P rows at a time, one column per clock: a row group takes ``n``
  cycles and there are ``ceil(n / P)`` groups; the last column of each group is narrowed and
  registered in the same cycle;
- ``latency_cycles`` = cycles from the input handshake to the output handshake (with the DAC ready)
  = ``n * ceil(n / P) + 1``;
- ``initiation_interval`` = cycles between two accepted inputs = ``n * ceil(n / P) + 1``. The input
  is ready when the unit is idle and its output register is empty (or drains this cycle); an ADC
  sample offered while it is not ready is dropped and counted (the ADC cannot wait).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from pydantic import NonNegativeInt, PositiveInt

from demonloop.config.base import OverflowMode, QFormatConfig, RoundingMode, Section
from demonloop.demon.base import DemonKind
from demonloop.fixedpoint import Overflow, QFormat, Rounding, count_overflow, narrow, overflow, shift_round

#: Largest accumulator for which a float64 BLAS product of integers is exact (|acc| < 2**53).
_FLOAT_EXACT_WIDTH = 53
#: Largest accumulator int64 holds with one bit of headroom for the rounding addend.
MAX_ACC_WIDTH = 62


@dataclass(frozen=True)
class LinearDemonSpec:
    """Every parameter of the linear force unit; the RTL parameters have the same names in caps."""

    n: int
    multipliers: int
    x_bits: int
    f_bits: int
    coef: QFormat
    bias: QFormat
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.SAT

    @property
    def acc_frac(self) -> int:
        return self.coef.frac_bits + self.x_bits - 1

    @property
    def b_shift(self) -> int:
        return self.acc_frac - self.bias.frac_bits

    @property
    def out_shift(self) -> int:
        return self.acc_frac - (self.f_bits - 1)

    @property
    def acc_width(self) -> int:
        """Signed width that holds ``b << b_shift - sum A X`` for every input (no overflow possible)."""
        bound = (self.n << (self.x_bits - 1 + self.coef.width - 1)) + (
            1 << (self.bias.width - 1 + self.b_shift)
        )
        return bound.bit_length() + 1

    @property
    def groups(self) -> int:
        return -(-self.n // self.multipliers)

    @property
    def latency_cycles(self) -> int:
        return self.n * self.groups + 1

    @property
    def initiation_interval(self) -> int:
        return self.n * self.groups + 1

    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) for every parameter the datapath cannot implement; empty when legal."""
        out = []
        if self.n < 1 or self.n > 64:
            out.append(("n", f"must be between 1 and 64, got {self.n}"))
        if not 1 <= self.multipliers <= max(self.n, 1):
            out.append(("multipliers", f"must be between 1 and n={self.n}, got {self.multipliers}"))
        for name, w in (("x_bits", self.x_bits), ("f_bits", self.f_bits)):
            if not 2 <= w <= 24:
                out.append((name, f"must be between 2 and 24, got {w}"))
        for name, fmt in (("coef", self.coef), ("bias", self.bias)):
            if fmt.int_bits < 1 or fmt.frac_bits < 0 or not 2 <= fmt.width <= 32:
                out.append((name, f"{fmt} needs int_bits >= 1, frac_bits >= 0, width 2..32"))
        if not out:
            if self.b_shift < 0:
                out.append(("bias.frac_bits", f"must be <= coef.frac_bits + x_bits - 1 = {self.acc_frac}"))
            if self.out_shift < 0:
                out.append(("f_bits", f"f_bits - 1 must be <= coef.frac_bits + x_bits - 1 = {self.acc_frac}"))
            if self.acc_width > MAX_ACC_WIDTH:
                out.append(("coef", f"accumulator would need {self.acc_width} bits (max {MAX_ACC_WIDTH})"))
        return out


class LinearDemon:
    """Bit-exact golden linear force unit, vectorised over chains.

    ``A_raw`` (n, n) and ``b_raw`` (n,) are the raw integer coefficients as written to the
    coefficient memory; they must already fit their formats.

    Two paths compute the same integers: :meth:`force` in int64 (the reference, cross-checked
    against APyTypes and the RTL) and :meth:`force_count` on float64 arrays holding integers
    (the engine's fast path; exact because ``acc_width <= 53`` is checked, see
    :mod:`demonloop.fixedpoint`). ``tests/demon/test_linear.py`` checks they agree.
    """

    def __init__(self, spec: LinearDemonSpec, A_raw: np.ndarray, b_raw: np.ndarray):
        bad = spec.problems()
        if bad:
            raise ValueError("; ".join(f"{f}: {r}" for f, r in bad))
        self.spec = spec
        A_raw = np.asarray(A_raw, dtype=np.int64).reshape(spec.n, spec.n)
        b_raw = np.asarray(b_raw, dtype=np.int64).reshape(spec.n)
        for name, arr, fmt in (("A", A_raw, spec.coef), ("b", b_raw, spec.bias)):
            if arr.min(initial=0) < fmt.min_raw or arr.max(initial=0) > fmt.max_raw:
                raise ValueError(f"{name} raw values do not fit {fmt}")
        self.A_raw = A_raw
        self.b_raw = b_raw
        self._b_acc = b_raw << np.int64(spec.b_shift)
        self.float_exact = spec.acc_width <= _FLOAT_EXACT_WIDTH
        self._Af = A_raw.astype(np.float64)
        self._b_acc_f = self._b_acc.astype(np.float64)
        self._zero_A = not A_raw.any()
        if self._zero_A:
            const, ovf = narrow(self._b_acc[None, :], spec.out_shift, spec.f_bits, spec.rounding, spec.overflow)
            self._const = const[0].astype(np.float64)
            self._const_ovf = int(np.count_nonzero(ovf))
            self._const_views: dict = {}

    @property
    def n_out(self) -> int:
        """Channels of the output word (the n force codes; the MLP unit adds two controls)."""
        return self.spec.n

    def reset(self) -> None:
        """No state to reset (the MLP unit's step counter has one); lets the engine drive both alike."""

    def accumulate(self, X: np.ndarray) -> np.ndarray:
        """Exact accumulator ``(b << b_shift) - X @ A.T`` for ADC codes ``X`` (chains, n), int64."""
        X = np.asarray(X, dtype=np.int64)
        if self.float_exact:
            # Exact: every partial sum is an integer below 2**53 (checked by acc_width).
            prod = (X.astype(np.float64) @ self._Af.T).astype(np.int64)
        else:
            prod = X @ self.A_raw.T
        return self._b_acc - prod

    def force(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """DAC codes (int64) for ADC codes ``X`` (chains, n). Returns (codes, overflowed mask)."""
        s = self.spec
        return narrow(self.accumulate(X), s.out_shift, s.f_bits, s.rounding, s.overflow)

    def force_count(self, X: np.ndarray) -> tuple[np.ndarray, int]:
        """DAC codes for ADC codes ``X`` (chains, n), as float64 integers, and the number of
        overflowed outputs. Same integers as :meth:`force`; the engine's path."""
        s = self.spec
        if self._zero_A:
            out = self._const_views.get(X.shape)
            if out is None:
                out = self._const_views[X.shape] = np.broadcast_to(self._const, X.shape)
            return out, self._const_ovf * X.shape[0]
        if not self.float_exact:
            codes, ovf = self.force(X)
            return codes.astype(np.float64), int(np.count_nonzero(ovf))
        Xf = X if X.dtype == np.float64 else X.astype(np.float64)
        # (A @ X^T)^T keeps a transposed (units-major) X contiguous for BLAS.
        acc = self._b_acc_f[:, None] - self._Af @ Xf.T
        y = shift_round(acc, s.out_shift, s.rounding).T
        n_ovf = count_overflow(y, s.f_bits)
        if n_ovf:
            y, _ = overflow(y, s.f_bits, s.overflow)
        return y, n_ovf


# ----------------------------------------------------------------------------------------------
# The demon kind: config section, spec from a config, HDL parameters, loading over the bus
# ----------------------------------------------------------------------------------------------


class LinearSection(Section):
    """``demon: {kind: linear}``: the linear force unit ``f = b - A x`` (rtl/demon_linear.v).

    ``latency_cycles`` (golden runs only) overrides the unit's latency to study an idealised
    demon; the RTL has its own."""

    kind: Literal["linear"] = "linear"
    multipliers: Optional[PositiveInt] = None
    coef: QFormatConfig = QFormatConfig(int_bits=4, frac_bits=12)
    bias: QFormatConfig = QFormatConfig(int_bits=2, frac_bits=14)
    rounding: RoundingMode = Rounding.RND_CONV
    overflow: OverflowMode = Overflow.SAT
    latency_cycles: Optional[NonNegativeInt] = None


class LinearKind(DemonKind):
    kind = "linear"
    section = LinearSection
    spec_type = LinearDemonSpec
    force_unit = 0

    def spec(self, cfg) -> LinearDemonSpec:
        d = cfg.demon
        return LinearDemonSpec(n=cfg.n, multipliers=d.multipliers or cfg.n, x_bits=cfg.adc.bits,
                               f_bits=cfg.dac.bits, coef=d.coef.fmt, bias=d.bias.fmt, rounding=d.rounding,
                               overflow=d.overflow)

    def hdl_parameters(self, spec: LinearDemonSpec) -> dict[str, int]:
        # FORCE_UNIT is left at its default (0), so the dict is the one linear builds always had
        return {
            "N": spec.n, "MULTIPLIERS": spec.multipliers, "X_BITS": spec.x_bits, "F_BITS": spec.f_bits,
            "COEF_INT": spec.coef.int_bits, "COEF_FRAC": spec.coef.frac_bits,
            "BIAS_INT": spec.bias.int_bits, "BIAS_FRAC": spec.bias.frac_bits,
            "ROUNDING": spec.rounding.code, "OVERFLOW": spec.overflow.code,
        }

    def spec_from_parameters(self, p) -> LinearDemonSpec:
        return LinearDemonSpec(
            n=p["N"], multipliers=p["MULTIPLIERS"], x_bits=p["X_BITS"], f_bits=p["F_BITS"],
            coef=QFormat(p["COEF_INT"], p["COEF_FRAC"]), bias=QFormat(p["BIAS_INT"], p["BIAS_FRAC"]),
            rounding=Rounding.from_code(p["ROUNDING"]), overflow=Overflow.from_code(p["OVERFLOW"]))

    async def load(self, top, program) -> None:
        await top.load_coefficients(program.A_raw, program.b_raw)

    def random_program(self, spec: LinearDemonSpec, rng, family: str = "inrange"):
        """Random ``A_raw``, ``b_raw`` of one of the coefficient families of
        :func:`demonloop.cosim.testbench.draw_coefficients` (``inrange``, ``full``, ``extreme``, ``ties``)."""
        from demonloop.cosim.testbench import draw_coefficients, ties_possible

        if family == "ties" and not ties_possible(spec):
            family = "full"
        A, b = draw_coefficients(rng, spec, family)
        return CoefficientProgram(spec, np.asarray(A, dtype=np.int64), np.asarray(b, dtype=np.int64))


@dataclass(frozen=True)
class CoefficientProgram:
    """The linear unit's part of a hardware program: its spec and raw coefficients."""

    spec: LinearDemonSpec
    A_raw: np.ndarray
    b_raw: np.ndarray

    def demon(self) -> LinearDemon:
        return LinearDemon(self.spec, self.A_raw, self.b_raw)


KIND = LinearKind()
