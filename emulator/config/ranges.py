"""Physical ranges of every number in a config, checked after the schema.

The schema says a capacitance is a positive finite float; this says it is one a circuit can have
(``1e-300`` F or ``1e300`` F passes the first and overflows the compiler). :data:`RANGES` names a
closed range per dotted key (a ``PerUnit`` list is checked entry by entry); a float the table
does not name (a target matrix, a mean, a future kind's key) must be 0 or have a magnitude in
:data:`GENERIC_FLOAT`, an integer must be at most :data:`GENERIC_INT` in magnitude. The limits
are wide — decades beyond any hardware the emulator models — so that they refuse only numbers
that would overflow, underflow or never finish, never a design someone could build.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from demonloop.config.errors import ConfigError

#: dotted key (union tags left out) -> (lowest, highest) allowed value.
RANGES: dict[str, tuple[float, float]] = {
    "seed": (0, 2**63 - 1),
    "clock.f_clk_Hz": (1e3, 1e11),
    "array.C_F": (1e-18, 1e-3),
    "array.R_ohm": (1e-3, 1e12),
    "array.L_H": (1e-15, 1e3),
    "array.temperature_K": (0.0, 1e5),
    "array.rail_V": (1e-3, 1e4),
    "array.noise.rms_V": (1e-9, 1e4),
    "array.noise.effective_temperature_K": (1e-3, 1e9),
    "adc.full_scale_V": (1e-6, 1e4),
    "adc.offset_V": (-1e4, 1e4),
    "adc.gain_error": (-0.5, 0.5),
    "adc.noise_V": (0.0, 1e4),
    "adc.sample_period_cycles": (1, 10**7),
    "adc.latency_cycles": (0, 10**7),
    "dac.full_scale_A": (1e-15, 1e2),
    "dac.offset_A": (-1e2, 1e2),
    "dac.gain_error": (-0.5, 0.5),
    "dac.settling_tau_s": (1e-15, 1.0),
    "dac.latency_cycles": (0, 10**7),
    "demon.latency_cycles": (0, 10**7),
    "demon.multipliers": (1, 4096),
    "compiler.time_constant_samples": (1e-3, 1e7),
    "compiler.range_sigmas": (0.1, 1e3),
    "run.samples": (1, 10**9),
    "run.burn_in_samples": (0, 10**9),
    "run.trace_chains": (0, 4096),
    "workload.burn_in_time": (1e-6, 1e3),
    "workload.step": (1e-9, 1e3),
}
#: Keys that may appear under several parents (``workload.A.condition``, ``workload.covariance.condition``).
LEAF_RANGES: dict[str, tuple[float, float]] = {
    "condition": (1.0, 1e12),
    "seed": (0, 2**63 - 1),
}
#: Magnitude of a nonzero float the table does not name.
GENERIC_FLOAT = (1e-15, 1e15)
#: Magnitude of an integer the table does not name.
GENERIC_INT = 10**9


def check_ranges(cfg) -> None:
    """Raise :class:`ConfigError` for the first number of ``cfg`` outside its range."""
    _walk(cfg, "")
    noise, fs = getattr(cfg.adc, "noise_V", 0.0), getattr(cfg.adc, "full_scale_V", None)
    if fs is not None and noise > fs:
        raise ConfigError("adc.noise_V", f"{_fmt(noise)} V is above the ADC full scale ({_fmt(fs)} V): "
                                         "every conversion would be noise or clipped")


def _walk(model: BaseModel, prefix: str) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        _value(value, f"{prefix}{name}", name)


def _value(value, path: str, leaf: str) -> None:
    if isinstance(value, BaseModel):
        _walk(value, path + ".")
    elif isinstance(value, (list, tuple)):
        for v in value:
            _value(v, path, leaf)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        _number(value, path, leaf)


def _number(x, path: str, leaf: str) -> None:
    rng = RANGES.get(path) or LEAF_RANGES.get(leaf)
    if isinstance(x, float) and not math.isfinite(x):
        raise ConfigError(path, f"must be a finite number, got {x}")
    if rng is not None:
        lo, hi = rng
        if not lo <= x <= hi:
            raise ConfigError(path, f"{_fmt(x)} is outside the range {_fmt(lo)} .. {_fmt(hi)}")
        return
    if isinstance(x, int):
        if abs(x) > GENERIC_INT:
            raise ConfigError(path, f"{_fmt(x)} is larger in magnitude than {_fmt(GENERIC_INT)}")
        return
    lo, hi = GENERIC_FLOAT
    if x != 0 and not lo <= abs(x) <= hi:
        raise ConfigError(path, f"{_fmt(x)} is outside the magnitudes {_fmt(lo)} .. {_fmt(hi)} (or 0)")


def _fmt(x) -> str:
    if isinstance(x, int) and abs(x) >= 10**12:
        try:
            return f"{float(x):.3g}"
        except OverflowError:
            return f"an integer of {x.bit_length()} bits"
    return f"{x:g}" if isinstance(x, float) else str(x)
