"""Figures of a run: the estimate against the exact answer, and the error against samples."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from demonloop.report import atomic_write  # noqa: E402


def run_figure(rep: dict, path: Path) -> None:
    """Two panels: estimate vs exact (with 2-sigma error bars where known), and the headline
    error against samples per chain on log axes with the 1/sqrt(samples) slope for reference."""
    m = rep["metrics"]
    kind = rep["workload"]
    if kind == "linear_solve":
        fig, (ax1, ax3, ax2) = plt.subplots(1, 3, figsize=(15, 4.4))
    else:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    fig.suptitle(f"{rep['config']} — {kind}, {rep['mode']} mode, {rep['demon']} demon, "
                 f"{rep['chains']:,} chains")
    if kind == "linear_solve":
        x, se, ex = np.array(m["solution"]), np.array(m["solution_se"]), np.array(m["exact"])
        idx = np.arange(len(x))
        ax1.errorbar(idx, x, yerr=2 * se, fmt="o", ms=5, capsize=3, label="hardware estimate (±2 SE)")
        ax1.plot(idx, ex, "kx", ms=8, label="numpy.linalg.solve")
        ax1.set_xlabel("component i")
        ax1.set_ylabel("x_i")
        ax1.set_title("solution of A x = b")
        ax3.axhline(0.0, color="k", lw=0.8)
        ax3.errorbar(idx, x - ex, yerr=2 * se, fmt="o", ms=5, capsize=3, color="C1")
        ax3.set_xlabel("component i")
        ax3.set_ylabel("x_i (hardware) - x_i (exact)")
        ax3.set_title(f"residual, ±2 standard errors (rel. error {m['rel_error']:.2g})")
    elif kind in ("gaussian", "inverse"):
        est = np.array(m["covariance"] if kind == "gaussian" else m["inverse"])
        exact = np.array(m["exact_covariance"] if kind == "gaussian" else m["exact"])
        ax1.plot(exact.ravel(), est.ravel(), "o", ms=3, alpha=0.7, label="entries")
        lo, hi = min(exact.min(), est.min()), max(exact.max(), est.max())
        ax1.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="y = x")
        ax1.set_xlabel("exact " + ("covariance" if kind == "gaussian" else "A⁻¹") + " entry")
        ax1.set_ylabel("sampled")
        ax1.set_title("covariance entries, sampled vs exact")
    else:
        ax1.bar(["exact", "hardware"], [m["exact"], m["logdet"]],
                yerr=[0, 2 * (m["standard_error"] or 0)], capsize=4, color=["0.6", "C0"])
        ax1.set_ylabel("log det A")
        ax1.set_title("log-determinant")
    ax1.legend(loc="best", fontsize=8) if kind != "logdet" else None
    curve = np.array(rep.get("curve") or [])
    if len(curve):
        k, e = curve[:, 0], np.abs(curve[:, 1])
        ax2.loglog(k, e, "o-", ms=3, label=f"{rep['headline']} (hardware)")
        ref = e[-1] * np.sqrt(k[-1] / k)
        ax2.loglog(k, ref, "k--", lw=0.8, label="∝ 1/√samples")
        ax2.set_xlabel("samples per chain")
        ax2.set_ylabel(rep["headline"])
        ax2.set_title("error against samples")
        ax2.legend(fontsize=8)
        ax2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
