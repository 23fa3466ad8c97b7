"""The anneal workload: exact optima of graphs whose max-cut is known in closed form, the block
enumeration against plain enumeration, the QUBO-to-Ising identity on every assignment, the 99%
time to solution, the compiled double well (its zero force at the wells, in fixed point), bad
input, and a short run's report."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from demonloop.config import ConfigError, load_config
from demonloop.workloads.anneal import (Instance, compile_anneal, ground_state, qubo_to_ising, score_spins,
                                        spins_of, tts99)
from tests.conftest import REPO

MAXCUT = REPO / "hw_configs" / "maxcut_anneal.yaml"


def maxcut_instance(G) -> Instance:
    W = nx.to_numpy_array(G, nodelist=sorted(G.nodes()))
    return Instance("maxcut", W.copy(), np.zeros(len(W)), 0.0, W)


def max_cut(G) -> float:
    inst = maxcut_instance(G)
    _, s, _ = ground_state(inst)
    return float(inst.objective(s))


@pytest.mark.parametrize("G, cut", [
    (nx.complete_graph(3), 2),                     # a triangle: one edge stays uncut
    (nx.complete_graph(4), 4),                     # K_n: floor(n/2) ceil(n/2)
    (nx.complete_graph(7), 12),
    (nx.cycle_graph(5), 4),                        # odd cycle: n - 1
    (nx.cycle_graph(6), 6),                        # even cycle: bipartite, every edge
    (nx.complete_bipartite_graph(3, 4), 12),       # bipartite: every edge
    (nx.petersen_graph(), 12),                     # 15 edges, max cut 12
    (nx.hypercube_graph(4), 32),                   # bipartite, 16 nodes, 32 edges
])
def test_exact_max_cut_of_known_graphs(G, cut):
    G = nx.convert_node_labels_to_integers(G)
    assert max_cut(G) == cut


def test_block_enumeration_equals_plain_enumeration():
    rng = np.random.default_rng(4)
    for n in (1, 5, 13):                           # below and above the 12-spin block
        J = np.triu(rng.normal(size=(n, n)), 1)
        J = J + J.T
        inst = Instance("ising", J, rng.normal(size=n), 0.7)
        S = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
        E = inst.energy(S)
        best, s, count = ground_state(inst)
        assert best == pytest.approx(E.min(), abs=1e-9)
        assert inst.energy(s) == pytest.approx(E.min(), abs=1e-9)
        assert count == int(np.sum(E <= E.min() + 1e-9))


def test_max_cut_ground_states_come_in_pairs():
    """A max-cut instance has no field: s and -s are both optimal."""
    G = nx.convert_node_labels_to_integers(nx.petersen_graph())
    _, _, count = ground_state(maxcut_instance(G))
    assert count % 2 == 0 and count >= 2


def test_qubo_to_ising_on_every_assignment():
    rng = np.random.default_rng(5)
    Q = rng.normal(size=(6, 6))
    J, h, const = qubo_to_ising(Q)
    inst = Instance("qubo", J, h, const)
    for bits in itertools.product([0.0, 1.0], repeat=6):
        x = np.array(bits)
        assert inst.energy(2 * x - 1) == pytest.approx(x @ Q @ x, abs=1e-12)


def test_tts99_closed_form():
    assert tts99(1e-3, 0.5) == pytest.approx(1e-3 * math.log(0.01) / math.log(0.5))
    assert tts99(2e-3, 0.99) == 2e-3 and tts99(2e-3, 1.0) == 2e-3
    assert tts99(1.0, 0.0) == math.inf
    # p = 1 - 0.01**(1/r): exactly r runs give 99% confidence
    assert tts99(1.0, 1 - 0.01 ** (1 / 7)) == pytest.approx(7.0)


def test_spins_and_success_probability():
    G = nx.cycle_graph(4)
    inst = maxcut_instance(G)
    s = spins_of(np.array([[3, -1, 0, -7], [1, 1, 1, 1], [-2, 5, -2, 5]]))
    assert s.tolist() == [[1, -1, 1, -1], [1, 1, 1, 1], [-1, 1, -1, 1]]
    sc = score_spins(inst, s, 4.0, 1e-3)
    assert sc["success_probability"] == pytest.approx(2 / 3)
    assert sc["best"] == 4.0 and sc["gap"] == 0.0
    assert sc["success_probability_se"] == pytest.approx(math.sqrt(2 / 9 / 3))


def test_compiled_double_well_has_zero_force_at_the_wells():
    """With the couplings off (g = 0) and no leak (R at its largest accepted value, 1 TΩ), the compiled self force
    -(2a x + 4c x^3) of every row is zero at x = +-well, negative just outside and positive
    just inside (codes from the golden model). The well is put at 1/2, an exact ADC code."""
    cfg = load_config(MAXCUT).with_overrides({"array.R_ohm": 1e12, "workload.well": 0.5})
    p = compile_anneal(cfg)
    S = p.schedule_raw.copy()
    S[:, 0] = 0
    from demonloop.demon.polynomial import PolynomialDemon

    d = PolynomialDemon(p.spec, p.J_raw, p.b_raw, S, p.dwell)
    half = 1 << (cfg.adc.bits - 1)
    X0 = int(round(cfg.workload.well * half))
    for k in range(S.shape[0]):
        F, _ = d.force_at(np.array([[X0] * cfg.n, [-X0] * cfg.n, [X0 + 40] * cfg.n, [X0 - 40] * cfg.n]), k)
        assert np.all(F[0] == 0) and np.all(F[1] == 0)
        assert np.all(F[2] < 0) and np.all(F[3] > 0)


def test_bad_graphs_name_the_field():
    base = load_config(MAXCUT)
    with pytest.raises(ConfigError) as e:
        base.with_overrides({"workload.graph": {"edges": [[0, 0]]}})
    assert "workload.graph.edges.0" in str(e.value)
    with pytest.raises(ConfigError) as e:
        base.with_overrides({"workload.graph": {"random_regular": {"degree": 3, "seed": 1}, "edges": [[0, 1]]}})
    assert "workload.graph" in str(e.value)
    with pytest.raises(ConfigError) as e:
        base.with_overrides({"workload.schedule.steps": 17})
    assert "workload.schedule.steps" in str(e.value)


def test_a_short_run_reports_the_annealing_metrics():
    from demonloop.loop import run_golden

    cfg = load_config(MAXCUT).with_overrides({"chains": 64, "workload.schedule.dwell_samples": 20,
                                              "workload.baseline.num_reads": 50, "workload.baseline.num_sweeps": 200})
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    assert m["optimum"] == max_cut(nx.random_regular_graph(3, 16, seed=7))
    assert 0.0 <= m["success_probability"] <= 1.0 and m["best"] <= m["optimum"]
    assert m["anneal_time_s"] == pytest.approx(16 * 20 * cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz)
    sa = m["digital_sa"]
    assert sa["num_reads"] == 50 and sa["best"] <= m["optimum"] and sa["wall_s"] > 0


def test_a_qubo_instance_runs_and_is_scored_against_enumeration():
    """A 6-variable QUBO through the whole path: compile, anneal, score; the reported optimum is
    the minimum of x^T Q x over all 64 assignments, and every chain's energy is an x^T Q x value."""
    from demonloop.loop import run_golden

    rng = np.random.default_rng(11)
    Q = np.round(rng.normal(size=(6, 6)), 2)
    cfg = load_config(MAXCUT).with_overrides({
        "chains": 64, "array.n": 6, "demon.multipliers": 3, "workload.problem": "qubo", "workload.graph": None,
        "workload.Q": Q.tolist(), "workload.schedule.dwell_samples": 20, "workload.baseline.num_reads": 20,
        "workload.baseline.num_sweeps": 100})
    rep, est = run_golden(cfg)
    m = rep["metrics"]
    values = [np.array(x) @ Q @ np.array(x) for x in itertools.product([0.0, 1.0], repeat=6)]
    assert m["objective"] == "energy" and m["optimum"] == pytest.approx(min(values), abs=1e-9)
    x = (est.estimate()["spins"] + 1) / 2
    assert np.allclose(est.estimate()["objective"], np.einsum("ci,ij,cj->c", x, Q, x))
    assert m["best"] >= m["optimum"] - 1e-9
