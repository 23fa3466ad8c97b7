"""The fast back end (``--demon verilator-fast``): the golden loop with the RTL demon compiled by
Verilator and clocked from C++, every chain at once.

Its code stream is the golden run's with the same chain count: the pinned hashes of
``test_bundled_hashes`` (golden, 4 chains; golden with 1 chain = each cocotb simulator's), on a
Langevin config where the demon's force drives the plant (digital mode), on the analog-mode
default, and on a score-network config. Skipping idle edges is shown not to change anything: the
same hash as clocking every edge, while edges were skipped. A user's demon (``--rtl``) without
the bus runs against its own model.
"""

from __future__ import annotations


import pytest

import demonloop
from demonloop.cosim.fast import run_fast
from demonloop.cosim.reference import parse_reference
from demonloop.cosim.rtl import load_rtl
from tests.cli.test_main import run_cli
from tests.conftest import REPO
from tests.cosim.test_bundled_hashes import PINNED, small

#: One build per config: 4 lanes serve 1 chain and 4 chains.
LANES = 4
NEGATE = REPO / "tests" / "rtl" / "negate_demon"


@pytest.mark.sim
@pytest.mark.parametrize("name", ["gauss16_digital", "spu8_linear_solve", "diffusion_mixture"])
def test_fast_gives_the_golden_code_stream(name: str) -> None:
    four, one = PINNED[name]
    cfg = small(name)
    rep4, _ = run_fast(cfg.with_overrides({"chains": 4}), quiet=True, lanes=LANES)
    assert rep4["bit_exact"], rep4["mismatch"]
    assert rep4["codes_sha256"] == four and rep4["chains"] == 4
    rep1, _ = run_fast(cfg.with_overrides({"chains": 1}), quiet=True, lanes=LANES)
    assert rep1["bit_exact"], rep1["mismatch"]
    assert rep1["codes_sha256"] == one
    assert rep1["rtl_counters"] == rep1["golden_counters"]


@pytest.mark.sim
def test_skipping_idle_edges_changes_nothing() -> None:
    cfg = small("gauss16_digital").with_overrides({"chains": 4})
    skip, _ = run_fast(cfg, quiet=True, lanes=LANES, skip_idle=True)
    full, _ = run_fast(cfg, quiet=True, lanes=LANES, skip_idle=False)
    assert skip["bit_exact"] and full["bit_exact"]
    assert skip["codes_sha256"] == full["codes_sha256"] == PINNED["gauss16_digital"][0]
    assert skip["metrics"] == full["metrics"]
    assert full["edges_skipped"] == 0 and skip["edges_skipped"] > 0


@pytest.mark.sim
def test_a_users_demon_without_the_bus_runs_against_its_model() -> None:
    cfg = demonloop.load_config(REPO / "hw_configs" / "spu8_linear_solve.yaml",
                                overrides={"run.samples": 150, "run.burn_in_samples": 20, "chains": 3})
    ref = parse_reference(f"{NEGATE / 'model.py'}:negate")
    rep, _ = run_fast(cfg, rtl=load_rtl(NEGATE / "RTL.yaml"), reference=ref, quiet=True)
    assert rep["bit_exact"], rep["mismatch"]
    assert rep["rtl_counters"] is None and rep["demon_latency_measured"] == [1]
    assert rep["n_updates"] == 170
    golden, _ = run_fast(cfg, rtl=load_rtl(NEGATE / "RTL.yaml"), quiet=True)   # the linear unit's model
    assert not golden["bit_exact"] and golden["mismatch"]["kind"] in ("code", "timing")


def test_fast_refuses_waves_in_one_line(tmp_path, capsys) -> None:
    rc, out, err = run_cli(["run", "spu8_linear_solve", "--demon", "verilator-fast", "--waves", "--json",
                            "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and out == "" and err.startswith("error: --waves:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.sim
def test_the_python_api_runs_every_chain_at_once() -> None:
    res = demonloop.run(small("gauss16_digital"), demon="verilator-fast", chains=4)
    assert res.report["bit_exact"] and res.report["chains"] == 4
    assert res.report["codes_sha256"] == PINNED["gauss16_digital"][0]
    assert res.samples.shape[1:] == (4, 16)
