"""The package's shape: ``import demonloop`` from anywhere, one version, every subpackage
installed, the layout rules of docs/architecture.md, and a small, fast ``demonloop check``."""

from __future__ import annotations

import re
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import demonloop
from tests.conftest import REPO

SRC = REPO / "emulator"


def test_pyproject_lists_every_subpackage_and_data_folder() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    data = set(setuptools["package-data"]) - {"demonloop"}

    def name(folder):
        return ".".join(("demonloop",) + folder.relative_to(SRC).parts)

    found = {name(p.parent) for p in SRC.rglob("__init__.py")}
    assert listed == found | data
    assert all(not (SRC.joinpath(*d.split(".")[1:]) / "__init__.py").exists() for d in data)


def test_top_level_holds_at_most_ten_modules() -> None:
    modules = sorted(p.name for p in SRC.glob("*.py"))
    assert len(modules) <= 10, modules


def test_nothing_imports_the_source_folders_name() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+emulator\b|[^/\w]emulator\.[a-z_]+\b(?!\.py)", re.M)
    offenders = []
    for top in ("emulator", "tests", "tools", "docs"):
        for p in (REPO / top).rglob("*"):
            if p.suffix in (".py", ".md") and pattern.search(p.read_text()):
                offenders.append(str(p.relative_to(REPO)))
    for p in (REPO / "README.md", REPO / "rtl" / "README.md"):
        if pattern.search(p.read_text()):
            offenders.append(p.name)
    assert offenders == []


def test_kinds_are_dispatched_only_by_the_registries() -> None:
    """No ``is_score``, and ``kind ==`` (or ``!=``, ``in``) tests only where a registry's own
    entries check themselves (the firmware programs' demon)."""
    assert not [p for p in SRC.rglob("*.py") if "is_score" in p.read_text()]
    hits = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"kind *(==|!=|in )", line)]
    assert all(h.startswith("cosim/firmware.py:") for h in hits), hits


def test_import_from_anywhere_gives_the_version(tmp_path) -> None:
    r = subprocess.run([sys.executable, "-c", "import demonloop; print(demonloop.__version__)"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == demonloop.__version__
    r = subprocess.run([sys.executable, "-m", "demonloop", "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and demonloop.__version__ in r.stdout
    from importlib.metadata import version

    assert version("demonloop") == demonloop.__version__


def test_check_loads_no_heavy_optional_dependency(tmp_path) -> None:
    code = ("import sys\nfrom demonloop.cli import main\n"
            "try:\n    main(['check', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "heavy = ('sklearn', 'matplotlib', 'dask', 'distributed', 'cocotb', 'cocotb_tools', 'emcee', 'tqdm')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    for config in ("spu8_linear_solve.yaml", "posterior_wells.yaml"):
        r = subprocess.run([sys.executable, "-c", code, str(REPO / "hw_configs" / config)],
                           capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout
