"""A verification engineer's own cocotb test: the serial demon, configured over its own bus by
its own test, with demonloop's emulated analog array in the loop (demonloop.cocotb)."""

from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from demonloop.cocotb import AnalogArray, StreamBus

HERE = Path(__file__).resolve().parent


@cocotb.test()
async def serial_demon_in_the_loop(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    array = AnalogArray(dut.clk, StreamBus.from_prefix(dut, "adc"), StreamBus.from_prefix(dut, "dac"),
                        HERE / "gauss8_digital.yaml", overrides={"run.samples": 600})
    bus = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    await array.reset(dut.rst)
    for i, a in enumerate(array.program.A_raw.ravel().tolist()):          # the coefficients the
        await bus.write_dword(0x1000 + 4 * i, a & 0xFFFF_FFFF)             # config compiles to
    for i, b in enumerate(array.program.b_raw.tolist()):
        await bus.write_dword(0x6000 + 4 * i, b & 0xFFFF_FFFF)
    await bus.write_dword(0x0020, 1)                                       # CTRL.ENABLE
    report = await array.run(reference=f"{HERE / 'model.py'}:serial_model")
    assert report["bit_exact"], report["mismatch"]
    m = report["metrics"]
    cocotb.log.info("bit exact against the model, %d outputs; covariance error %.3g, mean error %.3g; codes %s",
                    report["outputs_checked"], m["cov_rel_error"], m["mean_error"], report["codes_sha256"][:16])
