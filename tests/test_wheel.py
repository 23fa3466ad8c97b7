"""demonloop installs as a real package: the wheel, installed into a fresh virtual environment,
runs from an empty folder with everything it needs inside it (bundled configs and weights, RTL,
testbench top, firmware sources), and gives the same code stream as this checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO

QUICK = ["--chains", "64", "--set", "run.samples=200"]


def sh(cmd, cwd, env=None, timeout=1800) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the venv's bin folder, the wheel): the wheel built from this checkout with ``python -m
    build``, installed into a new virtual environment that sees nothing of this one."""
    tmp = tmp_path_factory.mktemp("wheel")
    sh([sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(REPO)], cwd=tmp)
    wheels = sorted((tmp / "dist").glob("demonloop-*.whl"))
    assert len(wheels) == 1 and sorted((tmp / "dist").glob("demonloop-*.tar.gz"))
    sh([sys.executable, "-m", "venv", str(tmp / "venv")], cwd=tmp)
    bin_ = tmp / "venv" / "bin"
    sh([str(bin_ / "python"), "-m", "pip", "install", "-q", str(wheels[0])], cwd=tmp)
    return bin_, wheels[0]


def env_of(bin_) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_}{os.pathsep}{env['PATH']}"
    return env


def test_the_wheel_holds_what_commands_need(installed) -> None:
    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = ["demonloop/_data/hw_configs/spu8_linear_solve.yaml", "demonloop/_data/hw_configs/weights/spiral2d.npz",
              "demonloop/_data/rtl/demon_top.v", "demonloop/_data/rtl/regmap.yaml", "demonloop/_data/rtl/demon_regs.vh",
              "demonloop/_data/firmware/Makefile", "demonloop/_data/firmware/src/demon.c",
              "demonloop/cosim/hdl/tb_demon_top.v"]
    assert not [n for n in needed if n not in names]
    bundled = sorted(p.name for p in (REPO / "hw_configs").glob("*.yaml"))
    assert bundled == sorted(n.split("/")[-1] for n in names if n.startswith("demonloop/_data/hw_configs/")
                             and n.endswith(".yaml"))
    assert sorted(p.name for p in (REPO / "rtl").glob("*.v")) == sorted(
        n.split("/")[-1] for n in names if n.startswith("demonloop/_data/rtl/") and n.endswith(".v"))


@pytest.mark.sim
def test_installed_wheel_runs_from_an_empty_folder(installed, tmp_path, capsys) -> None:
    bin_, _ = installed
    env = env_of(bin_)
    cwd = tmp_path / "empty"
    cwd.mkdir()
    exe = str(bin_ / "demonloop")
    r = sh([str(bin_ / "python"), "-c", "import demonloop, sys; print(demonloop.__version__, demonloop.__file__)"],
           cwd=cwd, env=env)
    assert str(bin_.parent) in r.stdout                      # the venv's copy, not this checkout
    listed = sh([exe, "configs"], cwd=cwd, env=env).stdout
    assert "spu8_linear_solve" in listed and "INVALID" not in listed
    gold = json.loads(sh([exe, "run", "--json", "--no-plot", *QUICK], cwd=cwd, env=env).stdout)
    sh([exe, "check", "posterior_wells"], cwd=cwd, env=env)
    rtl = json.loads(sh([exe, "run", "spu8_linear_solve", "--demon", "icarus", "--chains", "1",
                         "--set", "run.samples=100", "--json", "--no-plot"], cwd=cwd, env=env).stdout)
    fw = json.loads(sh([exe, "firmware", "run", "linear_solve", "--json", "--set", "run.samples=150",
                        "--set", "run.burn_in_samples=30"], cwd=cwd, env=env).stdout)
    assert rtl["bit_exact"] and fw["bit_exact"] and fw["firmware"]["status"] == "DEMON_OK"
    # the same command in this checkout (the editable install) gives the same code stream
    from tests.cli.test_main import run_cli

    code, out, _ = run_cli(["run", "spu8_linear_solve", "--json", "--no-plot", "--out", str(tmp_path / "here"),
                            *QUICK], capsys)
    assert code == 0 and json.loads(out)["codes_sha256"] == gold["codes_sha256"]
    # nothing but the run's own output (out/) was written into the current folder
    assert sorted(p.name for p in cwd.iterdir()) == ["out"]


@pytest.mark.sim
def test_installed_wheel_regresses_a_users_rtl_outside_the_repository(installed, tmp_path) -> None:
    import shutil

    bin_, _ = installed
    theirs = tmp_path / "their_project"
    shutil.copytree(REPO / "examples" / "own_demon", theirs)
    r = sh([str(bin_ / "demonloop"), "regress", "--rtl", str(theirs / "rtl.yaml"), "--config",
            str(theirs / "gauss8_digital.yaml"), "--reference", f"{theirs / 'model.py'}:serial_model",
            "--simulator", "icarus", "--vectors", "100", "--junit", str(tmp_path / "junit.xml")],
           cwd=tmp_path, env=env_of(bin_))
    assert "0 failed" in r.stdout and (tmp_path / "junit.xml").is_file()
