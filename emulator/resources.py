"""Files that ship with the package, and the user cache folder.

The bundled configs and their trained networks, the demon RTL (with ``INTERFACE.md`` and the
register-map source), the firmware sources that ``firmware run`` builds, and the HDL testbench
top are package data, found through :mod:`importlib.resources`: in a wheel they are files inside
``demonloop/_data`` (and ``demonloop/cosim/hdl``); in a source checkout ``emulator/_data`` holds
symlinks to the top-level ``hw_configs/``, ``rtl/`` and ``firmware/``, so both find the same
files the same way and nothing depends on where the source tree is.

Builds and caches go to :func:`cache_dir` (``$DEMONLOOP_CACHE``, else the platform's user cache
folder, ``~/.cache/demonloop`` on Linux), never into the package or the current folder.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def _data(name: str) -> Path:
    path = Path(str(files("demonloop") / "_data" / name))
    if not path.is_dir():
        raise FileNotFoundError(f"the package's {name}/ is missing ({path}): reinstall demonloop")
    return path


def configs_dir() -> Path:
    """The bundled configs (``*.yaml``) and their trained networks (``weights/``)."""
    return _data("hw_configs")


def rtl_dir() -> Path:
    """The project's demon RTL (``demon_top`` and its modules, ``INTERFACE.md``, ``regmap.yaml``)."""
    return _data("rtl")


def firmware_dir() -> Path:
    """The C driver, platforms and protocol programs, with their Makefile."""
    return _data("firmware")


def hdl_dir() -> Path:
    """Simulation-only HDL: the testbench top ``tb_demon_top.v``."""
    return Path(str(files("demonloop.cosim") / "hdl"))


def bundled_configs() -> dict[str, Path]:
    """The bundled configs by name (the file's stem), in name order."""
    return {p.stem: p for p in sorted(configs_dir().glob("*.yaml"))}


DEFAULT_CONFIG = "spu8_linear_solve"


def config_path(arg: str | os.PathLike | None) -> Path:
    """The config file a command-line argument names: an existing path, else a bundled config's
    name (``spu8_linear_solve`` or ``spu8_linear_solve.yaml``), else the path as given (whose
    loading then says it does not exist). None is the bundled default."""
    if arg is None:
        return bundled_configs()[DEFAULT_CONFIG]
    path = Path(arg)
    try:
        exists = path.exists()
    except (OSError, ValueError):        # a name too long, a NUL byte: loading says so
        return path
    if exists or len(path.parts) != 1:
        return path
    return bundled_configs().get(path.name.removesuffix(".yaml"), path)


def cache_dir() -> Path:
    """Where builds and caches go: ``$DEMONLOOP_CACHE``, else the user cache folder."""
    env = os.environ.get("DEMONLOOP_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("demonloop", appauthor=False))
