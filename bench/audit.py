"""Audit throughput: decode and check 100,000 registry events read from a local Anvil.

Writes a realistic history through `submit` (packed records, a few hundred per transaction):
raw-milk collections, then per formula lot: commissioning from a collection (+ BatchDerived),
three release tests, a release, shipping to a carrier, cold-chain summaries, delivery to a
retailer and anchored EPCIS events — 25 events per lot. Then runs the audit's stages and
times them separately:

- rpc:    eth_getLogs over JSON-RPC (adaptive paging) incl. JSON parsing, and the views
          (batchState / organisation as JSON-RPC batches of eth_call);
- decode: `milktrace.events.decode_logs`;
- check:  rebuild + every check (one replay) + recall impact.

For reference it also times web3.py's generic ABI event decoding (`process_log`) on a sample
of the same logs. Prints one JSON object. Usage: .venv/bin/python bench/audit.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from eth_utils import keccak
from web3 import Web3

from milktrace.audit import analyse, check_state
from milktrace.audit import views as audit_views
from milktrace.audit.run import paused_gc
from milktrace.chain import connect, deploy_registry, registry
from milktrace.events import decode_logs
from milktrace.identifiers import batch_id, gs1_check_digit
from milktrace.logs import PagingStats, RpcClient, fetch_logs
from milktrace.node import LocalNode
from milktrace.records import pack
from milktrace.types import (
    Accept,
    Anchor,
    AnchorKind,
    Commission,
    ConditionSummary,
    HandOver,
    QualityResult,
    Role,
    Status,
    StatusChange,
)

EVENTS_PER_LOT = 25
RECORDS_PER_TX = 400
T0 = 1_740_787_200


def gln(body: str) -> int:
    return int(body + str(gs1_check_digit(body)))


def gtin(body: str) -> str:
    return body + str(gs1_check_digit(body))


def send_all(w3: Web3, contract, sender: str, records: list, size: int = RECORDS_PER_TX) -> int:
    """Send records in `submit` calls of `size`; returns the number of transactions."""
    hashes = []
    for start in range(0, len(records), size):
        data = pack(records[start : start + size])
        hashes.append(contract.functions.submit(data).transact({"from": sender, "gas": 29_000_000}))
    for h in hashes:
        r = w3.eth.wait_for_transaction_receipt(h, timeout=120)
        if r["status"] != 1:
            raise SystemExit(f"submit {h.hex()} reverted")
    return len(hashes)


def build(w3: Web3, accounts: list[str], lots: int) -> tuple[object, int]:
    admin, farm, plant, lab, carrier, retailer = accounts[:6]
    dep = deploy_registry(w3, admin)
    c = registry(w3, dep)
    orgs = [
        (farm, "Ferme du Bocage", "376012340001", Role.PRODUCER),
        (plant, "Laiterie infantile", "376012340010", Role.PRODUCER),
        (lab, "Labo Normandie", "376012340020", Role.LAB),
        (carrier, "TransFroid", "376012340030", Role.CARRIER),
        (retailer, "Huamei Baby", "690123450002", Role.RETAILER),
    ]
    for account, name, body, role in orgs:
        h = c.functions.admitOrganisation(account, name, gln(body), b"FR", int(role)).transact(
            {"from": admin}
        )
        w3.eth.wait_for_transaction_receipt(h)
    raw_gtin, formula_gtin = gtin("0376012340100"), gtin("0376012340200")
    n_raw = max(1, lots // 100)
    raws = [batch_id(raw_gtin, f"RAW{i:05d}") for i in range(n_raw)]
    ids = (keccak(text=f"bench event {i}") for i in range(10**9))
    txs = 0
    txs += send_all(
        w3,
        c,
        farm,
        [
            Commission(
                raws[i],
                next(ids),
                raw_gtin,
                f"RAW{i:05d}",
                20250301,
                20250304,
                10_000,
                "LTR",
                "3760123400015",
                T0 + i,
            )
            for i in range(n_raw)
        ],
    )
    txs += send_all(w3, c, farm, [HandOver(r, next(ids), plant, T0 + 100) for r in raws])
    txs += send_all(w3, c, plant, [Accept(r, next(ids), T0 + 200) for r in raws])
    lot_ids = [batch_id(formula_gtin, f"IF{i:06d}") for i in range(lots)]
    txs += send_all(
        w3,
        c,
        plant,
        [
            Commission(
                lot_ids[i],
                next(ids),
                formula_gtin,
                f"IF{i:06d}",
                20250302,
                20260901,
                800,
                "KGM",
                "3760123400107",
                T0 + 1000 + i,
                parents=(raws[i % n_raw],),
            )
            for i in range(lots)
        ],
        size=200,
    )
    txs += send_all(
        w3,
        c,
        lab,
        [
            QualityResult(
                b, next(ids), test, True, 30_000, "MGKG", keccak(b + test.encode()), T0 + 2000
            )
            for b in lot_ids
            for test in ("MELAMINE", "CRONOBACTER", "ENTEROBACTERIA")
        ],
    )
    plant_recs: list = []
    for b in lot_ids:
        plant_recs += [
            StatusChange(b, next(ids), Status.RELEASED, "RELEASE", bytes(32), T0 + 3000),
            HandOver(b, next(ids), carrier, T0 + 3100),
        ]
    txs += send_all(w3, c, plant, plant_recs)
    carrier_recs: list = []
    for b in lot_ids:
        carrier_recs.append(Accept(b, next(ids), T0 + 3200))
        carrier_recs += [
            ConditionSummary(
                b, next(ids), keccak(b + bytes([k])), 288, 250 + k, 700, False, T0 + 3300 + k
            )
            for k in range(12)
        ]
        carrier_recs.append(HandOver(b, next(ids), retailer, T0 + 9000))
    txs += send_all(w3, c, carrier, carrier_recs)
    retailer_recs: list = []
    for b in lot_ids:
        retailer_recs.append(Accept(b, next(ids), T0 + 9100))
        retailer_recs += [
            Anchor(b, next(ids), AnchorKind.AGGREGATION, T0 + 9200 + k) for k in range(3)
        ]
    txs += send_all(w3, c, retailer, retailer_recs)
    return dep, txs


def web3_decode_rate(w3: Web3, abi: list, raw_logs: list[dict], sample: int = 5000) -> float:
    """Logs per second through web3.py's generic ABI decoding (`process_log`)."""
    contract = w3.eth.contract(abi=abi)
    topic_to_event = {}
    for item in abi:
        if item["type"] == "event":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            topic_to_event["0x" + keccak(text=sig).hex()] = getattr(contract.events, item["name"])()
    logs = [
        {
            **x,
            "topics": [bytes.fromhex(t[2:]) for t in x["topics"]],
            "data": bytes.fromhex(x["data"][2:]),
            "blockNumber": int(x["blockNumber"], 16),
            "logIndex": int(x["logIndex"], 16),
            "transactionIndex": int(x["transactionIndex"], 16),
            "transactionHash": bytes.fromhex(x["transactionHash"][2:]),
            "blockHash": bytes.fromhex(x["blockHash"][2:]),
            "address": Web3.to_checksum_address(x["address"]),
        }
        for x in raw_logs[:sample]
    ]
    started = time.perf_counter()
    for x in logs:
        topic_to_event["0x" + x["topics"][0].hex()].process_log(x)
    return len(logs) / (time.perf_counter() - started)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000, help="events to generate (about)")
    args = ap.parse_args()
    lots = max(1, args.events // EVENTS_PER_LOT)
    with LocalNode("anvil", accounts=8) as node:
        w3 = connect(node.url)
        accounts = [Web3.to_checksum_address(a) for a in node.dev_accounts()]
        t = time.perf_counter()
        dep, txs = build(w3, accounts, lots)
        t_build = time.perf_counter() - t
        head = w3.eth.block_number

        client = RpcClient(node.url, timeout=300)
        stats = PagingStats()
        t0 = time.perf_counter()
        raw = fetch_logs(client, dep.address, dep.deploy_block, head, stats=stats)
        t1 = time.perf_counter()
        with paused_gc():  # as run_audit does
            events = decode_logs(raw, dep.address)
            t2 = time.perf_counter()
            report = analyse(events)
            t3 = time.perf_counter()
        ledger = report.ledger
        bids = [b for b, h in ledger.batches.items() if h.commissioned is not None]
        accts = [a for a, o in ledger.orgs.items() if o.admitted is not None]
        bviews = audit_views.batch_states(client, dep.address, bids, head)
        oviews = audit_views.organisations(client, dep.address, accts, head)
        t4 = time.perf_counter()
        state = check_state(ledger, bviews, oviews)
        t5 = time.perf_counter()
        web3_rate = web3_decode_rate(w3, dep.abi, raw)
        client.close()

    n = len(events)
    rpc = (t1 - t0) + (t4 - t3)
    decode = t2 - t1
    check = (t3 - t2) + (t5 - t4)
    total = rpc + decode + check
    out = {
        "bench": "audit",
        "events": n,
        "lots": lots,
        "generation": {
            "method": "submit with packed records (records.pack), real anvil logs, no replication",
            "transactions": txs,
            "blocks": head,
            "seconds": round(t_build, 2),
        },
        "decodeAndCheckEventsPerSecond": round(n / (decode + check)),
        "decodeEventsPerSecond": round(n / decode),
        "checkEventsPerSecond": round(n / check),
        "overallEventsPerSecond": round(n / total),
        "web3GenericDecodeEventsPerSecond": round(web3_rate),
        "seconds": {
            "rpc": round(rpc, 3),
            "rpcGetLogs": round(t1 - t0, 3),
            "rpcViews": round(t4 - t3, 3),
            "decode": round(decode, 3),
            "check": round(check, 3),
            "total": round(total, 3),
        },
        "share": {
            "rpc": round(rpc / total, 3),
            "decode": round(decode / total, 3),
            "check": round(check / total, 3),
        },
        "paging": stats.as_dict(),
        "checksPassed": report.passed and state.passed,
        "target": {"decodeAndCheckEventsPerSecond": 10_000, "met": n / (decode + check) >= 10_000},
    }
    print(json.dumps(out, indent=1))
    return 0 if out["checksPassed"] else 1


if __name__ == "__main__":
    sys.exit(main())
