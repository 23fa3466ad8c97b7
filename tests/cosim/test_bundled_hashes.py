"""Every bundled config keeps its code streams at small sizes: ``codes_sha256`` (chain 0's ADC and
DAC codes), pinned, on the golden model with 4 chains and with 1 chain, and the RTL on each
simulator gives the 1-chain golden hash, bit-exact.

The DAC half of every pin was first computed by the code as it was before the package was
restructured (commit d7fa2f9) and checked unchanged after it and after the hash came to cover the
ADC codes too; a change to the model's arithmetic, the plant's random draws or the timeline shows
up here. Sizes: ``run.samples=100``, ``run.burn_in_samples=10`` (diffusions: their whole schedule;
the anneal: its 16 rows at 8 samples each, without the digital baseline). The anneal's pins were
first computed by the polynomial demon's commit, whose RTL matched them on both simulators.
"""

from __future__ import annotations

import pytest

import demonloop
from demonloop.cosim.simulators import cocotb_names
from tests.conftest import REPO

#: config: (golden, 4 chains; golden, 1 chain = each simulator's)
PINNED = {
    "diffusion_digits": ("5686a9aece796666e6ae85a45318519abfd63d58b3ba9dc11bd59cbd6be26064",
                         "2b8734c2f6cd9bbbb3364a51324fbbfdb799c7b02a0193aa37abaa8443d996af"),
    "diffusion_mixture": ("08b65ff067d5be3bbfa4f4d599d64098db0839955b272d09e6e0513f2cc26cd6",
                          "03d511c7606949cb1a2cb2290de8556c0395d661ad6e4c39b05aa7a2eff2a93a"),
    "diffusion_spiral": ("02b6bb60cbeadbdb7bc05ac783a33ab80ff85f1162c742de8969883055d5199c",
                         "492acf7066436136491b524f8f514552a800f9d2bfedb1ba469e8245daa857a5"),
    "maxcut_anneal": ("e75ef39e3a26bb655dc17adc7219d208a568df0fa4de0cdd2e5edd97b40a172f",
                      "25f65ea95b960f2a10103bf7c7a21875ec50c0856f068f5b14ce4e341b5ff4c3"),
    "gauss16_digital": ("afeb6a676f04858d7226cd588d09212191a7ac7ee20e0bbf176fb98b5a4cfc42",
                        "863aa46466cfe451fb80038e90b86628a63baa1eda1d2ea3e01468f6185bb6aa"),
    "posterior_iris": ("19a4105ac794634870ceef09473665237bb5f4cbd123a31d0fa4c46a5a6a611a",
                       "e47705a514b47f5e824c380c7a9e9abe4adcc6c5ddfdadbaf27450f344d89afa"),
    "posterior_ring": ("b6df4f80e0b791a7555170abd118ec60f0e30785160f43ed0a2a8df33b7c6a72",
                       "cd2ea692553e2ff3d25b5fb7befb2b67f01ec7a0ea7bc89422e358d04729b8e4"),
    "posterior_wells": ("2c8e9bacd4de8dae79f4304c74dd0a4577b75d45b2c797d88a4544f0897cea40",
                        "ccaa57cb50c956b20d73763a620812da0a7aef58fb11550cc93894687f2c11f5"),
    "rlc8_gaussian": ("91ab9727a9dd24bd117b89f752ce67845b0a45ef5f19e73a3bc12d47366f96f3",
                      "25fd594a5eec0e6687e5aa706cd421a0f6122f5b4787c9699b8c58612287927b"),
    "spu8_linear_solve": ("51f763a75d9af7b7041c1c20465212da0d38c936b14865090477703bd8e00817",
                          "8fb7495389b2fd2da1bb850dfa1d893cb16ada299f59a283ad2b5e6a0453f620"),
}


def small(name: str):
    if name == "maxcut_anneal":
        over = {"workload.schedule.dwell_samples": 8, "workload.baseline.enabled": False}
    else:
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
@pytest.mark.parametrize("simulator", cocotb_names())
def test_rtl_code_stream_is_the_golden_one(simulator: str, name: str) -> None:
    rep = demonloop.run(small(name), demon=simulator).report
    assert rep["bit_exact"], rep.get("mismatch")
    assert rep["codes_sha256"] == PINNED[name][1]


def test_analog_mode_hash_depends_on_the_seed() -> None:
    """In analog mode the DAC stream is constant (b only), so a DAC-only hash would be the same for
    every seed; the ADC half makes each seed's run its own."""
    from demonloop.loop import Loop

    hashes, dac = set(), set()
    for seed in (1, 2, 3):
        cfg = small("spu8_linear_solve")
        assert cfg.compiler.mode == "analog"
        rep = demonloop.run(cfg, seed=seed, chains=1).report
        hashes.add(rep["codes_sha256"])
        program = demonloop.workloads.of(cfg).compile(cfg)
        loop = Loop(program, 1, seed)
        loop.run_golden(lambda m, X: None)
        dac.add(loop.hasher._dac.hexdigest())
        assert loop.hasher.hexdigest() == rep["codes_sha256"]
    assert len(dac) == 1
    assert len(hashes) == 3
