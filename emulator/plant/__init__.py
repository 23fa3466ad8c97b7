"""The plant: the analog s-unit array, its converters and the cycle timeline.

- :mod:`~demonloop.plant.analog`: RC and RLC networks as exact linear SDEs (Van Loan steps);
- :mod:`~demonloop.plant.elements`: nominal components and the instance drawn with tolerances;
- :mod:`~demonloop.plant.converters`: ADC and DAC models (the converter-model registry);
- :mod:`~demonloop.plant.timeline`: cycle timing, demon acceptance, DAC updates in flight;
- :mod:`~demonloop.plant.plant`: :class:`Plant`, the array and converters stepped event to event.

Modules here import numpy, scipy and :mod:`demonloop.config.base` only: the plant knows nothing
of demons or workloads.
"""

from demonloop.plant.plant import Controls, Plant

__all__ = ["Controls", "Plant"]
