"""One compile path: `milktrace compile` and `brownie compile` agree byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from milktrace.compiler import compile_project
from milktrace.paths import project_root

ROOT = project_root()


@pytest.fixture(scope="module")
def brownie_build(tmp_path_factory) -> Path:
    """Run `brownie compile` on a copy of the project (so build/ here is untouched)."""
    work = tmp_path_factory.mktemp("brownie-project")
    for name in ("contracts", "brownie-config.yaml"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    (work / "node_modules").symlink_to(ROOT / "node_modules")
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run([str(Path(sys.executable).parent / "brownie"), "compile"], cwd=work,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TraceRegistry" in proc.stdout
    return work / "build" / "contracts"


def test_brownie_compile_succeeds(brownie_build: Path):
    assert (brownie_build / "TraceRegistry.json").is_file()


def test_milktrace_and_brownie_produce_the_same_abi_and_bytecode(brownie_build: Path, tmp_path):
    ours = compile_project(out_dir=tmp_path)["TraceRegistry"]
    theirs = json.loads((brownie_build / "TraceRegistry.json").read_text())
    assert ours.abi == theirs["abi"]
    # Same sources, same settings: identical bytecode, metadata hash included.
    assert ours.deployed_bytecode == "0x" + theirs["deployedBytecode"]
    assert ours.bytecode == "0x" + theirs["bytecode"]
