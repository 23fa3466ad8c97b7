"""``demonloop plot DIR``: the figures of a sweep (``DIR/sweep.json``), as PNG.

- ``heatmap.png`` (two or more swept keys): the metric, averaged over seeds, over two swept keys;
  cells whose runs diverged are hatched and marked, and the stability boundary that
  ``demonloop check`` predicts (closed-loop spectral radius 1) is drawn over them.
- ``curves.png``: the metric against each swept key, mean over seeds with standard-error bars
  (one line per value of the other keys); points whose runs all diverged are marked on the axis.
- ``stability.png``: the measured outcome (stable, diverged, mixed over seeds) beside check's
  prediction: the spectral radius against loop latency (or the first swept key) with the line
  ``rho = 1``, and, with two swept keys, the stable/unstable map with check's largest stable
  latency (or its ``rho = 1`` contour) drawn over it.

Axis labels carry physical units (clock cycles, with a second axis in seconds; bits; volts, ...).
"""

from __future__ import annotations

import io
import itertools
import json
import math
from pathlib import Path

import numpy as np

from demonloop.config import ConfigError

# matplotlib is imported when a figure is drawn (see _plt), so that registering this command
# keeps the CLI's start light.
plt = None


def _plt():
    global plt
    if plt is None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot

        plt = pyplot
    return plt

_NAMES = {
    "adc.bits": ("ADC resolution", "bits"),
    "dac.bits": ("DAC resolution", "bits"),
    "demon.latency_cycles": ("demon latency", "clock cycles"),
    "adc.latency_cycles": ("ADC conversion latency", "clock cycles"),
    "dac.latency_cycles": ("DAC update latency", "clock cycles"),
    "adc.sample_period_cycles": ("ADC sample period", "clock cycles"),
    "loop_latency_cycles": ("loop latency (ADC + demon + DAC)", "clock cycles"),
    "compiler.time_constant_samples": ("closed-loop time constant (loop gain⁻¹)", "sample periods"),
    "compiler.range_sigmas": ("ADC range", "standard deviations"),
    "adc.full_scale_V": ("ADC full scale", "V"),
    "dac.full_scale_A": ("DAC full scale", "A"),
    "adc.noise_V": ("ADC input noise", "V rms"),
    "demon.coef.frac_bits": ("coefficient fractional bits", "bits"),
    "demon.coef.int_bits": ("coefficient integer bits", "bits"),
    "demon.bias.frac_bits": ("bias fractional bits", "bits"),
    "demon.multipliers": ("demon multipliers", "lanes"),
    "clock.f_clk_Hz": ("clock frequency", "Hz"),
    "array.temperature_K": ("array temperature", "K"),
    "chains": ("chains", "count"),
    "run.samples": ("samples per chain", "samples"),
}
_SUFFIX_UNITS = [("_cycles", "clock cycles"), ("_samples", "sample periods"), ("_Hz", "Hz"), ("_V", "V"),
                 ("_A", "A"), ("_F", "F"), ("_ohm", "Ω"), ("_H", "H"), ("_K", "K"), ("_s", "s"),
                 ("bits", "bits")]
_METRICS = {
    "rel_error": "relative error vs exact",
    "rel_error_implemented": "relative error vs quantised problem",
    "cov_rel_error": "covariance relative error",
    "mean_error": "mean error (in units of √tr S)",
    "kl": "KL divergence [nats]",
    "abs_error": "log-determinant absolute error",
    "adc_error_ms_lsb2": "ADC error mean square [LSB²]",
    "adc_error_mean_lsb": "ADC error mean [LSB]",
    "ess_mean": "effective sample size",
    "tau_int_samples": "integrated autocorrelation time [samples]",
    "predicted_spectral_radius": "closed-loop spectral radius (check)",
}


def key_label(key: str) -> str:
    """Axis label with its physical unit for a dotted config key."""
    if key in _NAMES:
        name, unit = _NAMES[key]
        return f"{name} [{unit}]"
    for suffix, unit in _SUFFIX_UNITS:
        if key.endswith(suffix):
            return f"{key} [{unit}]"
    return f"{key} [–]"


def metric_label(name: str) -> str:
    return _METRICS.get(name, name)


# ---- data ------------------------------------------------------------------------------------


def load(sweep_dir: Path) -> dict:
    path = Path(sweep_dir) / "sweep.json"
    if not path.exists():
        raise ConfigError("DIR", f"no sweep.json in {sweep_dir}: run demonloop sweep first "
                                 "(an interrupted sweep writes it once all its runs are done)")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError("DIR", f"{path} is not valid JSON: {exc}") from None


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Points:
    """Rows grouped by sweep point, with per-point summaries."""

    def __init__(self, data: dict, metric: str):
        self.spec = data["sweep"]
        self.axes = [(a["key"], a["values"]) for a in self.spec["axes"] if len(a["values"]) > 1]
        self.metric = metric
        groups: dict[int, list] = {}
        for r in data["rows"]:
            groups.setdefault(r["point"], []).append(r)
        self.points = []
        for p in sorted(groups):
            rows = groups[p]
            vals = [r.get(metric) for r in rows if r.get("stable") and _num(r.get(metric))]
            vals = np.asarray(vals, dtype=float)
            k = len(vals)
            self.points.append({
                "values": {key: rows[0].get(key) for key, _ in self.axes},
                "runs": len(rows),
                "stable": sum(1 for r in rows if r.get("stable")),
                "mean": float(vals.mean()) if k else None,
                "se": float(vals.std(ddof=1) / math.sqrt(k)) if k > 1 else None,
                "rho": rows[0].get("predicted_spectral_radius"),
                "max_stable": rows[0].get("predicted_max_stable_latency_cycles"),
                "latency": rows[0].get("loop_latency_cycles"),
                "f_clk": rows[0].get("f_clk_Hz"),
            })
        self.latency_key = next((k for k, _ in self.axes if "latency" in k), None)
        f = {p["f_clk"] for p in self.points}
        self.f_clk = f.pop() if len(f) == 1 else None

    def find(self, values: dict) -> dict | None:
        for p in self.points:
            if all(p["values"].get(k) == v for k, v in values.items()):
                return p
        return None

    def series(self, over: str, cap: int = 8):
        """(label, fixed values) for each combination of the swept keys other than ``over``, at
        most ``cap`` of them (evenly spaced, first and last kept), and the total number."""
        others = [(k, v) for k, v in self.axes if k != over]
        combos = list(itertools.product(*[v for _, v in others])) or [()]
        total = len(combos)
        if total > cap:
            combos = [combos[i] for i in np.unique(np.linspace(0, total - 1, cap).round().astype(int))]
        out = []
        for combo in combos:
            fixed = dict(zip([k for k, _ in others], combo))
            label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in fixed.items())
            out.append((label, fixed))
        return out, total


def _shown(series: list, total: int) -> str:
    """The title note when only some series are drawn: which ones, not how many diverged."""
    if len(series) >= total:
        return ""
    return f"\nseries shown: {len(series)} of {total} combinations of the other keys (evenly spaced, listed in the legend)"


def _legend_outside(ax) -> None:
    """The legend to the right of the axes, off the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, framealpha=0.9)


def _positions(values):
    """x positions for axis values: the values if numeric, else 0..k-1 (categorical)."""
    if all(_num(v) for v in values):
        return [float(v) for v in values], False
    return list(range(len(values))), True


def _seconds_axis(ax, f_clk: float | None, which: str = "x"):
    """A secondary axis in seconds for an axis in clock cycles."""
    if not f_clk:
        return
    scale, unit = (1e6, "µs") if 1.0 / f_clk * 1000 > 1e-6 else (1e9, "ns")

    def fwd(c):
        return np.asarray(c) / f_clk * scale

    def inv(t):
        return np.asarray(t) * f_clk / scale
    if which == "x":
        sec = ax.secondary_xaxis("top", functions=(fwd, inv))
        sec.set_xlabel(f"[{unit}] at f_clk = {f_clk / 1e6:.4g} MHz", fontsize=8)
    else:
        sec = ax.secondary_yaxis("right", functions=(fwd, inv))
        sec.set_ylabel(f"[{unit}]", fontsize=8)


def _save(fig, path: Path) -> Path:
    from demonloop.report import atomic_write

    buf = io.BytesIO()
    # a tight box: labels, outside legends and the colorbar are never clipped
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path


def _norm(values):
    from matplotlib.colors import LogNorm, Normalize

    v = np.asarray([x for x in values if x is not None], dtype=float)
    if len(v) and v.min() > 0 and v.max() / v.min() > 10:
        return LogNorm(vmin=v.min(), vmax=v.max()), True
    if len(v):
        return Normalize(vmin=v.min(), vmax=v.max() if v.max() > v.min() else v.min() + 1), False
    return Normalize(0, 1), False


# ---- figures ---------------------------------------------------------------------------------


def heatmap(P: Points, path: Path) -> Path | None:
    if len(P.axes) < 2:
        return None
    xk = P.latency_key or P.axes[0][0]
    yk = next(k for k, _ in P.axes if k != xk)
    xv = dict(P.axes)[xk]
    yv = dict(P.axes)[yk]
    rest = [(k, v) for k, v in P.axes if k not in (xk, yk)]
    facets = list(itertools.product(*[v for _, v in rest])) or [()]
    facets = facets[:6]
    ncol = min(3, len(facets))
    nrow = -(-len(facets) // ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(max(8.0, 5.6 * ncol), 4.8 * nrow), squeeze=False)
    annotate = len(xv) <= 10
    norm, _ = _norm([p["mean"] for p in P.points])
    im = None
    for ax, combo in zip(axs.flat, facets):
        fixed = dict(zip([k for k, _ in rest], combo))
        Z = np.full((len(yv), len(xv)), np.nan)
        R = np.full((len(yv), len(xv)), np.nan)
        for i, y in enumerate(yv):
            for j, x in enumerate(xv):
                p = P.find({xk: x, yk: y, **fixed})
                if p is None:
                    continue
                if p["mean"] is not None:
                    Z[i, j] = p["mean"]
                if p["rho"] is not None:
                    R[i, j] = p["rho"]
                if p["stable"] < p["runs"]:
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=p["stable"] == 0,
                                               facecolor="0.85", edgecolor="C3", hatch="xx", lw=0.0))
                    if annotate or p["stable"]:
                        txt = "diverged" if p["stable"] == 0 else f"{p['stable']}/{p['runs']}\nstable"
                        ax.text(j, i, txt, ha="center", va="center", fontsize=6, color="C3")
        im = ax.imshow(np.ma.masked_invalid(Z), origin="lower", aspect="auto", norm=norm, cmap="viridis",
                       extent=(-0.5, len(xv) - 0.5, -0.5, len(yv) - 0.5))
        if np.isfinite(R).sum() >= 4 and np.nanmin(R) < 1.0 < np.nanmax(R) and min(R.shape) >= 2:
            ax.contour(np.arange(len(xv)), np.arange(len(yv)), np.nan_to_num(R, nan=0.0), levels=[1.0],
                       colors="k", linestyles="--", linewidths=1.6)
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
        ax.legend(handles=[Line2D([], [], color="k", ls="--", label="check: spectral radius ρ = 1"),
                           Patch(facecolor="0.85", edgecolor="C3", hatch="xx", label="measured: diverged")],
                  fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2, borderaxespad=0.0,
                  framealpha=0.9)
        ax.set_xticks(range(len(xv)), [str(v) for v in xv], rotation=45 if len(xv) > 8 else 0, fontsize=8)
        ax.set_yticks(range(len(yv)), [str(v) for v in yv], fontsize=8)
        ax.set_xlabel(key_label(xk))
        ax.set_ylabel(key_label(yk))
        if fixed:
            ax.set_title(", ".join(f"{k} = {v}" for k, v in fixed.items()), fontsize=9, pad=22)
    for ax in list(axs.flat)[len(facets):]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axs, label=f"{metric_label(P.metric)} (mean over seeds)", shrink=0.9)
    fig.suptitle(f"{P.spec['config']}: {metric_label(P.metric)}, mean over {P.spec['seeds']} seeds per point",
                 fontsize=10)
    return _save(fig, path)


def curves(P: Points, path: Path) -> Path | None:
    if not P.axes:
        return None
    n = min(len(P.axes), 4)
    fig, axs = plt.subplots(1, n, figsize=(5.4 * n, 4.2), squeeze=False)
    for ax, (key, values) in zip(axs[0], P.axes[:n]):
        xs, categorical = _positions(values)
        series, total = P.series(key)
        shown = []
        for si, (label, fixed) in enumerate(series):
            m, e, x_ok, x_bad = [], [], [], []
            for x, v in zip(xs, values):
                p = P.find({key: v, **fixed})
                if p is None:
                    continue
                if p["mean"] is None:
                    x_bad.append(x)
                    continue
                x_ok.append(x)
                m.append(p["mean"])
                e.append(p["se"] if p["se"] is not None else 0.0)
            color = f"C{si % 10}"
            if x_ok:
                ax.errorbar(x_ok, m, yerr=e, fmt="o-", ms=4, capsize=3, color=color, label=label or None)
                shown += m
            if x_bad:
                ax.plot(x_bad, [0.02] * len(x_bad), "x", color=color, ms=8, mew=2,
                        transform=ax.get_xaxis_transform(), clip_on=False)
        if shown and min(shown) > 0 and max(shown) / min(shown) > 10:
            ax.set_yscale("log")
        if categorical:
            ax.set_xticks(xs, [str(v) for v in values])
        ax.set_xlabel(key_label(key))
        ax.set_ylabel(metric_label(P.metric))
        if key.endswith("_cycles"):
            _seconds_axis(ax, P.f_clk)
        ax.grid(True, which="both", alpha=0.3)
        title = "mean ± standard error over seeds; × on the axis: all runs diverged"
        ax.set_title(title + _shown(series, total), fontsize=8)
        if any(lbl for lbl, _ in series):
            _legend_outside(ax)
    fig.suptitle(f"{P.spec['config']}: {metric_label(P.metric)} ({P.spec['seeds']} seeds per point)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _outcome_marker(p):
    if p["stable"] == p["runs"]:
        return dict(marker="o", color="C2", label="measured: stable")
    if p["stable"] == 0:
        return dict(marker="X", color="C3", label="measured: diverged")
    return dict(marker="D", color="C1", label="measured: mixed over seeds")


def stability(P: Points, path: Path) -> Path | None:
    if not P.axes or all(p["rho"] is None for p in P.points):
        return None
    two = len(P.axes) >= 2
    fig, axs = plt.subplots(1, 2 if two else 1, figsize=(12 if two else 6.4, 4.6), squeeze=False)
    ax = axs[0][0]
    xk = P.latency_key or P.axes[0][0]
    use_latency = P.latency_key is not None
    series, total = P.series(xk)
    seen = set()
    for si, (label, fixed) in enumerate(series):
        pts = [p for p in P.points if all(p["values"].get(k) == v for k, v in fixed.items())]
        if use_latency:
            pts.sort(key=lambda p: p["latency"])
            xs = [p["latency"] for p in pts]
        else:
            values = dict(P.axes)[xk]
            pos, _ = _positions(values)
            where = {json.dumps(v): x for v, x in zip(values, pos)}
            xs = [where[json.dumps(p["values"][xk])] for p in pts]
        ax.plot(xs, [p["rho"] for p in pts], "-", color=f"C{si % 7 + 3}", lw=1.2,
                label=f"check: ρ{' (' + label + ')' if label else ''}")
        for x, p in zip(xs, pts):
            mk = _outcome_marker(p)
            lab = mk.pop("label")
            ax.plot([x], [p["rho"]], ls="none", ms=7, mfc=mk["color"] if mk["marker"] != "o" else "none",
                    label=lab if lab not in seen else None, **mk)
            seen.add(lab)
    ax.axhline(1.0, color="k", ls="--", lw=1.0)
    ax.text(0.01, 1.0, " ρ = 1: stability limit", transform=ax.get_yaxis_transform(), va="bottom", fontsize=8)
    ax.set_xlabel(key_label("loop_latency_cycles" if use_latency else xk))
    ax.set_ylabel("closed-loop spectral radius ρ (demonloop check)")
    if use_latency:
        _seconds_axis(ax, P.f_clk)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    ax.set_title("predicted (line) and measured (markers) stability" + _shown(series, total), fontsize=9)
    if two:
        ax = axs[0][1]
        yk = next(k for k, _ in P.axes if k != xk)
        yv = dict(P.axes)[yk]
        ypos, ycat = _positions(yv)
        ymap = {json.dumps(v): y for v, y in zip(yv, ypos)}
        seen = set()
        for p in P.points:
            x = p["latency"] if use_latency else _positions(dict(P.axes)[xk])[0][dict(P.axes)[xk].index(p["values"][xk])]
            y = ymap[json.dumps(p["values"][yk])]
            mk = _outcome_marker(p)
            lab = mk.pop("label")
            ax.plot([x], [y], ls="none", ms=7, label=lab if lab not in seen else None, **mk)
            seen.add(lab)
        if use_latency:
            # check's largest stable loop latency for each value of the other key
            by_y = {}
            for p in P.points:
                if p["max_stable"] is not None:
                    by_y.setdefault(ymap[json.dumps(p["values"][yk])], set()).add(p["max_stable"])
            if by_y:
                ys = sorted(by_y)
                ax.plot([min(by_y[y]) for y in ys], ys, "k--", lw=1.4, marker="|", ms=12,
                        label="check: largest stable latency")
            _seconds_axis(ax, P.f_clk)
        else:
            xv = dict(P.axes)[xk]
            xpos, _ = _positions(xv)
            R = np.full((len(yv), len(xv)), np.nan)
            for i, y in enumerate(yv):
                for j, x in enumerate(xv):
                    p = P.find({xk: x, yk: y})
                    if p is not None and p["rho"] is not None:
                        R[i, j] = p["rho"]
            if np.isfinite(R).all() and R.min() < 1.0 < R.max() and min(R.shape) >= 2:
                ax.contour(xpos, ypos, R, levels=[1.0], colors="k", linestyles="--")
                ax.plot([], [], "k--", label="check: ρ = 1")
        if ycat:
            ax.set_yticks(ypos, [str(v) for v in yv])
        ax.set_xlabel(key_label("loop_latency_cycles" if use_latency else xk))
        ax.set_ylabel(key_label(yk))
        ax.grid(True, alpha=0.3)
        _legend_outside(ax)
        ax.set_title("stable/unstable boundary: measured vs predicted", fontsize=9)
    fig.suptitle(f"{P.spec['config']}: where the loop diverges ({P.spec['seeds']} seeds per point)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_sweep(sweep_dir: Path, out_dir: Path | None = None, metric: str | None = None) -> list[Path]:
    """Draw the sweep's figures; returns the files written."""
    data = load(sweep_dir)
    rows = data["rows"]
    if metric is None:
        metric = next((r["headline"] for r in rows if r.get("headline")), "adc_error_ms_lsb2")
    if not any(_num(r.get(metric)) for r in rows) and not all(not r.get("stable") for r in rows):
        names = sorted({k for r in rows for k, v in r.items() if _num(v)})
        raise ConfigError("--metric", f"no numeric values of {metric!r} in the sweep; try one of {', '.join(names)}")
    P = Points(data, metric)
    _plt()
    out = Path(out_dir) if out_dir else Path(sweep_dir)
    files = [heatmap(P, out / "heatmap.png"), curves(P, out / "curves.png"), stability(P, out / "stability.png")]
    return [f for f in files if f is not None]
