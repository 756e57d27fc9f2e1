"""Every log a real node produced for the clean data set decodes, field for field, as web3.py's
generic ABI decoder reads it (all event kinds the registry emits)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from audit_data import Trace, clean
from web3 import Web3

from milktrace.chain import connect
from milktrace.events import EVENT_TYPES, RoleAdminChanged, decode_logs
from milktrace.logs import RpcClient, fetch_logs
from milktrace.node import LocalNode
from milktrace.types import AnchorKind, Status


@pytest.fixture(scope="module")
def logs_and_trace() -> Iterator[tuple[list[dict], Trace]]:
    with LocalNode("anvil", accounts=12) as node:
        t = Trace(connect(node.url), node.dev_accounts())
        clean(t)
        with RpcClient(node.url) as client:
            yield fetch_logs(client, t.dep.address, t.dep.deploy_block, client.block_number()), t


def _plain(v):
    if isinstance(v, (Status, AnchorKind)):
        return int(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def _web3_form(name: str, value, abi_type: str):
    """What our decoder makes of a raw web3 value: text codes, digit strings."""
    if abi_type.startswith("bytes") and abi_type not in ("bytes32", "bytes32[]"):
        return value.rstrip(b"\0").decode("ascii")
    if name in ("gtin",):
        return f"{value:014d}"
    if name in ("gln", "siteGln"):
        return f"{value:013d}"
    return list(value) if isinstance(value, (list, tuple)) else value


def test_every_real_log_decodes_like_web3_does(logs_and_trace):
    raw, t = logs_and_trace
    events = decode_logs(raw, t.dep.address)
    assert len(events) == len(raw) > 60
    kinds = {e.kind for e in events}
    assert kinds == {c.kind for c in EVENT_TYPES} - {RoleAdminChanged.kind}  # never emitted
    abi = {e["name"]: e for e in t.dep.abi if e["type"] == "event"}
    for ours, log in zip(events, raw, strict=True):
        event = getattr(t.contract.events, ours.kind)()
        theirs = event.process_log(
            {
                **log,
                "topics": [bytes.fromhex(x[2:]) for x in log["topics"]],
                "data": bytes.fromhex(log["data"][2:]),
                "blockNumber": int(log["blockNumber"], 16),
                "logIndex": int(log["logIndex"], 16),
                "transactionIndex": int(log["transactionIndex"], 16),
                "transactionHash": bytes.fromhex(log["transactionHash"][2:]),
                "blockHash": bytes.fromhex(log["blockHash"][2:]),
                "address": Web3.to_checksum_address(log["address"]),
            }
        )
        assert (ours.block, ours.log_index, ours.tx) == (
            theirs["blockNumber"],
            theirs["logIndex"],
            "0x" + bytes(theirs["transactionHash"]).hex(),
        )
        types = {i["name"]: i["type"] for i in abi[ours.kind]["inputs"]}
        mine = [_plain(getattr(ours, f.name)) for f in dataclasses.fields(ours)][4:]
        web3s = [_web3_form(k, v, types[k]) for k, v in theirs["args"].items()]
        assert mine == web3s, ours.kind
