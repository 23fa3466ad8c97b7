"""The demon: golden (bit-exact) models of the Verilog force units, one module per demon kind,
and the register map.

- :mod:`demonloop.demon.base`: the :class:`~demonloop.demon.base.DemonKind` protocol and the
  output-word packing;
- :mod:`demonloop.demon.linear`: the linear unit ``f = b - A x`` (``demon.kind: linear``);
- :mod:`demonloop.demon.mlp`: the time-conditioned score network (``demon.kind: mlp``);
- :mod:`demonloop.demon.polynomial`: the polynomial (Ising) unit, bistable self forces, couplings
  and biases on a schedule (``demon.kind: polynomial``);
- :mod:`demonloop.demon.regs`: the register map (generated from ``rtl/regmap.yaml`` by
  ``tools/gen_regmap.py``; never edit it by hand).

:data:`DEMONS` is the registry: a new kind is a module here plus one line below. Modules here
import only :mod:`demonloop.fixedpoint`, :mod:`demonloop.config.base` and numpy (and, inside
functions, what the co-simulation hands them).
"""

from demonloop.demon import linear, mlp, polynomial
from demonloop.demon.base import DemonKind
from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.demon.mlp import MLPDemon, MLPFloat, MLPSpec, quantize_mlp, quantize_schedule
from demonloop.demon.polynomial import PolynomialDemon, PolySpec, quantize_poly
from demonloop.registry import Registry

#: Demon kinds by ``demon.kind``.
DEMONS: Registry[DemonKind] = Registry("demon kind")
DEMONS.register(linear.KIND.kind, linear.KIND)
DEMONS.register(mlp.KIND.kind, mlp.KIND)
DEMONS.register(polynomial.KIND.kind, polynomial.KIND)


def of(cfg) -> DemonKind:
    """The demon kind of config ``cfg``."""
    return DEMONS.get(cfg.demon.kind)


def for_spec(spec) -> DemonKind:
    """The demon kind whose golden spec ``spec`` is."""
    for k in DEMONS:
        if isinstance(spec, k.spec_type):
            return k
    raise TypeError(f"no demon kind has the spec type {type(spec).__name__}")


def for_force_unit(code: int) -> DemonKind:
    """The demon kind built by ``demon_top``'s ``FORCE_UNIT = code``."""
    for k in DEMONS:
        if k.force_unit == code:
            return k
    raise ValueError(f"no demon kind has FORCE_UNIT {code}")


__all__ = ["DEMONS", "DemonKind", "LinearDemon", "LinearDemonSpec", "MLPDemon", "MLPFloat", "MLPSpec",
           "PolySpec", "PolynomialDemon", "quantize_poly", "for_force_unit", "for_spec", "of", "quantize_mlp", "quantize_schedule"]
