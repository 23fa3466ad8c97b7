"""Studies: latency and quantization sweeps over dotted config keys (:mod:`~demonloop.studies.sweep`:
grid, seeds, local workers or Dask, resume) and their figures (:mod:`~demonloop.studies.plots`);
in-situ calibration of a drawn instance (:mod:`~demonloop.studies.calibration`, ``demonloop calibrate``).

Modules here import the loop, the workloads and the report; Dask and matplotlib only inside
functions.
"""
