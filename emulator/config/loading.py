"""Loading and validating configs: the only way a config comes to exist.

:func:`load_config` reads a YAML file, :func:`validate_config` a parsed document. Every problem
(bad YAML, unknown key, wrong type, out-of-range value, a matrix that is not SPD, a latency
longer than the run, ...) raises :class:`~demonloop.config.errors.ConfigError` whose message is
one line naming the dotted field and the reason; nothing downstream validates again. The checks
that need more than one field are the workload's and the demon's (their kinds' ``validate``),
then the few generic ones below.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from demonloop.config.errors import ConfigError, first_error, short
from demonloop.config.ranges import check_ranges
from demonloop.config.yaml_io import parse_yaml, read_config_text


def set_dotted(data: dict, key: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"`` (a missing or null section becomes
    ``{}``); ConfigError if a part is not a section."""
    parts = key.split(".")
    if len(parts) > 8 or not all(p.strip() for p in parts):
        raise ConfigError(short(key, 80, quote=False), "is not a dotted config key")
    cur = data
    for p in parts[:-1]:
        if not isinstance(cur, dict) or p not in cur or not isinstance(cur[p], dict):
            if isinstance(cur, dict) and cur.get(p) is None:
                cur[p] = {}
            else:
                raise ConfigError(short(key, 80, quote=False), f"{short(p)} is not a section of the config")
        cur = cur[p]
    cur[parts[-1]] = value


def parse_sets(items) -> dict:
    """``("adc.bits=10", "run.samples=500")`` to ``{"adc.bits": 10, ...}``; values are YAML."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", f"expected KEY=VALUE, got {short(item)}")
        where = f"--set {short(key.strip(), 80, quote=False)}"
        if key.strip() in out:
            raise ConfigError(where, "given more than once")
        out[key.strip()] = parse_yaml(value, where)
    return out


def _schema_error(exc: ValidationError):
    from demonloop.config.schema import CHOICES, TAGS

    err = first_error(exc, TAGS, CHOICES)
    # a key the workload kind does not have: say which kind
    for e in exc.errors():
        loc = e["loc"]
        if (e["type"] == "extra_forbidden" and len(loc) >= 3 and loc[0] == "workload"
                and err.field == ".".join(map(str, (loc[0],) + loc[2:]))):
            err.reason = f"unknown key for workload.kind {loc[1]}"
    return err


def _empty_matrices(data: dict, source) -> None:
    """``workload.A: {}`` (and the other matrix keys): refused here, as the matrix validator
    does not expect an empty mapping."""
    w = data.get("workload")
    if isinstance(w, dict):
        for key in ("A", "covariance", "precision"):
            if w.get(key) == {}:
                raise ConfigError(f"workload.{key}", "a matrix is a list of rows or {random_spd: {...}}, got {}",
                                  source)


def validate_config(data: Any, source: str | None = None, base_dir: Path | None = None):
    """Validate a parsed YAML document; raise :class:`ConfigError` on the first problem.
    ``base_dir`` is where relative paths (a score network) are read from."""
    from demonloop import demon, workloads
    from demonloop.config.schema import Config

    if not isinstance(data, dict):
        raise ConfigError("(top level)", "a config must be a YAML mapping of sections", source)
    _empty_matrices(data, source)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        e = _schema_error(exc)
        e.source = source
        raise e from None
    except (IndexError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # a validator that did not expect this shape of value: still one line, exit 2
        raise ConfigError("(config)", f"a value has an unexpected shape ({type(exc).__name__})", source) from None
    cfg._base_dir = Path(base_dir) if base_dir is not None else None
    try:
        check_ranges(cfg)
        w = workloads.of(cfg)
        if cfg.demon.kind not in w.demons:
            raise ConfigError("demon.kind", f"workload.kind {w.kind} runs on demon.kind {' or '.join(w.demons)}, "
                                            f"not {cfg.demon.kind}")
        _per_unit_lengths(cfg)
        w.validate(cfg)
        demon.of(cfg).validate(cfg)
        _timing(cfg)
    except ConfigError as e:
        e.source = source
        raise
    cfg._raw = copy.deepcopy(data)
    return cfg


def load_config(path: str | Path):
    """Read and validate a YAML config file."""
    path = Path(path)
    src = str(path)
    text = read_config_text(path)
    data = parse_yaml(text, "(yaml)", src)
    try:
        base_dir = path.resolve().parent
    except (OSError, RuntimeError) as exc:
        raise ConfigError("CONFIG", f"cannot resolve its folder ({type(exc).__name__})", src) from None
    return validate_config(data, source=src, base_dir=base_dir)


# ---- the checks every config gets ------------------------------------------------------------


def _per_unit_lengths(cfg) -> None:
    n = cfg.n
    for sec in ("adc", "dac"):
        section = getattr(cfg, sec)
        for key, v in section:
            if isinstance(v, list) and len(v) != n:
                raise ConfigError(f"{sec}.{key}", f"has {len(v)} entries, array.n is {n}")


def _timing(cfg) -> None:
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
