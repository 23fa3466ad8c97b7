"""The plant: analog array + ADC + DAC on the integer clock timeline, advanced event to event.

The same object serves the golden run and the RTL co-simulation; only who turns ADC codes into
DAC codes differs. Time is an integer cycle counter; cycle ``k`` is the instant ``k / f_clk``.

Between two observations (ADC samples) the DAC inputs are piecewise constant, changing at the
DAC-update cycles in between. The step from cycle ``t0`` to ``t1`` with input segments
``(c_0 .. c_1), (c_1 .. c_2), ...`` held at ``u_0, u_1, ...`` is exact:

    s(t1) = Phi(t1 - t0) s(t0) + sum_k Phi(t1 - c_{k+1}) Gamma(c_{k+1} - c_k) u_k + w,
    w ~ N(0, Q(t1 - t0))

so one Gaussian draw per observation interval, however many DAC updates fall inside, and the
matrices are cached per distinct segment pattern. A DAC update at cycle ``c`` changes the
current for ``t > c``; a sample at cycle ``c`` sees the state at ``c``.

Approximation (named): the supply rails clip node voltages only at observation instants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emulator.analog import LinearSDE, Network, noise_factor
from emulator.converters import ADC, DAC


@dataclass
class PlantCounters:
    adc_clipped: int = 0
    rail_clipped: int = 0
    dac_saturated: int = 0
    dac_updates: int = 0


class Plant:
    """Analog array + converters for ``chains`` independent chains; state is (chains, dim)."""

    def __init__(self, network: Network, adc: ADC, dac: DAC, f_clk_Hz: float, chains: int,
                 rng: np.random.Generator, rail_V: float | None = None):
        self.network = network
        self.adc = adc
        self.dac = dac
        self.n = network.n
        self.chains = chains
        self.rng = rng
        self.rail_V = rail_V
        self.T_clk = 1.0 / f_clk_Hz
        sde = network.sde()
        if dac.settling_tau_s:
            sde = sde.augment_first_order_input(dac.settling_tau_s)
        self.sde: LinearSDE = sde
        self.dim = sde.dim
        self.state = np.zeros((chains, self.dim))
        self.codes = np.zeros((chains, self.n))   # DAC codes held now (float64 holding integers)
        self.cycle = 0
        self.counters = PlantCounters()
        self._gain = dac.gain_A_per_code
        self._patterns: dict[tuple[int, ...], tuple] = {}

    # ---- matrices ------------------------------------------------------------------------
    def _pattern(self, segs: tuple[int, ...]):
        """Cached (Phi^T, [W_k], const, S^T) for input segments of ``segs`` cycles each."""
        hit = self._patterns.get(segs)
        if hit is not None:
            return hit
        total = sum(segs)
        Phi, _, Q = self.sde.step(total * self.T_clk)
        Ws = []
        const = np.zeros(self.dim)
        end = total
        # segment k spans [start_k, end_k); its input propagates over the remaining end - end_k
        starts = np.cumsum((0,) + segs[:-1])
        for start, length in zip(starts, segs):
            stop = start + length
            Phi_rest, _, _ = self.sde.step((end - stop) * self.T_clk)
            _, Gam, _ = self.sde.step(length * self.T_clk)
            Mk = Phi_rest @ Gam                               # (dim, n): amperes -> state
            Ws.append((Mk * self._gain[None, :]).T.copy())    # codes -> state, transposed
            const += Mk @ self.dac.offset_A
        S = noise_factor(Q)
        hit = (Phi.T.copy(), Ws, const if const.any() else None, S.T.copy() if S.any() else None)
        self._patterns[segs] = hit
        return hit

    # ---- time ----------------------------------------------------------------------------
    def advance(self, to_cycle: int, updates: list[tuple[int, np.ndarray]]) -> None:
        """Advance the array from ``self.cycle`` to ``to_cycle``, applying DAC ``updates``
        ``[(cycle, codes (chains, n)), ...]`` in order; each update's cycle must lie in
        ``[self.cycle, to_cycle]``."""
        t0 = self.cycle
        if to_cycle < t0:
            raise ValueError(f"cannot go back in time: at cycle {t0}, asked for {to_cycle}")
        held = [self.codes]
        cuts = [t0]
        for c, codes in updates:
            if c < cuts[-1] or c > to_cycle:
                raise ValueError(f"DAC update at cycle {c} outside [{cuts[-1]}, {to_cycle}]")
            if c == cuts[-1]:
                held[-1] = codes           # a zero-length segment: the later value wins
            else:
                cuts.append(c)
                held.append(codes)
            self.counters.dac_updates += 1
            lo, hi = self.dac.code_min, self.dac.code_max
            if codes.size and (codes.min() <= lo or codes.max() >= hi):
                self.counters.dac_saturated += int(np.count_nonzero((codes <= lo) | (codes >= hi)))
        cuts.append(to_cycle)
        segs = tuple(int(b - a) for a, b in zip(cuts[:-1], cuts[1:]))
        if segs[-1] == 0 and len(segs) > 1:
            segs = segs[:-1]
            # the last update lands exactly at to_cycle: it holds from here on, no effect yet
            last = held.pop()
            self._step(segs, held)
            self.codes = np.asarray(last, dtype=np.float64)
        else:
            self._step(segs, held)
            self.codes = np.asarray(held[-1], dtype=np.float64)
        self.cycle = to_cycle

    def _step(self, segs: tuple[int, ...], held: list[np.ndarray]) -> None:
        if sum(segs) == 0:
            return
        PhiT, Ws, const, ST = self._pattern(segs)
        s = self.state @ PhiT
        for W, codes in zip(Ws, held):
            if codes.any():
                s += np.asarray(codes, dtype=np.float64) @ W
        if const is not None:
            s += const
        if ST is not None:
            z = self.rng.standard_normal(s.shape)
            s += z @ ST
        if self.rail_V is not None:
            v = s[:, : self.n]
            r = self.rail_V
            if v.max() > r or v.min() < -r:
                self.counters.rail_clipped += int(np.count_nonzero(np.abs(v) > r))
                np.clip(v, -r, r, out=v)
        self.state = s

    # ---- observation -----------------------------------------------------------------------
    def sample(self) -> np.ndarray:
        """ADC codes (chains, n) int64 of the node voltages at the current cycle."""
        codes, clipped = self.adc.convert(self.state[:, : self.n], self.rng)
        self.counters.adc_clipped += clipped
        return codes

    @property
    def voltages(self) -> np.ndarray:
        return self.state[:, : self.n]
