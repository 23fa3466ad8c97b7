"""Configs: the schema (typed sections), loading and validation, and config errors.

- :mod:`~demonloop.config.errors`: :class:`ConfigError` (one line: field and reason);
- :mod:`~demonloop.config.base`: building blocks every section uses (:class:`~demonloop.config.base.Section`,
  per-unit values, fixed-point formats);
- :mod:`~demonloop.config.schema`: :class:`Config` and the hardware sections; the demon, workload
  and converter sections come from their registries;
- :mod:`~demonloop.config.loading`: :func:`load_config`, :func:`validate_config`, dotted overrides.

``errors`` and ``base`` import nothing from the package but :mod:`demonloop.fixedpoint`, so every
kind's module may import them; ``schema`` imports the registries (:mod:`demonloop.demon`,
:mod:`demonloop.workloads`, :mod:`demonloop.plant.converters`), so it is loaded lazily here.
"""

from demonloop.config.errors import ConfigError

_LAZY = {"Config": "schema", "load_config": "loading", "validate_config": "loading",
         "set_dotted": "loading", "parse_sets": "loading"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod = importlib.import_module(f"demonloop.config.{_LAZY[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module 'demonloop.config' has no attribute {name!r}")


__all__ = ["Config", "ConfigError", "load_config", "parse_sets", "set_dotted", "validate_config"]
