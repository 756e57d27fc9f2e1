"""Where things are: the project root, its config, node_modules and build folders."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

from milktrace.errors import SetupError


def project_root() -> Path:
    """The milktrace checkout: $MILKTRACE_ROOT, else the folder holding brownie-config.yaml."""
    env = os.environ.get("MILKTRACE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in [Path.cwd(), *here.parents]:
        if (parent / "brownie-config.yaml").is_file() and (parent / "contracts").is_dir():
            return parent
    raise SetupError("cannot find the milktrace checkout (no brownie-config.yaml above here)")


def node_bin(tool: str) -> Path:
    """An executable from the project's node_modules/.bin (anvil, ganache)."""
    path = project_root() / "node_modules" / ".bin" / tool
    if not path.exists():
        raise SetupError(f"{path} is missing: run `make setup`")
    return path


@cache
def compiler_config() -> dict:
    """The compiler section of brownie-config.yaml: the one place versions are pinned."""
    with open(project_root() / "brownie-config.yaml", encoding="utf-8") as fp:
        config = yaml.safe_load(fp)
    return config["compiler"]


def solc_version() -> str:
    return str(compiler_config()["solc"]["version"])


def evm_version() -> str:
    return str(compiler_config()["evm_version"])


def solcx_dir() -> Path:
    """The folder py-solc-x and brownie look in ($SOLCX_BINARY_PATH)."""
    env = os.environ.get("SOLCX_BINARY_PATH")
    return Path(env) if env else project_root() / ".venv" / "solcx"
