"""Annealing on an Ising machine of s-units (fluctuation-frontier paper, section 3): max-cut, Ising
and QUBO instances on the polynomial demon (``workload.kind: anneal``, ``demon.kind: polynomial``).

**The problem.** Every instance becomes an Ising energy over spins ``s in {-1, +1}^n``

    E(s) = 1/2 s^T J s + h^T s + const          (J symmetric, zero diagonal)

- max-cut of a weighted graph ``W``: ``J = W``, ``h = 0``; ``cut(s) = (sum_{i<j} W_ij - E(s)) / 2``;
- Ising: ``J``, ``h`` as given;
- QUBO ``min x^T Q x``, ``x in {0,1}^n``, ``x = (1 + s) / 2``: with ``Qs = (Q + Q^T)/2``,
  ``J = Qs`` off the diagonal / 2, ``h_i = sum_j Qs_ij / 2``, ``const = (sum Q + tr Q) / 4``.

Graphs come as an edge list (``[i, j]`` or ``[i, j, w]``) or generated with a seed (random
``d``-regular or Erdos-Renyi ``G(n, p)``, by networkx). The exact optimum (up to
``exact_max_n = 24`` spins) comes from enumeration: the spins split into a low block of ``k``
and a high block; for each high configuration the energies of all ``2^k`` low configurations are
one matrix-vector product.

**The machine** (bifurcation / coherent Ising machine style). Cell ``i`` is an RC cell (``C``,
``R``) holding ``v_i = FS x_i``; the demon drives it with ``I = I_fs f``, so in ADC full scales

    dx = K f dt - lambda x dt + sqrt(2 D) dW,   K = I_fs / (C FS),  lambda = 1 / (R C)

with ``D`` set by the noise amplifiers (``q_amp = 2 D C^2 FS^2 - 2 k_B T / R``; the Johnson
noise is part of it). The demon computes ``f = -(beta_k D / K) grad Phi`` with the dimensionless
potential (``x0 = workload.well``, ``xi = workload.coupling``)

    Phi(x) = sum_i (x_i^2 / x0^2 - 1)^2 + xi (x^T J x / 2 + h^T x x0) / x0^2

(one unit of barrier per spin; at the corners ``x = x0 s`` the coupling part is ``xi E(s)``), and
the self leak ``-lambda x`` is compensated in ``a`` (nominal values). So row ``k`` of the
schedule samples ``exp(-beta_k Phi)``: ``beta`` (inverse temperature in barrier units) rises
over ``schedule.steps`` rows (geometric or linear), each held ``schedule.dwell_samples`` samples.
``D`` is chosen so that a spin relaxes in its well in ``relax_samples`` sample periods at
``beta_end`` (``beta D 8 / x0^2 = 1 / (relax_samples T_s)``). The readout is ``s = sign(x)`` of the
last sample of each chain (an ADC code of 0 reads as +1).

**Scores.** Per chain, the final objective (cut, or energy); ``success_probability`` = fraction of
chains at the exact optimum (binomial standard error); ``time_to_solution_s`` = hardware time of
one anneal ``t_a`` times ``ln(0.01) / ln(1 - p)`` (99% confidence; ``t_a`` when ``p >= 0.99``,
infinite when ``p = 0``); the best objective and its gap to the optimum. The same instance goes to
``dwave-samplers``' ``SimulatedAnnealingSampler`` (digital simulated annealing, on this machine's
CPU, wall time measured), scored the same way with its wall time per read.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np
from pydantic import Field, NonNegativeInt, PositiveFloat

from demonloop.config.base import Scalar, Section
from demonloop.config.errors import ConfigError
from demonloop.demon.polynomial import PolynomialDemon, PolySpec, quantize_poly
from demonloop.plant.analog import K_B
from demonloop.plant.converters import ADC, DAC, build_adc, build_dac
from demonloop.plant.elements import Elements
from demonloop.workloads.base import Workload, WorkloadSection

#: Largest instance solved exactly by enumeration.
EXACT_MAX_N = 24


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------


class RandomRegular(Section):
    degree: int = Field(3, ge=1, le=63)
    seed: NonNegativeInt = 0


class ErdosRenyi(Section):
    p: float = Field(0.5, gt=0.0, le=1.0)
    seed: NonNegativeInt = 0


class GraphSection(Section):
    """Exactly one of ``edges`` (``[i, j]`` or ``[i, j, w]``, 0-based), ``random_regular``,
    ``erdos_renyi``; the graph has ``array.n`` nodes."""

    edges: Optional[list[list[Scalar]]] = None
    random_regular: Optional[RandomRegular] = None
    erdos_renyi: Optional[ErdosRenyi] = None


class ScheduleSection(Section):
    """The annealing schedule: ``beta`` from ``beta_start`` to ``beta_end`` over ``steps`` rows of
    ``dwell_samples`` samples each."""

    beta_start: PositiveFloat = 0.3
    beta_end: PositiveFloat = 6.0
    steps: int = Field(16, ge=1, le=64)
    dwell_samples: int = Field(200, ge=1, le=65535)
    shape: Literal["geometric", "linear"] = "geometric"


class BaselineSection(Section):
    """Digital simulated annealing (dwave-samplers) on the same instance."""

    enabled: bool = True
    num_reads: int = Field(1000, ge=1)
    num_sweeps: int = Field(1000, ge=1)
    seed: NonNegativeInt = 0


class AnnealSection(WorkloadSection):
    kind: Literal["anneal"]
    problem: Literal["maxcut", "ising", "qubo"] = "maxcut"
    graph: Optional[GraphSection] = None
    J: Optional[list[list[Scalar]]] = None
    h: Optional[list[Scalar]] = None
    Q: Optional[list[list[Scalar]]] = None
    well: float = Field(0.5, gt=0.0, lt=1.0)
    coupling: PositiveFloat = 0.5
    relax_samples: float = Field(4.0, ge=1.0)
    schedule: ScheduleSection = ScheduleSection()
    baseline: BaselineSection = BaselineSection()


# ----------------------------------------------------------------------------------------------
# Instances and exact solutions
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """An Ising instance ``E(s) = 1/2 s^T J s + h^T s + const`` and how to report it."""

    problem: str
    J: np.ndarray
    h: np.ndarray
    const: float = 0.0
    W: Optional[np.ndarray] = None      # max-cut: the weight matrix

    @property
    def n(self) -> int:
        return self.J.shape[0]

    def energy(self, s: np.ndarray) -> np.ndarray:
        """E(s) for spins ``s`` (..., n) of +-1."""
        s = np.asarray(s, dtype=np.float64)
        return 0.5 * np.einsum("...i,ij,...j->...", s, self.J, s) + s @ self.h + self.const

    def objective(self, s: np.ndarray) -> np.ndarray:
        """The reported objective: the cut (max-cut, larger is better) or the energy (lower)."""
        E = self.energy(s)
        if self.problem == "maxcut":
            return (np.triu(self.W, 1).sum() - E) / 2.0
        return E

    @property
    def maximise(self) -> bool:
        return self.problem == "maxcut"


def weight_matrix(g: GraphSection, n: int) -> np.ndarray:
    """The symmetric weight matrix of a graph section with ``n`` nodes (ValueError naming the key)."""
    given = [k for k in ("edges", "random_regular", "erdos_renyi") if getattr(g, k) is not None]
    if len(given) != 1:
        raise ValueError("graph: give exactly one of edges, random_regular, erdos_renyi")
    W = np.zeros((n, n))
    if g.edges is not None:
        for e, row in enumerate(g.edges):
            if len(row) not in (2, 3) or any(float(v) != int(v) for v in row[:2]):
                raise ValueError(f"graph.edges.{e}: must be [i, j] or [i, j, weight] with integer nodes")
            i, j = int(row[0]), int(row[1])
            if not (0 <= i < n and 0 <= j < n) or i == j:
                raise ValueError(f"graph.edges.{e}: nodes must be distinct and in 0..{n - 1}")
            w = float(row[2]) if len(row) == 3 else 1.0
            W[i, j] += w
            W[j, i] += w
        return W
    import networkx as nx

    if g.random_regular is not None:
        d, seed = g.random_regular.degree, g.random_regular.seed
        if d >= n or (n * d) % 2:
            raise ValueError(f"graph.random_regular.degree: needs degree < n and n*degree even (n={n}, degree={d})")
        G = nx.random_regular_graph(d, n, seed=seed)
    else:
        G = nx.gnp_random_graph(n, g.erdos_renyi.p, seed=g.erdos_renyi.seed)
    for i, j in G.edges():
        W[i, j] = W[j, i] = 1.0
    return W


def instance(w: AnnealSection, n: int) -> Instance:
    """The Ising instance of a workload section (ValueError naming the key)."""
    if w.problem == "maxcut":
        if w.graph is None:
            raise ValueError("graph: max-cut needs a graph")
        W = weight_matrix(w.graph, n)
        if not W.any():
            raise ValueError("graph: has no edges")
        return Instance("maxcut", W.copy(), np.zeros(n), 0.0, W)
    if w.problem == "ising":
        if w.J is None:
            raise ValueError("J: an Ising instance needs J")
        J = np.asarray(w.J, dtype=np.float64)
        if J.shape != (n, n):
            raise ValueError(f"J: must be {n}x{n} (array.n), got {J.shape}")
        if not np.allclose(J, J.T) or np.any(np.diag(J)):
            raise ValueError("J: must be symmetric with a zero diagonal")
        h = np.zeros(n) if w.h is None else np.asarray(w.h, dtype=np.float64)
        if h.shape != (n,):
            raise ValueError(f"h: must have {n} entries (array.n)")
        return Instance("ising", J, h)
    if w.Q is None:
        raise ValueError("Q: a QUBO instance needs Q")
    Q = np.asarray(w.Q, dtype=np.float64)
    if Q.shape != (n, n):
        raise ValueError(f"Q: must be {n}x{n} (array.n), got {Q.shape}")
    return Instance("qubo", *qubo_to_ising(Q))


def qubo_to_ising(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``x^T Q x`` with ``x = (1 + s)/2`` as ``1/2 s^T J s + h^T s + const``."""
    Qs = 0.5 * (Q + Q.T)
    J = Qs / 2.0
    np.fill_diagonal(J, 0.0)
    h = Qs.sum(axis=1) / 2.0
    const = (Q.sum() + np.trace(Q)) / 4.0
    return J, h, float(const)


def _spins(k: int) -> np.ndarray:
    """All ``2^k`` spin vectors (2^k, k): bit ``i`` of the row index set means ``s_i = +1``."""
    idx = np.arange(1 << k, dtype=np.int64)[:, None]
    return np.where((idx >> np.arange(k)) & 1, 1.0, -1.0)


def ground_state(inst: Instance) -> tuple[float, np.ndarray, int]:
    """Exact minimum energy, one minimiser (n,) and the number of minimisers, by enumeration
    (``n <= EXACT_MAX_N``). Energies are compared with a tolerance of 1e-9 of their scale."""
    n = inst.n
    if n > EXACT_MAX_N:
        raise ValueError(f"exact enumeration is limited to {EXACT_MAX_N} spins, got {n}")
    k = min(n, 12)
    lo, hi = np.arange(k), np.arange(k, n)
    S_lo = _spins(k)
    E_lo = 0.5 * np.einsum("ci,ij,cj->c", S_lo, inst.J[np.ix_(lo, lo)], S_lo) + S_lo @ inst.h[lo]
    J_lh = inst.J[np.ix_(lo, hi)]
    best, arg, count = np.inf, None, 0
    scale = 1e-9 * max(1.0, float(np.abs(inst.J).sum() + np.abs(inst.h).sum()))
    S_hi_all = _spins(n - k) if n > k else np.zeros((1, 0))
    for s_hi in S_hi_all:
        E_hi = 0.5 * s_hi @ inst.J[np.ix_(hi, hi)] @ s_hi + s_hi @ inst.h[hi]
        E = E_lo + S_lo @ (J_lh @ s_hi) + E_hi
        m = float(E.min())
        if m < best - scale:
            best, count = m, int(np.count_nonzero(E <= m + scale))
            arg = np.concatenate([S_lo[int(E.argmin())], s_hi])
        elif m <= best + scale:
            count += int(np.count_nonzero(E <= best + scale))
    return best + inst.const, arg, count


def tts99(t_run: float, p: float) -> float:
    """Time to solution with 99% confidence: ``t_run ln(0.01) / ln(1 - p)``; ``t_run`` when
    ``p >= 0.99``, infinite when ``p = 0``."""
    if p >= 0.99:
        return t_run
    if p <= 0.0:
        return math.inf
    return t_run * math.log(0.01) / math.log(1.0 - p)


# ----------------------------------------------------------------------------------------------
# The program
# ----------------------------------------------------------------------------------------------


@dataclass
class AnnealProgram:
    """Everything the plant and the polynomial demon need, and the instance to score against."""

    config: object
    spec: PolySpec
    instance: Instance
    elements: Elements
    adc: ADC
    dac: DAC
    J_raw: np.ndarray
    b_raw: np.ndarray
    schedule_raw: np.ndarray
    dwell: int
    beta: np.ndarray              # (K,) the rows' inverse temperatures
    D: float                      # x-units^2 / s
    K: float                      # 1/s
    quantization: dict
    notes: list[str] = field(default_factory=list)
    controls: object = None
    gamma: float = float("nan")
    scale: float = 1.0

    def demon(self) -> PolynomialDemon:
        return PolynomialDemon(self.spec, self.J_raw, self.b_raw, self.schedule_raw, self.dwell)


def betas(s: ScheduleSection) -> np.ndarray:
    if s.steps == 1:
        return np.array([s.beta_end])
    if s.shape == "geometric":
        return np.geomspace(s.beta_start, s.beta_end, s.steps)
    return np.linspace(s.beta_start, s.beta_end, s.steps)


def compile_anneal(cfg) -> AnnealProgram:
    """Compile an anneal config (see the module docstring); ConfigError if it cannot."""
    w = cfg.workload
    n = cfg.n
    try:
        inst = instance(w, n)
    except ValueError as e:
        key, _, reason = str(e).partition(": ")
        raise ConfigError(f"workload.{key}", reason) from None
    spec = cfg.demon_spec()
    ar = cfg.array
    C = ar.per_unit("C_F")
    R = ar.per_unit("R_ohm")
    FS, I_fs = cfg.adc.full_scale_V, cfg.dac.full_scale_A
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    C_mean = float(C.mean())
    K = I_fs / (C_mean * FS)
    lam = 1.0 / (R * C)
    x0 = w.well
    beta = betas(w.schedule)
    D = 1.0 / (w.relax_samples * T_s * beta[-1] * 8.0 / x0 ** 2)
    q_total = 2.0 * D * C ** 2 * FS ** 2
    q_amp = q_total - 2.0 * K_B * ar.temperature_K / R
    if np.any(q_amp < 0):
        raise ConfigError("array.temperature_K", "the cells' Johnson noise alone exceeds the noise the schedule needs "
                                                 "(larger C_F or R_ohm, or a hotter schedule)")
    # f = -(beta D / K) grad Phi, Phi per unit (x^2/x0^2 - 1)^2 = x^4/x0^4 - 2 x^2/x0^2 + 1:
    # f_i = -(2 a x + 4 c x^3) with a = -2 A / x0^2, c = A / x0^4, A = beta D / K; coupling
    # g (b - J x) with g = A xi / x0^2, b = -h x0; the leak lambda x is cancelled by a += -lambda/(2K).
    A = beta * D / K
    a = (-2.0 * A / x0 ** 2)[:, None] - (lam / (2.0 * K))[None, :]
    c = np.broadcast_to((A / x0 ** 4)[:, None], (len(beta), n))
    g = A * w.coupling / x0 ** 2
    hrow = np.zeros((len(beta), n))
    J_raw, b_raw, S, qrep = quantize_poly(spec, inst.J, -inst.h * x0, g, a, c, hrow)
    if len(beta) > spec.sched_len:
        raise ConfigError("workload.schedule.steps", f"is {len(beta)}, demon.sched_len is {spec.sched_len}")
    if qrep["clipped"]:
        raise ConfigError("demon.sched.int_bits", f"{qrep['clipped']} coefficients exceed their formats "
                                                  f"(schedule {spec.sched}, couplings {spec.coef}): more int_bits")
    notes = []
    if float(np.abs(S).max()) < 2 ** (spec.sched.frac_bits - 6):
        notes.append("the schedule's coefficients use few of demon.sched's fractional bits")
    elements = Elements(C_self=C, C_couple=None, g_self=1.0 / R, g_couple=None, L=None, q_amp=q_amp,
                        T=ar.temperature_K)
    quant = {**qrep, "K_per_s": K, "D_per_s": D, "beta": beta.tolist()}
    return AnnealProgram(config=cfg, spec=spec, instance=inst, elements=elements, adc=build_adc(cfg),
                         dac=build_dac(cfg), J_raw=J_raw, b_raw=b_raw, schedule_raw=S,
                         dwell=w.schedule.dwell_samples, beta=beta, D=D, K=K, quantization=quant, notes=notes)


# ----------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------


def spins_of(X: np.ndarray) -> np.ndarray:
    """Spins from ADC codes: ``s = +1`` for ``X >= 0``, else -1."""
    return np.where(np.asarray(X) >= 0, 1.0, -1.0)


def score_spins(inst: Instance, s: np.ndarray, optimum: Optional[float], t_run: float) -> dict:
    """Objective statistics of final spins ``s`` (chains, n) against the optimum (None if unknown)."""
    obj = inst.objective(s)
    best = float(obj.max() if inst.maximise else obj.min())
    out = {"chains": int(len(obj)), "best": best, "mean": float(obj.mean())}
    if optimum is None:
        return out
    tol = 1e-9 * max(1.0, abs(optimum))
    hit = (obj >= optimum - tol) if inst.maximise else (obj <= optimum + tol)
    p = float(hit.mean())
    out.update({
        "optimum": float(optimum),
        "success_probability": p,
        "success_probability_se": math.sqrt(max(p * (1 - p), 0.0) / len(obj)),
        "time_to_solution_s": tts99(t_run, p),
        "gap": float(abs(optimum - best) / abs(optimum)) if optimum else float(abs(optimum - best)),
        "mean_ratio": float(obj.mean() / optimum) if optimum else None,
    })
    return out


def simulated_annealing(inst: Instance, b: BaselineSection) -> tuple[np.ndarray, float]:
    """Final spins (num_reads, n) of dwave-samplers' SimulatedAnnealingSampler on the instance and
    the wall time in seconds (on this machine, single process)."""
    import dimod
    from dwave.samplers import SimulatedAnnealingSampler

    n = inst.n
    quad = {(i, j): float(inst.J[i, j]) for i in range(n) for j in range(i + 1, n) if inst.J[i, j]}
    lin = {i: float(inst.h[i]) for i in range(n)}
    bqm = dimod.BinaryQuadraticModel(lin, quad, inst.const, dimod.SPIN)
    t0 = time.perf_counter()
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=b.num_reads, num_sweeps=b.num_sweeps, seed=b.seed)
    wall = time.perf_counter() - t0
    return ss.record.sample[:, [ss.variables.index(i) for i in range(n)]].astype(np.float64), wall


class AnnealEstimator:
    """Keeps each chain's spins at the end of every schedule row; scores the last."""

    def __init__(self, program: AnnealProgram, chains: int):
        self.program = program
        self.chains = chains
        cfg = program.config
        self.dwell = program.dwell
        self.total = cfg.total_samples
        self.T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
        self.final: Optional[np.ndarray] = None
        self.row_means: list = []
        self.curve: list = []
        self.seen = 0
        self._metrics = None
        self._optimum = None
        self.sa_objective: Optional[np.ndarray] = None

    def optimum(self) -> Optional[float]:
        inst = self.program.instance
        if self._optimum is None and inst.n <= EXACT_MAX_N:
            E, s, _ = ground_state(inst)
            self._optimum = float(inst.objective(s))
        return self._optimum

    def on_sample(self, m: int, X: np.ndarray) -> None:
        self.seen = m + 1
        if (m + 1) % self.dwell == 0 or m + 1 == self.total:
            s = spins_of(X)
            obj = self.program.instance.objective(s)
            self.row_means.append([m + 1, float(obj.mean())])
            opt = self.optimum()
            if opt is not None:
                tol = 1e-9 * max(1.0, abs(opt))
                hit = (obj >= opt - tol) if self.program.instance.maximise else (obj <= opt + tol)
                self.curve.append((m + 1, float(hit.mean())))
            if m + 1 == self.total:
                self.final = s

    def estimate(self) -> dict:
        return {} if self.final is None else {"spins": self.final,
                                              "objective": self.program.instance.objective(self.final)}

    def metrics(self) -> dict:
        if self._metrics is not None:
            return self._metrics
        if self.final is None:
            return {"samples_per_chain": self.seen}
        p = self.program
        inst = p.instance
        t_run = self.total * self.T_s
        opt = self.optimum()
        hw = score_spins(inst, self.final, opt, t_run)
        out = {"samples_per_chain": self.seen, "problem": inst.problem, "units": inst.n,
               "objective": "cut" if inst.maximise else "energy", "anneal_time_s": t_run,
               "optimum_known": opt is not None, **{k: v for k, v in hw.items()},
               "row_mean_objective": self.row_means}
        base = p.config.workload.baseline
        if base.enabled:
            s_sa, wall = simulated_annealing(inst, base)
            self.sa_objective = inst.objective(s_sa)
            sa = score_spins(inst, s_sa, opt, wall / base.num_reads)
            out["digital_sa"] = {"library": "dwave-samplers SimulatedAnnealingSampler", "num_reads": base.num_reads,
                                 "num_sweeps": base.num_sweeps, "wall_s": wall,
                                 "wall_per_read_s": wall / base.num_reads, **sa}
        self._metrics = out
        return out


# ----------------------------------------------------------------------------------------------
# The workload
# ----------------------------------------------------------------------------------------------


def _g(v) -> str:
    """A figure for the summary; None (an infinite time to solution in strict JSON) reads inf."""
    return "inf" if v is None else f"{v:.3g}"


class AnnealWorkload(Workload):
    kind = "anneal"
    section = AnnealSection
    demons = ("polynomial",)
    headline = "success_probability"

    def validate(self, cfg) -> None:
        w = cfg.workload
        try:
            instance(w, cfg.n)
        except ValueError as e:
            key, _, reason = str(e).partition(": ")
            raise ConfigError(f"workload.{key}", reason) from None
        if cfg.array.cell != "RC":
            raise ConfigError("array.cell", "annealing runs on RC cells")
        if cfg.array.R_ohm is None:
            raise ConfigError("array.R_ohm", "annealing needs each cell's self resistance (the leak the demon compensates)")
        spec = cfg.demon_spec()
        if w.schedule.steps > spec.sched_len:
            raise ConfigError("workload.schedule.steps", f"is {w.schedule.steps}, demon.sched_len is {spec.sched_len}")
        noise = cfg.array.noise
        if noise.rms_V is not None or noise.effective_temperature_K is not None:
            raise ConfigError("array.noise", "is set by the annealing schedule (workload.relax_samples); remove it")

    def total_samples(self, cfg) -> int:
        s = cfg.workload.schedule
        return s.steps * s.dwell_samples

    def burn_in_samples(self, cfg) -> int:
        return 0

    def mode(self, cfg) -> str:
        return "digital"

    def compile(self, cfg) -> AnnealProgram:
        return compile_anneal(cfg)

    def estimator(self, program, chains: int) -> AnnealEstimator:
        return AnnealEstimator(program, chains)

    def feeds_back(self, program) -> bool:
        return True

    def check(self, cfg) -> dict:
        from demonloop.report import jsonable

        p = self.compile(cfg)
        spec = p.spec
        T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
        inst = p.instance
        return jsonable({
            "config": cfg.name, "valid": True, "workload": "anneal", "mode": "digital", "units": cfg.n,
            "demon": cfg.demon.kind,
            "problem": inst.problem, "edges": int(np.count_nonzero(np.triu(inst.J, 1))),
            "exact_optimum": inst.n <= EXACT_MAX_N,
            "schedule": {"rows": len(p.beta), "dwell_samples": p.dwell, "beta": p.beta.tolist(),
                         "anneal_time_s": cfg.total_samples * T_s},
            "compiler": {"K_per_s": p.K, "D_per_s": p.D, "notes": p.notes},
            "quantization": p.quantization,
            "timing": {"sample_period_cycles": cfg.adc.sample_period_cycles,
                       "demon_latency_cycles": spec.latency_cycles,
                       "demon_initiation_interval": spec.initiation_interval,
                       "loop_latency_cycles": cfg.loop_latency_cycles, "run_cycles": cfg.total_cycles},
            "warnings": [],
        })

    def check_text(self, rep: dict) -> str:
        s, t = rep["schedule"], rep["timing"]
        return "\n".join([
            f"{rep['config']}: {rep['problem']} on {rep['units']} s-units ({rep['edges']} couplings), "
            f"polynomial demon; exact optimum {'by enumeration' if rep['exact_optimum'] else 'not computed (n > 24)'}",
            f"  schedule  {s['rows']} rows x {s['dwell_samples']} samples, beta {s['beta'][0]:.3g} -> {s['beta'][-1]:.3g},"
            f" {s['anneal_time_s'] * 1e3:.3g} ms of hardware time per anneal",
            f"  timing    demon latency {t['demon_latency_cycles']} cycles (II {t['demon_initiation_interval']}),"
            f" loop {t['loop_latency_cycles']} of a {t['sample_period_cycles']}-cycle sample period",
        ])

    def summary(self, rep: dict) -> list[str]:
        m = rep["metrics"]
        if "best" not in m:
            return [f"  samples          {m.get('samples_per_chain', 0):,} per chain"]
        what = m["objective"]
        lines = []
        if m.get("optimum_known"):
            lines.append(f"  {what:<16} best {m['best']:.6g}, optimum {m['optimum']:.6g} (gap {m['gap']:.3g}); "
                         f"success_probability {m['success_probability']:.3f} +- {m['success_probability_se']:.3f}; "
                         f"time_to_solution_s (99%, hardware) {_g(m['time_to_solution_s'])}")
        else:
            lines.append(f"  {what:<16} best {m['best']:.6g}, mean {m['mean']:.6g} (optimum unknown: n > {EXACT_MAX_N})")
        sa = m.get("digital_sa")
        if sa:
            tail = (f"success_probability {sa['success_probability']:.3f}, time_to_solution_s (99%, wall) "
                    f"{_g(sa['time_to_solution_s'])}") if "success_probability" in sa else f"mean {sa['mean']:.6g}"
            lines.append(f"  digital SA       best {sa['best']:.6g}, {tail} ({sa['num_reads']} reads x "
                         f"{sa['num_sweeps']} sweeps, {sa['wall_s']:.3g} s wall)")
        lines.append(f"  samples          {m['samples_per_chain']:,} per chain x {rep['chains']:,} chains "
                     f"({m['anneal_time_s'] * 1e3:.3g} ms of hardware time per anneal)")
        return lines

    def plot(self, rep: dict, est, path, title: str):
        """Left: the mean objective of the chains at the end of every schedule row, with the
        optimum; right: the final objectives of the machine's chains beside digital SA's."""
        import io

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from demonloop.report import atomic_write

        m = rep["metrics"]
        if "best" not in m:
            return None
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        fig.suptitle(f"{rep['config']} — anneal ({m['problem']}, {m['units']} units), {rep['demon']} demon, "
                     f"{rep['chains']:,} chains")
        rows = np.array(m["row_mean_objective"])
        ax1.plot(rows[:, 0], rows[:, 1], "o-", ms=3, label=f"mean {m['objective']} (hardware)")
        if m.get("optimum_known"):
            ax1.axhline(m["optimum"], color="k", lw=0.8, ls="--", label="exact optimum")
        ax1.set_xlabel("samples (schedule rows end at the markers)")
        ax1.set_ylabel(m["objective"])
        ax1.legend(fontsize=8)
        ax1.grid(True, alpha=0.3)
        final = est.estimate().get("objective") if est is not None else None
        if final is not None:
            vals = [np.asarray(final)]
            labels = ["s-unit machine"]
            base = self._sa_objectives(est)
            if base is not None:
                vals.append(base)
                labels.append("digital SA (dwave-samplers)")
            ax2.hist(vals, bins=20, label=labels, weights=[np.full(len(v), 1.0 / len(v)) for v in vals])
            if m.get("optimum_known"):
                ax2.axvline(m["optimum"], color="k", lw=0.8, ls="--")
            ax2.set_xlabel(f"final {m['objective']}")
            ax2.set_ylabel("fraction of runs")
            ax2.legend(fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        atomic_write(path, buf.getvalue())
        return path

    @staticmethod
    def _sa_objectives(est):
        return getattr(est, "sa_objective", None)


WORKLOAD = AnnealWorkload()
