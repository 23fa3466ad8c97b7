"""Experiment configs: typed models validated at the edge.

A config is one YAML file (see ``hw_configs/``) describing the hardware (array, converters,
clock, demon), how the problem is compiled onto it, the workload and the run length. Units are
SI and every physical key carries its unit in its name (``C_F``, ``full_scale_V``, ``f_clk_Hz``).

:func:`load_config` is the only entry point. Every problem (bad YAML, unknown key, wrong type,
out-of-range value, a matrix that is not SPD, a latency longer than the run, ...) raises
:class:`ConfigError` whose message is one line naming the dotted field and the reason; nothing
downstream validates again.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    Discriminator,
    Tag,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from demonloop.demon.linear import LinearDemonSpec
from demonloop.fixedpoint import Overflow, QFormat, Rounding


class ConfigError(Exception):
    """A config problem: ``field`` is the dotted path, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str, source: str | None = None):
        self.field = field
        self.reason = reason
        self.source = source
        super().__init__(f"{field}: {reason}")

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.field}: {self.reason}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


Scalar = Annotated[float, Field(allow_inf_nan=False)]
PerUnit = Union[Scalar, list[Scalar]]


class Clock(_Model):
    f_clk_Hz: PositiveFloat = 100e6

    @property
    def period_s(self) -> float:
        return 1.0 / self.f_clk_Hz


class Noise(_Model):
    """The per-unit noise amplifiers (one common setting; their gain mismatch is a tolerance).

    ``rms_V``: auto-scale the amplifiers so that the largest stationary RMS is this many volts
    (linear solve only; other workloads derive the level from the target distribution).
    ``effective_temperature_K``: inject the excess noise of a reference conductance at this
    temperature. ``null`` for both: the amplifiers are set by the compiler (``range_sigmas``).
    """

    rms_V: Optional[PositiveFloat] = None
    effective_temperature_K: Optional[PositiveFloat] = None
    off: bool = False

    @model_validator(mode="after")
    def _one(self):
        if self.rms_V is not None and self.effective_temperature_K is not None:
            raise ValueError("give at most one of rms_V and effective_temperature_K")
        return self


class Tolerance(_Model):
    """Relative 1-sigma component tolerances, drawn once per hardware instance from the seed."""

    R: NonNegativeFloat = 0.0
    C: NonNegativeFloat = 0.0
    L: NonNegativeFloat = 0.0
    noise_gain: NonNegativeFloat = 0.0

    @field_validator("R", "C", "L", "noise_gain")
    @classmethod
    def _small(cls, v):
        if v > 0.3:
            raise ValueError(f"{v} is above 0.3: a 1-sigma tolerance that large can draw negative components")
        return v


class Array(_Model):
    cell: Literal["RC", "RLC"] = "RC"
    n: int = Field(ge=1, le=64)
    C_F: PerUnit = 1e-9
    R_ohm: Optional[PerUnit] = None
    L_H: Optional[PerUnit] = None
    temperature_K: NonNegativeFloat = 300.0
    noise: Noise = Noise()
    tolerance: Tolerance = Tolerance()
    rail_V: Optional[PositiveFloat] = None

    @model_validator(mode="after")
    def _check(self):
        for key in ("C_F", "R_ohm", "L_H"):
            v = getattr(self, key)
            if v is None:
                continue
            vals = v if isinstance(v, list) else [v]
            if isinstance(v, list) and len(v) != self.n:
                raise _FieldError(key, f"has {len(v)} entries, array.n is {self.n}")
            for x in vals:
                if not x > 0:
                    raise _FieldError(key, f"must be positive, got {x}")
        if self.cell == "RLC" and self.L_H is None:
            raise _FieldError("L_H", "an RLC cell needs an inductance")
        if self.cell == "RC" and self.L_H is not None:
            raise _FieldError("L_H", "an RC cell has no inductor (set cell: RLC)")
        return self

    def per_unit(self, key: str) -> np.ndarray:
        v = getattr(self, key)
        return np.asarray(v if isinstance(v, list) else [v] * self.n, dtype=np.float64)


class ADCConfig(_Model):
    bits: int = Field(12, ge=2, le=24)
    full_scale_V: PositiveFloat = 1.0
    sample_period_cycles: PositiveInt = 100
    latency_cycles: NonNegativeInt = 4
    offset_V: PerUnit = 0.0
    gain_error: PerUnit = 0.0
    noise_V: NonNegativeFloat = 0.0
    dither: bool = False        # subtractive RPDF dither, one LSB wide (see demonloop.plant.converters)


class DACConfig(_Model):
    bits: int = Field(12, ge=2, le=24)
    full_scale_A: PositiveFloat = 1e-4
    latency_cycles: NonNegativeInt = 2
    offset_A: PerUnit = 0.0
    gain_error: PerUnit = 0.0
    settling_tau_s: Optional[PositiveFloat] = None


class QFormatConfig(_Model):
    int_bits: int = Field(ge=1, le=32)
    frac_bits: int = Field(ge=0, le=31)

    @property
    def fmt(self) -> QFormat:
        return QFormat(self.int_bits, self.frac_bits)


class DemonConfig(_Model):
    """The linear force unit ``f = b - A x`` (rtl/demon_linear.v)."""

    kind: Literal["linear"] = "linear"
    multipliers: Optional[PositiveInt] = None
    coef: QFormatConfig = QFormatConfig(int_bits=4, frac_bits=12)
    bias: QFormatConfig = QFormatConfig(int_bits=2, frac_bits=14)
    rounding: Rounding = Rounding.RND_CONV
    overflow: Overflow = Overflow.SAT
    latency_cycles: Optional[NonNegativeInt] = None


class MLPDemonConfig(_Model):
    """The score-network force unit (rtl/demon_mlp.v + rtl/demon_sched.v, docs/score_demon.md):
    the network's shape comes from ``workload.network``; these are its arithmetic and speed."""

    kind: Literal["mlp"]
    multipliers: PositiveInt = 8
    weight: QFormatConfig = QFormatConfig(int_bits=3, frac_bits=10)
    bias: QFormatConfig = QFormatConfig(int_bits=4, frac_bits=10)
    act: QFormatConfig = QFormatConfig(int_bits=3, frac_bits=10)
    scale: QFormatConfig = QFormatConfig(int_bits=4, frac_bits=12)
    ctrl_bits: int = Field(12, ge=4, le=16)
    rounding: Rounding = Rounding.RND_CONV
    overflow: Overflow = Overflow.SAT
    latency_cycles: None = None


class CompilerConfig(_Model):
    mode: Literal["analog", "digital"] = "analog"
    time_constant_samples: PositiveFloat = 4.0
    mean_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    range_sigmas: PositiveFloat = 4.0


Matrix = list[list[Scalar]]


class RandomSPD(_Model):
    """A reproducible random SPD matrix: eigenvalues log-spaced over ``condition``, random basis;
    ``diagonally_dominant`` instead draws a sparse-ish symmetric matrix and shifts its diagonal."""

    n: int = Field(ge=1, le=64)
    condition: float = Field(10.0, ge=1.0)
    seed: NonNegativeInt = 0
    diagonally_dominant: bool = False


SCORE_KINDS = ("diffusion", "posterior")


class Workload(_Model):
    """The problem. Matrices are lists of rows, or ``{random_spd: {n, condition, seed, ...}}``.

    Score-network workloads (``demon.kind: mlp``): ``network`` is the trained network (the
    ``.npz``/``.json`` stem, relative to the config file). ``diffusion``: ``dataset`` it was
    trained on, ``steps`` reverse steps (one demon update each), ``burn_in_steps`` of the forward
    process first (``burn_in_time`` of diffusion time in all). ``posterior``: ``target`` density
    and ``step``, the Langevin time per sample period (``run`` sets the length as usual).
    """

    kind: Literal["linear_solve", "gaussian", "inverse", "logdet", "diffusion", "posterior"]
    A: Union[Matrix, RandomSPD, None] = None
    b: Optional[list[Scalar]] = None
    mean: Optional[list[Scalar]] = None
    covariance: Union[Matrix, RandomSPD, None] = None
    precision: Union[Matrix, RandomSPD, None] = None
    network: Optional[str] = None
    dataset: Optional[Literal["mixture2d", "spiral2d", "digits"]] = None
    steps: Optional[int] = Field(None, ge=1, le=480)
    burn_in_steps: int = Field(20, ge=1, le=30)
    burn_in_time: PositiveFloat = 1.0
    target: Optional[Literal["ring2d", "wells2d", "iris_logistic"]] = None
    step: Optional[PositiveFloat] = None

    @field_validator("A", "covariance", "precision", mode="before")
    @classmethod
    def _matrix_spec(cls, v):
        if v is None:
            return v
        if isinstance(v, dict):
            if set(v) != {"random_spd"}:
                extra = sorted(set(v) - {"random_spd"})
                raise ValueError(f"a matrix is a list of rows or {{random_spd: {{...}}}}, got key {extra[0]!r}")
            try:
                return RandomSPD.model_validate(v["random_spd"])
            except ValidationError as exc:
                e = _first_error(exc)
                raise _FieldError(f"random_spd.{e.field}", e.reason) from None
        if not isinstance(v, list) or not all(isinstance(r, list) for r in v):
            raise ValueError("must be a list of rows (a matrix) or {random_spd: {...}}")
        for i, row in enumerate(v):
            for j, x in enumerate(row):
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                    raise _FieldError(f"{i}.{j}", f"must be a finite number, got {x!r}")
        if len({len(r) for r in v}) > 1:
            raise ValueError("rows have different lengths")
        return [[float(x) for x in r] for r in v]


class Run(_Model):
    burn_in_samples: NonNegativeInt = 500
    samples: PositiveInt = 2000
    trace_chains: NonNegativeInt = 16


def _demon_kind(v) -> str:
    """The demon section's variant: its ``kind``, linear when absent."""
    kind = v.get("kind", "linear") if isinstance(v, dict) else getattr(v, "kind", "linear")
    return kind if kind in ("linear", "mlp") else "linear"


class Config(_Model):
    _raw: Optional[dict] = PrivateAttr(default=None)
    _base_dir: Optional[Path] = PrivateAttr(default=None)
    _mlp_spec: Any = PrivateAttr(default=None)

    name: str
    description: str = ""
    seed: NonNegativeInt = 0
    chains: int = Field(1024, ge=1, le=1 << 20)
    clock: Clock = Clock()
    array: Array
    adc: ADCConfig = ADCConfig()
    dac: DACConfig = DACConfig()
    demon: Annotated[Union[Annotated[DemonConfig, Tag("linear")], Annotated[MLPDemonConfig, Tag("mlp")]],
                     Discriminator(_demon_kind)] = DemonConfig()
    compiler: CompilerConfig = CompilerConfig()
    workload: Workload
    run: Run = Run()

    # ---- derived, read-only views -------------------------------------------------------
    @property
    def n(self) -> int:
        return self.array.n

    @property
    def is_score(self) -> bool:
        """A score-network demon (``demon.kind: mlp``) running a diffusion or posterior workload."""
        return self.demon.kind == "mlp"

    @property
    def base_dir(self) -> Path:
        """Folder relative paths in the config are read from (the config file's own)."""
        return self._base_dir or Path.cwd()

    def network_path(self) -> Path:
        """The score network's file stem (``.npz`` and ``.json`` beside it)."""
        p = Path(self.workload.network)
        return (p if p.is_absolute() else self.base_dir / p).with_suffix("")

    def network_architecture(self) -> dict:
        import json

        return json.loads(self.network_path().with_suffix(".json").read_text())["architecture"]

    def demon_spec(self):
        """The demon's full parameter set: a :class:`LinearDemonSpec`, or for ``demon.kind: mlp``
        an :class:`demonloop.demon.mlp.MLPSpec` (shape from the network file, schedule table
        sized to the workload's rows)."""
        if self.is_score:
            if self._mlp_spec is None:
                from demonloop.demon.mlp import MLPSpec

                arch = self.network_architecture()
                d = self.demon
                self._mlp_spec = MLPSpec(
                    n=self.n, emb=int(arch["emb"]), hidden=tuple(int(h) for h in arch["hidden"]),
                    x_bits=self.adc.bits, f_bits=self.dac.bits, ctrl_bits=d.ctrl_bits,
                    weight=d.weight.fmt, bias=d.bias.fmt, act=d.act.fmt, scale=d.scale.fmt,
                    activation=arch["activation"], multipliers=d.multipliers,
                    sched_len=self.schedule_rows if self.workload.kind == "diffusion" else 1,
                    rounding=d.rounding, overflow=d.overflow)
            return self._mlp_spec
        return LinearDemonSpec(
            n=self.n,
            multipliers=self.demon.multipliers or self.n,
            x_bits=self.adc.bits,
            f_bits=self.dac.bits,
            coef=self.demon.coef.fmt,
            bias=self.demon.bias.fmt,
            rounding=self.demon.rounding,
            overflow=self.demon.overflow,
        )

    @property
    def demon_latency_cycles(self) -> int:
        spec = self.demon_spec()
        return spec.latency_cycles if self.demon.latency_cycles is None else self.demon.latency_cycles

    @property
    def demon_initiation_interval(self) -> int:
        spec = self.demon_spec()
        if self.demon.latency_cycles is None:
            return spec.initiation_interval
        return min(spec.initiation_interval, max(1, self.demon.latency_cycles))

    @property
    def loop_latency_cycles(self) -> int:
        return self.adc.latency_cycles + self.demon_latency_cycles + self.dac.latency_cycles

    @property
    def total_samples(self) -> int:
        if self.workload.kind == "diffusion":
            return self.schedule_rows + 1
        return self.run.burn_in_samples + self.run.samples

    @property
    def schedule_rows(self) -> int:
        """Diffusion: burn-in rows, reverse steps, and one hold row that freezes the result
        (the last sample reads it one period later)."""
        w = self.workload
        return w.burn_in_steps + (w.steps or 0) + 1

    @property
    def total_cycles(self) -> int:
        return self.total_samples * self.adc.sample_period_cycles

    def problem_matrix(self) -> np.ndarray:
        """The SPD matrix the hardware realises: A (solve, inverse, logdet) or the Gaussian's
        precision (the inverse of ``covariance``, or ``precision`` as given)."""
        w = self.workload
        if w.kind in SCORE_KINDS:
            raise ValueError(f"workload.kind {w.kind} has no problem matrix")
        if w.kind != "gaussian":
            return _matrix(w.A)
        if w.precision is not None:
            return _matrix(w.precision)
        S = np.linalg.inv(_matrix(w.covariance))
        return 0.5 * (S + S.T)

    @property
    def problem_key(self) -> str:
        w = self.workload
        return "A" if w.kind != "gaussian" else ("precision" if w.precision is not None else "covariance")

    def raw(self) -> dict:
        """The document this config was validated from (a deep copy)."""
        return copy.deepcopy(self._raw) if self._raw is not None else self.model_dump(mode="json")

    def with_overrides(self, overrides: dict[str, Any]) -> "Config":
        """A new validated config with dotted-key overrides (``{"adc.bits": 10}``)."""
        data = self.raw()
        for key, value in overrides.items():
            _set_dotted(data, key, value)
        return validate_config(data, source=None, base_dir=self._base_dir)


class _FieldError(ValueError):
    """Raised inside validators to point at a sub-field."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(reason)


def _matrix(spec) -> np.ndarray:
    if isinstance(spec, RandomSPD):
        return random_spd(spec)
    return np.asarray(spec, dtype=np.float64)


def random_spd(spec: RandomSPD) -> np.ndarray:
    rng = np.random.default_rng(spec.seed)
    n = spec.n
    if spec.diagonally_dominant:
        off = rng.uniform(-1.0, 1.0, (n, n)) * (rng.random((n, n)) < 0.6)
        off = np.triu(off, 1)
        off = off + off.T
        row = np.abs(off).sum(axis=1)
        # Diagonal = row sum + a margin spread so the condition number lands near `condition`.
        margin = np.geomspace(1.0, 1.0 / spec.condition, n) * max(row.max(), 1.0)
        return off + np.diag(row + margin)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.geomspace(1.0, 1.0 / spec.condition, n)
    return (Q * w) @ Q.T


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    cur = data
    for p in parts[:-1]:
        if not isinstance(cur, dict) or p not in cur or not isinstance(cur[p], dict):
            if isinstance(cur, dict) and cur.get(p) is None:
                cur[p] = {}
            else:
                raise ConfigError(key, f"'{p}' is not a section of the config")
        cur = cur[p]
    cur[parts[-1]] = value


def _loc(loc: tuple) -> str:
    def keep(p):
        return not (isinstance(p, str) and (p.startswith(("function-", "union[", "list[", "RandomSPD"))
                                            or p in ("float", "int", "str", "linear", "mlp")))
    return ".".join(str(p) for p in loc if keep(p))


def _first_error(exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    # Prefer the most specific location (deepest path), and errors over union branches' noise.
    err = max(errors, key=lambda e: len(e["loc"]))
    if len(errors) > 1:
        unknown = [e for e in errors if e["type"] == "extra_forbidden"]
        if unknown:
            err = unknown[0]
    loc = _loc(err["loc"])
    ctx_err = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_err, _FieldError):
        return ConfigError(f"{loc}.{ctx_err.field}" if loc else ctx_err.field, ctx_err.reason)
    kind = err["type"]
    if loc == "demon.kind":
        return ConfigError(loc, f"must be linear or mlp, got {err.get('input')!r}")
    if kind == "extra_forbidden":
        return ConfigError(loc, "unknown key")
    if kind == "missing":
        return ConfigError(loc, "is required")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    got = err.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        msg = f"{msg} (got {type(got).__name__} {got!r})" if not isinstance(got, (dict, list)) else msg
    return ConfigError(loc, msg[0].lower() + msg[1:] if msg else msg)


def validate_config(data: Any, source: str | None = None, base_dir: Path | None = None) -> Config:
    """Validate a parsed YAML document; raise :class:`ConfigError` on the first problem.
    ``base_dir`` is where relative paths (a score network) are read from."""
    if not isinstance(data, dict):
        raise ConfigError("(top level)", "a config must be a YAML mapping of sections", source)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        e = _first_error(exc)
        e.source = source
        raise e from None
    cfg._base_dir = Path(base_dir) if base_dir is not None else None
    try:
        if cfg.workload.kind in SCORE_KINDS or cfg.is_score:
            _score_checks(cfg)
        else:
            _semantic_checks(cfg)
    except ConfigError as e:
        e.source = source
        raise
    cfg._raw = copy.deepcopy(data)
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    src = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError("CONFIG", f"no such file: {src}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError("CONFIG", f"cannot read {src}: {exc.__class__.__name__}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError("(yaml)", f"{problem} at {where}", src) from None
    return validate_config(data, source=src, base_dir=path.resolve().parent)


# ---- checks that need more than one field ---------------------------------------------------


def _is_spd(M: np.ndarray) -> bool:
    if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.allclose(M, M.T, rtol=1e-12, atol=1e-12):
        return False
    try:
        np.linalg.cholesky(M)
        return True
    except np.linalg.LinAlgError:
        return False


def _semantic_checks(cfg: Config) -> None:
    n = cfg.n
    w = cfg.workload

    # Per-unit lists must match n.
    for sec, keys in (("adc", ("offset_V", "gain_error")), ("dac", ("offset_A", "gain_error"))):
        for key in keys:
            v = getattr(getattr(cfg, sec), key)
            if isinstance(v, list) and len(v) != n:
                raise ConfigError(f"{sec}.{key}", f"has {len(v)} entries, array.n is {n}")

    # The workload's problem.
    need = {"linear_solve": ("A", "b"), "inverse": ("A",), "logdet": ("A",), "gaussian": ()}[w.kind]
    for key in need:
        if getattr(w, key) is None:
            raise ConfigError(f"workload.{key}", f"is required for workload.kind {w.kind}")
    if w.kind == "gaussian":
        if (w.covariance is None) == (w.precision is None):
            raise ConfigError("workload.covariance", "give exactly one of covariance and precision for a gaussian")
    allowed = set(need) | ({"mean", "covariance", "precision"} if w.kind == "gaussian" else set())
    for key in ("A", "b", "mean", "covariance", "precision"):
        if getattr(w, key) is not None and key not in allowed:
            raise ConfigError(f"workload.{key}", f"is not used by workload.kind {w.kind}")
    mkey = cfg.problem_key
    spec = getattr(w, mkey)
    if isinstance(spec, RandomSPD) and spec.n != n:
        raise ConfigError(f"workload.{mkey}.n", f"is {spec.n}, array.n is {n}")
    raw = _matrix(spec)
    if raw.ndim != 2 or raw.shape != (n, n):
        raise ConfigError(f"workload.{mkey}", f"must be a {n}x{n} matrix (array.n), got shape {raw.shape}")
    if not _is_spd(raw):
        raise ConfigError(f"workload.{mkey}", "must be symmetric positive definite")
    M = cfg.problem_matrix()
    for key in ("b", "mean"):
        v = getattr(w, key)
        if v is not None and len(v) != n:
            raise ConfigError(f"workload.{key}", f"has {len(v)} entries, array.n is {n}")
    if w.kind == "linear_solve" and not np.any(np.asarray(w.b)):
        raise ConfigError("workload.b", "is all zeros: the solution is 0, nothing to solve")

    # What the compiler can realise.
    mode, cell = cfg.compiler.mode, cfg.array.cell
    if cell == "RLC":
        if mode != "analog":
            raise ConfigError("compiler.mode", "RLC cells are compiled in analog mode only (the covariance lives in the capacitive coupling)")
        if w.kind == "linear_solve" or (w.kind == "gaussian" and w.mean is not None and np.any(np.asarray(w.mean))):
            raise ConfigError("workload.kind", "an RLC cell's inductor to ground holds the node-voltage mean at 0: use RC cells for a nonzero mean")
        if cfg.array.R_ohm is None:
            raise ConfigError("array.R_ohm", "RLC cells need a self resistance (the damping)")
    if mode == "analog":
        offd = np.abs(M - np.diag(np.diag(M))).sum(axis=1)
        if np.any(np.diag(M) < offd * (1 - 1e-12)):
            what = "the precision (inverse covariance)" if w.kind == "gaussian" else "A"
            raise ConfigError(
                f"workload.{mkey}",
                f"{what} is not diagonally dominant, so analog mode cannot realise it with passive "
                "self elements (use compiler.mode: digital)",
            )
    else:
        if cfg.array.R_ohm is None:
            raise ConfigError("array.R_ohm", "digital mode needs each cell's self resistance (the leak the demon compensates)")

    # The demon datapath.
    for f, reason in cfg.demon_spec().problems():
        field = {"n": "array.n", "multipliers": "demon.multipliers", "x_bits": "adc.bits",
                 "f_bits": "dac.bits"}.get(f, f"demon.{f}")
        raise ConfigError(field, reason)

    # Timing.
    if cfg.loop_latency_cycles >= cfg.total_cycles:
        raise ConfigError(
            "adc.latency_cycles" if cfg.adc.latency_cycles >= cfg.total_cycles else "dac.latency_cycles"
            if cfg.dac.latency_cycles >= cfg.total_cycles else "demon.latency_cycles",
            f"the loop latency ({cfg.loop_latency_cycles} cycles) is not shorter than the run "
            f"({cfg.total_cycles} cycles): no force would ever reach the array",
        )
    if cfg.array.rail_V is not None and cfg.array.rail_V < cfg.adc.full_scale_V * 0.5:
        raise ConfigError("array.rail_V", f"{cfg.array.rail_V} V is below half the ADC full scale: the ADC range is unreachable")
    if cfg.run.trace_chains > cfg.chains:
        object.__setattr__(cfg.run, "trace_chains", cfg.chains)
    if not math.isfinite(cfg.clock.f_clk_Hz):
        raise ConfigError("clock.f_clk_Hz", "must be finite")


def _score_checks(cfg: Config) -> None:
    """What a score-network config needs (diffusion and posterior workloads, ``demon.kind: mlp``)."""
    w = cfg.workload
    if w.kind not in SCORE_KINDS:
        raise ConfigError("demon.kind", f"mlp runs the diffusion and posterior workloads, not {w.kind}")
    if not cfg.is_score:
        raise ConfigError("demon.kind", f"workload.kind {w.kind} needs the score-network demon (kind: mlp)")
    for key in ("A", "b", "mean", "covariance", "precision"):
        if getattr(w, key) is not None:
            raise ConfigError(f"workload.{key}", f"is not used by workload.kind {w.kind}")
    if w.network is None:
        raise ConfigError("workload.network", "is required: the trained network's file (without .npz/.json)")
    stem = cfg.network_path()
    for ext in (".npz", ".json"):
        if not stem.with_suffix(ext).is_file():
            raise ConfigError("workload.network", f"no such file: {stem.with_suffix(ext)}")
    try:
        arch = cfg.network_architecture()
    except (ValueError, KeyError) as exc:
        raise ConfigError("workload.network", f"unreadable network description: {exc}") from None
    if int(arch["n"]) != cfg.n:
        raise ConfigError("array.n", f"is {cfg.n}, the network has {arch['n']} inputs")
    if w.kind == "diffusion":
        if w.dataset is None:
            raise ConfigError("workload.dataset", "is required for a diffusion: the data the network was trained on")
        if w.steps is None:
            raise ConfigError("workload.steps", "is required for a diffusion: the reverse steps (one demon update each)")
        if arch["output"] not in ("eps", "eps_resid"):
            raise ConfigError("workload.network", f"a diffusion needs a noise-prediction network, this one outputs {arch['output']!r}")
        if "run" in (cfg.model_fields_set or set()):
            raise ConfigError("run", "a diffusion's length is workload.burn_in_steps + workload.steps; remove the run section")
        for key in ("target", "step"):
            if getattr(w, key) is not None:
                raise ConfigError(f"workload.{key}", "is not used by a diffusion")
    else:
        if w.target is None:
            raise ConfigError("workload.target", "is required for a posterior (wells2d, ring2d or iris_logistic)")
        if w.step is None:
            raise ConfigError("workload.step", "is required for a posterior: the Langevin time per sample period")
        if arch["output"] != "score":
            raise ConfigError("workload.network", f"a posterior needs a score network, this one outputs {arch['output']!r}")
        for key in ("dataset", "steps"):
            if getattr(w, key) is not None:
                raise ConfigError(f"workload.{key}", "is not used by a posterior")
    if cfg.array.cell != "RC":
        raise ConfigError("array.cell", "score-network workloads run on RC cells")
    if cfg.array.R_ohm is None:
        raise ConfigError("array.R_ohm", "the cells' self resistance is required (the leak the controls offset)")
    spec = cfg.demon_spec()
    for f, reason in spec.problems():
        field = {"n": "array.n", "multipliers": "demon.multipliers", "x_bits": "adc.bits",
                 "f_bits": "dac.bits", "hidden": "workload.network", "emb": "workload.network",
                 "activation": "workload.network"}.get(f, f"demon.{f}")
        raise ConfigError(field, reason)
    if spec.initiation_interval > cfg.adc.sample_period_cycles:
        raise ConfigError("adc.sample_period_cycles",
                          f"is {cfg.adc.sample_period_cycles}, below the network's initiation interval "
                          f"({spec.initiation_interval} cycles): samples would be dropped and the schedule would slip")
    if w.kind == "diffusion" and cfg.schedule_rows > spec.sched_len:
        raise ConfigError("workload.steps", f"the schedule needs {cfg.schedule_rows} rows, the table holds {spec.sched_len}")
    if cfg.loop_latency_cycles >= cfg.total_cycles:
        raise ConfigError("adc.latency_cycles", f"the loop latency ({cfg.loop_latency_cycles} cycles) is not shorter than the run")
