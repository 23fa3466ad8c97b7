"""The closed loop: measure -> force -> apply, on the cycle timeline.

Sample ``m`` is taken at cycle ``k_m = m * P`` (``P = adc.sample_period_cycles``), enters the
demon at ``k_m + L_adc``, leaves it at ``k_m + L_adc + L_demon`` and reaches the array at
``k_m + L_adc + L_demon + L_dac``. The demon accepts a sample only when it is ready (its
initiation interval has elapsed since the last accepted one); otherwise the sample is dropped and
counted, which depends on timing only, so it is deterministic and identical for every chain and
for the RTL. Several samples may be in flight.

:class:`Loop` owns the plant, the timeline and the bookkeeping. :meth:`Loop.run_golden` drives it
with the golden demon, all chains at once. The RTL co-simulation drives the same object one sample
at a time (:meth:`Loop.observe`, :meth:`Loop.offer`, :meth:`Loop.deliver`), so the golden and
the co-simulated trajectories are the same computation whenever the demons agree.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from demonloop.workloads.langevin import HardwareProgram
from demonloop.plant.plant import Plant


@dataclass(frozen=True)
class Timing:
    """Cycle timing of the loop (all in clock cycles)."""

    sample_period: int
    adc_latency: int
    demon_latency: int
    demon_ii: int
    dac_latency: int

    @property
    def loop_latency(self) -> int:
        return self.adc_latency + self.demon_latency + self.dac_latency

    def sample_cycle(self, m: int) -> int:
        return m * self.sample_period

    @classmethod
    def from_config(cls, cfg) -> "Timing":
        return cls(
            sample_period=cfg.adc.sample_period_cycles,
            adc_latency=cfg.adc.latency_cycles,
            demon_latency=cfg.demon_latency_cycles,
            demon_ii=cfg.demon_initiation_interval,
            dac_latency=cfg.dac.latency_cycles,
        )


@dataclass
class LoopCounters:
    samples: int = 0
    accepted: int = 0
    dropped: int = 0
    demon_overflows: int = 0


class CodeHasher:
    """SHA-256 of chain 0's DAC code stream, as little-endian int32, in time order."""

    def __init__(self):
        self._h = hashlib.sha256()
        self.count = 0

    def update(self, codes0: np.ndarray) -> None:
        self._h.update(np.asarray(codes0, dtype="<i4").tobytes())
        self.count += 1

    def hexdigest(self) -> str:
        return self._h.hexdigest()


@dataclass
class Loop:
    """One run of the closed loop over ``chains`` chains of one hardware instance.

    ``seed`` drives the noise (and the ADC's noise and dither); the instance (component
    tolerances) is drawn from ``instance_seed``, by default the same seed. Chains run one after
    another (the co-simulation) pass the config's seed as ``instance_seed``, so they are runs of
    one instance, like the chains of a vectorised run.
    """

    program: HardwareProgram
    chains: int
    seed: int
    instance_seed: int | None = None
    plant: Plant = field(init=False)
    timing: Timing = field(init=False)

    def __post_init__(self):
        cfg = self.program.config
        tol_ss, _ = np.random.SeedSequence(self.seed if self.instance_seed is None else self.instance_seed).spawn(2)
        _, noise_ss = np.random.SeedSequence(self.seed).spawn(2)
        network = self.program.elements.network(np.random.default_rng(tol_ss), cfg.array.tolerance)
        self.network = network
        cache = getattr(self.program, "_plant_cache", None)
        if cache is None:
            cache = {}
            try:
                self.program._plant_cache = cache       # shared by the loops of one program
            except AttributeError:
                pass
        self.plant = Plant(network, self.program.adc, self.program.dac, cfg.clock.f_clk_Hz,
                           self.chains, np.random.default_rng(noise_ss), cfg.array.rail_V,
                           controls=getattr(self.program, "controls", None), cache=cache)
        self.timing = Timing.from_config(cfg)
        self.counters = LoopCounters()
        self.hasher = CodeHasher()
        self.pending: deque[tuple[int, np.ndarray]] = deque()   # (DAC cycle, codes) in order
        self.busy_until = 0
        self.m = 0

    # ---- the three steps, shared by the golden run and the co-simulation -------------------
    def observe(self) -> tuple[int, np.ndarray]:
        """Advance the array to sample ``m``'s cycle, applying every DAC update due by then,
        and convert. Returns (cycle, ADC codes (chains, n))."""
        k = self.timing.sample_cycle(self.m)
        due = []
        while self.pending and self.pending[0][0] <= k:
            due.append(self.pending.popleft())
        self.plant.advance(k, due)
        X = self.plant.sample()
        self.counters.samples += 1
        self.m += 1
        return k, X

    def offer(self, k: int) -> int | None:
        """Offer sample taken at cycle ``k`` to the demon at ``k + L_adc``: the input cycle if the
        demon is ready then, else None (dropped, counted)."""
        t_in = k + self.timing.adc_latency
        if t_in < self.busy_until:
            self.counters.dropped += 1
            return None
        self.busy_until = t_in + self.timing.demon_ii
        self.counters.accepted += 1
        return t_in

    def deliver(self, out_cycle: int, codes: np.ndarray) -> None:
        """The demon output ``codes`` (chains, n) left the demon at ``out_cycle``; the DAC applies
        it ``L_dac`` cycles later."""
        c = out_cycle + self.timing.dac_latency
        if self.pending and c < self.pending[-1][0]:
            raise RuntimeError(f"demon outputs out of order at cycle {out_cycle}")
        self.pending.append((c, codes))
        self.hasher.update(codes[0])

    def flush(self, to_cycle: int) -> None:
        """Apply every update due by ``to_cycle`` and advance there (end of run)."""
        due = []
        while self.pending and self.pending[0][0] <= to_cycle:
            due.append(self.pending.popleft())
        self.plant.advance(to_cycle, due)

    @property
    def end_cycle(self) -> int:
        return self.timing.sample_cycle(self.program.config.total_samples)

    # ---- the golden run --------------------------------------------------------------------
    def run_golden(self, on_sample: Callable[[int, np.ndarray], None],
                   progress: Callable[[int], None] | None = None,
                   monitor: Callable[[int, int], bool] | None = None) -> None:
        """Run every sample with the golden demon; ``on_sample(m, X)`` sees each sample's codes.

        ``monitor(m, k)``, if given, is called once sample ``m`` (taken at cycle ``k``) has been
        offered to the demon; a true return stops the run right there (no flush: the array stays
        at cycle ``k``, later samples are never taken). Without it the run is unchanged."""
        # One BLAS thread: the products here are small, and OpenBLAS's spinning helper threads
        # slow down the Gaussian draws that dominate the loop (measured: tools/bench/golden_loop.py).
        with threadpool_limits(1, user_api="blas"):
            self._run_golden(on_sample, progress, monitor)

    def _run_golden(self, on_sample, progress, monitor=None) -> None:
        demon = self.program.demon()
        demon.reset()
        L = self.timing.demon_latency
        total = self.program.config.total_samples
        every = max(1, total // 100)
        for m in range(total):
            k, X = self.observe()
            on_sample(m, X)
            t_in = self.offer(k)
            if t_in is not None:
                F, n_ovf = demon.force_count(X)
                self.counters.demon_overflows += n_ovf
                self.deliver(t_in + L, F)
            if progress is not None and (m + 1) % every == 0:
                progress(m + 1)
            if monitor is not None and monitor(m, k):
                return
        self.flush(self.end_cycle)
