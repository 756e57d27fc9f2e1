"""`python -m milktrace.brownie_env`: the wrapper `make test` runs brownie through."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from milktrace import brownie_env


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(brownie_env, "run",
                        lambda args, engine="anvil": seen.append((args, engine)) or 0)
    return seen


@pytest.mark.parametrize("argv", [
    ["test", "--engine", "ganache", "--", "tests/contracts", "-x"],
    ["--engine", "ganache", "test", "--", "tests/contracts", "-x"],
    ["test", "--engine=ganache", "tests/contracts", "-x"],
])
def test_engine_is_taken_wherever_it_stands_and_the_rest_goes_to_brownie(calls, argv):
    assert brownie_env.main(argv) == 0
    assert calls == [(["test", "tests/contracts", "-x"], "ganache")]


def test_engine_defaults_to_anvil(calls):
    brownie_env.main(["compile"])
    assert calls == [(["compile"], "anvil")]


def test_private_home_has_both_networks_on_free_ports(tmp_path: Path):
    env = brownie_env.environment(tmp_path)
    config = yaml.safe_load((tmp_path / ".brownie" / "network-config.yaml").read_text())
    ours = {n["id"]: n for n in config["development"] if n["id"].startswith("milktrace-")}
    assert set(ours) == {"milktrace-anvil", "milktrace-ganache"}
    ports = {n["cmd_settings"]["port"] for n in ours.values()}
    assert len(ports) == 2 and 8545 not in ports
    assert ours["milktrace-ganache"]["cmd_settings"]["evm_version"] == "shanghai"
    assert env["HOME"] == str(tmp_path)
    assert env["PATH"].split(":")[0].endswith(".venv/bin")


def test_register_adds_the_networks_once(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = brownie_env.register(quiet=True)
    first = path.read_text()
    assert "milktrace-anvil" in first and "milktrace-ganache" in first
    brownie_env.register(quiet=True)
    assert path.read_text() == first
