"""The loop: measure -> force -> apply, on the cycle timeline (:mod:`demonloop.plant.timeline`).

:class:`Loop` owns the plant (analog array and converters), the timeline and the bookkeeping
(counters, the hash of the ADC and DAC code streams). :meth:`Loop.run_golden` drives it with the golden
demon, all chains at once. The RTL co-simulation drives the same object one sample at a time
(:meth:`Loop.observe`, :meth:`Loop.offer`, :meth:`Loop.deliver`), so the golden and the
co-simulated trajectories are the same computation whenever the demons agree.

:func:`run_golden` compiles a config, runs it and reports; :func:`run_golden_streamed` runs the
chains one after another, as the co-simulation does.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from demonloop.plant.plant import Plant
from demonloop.plant.timeline import Timeline, Timing


@dataclass
class LoopCounters:
    samples: int = 0
    accepted: int = 0
    dropped: int = 0
    demon_overflows: int = 0


class CodeHasher:
    """SHA-256 over chain 0's codes both ways across the converters: the ADC code stream (every
    sample) and the DAC code stream (every demon update), each as little-endian int32 in time
    order. The two streams are hashed separately and combined at the end, so the digest does not
    depend on how a back end interleaves samples and updates (a pipelined RTL demon delivers
    update m after sample m+1 is taken). The ADC stream makes the hash seed-sensitive where
    the DAC stream is constant (analog mode)."""

    VERSION = b"demonloop codes v2"

    def __init__(self):
        self._adc = hashlib.sha256()
        self._dac = hashlib.sha256()
        self.count = 0

    def update_adc(self, codes0: np.ndarray) -> None:
        self._adc.update(np.asarray(codes0, dtype="<i4").tobytes())

    def update(self, codes0: np.ndarray) -> None:
        """One demon update's DAC codes."""
        self._dac.update(np.asarray(codes0, dtype="<i4").tobytes())
        self.count += 1

    def hexdigest(self) -> str:
        return hashlib.sha256(self.VERSION + self._adc.digest() + self._dac.digest()).hexdigest()


@dataclass
class Loop:
    """One run of the closed loop over ``chains`` chains of one hardware instance.

    ``seed`` drives the noise (and the ADC's noise and dither); the instance (component
    tolerances) is drawn from ``instance_seed``, by default the same seed. Chains run one after
    another (the co-simulation) pass the config's seed as ``instance_seed``, so they are runs of
    one instance, like the chains of a vectorised run.
    """

    program: object
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
        self.timeline = Timeline(self.timing)
        self.counters = LoopCounters()
        self.hasher = CodeHasher()
        self.m = 0
        from demonloop import workloads

        #: (DAC codes saturated, demon overflows) when the first sample after burn-in is taken
        self.burn_in = workloads.of(cfg).burn_in_samples(cfg)
        self.at_burn_in: tuple[int, int] | None = None

    # ---- the three steps, shared by the golden run and the co-simulation -------------------
    def observe(self) -> tuple[int, np.ndarray]:
        """Advance the array to sample ``m``'s cycle, applying every DAC update due by then,
        and convert. Returns (cycle, ADC codes (chains, n))."""
        k = self.timing.sample_cycle(self.m)
        self.plant.advance(k, self.timeline.due(k))
        if self.m == self.burn_in:
            self.at_burn_in = (int(self.plant.counters.dac_saturated), int(self.counters.demon_overflows))
        X = self.plant.sample()
        self.hasher.update_adc(X[0])
        self.counters.samples += 1
        self.m += 1
        return k, X

    def offer(self, k: int) -> int | None:
        """Offer sample taken at cycle ``k`` to the demon at ``k + L_adc``: the input cycle if the
        demon is ready then, else None (dropped, counted)."""
        t_in = self.timeline.accept(k)
        if t_in is None:
            self.counters.dropped += 1
        else:
            self.counters.accepted += 1
        return t_in

    def deliver(self, out_cycle: int, codes: np.ndarray) -> None:
        """The demon output ``codes`` (chains, n) left the demon at ``out_cycle``; the DAC applies
        it ``L_dac`` cycles later."""
        self.timeline.schedule(out_cycle, codes)
        self.hasher.update(codes[0])

    def flush(self, to_cycle: int) -> None:
        """Apply every update due by ``to_cycle`` and advance there (end of run)."""
        self.plant.advance(to_cycle, self.timeline.due(to_cycle))

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


# ----------------------------------------------------------------------------------------------
# Runs
# ----------------------------------------------------------------------------------------------


class SampleTrace:
    """Every ADC code of the first ``chains`` chains, as int32 ``(samples, chains, n)``, up to
    ``max_values`` values in all (later samples are not kept; ``truncated`` says so)."""

    def __init__(self, total: int, chains: int, n: int, max_values: int = 1 << 24):
        keep = min(total, max(1, max_values // max(1, chains * n))) if chains else 0
        self.codes = np.zeros((keep, chains, n), dtype=np.int32)
        self.truncated = keep < total

    def __call__(self, m: int, X: np.ndarray) -> None:
        if m < len(self.codes):
            self.codes[m] = X[: self.codes.shape[1]]


def run_golden(cfg, progress: Callable[[int], None] | None = None, trace: SampleTrace | None = None,
               calibration: dict | None = None):
    """Compile and run ``cfg`` with the golden demon, all chains at once. Returns (report dict,
    estimator); ``trace`` (if given) sees every sample too; ``calibration`` (a document checked by
    :func:`demonloop.studies.calibration.load`) replaces the demon's coefficients."""
    from demonloop import workloads
    from demonloop.report import build_report

    w = workloads.of(cfg)
    program = w.compile(cfg)
    if calibration is not None:
        from demonloop.studies.calibration import apply

        program = apply(program, calibration)
    est = w.estimator(program, cfg.chains)
    loop = Loop(program, cfg.chains, cfg.seed)
    def traced(m, X):
        est.on_sample(m, X)
        trace(m, X)

    t0 = time.perf_counter()
    loop.run_golden(est.on_sample if trace is None else traced, progress)
    wall = time.perf_counter() - t0
    rep = build_report(cfg, program, loop, est, demon="golden", wall_s=wall)
    if calibration is not None:
        rep["calibration"] = {"config": calibration["config"], "cost": calibration["cost"],
                              "experiment": calibration["experiment"]}
    return rep, est


def chain_seed(seed: int, c: int) -> int:
    """Seed of chain ``c`` when chains run one after another (the RTL co-simulation): chain 0 is
    ``seed`` itself, so a one-chain run is the same whichever way it runs."""
    if c == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(c)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def replay_estimator(program, codes_per_chain: list[np.ndarray]):
    """The workload's estimator fed, sample by sample, with chains recorded one after another:
    ``codes_per_chain[c]`` is chain c's (samples, n) ADC codes."""
    from demonloop import workloads

    C = len(codes_per_chain)
    est = workloads.of(program.config).estimator(program, C)
    stacked = np.stack([np.asarray(x, dtype=np.float64) for x in codes_per_chain], axis=1)   # (T, C, n)
    for m in range(stacked.shape[0]):
        est.on_sample(m, stacked[m])
    return est


def run_golden_streamed(cfg, chains: int):
    """The golden model run the way the RTL co-simulation runs: ``chains`` one-chain loops one
    after another (seeds :func:`chain_seed`), scored together. Returns (report, estimator); the
    report's ``codes_sha256`` is chain 0's and ``codes_sha256_all`` covers every chain in order."""
    from demonloop import workloads
    from demonloop.report import build_report

    program = workloads.of(cfg).compile(cfg)
    loops, codes = [], []
    t0 = time.perf_counter()
    for c in range(chains):
        loop = Loop(program, 1, chain_seed(cfg.seed, c), instance_seed=cfg.seed)
        rec = np.zeros((cfg.total_samples, cfg.n), dtype=np.int64)

        def on_sample(m, X, rec=rec):
            rec[m] = X[0]

        loop.run_golden(on_sample)
        loops.append(loop)
        codes.append(rec)
    wall = time.perf_counter() - t0
    est = replay_estimator(program, codes)
    h = hashlib.sha256()
    for loop in loops:
        h.update(loop.hasher.hexdigest().encode())
    rep = build_report(cfg, program, loops[0], est, demon="golden", wall_s=wall,
                       extra={"codes_sha256_all": h.hexdigest(), "streamed_chains": chains})
    rep["chains"] = chains
    rep["n_updates"] = sum(lp.counters.accepted for lp in loops)
    return rep, est
