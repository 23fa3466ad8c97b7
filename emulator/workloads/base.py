"""The workload-kind extension point.

A workload turns a problem into a hardware program (the compiler), reads the answer back from the
samples (the estimator), scores it against an exact reference, explains it before a run
(``demonloop check``), summarises and plots it after one. One module per kind holds all of that:
its ``workload:`` config section (a :class:`WorkloadSection` with ``kind: Literal[<kind>]``) and
a :class:`Workload` object registered in :data:`demonloop.workloads.WORKLOADS`. Nothing outside
a :class:`Workload` branches on ``workload.kind``.

An estimator (what :meth:`Workload.estimator` returns) has ``on_sample(m, X)`` (called with
every sample's ADC codes ``X`` (chains, n), burn-in included), ``metrics() -> dict``,
``estimate() -> dict`` of numpy arrays (the answer, for the Python API), ``curve`` (a list of
``(samples, headline error)``) and ``seen`` (samples scored so far).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from demonloop.config.base import Section

if TYPE_CHECKING:
    from demonloop.config import Config


class WorkloadSection(Section):
    """Base of every ``workload:`` section (each adds ``kind: Literal[<kind>]`` and its keys)."""


class Workload:
    """One workload kind. Subclasses set the class attributes and fill the methods.

    ``kind``: the ``workload.kind`` value; ``section``: its config section; ``demons``: the
    demon kinds it runs on; ``headline``: the name of its headline metric (the one sweeps plot
    and the error-against-samples curve tracks)."""

    kind: ClassVar[str]
    section: ClassVar[type]
    demons: ClassVar[tuple[str, ...]]
    headline: ClassVar[str]

    # ---- config ------------------------------------------------------------------------------
    def validate(self, cfg: "Config") -> None:
        """Raise :class:`~demonloop.config.ConfigError` for what the schema cannot see (shapes
        against ``array.n``, a matrix that is not SPD, files that do not exist, ...)."""

    def total_samples(self, cfg: "Config") -> int:
        """ADC samples the run takes, burn-in included."""
        return cfg.run.burn_in_samples + cfg.run.samples

    def burn_in_samples(self, cfg: "Config") -> int:
        """Samples before the ones that are scored."""
        return cfg.run.burn_in_samples

    def mode(self, cfg: "Config") -> str:
        """How the problem sits on the hardware, for reports (``analog``, ``digital``, ``score``)."""
        return cfg.compiler.mode

    # ---- compile, run, score -----------------------------------------------------------------
    def compile(self, cfg: "Config"):
        """The hardware program of ``cfg``: everything the plant and the demon need (its
        ``demon()`` is the golden model loaded with it). Raises ConfigError if it cannot."""
        raise NotImplementedError

    def estimator(self, program, chains: int):
        """An estimator for ``chains`` chains of ``program`` (see the module docstring)."""
        raise NotImplementedError

    def feeds_back(self, program) -> bool:
        """Whether the demon feeds the state back (a loop that can go unstable with latency)."""
        return False

    def predictions(self, program) -> dict:
        """``demonloop check``'s linear predictions for a sweep row (empty if it has none)."""
        return {}

    # ---- people ------------------------------------------------------------------------------
    def check(self, cfg: "Config") -> dict:
        """The ``demonloop check`` report (JSON-able)."""
        raise NotImplementedError

    def check_text(self, rep: dict) -> str:
        """The human explanation of a :meth:`check` report."""
        raise NotImplementedError

    def summary(self, rep: dict) -> list[str]:
        """The workload's lines of the run summary (the result, then the samples line)."""
        raise NotImplementedError

    def plot(self, rep: dict, est: Any, path: Path, title: str) -> Path | None:
        """Write the run's PNG to ``path``; returns the path, or None if nothing was drawn."""
        return None
