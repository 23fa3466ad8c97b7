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
from demonloop.config.errors import OutputError, one_line
from demonloop.cosim.simulators import SIMULATORS



def _positive(name):
    def cb(ctx, param, value):
        if value is not None and value < 1:
            raise click.BadParameter(f"must be >= 1, got {value}", param_hint=name)
        return value
    return cb


def check_out_dir(out_dir: Path, option: str = "--out") -> Path:
    """Refuse (ConfigError) an output folder that cannot be written, before any work: it must be
    a folder or not exist yet, and its nearest existing ancestor must take a new file (tried with
    a temporary file, removed at once). Nothing is created."""
    import os
    import tempfile

    from demonloop.config.errors import short

    where = short(str(out_dir), 200, quote=False)
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(option, f"{where} exists and is not a folder")
        probe = out_dir
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        if not probe.is_dir():
            raise ConfigError(option, f"{where}: {short(str(probe), 200, quote=False)} is not a folder")
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".demonloop-probe-")
        os.close(fd)
        os.unlink(tmp)
    except ConfigError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError(option, f"cannot write in {where}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    return out_dir


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
@click.option("--strict", is_flag=True,
              help="Exit 3 if check warns (before running, nothing written) or the measured clipping exceeds its threshold.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value by dotted key, e.g. --set adc.bits=10 (repeatable).")
@click.option("--calibration", "calibration_file", default=None, metavar="FILE",
              help="Apply the demon coefficients of `demonloop calibrate` (made for this design and seed).")
def run(config, demon, seed, chains, out, as_json, waves, rtl_file, reference, progress, no_plot, sets, strict,
        calibration_file):
    """Run CONFIG (a YAML file, or a bundled config's name; default: the bundled SPU-style 8-cell
    linear solve) in closed loop and score it."""
    from demonloop import workloads
    from demonloop.report import file_sha256, mismatch_text, provenance, summary, write_json

    path, cfg = _load(config, seed, chains, sets)
    streamed = demon != "golden" and not SIMULATORS.get(demon).vectorised
    if streamed and cfg.chains != 1 and chains is None:
        cfg = cfg.with_overrides({"chains": 1})
    w = workloads.of(cfg)
    w.compile(cfg)  # compile errors surface here, before anything is written
    calibration = None
    if calibration_file is not None:
        from demonloop.studies.calibration import load as load_calibration

        if demon != "golden":
            raise ConfigError("--calibration", "applies to the golden demon")
        calibration = load_calibration(calibration_file, cfg)
    out_dir = check_out_dir(Path(out) if out else Path("out") / cfg.name)
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

    # check's design rules, printed before the run and kept in the report
    checked = _checked(w, cfg)
    warnings = checked.get("warnings", [])
    if warnings and not as_json:
        from demonloop.workloads.langevin import warning_lines

        click.echo("\n".join(ln.strip() for ln in warning_lines(warnings)), err=True)
    if strict and warnings:
        click.echo(f"strict: {len(warnings)} warning(s) from check; not running", err=True)
        sys.exit(3)

    if demon == "golden":
        from demonloop.loop import run_golden

        bar = _progress(cfg.total_samples, f"{cfg.name} ({cfg.chains:,} chains)", quiet=as_json,
                        show=progress)
        try:
            rep, est = run_golden(cfg, progress=(lambda k: bar.update(k - bar.n)) if bar else None,
                                  calibration=calibration)
        finally:
            if bar:
                bar.close()
    else:
        rep = SIMULATORS.get(demon).run_loop(cfg, waves=waves, out_dir=out_dir, quiet=as_json, plot=not no_plot,
                        rtl=rtl, reference=ref, progress=False if as_json else progress)
    rep["config_path"] = str(path)
    rep["provenance"] = {**provenance(cfg, simulator=None if demon == "golden" else demon),
                         "config_file_sha256": file_sha256(path)}
    rep["warnings"] = warnings
    if checked.get("predictions"):
        rep["predictions"] = checked["predictions"]
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
    if strict and (rep.get("range_check") or {}).get("exceeded"):
        sys.exit(3)


def _checked(w, cfg) -> dict:
    """``check``'s report for a run: its design rules and predictions. A prediction that cannot
    be formed (a numerical failure of the linearised loop on a config that validated) becomes a
    warning rather than stopping the run; a config error still stops it (exit 2)."""
    try:
        return w.check(cfg)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        from demonloop.workloads.langevin import warning

        return {"warnings": [warning("check_failed", f"check could not predict this run: {type(exc).__name__}: "
                                     f"{str(exc)[:200]}", None, "")]}


@cli.command()
@click.argument("config")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as one JSON object.")
@click.option("--strict", is_flag=True, help="Exit 3 if there is any warning.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value by dotted key.")
def check(config, as_json, sets, strict):
    """Validate CONFIG (a file or a bundled name) and explain it: time constants, spread vs ADC
    range, quantization, loop stability."""
    from demonloop import workloads

    _, cfg = _load(config, sets=sets)
    w = workloads.of(cfg)
    rep = w.check(cfg)
    click.echo(json.dumps(rep, allow_nan=False) if as_json else w.check_text(rep))
    if strict and rep.get("warnings"):
        sys.exit(3)


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
    from demonloop.cli.calibrate import calibrate_command
    from demonloop.cli.firmware import firmware_command
    from demonloop.cli.regress import regress_command
    from demonloop.cli.studies import plot_command, sweep_command
    from demonloop.cli.synth import synth_command

    for command in (sweep_command, plot_command, firmware_command, regress_command, calibrate_command, synth_command):
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
    except OutputError as e:
        click.echo(f"failed: {one_line(str(e))}", err=True)
        sys.exit(1)
    except _failed_runs() as e:
        click.echo(f"failed: {e}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.UsageError as e:
        click.echo(f"error: {one_line(e.format_message())}", err=True)
        sys.exit(2)
    except click.exceptions.ClickException as e:
        click.echo(f"error: {one_line(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
