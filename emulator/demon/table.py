"""Table-driven activation of the score-network demon (``activation: table``): a lookup table
with linear interpolation, its contents, and its exact worst-case error.

The table is the RTL's ``ACT_TABLE`` memory (rtl/demon_mlp.v, ``ACTIVATION = 2``); its size
(``TABLE_BITS``) and entry format (``TABLE_FRAC``) are build parameters; its contents are written
over AXI4-Lite by the host (the compiler computes them), so one build serves every function and
input gain. All values are signed two's complement, ``Q(m, f)`` as in :mod:`demonloop.fixedpoint`.

Arithmetic (``act = Q(ai, af)`` of width ``w``, ``tb = table_bits``, ``tf = table_frac``)::

    u      = h + 2**(w-1)                      h's offset-binary code, 0 .. 2**w - 1
    i      = u >> sb,  r = u & (2**sb - 1)     segment and position in it, sb = w - tb
    y      = (T[i] << sb) + (T[i+1] - T[i]) * r                      exact
    a      = shift_round(y, sb + tf - af, rounding)                  the demon's one rounding

``T`` holds ``2**tb + 1`` entries in ``Q(ai, tf)``: ``T[i]`` is the function at the start of
segment ``i``, ``x_i = (i 2**sb - 2**(w-1)) 2**-af``, the last one at the right end of the range
(``2**(ai-1)``, one step beyond the largest code). The compiler keeps every entry within
``[act.min, act.max]`` (raw ``[act.min_raw << (tf-af), act.max_raw << (tf-af)]``, checked on
load): an interpolated value is a convex combination of two entries and rounding is monotone
with the range's ends on the ``af`` grid, so the activation never overflows and flags nothing.

The function (``sigmoid``, ``tanh``, ``silu``, ``softplus``) is sampled at ``gain * x_i``: a
hidden unit's pre-activation ``h`` stands for ``gain * h`` (the compiler divides the layer's
weights and biases by ``gain``), which fits a wide pre-activation range into the act format.

Error against ``f(gain h)``: rounding the entries (at most ``2**-tf / 2``), the interpolation
(at most ``(gain d)**2 max|f''| / 8`` for a segment of width ``d = 2**(sb-af)``; 0 where ``f`` is
linear), and the final rounding (half an act LSB under RND/RND_CONV, one under TRN).
:func:`table_error` computes the worst case exactly, over every input code.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from demonloop.fixedpoint import QFormat, Rounding, shift_round

#: The functions a table can hold.
TABLE_FUNCTIONS = ("sigmoid", "tanh", "silu", "softplus")
#: Largest table: 2**MAX_TABLE_BITS segments (2**MAX_TABLE_BITS + 1 entries, ACT_TABLE's capacity).
MAX_TABLE_BITS = 8
#: Widest table entry.
MAX_TABLE_WIDTH = 24


def table_function(name: str, x: np.ndarray) -> np.ndarray:
    """``sigmoid(x) = 1/(1+e^-x)``, ``tanh(x)``, ``silu(x) = x sigmoid(x)``,
    ``softplus(x) = log(1 + e^x)`` in float64."""
    x = np.asarray(x, dtype=np.float64)
    if name == "sigmoid":
        return expit(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "silu":
        return x * expit(x)
    if name == "softplus":
        return np.logaddexp(0.0, x)
    raise ValueError(f"table function must be one of {', '.join(TABLE_FUNCTIONS)}, got {name!r}")


def table_format(act: QFormat, table_frac: int) -> QFormat:
    """Format of the entries, ``Q(act.int_bits, table_frac)``."""
    return QFormat(act.int_bits, table_frac)


def segment_bits(act: QFormat, table_bits: int) -> int:
    """Bits of the position within a segment, ``act.width - table_bits``."""
    return act.width - table_bits


def table_problems(act: QFormat, table_bits: int, table_frac: int) -> list[tuple[str, str]]:
    """(field, reason) for table parameters the datapath cannot implement."""
    out = []
    if not 1 <= table_bits <= min(MAX_TABLE_BITS, act.width - 1):
        out.append(("table_bits", f"must be between 1 and min({MAX_TABLE_BITS}, act width - 1 = "
                                  f"{act.width - 1}), got {table_bits}"))
    if table_frac < act.frac_bits or act.int_bits + table_frac > MAX_TABLE_WIDTH:
        out.append(("table_frac", f"must be >= act.frac_bits ({act.frac_bits}) with act.int_bits + table_frac "
                                  f"<= {MAX_TABLE_WIDTH}, got {table_frac}"))
    return out


def table_inputs(act: QFormat, table_bits: int) -> np.ndarray:
    """The ``2**table_bits + 1`` segment ends ``x_i`` in real units."""
    sb = segment_bits(act, table_bits)
    i = np.arange((1 << table_bits) + 1, dtype=np.int64)
    return ((i << sb) - (1 << (act.width - 1))) * act.lsb


def make_table(function: str, act: QFormat, table_bits: int, table_frac: int, gain: float = 1.0) -> np.ndarray:
    """Raw entries (int64, ``2**table_bits + 1``): ``f(gain x_i)`` rounded to nearest (ties to even)
    in ``Q(act.int_bits, table_frac)`` and clipped to the act range (see the module docstring)."""
    bad = table_problems(act, table_bits, table_frac)
    if bad:
        raise ValueError("; ".join(f"{f}: {r}" for f, r in bad))
    y = table_function(function, gain * table_inputs(act, table_bits))
    raw = np.rint(y * 2.0**table_frac).astype(np.int64)
    d = table_frac - act.frac_bits
    return np.clip(raw, act.min_raw << d, act.max_raw << d)


def check_table(table: np.ndarray, act: QFormat, table_bits: int, table_frac: int) -> np.ndarray:
    """The table as int64, or ValueError if its length or an entry is out of range."""
    t = np.asarray(table, dtype=np.int64).reshape(-1)
    if t.size != (1 << table_bits) + 1:
        raise ValueError(f"the activation table needs {(1 << table_bits) + 1} entries, got {t.size}")
    d = table_frac - act.frac_bits
    if t.size and (t.min() < (act.min_raw << d) or t.max() > (act.max_raw << d)):
        raise ValueError(f"activation table entries must lie in the act range [{act.min_value}, {act.max_value}]")
    return t


def interpolate(h: np.ndarray, table: np.ndarray, act: QFormat, table_bits: int, table_frac: int,
                rounding: Rounding) -> np.ndarray:
    """The activation of raw ``act`` codes ``h`` (int64, or float64 holding integers; same dtype
    back): the RTL's table read, interpolation and rounding, bit for bit."""
    is_float = isinstance(h, np.ndarray) and h.dtype == np.float64
    hi = np.asarray(h).astype(np.int64)
    sb = segment_bits(act, table_bits)
    u = hi + (np.int64(1) << np.int64(act.width - 1))
    i = u >> np.int64(sb)
    r = u & np.int64((1 << sb) - 1)
    t0 = table[i]
    y = (t0 << np.int64(sb)) + (table[i + 1] - t0) * r                 # exact
    a = shift_round(y, sb + table_frac - act.frac_bits, rounding)       # ROUNDING
    return a.astype(np.float64) if is_float else a


def table_error(function: str, table: np.ndarray, act: QFormat, table_bits: int, table_frac: int,
                rounding: Rounding, gain: float = 1.0) -> dict:
    """Worst-case and rms error of the table activation against ``f(gain h)`` over every one of
    the ``2**act.width`` input codes (real units and act LSBs), and where the worst case is."""
    h = np.arange(act.min_raw, act.max_raw + 1, dtype=np.int64)
    a = interpolate(h, table, act, table_bits, table_frac, rounding) * act.lsb
    err = a - table_function(function, gain * h * act.lsb)
    k = int(np.argmax(np.abs(err)))
    return {"function": function, "gain": gain, "codes": int(h.size),
            "max_abs_error": float(abs(err[k])), "max_abs_error_lsb": float(abs(err[k]) / act.lsb),
            "rms_error": float(np.sqrt(np.mean(err**2))), "worst_input": float(h[k] * act.lsb)}
