"""Talking to the chain: connect, deploy the registry, the deployment manifest, transact.

The manifest `deployments/<chainId>.json` holds chainId, address, deployBlock, deployTx and
abi; deploy also writes the page's chain config (`frontend/config/<chainId>.json` and
`frontend/config/chain.json`). Senders are either an account the node unlocks (local dev
chains) or an eth-account `LocalAccount` from a keystore (signed here, sent raw).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from milktrace.compiler import load_artifact
from milktrace.errors import DeploymentError, NodeError, RpcError
from milktrace.logs import ProviderError, fetch_logs
from milktrace.paths import project_root

log = logging.getLogger(__name__)

Sender = str | LocalAccount

RPC_ENV = "MILKTRACE_RPC"
DEFAULT_RPC = "http://127.0.0.1:8545"
#: Chain ids of local development chains (Anvil / Hardhat 31337, Ganache 1337).
LOCAL_CHAIN_IDS = frozenset({31337, 1337})
#: Confirmations `deploy` waits for on a non-local chain unless told otherwise.
DEFAULT_CONFIRMATIONS = 2


def default_rpc(rpc: str | None = None) -> str:
    """`rpc`, else `$MILKTRACE_RPC`, else http://127.0.0.1:8545."""
    return rpc or os.environ.get(RPC_ENV) or DEFAULT_RPC


def is_local_chain(chain_id: int) -> bool:
    return chain_id in LOCAL_CHAIN_IDS


def connect(rpc: str, timeout: float = 30.0) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": timeout}))
    try:
        _ = w3.eth.chain_id
    except Exception as exc:
        raise NodeError(f"cannot reach a node at {rpc}: {_short(exc)}") from exc
    return w3


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


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
        missing = [k for k in ("chainId", "address", "deployBlock", "deployTx", "abi")
                   if k not in data]
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
            raise DeploymentError(f"{path}: no deployment manifest (run `milktrace deploy`)") \
                from None
        except ValueError as exc:
            raise DeploymentError(f"{path}: not JSON: {exc}") from exc
        return cls.from_json(data, str(path))


def manifest_path(chain_id: int, root: Path | None = None) -> Path:
    return (root or project_root()) / "deployments" / f"{chain_id}.json"


def load_deployment(w3: Web3, path: Path | None = None) -> Deployment:
    """The manifest at `path`, or deployments/<chainId>.json; checked against the node."""
    chain_id = w3.eth.chain_id
    path = Path(path) if path else manifest_path(chain_id)
    dep = Deployment.load(path)
    if dep.chain_id != chain_id:
        raise DeploymentError(f"{path}: manifest is for chain {dep.chain_id}, "
                              f"the node is chain {chain_id}")
    if len(w3.eth.get_code(Web3.to_checksum_address(dep.address))) == 0:
        raise DeploymentError(f"no registry code at {dep.address} on chain {chain_id} "
                              "(a restarted dev chain? deploy again)")
    return dep


def registry(w3: Web3, dep: Deployment) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(dep.address), abi=dep.abi)


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
    try:
        if isinstance(sender, str):
            tx_hash = call.transact(params)
        else:
            params["nonce"] = w3.eth.get_transaction_count(Web3.to_checksum_address(frm),
                                                           "pending")
            params["chainId"] = w3.eth.chain_id
            tx = call.build_transaction(params)
            signed = sender.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except Exception as exc:
        data = revert_data(exc)
        if data is None:
            raise
        raise TransactionReverted(decode_revert(data, _contract_abi(call)), data) from None
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        raise TransactionReverted(f"transaction {tx_hash.to_0x_hex()} reverted", None)
    wait_confirmations(w3, receipt["blockNumber"], confirmations, timeout)
    return receipt


class TransactionReverted(DeploymentError):
    """A transaction (or its gas estimate) reverted; the message names the custom error."""

    def __init__(self, message: str, data: str | None) -> None:
        super().__init__(message)
        self.data = data


def _contract_abi(call: Any) -> list:
    for attr in ("contract_abi", "abi"):
        abi = getattr(call, attr, None)
        if isinstance(abi, list):
            return abi
    return load_artifact("TraceRegistry").abi


def revert_data(exc: BaseException) -> str | None:
    """The 0x revert data carried by a web3 / JSON-RPC error, if any."""
    for candidate in (getattr(exc, "data", None), *getattr(exc, "args", ())):
        if isinstance(candidate, dict):
            candidate = candidate.get("data")
        if isinstance(candidate, str) and candidate.startswith("0x"):
            return candidate
    return None


def decode_revert(data: str | bytes | None, abi: list | None = None) -> str:
    """`ErrorName(arg=value, ...)` for a custom error of `abi` (default: the registry's),
    `Error("text")` for a string revert, else the raw selector."""
    from eth_abi import decode as abi_decode
    from eth_utils import keccak

    if isinstance(data, str):
        try:
            raw = bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            raw = b""
    else:
        raw = bytes(data or b"")
    if len(raw) < 4:
        return "reverted without a reason"
    abi = abi if abi is not None else load_artifact("TraceRegistry").abi
    errors = [e for e in abi if e.get("type") == "error"]
    errors.append({"type": "error", "name": "Error", "inputs": [{"name": "", "type": "string"}]})
    errors.append({"type": "error", "name": "Panic", "inputs": [{"name": "", "type": "uint256"}]})
    for err in errors:
        types = [i["type"] for i in err["inputs"]]
        if keccak(text=f"{err['name']}({','.join(types)})")[:4] != raw[:4]:
            continue
        try:
            values = abi_decode(types, raw[4:])
        except Exception:
            break
        parts = []
        for item, value in zip(err["inputs"], values, strict=True):
            shown = "0x" + value.hex() if isinstance(value, bytes) else repr(value) \
                if isinstance(value, str) else str(value)
            parts.append(f"{item['name']}={shown}" if item["name"] else shown)
        return f"{err['name']}({', '.join(parts)})"
    return f"reverted with unknown error 0x{raw[:4].hex()}"


def wait_confirmations(w3: Web3, block: int, confirmations: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while confirmations > 0 and w3.eth.block_number < block + confirmations:
        if time.monotonic() > deadline:
            raise NodeError(f"block {block} did not reach {confirmations} confirmations "
                            f"in {timeout}s")
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


# ------------------------------------------------------------------ deploy (manifest + page)

def default_sender(w3: Web3, key: LocalAccount | None) -> Sender:
    """`key`, else on a local chain the node's first unlocked dev account."""
    if key is not None:
        return key
    chain_id = w3.eth.chain_id
    if not is_local_chain(chain_id):
        raise DeploymentError(f"chain {chain_id} is not a local dev chain: pass --key KEYSTORE")
    accounts = w3.eth.accounts
    if not accounts:
        raise DeploymentError(f"the node of chain {chain_id} has no unlocked account: "
                              "pass --key KEYSTORE")
    return accounts[0]


def check_overwrite(path: Path, chain_id: int, force: bool, w3: Web3 | None = None) -> None:
    """Refuse to replace an existing manifest unless `force`."""
    if force or not Path(path).exists():
        return
    try:
        old = Deployment.load(path)
        what = f"registry {old.address} on chain {old.chain_id} (block {old.deploy_block})"
        stale = ""
        if (w3 is not None and old.chain_id == chain_id
                and len(w3.eth.get_code(Web3.to_checksum_address(old.address))) == 0):
            stale = "; the node has no code there now (a restarted dev chain?)"
    except DeploymentError:
        what, stale = "an unreadable manifest", ""
    raise DeploymentError(f"{path} already holds {what}{stale}; not overwriting it. "
                          "Pass --force to deploy a new registry and replace the manifest "
                          "(MILKTRACE_FORCE=1 for `brownie run scripts/deploy.py`)")


@dataclass(frozen=True)
class DeployResult:
    deployment: Deployment
    manifest: Path
    page_config: Path
    confirmations: int
    sender: str


def deploy(w3: Web3, sender: Sender, *, rpc_url: str, manifest: Path | None = None,
           force: bool = False, confirmations: int | None = None, explorer: str | None = None,
           page_dir: Path | None = None, admin: str | None = None) -> DeployResult:
    """Deploy the registry and write its manifest and the page's chain config.

    Refuses (before sending anything) to replace an existing manifest unless `force`.
    `confirmations` defaults to 0 on a local chain and DEFAULT_CONFIRMATIONS elsewhere.
    """
    chain_id = w3.eth.chain_id
    path = Path(manifest) if manifest else manifest_path(chain_id)
    check_overwrite(path, chain_id, force, w3)
    if confirmations is None:
        confirmations = 0 if is_local_chain(chain_id) else DEFAULT_CONFIRMATIONS
    if confirmations < 0:
        raise DeploymentError(f"confirmations: expected 0 or more, got {confirmations}")
    log.info("deploying TraceRegistry on chain %s from %s (%d confirmations)", chain_id,
             sender_address(sender), confirmations)
    dep = deploy_registry(w3, sender, admin=admin, confirmations=confirmations)
    dep.save(path)
    page = write_page_config(dep, rpc_url, explorer, page_dir)
    return DeployResult(dep, path, page, confirmations, sender_address(sender))


# ------------------------------------------------------------------ raw JSON-RPC with retries

TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


class Rpc:
    """A small JSON-RPC client for bulk work: single calls and batch POSTs, with retries and
    exponential back-off on transient failures (connection refused or reset, timeouts, HTTP
    429 and 5xx). JSON-RPC error replies are not retried: `call` raises RpcError, `batch`
    returns them in place as `RpcReply`.

    `retry_for` bounds the total time spent retrying one request (seconds).
    """

    def __init__(self, url: str, timeout: float = 30.0, retry_for: float = 60.0,
                 session: requests.Session | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.retry_for = retry_for
        self.session = session or requests.Session()
        self._ids = itertools.count(1)
        self.requests = 0
        self.retries = 0

    def _post(self, body: Any) -> Any:
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            problem: str
            try:
                self.requests += 1
                resp = self.session.post(self.url, json=body, timeout=self.timeout)
                if resp.status_code in TRANSIENT_HTTP:
                    problem = f"HTTP {resp.status_code}"
                elif resp.status_code >= 400:
                    raise RpcError(f"{self.url}: HTTP {resp.status_code}: {resp.text[:200]}")
                else:
                    try:
                        return resp.json()
                    except ValueError:
                        problem = "reply is not JSON"
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
            now = time.monotonic()
            if now >= deadline:
                raise RpcError(f"{self.url}: no answer after {self.retry_for:.0f}s of retries "
                               f"(last: {problem})")
            self.retries += 1
            log.info("%s: %s; retrying in %.1fs", self.url, problem, delay)
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 5.0) * (0.8 + 0.4 * random.random())

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        reply = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                            "params": list(params)})
        if not isinstance(reply, dict):
            raise RpcError(f"{self.url}: {method}: unexpected reply {str(reply)[:200]}")
        if "error" in reply:
            raise RpcReplyError(method, reply["error"], self.url)
        return reply.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]],
              max_size: int = 500) -> list[RpcReply]:
        """Many calls as JSON-RPC batch POSTs of at most `max_size`; replies in call order."""
        out: list[RpcReply] = []
        for start in range(0, len(calls), max_size):
            part = calls[start:start + max_size]
            ids = [next(self._ids) for _ in part]
            body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
                    for i, (m, p) in zip(ids, part, strict=True)]
            reply = self._post(body)
            if isinstance(reply, dict):  # some nodes answer a batch with one error object
                err = reply.get("error", reply)
                out.extend(RpcReply(None, err) for _ in part)
                continue
            by_id = {r.get("id"): r for r in reply if isinstance(r, dict)}
            for i in ids:
                r = by_id.get(i)
                if r is None:
                    out.append(RpcReply(None, {"code": -1, "message": "no reply in batch"}))
                else:
                    out.append(RpcReply(r.get("result"), r.get("error")))
        return out


class RpcReplyError(ProviderError):
    """The node answered a JSON-RPC error; `revert_data` is the revert data (0x...) when
    present. A `logs.ProviderError`, so the log pager reads refusals from it too."""

    def __init__(self, method: str, error: Any, url: str = "") -> None:
        super().__init__(method, error, url)
        self.error = error
        self.revert_data = error_data(error)
        self.args = (f"{url}: {method}: {_error_text(error)}",)


def error_data(error: Any) -> str | None:
    """Revert data of a JSON-RPC error object (Anvil: `data`; Ganache: `data.result`)."""
    if not isinstance(error, dict):
        return None
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("result") or data.get("data")
    return data if isinstance(data, str) and data.startswith("0x") else None


@dataclass(frozen=True)
class RpcReply:
    result: Any
    error: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return _error_text(self.error) if self.error is not None else ""

    @property
    def data(self) -> str | None:
        return error_data(self.error)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        text = str(error.get("message", error))
        data = error_data(error)
        if data:
            text += f" (data {data[:200]})"
        return text[:500]
    return str(error)[:500]


def get_logs(rpc: Rpc, address: str, topics: Sequence[Any], from_block: int,
             to_block: int | None = None, window: int = 100_000) -> list[dict]:
    """eth_getLogs over [from_block, to_block], paged by `logs.fetch_logs` (the audit's pager):
    it takes the range a provider suggests, halves otherwise, and widens again after."""
    if to_block is None:
        to_block = int(rpc.call("eth_blockNumber"), 16)
    return fetch_logs(rpc, address, from_block, to_block, topics=list(topics),
                      initial_span=window)
