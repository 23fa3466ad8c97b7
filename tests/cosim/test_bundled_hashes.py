"""Every bundled config keeps its DAC code stream at small sizes: the SHA-256 of chain 0's codes
(``codes_sha256``), pinned, on the golden model with 4 chains and with 1 chain, and the RTL on
each simulator gives the 1-chain golden hash, bit-exact.

The pins were computed by the code as it was before the package was restructured (commit
d7fa2f9, whose package was still named after its folder) and checked unchanged after it; a change to the model's arithmetic, the
plant's random draws or the timeline shows up here. Sizes: ``run.samples=100``,
``run.burn_in_samples=10`` (diffusions: their whole schedule).
"""

from __future__ import annotations

import pytest

import demonloop
from demonloop.cosim.simulators import SIMULATORS
from tests.conftest import REPO

#: config: (golden, 4 chains; golden, 1 chain = each simulator's)
PINNED = {
    "diffusion_digits": ("f9e71c9604844f5fc8f49680ac73862c65a33dd4c964b408a2ef0f2ebe662c9c",
                        "3637a5cf7b3a736f2bb6cd347a5417af76b2b18c910e49b96d947e6e0a3617e5"),
    "diffusion_mixture": ("fbbc6e8a4127f0e63522183147e234058141311986c0f7b81ab2dd3e1b8cfa47",
                         "37e256996c99e593ff66327167b31fa5de23539277a65ba6d4d02dcb9afc5331"),
    "diffusion_spiral": ("bddb145044c17e28dd0956ef2ec806f6ae702e110136640af82ccf4494c538e2",
                        "e49184d334b7a45302cd3640fde804156ef956b1395e122c7a342fb8dc1daef6"),
    "gauss16_digital": ("785a81c51a278792717a681b04113ec1e16d47652f731d74eebde735c15cddc6",
                       "f9fbef21980e7209c4edf5dee21782517a3d73d29601947967d0073424bc5e6c"),
    "posterior_iris": ("25e8269cbf8d784dca8cc90ecc99b1642804858d23dc7aa311792327f541312f",
                      "979d80cd3de0a8726856d91108b13b9d46c6ec78668a8357f13c86866d43e2ad"),
    "posterior_ring": ("efd4733ab2708935d23621fb0dab8a9baac696ffefaf6bc822a82f4bda904449",
                      "82c00c288a6918c26d26ce8f9cd9fc0e7a3a8877092c201aa2017f4bce37d540"),
    "posterior_wells": ("8e2ce7bd57e032d5339f3ad8a67640d6ad44faa40a8fcf88bb9d936f995f614b",
                       "689c876cd026fe672a8b553afad75381264de8cfe357a9c1cd20528ca5521da8"),
    "rlc8_gaussian": ("36a26ecce01fa5b0397415be067d3d275359a48fce772eb50a916862e0bec1d6",
                     "36a26ecce01fa5b0397415be067d3d275359a48fce772eb50a916862e0bec1d6"),
    "spu8_linear_solve": ("bd50b6e7953066ce67bf9307887897c7636d75e9a5e89c210c267b5eeb97c4e8",
                         "bd50b6e7953066ce67bf9307887897c7636d75e9a5e89c210c267b5eeb97c4e8"),
}


def small(name: str):
    over = {} if name.startswith("diffusion_") else {"run.samples": 100, "run.burn_in_samples": 10}
    return demonloop.load_config(REPO / "hw_configs" / f"{name}.yaml", overrides=over)


def test_every_bundled_config_is_pinned() -> None:
    assert sorted(PINNED) == sorted(p.stem for p in (REPO / "hw_configs").glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(PINNED))
def test_golden_code_stream_is_pinned(name: str) -> None:
    four, one = PINNED[name]
    assert demonloop.run(small(name), chains=4).report["codes_sha256"] == four
    assert demonloop.run(small(name), chains=1).report["codes_sha256"] == one


@pytest.mark.sim
@pytest.mark.parametrize("name", sorted(PINNED))
@pytest.mark.parametrize("simulator", SIMULATORS.names())
def test_rtl_code_stream_is_the_golden_one(simulator: str, name: str) -> None:
    rep = demonloop.run(small(name), demon=simulator).report
    assert rep["bit_exact"], rep.get("mismatch")
    assert rep["codes_sha256"] == PINNED[name][1]
