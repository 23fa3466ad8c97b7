"""Golden (bit-exact) models of the demon's force units; each has a Verilog twin in rtl/."""

from emulator.demon.linear import LinearDemon, LinearDemonSpec

__all__ = ["LinearDemon", "LinearDemonSpec"]
