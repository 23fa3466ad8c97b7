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

Analog controls (a score-network demon's schedule, docs/score_demon.md §3): a DAC update may
carry, after the ``n`` force codes, two control codes ``(h, g)`` read as Q(1, bits-1). From that
cycle on each cell has an extra conductance ``h g_ctrl`` to ground and its noise amplifier a
density ``g^2 q_max``; the array is then a different linear SDE, still stepped exactly. Over an
interval whose segments have different SDEs the step composes them:
``Phi = Phi_K ... Phi_1``, ``Q = sum_k (Phi_K..Phi_{k+1}) Q_k (..)^T`` and segment k's input
enters through ``(Phi_K..Phi_{k+1}) Gamma_k`` (one draw still). The controls are the same for
every chain (the schedule advances with the accepted samples, which depend on timing only).

Approximation (named): the supply rails clip node voltages only at observation instants.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from demonloop.plant.analog import LinearSDE, Network, noise_factor
from demonloop.plant.converters import ADC, DAC, extremes


@dataclass(frozen=True)
class Controls:
    """The analog control channels: per-unit extra conductance per unit of ``h`` [S] and
    amplifier noise density at ``g = 1`` [A^2 s], and the control codes' width."""

    g_ctrl_S: np.ndarray
    q_max: np.ndarray
    bits: int

    def values(self, key: tuple[int, int]) -> tuple[float, float]:
        """(h, g) of control codes ``key``."""
        scale = 2.0 ** (1 - self.bits)
        return key[0] * scale, key[1] * scale


@dataclass
class PlantCounters:
    adc_clipped: int = 0
    rail_clipped: int = 0
    dac_saturated: int = 0
    dac_updates: int = 0


class Plant:
    """Analog array + converters for ``chains`` independent chains.

    The public views (:attr:`state`, :attr:`voltages`, :meth:`sample`) are (chains, dim).
    Internally the state is stored units-major, ``(dim, chains)``, in one work buffer whose row
    blocks are ``[state; noise; held codes; new codes]``: the Gaussian draw fills its block in
    place and one matrix product advances the whole interval.
    """

    def __init__(self, network: Network, adc: ADC, dac: DAC, f_clk_Hz: float, chains: int,
                 rng: np.random.Generator, rail_V: float | None = None,
                 controls: Controls | None = None, cache: dict | None = None):
        self.network = network
        self.controls = controls
        self.ctrl = (0, 0)                 # control codes in effect now
        # Discretizations depend on the instance only: plants of one instance (the chains of a
        # co-simulation, run one after another) share them through ``cache``.
        shared = {} if cache is None else cache.setdefault(self._instance_key(network, dac, f_clk_Hz, controls),
                                                            {"sdes": {}, "patterns": {}})
        self._sdes: dict[tuple[int, int], LinearSDE] = shared.setdefault("sdes", {})
        self.adc = adc
        self.dac = dac
        self.n = network.n
        self.chains = chains
        self.rng = rng
        self.rail_V = rail_V
        self.T_clk = 1.0 / f_clk_Hz
        self.sde: LinearSDE = self._sde(self.ctrl)
        sde = self.sde
        self.dim = d = sde.dim
        n = self.n
        # rows: [0, d) state, [d, 2d) noise, [2d, 2d+n) held codes, [2d+n, 2d+2n) new codes
        self._buf = np.zeros((2 * d + 2 * n, chains))
        self._next = np.empty((d, chains))
        b = self._buf
        self._views = {"state": b[:d], "noise": b[d:2 * d], "held": b[2 * d:2 * d + n],
                       "new": b[2 * d + n:], "volts": b[:n], "rows1": b[:2 * d + n], "rows2": b}
        self.cycle = 0
        self.counters = PlantCounters()
        self._gain = dac.gain_A_per_code
        self._patterns: dict[tuple[int, ...], tuple] = shared.setdefault("patterns", {})
        # (chains, n) dither of the latest conversion [V], when the ADC dithers (else None)
        self.adc_dither_V = np.zeros((chains, self.n)) if adc.dither else None

    @staticmethod
    def _instance_key(network: Network, dac: DAC, f_clk_Hz: float, controls) -> bytes:
        import hashlib

        h = hashlib.sha256()
        for a in (network.C, network.G, network.q_amp, network.L if network.L is not None else np.zeros(0),
                  np.array([network.T, f_clk_Hz, dac.settling_tau_s or 0.0]), dac.gain_A_per_code, dac.offset_A):
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        if network.q_couple is not None:
            h.update(b"q_couple" + np.ascontiguousarray(network.q_couple, dtype=np.float64).tobytes())
        if controls is not None:
            h.update(controls.g_ctrl_S.tobytes() + controls.q_max.tobytes() + bytes([controls.bits]))
        return h.digest()

    # ---- views -----------------------------------------------------------------------------
    @property
    def state(self) -> np.ndarray:
        """(chains, dim) view of the state: node voltages [V], then inductor currents [A]."""
        return self._buf[: self.dim].T

    @state.setter
    def state(self, value: np.ndarray) -> None:
        self._buf[: self.dim] = np.asarray(value).T

    @property
    def voltages(self) -> np.ndarray:
        return self._buf[: self.n].T

    @property
    def codes(self) -> np.ndarray:
        """(chains, n) DAC codes held now."""
        d = self.dim
        return self._buf[2 * d: 2 * d + self.n].T

    # ---- matrices ------------------------------------------------------------------------
    def _sde(self, key: tuple[int, int]) -> LinearSDE:
        """The array's SDE under control codes ``key`` (the network itself without controls)."""
        hit = self._sdes.get(key)
        if hit is not None:
            return hit
        net = self.network
        if self.controls is not None:
            h, g = self.controls.values(key)
            net = replace(net, G=net.G + np.diag(h * self.controls.g_ctrl_S),
                          q_amp=g * g * self.controls.q_max)
        sde = net.sde()
        if self.dac.settling_tau_s:
            sde = sde.augment_first_order_input(self.dac.settling_tau_s)
        self._sdes[key] = sde
        return sde

    def _pattern(self, segs: tuple):
        """Cached (M, const) for input segments ``segs`` = ((cycles, control key), ...): ``M``
        maps the buffer rows ``[state; noise; codes_0; codes_1; ...]`` to the next state."""
        hit = self._patterns.get(segs)
        if hit is not None:
            return hit
        d, n = self.dim, self.n
        steps = [self._sde(key).step(length * self.T_clk) for length, key in segs]
        # after[k] = Phi_K ... Phi_{k+1}: carries what happened in segment k to the end
        after = [np.eye(d)] * len(segs)
        acc = np.eye(d)
        for k in range(len(segs) - 1, -1, -1):
            after[k] = acc
            acc = acc @ steps[k][0]
        Phi = acc
        Q = sum(after[k] @ steps[k][2] @ after[k].T for k in range(len(segs)))
        M = np.zeros((d, 2 * d + len(segs) * n))
        M[:, :d] = Phi
        M[:, d:2 * d] = noise_factor(0.5 * (Q + Q.T))
        const = np.zeros(d)
        for k in range(len(segs)):
            Mk = after[k] @ steps[k][1]                           # amperes -> state
            M[:, 2 * d + k * n: 2 * d + (k + 1) * n] = Mk * self._gain[None, :]
            const += Mk @ self.dac.offset_A
        hit = (M, const if const.any() else None)
        self._patterns[segs] = hit
        return hit

    # ---- time ----------------------------------------------------------------------------
    def advance(self, to_cycle: int, updates: list[tuple[int, np.ndarray]]) -> None:
        """Advance the array from ``self.cycle`` to ``to_cycle``, applying DAC ``updates``
        ``[(cycle, codes (chains, n) or (chains, n + 2) with controls), ...]`` in order; each
        update's cycle must lie in ``[self.cycle, to_cycle]``."""
        t0 = self.cycle
        if to_cycle < t0:
            raise ValueError(f"cannot go back in time: at cycle {t0}, asked for {to_cycle}")
        n = self.n
        held: list[np.ndarray | None] = [None]   # None: the codes already in the buffer
        ctrls = [self.ctrl]
        cuts = [t0]
        lo, hi = self.dac.code_min, self.dac.code_max
        for c, codes in updates:
            if c < cuts[-1] or c > to_cycle:
                raise ValueError(f"DAC update at cycle {c} outside [{cuts[-1]}, {to_cycle}]")
            ctrl = ctrls[-1]
            if codes.shape[1] > n:
                ctrl = (int(codes[0, n]), int(codes[0, n + 1]))
                codes = codes[:, :n]
            if c == cuts[-1]:
                held[-1] = codes           # a zero-length segment: the later value wins
                ctrls[-1] = ctrl
            else:
                cuts.append(c)
                held.append(codes)
                ctrls.append(ctrl)
            self.counters.dac_updates += 1
            c_lo, c_hi = extremes(codes)
            if c_lo <= lo or c_hi >= hi:
                self.counters.dac_saturated += int(np.count_nonzero((codes <= lo) | (codes >= hi)))
        if cuts[-1] == to_cycle and len(cuts) > 1:
            # the last update lands exactly at to_cycle: it holds from now on, no effect yet
            last = held.pop()
            last_ctrl = ctrls.pop()
            cuts.pop()
        else:
            last = None
            last_ctrl = ctrls[-1]
        cuts.append(to_cycle)
        segs = tuple((int(b - a), k) for a, b, k in zip(cuts[:-1], cuts[1:], ctrls))
        self._step(segs, held)
        if last is not None:
            self._hold(last)
        self.ctrl = last_ctrl
        self.cycle = to_cycle

    def _hold(self, codes: np.ndarray) -> None:
        d, n = self.dim, self.n
        self._buf[2 * d: 2 * d + n] = np.asarray(codes).T

    def _step(self, segs: tuple, held: list) -> None:
        if held[0] is not None:
            self._hold(held[0])
        if sum(length for length, _ in segs) == 0:
            return
        if len(segs) > 2:
            # rare (several DAC updates in one interval): split at the second update
            self._step(segs[:2], [None, held[1]])
            self._step(segs[2:], [held[2]] + held[3:])
            return
        M, const = self._pattern(segs)
        v = self._views
        two = len(segs) == 2
        if two:
            v["new"][...] = np.asarray(held[1]).T
        self.rng.standard_normal(out=v["noise"])
        np.matmul(M, v["rows2"] if two else v["rows1"], out=self._next)
        if const is not None:
            self._next += const[:, None]
        v["state"][...] = self._next
        if two:
            v["held"][...] = v["new"]
        if self.rail_V is not None:
            x = v["volts"]
            r = self.rail_V
            x_lo, x_hi = extremes(x)
            if x_hi > r or x_lo < -r:
                self.counters.rail_clipped += int(np.count_nonzero(np.abs(x) > r))
                np.clip(x, -r, r, out=x)

    # ---- observation -----------------------------------------------------------------------
    def sample(self) -> np.ndarray:
        """ADC codes (chains, n), float64 holding integers, of the node voltages now."""
        codes, clipped = self.adc.convert(self.voltages, self.rng, dither_out=self.adc_dither_V)
        self.counters.adc_clipped += clipped
        return codes
