"""Golden (bit-exact) models of the demon's force units; each has a Verilog twin in rtl/."""

from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.demon.mlp import MLPDemon, MLPFloat, MLPSpec, quantize_mlp, quantize_schedule

__all__ = ["LinearDemon", "LinearDemonSpec", "MLPDemon", "MLPFloat", "MLPSpec", "quantize_mlp",
           "quantize_schedule"]
