"""Run brownie against a local node on a free port, without touching fixed ports.

Brownie reads its networks from ~/.brownie/network-config.yaml and launches a development
node by command name. `run()` gives brownie a private HOME whose network-config holds
`milktrace-anvil` and `milktrace-ganache` on a port that is free now, puts the project's
anvil and ganache on PATH, and runs `brownie ARGS --network milktrace-ENGINE`.
`register()` (called by `make setup`) adds the same networks to the user's own ~/.brownie.

    python -m milktrace.brownie_env test --engine ganache -- tests/contracts -x
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from milktrace.node import ENGINES, free_port
from milktrace.paths import evm_version, project_root


def network_entries(anvil_port: int, ganache_port: int) -> list[dict]:
    """Development networks for brownie; gas price is set in brownie-config.yaml (never 0)."""
    return [
        {"name": "milktrace Anvil", "id": "milktrace-anvil", "cmd": "anvil",
         "host": "http://127.0.0.1", "timeout": 60,
         "cmd_settings": {"port": anvil_port, "accounts": 12, "gas_limit": 30000000,
                          "default_balance": 100000}},
        {"name": "milktrace Ganache", "id": "milktrace-ganache", "cmd": "ganache",
         "host": "http://127.0.0.1", "timeout": 60,
         "cmd_settings": {"port": ganache_port, "accounts": 12, "gas_limit": 30000000,
                          "evm_version": evm_version(), "default_balance": 100000}},
    ]


def _with_networks(config: dict, entries: list[dict]) -> dict:
    ids = {e["id"] for e in entries}
    dev = [n for n in config.get("development", []) if n.get("id") not in ids]
    config["development"] = dev + entries
    config.setdefault("live", [])
    return config


def _brownie_default_network_config() -> dict:
    import brownie  # noqa: F401  (only to find its data folder)

    path = Path(brownie.__file__).parent / "data" / "network-config.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def register(quiet: bool = False) -> Path:
    """Add milktrace-anvil / milktrace-ganache to ~/.brownie/network-config.yaml if absent."""
    path = Path.home() / ".brownie" / "network-config.yaml"
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists()
              else _brownie_default_network_config())
    have = {n.get("id") for n in config.get("development", [])}
    if {"milktrace-anvil", "milktrace-ganache"} <= have:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = network_entries(free_port(), free_port())
    path.write_text(yaml.safe_dump(_with_networks(config, entries)), encoding="utf-8")
    if not quiet:
        print(f"added brownie networks milktrace-anvil, milktrace-ganache to {path}")
    return path


def environment(home: Path) -> dict[str, str]:
    """Environment for a brownie subprocess with a private HOME and free ports."""
    root = project_root()
    brownie_dir = home / ".brownie"
    brownie_dir.mkdir(parents=True, exist_ok=True)
    config = _with_networks(_brownie_default_network_config(),
                            network_entries(free_port(), free_port()))
    (brownie_dir / "network-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = dict(os.environ)
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(root / ".venv" / "bin"), str(root / "node_modules" / ".bin"),
                                   env.get("PATH", "")])
    env.setdefault("SOLCX_BINARY_PATH", str(root / ".venv" / "solcx"))
    return env


def run(args: list[str], engine: str = "anvil", home: Path | None = None) -> int:
    """Run `brownie ARGS` (adding `--network milktrace-ENGINE` for test/run) in the project."""
    root = project_root()
    brownie = root / ".venv" / "bin" / "brownie"
    cmd = [str(brownie), *args]
    if args and args[0] in ("test", "run", "console") and "--network" not in args:
        cmd += ["--network", f"milktrace-{engine}"]
    with tempfile.TemporaryDirectory(prefix="milktrace-brownie-") as tmp:
        env = environment(home or Path(tmp))
        return subprocess.call(cmd, cwd=root, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m milktrace.brownie_env",
        usage="%(prog)s {register|BROWNIE-COMMAND} [--engine anvil|ganache] [-- ARGS...]")
    parser.add_argument("command", help="'register', or a brownie command (test, compile, run)")
    parser.add_argument("--engine", choices=ENGINES, default="anvil")
    parser.add_argument("--quiet", action="store_true")
    # Everything argparse does not know (and all after `--`) goes to brownie as it is.
    ns, rest = parser.parse_known_args(argv)
    if ns.command == "register":
        register(ns.quiet)
        return 0
    return run([ns.command, *[a for a in rest if a != "--"]], engine=ns.engine)


if __name__ == "__main__":
    sys.exit(main())
