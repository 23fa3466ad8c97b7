"""What an RTL demon's outputs are checked against (``--reference``).

- ``golden`` (the default): the golden model of the config's demon kind, bit for bit and cycle
  for cycle (its predicted latency and drops); the first difference stops the run and is reported
  with its cycle, channel, both codes and the ADC input.
- ``none``: nothing is compared; the RTL's own outputs drive the plant at the RTL's own cycles, and
  the workload is scored as usual (what a different arithmetic costs).
- ``MODULE:FUNCTION``: the user's reference model, bit for bit (codes only: the RTL's own timing
  drives the plant). ``MODULE`` is a dotted module name or a path to a ``.py`` file; ``FUNCTION``
  is called once per chain as ``FUNCTION(program)`` with the compiled hardware program (for the
  linear unit: ``program.A_raw``, ``program.b_raw``, ``program.spec``) and returns the model, a
  callable ``model(X) -> codes``: ``X`` the ADC codes of one accepted sample, int64 ``(1, n)``,
  the codes the golden model's ``force`` gets; ``codes`` the output word's channels, integers
  ``(1, n_out)`` (or ``(n_out,)``). State (a step counter) lives in the model between calls.

A reference is parsed and its module imported before anything is built (one line, exit 2, if it
cannot be).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from demonloop.config.errors import ConfigError

FIELD = "--reference"


@dataclass(frozen=True)
class Reference:
    """``mode``: ``golden``, ``none`` or ``function`` (with ``module`` and ``function``)."""

    mode: str
    module: str | None = None
    function: str | None = None

    @property
    def name(self) -> str:
        return self.mode if self.mode != "function" else f"{self.module}:{self.function}"

    @property
    def checks(self) -> bool:
        """Whether outputs are compared with a model (``bit_exact`` is reported)."""
        return self.mode != "none"

    @property
    def timing(self) -> bool:
        """Whether the model also fixes when outputs come and which samples are dropped."""
        return self.mode == "golden"

    def to_json(self) -> dict:
        return {"mode": self.mode, "module": self.module, "function": self.function}

    @classmethod
    def from_json(cls, d: dict | None) -> "Reference":
        return cls(**d) if d else GOLDEN

    def model(self, program) -> Callable[[np.ndarray], tuple[np.ndarray, int]] | None:
        """A fresh model for one chain: ``X (1, n) -> (codes (1, n_out) float64, overflows)``, or
        None for ``none``."""
        if self.mode == "none":
            return None
        if self.mode == "golden":
            golden = program.demon()
            golden.reset()
            return golden.force_count
        user = _load(self.module, self.function)(program)
        if not callable(user):
            raise TypeError(f"{self.name}(program) returned {type(user).__name__}, not a callable model")

        def force(X):
            codes = np.asarray(user(np.asarray(X, dtype=np.int64)))
            return codes.astype(np.float64).reshape(1, -1), 0

        return force


GOLDEN = Reference("golden")
NONE = Reference("none")


def parse_reference(text: str | None) -> Reference:
    """``golden``, ``none`` or ``MODULE:FUNCTION`` (the module imported now, to fail early)."""
    if text is None or text == "golden":
        return GOLDEN
    if text == "none":
        return NONE
    module, sep, function = text.rpartition(":")
    if not sep or not module or not function.isidentifier():
        raise ConfigError(FIELD, f"must be golden, none or MODULE:FUNCTION, got {text!r}")
    if module.endswith(".py") or "/" in module:
        path = Path(module).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(FIELD, f"no such file: {module}")
        module = str(path)
    ref = Reference("function", module, function)
    try:
        target = _load(ref.module, ref.function)
    except ConfigError:
        raise
    except Exception as exc:           # the user's module: any error on import is theirs to see
        raise ConfigError(FIELD, f"cannot import {module}: {type(exc).__name__}: {exc}") from None
    if not callable(target):
        raise ConfigError(FIELD, f"{text} is not callable")
    return ref


def _load(module: str, function: str):
    """``module.function``; ``module`` a dotted name or an absolute path to a ``.py`` file (its
    folder goes on ``sys.path`` so that it can import its neighbours)."""
    if module.endswith(".py"):
        path = Path(module)
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = f"demonloop_reference_{abs(hash(str(path)))}"
        mod = sys.modules.get(name)
        if mod is None:
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(module)
    if not hasattr(mod, function):
        raise ConfigError(FIELD, f"{module} has no {function}")
    return getattr(mod, function)
