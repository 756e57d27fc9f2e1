"""One compile path: py-solc-x over the pinned solc (native, or the solc-js adapter).

`brownie compile` reads the same settings from brownie-config.yaml, so both produce the
same ABI and bytecode for the same sources.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import solcx
from solcx.exceptions import SolcError, SolcNotInstalled
from solcx.install import get_executable

from milktrace.errors import CompileError, SetupError
from milktrace.paths import compiler_config, evm_version, project_root, solc_version, solcx_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: what deploy and the readers need."""

    name: str
    source: str
    abi: list
    bytecode: str
    deployed_bytecode: str


def solc_binary() -> Path:
    """The solc executable py-solc-x will run, checked to exist."""
    os.environ.setdefault("SOLCX_BINARY_PATH", str(solcx_dir()))
    try:
        return Path(get_executable(solc_version()))
    except SolcNotInstalled as exc:
        raise SetupError(
            f"solc {solc_version()} is not installed: run `make setup` ({exc})") from exc


def standard_input(sources: dict[str, str]) -> dict:
    """The standard-JSON input for these sources with the project's pinned settings."""
    cfg = compiler_config()["solc"]
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": evm_version(),
            "optimizer": {"enabled": bool(cfg["optimizer"]["enabled"]),
                          "runs": int(cfg["optimizer"]["runs"])},
            "remappings": list(cfg.get("remappings") or []),
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object",
                                            "evm.deployedBytecode.object"]}},
        },
    }


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def _problems(output: dict, sources: dict[str, str]) -> list[str]:
    problems = []
    for err in output.get("errors", []):
        if err.get("severity") != "error":
            continue
        loc = err.get("sourceLocation") or {}
        file = loc.get("file", "<input>")
        text = sources.get(file)
        if text is None and file != "<input>":
            try:
                text = (project_root() / file).read_text(encoding="utf-8")
            except OSError:
                text = None
        line = _line_of(text, loc.get("start", 0)) if text is not None else "?"
        problems.append(f"{file}:{line}: {err.get('type', 'Error')}: {err['message']}")
    return problems


def compile_sources(sources: dict[str, str], root: Path | None = None) -> dict[str, Artifact]:
    """Compile {source unit name: text}; imports resolve from `root` (the project)."""
    root = root or project_root()
    binary = solc_binary()
    try:
        output = solcx.compile_standard(
            standard_input(sources), solc_binary=binary, allow_paths=[str(root)],
            base_path=str(root),
        )
    except SolcError as exc:
        # solcx raises on any error entry; its stdout still holds the structured errors.
        try:
            output = json.loads(exc.stdout_data or "")
        except (TypeError, ValueError):
            raise CompileError([str(exc)]) from exc
        raise CompileError(_problems(output, sources) or [str(exc)]) from exc
    problems = _problems(output, sources)
    if problems:
        raise CompileError(problems)
    artifacts = {}
    for source, contracts in output.get("contracts", {}).items():
        for name, data in contracts.items():
            artifacts[name] = Artifact(
                name=name,
                source=source,
                abi=data["abi"],
                bytecode="0x" + data["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
            )
    return artifacts


def project_sources(root: Path | None = None) -> dict[str, str]:
    """Every .sol file under contracts/, keyed as brownie keys them (contracts/...)."""
    root = root or project_root()
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted((root / "contracts").rglob("*.sol"))
    }


def compile_project(root: Path | None = None, out_dir: Path | None = None) -> dict[str, Artifact]:
    """Compile contracts/ and write build/milktrace/<Name>.json for each contract."""
    root = root or project_root()
    artifacts = compile_sources(project_sources(root), root)
    out = out_dir or root / "build" / "milktrace"
    out.mkdir(parents=True, exist_ok=True)
    for art in artifacts.values():
        if not art.source.startswith("contracts/"):
            continue
        data = {"contractName": art.name, "sourcePath": art.source, "abi": art.abi,
                "bytecode": art.bytecode, "deployedBytecode": art.deployed_bytecode,
                "compiler": {"solc": solc_version(), "evmVersion": evm_version()}}
        (out / f"{art.name}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    log.info("compiled %d contracts into %s", len(artifacts), out)
    return artifacts


def load_artifact(name: str, root: Path | None = None) -> Artifact:
    """A contract's artifact, compiling the project when build/ is missing or stale."""
    root = root or project_root()
    path = root / "build" / "milktrace" / f"{name}.json"
    newest_source = max((p.stat().st_mtime for p in (root / "contracts").rglob("*.sol")), default=0)
    if not path.exists() or path.stat().st_mtime < newest_source:
        compile_project(root)
    data = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(name=data["contractName"], source=data["sourcePath"], abi=data["abi"],
                    bytecode=data["bytecode"], deployed_bytecode=data["deployedBytecode"])
