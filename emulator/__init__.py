"""demonloop: a mixed-signal hardware emulator for thermodynamic computing.

An array of stochastic units (RC or RLC s-units driven by thermal noise) evolves by an exact
Langevin / Ornstein-Uhlenbeck process; ADCs measure it, a Maxwell's demon (fixed-point Verilog, or
its bit-identical golden Python model) computes a force, and DACs push it back, cycle by cycle.

The public API (lazily imported, so ``import demonloop`` is cheap)::

    load_config(path_or_dict, overrides=None) -> Config     # dotted overrides, as --set
    check(config) -> dict                                   # demonloop check
    run(config, demon="golden", seed=None, chains=None) -> Result
    Result.report / .estimate / .samples / .metrics / .plot(path)
    ConfigError                                             # field and reason, on bad input

Subpackages, in the order of the data flow: :mod:`demonloop.config` (schema, loading),
:mod:`demonloop.plant` (analog array, converters, timeline), :mod:`demonloop.demon` (golden force
units, register map), :mod:`demonloop.workloads` (compilers, estimators, references),
:mod:`demonloop.loop` (measure -> force -> apply), :mod:`demonloop.cosim` (simulators, the RTL
in the loop, firmware in the loop), :mod:`demonloop.studies` (sweeps and their plots),
:mod:`demonloop.cli`. See docs/architecture.md.
"""

__version__ = "0.2.0"

_API = {"load_config": "demonloop.api", "check": "demonloop.api", "run": "demonloop.api",
        "Result": "demonloop.api", "Config": "demonloop.config.schema", "ConfigError": "demonloop.config.errors"}


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'demonloop' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))


__all__ = ["Config", "ConfigError", "Result", "__version__", "check", "load_config", "run"]
