"""``demonloop firmware run PROGRAM CONFIG``: a C protocol program and the driver against the RTL
demon, with CONFIG's emulated analog array in the loop (see :mod:`demonloop.cosim.firmware` and
docs/firmware.md). Registered in :mod:`demonloop.cli.main` with one ``cli.add_command`` line.

Exit status: 0 when the program returned DEMON_OK and the loop stayed bit-exact with the golden
model; 1 when the firmware failed or the RTL left the golden trajectory (the report says where);
2 for bad input (unknown program, a config the firmware cannot run, an unwritable trace path),
one line on stderr, nothing written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from demonloop.config import ConfigError
from demonloop.cosim.simulators import cocotb_names


@click.group("firmware")
def firmware_command():
    """Firmware in the loop: the C driver and a protocol program against the RTL demon."""


@firmware_command.command("run")
@click.argument("program", metavar="PROGRAM")
@click.argument("config", required=False)
@click.option("--demon", type=click.Choice(cocotb_names()), default="icarus", show_default=True,
              help="The simulator the RTL demon runs in.")
@click.option("--trace", type=click.Path(dir_okay=False), default=None,
              help="Write every register access (cycle, R/W, offset, value, response) to this CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON report on stdout (nothing else).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the config's seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value by dotted key, e.g. --set run.samples=1000 (repeatable).")
@click.option("--bus-wait-states", type=int, default=0, show_default=True,
              help="Bus-latency model: extra CPU cycles every register access costs after its response.")
@click.option("--cpu-clock-ratio", type=float, default=1.0, show_default=True,
              help="Bus-latency model: demon clock cycles per CPU cycle (2: a CPU at half the demon's clock).")
def run_command(program, config, demon, trace, as_json, seed, sets, bus_wait_states, cpu_clock_ratio):
    """Run firmware PROGRAM (linear_solve, linear_solve_irq, anneal or diffusion) against the RTL demon with CONFIG's
    analog array in the loop, one chain, and score its answer. CONFIG is a file or a bundled
    config's name (default: the bundled linear solve)."""
    from demonloop.cli.main import _load
    from demonloop.cosim.firmware import check_firmware_config, get_program, run_firmware

    get_program(program)
    path, cfg = _load(config, seed, 1, sets)
    check_firmware_config(program, cfg)
    trace_path = None
    if trace is not None:
        trace_path = Path(trace)
        if not trace_path.parent.is_dir():
            raise ConfigError("--trace", f"folder {str(trace_path.parent)!r} does not exist")
    rep = run_firmware(program, cfg, demon, trace=trace_path, quiet=as_json, bus_wait_states=bus_wait_states,
                       cpu_clock_ratio=cpu_clock_ratio)
    rep["config_path"] = str(path)
    from demonloop.report import file_sha256, provenance

    rep["provenance"] = {**provenance(cfg, simulator=demon), "config_file_sha256": file_sha256(path)}
    fw = rep["firmware"]
    if as_json:
        click.echo(json.dumps(rep, allow_nan=False))
    else:
        click.echo(summary(rep))
    if fw["status"] != "DEMON_OK" or rep.get("bit_exact") is False or rep.get("anneal_matches_exact") is False:
        sys.exit(1)


def summary(rep: dict) -> str:
    """A few human lines about a firmware-in-the-loop report."""
    fw = rep["firmware"]
    lines = [f"demonloop firmware run: {fw['program']} on {rep['config']} ({rep['simulator']} RTL demon, "
             f"seed {rep.get('seed', '?')})"]
    acc = fw["reads"] + fw["writes"]
    lines.append(f"  firmware      {fw['status']}: {fw['reads']:,} reads, {fw['writes']:,} writes "
                 f"({fw['us_per_access'] / 1000:.2f} ms of wall time each), {fw['delay_cycles']:,} cycles idle")
    if fw["status"] != "DEMON_OK" and fw.get("failed_in"):
        why = " (its accesses failed after the loop's last sample: it waited for samples that never came)" \
            if fw.get("bus_errors_after_deadline") else ""
        lines.append(f"  failed in     {fw['failed_in']}{why}")
    if fw.get("rel_error") is not None:
        verdict = "within" if fw["within_bound"] else "OUTSIDE"
        lines.append(f"  solution      {fw['rel_error']:.4g} relative to numpy.linalg.solve ({verdict} the bound "
                     f"{fw['rel_error_bound']:.3g}: 5 standard errors + quantization)")
        gold = rep.get("metrics", {}).get("rel_error")
        if gold is not None:
            lines.append(f"  emulator      {gold:.4g} from the same samples averaged by the emulator")
    if fw.get("generated") is not None:
        same = fw["result"]["final_codes"] == rep.get("last_sample_codes")
        lines.append(f"  generated     {[round(v, 4) for v in fw['generated']]} (data units; the run's last sample, "
                     f"{'equal to' if same else 'DIFFERENT from'} the loop's), step {fw['result']['step']}")
    if fw.get("variance") is not None:
        for b, m, v in zip(fw["betas"], fw["mean"], fw["variance"]):
            lines.append(f"  beta {b:<8g} mean |x| {float(sum(abs(x) for x in m)) / len(m):.4g}, mean variance "
                         f"{float(sum(v)) / len(v):.4g} (x in full scales)")
        if rep.get("anneal_matches_exact") is not None:
            lines.append(f"  stages        {'equal to' if rep['anneal_matches_exact'] else 'DIFFERENT from'} the exact "
                         f"integer recomputation from the loop's samples; {rep.get('refused_samples', 0)} samples "
                         f"refused while stopped for the reloads")
    if rep.get("loop_ran"):
        lines.append(f"  loop          {'bit-exact with the golden model' if rep.get('bit_exact') else 'NOT bit-exact'}"
                     f"; RTL counters {rep['rtl_counters']}")
        if rep.get("mismatch"):
            lines.append(f"  mismatch      {rep['mismatch']}")
    if rep.get("trace"):
        lines.append(f"  trace         {rep['trace']} ({acc:,} accesses)")
    lines.append(f"  wall time     {rep.get('sim_process_s', 0):.1f} s in the simulator")
    return "\n".join(lines)
