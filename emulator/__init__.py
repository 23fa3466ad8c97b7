"""demonloop: a mixed-signal hardware emulator for thermodynamic computing."""

__version__ = "0.2.0"
