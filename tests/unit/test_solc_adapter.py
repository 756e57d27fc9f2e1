"""The solc-js adapter as py-solc-x and brownie see it: version, imports, errors, big output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import solcx
from solcx.wrapper import get_solc_version

from milktrace.compiler import compile_sources, solc_binary, standard_input
from milktrace.errors import CompileError
from milktrace.paths import project_root, solc_version

ROOT = project_root()
ADAPTER = ROOT / "tools" / "solc" / "solc-adapter.js"


def test_version_is_native_format_and_parsed_by_py_solc_x():
    out = subprocess.run([str(ADAPTER), "--version"], capture_output=True, text=True, check=True)
    line = out.stdout.splitlines()[-1]
    assert line.startswith(f"Version: {solc_version()}+commit.")
    assert str(get_solc_version(solc_binary())) == solc_version()


def test_py_solc_x_lists_the_pinned_version_as_installed():
    assert solc_version() in {str(v) for v in solcx.get_installed_solc_versions()}


def test_contract_importing_openzeppelin_compiles_through_py_solc_x():
    src = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
contract Guarded is AccessControl {
    constructor() { _grantRole(DEFAULT_ADMIN_ROLE, msg.sender); }
}
"""
    arts = compile_sources({"contracts/Guarded.sol": src})
    assert arts["Guarded"].bytecode.startswith("0x6080")
    assert any(item.get("name") == "grantRole" for item in arts["Guarded"].abi)


def test_syntax_error_reports_file_and_line():
    src = ("// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n\n"
           "contract Broken {\n    uint x = ;\n}\n")
    with pytest.raises(CompileError) as err:
        compile_sources({"contracts/Broken.sol": src})
    assert err.value.problems[0].startswith("contracts/Broken.sol:5: ParserError:")


def test_missing_import_names_the_file():
    src = ('// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n'
           'import "./Nowhere.sol";\ncontract A {}\n')
    with pytest.raises(CompileError) as err:
        compile_sources({"contracts/A.sol": src})
    assert "contracts/A.sol:3:" in str(err.value)
    assert "Nowhere.sol" in str(err.value)


def test_large_output_arrives_whole(tmp_path: Path):
    # 60 contracts with big ABIs, asking for every output: well over 100 KB of JSON on a pipe.
    body = "\n".join(
        f"contract C{i} {{ " + " ".join(
            f"function f{j}(uint256 a, bytes32 b, string calldata s) external pure "
            f"returns (uint256) {{ return a + {j} + bytes(s).length + uint256(b); }}"
            for j in range(12)) + " }"
        for i in range(60))
    src = f"// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n{body}\n"
    data = standard_input({"Big.sol": src})
    outputs = ["abi", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers", "metadata"]
    data["settings"]["outputSelection"] = {"*": {"*": outputs}}
    proc = subprocess.run([str(solc_binary()), "--standard-json"], input=json.dumps(data),
                          capture_output=True, text=True, check=True)
    assert len(proc.stdout) > 100_000
    out = json.loads(proc.stdout)  # truncated JSON would not parse
    assert len(out["contracts"]["Big.sol"]) == 60
