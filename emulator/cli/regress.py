"""``demonloop regress``: the demon-interface conformance regression on the project's demon or yours."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from demonloop.config import ConfigError
from demonloop.cosim.simulators import cocotb_names


@click.command("regress")
@click.option("--rtl", "rtl_file", default=None, metavar="RTL.yaml",
              help="Your demon (sources, include_dirs, toplevel, parameters, ports) [default: the project's].")
@click.option("--simulator", type=click.Choice(cocotb_names()), default="icarus", show_default=True)
@click.option("--config", "config", default=None, metavar="CONFIG",
              help="The config whose demon (widths, formats, program) the RTL implements: a file or a bundled "
                   "name [default: the bundled linear solve].")
@click.option("--reference", default=None, metavar="golden|none|MODULE:FUNCTION",
              help="What the outputs are checked against [default: golden].")
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Write the JUnit XML results here.")
@click.option("--vectors", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Random input words of the main test.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="The seed (printed, to replay a failure).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value by dotted key.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
def regress_command(rtl_file, simulator, config, reference, junit, vectors, seed, sets, as_json):
    """Run the conformance regression of a demon (rtl/INTERFACE.md): the streams with idle cycles
    and backpressure, one-cycle offers and drops, reset mid-stream, registers and counters where the
    AXI4-Lite port is, random vectors against the reference. Exit 0 when every test passes, 1
    otherwise (the failing tests are named)."""
    from demonloop.cli.main import _load
    from demonloop.cosim.reference import parse_reference
    from demonloop.cosim.regress import run_regression, summary
    from demonloop.cosim.rtl import load_rtl

    _, cfg = _load(config, sets=sets)
    rtl = load_rtl(rtl_file) if rtl_file is not None else None
    ref = parse_reference(reference)
    junit_path = Path(junit) if junit else None
    if junit_path is not None and not junit_path.parent.is_dir():
        raise ConfigError("--junit", f"folder {str(junit_path.parent)!r} does not exist")
    rep = run_regression(cfg, simulator, rtl, ref, junit_path, vectors, seed, quiet=as_json)
    click.echo(json.dumps(rep, allow_nan=False) if as_json else summary(rep))
    if rep["failed"] or not rep["tests"]:
        sys.exit(1)
