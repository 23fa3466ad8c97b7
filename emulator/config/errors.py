"""Config errors: one line naming the dotted field and the reason.

:class:`ConfigError` is what every layer raises for bad input (the command line turns it into
``error: <source>: <field>: <reason>`` and exit code 2). :class:`FieldError` is raised inside
pydantic validators to point at a sub-field; :func:`first_error` turns pydantic's
``ValidationError`` into the one :class:`ConfigError` a user should see first.
"""

from __future__ import annotations

from pydantic import ValidationError


#: Longest error line (characters); longer ones are cut in the middle.
MAX_LINE = 1000


def short(x, limit: int = 60, quote: bool = True) -> str:
    """``repr(x)`` (or ``str(x)`` with ``quote=False``) cut to about ``limit`` characters, on one
    line: how a value from the user is echoed in an error."""
    try:
        text = repr(x) if quote else str(x)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still named
        text = f"<{type(x).__name__}>"
    text = text.replace("\n", " ").replace("\r", " ")
    if len(text) > limit:
        keep = max(8, limit - 20)
        text = f"{text[:keep]}...({len(text) - keep} more characters)"
    return text


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` on one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        half = limit // 2 - 10
        text = f"{text[:half]} ... {text[-half:]}"
    return text


class ConfigError(Exception):
    """A config problem: ``field`` is the dotted path, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str, source: str | None = None):
        self.field = field
        self.reason = reason
        self.source = source
        super().__init__(f"{field}: {reason}")

    def __reduce__(self):
        # picklable with its three parts (a sweep worker's error travels back to the user)
        return (type(self), (self.field, self.reason, self.source))

    def __str__(self) -> str:
        where = f"{short(str(self.source), 200, quote=False)}: " if self.source else ""
        return one_line(f"{where}{self.field}: {self.reason}")


class OutputError(Exception):
    """A result could not be written (disk full, folder removed during the run): exit 1."""


class FieldError(ValueError):
    """Raised inside validators to point at a sub-field of the value being validated."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(reason)


#: Location parts pydantic adds that are not config keys: union member tags, type names.
_NOISE_PREFIXES = ("function-", "union[", "list[", "RandomSPD", "tagged-union[")
_NOISE = {"float", "int", "str", "bool"}


def _loc(loc: tuple, tags: set[str]) -> str:
    """Dotted config path of a pydantic error location, without union tags and type names."""
    keep = []
    for i, p in enumerate(loc):
        if isinstance(p, str) and (p.startswith(_NOISE_PREFIXES) or p in _NOISE):
            continue
        # a tagged union's member tag follows its section name (workload.<kind>.A)
        if isinstance(p, str) and i > 0 and p in tags and loc[i - 1] in ("workload", "demon", "adc", "dac"):
            continue
        keep.append(str(p))
    return ".".join(keep)


def first_error(exc: ValidationError, tags: set[str] = frozenset(), choices: dict[str, tuple] | None = None) -> ConfigError:
    """The :class:`ConfigError` to report for ``exc``: the most specific location, an unknown
    key before anything else. ``tags`` are the union member tags to drop from locations;
    ``choices`` maps a discriminator field (``"workload.kind"``) to its legal values."""
    errors = exc.errors()
    err = max(errors, key=lambda e: len(e["loc"]))
    if len(errors) > 1:
        unknown = [e for e in errors if e["type"] == "extra_forbidden"]
        if unknown:
            err = unknown[0]
    loc = _loc(err["loc"], set(tags))
    ctx_err = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_err, FieldError):
        return ConfigError(f"{loc}.{ctx_err.field}" if loc else ctx_err.field, ctx_err.reason)
    etype = err["type"]
    choices = choices or {}
    if etype in ("union_tag_invalid", "union_tag_not_found") or loc in choices:
        field = loc if loc in choices else f"{loc}.kind"
        legal = choices.get(field, ())
        if etype == "union_tag_not_found":
            return ConfigError(field, f"is required (one of {', '.join(legal)})")
        got = (err.get("ctx") or {}).get("tag", err.get("input"))
        return ConfigError(field, f"must be one of {', '.join(legal)}, got {short(got)}")
    if etype == "extra_forbidden":
        return ConfigError(loc, "unknown key")
    if etype == "missing":
        return ConfigError(loc, "is required")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    got = err.get("input")
    if etype.endswith("_type") or etype.endswith("_parsing"):
        msg = f"{msg} (got {type(got).__name__} {short(got)})" if not isinstance(got, (dict, list)) else msg
    return ConfigError(loc, msg[0].lower() + msg[1:] if msg else msg)
