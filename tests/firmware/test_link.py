"""Freestanding links of the C firmware for one Arm and one RISC-V core, and its link-time-optimised
build under ``-Werror``.

``make freestanding`` links ``src/demon.c`` with ``platform/baremetal.c`` alone using
``-ffreestanding -nostdlib`` and *no* libgcc (Cortex-M4 with ``arm-none-eabi-gcc``, rv32imac with
``riscv64-unknown-elf-gcc``): any hidden call (a struct copy lowered to ``memcpy``, a division helper)
is an undefined reference and fails the link. The programs link too, with ``-lgcc`` only, and what
they take from libgcc must be its 64-bit integer helpers, as ``include/demon.h`` documents.

The cross compilers are Debian's ``gcc-arm-none-eabi`` and ``gcc-riscv64-unknown-elf``;
``tools/setup.sh`` installs them where apt has them. A missing one fails with that hint.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
CROSS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "riscv64-unknown-elf-gcc": "gcc-riscv64-unknown-elf"}
# libgcc's 64-bit integer arithmetic (division, remainder, shifts, multiply, count-leading-zeros
# table used by the division) and its divide-by-zero hook: what int64 arithmetic needs on a
# 32-bit core, nothing else.
INT64_HELPER = re.compile(r"^_(aeabi_l?u?l?divmod|u?divmoddi4|u?divdi3|u?moddi3|ashldi3|ashrdi3|lshrdi3|muldi3|clz|dvmd_tls)\.o$")


def _need_cross() -> None:
    for tool, pkg in CROSS.items():
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the freestanding link test: `sudo apt-get install {pkg}` "
                        f"(or run tools/setup.sh, which installs it where the OS packages it)")


def _make(target: str, build: Path, *extra: str) -> subprocess.CompletedProcess:
    assert shutil.which("make"), "make is needed: `sudo apt-get install make`, or run `tools/setup.sh`"
    return subprocess.run(["make", "-C", str(FIRMWARE), target, f"BUILD={build}", *extra], capture_output=True,
                          text=True, timeout=300)


def _libgcc_members(map_file: Path) -> set[str]:
    """Archive members of libgcc.a the linker pulled in (from its map file)."""
    return set(re.findall(r"libgcc\.a\(([^)]+)\)", map_file.read_text()))


@pytest.mark.parametrize("opt", ["-O2", "-Os", "-O3"])
def test_driver_links_freestanding_without_any_library(tmp_path: Path, opt: str) -> None:
    _need_cross()
    r = _make("freestanding", tmp_path, f"OPT={opt}")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # the driver-only links name no library at all
    driver_lines = [ln for ln in out.splitlines() if "_driver.elf" in ln and "-o" in ln]
    assert len(driver_lines) == 2 and all("-nostdlib" in ln and "-ffreestanding" in ln and "-lgcc" not in ln
                                          for ln in driver_lines), out
    for target in ("cm4", "rv32"):
        assert (tmp_path / "free" / f"{target}_driver.elf").stat().st_size > 0
        members = _libgcc_members(tmp_path / "free" / f"{target}_programs.elf.map")
        odd = {m for m in members if not INT64_HELPER.match(m)}
        assert not odd, f"{target}: the programs pull more than libgcc's int64 helpers: {sorted(odd)}"


def test_an_lto_build_is_warning_free(tmp_path: Path) -> None:
    r = _make("lto", tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "-flto" in out and "-Werror" in out and " 0 failed" in out


def test_a_struct_copy_would_fail_the_link(tmp_path: Path) -> None:
    """The link test can fail: a driver with a large struct assignment needs memcpy."""
    _need_cross()
    src = tmp_path / "copy.c"
    src.write_text("struct big { unsigned w[64]; };\n"
                   "void demon_init(struct big *a, const struct big *b) { *a = *b; }\n")
    r = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-ffreestanding", "-nostdlib",
                        "-Wl,-e,demon_init", "-o", str(tmp_path / "copy.elf"), str(src)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "memcpy" in r.stderr
