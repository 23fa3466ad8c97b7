"""``demonloop sweep`` and ``demonloop plot``: the command-line side of :mod:`demonloop.studies`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from demonloop.config import ConfigError


@click.command("sweep")
@click.argument("config")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUES",
              help="A swept key: a list 6,8,10 or a range START:STOP:STEP (STOP included); repeatable.")
@click.option("--seeds", type=int, default=3, show_default=True, help="Runs (seeds) per point.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Base seed of the per-point SeedSequences [default: the config's seed].")
@click.option("--chains", type=int, default=None, help="Override the number of chains per run.")
@click.option("--workers", type=int, default=None,
              help="Local worker processes [default: one per core]; 1 runs in this process.")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: out/<config name>-sweep].")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr [default: when stderr is a terminal].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
def sweep_command(config, sets, seeds, seed, chains, workers, dask_address, out, progress, as_json):
    """Run CONFIG's golden closed loop (a YAML file, or a bundled config's name) over a grid of
    dotted keys, several seeds per point.

    Writes one row per run to OUT/sweep.csv and OUT/sweep.json; resumable (run the same command
    again after an interruption)."""
    from demonloop.cli.main import check_out_dir
    from demonloop.config import load_config
    from demonloop.resources import config_path
    from demonloop.studies.sweep import Sweep, SweepInterrupted, default_workers, parse_axes, run_sweep, summary_text

    path = config_path(config)
    cfg = load_config(path)
    axes = parse_axes(sets)
    if chains is not None:
        if chains < 1:
            raise ConfigError("--chains", f"must be >= 1, got {chains}")
        cfg = cfg.with_overrides({"chains": chains})
    if workers is not None and not 1 <= workers <= 1024:
        raise ConfigError("--workers", f"must be 1 .. 1024, got {workers}")
    out_dir = check_out_dir(Path(out) if out else Path("out") / f"{cfg.name}-sweep")
    sw = Sweep(cfg=cfg, axes=axes, seeds=seeds, base_seed=cfg.seed if seed is None else seed,
               out_dir=out_dir, config_path=str(path))
    try:
        result = run_sweep(sw, workers=workers or default_workers(), dask_address=dask_address,
                           progress=False if as_json else progress)
    except SweepInterrupted as exc:
        click.echo(f"demonloop sweep: {exc}", err=True)
        sys.exit(130 if isinstance(exc.__cause__, KeyboardInterrupt) else 1)
    if as_json:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "rows"}, allow_nan=False))
    else:
        click.echo(summary_text(sw, result))


#: Largest sweep.json ``plot`` reads (bytes).
MAX_SWEEP_JSON = 512 << 20


def check_sweep_file(sweep_dir: Path) -> None:
    """Refuse (ConfigError, field ``DIR``) a ``sweep.json`` that is not what ``demonloop sweep``
    writes: a mapping with ``sweep`` (``config``, ``seeds``, ``axes`` of ``{key, values}``) and
    ``rows`` (mappings with an integer ``point``). A missing file is left to the plotter's message."""
    from demonloop.config.errors import short

    path = sweep_dir / "sweep.json"
    where = short(str(path), 200, quote=False)
    try:
        if not path.is_file():
            return
        if path.stat().st_size > MAX_SWEEP_JSON:
            raise ConfigError("DIR", f"{where} is larger than {MAX_SWEEP_JSON} bytes")
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError("DIR", f"{where} is not readable JSON ({type(exc).__name__})") from None
    spec = data.get("sweep") if isinstance(data, dict) else None
    rows = data.get("rows") if isinstance(data, dict) else None
    ok = (isinstance(spec, dict) and isinstance(spec.get("config"), str) and isinstance(spec.get("seeds"), int)
          and isinstance(spec.get("axes"), list)
          and all(isinstance(a, dict) and isinstance(a.get("key"), str) and isinstance(a.get("values"), list)
                  for a in spec["axes"])
          and isinstance(rows, list)
          and all(isinstance(r, dict) and isinstance(r.get("point"), int) and not isinstance(r.get("point"), bool)
                  for r in rows))
    if not ok:
        raise ConfigError("DIR", f"{where} is not a sweep's result (expected sweep.config, sweep.seeds, "
                                 "sweep.axes and rows with a point each)")


@click.command("plot")
@click.argument("sweep_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--metric", default=None, help="Metric to plot [default: the workload's headline metric].")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder for the PNGs [default: DIR].")
def plot_command(sweep_dir, metric, out):
    """Draw a sweep's figures (heatmap, metric curves, stability boundary) as PNG."""
    from demonloop.cli.main import check_out_dir
    from demonloop.studies.plots import plot_sweep

    check_sweep_file(Path(sweep_dir))
    check_out_dir(Path(out) if out else Path(sweep_dir))
    files = plot_sweep(Path(sweep_dir), Path(out) if out else None, metric)
    if not files:
        click.echo("demonloop plot: nothing to draw (no swept key has more than one value)")
        return
    click.echo("demonloop plot: wrote " + ", ".join(str(f) for f in files))
