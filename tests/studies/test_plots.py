"""Sweep figures that do not mislead: the curves say which series they show when there are more
than they draw, legends sit off the data (figures are saved with a tight box, so no label is clipped)."""

from __future__ import annotations

import itertools

import pytest

from demonloop.studies import plots


def sweep_data(axes: dict) -> dict:
    rows = []
    for p, combo in enumerate(itertools.product(*axes.values())):
        vals = dict(zip(axes, combo))
        rows.append({"point": p, "stable": True, "cov_rel_error": 0.01 * (1 + sum(combo)),
                     "predicted_spectral_radius": 0.5 + 0.01 * p, "loop_latency_cycles": 10,
                     "f_clk_Hz": 100e6, **vals})
    return {"sweep": {"axes": [{"key": k, "values": v} for k, v in axes.items()], "config": "synthetic",
                      "seeds": 1}, "rows": rows}


@pytest.fixture
def figures(monkeypatch):
    """The figures drawn, kept open instead of saved."""
    kept = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: kept.append(fig) or path)
    plots._plt()
    yield kept
    for f in kept:
        plots.plt.close(f)


def test_curves_name_the_series_they_show_and_keep_legends_off_the_data(figures, tmp_path):
    P = plots.Points(sweep_data({"adc.bits": [8, 10, 12], "dac.bits": [8, 10, 12], "adc.noise_V": [0.0, 0.1, 0.2]}),
                     "cov_rel_error")
    plots.curves(P, tmp_path / "c.png")
    fig = figures[-1]
    fig.canvas.draw()
    ax = fig.axes[0]
    # 9 combinations of the other two keys, 8 drawn: the title says so, not "8 of the series"
    assert "series shown: 8 of 9" in ax.get_title()
    assert len(ax.get_legend().get_texts()) == 8
    leg = ax.get_legend().get_window_extent()
    assert leg.x0 >= ax.get_window_extent().x1          # to the right of the axes, off the data


def test_heatmap_legend_is_above_the_axes(figures, tmp_path):
    P = plots.Points(sweep_data({"demon.latency_cycles": list(range(0, 120, 10)), "adc.bits": [8, 10, 12]}),
                     "cov_rel_error")
    plots.heatmap(P, tmp_path / "h.png")
    fig = figures[-1]
    fig.canvas.draw()
    ax = fig.axes[0]
    leg = ax.get_legend().get_window_extent()
    assert leg.y0 >= ax.get_window_extent().y1 - 1e-6   # above the axes, off the cells


def test_shown_note_is_empty_when_every_series_is_drawn():
    assert plots._shown([("a", {})] * 3, 3) == ""
    assert "3 of 5" in plots._shown([("a", {})] * 3, 5)
