"""Golden (bit-exact) models of the demon's force units; each has a Verilog twin in rtl/."""

from emulator.demon.linear import LinearDemon, LinearDemonSpec
from emulator.demon.mlp import MLPDemon, MLPFloat, MLPSpec, quantize_mlp, quantize_schedule

__all__ = ["LinearDemon", "LinearDemonSpec", "MLPDemon", "MLPFloat", "MLPSpec", "quantize_mlp",
           "quantize_schedule"]
