"""Simulation-only HDL shipped with the package, and its cocotb-side handle.

- ``tb_demon_top.v``: the simulation top (clock in HDL, cycle counter, handshake bookkeeping)
  around ``rtl/demon_top.v``; build it with :func:`demonloop.cosim.simulators.build`.
- :mod:`demonloop.cosim.testbench`: :class:`~demonloop.cosim.testbench.DemonTop`, the cocotb
  handle on it (imports cocotb, so import it only inside a simulation).
"""

from pathlib import Path

HDL_DIR = Path(__file__).resolve().parent

__all__ = ["HDL_DIR"]
