"""``demonloop calibrate``: in-situ calibration of one drawn hardware instance (:mod:`demonloop.studies.calibration`)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("calibrate")
@click.argument("config")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder for calibration.json.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="The instance: override the config's seed.")
@click.option("--chains", type=click.IntRange(min=2), default=None,
              help="Chains per calibration pass [default: the config's].")
@click.option("--samples", type=click.IntRange(min=10), default=None,
              help="Samples per chain per pass after burn-in [default: the config's run.samples].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value by dotted key.")
@click.option("--json", "as_json", is_flag=True, help="Print the calibration document on stdout.")
def calibrate_command(config, out, seed, chains, samples, sets, as_json):
    """Measure the instance CONFIG draws (its tolerances and converter errors, seed --seed) through
    its ADC codes only, identify its drift, noise and converter errors, and write calibrated demon
    coefficients to OUT/calibration.json for `demonloop run CONFIG --calibration OUT/calibration.json`."""
    from demonloop.studies.calibration import Bench, calibrate
    from demonloop.cli.main import _load
    from demonloop.report import write_json

    _, cfg = _load(config, seed=seed, sets=sets)
    bench = Bench(cfg)                  # the instance (the host never reads it)
    doc = calibrate(cfg, bench, chains=chains, samples=samples)
    path = Path(out) / "calibration.json"
    write_json(path, doc)
    if as_json:
        click.echo(json.dumps(doc, allow_nan=False))
        return
    p, c, e = doc["predicted"], doc["cost"], doc["experiment"]
    click.echo(
        f"demonloop calibrate: {doc['config']} ({doc['workload']}, {doc['mode']} mode), instance seed {doc['instance_seed']}\n"
        f"  experiment       {e['chains']:,} chains x {e['samples']:,} samples, excitation ±{e['excitation_codes']} codes "
        f"(+ held ±{e['held_excitation_codes']}), then one pass at the corrected operating point\n"
        f"  identified       drift, DAC-to-ADC responses, offsets and noise (ARX, {e['rows']:,} rows)\n"
        f"  predicted        uncalibrated solution error {p['uncalibrated_solution_rel_error']:.3g}; "
        f"after the first correction {p['pass1_solution_rel_error']:.3g}\n"
        f"  cost             {c['adc_samples']:,} ADC samples, {c['hardware_time_s']:.3g} s of hardware time\n"
        f"  wrote            {path}")
