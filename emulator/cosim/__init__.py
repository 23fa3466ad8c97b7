"""Co-simulation: the RTL demon in the loop, under cocotb 2.x on Icarus Verilog or Verilator.

- :mod:`~demonloop.cosim.simulators`: the simulator registry (:data:`~demonloop.cosim.simulators.SIMULATORS`),
  tool discovery, builds of the testbench top and the runner helper the RTL regressions share;
- :mod:`~demonloop.cosim.testbench`: the cocotb pieces (the ``tb_demon_top`` handle, the TB class,
  drivers, monitors, the in-order checker); imports cocotb, so only inside a simulation;
- :mod:`~demonloop.cosim.run`: ``demonloop run --demon <simulator>`` (cached builds, the job, the report);
- :mod:`~demonloop.cosim.loop_tb`: the cocotb test that drives the :class:`~demonloop.loop.Loop`
  with the RTL computing the force;
- :mod:`~demonloop.cosim.firmware`, :mod:`~demonloop.cosim.firmware_tb`: firmware in the loop;
- :mod:`~demonloop.cosim.fast`: ``--demon verilator-fast`` (a C++-clocked Verilator model, one demon
  per chain, driven from the golden loop through ctypes; it borrows the testbench's bus-write
  sequences, recorded, so it imports :mod:`~demonloop.cosim.testbench` and with it cocotb, which
  needs no simulator to import);
- :mod:`~demonloop.cosim.synth`: ``demonloop synth`` (Yosys and nextpnr from PyPI);
- ``hdl/tb_demon_top.v``: the simulation-only top around ``rtl/demon_top.v``.

Modules here may import everything below them (config, plant, demon, workloads, loop, report);
cocotb and cocotbext-axi only in the modules that run inside a simulation.
"""
