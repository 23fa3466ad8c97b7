"""Workloads: one module per workload kind, and what they share.

A workload kind (see :mod:`demonloop.workloads.base`) holds its ``workload:`` config section,
its compiler onto the hardware, its estimator, its exact reference and scoring, its ``check``
explanation, its summary lines and its plot. :data:`WORKLOADS` is the registry; a new kind is a
module here plus one line below.

- Gaussian Langevin kinds, sharing :mod:`~demonloop.workloads.langevin` (compiler, moment
  estimator, check): :mod:`~demonloop.workloads.linear_solve`, :mod:`~demonloop.workloads.gaussian`,
  :mod:`~demonloop.workloads.inverse`, :mod:`~demonloop.workloads.logdet`;
- score-network kinds, sharing :mod:`~demonloop.workloads.score` (network, schedule and analog
  controls): :mod:`~demonloop.workloads.diffusion`, :mod:`~demonloop.workloads.posterior`;
- their data and references: :mod:`~demonloop.workloads.metrics`, :mod:`~demonloop.workloads.datasets`,
  :mod:`~demonloop.workloads.targets` (posterior densities), :mod:`~demonloop.workloads.references`,
  :mod:`~demonloop.workloads.score_models` (float64 score networks).

Modules here may import :mod:`demonloop.config.base`, :mod:`demonloop.plant`, :mod:`demonloop.demon`
and :mod:`demonloop.fixedpoint`; scikit-learn, emcee and matplotlib only inside functions.
"""

from demonloop.registry import Registry
from demonloop.workloads import anneal, diffusion, gaussian, inverse, linear_solve, logdet, natural_gradient, posterior
from demonloop.workloads.base import Workload

#: Workload kinds by ``workload.kind``.
WORKLOADS: Registry[Workload] = Registry("workload kind")
for _w in (linear_solve.WORKLOAD, gaussian.WORKLOAD, inverse.WORKLOAD, logdet.WORKLOAD,
           diffusion.WORKLOAD, posterior.WORKLOAD, natural_gradient.WORKLOAD, anneal.WORKLOAD):
    WORKLOADS.register(_w.kind, _w)


def of(cfg) -> Workload:
    """The workload kind of config ``cfg``."""
    return WORKLOADS.get(cfg.workload.kind)


def compile_program(cfg):
    """``cfg`` compiled onto the hardware by its workload (raises ConfigError if it cannot)."""
    return of(cfg).compile(cfg)


def make_estimator(program, chains: int):
    """The estimator of ``program``'s workload for ``chains`` chains."""
    return of(program.config).estimator(program, chains)


__all__ = ["WORKLOADS", "Workload", "compile_program", "make_estimator", "of"]
