"""ADC and DAC models: quantization, offset and gain error, noise, clipping, latency.

ADC (one per unit, all sampled at once by a sample-and-hold):

    v_in = (1 + gain_error) v + offset_V + noise_V * N(0, 1)        [V]
    X    = clip(floor(v_in * (1 / lsb) + 1/2), -2**(bits-1), 2**(bits-1) - 1)   two's complement
    lsb  = full_scale_V / 2**(bits-1)                               input range [-FS, +FS)

(``1 / lsb`` is one float64 constant, so the code is exactly reproducible; with a power-of-two
full scale it is exactly ``floor(v / lsb + 1/2)``).

so with every error off the code is ``round-half-up(v / lsb)`` (mid-tread) and the
quantization error is uniform on [-lsb/2, lsb/2) for a wide input (variance lsb**2 / 12).
Codes that had to be clipped are counted. The demon reads X as Q(1, bits-1): x = v / FS.

Dither (``dither=True``, config ``adc.dither``): subtractive RPDF dither. Each conversion adds
``d ~ U[-lsb/2, lsb/2)``, independent of everything else, at the quantizer input,

    X = clip(floor((v_in + d) * (1 / lsb) + 1/2), ...)

and reports ``d`` beside the code (``dither_out``), so a back end that knows its dither sequence
reconstructs ``v_hat = X * lsb - d``. The error of that reconstruction,
``e = X * lsb - d - v_in = Q(w) - w`` with ``w = v_in + d``, is *exactly* uniform on
``(-lsb/2, lsb/2]`` and independent of ``v_in`` for every input, however narrow or slow
(Schuchman's condition: the dither's characteristic function vanishes at multiples of ``1/lsb``,
which a uniform dither one LSB wide satisfies). So its variance is exactly ``lsb**2 / 12`` and
the errors of successive conversions are i.i.d. (each draw of ``d`` is new), which is what makes a
``lsb**2 / 12`` test exact rather than the wide-input approximation above (clipped conversions
excepted). The demon's datapath takes integer codes, so the loop itself sees ``X`` (for the force
the dither is non-subtractive: ``E[X lsb - v_in] = 0`` for every input, with variance
``lsb**2 / 6``); the subtractive reconstruction is what measurements of the converter use
(:mod:`demonloop.studies.sweep`). The dither is drawn from the plant's generator, so the golden run and
the co-simulation see the same codes.

DAC (one per unit, zero-order hold): code F of ``bits`` bits, read as Q(1, bits-1), drives

    I = (1 + gain_error) F * lsb + offset_A,   lsb = full_scale_A / 2**(bits-1)     [A]

held until the next update; an optional first-order settling (time constant ``settling_tau_s``)
is modelled by the plant as an extra linear state, so it stays exact. Updates whose code sits at
either end of the range are counted as saturated.

Converter models (the extension point for converter non-idealities): the ``adc:`` and ``dac:``
sections select a model by ``model`` (default ``standard``, the two classes here). A model is a
config section (a subclass of :class:`ADCSection` / :class:`DACSection` with a ``model`` literal
and its own keys), a converter class with the same interface as :class:`ADC` / :class:`DAC`
(``convert`` and the linearisation ``linear_gain`` / ``linear_offset_V``; ``gain_A_per_code``
and ``offset_A`` for a DAC, whose effect must stay affine so the plant stays exact), and one line
registering the pair in :data:`ADC_MODELS` or :data:`DAC_MODELS`. :func:`build_adc` and
:func:`build_dac` are the only places converters are built from a config.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple, Optional

import numpy as np
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from demonloop.config.base import PerUnit, Section, per_unit
from demonloop.registry import Registry

if TYPE_CHECKING:
    from demonloop.config import Config


# Reductions without numpy's Python wrappers: these checks run once per sample on small arrays.
_MIN, _MAX = np.minimum.reduce, np.maximum.reduce
#: Up to this many elements, :func:`extremes` goes through a Python list.
_SMALL = 32


def extremes(x: np.ndarray) -> tuple[float, float]:
    """(min, max) over every element of a non-empty ``x``. A small array (one chain: the
    co-simulation) goes through a list, ~0.5 us for both against ~1 us for each numpy reduction.
    A NaN anywhere gives (nan, nan), as numpy's reductions do."""
    if x.size <= _SMALL:
        v = x.ravel().tolist()
        s = sum(v)
        if s != s and any(e != e for e in v):   # sum is NaN: a NaN element, or +inf with -inf
            return math.nan, math.nan
        return min(v), max(v)
    return _MIN(x, axis=None), _MAX(x, axis=None)


@dataclass(frozen=True)
class ADC:
    """Per-channel ADC bank. ``offset_V`` and ``gain_error`` are (n,) arrays."""

    bits: int
    full_scale_V: float
    offset_V: np.ndarray
    gain_error: np.ndarray
    noise_V: float = 0.0
    dither: bool = False

    @property
    def lsb(self) -> float:
        return self.full_scale_V / (1 << (self.bits - 1))

    @property
    def code_min(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def code_max(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @functools.cached_property
    def ideal(self) -> bool:
        return not (self.offset_V.any() or self.gain_error.any() or self.noise_V)

    def convert(self, v: np.ndarray, rng: np.random.Generator | None = None,
                dither_out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Codes (same shape as ``v`` [V]; float64 holding integers, exact) and the number of
        clipped conversions. ``.astype(np.int64)`` gives the two's-complement integers.
        With dither, the dither of each conversion [V] is written to ``dither_out`` if given."""
        r = (v if self.ideal else self._analog_in(v, rng)) * (1.0 / self.lsb)
        if self.dither:
            if rng is None:
                raise ValueError("a dithered ADC needs a random generator")
            u = rng.random(r.shape)
            u -= 0.5                       # U[-1/2, 1/2) LSB
            r += u
            if dither_out is not None:
                np.multiply(u, self.lsb, out=dither_out)
        r += 0.5
        np.floor(r, out=r)
        lo, hi = self.code_min, self.code_max
        clipped = 0
        if r.size and ((ex := extremes(r))[0] < lo or ex[1] > hi):
            clipped = int(np.count_nonzero((r < lo) | (r > hi)))
            np.clip(r, lo, hi, out=r)
        return r, clipped

    def _analog_in(self, v: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        x = v * (1.0 + self.gain_error) + self.offset_V
        if self.noise_V:
            if rng is None:
                raise ValueError("a noisy ADC needs a random generator")
            x = x + self.noise_V * rng.standard_normal(v.shape)
        return x

    def voltage(self, codes: np.ndarray) -> np.ndarray:
        """Reconstruction ``X * lsb`` [V] (what the code means to the demon, times FS)."""
        return np.asarray(codes, dtype=np.float64) * self.lsb

    @property
    def linear_gain(self) -> np.ndarray:
        """(n,) gain of the linearised converter, ``v_in = linear_gain v + linear_offset_V``."""
        return 1.0 + self.gain_error

    @property
    def linear_offset_V(self) -> np.ndarray:
        """(n,) offset of the linearised converter [V] (noise and quantization are zero-mean)."""
        return self.offset_V

    @classmethod
    def from_config(cls, section: "ADCSection", n: int) -> "ADC":
        return cls(bits=section.bits, full_scale_V=section.full_scale_V, offset_V=per_unit(section.offset_V, n),
                   gain_error=per_unit(section.gain_error, n), noise_V=section.noise_V, dither=section.dither)


@dataclass(frozen=True)
class DAC:
    """Per-channel DAC bank (current output). ``offset_A`` and ``gain_error`` are (n,) arrays."""

    bits: int
    full_scale_A: float
    offset_A: np.ndarray
    gain_error: np.ndarray
    settling_tau_s: float | None = None

    @property
    def lsb(self) -> float:
        return self.full_scale_A / (1 << (self.bits - 1))

    @property
    def code_min(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def code_max(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @property
    def gain_A_per_code(self) -> np.ndarray:
        """(n,) amperes per code step, gain error included."""
        return self.lsb * (1.0 + self.gain_error)

    def current(self, codes: np.ndarray) -> np.ndarray:
        """Output currents [A] for codes (..., n)."""
        return np.asarray(codes, dtype=np.float64) * self.gain_A_per_code + self.offset_A

    def saturated(self, codes: np.ndarray) -> int:
        """Number of codes at either end of the range."""
        return int(np.count_nonzero((codes <= self.code_min) | (codes >= self.code_max)))

    @classmethod
    def from_config(cls, section: "DACSection", n: int) -> "DAC":
        return cls(bits=section.bits, full_scale_A=section.full_scale_A, offset_A=per_unit(section.offset_A, n),
                   gain_error=per_unit(section.gain_error, n), settling_tau_s=section.settling_tau_s)


# ----------------------------------------------------------------------------------------------
# Config sections and the model registries
# ----------------------------------------------------------------------------------------------


class ADCSection(Section):
    """``adc:``. The timing keys belong to every model; the rest to the standard model."""

    model: Literal["standard"] = "standard"
    bits: int = Field(12, ge=2, le=24)
    full_scale_V: PositiveFloat = 1.0
    sample_period_cycles: PositiveInt = 100
    latency_cycles: NonNegativeInt = 4
    offset_V: PerUnit = 0.0
    gain_error: PerUnit = 0.0
    noise_V: NonNegativeFloat = 0.0
    dither: bool = False        # subtractive RPDF dither, one LSB wide (see the module docstring)


class DACSection(Section):
    """``dac:``. ``latency_cycles`` belongs to every model; the rest to the standard model."""

    model: Literal["standard"] = "standard"
    bits: int = Field(12, ge=2, le=24)
    full_scale_A: PositiveFloat = 1e-4
    latency_cycles: NonNegativeInt = 2
    offset_A: PerUnit = 0.0
    gain_error: PerUnit = 0.0
    settling_tau_s: Optional[PositiveFloat] = None


class ConverterModel(NamedTuple):
    """One converter model: its config section and the class built from it (``from_config``)."""

    section: type
    converter: type


#: ADC models by ``adc.model``; DAC models by ``dac.model``.
ADC_MODELS: Registry[ConverterModel] = Registry("ADC model")
DAC_MODELS: Registry[ConverterModel] = Registry("DAC model")
ADC_MODELS.register("standard", ConverterModel(ADCSection, ADC))
DAC_MODELS.register("standard", ConverterModel(DACSection, DAC))


def build_adc(cfg: "Config") -> ADC:
    """The ADC bank of ``cfg`` (its model's class, one channel per unit)."""
    return ADC_MODELS.get(cfg.adc.model).converter.from_config(cfg.adc, cfg.n)


def build_dac(cfg: "Config") -> DAC:
    """The DAC bank of ``cfg`` (its model's class, one channel per unit)."""
    return DAC_MODELS.get(cfg.dac.model).converter.from_config(cfg.dac, cfg.n)
