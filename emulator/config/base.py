"""Building blocks of config sections, shared by the schema and by every registered kind.

:class:`Section` is the base of every section model (unknown keys are errors, values frozen).
``Scalar`` is a finite float; ``PerUnit`` a scalar or one value per unit (:func:`per_unit`
expands it); :class:`QFormatConfig` a fixed-point format ``{int_bits, frac_bits}``.
"""

from __future__ import annotations

from typing import Annotated, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from demonloop.fixedpoint import Overflow, QFormat, Rounding


class Section(BaseModel):
    """A config section: unknown keys are errors, defaults validated, instances frozen; strict
    types (``true`` or ``"12"`` is not a number, ``1`` not a string) and finite floats."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _plain_numbers(cls, data):
        # numpy scalars from Python callers (np.int64(10), np.float64(1e-9)) are plain numbers
        if isinstance(data, dict):
            return {k: _plain(v) for k, v in data.items()}
        return data


def _plain(v):
    if isinstance(v, np.generic) and isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


Scalar = Annotated[float, Field(allow_inf_nan=False)]
#: A rounding / overflow mode, written by name in YAML (``RND_CONV``, ``SAT``).
RoundingMode = Annotated[Rounding, Strict(False)]
OverflowMode = Annotated[Overflow, Strict(False)]
PerUnit = Union[Scalar, list[Scalar]]


def per_unit(v, n: int) -> np.ndarray:
    """``(n,)`` float64 array of a ``PerUnit`` value (a scalar repeated, or the list itself)."""
    return np.asarray(v if isinstance(v, list) else [v] * n, dtype=np.float64)


class QFormatConfig(Section):
    """A signed fixed-point format ``Q(int_bits, frac_bits)`` (sign bit included in ``int_bits``)."""

    int_bits: int = Field(ge=1, le=32)
    frac_bits: int = Field(ge=0, le=31)

    @property
    def fmt(self) -> QFormat:
        return QFormat(self.int_bits, self.frac_bits)
