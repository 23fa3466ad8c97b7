"""Host tests of the C firmware (firmware/): the driver's unit tests against the register-file
model, built with ``-std=c99 -Wall -Wextra -Werror`` and AddressSanitizer + UBSan; the bare-metal
platform built with the same flags; the exact register writes of a coefficient load compared with
the register map (emulator/demon/regs.py, generated from rtl/regmap.yaml, not from the C code).

Every build goes to its own temporary folder (``make BUILD=...``), so ``pytest -n auto`` is safe.
gcc and make are the only tools needed (``sudo apt-get install gcc make``, or ``tools/setup.sh``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from demonloop.demon import regs
ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
STRICT = "-std=c99 -Wall -Wextra -Werror"
SANITIZE = "-fsanitize=address,undefined"


def make(target: str, build: Path, cwd: Path = FIRMWARE, **kw) -> subprocess.CompletedProcess:
    for tool in ("make", "gcc"):
        assert shutil.which(tool), f"{tool} is needed: `sudo apt-get install {tool}`, or run `tools/setup.sh`"
    return subprocess.run(["make", "-C", str(cwd), target, f"BUILD={build}"], capture_output=True, text=True,
                          timeout=300, **kw)


def test_unit_tests_pass_under_sanitizers(tmp_path: Path) -> None:
    r = make("check", tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert STRICT in out and SANITIZE in out, "the unit tests must be built strict and sanitized"
    assert " 0 failed" in out
    checks = int(out.split(" checks,")[0].split()[-1])
    assert checks > 400


def test_baremetal_platform_and_fil_library_build_strict(tmp_path: Path) -> None:
    r = make("baremetal", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert STRICT in r.stdout and "platform/baremetal.c" in r.stdout
    assert (tmp_path / "baremetal" / "baremetal.o").is_file() and (tmp_path / "baremetal" / "demon.o").is_file()
    r = make("fil", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert STRICT in r.stdout and (tmp_path / "libdemon_fil.so").is_file()


def _copy_firmware(tmp_path: Path) -> Path:
    dst = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, dst, ignore=shutil.ignore_patterns("build"))
    return dst


def test_a_warning_fails_the_build(tmp_path: Path) -> None:
    # -Werror is live: an unused variable in the driver breaks every build.
    fw = _copy_firmware(tmp_path)
    src = fw / "src" / "demon.c"
    text = src.read_text()
    src.write_text(text.replace("demon_status_t demon_reset(demon_dev_t *dev)\n{",
                                "demon_status_t demon_reset(demon_dev_t *dev)\n{\n    int unused_variable;", 1))
    for target in ("all", "baremetal", "check"):
        r = make(target, tmp_path / f"build-{target}", cwd=fw)
        assert r.returncode != 0 and "unused_variable" in r.stderr, target


PROBES = {
    # UBSan: an index past a fixed-size array
    "ubsan": ("volatile int probe[4] = {0, 1, 2, 3};\n    volatile int k = 4;\n    CHECK(probe[k] != 99);\n",
              "runtime error: index 4 out of bounds"),
    # ASan: a read of a freed heap block (beyond what UBSan sees)
    "asan": ("int *probe = (int *)calloc(4, sizeof(int));\n    int *volatile alias = probe;\n"
             "    free(probe);\n    CHECK(alias[1] != 99);\n",
             "AddressSanitizer: heap-use-after-free"),
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_sanitizers_are_live(tmp_path: Path, probe: str) -> None:
    fw = _copy_firmware(tmp_path)
    test = fw / "tests" / "test_driver.c"
    code, message = PROBES[probe]
    head = "static void test_status_names(void)\n{\n"
    test.write_text(test.read_text().replace(head, head + "    " + code, 1))
    r = make("check", tmp_path / "build", cwd=fw)
    assert r.returncode != 0 and message in r.stderr, r.stdout + r.stderr


@pytest.fixture(scope="module")
def test_driver_exe(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("fw")
    exe = build / "test_driver"
    r = make(str(exe), build)
    assert r.returncode == 0, r.stdout + r.stderr
    return exe


def _load_trace(exe: Path, n: int, coef_w: int, bias_w: int, A: np.ndarray, b: np.ndarray) -> list[str]:
    text = f"linear {n} {coef_w} {bias_w}\n" + " ".join(str(int(v)) for v in np.concatenate([A.ravel(), b])) + "\n"
    return _run_trace(exe, text)


def _run_trace(exe: Path, text: str) -> list[str]:
    r = subprocess.run([str(exe), "--load-trace"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")[:-1]


def _stop_check() -> list[str]:
    """What opens every coefficient load: CTRL then STATUS read (the unit must be stopped and idle,
    rtl/README.md "Coefficient memory"); compared by op and offset."""
    return [f"R 0x{regs.CTRL_OFFSET:04X}", f"R 0x{regs.STATUS_OFFSET:04X}"]


def _ops(lines: list[str]) -> list[str]:
    """Writes whole; reads by op and offset only (the value read is the model's)."""
    return [ln[:8] if ln.startswith("R ") else ln for ln in lines]


def _raw(rng: np.random.Generator, width: int, size) -> np.ndarray:
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    v = rng.integers(lo, hi, size=size, endpoint=True)
    flat = v.reshape(-1)
    flat[0], flat[-1] = lo, hi          # both extremes of the format always present
    return v


@pytest.mark.parametrize("n,coef_w,bias_w", [(4, 12, 12), (8, 16, 16), (5, 2, 32), (16, 32, 7), (64, 9, 20)])
def test_coefficient_load_writes_what_the_register_map_says(test_driver_exe: Path, n: int, coef_w: int, bias_w: int) -> None:
    # rtl/regmap.yaml: COEF_A entry r*N + c at COEF_A + 4*(r*N + c), COEF_B entry r at COEF_B + 4*r,
    # one raw two's-complement value per 32-bit word. The driver writes exactly that, A first,
    # in entry order, nothing else; each load opens with its stopped-and-idle check.
    rng = np.random.default_rng(n * 1000 + coef_w)
    A = _raw(rng, coef_w, (n, n))
    b = _raw(rng, bias_w, n)
    lines = _load_trace(test_driver_exe, n, coef_w, bias_w, A, b)
    assert lines[0] == "DEMON_OK"
    expected = _stop_check() + [f"W 0x{regs.COEF_A.entry_offset(r * n + c):04X} 0x{int(A[r, c]) & 0xFFFF_FFFF:08X}"
                                for r in range(n) for c in range(n)]
    expected += _stop_check() + [f"W 0x{regs.COEF_B.entry_offset(r):04X} 0x{int(b[r]) & 0xFFFF_FFFF:08X}"
                                 for r in range(n)]
    assert _ops(lines[1:]) == expected


@pytest.mark.parametrize("which,where", [("A", 0), ("A", -1), ("b", 0), ("b", -1)])
def test_an_out_of_range_coefficient_writes_nothing(test_driver_exe: Path, which: str, where: int) -> None:
    n, coef_w, bias_w = 6, 10, 14
    rng = np.random.default_rng(7)
    A = _raw(rng, coef_w, (n, n))
    b = _raw(rng, bias_w, n)
    if which == "A":
        A.reshape(-1)[where] = (1 << (coef_w - 1)) if where else -(1 << (coef_w - 1)) - 1
    else:
        b[where] = (1 << (bias_w - 1)) if where else -(1 << (bias_w - 1)) - 1
    lines = _load_trace(test_driver_exe, n, coef_w, bias_w, A, b)
    assert lines[0] == "DEMON_E_RANGE"
    if which == "A":
        assert lines[1:] == []                      # not one register written
    else:
        # A only (after its check); b's range is checked before b's check, so nothing of b
        assert _ops(lines[1:3]) == _stop_check()
        assert len(lines[3:]) == n * n and all(x.startswith("W 0x1") for x in lines[3:])


@pytest.mark.parametrize("n,emb,hidden,weight_w,bias_w", [(2, 2, (5, 3), 16, 14), (3, 0, (4,), 8, 20),
                                                        (4, 16, (7, 6, 5), 32, 2)])
def test_network_load_writes_what_the_register_map_says(test_driver_exe: Path, n: int, emb: int, hidden: tuple,
                                                        weight_w: int, bias_w: int) -> None:
    # rtl/regmap.yaml: MLP_W holds the layers one after another (input layer first), each W_l
    # (out_l, in_l) row-major, in_0 = N + E; MLP_B the biases layer by layer. The driver loads layer
    # by layer, each layer's weights then its biases.
    rng = np.random.default_rng(sum(hidden) + emb)
    sizes = [n + emb, *hidden, n]
    Ws = [_raw(rng, weight_w, (sizes[l + 1], sizes[l])) for l in range(len(sizes) - 1)]
    bs = [_raw(rng, bias_w, sizes[l + 1]) for l in range(len(sizes) - 1)]
    h = list(hidden) + [0] * (3 - len(hidden))
    text = (f"mlp {n} {emb} {len(hidden)} {h[0]} {h[1]} {h[2]} {weight_w} {bias_w}\n"
            + " ".join(str(int(v)) for v in np.concatenate([W.ravel() for W in Ws] + bs)) + "\n")
    lines = _run_trace(test_driver_exe, text)
    assert lines[0] == "DEMON_OK"
    expected, w0, b0 = [], 0, 0
    for W, b in zip(Ws, bs):
        expected += _stop_check()
        expected += [f"W 0x{regs.MLP_W.entry_offset(w0 + i):04X} 0x{int(v) & 0xFFFF_FFFF:08X}" for i, v in enumerate(W.ravel())]
        expected += [f"W 0x{regs.MLP_B.entry_offset(b0 + i):04X} 0x{int(v) & 0xFFFF_FFFF:08X}" for i, v in enumerate(b)]
        w0 += W.size
        b0 += b.size
    assert _ops(lines[1:]) == expected


def test_the_driver_uses_the_generated_header_only() -> None:
    # The register constants come from the generated header; the driver spells no offset itself.
    src = (FIRMWARE / "src" / "demon.c").read_text()
    assert '#include "demon.h"' in src and "demon_regs.h" in (FIRMWARE / "include" / "demon.h").read_text()
    import re
    code = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    assert not re.search(r"0x[0-9A-Fa-f]{4}u?\b", code.replace("0x444D4F4Eu", "").replace("0x80000000u", "")
                         .replace("0xFFFFu", "").replace("0xFFFFFFFFu", "")), "a hard-coded register offset"
