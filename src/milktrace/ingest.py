"""Sending planned records to the registry, exactly once.

`ingest()` takes the records `plan.plan_files` produced, drops those already on chain, packs
the rest into `submit(bytes)` calls of up to `batch_size` records (bounded by gas), signs them
locally with one nonce sequence per key, and pipelines them: a window of raw transactions is
sent in one JSON-RPC batch POST, receipts are polled in batches, and the window refills as
they land. Transient RPC failures are retried with back-off (`chain.Rpc`).

Exactly once — the design, and its gas cost (none: no extra storage or calldata on chain)
-----------------------------------------------------------------------------------------
1. *The chain is the truth.* Every record event carries (topic0 = event type, topic1 = batch
   id, topic2 = event id). Before sending, the ingest looks those keys up with `eth_getLogs`
   on the registry from its deploy block, the event ids chunked into topic-2 OR filters, and
   drops every record already on chain ("skipped"). Running the same ingest twice therefore
   sends nothing the second time.
2. *A journal of signed transactions, written before sending.* Each transaction is signed
   locally and appended (nonce, hash, raw bytes, calldata, gas, how many records) to
   `.milktrace/journal/<chainId>-<registry>-<signer>.jsonl`, and fsynced, before it is
   broadcast. A transaction can only land with its own nonce, so a journaled transaction can
   land at most once, whatever happens later.
3. *Settle before planning.* On start (and whenever progress stalls, e.g. the node restarted
   from a state file that lost its last second of blocks) the journal entries whose nonce the
   chain has not used yet are re-broadcast, in nonce order, byte for byte; entries still not
   mined after `bump_after` seconds are re-signed with the same nonce and calldata and higher
   fees (journaled first); a missing nonce below a journaled one is filled with a zero-value
   self-transfer so nothing journaled can land late. Only when every journaled nonce is used
   does the ingest compare the plan with the chain (step 1) and sign new transactions. So a
   record is never both in a transaction that may still land and in a new one.
4. *Verify.* After sending, the keys are looked up again; records still missing (a node that
   rolled back after acknowledging them) are settled and sent again. The summary's numbers
   come from this check.

The lock file beside the journal stops two ingests with the same key on the same registry
from running at once (they would share a nonce sequence). Two keys never share anything.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from milktrace.chain import (
    Deployment,
    Rpc,
    RpcReply,
    RpcReplyError,
    decode_revert,
    get_logs,
    is_local_chain,
)
from milktrace.errors import MilktraceError, Problem, RpcError, ValidationError
from milktrace.paths import project_root
from milktrace.records import pack
from milktrace.types import REQUIRED_ROLE, Organisation, Record, RecordKind, Role

log = logging.getLogger(__name__)

JOURNAL_ENV = "MILKTRACE_JOURNAL_DIR"
#: Used nonces kept in the journal after settling (an audit trail of recent transactions).
JOURNAL_KEEP = 256


class IngestError(MilktraceError, RuntimeError):
    """The ingest stopped: a transaction reverted, the node is gone, the key is in use..."""


# ------------------------------------------------------------------ registry constants

KIND_EVENT: dict[RecordKind, str] = {
    RecordKind.COMMISSION: "BatchCommissioned",
    RecordKind.HAND_OVER: "CustodyHandedOver",
    RecordKind.ACCEPT: "CustodyAccepted",
    RecordKind.CANCEL_HAND_OVER: "CustodyHandOverCancelled",
    RecordKind.QUALITY: "QualityRecorded",
    RecordKind.CONDITION: "ConditionRecorded",
    RecordKind.STATUS: "BatchStatusChanged",
    RecordKind.ANCHOR: "EventAnchored",
}


def _event_topic(abi: list, name: str) -> bytes:
    for item in abi:
        if item.get("type") == "event" and item.get("name") == name:
            return keccak(text=f"{name}({','.join(_abi_type(i) for i in item['inputs'])})")
    raise IngestError(f"the registry ABI has no event {name}")


def _abi_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" \
            + item["type"][len("tuple"):]
    return str(item["type"])


def kind_topics(abi: list) -> dict[RecordKind, bytes]:
    """topic0 of the event each record kind emits."""
    return {kind: _event_topic(abi, name) for kind, name in KIND_EVENT.items()}


SUBMIT_SELECTOR = keccak(text="submit(bytes)")[:4]
STATUSES_SELECTOR = keccak(text="statusesOf(bytes32[])")[:4]
ORGANISATION_SELECTOR = keccak(text="organisation(address)")[:4]
ADMITTED_TOPIC = keccak(text="OrganisationAdmitted(address,uint32,uint64,string,bytes2)")


def submit_calldata(records: Sequence[Record]) -> bytes:
    return SUBMIT_SELECTOR + abi_encode(["bytes"], [pack(records)])


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _topic_address(account: str) -> str:
    return "0x" + "00" * 12 + account[2:].lower()


# ------------------------------------------------------------------ chain view for planning

class RegistryView:
    """`plan.ChainView` over JSON-RPC: organisations from `OrganisationAdmitted` logs (the GLN
    is topic 3) with their current roles from `organisation(account)` (one JSON-RPC batch),
    batches from `statusesOf` (cached; `prefetch_batches` asks for many at once)."""

    def __init__(self, rpc: Rpc, dep: Deployment) -> None:
        self.rpc = rpc
        self.dep = dep
        self._orgs: dict[str, Organisation] | None = None
        self._by_gln: dict[str, Organisation] = {}
        self._batches: dict[bytes, bool] = {}

    # organisations
    def _load(self) -> dict[str, Organisation]:
        if self._orgs is not None:
            return self._orgs
        logs = get_logs(self.rpc, self.dep.address, [_hex(ADMITTED_TOPIC)], self.dep.deploy_block)
        found: list[Organisation] = []
        for raw in logs:
            topics = raw["topics"]
            name, country = abi_decode(["string", "bytes2"], bytes.fromhex(raw["data"][2:]))
            found.append(Organisation(
                account=to_checksum_address("0x" + topics[1][-40:]), name=name,
                gln=str(int(topics[3], 16)).zfill(13),
                country=country.rstrip(b"\0").decode("ascii", "replace"),
                org_id=int(topics[2], 16)))
        calls = [("eth_call", [{"to": self.dep.address, "data": _hex(
            ORGANISATION_SELECTOR + abi_encode(["address"], [o.account]))}, "latest"])
            for o in found]
        self._orgs = {}
        for org, reply in zip(found, self.rpc.batch(calls), strict=True):
            if not reply.ok:
                raise RpcError(f"organisation({org.account}): {reply.message}")
            _id, roles, _gln, _cc = abi_decode(["uint32", "uint8", "uint64", "bytes2"],
                                               bytes.fromhex(reply.result[2:]))
            org = Organisation(org.account, org.name, org.gln, org.country, int(roles), org.org_id)
            self._orgs[org.account] = org
            # several accounts may share a GLN: prefer one with roles, then the latest
            best = self._by_gln.get(org.gln)
            if best is None or org.roles or not best.roles:
                self._by_gln[org.gln] = org
        return self._orgs

    def organisation_by_gln(self, gln: str) -> Organisation | None:
        self._load()
        return self._by_gln.get(str(gln).zfill(13))

    def organisation_of(self, account: str) -> Organisation | None:
        return self._load().get(to_checksum_address(account))

    def organisations(self) -> list[Organisation]:
        return list(self._load().values())

    # batches
    def prefetch_batches(self, batch_ids: Iterable[bytes], chunk: int = 500) -> None:
        todo = [b for b in dict.fromkeys(batch_ids) if b not in self._batches]
        calls = [("eth_call", [{"to": self.dep.address, "data": _hex(
            STATUSES_SELECTOR + abi_encode(["bytes32[]"], [todo[i:i + chunk]]))}, "latest"])
            for i in range(0, len(todo), chunk)]
        for i, reply in enumerate(self.rpc.batch(calls)):
            if not reply.ok:
                raise RpcError(f"statusesOf: {reply.message}")
            (statuses,) = abi_decode(["uint8[]"], bytes.fromhex(reply.result[2:]))
            for bid, status in zip(todo[i * chunk:(i + 1) * chunk], statuses, strict=True):
                self._batches[bid] = status != 0

    def batch_exists(self, batch_id: bytes) -> bool:
        if batch_id not in self._batches:
            self.prefetch_batches([batch_id])
        return self._batches[batch_id]


class _Optimistic:
    """A ChainView that answers `batch_exists` True for batches not yet known and notes them,
    so that planning costs one batched `statusesOf` instead of one call per batch."""

    def __init__(self, view: RegistryView) -> None:
        self.view = view
        self.asked: set[bytes] = set()

    def organisation_by_gln(self, gln: str) -> Organisation | None:
        return self.view.organisation_by_gln(gln)

    def batch_exists(self, batch_id: bytes) -> bool:
        known = self.view._batches.get(batch_id)
        if known is None:
            self.asked.add(batch_id)
            return True
        return known


def plan_with_chain(paths: Sequence[Path], signer: Organisation | None,
                    view: RegistryView) -> list[Any]:
    """`plan.plan_files` against the chain, with the batch look-ups batched: plan once
    assuming unknown batches exist, look them all up in one go, and plan again (from the
    cache) only when one is missing, so that the problems name it exactly."""
    from milktrace.plan import plan_files

    optimistic = _Optimistic(view)
    try:
        planned = plan_files(paths, signer, optimistic)
    except ValidationError:
        planned = None
    view.prefetch_batches(optimistic.asked)
    if planned is not None and all(view._batches[b] for b in optimistic.asked):
        return planned
    return plan_files(paths, signer, view)  # raises, listing every problem


# ------------------------------------------------------------------ what is on chain

RecordKey = tuple[bytes, bytes, bytes]  # (topic0, batch id, event id)


def record_keys(records: Sequence[Record], topics: dict[RecordKind, bytes]) -> list[RecordKey]:
    return [(topics[r.kind], r.batch_id, r.event_id) for r in records]


def on_chain(rpc: Rpc, dep: Deployment, keys: Sequence[RecordKey], chunk: int = 250,
             scan: bool | None = None) -> Counter[RecordKey]:
    """How many times each key's event is on chain (0 for most, 1 after a run), by anyone.

    Two ways, same answer (tested): on a chain that is not a local dev chain, `eth_getLogs`
    with the event ids as a topic-2 OR filter, `chunk` ids per query, so that the cost follows
    the input, not the registry's history. On a local dev chain (`scan`), one pass over the
    registry's record events filtered here: dev chains are small, and Ganache answers long
    topic-OR filters slowly (3 s for 3,000 ids against 0.1 s for a whole scan).
    """
    wanted = set(keys)
    found: Counter[RecordKey] = Counter()
    if not wanted:
        return found
    if scan is None:
        scan = is_local_chain(dep.chain_id)
    topic0s = [_hex(t) for t in sorted({k[0] for k in wanted})]
    head = int(rpc.call("eth_blockNumber"), 16)
    queries: list[list[Any]]
    if scan:
        queries = [[topic0s]]
    else:
        event_ids = sorted({k[2] for k in wanted})
        queries = [[topic0s, None, [_hex(e) for e in event_ids[i:i + chunk]]]
                   for i in range(0, len(event_ids), chunk)]
    for topics in queries:
        for raw in get_logs(rpc, dep.address, topics, dep.deploy_block, head):
            if raw.get("removed"):
                continue
            t = raw["topics"]
            key = (bytes.fromhex(t[0][2:]), bytes.fromhex(t[1][2:]), bytes.fromhex(t[2][2:]))
            if key in wanted:
                found[key] += 1
    return found


# ------------------------------------------------------------------ gas

#: Execution gas per record kind, an upper bound measured on the registry (bench/gas.py)
#: with margin; calldata is priced separately at 16 gas per byte. Used to bound how many
#: records go in one transaction and to set its gas limit, and by `--dry-run` offline.
GAS_MODEL: dict[RecordKind, int] = {
    RecordKind.COMMISSION: 42_000,
    RecordKind.HAND_OVER: 14_000,
    RecordKind.ACCEPT: 12_000,
    RecordKind.CANCEL_HAND_OVER: 11_000,
    RecordKind.QUALITY: 8_000,
    RecordKind.CONDITION: 8_000,
    RecordKind.STATUS: 12_000,
    RecordKind.ANCHOR: 7_000,
}
GAS_PER_PARENT = 9_000
TX_BASE_GAS = 21_000 + 10_000  # intrinsic + dispatch / ABI decoding of the bytes argument


def model_gas(records: Sequence[Record], calldata: bytes | None = None) -> int:
    """Upper-bound gas of one `submit` of `records` (the gas limit it is sent with)."""
    data = calldata if calldata is not None else submit_calldata(records)
    gas = TX_BASE_GAS + 16 * len(data)
    for r in records:
        gas += GAS_MODEL[r.kind] + GAS_PER_PARENT * len(getattr(r, "parents", ()))
    return int(gas * 1.25)


# ------------------------------------------------------------------ transactions

@dataclass
class TxPlan:
    """One `submit` call: its records (indexes into the plan) and calldata."""

    indexes: list[int]
    calldata: bytes
    gas: int


def build_txs(records: Sequence[Record], indexes: Sequence[int], batch_size: int,
              max_gas: int) -> list[TxPlan]:
    """Split the records (in order) into calls of ≤ batch_size records and ≤ max_gas."""
    txs: list[TxPlan] = []
    cur: list[int] = []
    cur_gas = TX_BASE_GAS
    for i in indexes:
        r = records[i]
        g = int(1.25 * (GAS_MODEL[r.kind] + GAS_PER_PARENT * len(getattr(r, "parents", ()))
                        + 16 * 150))
        if cur and (len(cur) >= batch_size or cur_gas + g > max_gas):
            txs.append(_tx([records[j] for j in cur], cur))
            cur, cur_gas = [], TX_BASE_GAS
        cur.append(i)
        cur_gas += g
    if cur:
        txs.append(_tx([records[j] for j in cur], cur))
    return txs


def _tx(recs: list[Record], indexes: list[int]) -> TxPlan:
    data = submit_calldata(recs)
    return TxPlan(indexes, data, model_gas(recs, data))


# ------------------------------------------------------------------ journal

def journal_dir(override: Path | None = None) -> Path:
    if override:
        return Path(override)
    env = os.environ.get(JOURNAL_ENV)
    return Path(env) if env else project_root() / ".milktrace" / "journal"


@dataclass
class Variant:
    hash: str
    raw: str
    max_fee: int
    tip: int


@dataclass
class Entry:
    """A nonce of this key and the transaction(s) signed for it (fee bumps share calldata)."""

    nonce: int
    data: str  # 0x calldata ("0x" for a gap filler)
    gas: int
    to: str
    records: int
    variants: list[Variant] = field(default_factory=list)
    plan: TxPlan | None = None  # this run's plan, when signed in this run
    state: str = "sent"  # sent | mined | reverted | lost
    receipt: dict | None = None
    since: float = 0.0  # when the newest variant was broadcast


class Journal:
    """Append-only JSON lines; `tx` lines are fsynced before their transactions are sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise IngestError(f"another ingest with this key is running on this registry "
                              f"(lock {path}.lock); wait for it to finish") from None
        self._open()

    def _open(self) -> None:
        self._fp = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (closed in close())
        if self._fp.tell() > 0:  # a line cut by a crash must not swallow the next one
            self._fp.seek(self._fp.tell() - 1)
            if self._fp.read(1) != "\n":
                self._fp.write("\n")

    def _items(self) -> list[dict]:
        items = []
        with open(self.path, encoding="utf-8") as fp:
            for n, line in enumerate(fp, 1):
                try:
                    items.append(json.loads(line))
                except ValueError:
                    log.warning("%s: line %d is incomplete (a crash while writing); ignored",
                                self.path, n)
        return items

    def bind(self, chain_tag: str) -> None:
        """Tie the journal to one chain history: `chain_tag` is the hash of the registry's
        deploy block. A journal written for another history (a dev chain re-created with
        the same chain id, registry address and key) is set aside, never replayed."""
        self.sync()
        tags = {item.get("deployBlockHash") for item in self._items()
                if item.get("type") == "chain"}
        if tags and tags != {chain_tag}:
            stale = self.path.with_name(f"{self.path.name}.stale-{int(time.time())}")
            self._fp.close()
            os.replace(self.path, stale)
            self._open()
            log.warning("%s belongs to another chain history (the registry's deploy block "
                        "differs); kept as %s and not replayed", self.path, stale.name)
            tags = set()
        if chain_tag not in tags:
            self.write_note(type="chain", deployBlockHash=chain_tag)
            self.sync()

    def read(self) -> dict[int, Entry]:
        entries: dict[int, Entry] = {}
        for item in self._items():
            if item.get("type") != "tx":
                continue
            nonce = int(item["nonce"])
            v = Variant(item["hash"], item["raw"], int(item["maxFee"]), int(item["tip"]))
            e = entries.get(nonce)
            if e is None or e.data != item["data"]:
                e = entries[nonce] = Entry(nonce, item["data"], int(item["gas"]), item["to"],
                                           int(item.get("records", 0)))
            e.variants.append(v)
        return entries

    def write_tx(self, e: Entry, v: Variant) -> None:
        self._fp.write(json.dumps({
            "type": "tx", "nonce": e.nonce, "hash": v.hash, "to": e.to, "gas": e.gas,
            "maxFee": v.max_fee, "tip": v.tip, "records": e.records, "data": e.data,
            "raw": v.raw, "time": round(time.time(), 3)}, separators=(",", ":")) + "\n")

    def write_note(self, **item: Any) -> None:
        self._fp.write(json.dumps(item, separators=(",", ":")) + "\n")

    def sync(self) -> None:
        self._fp.flush()
        os.fsync(self._fp.fileno())

    def compact(self, below: int) -> None:
        """Drop entries whose nonce is used (below `below`); keeps the file small."""
        self.sync()
        keep = [item for item in self._items() if item.get("type") == "chain"
                or item.get("type") == "tx" and int(item["nonce"]) >= below]
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fp:
            fp.writelines(json.dumps(item, separators=(",", ":")) + "\n" for item in keep)
            fp.flush()
            os.fsync(fp.fileno())
        self._fp.close()
        os.replace(tmp, self.path)
        self._open()

    def close(self) -> None:
        try:
            self._fp.close()
        finally:
            os.close(self._lock_fd)


# ------------------------------------------------------------------ options and results

@dataclass
class Options:
    batch_size: int = 150  # records per submit
    max_gas_per_tx: int = 12_000_000  # further capped at half the block gas limit
    window: int = 16  # transactions in flight
    confirmations: int | None = None  # default: 0 on a local chain, 2 elsewhere
    stall_after: float | None = None  # s without progress before resync (3 local, 30 other)
    bump_after: float | None = None  # s unmined before a fee bump (6 local, 180 other)
    settle_timeout: float = 600.0  # seconds to wait for journaled transactions to land
    journal: Path | None = None


@dataclass
class Summary:
    planned: int = 0  # records in the files
    events: int = 0  # records sent (landed) by this run
    skipped: int = 0  # records already on chain before this run
    transactions: int = 0
    gas: int = 0
    first_block: int | None = None
    last_block: int | None = None
    recovered: int = 0  # journaled transactions of an earlier run settled by this one
    seconds: float = 0.0
    signer: str = ""
    registry: str = ""
    chain_id: int = 0
    verified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "transactions": self.transactions, "gas": self.gas,
                "firstBlock": self.first_block, "lastBlock": self.last_block,
                "skipped": self.skipped, "planned": self.planned, "recovered": self.recovered,
                "seconds": round(self.seconds, 3), "signer": self.signer,
                "registry": self.registry, "chainId": self.chain_id, "verified": self.verified,
                "gasPerEvent": round(self.gas / self.events) if self.events else None}


TIP = 1_000_000_000  # 1 gwei

Progress = Callable[[int, int, int], None]  # (records landed, records to send, txs landed)

NONCE_USED = ("nonce too low", "already known", "known transaction", "already imported",
              "alreadyknown", "nonce has already been used", "transaction already",
              "the tx doesn't have the correct nonce")


def _benign(message: str) -> bool:
    m = message.lower()
    return any(s in m for s in NONCE_USED)


# ------------------------------------------------------------------ the sender

class Sender:
    """One key's nonce sequence on one registry: signs, journals, broadcasts, settles."""

    def __init__(self, rpc: Rpc, dep: Deployment, account: LocalAccount, journal: Journal,
                 options: Options) -> None:
        self.rpc = rpc
        self.dep = dep
        self.account = account
        self.journal = journal
        self.options = options
        self.entries: dict[int, Entry] = {}
        self._fees: tuple[float, int, int] | None = None
        self._seen_retries = rpc.retries

    # fees and nonces
    def base_fee(self) -> int:
        block = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        return int(block.get("baseFeePerGas") or "0x0", 16)

    def fees(self, fresh: bool = False) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas): a 1 gwei tip and room for the base fee to
        grow 3× (≈ 9 full blocks; a batch ingest fills blocks itself). Only base fee + tip
        is paid; the cap just has to stay above the base fee until the transaction lands."""
        now = time.monotonic()
        if fresh or self._fees is None or now - self._fees[0] > 0.5:
            tip = TIP
            self._fees = (now, 3 * self.base_fee() + tip, tip)
        return self._fees[1], self._fees[2]

    def chain_nonce(self, tag: str = "latest") -> int:
        return int(self.rpc.call("eth_getTransactionCount", [self.account.address, tag]), 16)

    # signing
    def sign(self, e: Entry, bump_from: Variant | None = None) -> Variant:
        max_fee, tip = self.fees()
        if bump_from is not None:  # a replacement must pay ≥ 10 % more on both; take 25 %
            max_fee = max(max_fee, bump_from.max_fee * 5 // 4 + 1)
            tip = max(tip, bump_from.tip * 5 // 4 + 1)
        tx: dict[str, Any] = {"type": 2, "chainId": self.dep.chain_id, "nonce": e.nonce, "to": e.to,
                              "value": 0, "data": e.data, "gas": e.gas,
                              "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}
        signed = self.account.sign_transaction(tx)
        v = Variant(signed.hash.to_0x_hex(), signed.raw_transaction.to_0x_hex(), max_fee, tip)
        e.variants.append(v)
        self.journal.write_tx(e, v)
        return v

    def broadcast(self, items: Sequence[tuple[Entry, Variant]]) -> None:
        """Send raw transactions in one batch POST (journal synced first)."""
        if not items:
            return
        self.journal.sync()
        replies = self.rpc.batch([("eth_sendRawTransaction", [v.raw]) for _, v in items])
        now = time.monotonic()
        for (e, v), reply in zip(items, replies, strict=True):
            e.since = now
            if reply.ok or _benign(reply.message):
                continue
            msg = reply.message.lower()
            if "underpriced" in msg or "replacement" in msg:
                log.info("nonce %d: %s; will bump its fee if it does not land", e.nonce,
                         reply.message)
                continue
            raise IngestError(f"the node refused transaction {v.hash} (nonce {e.nonce}, "
                              f"{e.records} records): {reply.message}")

    # settling
    def resync(self) -> int:
        """Re-broadcast, in nonce order, the newest variant of every entry whose nonce the
        chain has not used; entries it had counted as mined but lost are 'sent' again.
        Returns the chain's nonce."""
        latest = self.chain_nonce()
        items = []
        for nonce in sorted(n for n in self.entries if n >= latest):
            e = self.entries[nonce]
            if e.state == "mined":
                log.warning("nonce %d (%s) is no longer on chain (the node rolled back); "
                            "sending it again", nonce, e.variants[-1].hash)
            e.state, e.receipt = "sent", None
            items.append((e, e.variants[-1]))
        self.broadcast(items)
        return latest

    def fill_gaps(self, latest: int) -> None:
        """A zero-value transfer to self for each unused nonce below a journaled one."""
        if not self.entries:
            return
        items = []
        for nonce in range(latest, max(self.entries)):
            if nonce not in self.entries:
                e = Entry(nonce, "0x", 21_000, self.account.address, 0)
                self.entries[nonce] = e
                items.append((e, self.sign(e)))
                log.warning("nonce %d is missing from the journal: filling it with a no-op "
                            "so that later journaled transactions settle", nonce)
        self.broadcast(items)

    def poll(self, pending: Sequence[Entry]) -> list[Entry]:
        """Receipts for pending entries (every variant); returns those that settled."""
        calls, owners = [], []
        for e in pending:
            for v in e.variants:
                calls.append(("eth_getTransactionReceipt", [v.hash]))
                owners.append(e)
        settled = []
        seen: set[int] = set()
        for e, reply in zip(owners, self.rpc.batch(calls), strict=True):
            if e.nonce in seen or not reply.ok or not reply.result:
                continue
            r = reply.result
            seen.add(e.nonce)
            e.receipt = r
            e.state = "mined" if int(r["status"], 16) == 1 else "reverted"
            settled.append(e)
        return settled

    def check_lost(self, pending: Sequence[Entry], latest: int) -> None:
        """Entries whose nonce is used although none of their variants has a receipt."""
        for e in pending:
            if e.nonce < latest and e.state == "sent":
                # ask once more: a receipt may have appeared since the last poll
                if self.poll([e]):
                    continue
                e.state = "lost"
                log.warning("nonce %d was used by a transaction not in the journal; its %d "
                            "records will be planned again", e.nonce, e.records)

    def wait(self, pending: list[Entry], deadline: float | None = None,
             on_settled: Callable[[Entry], None] | None = None) -> None:
        """Poll until every pending entry settled (mined, reverted or lost)."""
        delay = 0.01
        last_progress = time.monotonic()
        while pending:
            settled = self.poll(pending)
            now = time.monotonic()
            if settled:
                for e in settled:
                    pending.remove(e)
                    if on_settled:
                        on_settled(e)
                last_progress, delay = now, 0.01
                continue
            if self.rpc.retries != self._seen_retries:  # the node was away: resync at once
                self._seen_retries = self.rpc.retries
                last_progress = 0.0
            if now - last_progress > (self.options.stall_after or 3.0):
                self.stalled(pending)
                last_progress = time.monotonic()
            if deadline is not None and now > deadline:
                raise IngestError(f"{len(pending)} transaction(s) did not land in time (first: "
                                  f"nonce {pending[0].nonce}); the journal keeps them: run "
                                  "the ingest again to resume")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def stalled(self, pending: list[Entry]) -> None:
        """No receipt for a while: re-broadcast what the node may have lost, notice nonces
        taken by others, and re-sign (same nonce and calldata, higher fees) transactions
        priced under the base fee or unmined for `bump_after` seconds."""
        log.info("no receipt for %.0fs: checking the %d transaction(s) in flight",
                 self.options.stall_after or 0, len(pending))
        latest = self.resync()
        self.check_lost(pending, latest)
        for e in list(pending):
            if e.state == "lost":
                pending.remove(e)
        now = time.monotonic()
        base = self.base_fee()
        self.fees(fresh=True)
        bumps = []
        for e in sorted(pending, key=lambda x: x.nonce):
            v = e.variants[-1]
            if e.nonce >= latest and (v.max_fee < base + v.tip
                                      or now - e.since > (self.options.bump_after or 6.0)):
                bumps.append((e, self.sign(e, bump_from=v)))
        if bumps:
            log.warning("%d transaction(s) underpriced or unmined for %.0fs: re-signed with "
                        "the same nonce and calldata and higher fees", len(bumps),
                        self.options.bump_after)
            self.broadcast(bumps)

    def settle_journal(self) -> int:
        """Step 3 of the design: every journaled nonce used before anything new is planned.
        Returns how many journaled transactions this call had to settle."""
        self.entries = self.journal.read()
        latest = self.chain_nonce()
        outstanding = [e for n, e in sorted(self.entries.items()) if n >= latest]
        deadline = time.monotonic() + self.options.settle_timeout
        if outstanding:
            log.info("journal: %d transaction(s) from an earlier run are not on chain (nonces "
                     "%d..%d); re-broadcasting them", len(outstanding), outstanding[0].nonce,
                     outstanding[-1].nonce)
            self.fill_gaps(latest)
            self.resync()
            pending = [e for n, e in sorted(self.entries.items()) if n >= latest]
            self.wait(pending, deadline=deadline)
        # Transactions of this key in the node's pool that the journal does not know (another
        # tool, or a reorg) could still land: wait for the pool to drain before planning.
        while (latest := self.chain_nonce()) < self.chain_nonce("pending"):
            if time.monotonic() > deadline:
                raise IngestError(f"transactions of {self.account.address} not in the journal "
                                  "are pending in the node's pool; wait for them to be mined "
                                  "and run the ingest again")
            time.sleep(0.2)
        self.journal.compact(latest - JOURNAL_KEEP)
        self.entries = {}
        return len(outstanding)

    # explaining a revert
    def explain(self, e: Entry, records: Sequence[Record], sources: Sequence[str]) -> str:
        block = int(e.receipt["blockNumber"], 16) if e.receipt else None
        reason = "reverted"
        for tag in ([hex(block - 1)] if block else []) + ["latest"]:
            try:
                self.rpc.call("eth_call", [{"from": self.account.address, "to": e.to,
                                            "data": e.data, "gas": hex(e.gas)}, tag])
            except RpcReplyError as exc:
                reason = (decode_revert(exc.revert_data, self.dep.abi) if exc.revert_data
                          else str(exc))
                break
        where = _sources_for(reason, e, records, sources)
        return (f"transaction {e.variants[-1].hash} (nonce {e.nonce}, {e.records} records"
                f"{where}) reverted: {reason}")


def _sources_for(reason: str, e: Entry, records: Sequence[Record],
                 sources: Sequence[str]) -> str:
    if e.plan is None:
        return ""
    idx = e.plan.indexes
    hits = [i for i in idx if "0x" + records[i].batch_id.hex() in reason]
    chosen = hits or idx
    shown = ", ".join(sources[i] for i in chosen[:5])
    more = f" and {len(chosen) - 5} more" if len(chosen) > 5 else ""
    label = "records for that batch: " if hits else "from "
    return f"; {label}{shown}{more}"


# ------------------------------------------------------------------ checks before sending

def check_signer(view: RegistryView, account: str, records: Sequence[Record],
                 sources: Sequence[str]) -> Organisation:
    """The signer must be an admitted organisation with the role each record needs."""
    org = view.organisation_of(account)
    if org is None or org.org_id == 0:
        raise IngestError(f"key {account} is not an admitted organisation of registry "
                          f"{view.dep.address}: ask the consortium admin to run "
                          f"`milktrace org add {account} --role ROLE ...`; nothing was sent")
    missing: dict[tuple[str, RecordKind], list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        need = REQUIRED_ROLE[r.kind]
        if not org.roles & need:
            missing[(sources[i].split(": ")[0], r.kind)].append(i)
    if missing:
        have = ", ".join(x.name.lower() for x in Role if org.roles & x) or "no role"
        problems = []
        for (file, kind), idx in missing.items():
            needed = " or ".join(x.name.lower() for x in Role if REQUIRED_ROLE[kind] & x)
            where = ", ".join(sources[i].split(": ", 1)[-1] for i in idx[:5])
            more = f" and {len(idx) - 5} more" if len(idx) > 5 else ""
            problems.append(Problem(file, where + more, kind.name.lower(),
                                    f"needs role {needed}; key {account} ({org.name}) has "
                                    f"{have}"))
        raise ValidationError(problems)
    return org


# ------------------------------------------------------------------ the ingest

def ingest(records: Sequence[Record], sources: Sequence[str], rpc: Rpc, dep: Deployment,
           account: LocalAccount, options: Options | None = None,
           progress: Progress | None = None, view: RegistryView | None = None) -> Summary:
    """Send `records` (already planned and validated) exactly once; see the module doc."""
    options = options or Options()
    t0 = time.monotonic()
    summary = Summary(planned=len(records), signer=account.address, registry=dep.address,
                      chain_id=dep.chain_id)
    view = view or RegistryView(rpc, dep)
    check_signer(view, account.address, records, sources)
    topics = kind_topics(dep.abi)
    keys = record_keys(records, topics)
    block_gas = int(rpc.call("eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)
    confirmations = options.confirmations
    if confirmations is None:
        confirmations = 0 if is_local_chain(dep.chain_id) else 2
    local = is_local_chain(dep.chain_id)
    if options.stall_after is None:
        options = replace(options, stall_after=3.0 if local else 30.0)
    if options.bump_after is None:
        options = replace(options, bump_after=6.0 if local else 180.0)

    path = journal_dir(options.journal) / (
        f"{dep.chain_id}-{dep.address.lower()}-{account.address.lower()}.jsonl")
    journal = Journal(path)
    try:
        deployed = rpc.call("eth_getBlockByNumber", [hex(dep.deploy_block), False])
        if not deployed:
            raise IngestError(f"the node has no block {dep.deploy_block}, the registry's deploy "
                              "block: wrong node or manifest?")
        journal.bind(deployed["hash"])
        sender = Sender(rpc, dep, account, journal, options)
        summary.recovered = sender.settle_journal()
        first_round = True
        for _round in range(5):
            present = on_chain(rpc, dep, keys)
            todo = _missing(keys, present)
            if first_round:
                summary.skipped = len(records) - len(todo)
                first_round = False
            if not todo:
                break
            _send(sender, records, sources, todo, block_gas, options, summary, progress)
            sender.settle_journal()  # nothing left in flight; compacts the journal
            # the next round's look-up verifies: anything lost is sent again
        else:
            raise IngestError("records keep disappearing from the chain after landing; "
                              "is the node rolling back? the journal is kept")
        if confirmations and summary.last_block is not None:
            _wait_block(rpc, summary.last_block + confirmations)
            missing = _missing(keys, on_chain(rpc, dep, keys))
            if missing:
                raise IngestError(f"{len(missing)} record(s) left the chain while waiting for "
                                  f"{confirmations} confirmations (a reorg? first: "
                                  f"{sources[missing[0]]}); run the ingest again")
        summary.verified = True
        summary.events = len(records) - summary.skipped  # each one checked on chain
    finally:
        journal.close()
    summary.seconds = time.monotonic() - t0
    return summary


def _missing(keys: Sequence[RecordKey], present: Counter[RecordKey]) -> list[int]:
    """Indexes of records not on chain: the first `present[key]` records of a key count as
    there (a key repeats only if one source event yields identical records)."""
    left = Counter(present)
    todo = []
    for i, k in enumerate(keys):
        if left[k] > 0:
            left[k] -= 1
        else:
            todo.append(i)
    return todo


def _wait_block(rpc: Rpc, block: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while int(rpc.call("eth_blockNumber"), 16) < block:
        if time.monotonic() > deadline:
            raise IngestError(f"block {block} was not reached in {timeout:.0f}s")
        time.sleep(0.5)


def _send(sender: Sender, records: Sequence[Record], sources: Sequence[str], todo: list[int],
          block_gas: int, options: Options, summary: Summary, progress: Progress | None
          ) -> None:
    max_gas = min(options.max_gas_per_tx, block_gas // 2)
    txs = build_txs(records, todo, options.batch_size, max_gas)
    total = len(todo)
    # Preflight: the first call depends on nothing unsent; a revert here stops everything
    # before a single transaction leaves.
    first = txs[0]
    try:
        estimate = int(sender.rpc.call("eth_estimateGas", [{
            "from": sender.account.address, "to": sender.dep.address,
            "data": _hex(first.calldata)}]), 16)
        first.gas = max(first.gas, estimate * 6 // 5)
    except RpcReplyError as exc:
        reason = (decode_revert(exc.revert_data, sender.dep.abi) if exc.revert_data
                  else str(exc))
        e = Entry(0, "", first.gas, sender.dep.address, len(first.indexes), plan=first)
        where = _sources_for(reason, e, records, sources)
        raise IngestError(f"the first transaction would revert{where}: {reason}; "
                          "nothing was sent") from None

    nonce = max(sender.chain_nonce("pending"), sender.chain_nonce("latest"))
    queue = list(txs)
    inflight: list[Entry] = []
    landed = [0, 0]  # records, txs
    failures: list[str] = []

    def on_settled(e: Entry) -> None:
        if e.state == "mined" and e.plan is not None:
            r = e.receipt or {}
            block = int(r["blockNumber"], 16)
            summary.first_block = block if summary.first_block is None else min(
                summary.first_block, block)
            summary.last_block = max(summary.last_block or 0, block)
            summary.gas += int(r["gasUsed"], 16)
            summary.transactions += 1
            summary.events += e.records
            landed[0] += e.records
            landed[1] += 1
            sender.journal.write_note(type="mined", nonce=e.nonce, hash=r["transactionHash"],
                                      block=block, gasUsed=int(r["gasUsed"], 16))
            if progress:
                progress(landed[0], total, landed[1])
        elif e.state == "reverted":
            failures.append(sender.explain(e, records, sources))

    # In flight at once: at most `window` transactions and one block's gas (by gas limit).
    # Anvil's automine packs a burst into one block and leaves what does not fit pending
    # until the next transaction arrives; a node's pool never holds more than a block of ours.
    while queue or inflight:
        batch: list[tuple[Entry, Variant]] = []
        gas_in_flight = sum(e.gas for e in inflight)
        while (queue and len(inflight) + len(batch) < options.window and not failures
               and (not inflight and not batch or gas_in_flight + queue[0].gas <= block_gas)):
            plan = queue.pop(0)
            gas_in_flight += plan.gas
            e = Entry(nonce, _hex(plan.calldata), plan.gas, sender.dep.address,
                      len(plan.indexes), plan=plan)
            nonce += 1
            sender.entries[e.nonce] = e
            batch.append((e, sender.sign(e)))
        if batch:
            sender.broadcast(batch)
            inflight.extend(e for e, _ in batch)
        if not inflight:
            break
        # wait for at least one to settle, then refill the window
        _wait_some(sender, inflight, on_settled)
        if failures:
            queue.clear()
    if failures:
        raise IngestError(failures[0] + (f" (and {len(failures) - 1} more transaction(s) "
                                         "reverted)" if len(failures) > 1 else "")
                          + "; records before it are on chain; fix the input and run "
                          "the ingest again")


def _wait_some(sender: Sender, inflight: list[Entry], on_settled: Callable[[Entry], None]
               ) -> None:
    delay = 0.005
    last_progress = time.monotonic()
    while True:
        settled = sender.poll(inflight)
        if settled:
            for e in settled:
                inflight.remove(e)
                on_settled(e)
            return
        now = time.monotonic()
        if sender.rpc.retries != sender._seen_retries:
            sender._seen_retries = sender.rpc.retries
            last_progress = 0.0
        if now - last_progress > (sender.options.stall_after or 3.0):
            size = len(inflight)
            sender.stalled(inflight)
            if len(inflight) < size:  # some were lost: they will be planned again
                return
            last_progress = time.monotonic()
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


# ------------------------------------------------------------------ dry run

@dataclass
class DryRun:
    planned: int
    by_kind: dict[str, int]
    skipped: int | None  # None offline
    transactions: int
    gas: int
    gas_method: str  # "eth_estimateGas", "model", or "eth_estimateGas+model"
    estimated: int  # transactions estimated by the node
    records_per_tx: int

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.planned, "byKind": self.by_kind, "skipped": self.skipped,
                "transactions": self.transactions, "gas": self.gas,
                "gasMethod": self.gas_method, "estimatedByNode": self.estimated,
                "recordsPerTx": self.records_per_tx,
                "gasPerRecord": round(self.gas / max(1, self.planned - (self.skipped or 0)))}


def dry_run(records: Sequence[Record], rpc: Rpc | None, dep: Deployment | None,
            sender: str | None, options: Options | None = None) -> DryRun:
    """What `ingest` would send: records by kind, transactions and gas. With a node, the gas
    of each call is `eth_estimateGas` (one JSON-RPC batch); calls that depend on earlier calls
    of the same run cannot be estimated against the current state and use GAS_MODEL."""
    options = options or Options()
    by_kind = Counter(r.kind.name.lower() for r in records)
    todo = list(range(len(records)))
    skipped = None
    max_gas = options.max_gas_per_tx
    if rpc is not None and dep is not None:
        keys = record_keys(records, kind_topics(dep.abi))
        todo = _missing(keys, on_chain(rpc, dep, keys))
        skipped = len(records) - len(todo)
        block_gas = int(rpc.call("eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)
        max_gas = min(max_gas, block_gas // 2)
    txs = build_txs(records, todo, options.batch_size, max_gas) if todo else []
    modelled = [int(t.gas / 1.25) for t in txs]
    gas, estimated = sum(modelled), 0
    if rpc is not None and dep is not None and txs:
        calls = [("eth_estimateGas", [{"from": sender, "to": dep.address,
                                       "data": _hex(t.calldata)}]) for t in txs] \
            if sender else []
        replies: list[RpcReply] = rpc.batch(calls) if calls else []
        gas = 0
        for m, reply in zip(modelled, replies or [RpcReply(None, "no signer")] * len(txs),
                            strict=True):
            if reply.ok:
                gas += int(reply.result, 16)
                estimated += 1
            else:
                gas += m
    method = ("model" if estimated == 0 else
              "eth_estimateGas" if estimated == len(txs) else "eth_estimateGas+model")
    return DryRun(len(records), dict(by_kind), skipped, len(txs), gas, method, estimated,
                  options.batch_size)
