"""The config schema: typed, frozen sections validated at the edge.

A config is one YAML file (see ``hw_configs/``) describing the hardware (array, converters,
clock, demon), how the problem is compiled onto it, the workload and the run length. Units are
SI and every physical key carries its unit in its name (``C_F``, ``full_scale_V``, ``f_clk_Hz``).

The ``demon:``, ``workload:``, ``adc:`` and ``dac:`` sections are discriminated unions of the
sections the registries hold (``demon.kind``, ``workload.kind``, ``adc.model``, ``dac.model``):
a new kind brings its own section and nothing here changes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import numpy as np
from pydantic import (
    Discriminator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from demonloop import demon as _demon
from demonloop import workloads as _workloads
from demonloop.config.base import PerUnit, Section
from demonloop.config.errors import FieldError
from demonloop.plant.converters import ADC_MODELS, DAC_MODELS, ADCSection, DACSection


class Clock(Section):
    f_clk_Hz: Annotated[PositiveFloat, Field(allow_inf_nan=False)] = 100e6

    @property
    def period_s(self) -> float:
        return 1.0 / self.f_clk_Hz


class Noise(Section):
    """The per-unit noise amplifiers (one common setting; their gain mismatch is a tolerance).

    ``rms_V``: auto-scale the amplifiers so that the largest stationary RMS is this many volts
    (linear solve only; other workloads derive the level from the target distribution).
    ``effective_temperature_K``: inject the excess noise of a reference conductance at this
    temperature. ``null`` for both: the amplifiers are set by the compiler (``range_sigmas``).
    ``enabled: false``: the amplifiers off, physical (Johnson) noise only. ``off: true`` says the
    same from Python or ``--set array.noise.off=true``, but not in a YAML file, where a bare
    ``off`` key is read as the boolean false: write ``enabled: false`` there.
    """

    rms_V: Optional[PositiveFloat] = None
    effective_temperature_K: Optional[PositiveFloat] = None
    enabled: bool = True
    off: bool = False

    @property
    def amplifiers_off(self) -> bool:
        return self.off or not self.enabled

    @model_validator(mode="after")
    def _one(self):
        if self.rms_V is not None and self.effective_temperature_K is not None:
            raise ValueError("give at most one of rms_V and effective_temperature_K")
        return self


class Tolerance(Section):
    """Relative 1-sigma component tolerances, drawn once per hardware instance from the seed."""

    R: NonNegativeFloat = 0.0
    C: NonNegativeFloat = 0.0
    L: NonNegativeFloat = 0.0
    noise_gain: NonNegativeFloat = 0.0

    @field_validator("R", "C", "L", "noise_gain")
    @classmethod
    def _small(cls, v):
        if v > 0.3:
            raise ValueError(f"{v} is above 0.3: a 1-sigma tolerance that large can draw negative components")
        return v


class Array(Section):
    cell: Literal["RC", "RLC"] = "RC"
    n: int = Field(ge=1, le=64)
    C_F: PerUnit = 1e-9
    R_ohm: Optional[PerUnit] = None
    L_H: Optional[PerUnit] = None
    temperature_K: NonNegativeFloat = 300.0
    noise: Noise = Noise()
    tolerance: Tolerance = Tolerance()
    rail_V: Optional[PositiveFloat] = None
    #: RLC cells: a resistor of this value across every coupling capacitor (extra damping of the
    #: coupled modes; its noise is raised to the cells' effective temperature too).
    R_couple_ohm: Optional[PositiveFloat] = None

    @model_validator(mode="after")
    def _check(self):
        if self.R_couple_ohm is not None and self.cell != "RLC":
            raise FieldError("R_couple_ohm", "applies to RLC cells (RC couplings come from the workload's matrix)")
        for key in ("C_F", "R_ohm", "L_H"):
            v = getattr(self, key)
            if v is None:
                continue
            vals = v if isinstance(v, list) else [v]
            if isinstance(v, list) and len(v) != self.n:
                raise FieldError(key, f"has {len(v)} entries, array.n is {self.n}")
            for x in vals:
                if not x > 0:
                    raise FieldError(key, f"must be positive, got {x}")
        if self.cell == "RLC" and self.L_H is None:
            raise FieldError("L_H", "an RLC cell needs an inductance")
        if self.cell == "RC" and self.L_H is not None:
            raise FieldError("L_H", "an RC cell has no inductor (set cell: RLC)")
        return self

    def per_unit(self, key: str) -> np.ndarray:
        v = getattr(self, key)
        return np.asarray(v if isinstance(v, list) else [v] * self.n, dtype=np.float64)


class CompilerConfig(Section):
    mode: Literal["analog", "digital"] = "analog"
    time_constant_samples: PositiveFloat = 4.0
    mean_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    range_sigmas: PositiveFloat = 4.0


class Run(Section):
    burn_in_samples: NonNegativeInt = 500
    samples: PositiveInt = 2000
    trace_chains: NonNegativeInt = 16


# ---- the sections the registries contribute ----------------------------------------------------


def _tagged(registry, default: str, key: str):
    """A discriminated union of the sections in ``registry`` keyed by ``key`` (``default`` when
    the key is absent or unknown, so that pydantic names the bad value at ``<section>.<key>``)."""
    sections = {name: entry.section for name, entry in registry.items()}

    def pick(v) -> str:
        name = v.get(key, default) if isinstance(v, dict) else getattr(v, key, default)
        return name if isinstance(name, str) and name in sections else default

    members = tuple(Annotated[s, Tag(name)] for name, s in sections.items())
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Discriminator(pick)]


DemonSection = _tagged(_demon.DEMONS, "linear", "kind")
WorkloadSection = Annotated[Union[tuple(w.section for w in _workloads.WORKLOADS)], Field(discriminator="kind")]
ADCConfig = _tagged(ADC_MODELS, "standard", "model")
DACConfig = _tagged(DAC_MODELS, "standard", "model")

#: Union member tags (dropped from error locations) and discriminator values (named in errors).
TAGS = set(_demon.DEMONS.names()) | set(_workloads.WORKLOADS.names()) | set(ADC_MODELS.names()) | set(DAC_MODELS.names())
CHOICES = {"demon.kind": _demon.DEMONS.names(), "workload.kind": _workloads.WORKLOADS.names(),
           "adc.model": ADC_MODELS.names(), "dac.model": DAC_MODELS.names()}


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


class Config(Section):
    """A validated experiment config (see the module docstring). Derived values are read-only
    views; :meth:`with_overrides` makes a new validated config."""

    _raw: Optional[dict] = PrivateAttr(default=None)
    _base_dir: Optional[Path] = PrivateAttr(default=None)
    _spec: Any = PrivateAttr(default=None)

    name: str
    description: str = Field("", max_length=2000)
    seed: NonNegativeInt = 0
    chains: int = Field(1024, ge=1, le=1 << 20)
    clock: Clock = Clock()
    array: Array
    adc: ADCConfig = ADCSection()
    dac: DACConfig = DACSection()
    demon: DemonSection = _demon.DEMONS.get("linear").section()
    compiler: CompilerConfig = CompilerConfig()
    workload: WorkloadSection
    run: Run = Run()

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        # the name is a folder name under out/: no separators, no "..", nothing hidden
        if not _NAME.fullmatch(v) or ".." in v:
            raise ValueError("must be a plain name: letters, digits, '.', '_' or '-' (at most 64, "
                             "not starting with '.' or '-', no '..')")
        return v

    # ---- derived, read-only views -------------------------------------------------------
    @property
    def n(self) -> int:
        return self.array.n

    @property
    def base_dir(self) -> Path:
        """Folder relative paths in the config are read from (the config file's own)."""
        return self._base_dir or Path.cwd()

    def demon_spec(self):
        """The demon's full parameter set (its kind's golden spec, e.g. a
        :class:`~demonloop.demon.linear.LinearDemonSpec`)."""
        if self._spec is None:
            self._spec = _demon.of(self).spec(self)
        return self._spec

    @property
    def demon_latency_cycles(self) -> int:
        spec = self.demon_spec()
        fixed = getattr(self.demon, "latency_cycles", None)
        return spec.latency_cycles if fixed is None else fixed

    @property
    def demon_initiation_interval(self) -> int:
        spec = self.demon_spec()
        fixed = getattr(self.demon, "latency_cycles", None)
        if fixed is None:
            return spec.initiation_interval
        return min(spec.initiation_interval, max(1, fixed))

    @property
    def loop_latency_cycles(self) -> int:
        return self.adc.latency_cycles + self.demon_latency_cycles + self.dac.latency_cycles

    @property
    def total_samples(self) -> int:
        """ADC samples of the run, burn-in included (the workload decides)."""
        return _workloads.of(self).total_samples(self)

    @property
    def total_cycles(self) -> int:
        return self.total_samples * self.adc.sample_period_cycles

    def raw(self) -> dict:
        """The document this config was validated from (a deep copy)."""
        return copy.deepcopy(self._raw) if self._raw is not None else self.model_dump(mode="json")

    def with_overrides(self, overrides: dict[str, Any]) -> "Config":
        """A new validated config with dotted-key overrides (``{"adc.bits": 10}``)."""
        from demonloop.config.loading import set_dotted, validate_config

        data = self.raw()
        for key, value in overrides.items():
            set_dotted(data, key, value)
        return validate_config(data, source=None, base_dir=self._base_dir)
