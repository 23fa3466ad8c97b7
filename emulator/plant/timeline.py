"""The cycle timeline: an integer clock-cycle counter is the time base of every run.

Sample ``m`` is taken at cycle ``k_m = m * P`` (``P = adc.sample_period_cycles``), enters the
demon at ``k_m + L_adc``, leaves it at ``k_m + L_adc + L_demon`` and reaches the array at
``k_m + L_adc + L_demon + L_dac`` (DESIGN §4). The demon accepts a sample only when it is ready
(its initiation interval has elapsed since the last accepted one); otherwise the sample is
dropped and counted, which depends on timing only, so it is deterministic and identical for
every chain and for the RTL. Several samples may be in flight: :class:`Timeline` keeps the DAC
updates in order until the plant reaches their cycle.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


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


class Timeline:
    """One run's timeline: whether the demon is ready for a sample, and the DAC updates in flight
    (``(cycle, codes)`` in cycle order) until the plant reaches them."""

    def __init__(self, timing: Timing):
        self.timing = timing
        self.pending: deque[tuple[int, np.ndarray]] = deque()
        self.busy_until = 0

    def accept(self, k: int) -> int | None:
        """The sample taken at cycle ``k`` reaches the demon at ``k + L_adc``: that cycle if the
        demon is ready then (it is then busy for its initiation interval), else None (dropped)."""
        t_in = k + self.timing.adc_latency
        if t_in < self.busy_until:
            return None
        self.busy_until = t_in + self.timing.demon_ii
        return t_in

    def schedule(self, out_cycle: int, codes: np.ndarray) -> None:
        """The demon output ``codes`` left the demon at ``out_cycle``; the DAC applies it
        ``L_dac`` cycles later."""
        c = out_cycle + self.timing.dac_latency
        if self.pending and c < self.pending[-1][0]:
            raise RuntimeError(f"demon outputs out of order at cycle {out_cycle}")
        self.pending.append((c, codes))

    def due(self, k: int) -> list[tuple[int, np.ndarray]]:
        """The DAC updates due by cycle ``k`` (removed from the queue), in order."""
        due = []
        while self.pending and self.pending[0][0] <= k:
            due.append(self.pending.popleft())
        return due
