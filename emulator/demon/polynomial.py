"""Golden model of the polynomial (Ising) force unit (rtl/demon_poly.v): per-unit bistable self
forces, linear couplings and biases, all on a schedule table stepped by the demon.

The force on unit i at schedule row k (x in ADC full scales, x = X / 2**(x_bits-1)):

    f_i = g[k] * (b_i - sum_j J_ij x_j) + h_i[k] - (2 a_i[k] x_i + 4 c_i[k] x_i**3)

that is ``f = -dU/dx`` for ``U(x) = sum_i (a_i x_i^2 + c_i x_i^4 - h_i x_i) + g (x^T J x / 2 - b^T x)``
(J symmetric). ``a_i < 0 < c_i`` makes unit i bistable with wells at ``x = +-sqrt(-a_i / (2 c_i))``
(the s-unit Ising spin of the fluctuation-frontier paper, section 3); ``g[k]`` scales the
couplings over time and ``a, c, h`` are per row, so a schedule can anneal (scale the potential
up) or follow any time-dependent ``J2_i(t) x^2 + J4_i(t) x^4 + h_i(t) x + g(t) J`` (the generative
thermodynamic computer reuses it).

Reuse: the coupling term ``L = b - J x`` is the linear unit (:class:`~demonloop.demon.linear.LinearDemon`,
rtl/demon_linear.v) instantiated with ``f_bits = lin_bits``: its output is the intermediate L.

Formats (signed two's complement):

- ``X``: ADC code, Q(1, x_bits-1); ``F``: DAC code, Q(1, f_bits-1);
- ``J`` (COEF_A): Q(coef); ``b`` (COEF_B): Q(bias) (the linear unit's formats);
- ``L``: the linear unit's output, Q(1, lin_bits-1), ``lin_bits = min(24, coef.frac_bits + x_bits)``,
  narrowed with ``rounding`` and ``overflow`` (so ``|b - J x|`` saturates at 1 full scale: the
  compiler scales ``J, b`` down by a power of two and ``g`` up by the same, exactly);
- schedule entries ``g, a, c, h`` (POLY_G, POLY_A, POLY_C, POLY_H): Q(sched) (the demon section's
  ``sched`` format; RTL parameters SCALE_INT/SCALE_FRAC);
- ``X3``: the cube, Q(1, x_bits-1): ``X3 = narrow(X**3, 2(x_bits-1), x_bits, rounding, SAT)``;
  ``|x**3| <= |x| < 1`` so it cannot overflow;
- accumulator: ``acc_frac = sched.frac_bits + lin_bits - 1`` fractional bits, exact:

      acc = g*L + (h << (lin_bits-1)) - (a*X << (lin_bits-x_bits+1)) - (c*X3 << (lin_bits-x_bits+2))

  ``|acc| < 2**(sched.width + lin_bits + 1)`` (``acc_width`` bits, no input can overflow it);
- ``F = narrow(acc, acc_frac - (f_bits-1), f_bits, rounding, overflow)``.

Overflow count per word (CNT_SAT): the linear unit's narrowings plus the n final narrowings.

Schedule: rows ``k = 0..K-1`` (SCHED_K = K <= sched_len), each held for ``dwell`` accepted words
(POLY_DWELL, 1..65535): the m-th word accepted since CTRL.STEP_RESET uses row
``min(m // dwell, K-1)``; STEP reads the row the next word uses.

Timing: ``latency_cycles = initiation_interval = n*ceil(n/P) + 1 + n + 1`` (the linear unit's,
then one cycle per unit for the polynomial stage and one to hand over); the unit accepts a new
word only when idle (no pipelining).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from pydantic import Field, NonNegativeInt, PositiveInt

from demonloop.config.base import OverflowMode, QFormatConfig, RoundingMode, Section
from demonloop.demon.base import DemonKind
from demonloop.demon.linear import LinearDemon, LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding, narrow, quantize

#: Largest accumulator int64 holds with one bit of headroom for the rounding addend.
MAX_ACC_WIDTH = 62
#: The schedule arrays' capacity (rtl/regmap.yaml: POLY_A/POLY_C hold 1024 entries, POLY_H 960,
#: POLY_G 64): sched_len <= 64 and sched_len * n <= 960.
MAX_SCHED_ROWS = 64
MAX_SCHED_ENTRIES = 960


@dataclass(frozen=True)
class PolySpec:
    """Every parameter of the polynomial unit; RTL parameters: N, MULTIPLIERS, X_BITS, F_BITS,
    COEF_*, BIAS_*, SCALE_* (= sched), SCHED_LEN, ROUNDING, OVERFLOW."""

    n: int
    multipliers: int
    x_bits: int
    f_bits: int
    coef: QFormat
    bias: QFormat
    sched: QFormat
    sched_len: int
    rounding: Rounding = Rounding.RND_CONV
    overflow: Overflow = Overflow.SAT

    @property
    def lin_bits(self) -> int:
        """Width of the linear unit's output L, Q(1, lin_bits-1): exact when it fits 24 bits."""
        return min(24, self.coef.frac_bits + self.x_bits)

    @property
    def linear(self) -> LinearDemonSpec:
        """The reused linear unit (L = b - J x)."""
        return LinearDemonSpec(n=self.n, multipliers=self.multipliers, x_bits=self.x_bits, f_bits=self.lin_bits,
                               coef=self.coef, bias=self.bias, rounding=self.rounding, overflow=self.overflow)

    @property
    def acc_frac(self) -> int:
        return self.sched.frac_bits + self.lin_bits - 1

    @property
    def out_shift(self) -> int:
        return self.acc_frac - (self.f_bits - 1)

    @property
    def acc_width(self) -> int:
        return self.sched.width + self.lin_bits + 2

    @property
    def row_entries(self) -> int:
        """Entries of one schedule row: g, then a, c, h of every unit."""
        return 1 + 3 * self.n

    @property
    def latency_cycles(self) -> int:
        return self.linear.latency_cycles + self.n + 1

    @property
    def initiation_interval(self) -> int:
        return self.latency_cycles

    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) for every parameter the datapath cannot implement; empty when legal."""
        out = list(self.linear.problems())
        out = [(f, r) for f, r in out if f != "f_bits"]
        if not 2 <= self.x_bits <= 20:
            out.append(("x_bits", f"must be between 2 and 20 for the polynomial unit (the cube), got {self.x_bits}"))
        if not 2 <= self.f_bits <= 24:
            out.append(("f_bits", f"must be between 2 and 24, got {self.f_bits}"))
        if self.sched.int_bits < 1 or self.sched.frac_bits < 0 or not 2 <= self.sched.width <= 32:
            out.append(("sched", f"{self.sched} needs int_bits >= 1, frac_bits >= 0, width 2..32"))
        if not 1 <= self.sched_len <= MAX_SCHED_ROWS or self.sched_len * self.n > MAX_SCHED_ENTRIES:
            out.append(("sched_len", f"must be 1..{MAX_SCHED_ROWS} with sched_len * n <= {MAX_SCHED_ENTRIES}, "
                                     f"got {self.sched_len} rows of {self.n} units"))
        if not out and self.out_shift < 0:
            out.append(("f_bits", f"f_bits - 1 must be <= sched.frac_bits + lin_bits - 1 = {self.acc_frac}"))
        return out

    def check(self) -> None:
        bad = self.problems()
        if bad:
            raise ValueError("; ".join(f"{f}: {r}" for f, r in bad))


def cube(X: np.ndarray, spec: PolySpec) -> np.ndarray:
    """``X3 = narrow(X**3, 2(x_bits-1), x_bits, rounding, SAT)``: x**3 in Q(1, x_bits-1), int64."""
    X = np.asarray(X, dtype=np.int64)
    y, _ = narrow(X * X * X, 2 * (spec.x_bits - 1), spec.x_bits, spec.rounding, Overflow.SAT)  # ROUNDING, SAT
    return y


class PolynomialDemon:
    """Bit-exact golden polynomial unit, vectorised over chains (all chains share the step).

    ``J_raw`` (n, n) and ``b_raw`` (n,) are COEF_A / COEF_B (the linear unit's memories);
    ``schedule_raw`` (K, 1 + 3n) holds per row ``[g, a_0..a_{n-1}, c_0..c_{n-1}, h_0..h_{n-1}]``
    raw Q(sched) (POLY_G[k], POLY_A[k*n+i], POLY_C[k*n+i], POLY_H[k*n+i], SCHED_K = K);
    ``dwell`` (POLY_DWELL) accepted words per row.
    """

    def __init__(self, spec: PolySpec, J_raw: np.ndarray, b_raw: np.ndarray, schedule_raw: np.ndarray,
                 dwell: int = 1):
        spec.check()
        self.spec = spec
        self.linear = LinearDemon(spec.linear, J_raw, b_raw)
        S = np.asarray(schedule_raw, dtype=np.int64)
        if S.ndim != 2 or S.shape[1] != spec.row_entries or not 1 <= S.shape[0] <= spec.sched_len:
            raise ValueError(f"schedule must be (K, {spec.row_entries}) with 1 <= K <= sched_len={spec.sched_len}, "
                             f"got {S.shape}")
        if S.min(initial=0) < spec.sched.min_raw or S.max(initial=0) > spec.sched.max_raw:
            raise ValueError(f"schedule raw values do not fit {spec.sched}")
        if not 1 <= int(dwell) <= 0xFFFF:
            raise ValueError(f"dwell must be 1..65535, got {dwell}")
        self.schedule = S
        self.K = S.shape[0]
        self.dwell = int(dwell)
        n = spec.n
        self.g = S[:, 0]
        self.a = S[:, 1:1 + n]
        self.c = S[:, 1 + n:1 + 2 * n]
        self.h = S[:, 1 + 2 * n:]
        self.step = 0
        self._count = 0

    @property
    def n_out(self) -> int:
        return self.spec.n

    def reset(self) -> None:
        """Step counter and dwell counter to 0 (CTRL.STEP_RESET)."""
        self.step = 0
        self._count = 0

    def _advance(self) -> int:
        k = self.step
        self._count += 1
        if self._count >= self.dwell:
            self._count = 0
            self.step = min(k + 1, self.K - 1)
        return k

    def force_at(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """DAC codes (chains, n) int64 and the overflow mask (chains, 2n: the linear unit's n
        narrowings, then the n final ones) for ADC codes ``X`` (chains, n) at row ``k``."""
        s = self.spec
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        L, m_lin = self.linear.force(X)                                     # ROUNDING, OVERFLOW (lin_bits)
        X3 = cube(X, s)
        sh = s.lin_bits - s.x_bits
        acc = (self.g[k] * L + (self.h[k] << np.int64(s.lin_bits - 1))
               - ((self.a[k] * X) << np.int64(sh + 1)) - ((self.c[k] * X3) << np.int64(sh + 2)))   # exact
        F, m = narrow(acc, s.out_shift, s.f_bits, s.rounding, s.overflow)   # ROUNDING, OVERFLOW
        return F, np.concatenate([m_lin, m], axis=1)

    def force(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`force_at` at the current row, then advance the step."""
        return self.force_at(X, self._advance())

    def force_count(self, X: np.ndarray) -> tuple[np.ndarray, int]:
        """DAC codes as float64 integers and the number of overflowed narrowings; the engine's path."""
        F, m = self.force(np.asarray(X).astype(np.int64))
        return F.astype(np.float64), int(np.count_nonzero(m))

    def potential(self, x: np.ndarray, k: int) -> np.ndarray:
        """The real potential U(x) (chains,) the raw coefficients of row k program (J symmetrised),
        x in ADC full scales; the force the unit computes is -dU/dx up to quantization."""
        s = self.spec
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        g = self.g[k] * s.sched.lsb
        a, c, h = (v[k] * s.sched.lsb for v in (self.a, self.c, self.h))
        J = self.linear.A_raw * s.coef.lsb
        b = self.linear.b_raw * s.bias.lsb
        Js = 0.5 * (J + J.T)
        quad = 0.5 * np.einsum("ci,ij,cj->c", x, Js, x)
        return (x * x * a + x ** 4 * c - h * x).sum(axis=1) + g * (quad - x @ b)


# ----------------------------------------------------------------------------------------------
# The compiler's helper: real coefficients to the raw table
# ----------------------------------------------------------------------------------------------


def quantize_poly(spec: PolySpec, J: np.ndarray, b: np.ndarray, g: np.ndarray, a: np.ndarray, c: np.ndarray,
                  h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Real ``J`` (n, n), ``b`` (n,), and per-row ``g`` (K,), ``a, c, h`` (K, n) (all in ADC/DAC
    full scales: ``f = g (b - J x) + h - 2 a x - 4 c x^3``) to the raw ``J_raw, b_raw, schedule_raw``
    (RND_CONV, SAT). ``J`` and ``b`` are scaled down by ``2**s`` and ``g`` up by ``2**s`` (exact)
    with the least ``s >= 0`` that keeps ``sum_j |J_ij| + |b_i| < 1`` (L cannot saturate).
    Returns the raw arrays and a report (shift, clipped entries, max errors)."""
    n = spec.n
    J = np.asarray(J, dtype=np.float64).reshape(n, n)
    b = np.asarray(b, dtype=np.float64).reshape(n)
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    K = g.size
    a, c, h = (np.broadcast_to(np.asarray(v, dtype=np.float64), (K, n)) for v in (a, c, h))
    bound = float((np.abs(J).sum(axis=1) + np.abs(b)).max()) if n else 0.0
    s = 0
    while bound / 2.0 ** s >= 1.0:
        s += 1
    J_raw, cj = quantize(J / 2.0 ** s, spec.coef)
    b_raw, cb = quantize(b / 2.0 ** s, spec.bias)
    rows = np.concatenate([(g * 2.0 ** s)[:, None], a, c, h], axis=1)
    S, cs = quantize(rows, spec.sched)
    report = {
        "coupling_shift": s,
        "clipped": int(cj.sum() + cb.sum() + cs.sum()),
        "J_max_error": float(np.abs(J_raw * spec.coef.lsb * 2.0 ** s - J).max()) if n else 0.0,
        "schedule_max_error": float(np.abs(S[:, 1:] * spec.sched.lsb - rows[:, 1:]).max()),
    }
    return J_raw, b_raw, S, report


# ----------------------------------------------------------------------------------------------
# The demon kind
# ----------------------------------------------------------------------------------------------


class PolySection(Section):
    """``demon: {kind: polynomial}``: the polynomial (Ising) force unit (rtl/demon_poly.v around
    rtl/demon_linear.v). The schedule's rows come from the workload. ``latency_cycles`` (golden
    runs only) overrides the unit's latency to study an idealised or a slower demon; the RTL has
    its own."""

    kind: Literal["polynomial"]
    multipliers: Optional[PositiveInt] = None
    coef: QFormatConfig = QFormatConfig(int_bits=2, frac_bits=12)
    bias: QFormatConfig = QFormatConfig(int_bits=2, frac_bits=12)
    sched: QFormatConfig = QFormatConfig(int_bits=6, frac_bits=12)
    sched_len: int = Field(16, ge=1, le=MAX_SCHED_ROWS)
    rounding: RoundingMode = Rounding.RND_CONV
    overflow: OverflowMode = Overflow.SAT
    latency_cycles: Optional[NonNegativeInt] = None


@dataclass(frozen=True)
class PolyProgram:
    """The polynomial unit's part of a hardware program (what :meth:`PolyKind.load` writes)."""

    spec: PolySpec
    J_raw: np.ndarray
    b_raw: np.ndarray
    schedule_raw: np.ndarray
    dwell: int = 1

    def demon(self) -> PolynomialDemon:
        return PolynomialDemon(self.spec, self.J_raw, self.b_raw, self.schedule_raw, self.dwell)


class PolyKind(DemonKind):
    kind = "polynomial"
    section = PolySection
    spec_type = PolySpec
    force_unit = 2
    fields = {**DemonKind.fields, "sched_len": "demon.sched_len", "sched": "demon.sched"}

    def spec(self, cfg) -> PolySpec:
        d = cfg.demon
        return PolySpec(n=cfg.n, multipliers=d.multipliers or cfg.n, x_bits=cfg.adc.bits, f_bits=cfg.dac.bits,
                        coef=d.coef.fmt, bias=d.bias.fmt, sched=d.sched.fmt, sched_len=d.sched_len,
                        rounding=d.rounding, overflow=d.overflow)

    def validate(self, cfg) -> None:
        from demonloop.config.errors import ConfigError

        super().validate(cfg)
        spec = cfg.demon_spec()
        if spec.initiation_interval > cfg.adc.sample_period_cycles:
            raise ConfigError("adc.sample_period_cycles",
                              f"is {cfg.adc.sample_period_cycles}, below the polynomial unit's initiation interval "
                              f"({spec.initiation_interval} cycles): samples would be dropped and the schedule would slip")

    def hdl_parameters(self, spec: PolySpec) -> dict[str, int]:
        return {
            "FORCE_UNIT": self.force_unit, "N": spec.n, "MULTIPLIERS": spec.multipliers,
            "X_BITS": spec.x_bits, "F_BITS": spec.f_bits,
            "COEF_INT": spec.coef.int_bits, "COEF_FRAC": spec.coef.frac_bits,
            "BIAS_INT": spec.bias.int_bits, "BIAS_FRAC": spec.bias.frac_bits,
            "SCALE_INT": spec.sched.int_bits, "SCALE_FRAC": spec.sched.frac_bits,
            "SCHED_LEN": spec.sched_len, "ROUNDING": spec.rounding.code, "OVERFLOW": spec.overflow.code,
        }

    def spec_from_parameters(self, p) -> PolySpec:
        return PolySpec(
            n=p["N"], multipliers=p["MULTIPLIERS"], x_bits=p["X_BITS"], f_bits=p["F_BITS"],
            coef=QFormat(p["COEF_INT"], p["COEF_FRAC"]), bias=QFormat(p["BIAS_INT"], p["BIAS_FRAC"]),
            sched=QFormat(p["SCALE_INT"], p["SCALE_FRAC"]), sched_len=p["SCHED_LEN"],
            rounding=Rounding.from_code(p["ROUNDING"]), overflow=Overflow.from_code(p["OVERFLOW"]))

    def random_program(self, spec: PolySpec, rng, family: str = "inrange"):
        """Random couplings (the linear unit's families) and a random full-range schedule of
        ``sched_len`` rows with dwell 1..3."""
        from demonloop.cosim.testbench import draw_coefficients

        lin = spec.linear
        fam = "full" if family == "ties" else family
        J, b = draw_coefficients(rng, lin, fam)
        K = int(rng.integers(1, spec.sched_len + 1))
        lo, hi = spec.sched.min_raw, spec.sched.max_raw
        if family == "inrange":
            lo, hi = lo // 4, hi // 4
        S = rng.integers(lo, hi + 1, size=(K, spec.row_entries), dtype=np.int64)
        return PolyProgram(spec, np.asarray(J, dtype=np.int64), np.asarray(b, dtype=np.int64), S,
                           int(rng.integers(1, 4)))

    async def load(self, top, program: PolyProgram) -> None:
        await top.load_coefficients(program.J_raw, program.b_raw)
        await top.load_poly_schedule(program.schedule_raw, program.dwell)

    async def start_chain(self, top) -> None:
        await top.step_reset(enable=True)


KIND = PolyKind()
