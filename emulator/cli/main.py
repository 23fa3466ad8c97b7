"""The ``demonloop`` command line: ``run``, ``check``, ``configs`` (here), ``sweep`` and ``plot``
(:mod:`demonloop.cli.studies`), ``firmware run`` (:mod:`demonloop.cli.firmware`).

Bad input (a config that does not validate or compile, an option out of range) prints one line,
``error: <where>: <field>: <reason>``, on stderr and exits with code 2, before any file is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from demonloop import __version__
from demonloop.config import ConfigError
from demonloop.cosim.simulators import SIMULATORS



def _positive(name):
    def cb(ctx, param, value):
        if value is not None and value < 1:
            raise click.BadParameter(f"must be >= 1, got {value}", param_hint=name)
        return value
    return cb


def _load(config: str | None, seed: int | None = None, chains: int | None = None, sets: tuple[str, ...] = ()):
    from demonloop.config import load_config, parse_sets
    from demonloop.resources import config_path

    path = config_path(config)
    cfg = load_config(path)
    over = parse_sets(sets)
    if seed is not None:
        over["seed"] = seed
    if chains is not None:
        over["chains"] = chains
    if over:
        try:
            cfg = cfg.with_overrides(over)
        except ConfigError as e:
            e.source = str(path)
            raise
    return path, cfg


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="demonloop")
def cli():
    """demonloop: emulate thermodynamic-computing hardware (s-unit array + Maxwell's demon), cycle by cycle."""


@cli.command()
@click.argument("config", required=False)
@click.option("--demon", type=click.Choice(["golden", *SIMULATORS.names()]), default="golden",
              show_default=True, help="Who computes the force: the golden Python model or the RTL under a simulator "
                   "(verilator-fast: compiled, every chain at once).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the config's seed.")
@click.option("--chains", type=int, default=None, callback=_positive("--chains"),
              help="Override the number of independent chains.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder for report.json and plot.png [default: out/<config name>].")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON report on stdout (nothing else).")
@click.option("--waves", is_flag=True, help="With an RTL demon: write an FST waveform (also WAVES=1).")
@click.option("--rtl", "rtl_file", default=None, metavar="RTL.yaml",
              help="With an RTL demon: your own demon (sources, include_dirs, toplevel, parameters, ports) "
                   "instead of the project's; it must meet rtl/INTERFACE.md.")
@click.option("--reference", default=None, metavar="golden|none|MODULE:FUNCTION",
              help="With an RTL demon: what its outputs are checked against [default: golden].")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr [default: when stderr is a terminal].")
@click.option("--no-plot", is_flag=True, help="Skip the PNG plot.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value by dotted key, e.g. --set adc.bits=10 (repeatable).")
def run(config, demon, seed, chains, out, as_json, waves, rtl_file, reference, progress, no_plot, sets):
    """Run CONFIG (a YAML file, or a bundled config's name; default: the bundled SPU-style 8-cell
    linear solve) in closed loop and score it."""
    from demonloop import workloads
    from demonloop.report import mismatch_text, summary, write_json

    path, cfg = _load(config, seed, chains, sets)
    streamed = demon != "golden" and not SIMULATORS.get(demon).vectorised
    if streamed and cfg.chains != 1 and chains is None:
        cfg = cfg.with_overrides({"chains": 1})
    w = workloads.of(cfg)
    w.compile(cfg)  # compile errors surface here, before anything is written
    out_dir = Path(out) if out else Path("out") / cfg.name
    plot_path = out_dir / "plot.png"
    if demon == "golden":
        for flag, value in (("--rtl", rtl_file), ("--reference", reference)):
            if value is not None:
                raise ConfigError(flag, "applies to an RTL demon: add --demon " + " or --demon ".join(SIMULATORS.names()))
    else:
        from demonloop.cosim.reference import parse_reference
        from demonloop.cosim.rtl import load_rtl
        from demonloop.cosim.run import prepare_rtl

        rtl = load_rtl(rtl_file) if rtl_file is not None else None
        ref = parse_reference(reference)
        SIMULATORS.get(demon).check_config(cfg)
        prepare_rtl(cfg, rtl)               # the ports and widths, before anything is built or written

    if demon == "golden":
        from demonloop.loop import run_golden

        bar = _progress(cfg.total_samples, f"{cfg.name} ({cfg.chains:,} chains)", quiet=as_json,
                        show=progress)
        try:
            rep, est = run_golden(cfg, progress=(lambda k: bar.update(k - bar.n)) if bar else None)
        finally:
            if bar:
                bar.close()
    else:
        rep = SIMULATORS.get(demon).run_loop(cfg, waves=waves, out_dir=out_dir, quiet=as_json, plot=not no_plot,
                        rtl=rtl, reference=ref, progress=False if as_json else progress)
    rep["config_path"] = str(path)
    write_json(out_dir / "report.json", rep)
    files = [str(out_dir / "report.json")]
    if not no_plot:
        if demon == "golden":
            w.plot(rep, est, plot_path, f"{cfg.name} — {rep['demon']} demon, {cfg.chains:,} chains")
        if plot_path.exists():      # a co-simulation draws its plot in the simulator's process
            files.append(str(plot_path))
    if as_json:
        click.echo(json.dumps(rep, allow_nan=False))
    elif rep.get("bit_exact") is False:
        click.echo(mismatch_text(rep, files))
    else:
        click.echo(summary(rep, files))
    if rep.get("bit_exact") is False:
        sys.exit(1)


@cli.command()
@click.argument("config")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as one JSON object.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value by dotted key.")
def check(config, as_json, sets):
    """Validate CONFIG (a file or a bundled name) and explain it: time constants, spread vs ADC
    range, quantization, loop stability."""
    from demonloop import workloads

    _, cfg = _load(config, sets=sets)
    w = workloads.of(cfg)
    rep = w.check(cfg)
    click.echo(json.dumps(rep, allow_nan=False) if as_json else w.check_text(rep))


@cli.command()
@click.option("--paths", is_flag=True, help="Also print where each bundled file is.")
def configs(paths):
    """List the bundled configs by name (``demonloop run NAME`` runs one from any folder)."""
    from demonloop.config import load_config
    from demonloop.resources import bundled_configs

    for name, p in bundled_configs().items():
        where = f"  {p}" if paths else ""
        try:
            cfg = load_config(p)
            click.echo(f"{name:20s} {cfg.workload.kind:13s} {cfg.description}{where}")
        except ConfigError as e:
            click.echo(f"{name:20s} INVALID: {e.field}: {e.reason}{where}")


def _add_commands() -> None:
    from demonloop.cli.firmware import firmware_command
    from demonloop.cli.regress import regress_command
    from demonloop.cli.studies import plot_command, sweep_command
    from demonloop.cli.synth import synth_command

    for command in (sweep_command, plot_command, firmware_command, regress_command, synth_command):
        cli.add_command(command)


_add_commands()


def _progress(total: int, desc: str, quiet: bool, show: bool | None = None):
    """A tqdm bar on stderr (``show``; default: when stderr is a terminal), never on stdout."""
    if quiet or not (sys.stderr.isatty() if show is None else show):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="sample", file=sys.stderr, leave=False)


def _failed_runs() -> tuple:
    """Errors that end a run that could not happen (exit 1), as one line: the RTL in the loop
    not answering its configuration."""
    from demonloop.cosim.run import CosimFailed

    return (CosimFailed,)


def main(argv=None) -> None:
    from threadpoolctl import threadpool_limits

    try:
        # One BLAS thread: every matrix here is small, and OpenBLAS's spinning helper threads
        # make them slower (e.g. a 6x6 expm 11.7 ms instead of 0.25 ms on 2 busy cores).
        with threadpool_limits(1, user_api="blas"):
            cli.main(args=argv, prog_name="demonloop", standalone_mode=False)
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except _failed_runs() as e:
        click.echo(f"failed: {e}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.UsageError as e:
        msg = e.format_message().replace("\n", " ")
        click.echo(f"error: {msg}", err=True)
        sys.exit(2)
    except click.exceptions.ClickException as e:
        click.echo(f"error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
