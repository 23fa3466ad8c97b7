"""Named fixed point, the arithmetic contract shared by the golden demon and the RTL.

A value in format ``Q(m, f)`` is a signed two's-complement integer ``raw`` of
``m + f`` bits (``m`` integer bits including the sign, ``f`` fractional bits);
its real value is ``raw * 2**-f``. Arrays of raw values are ``int64`` numpy
arrays; every helper below is plain integer arithmetic, vectorised, and has a
Verilog twin of the same name in ``rtl/`` (see the README, "Fixed point").

The helpers also accept ``float64`` arrays that hold integers of magnitude below
``2**52`` (the engine's fast path: BLAS products of integers are exact there). On
them the same operations are exact too: scaling by ``2**-s`` is exact, and
``floor``, ``floor(y + 1/2)`` and ``rint`` (round half to even) are exactly TRN,
RND and RND_CONV. ``tests/test_fixedpoint.py`` checks both paths against APyTypes.

Every narrowing point names its rounding and its overflow:

``TRN``       floor (drop the low bits; the default, costs nothing in hardware)
``RND``       round half up (towards +inf): ``floor(a / 2**s + 1/2)``
``RND_CONV``  round half to even (convergent), unbiased on ties

``SAT``       clip to the format's range (the default); counted
``WRAP``      keep the low bits (two's-complement wrap); counted, never silent

The names follow APyTypes' ``QuantizationMode`` / ``OverflowMode``, against which
these helpers are cross-checked in ``tests/test_fixedpoint.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


class Rounding(str, Enum):
    TRN = "TRN"
    RND = "RND"
    RND_CONV = "RND_CONV"

    @property
    def code(self) -> int:
        """Encoding used by the RTL parameter ``ROUNDING`` and the FORMAT register."""
        return {"TRN": 0, "RND": 1, "RND_CONV": 2}[self.value]

    @classmethod
    def from_code(cls, code: int) -> "Rounding":
        """Inverse of :attr:`code`."""
        return {r.code: r for r in cls}[code]


class Overflow(str, Enum):
    SAT = "SAT"
    WRAP = "WRAP"

    @property
    def code(self) -> int:
        """Encoding used by the RTL parameter ``OVERFLOW`` and the FORMAT register."""
        return {"SAT": 0, "WRAP": 1}[self.value]

    @classmethod
    def from_code(cls, code: int) -> "Overflow":
        """Inverse of :attr:`code`."""
        return {o.code: o for o in cls}[code]


@dataclass(frozen=True)
class QFormat:
    """Signed fixed-point format Q(int_bits, frac_bits)."""

    int_bits: int
    frac_bits: int

    @property
    def width(self) -> int:
        return self.int_bits + self.frac_bits

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1))

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1

    @property
    def lsb(self) -> float:
        """Weight of one raw step, ``2**-frac_bits``."""
        return 2.0 ** (-self.frac_bits)

    @property
    def min_value(self) -> float:
        return self.min_raw * self.lsb

    @property
    def max_value(self) -> float:
        return self.max_raw * self.lsb

    def __str__(self) -> str:
        return f"Q({self.int_bits},{self.frac_bits})"


def shift_round(a: np.ndarray, shift: int, rounding: Rounding) -> np.ndarray:
    """``a / 2**shift`` rounded to an integer by ``rounding``; ``a`` int64, ``shift >= 0``.

    TRN: ``a >> s``. RND: ``(a + 2**(s-1)) >> s``. RND_CONV: ``(a + 2**(s-1) - 1 + a[s]) >> s``,
    where ``a[s]`` is bit ``s`` of ``a`` (the LSB that survives), which sends ties to even.
    The caller guarantees one bit of headroom for the rounding addend (the RTL adds one bit).
    """
    if shift < 0:
        raise ValueError(f"shift must be >= 0, got {shift}")
    rounding = Rounding(rounding)
    if _is_float(a):
        if shift == 0:
            return np.array(a, dtype=np.float64)
        y = a * (2.0 ** -shift)
        if rounding is Rounding.TRN:
            return np.floor(y, out=y)
        if rounding is Rounding.RND:
            y += 0.5
            return np.floor(y, out=y)
        return np.rint(y, out=y)
    a = np.asarray(a, dtype=np.int64)
    if shift == 0:
        return a.copy()
    if rounding is Rounding.TRN:
        return a >> shift
    half = np.int64(1) << np.int64(shift - 1)
    if rounding is Rounding.RND:
        return (a + half) >> shift
    return (a + (half - 1) + ((a >> shift) & 1)) >> shift


def saturate(a: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip int64 ``a`` to a signed ``width``-bit range (SAT). Returns (raw, saturated mask)."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if not _is_float(a):
        a = np.asarray(a, dtype=np.int64)
    mask = (a < lo) | (a > hi)
    return np.clip(a, lo, hi), mask


def wrap(a: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the low ``width`` bits of int64 ``a`` as a signed value (WRAP). Returns (raw, overflow mask)."""
    if _is_float(a):
        half = float(1 << (width - 1))
        out = np.mod(a + half, 2.0 * half) - half
        return out, out != a
    a = np.asarray(a, dtype=np.int64)
    half = np.int64(1) << np.int64(width - 1)
    out = ((a + half) & ((half << 1) - 1)) - half
    return out, out != a


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == np.float64


def count_overflow(a: np.ndarray, width: int) -> int:
    """Number of entries of ``a`` outside the signed ``width``-bit range (two reductions when
    none are, which is the common case)."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if a.size == 0 or (np.minimum.reduce(a, axis=None) >= lo and np.maximum.reduce(a, axis=None) <= hi):
        return 0
    return int(np.count_nonzero((a < lo) | (a > hi)))


def overflow(a: np.ndarray, width: int, mode: Overflow) -> tuple[np.ndarray, np.ndarray]:
    """Apply the named overflow ``mode`` to fit ``width`` signed bits. Returns (raw, overflow mask)."""
    return saturate(a, width) if Overflow(mode) is Overflow.SAT else wrap(a, width)


def narrow(
    a: np.ndarray, shift: int, width: int, rounding: Rounding, overflow_mode: Overflow
) -> tuple[np.ndarray, np.ndarray]:
    """Drop ``shift`` fractional bits with ``rounding``, then fit ``width`` bits with ``overflow_mode``.

    This is the one narrowing operation of the demon datapath (accumulator to output);
    the RTL's ``narrow`` block implements exactly this. Returns (raw, overflow mask).
    """
    return overflow(shift_round(a, shift, rounding), width, overflow_mode)


def quantize(
    x: np.ndarray, fmt: QFormat, rounding: Rounding = Rounding.RND_CONV,
    overflow_mode: Overflow = Overflow.SAT,
) -> tuple[np.ndarray, np.ndarray]:
    """Real values to raw integers of ``fmt``: ``raw = round(x * 2**f)`` then overflow.

    Used by the compiler to turn real coefficients into the demon's memory contents.
    Scaling by a power of two is exact in float64, so the rounding is exact for |x| < 2**52 * lsb.
    Returns (raw int64, overflow mask).
    """
    y = np.asarray(x, dtype=np.float64) * (2.0 ** fmt.frac_bits)
    rounding = Rounding(rounding)
    if rounding is Rounding.TRN:
        r = np.floor(y)
    elif rounding is Rounding.RND:
        r = np.floor(y + 0.5)
    else:
        r = np.rint(y)
    big = float(1 << 62)
    r = np.clip(r, -big, big).astype(np.int64)
    return overflow(r, fmt.width, overflow_mode)


def to_real(raw: np.ndarray, fmt: QFormat) -> np.ndarray:
    """Raw integers of ``fmt`` to their real values."""
    return np.asarray(raw, dtype=np.float64) * fmt.lsb
