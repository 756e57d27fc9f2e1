"""Talking to the chain: connect, deploy the registry, the deployment manifest, transact.

The manifest `deployments/<chainId>.json` holds chainId, address, deployBlock, deployTx and
abi; deploy also writes the page's chain config (`frontend/config/<chainId>.json` and
`frontend/config/chain.json`). Senders are either an account the node unlocks (local dev
chains) or an eth-account `LocalAccount` from a keystore (signed here, sent raw).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from milktrace.compiler import load_artifact
from milktrace.errors import DeploymentError, NodeError
from milktrace.paths import project_root

log = logging.getLogger(__name__)

Sender = str | LocalAccount


def connect(rpc: str, timeout: float = 30.0) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id
    except Exception as exc:
        raise NodeError(f"cannot reach a node at {rpc}: {exc}") from exc
    return w3


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    address: str
    deploy_block: int
    deploy_tx: str
    abi: list

    def to_json(self) -> dict[str, Any]:
        return {"chainId": self.chain_id, "address": self.address, "deployBlock": self.deploy_block,
                "deployTx": self.deploy_tx, "abi": self.abi}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "manifest") -> Deployment:
        missing = [k for k in ("chainId", "address", "deployBlock", "deployTx", "abi") if k not in data]
        if missing:
            raise DeploymentError(f"{source}: missing field(s) {', '.join(missing)}")
        return cls(int(data["chainId"]), Web3.to_checksum_address(data["address"]),
                   int(data["deployBlock"]), data["deployTx"], data["abi"])

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DeploymentError(f"{path}: no deployment manifest (run `milktrace deploy`)") from None
        except ValueError as exc:
            raise DeploymentError(f"{path}: not JSON: {exc}") from exc
        return cls.from_json(data, str(path))


def manifest_path(chain_id: int, root: Path | None = None) -> Path:
    return (root or project_root()) / "deployments" / f"{chain_id}.json"


def load_deployment(w3: Web3, path: Path | None = None) -> Deployment:
    """The manifest at `path`, or deployments/<chainId>.json; checked against the node."""
    chain_id = w3.eth.chain_id
    dep = Deployment.load(path or manifest_path(chain_id))
    if dep.chain_id != chain_id:
        raise DeploymentError(f"{path}: manifest is for chain {dep.chain_id}, node is chain {chain_id}")
    if len(w3.eth.get_code(dep.address)) == 0:
        raise DeploymentError(f"no registry code at {dep.address} on chain {chain_id} "
                              "(a restarted dev chain? deploy again)")
    return dep


def registry(w3: Web3, dep: Deployment) -> Contract:
    return w3.eth.contract(address=dep.address, abi=dep.abi)


def sender_address(sender: Sender) -> str:
    return sender if isinstance(sender, str) else sender.address


def fee_fields(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees: 2× the latest base fee plus a tip; never zero (Ganache never mines 0)."""
    base = w3.eth.get_block("latest").get("baseFeePerGas")
    if base is None:
        return {"gasPrice": max(w3.eth.gas_price, 1_000_000_000)}
    tip = 1_000_000_000
    return {"maxFeePerGas": 2 * int(base) + tip, "maxPriorityFeePerGas": tip}


def transact(w3: Web3, call: Any, sender: Sender, gas: int | None = None,
             confirmations: int = 0, timeout: float = 120.0) -> Any:
    """Send a contract call (a web3 ContractFunction or ContractConstructor); wait for the
    receipt and `confirmations` more blocks; raise on revert."""
    frm = sender_address(sender)
    params: dict[str, Any] = {"from": frm, **fee_fields(w3)}
    if gas is not None:
        params["gas"] = gas
    if isinstance(sender, str):
        tx_hash = call.transact(params)
    else:
        params["nonce"] = w3.eth.get_transaction_count(frm, "pending")
        params["chainId"] = w3.eth.chain_id
        tx = call.build_transaction(params)
        signed = sender.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        raise DeploymentError(f"transaction {tx_hash.hex()} reverted")
    wait_confirmations(w3, receipt["blockNumber"], confirmations, timeout)
    return receipt


def wait_confirmations(w3: Web3, block: int, confirmations: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while confirmations > 0 and w3.eth.block_number < block + confirmations:
        if time.monotonic() > deadline:
            raise NodeError(f"block {block} did not reach {confirmations} confirmations in {timeout}s")
        time.sleep(1)


def deploy_registry(w3: Web3, sender: Sender, admin: str | None = None,
                    confirmations: int = 0) -> Deployment:
    """Deploy TraceRegistry with `admin` (default: the sender) as consortium admin."""
    art = load_artifact("TraceRegistry")
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = transact(w3, factory.constructor(admin or sender_address(sender)), sender,
                       confirmations=confirmations)
    return Deployment(w3.eth.chain_id, receipt["contractAddress"], receipt["blockNumber"],
                      receipt["transactionHash"].to_0x_hex(), art.abi)


def write_page_config(dep: Deployment, rpc_url: str, explorer: str | None = None,
                      out_dir: Path | None = None) -> Path:
    """The scan page's chain config: `frontend/config/chain.json` (and `<chainId>.json`).

    {"chainId", "address", "deployBlock", "rpcUrl", "explorer", "abi"}; the page reads it at
    start. `explorer` is a base URL such as https://sepolia.etherscan.io (or null).
    """
    out = out_dir or project_root() / "frontend" / "config"
    out.mkdir(parents=True, exist_ok=True)
    data = {"chainId": dep.chain_id, "address": dep.address, "deployBlock": dep.deploy_block,
            "rpcUrl": rpc_url, "explorer": explorer, "abi": dep.abi}
    text = json.dumps(data, indent=1) + "\n"
    (out / f"{dep.chain_id}.json").write_text(text, encoding="utf-8")
    (out / "chain.json").write_text(text, encoding="utf-8")
    return out / "chain.json"
