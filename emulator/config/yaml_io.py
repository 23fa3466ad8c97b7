"""Strict, bounded YAML reading for configs, ``--set`` values and sweep values.

PyYAML's default reading is YAML 1.1 with every convenience switched on, which a config must not
have: ``off``/``yes``/``no`` become booleans, ``1e5`` a string, ``2020-01-01`` a date, a repeated
key silently wins, an alias bomb expands to gigabytes, deep nesting overflows the stack. Here:

- **scalars follow the YAML 1.2 core schema**: only ``true``/``false`` (any case style) are
  booleans, ``null``/``~``/empty is null, integers are ``[-+]?[0-9]+`` (or ``0o``/``0x``), floats
  ``[-+]?(.5|1|1.|1.5)([eE][-+]?[0-9]+)?`` and ``.inf``/``.nan`` (which validation then refuses);
  everything else, ``off`` and ``1970-01-01`` included, is a string;
- **a repeated key in a mapping is an error**, as are non-string keys and merge keys;
- **bounded**: at most :data:`MAX_BYTES` of text, :data:`MAX_DEPTH` levels of nesting and
  :data:`MAX_NODES` nodes with every alias expanded (a self-referencing alias is an error);
- the result holds only JSON types (``dict`` with ``str`` keys, ``list``, ``str``, ``int``,
  ``float``, ``bool``, ``None``): an explicitly tagged ``!!timestamp``, ``!!binary`` or ``!!set``
  is refused.

Every problem raises :class:`~demonloop.config.errors.ConfigError` with a one-line message.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from demonloop.config.errors import ConfigError, short

#: Largest config file (bytes).
MAX_BYTES = 1 << 20
#: Deepest nesting of sequences and mappings.
MAX_DEPTH = 32
#: Most nodes in a document with every alias expanded.
MAX_NODES = 100_000


class _Refused(Exception):
    """A bound or rule broken while reading (becomes a ConfigError)."""


class _Resolver(BaseResolver):
    pass


_Resolver.yaml_implicit_resolvers = {}
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))


class _Constructor(SafeConstructor):
    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        try:
            if text.startswith(("0o", "0x")):
                return int(text[2:], 8 if text[1] == "o" else 16)
            return int(text, 10)
        except ValueError:
            raise _Refused(f"{short(text)} is not an integer") from None

    def construct_yaml_float(self, node):
        text = self.construct_scalar(node)
        low = text.lower()
        if low in (".inf", "+.inf"):
            return float("inf")
        if low == "-.inf":
            return float("-inf")
        if low == ".nan":
            return float("nan")
        try:
            return float(text)
        except ValueError:
            raise _Refused(f"{short(text)} is not a number") from None

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            raise _Refused("expected a mapping")
        out = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (key_node.value == "<<" and key_node.style is None):
                raise _Refused("merge keys (<<) are not supported")
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise _Refused(f"mapping keys must be strings, got {type(key).__name__} {short(key)}")
            if key in out:
                raise _Refused(f"duplicate key {short(key)} (line {key_node.start_mark.line + 1})")
            out[key] = self.construct_object(value_node, deep=deep)
        return out


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)


class _Composer(Composer):
    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self):
        node = super().compose_document()
        _expanded_size(node)
        return node


def _expanded_size(root) -> int:
    """Nodes of the document with aliases expanded (refuses a cycle or more than MAX_NODES)."""
    size: dict[int, int] = {}
    stack = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            total = 1 + sum(size[id(k)] for k in kids)
            if total > MAX_NODES:
                raise _Refused(f"more than {MAX_NODES} values once its aliases are expanded")
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Refused("an alias refers to a node that contains it")
        on_path.add(key)
        stack.append((node, True))
        for k in _children(node):
            if id(k) in on_path:
                raise _Refused("an alias refers to a node that contains it")
            if id(k) not in size:
                stack.append((k, False))
    return size[id(root)]


def _children(node) -> list:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [x for kv in node.value for x in kv]
    return []


class StrictLoader(Reader, Scanner, Parser, _Composer, _Constructor, _Resolver):
    """PyYAML loader with the rules of the module docstring."""

    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


def _check_plain(x, path: str = "", depth: int = 0) -> None:
    """Refuse anything that is not a JSON value (dates, bytes, sets, non-finite handled later)."""
    if isinstance(x, dict):
        for k, v in x.items():
            _check_plain(v, f"{path}.{k}" if path else k, depth + 1)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _check_plain(v, f"{path}[{i}]", depth + 1)
    elif not (x is None or isinstance(x, (str, bool, int, float))):
        raise _Refused(f"{path or 'value'}: a {type(x).__name__} is not a config value "
                       "(only strings, numbers, true/false, null, lists and mappings)")


def parse_yaml(text: str, field: str = "(yaml)", source: str | None = None):
    """The document in ``text`` under the rules above; ConfigError naming ``field`` if refused."""
    if len(text) > MAX_BYTES:
        raise ConfigError(field, f"longer than {MAX_BYTES} characters", source)
    loader = None
    try:
        loader = StrictLoader(text)
        data = loader.get_single_data()
        _check_plain(data)
        return data
    except _Refused as exc:
        raise ConfigError(field, str(exc), source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["malformed YAML"])[0]
        raise ConfigError(field, f"{short(problem, 120, quote=False)}{where}", source) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise ConfigError(field, f"unreadable YAML ({type(exc).__name__})", source) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_config_text(path: Path) -> str:
    """The text of a config file: a regular file of at most MAX_BYTES of UTF-8 (ConfigError
    otherwise; ``/dev/zero``, a folder or a FIFO are refused without reading)."""
    src = short(str(path), 200, quote=False)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError("CONFIG", f"no such file: {src}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError("CONFIG", f"cannot read {src}: {_why(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ConfigError("CONFIG", f"cannot read {src}: {kind}")
    if st.st_size > MAX_BYTES:
        raise ConfigError("CONFIG", f"{src} is {st.st_size} bytes, more than a config's {MAX_BYTES}")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise ConfigError("CONFIG", f"cannot read {src}: {_why(exc)}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError("CONFIG", f"{src} is more than a config's {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("CONFIG", f"{src} is not UTF-8 text") from None


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
