"""The RTL regressions' one runner: build ``tb_demon_top`` for a parameter set in the test's own
temporary folder (never in the repository; ``pytest -n auto`` never shares one), run a cocotb
module of this folder on it, with a seed that is printed and replayable."""

from __future__ import annotations

import os
import zlib

import pytest

from demonloop.cosim import simulators as sim


def seed_for(name: str) -> int:
    """``$DEMONLOOP_SEED`` if set (replay), else a fixed seed per parameter set."""
    env = os.environ.get("DEMONLOOP_SEED")
    return int(env) if env else zlib.crc32(name.encode()) & 0x7FFF_FFFF


@pytest.fixture
def cocotb_regression(request: pytest.FixtureRequest, tmp_path):
    """``run(simulator, params, module, name)``: build for ``params`` and run the cocotb tests of
    ``tests/rtl/<module>.py`` with the seed of parameter set ``name``."""

    def run(simulator: str, params: dict, module: str, name: str) -> None:
        seed = seed_for(name)
        build_dir = tmp_path / "build"
        print(f"{request.node.nodeid}: seed {seed} (replay with DEMONLOOP_SEED={seed}); build and waves in {build_dir}")
        sim.build_and_run(simulator, params, f"tests.rtl.{module}", seed=seed, build_dir=build_dir)

    return run
