"""Ingest throughput: 10,000 events end to end against a plain one-transaction-per-event loop.

    .venv/bin/python bench/ingest.py [--engine anvil|ganache] [--events 10000] [--sample 300]

Starts its own local node (automine), deploys the registry, admits a producer and a lab
(encrypted keystores, light scrypt so that unlocking them costs nothing measurable), and
writes the two parties' milktrace CSV exports: the producer commissions batches and records
for each a cold-chain summary, an anchored inventory event and its release; the lab records
quality results on those batches (events split 40 / 60).

- **ingest**: `milktrace ingest` of the producer's file, then of the lab's file, through the
  real command in this process (parse, validate against the schema and the chain, plan, look
  up what is already on chain, sign, send, wait for every receipt, verify on chain).
- **loop**: the plain web3.py way on the same node in the same run, on a sample of the lab's
  quality results: `registry.functions.recordQuality(q).transact({"from": lab})` then
  `w3.eth.wait_for_transaction_receipt(tx)`, one event per transaction; and the same signed
  locally (`build_transaction` + `sign_transaction` + `send_raw_transaction` + wait).

Prints JSON: both rates, the ratio against the faster loop (target ≥ 20), gas per event and
transactions. No assert: a benchmark reports.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from web3 import Web3  # noqa: E402

from milktrace import keys, orgs  # noqa: E402
from milktrace.chain import deploy_registry, fee_fields, registry  # noqa: E402
from milktrace.cli import main as cli_main  # noqa: E402
from milktrace.identifiers import batch_id, gs1_check_digit  # noqa: E402
from milktrace.node import LocalNode  # noqa: E402
from milktrace.types import Role  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)  # the bench's throwaway keystores
GTIN = "0376012345678" + str(gs1_check_digit("0376012345678"))
TESTS = ("MELAMINE", "AFLATOXIN_M1", "CRONOBACTER", "SALMONELLA", "LEAD", "NITRATE")


def gln(body12: str) -> str:
    return body12 + str(gs1_check_digit(body12))


PRODUCER_GLN, LAB_GLN, LOOP_GLN = gln("376012345010"), gln("376012345020"), gln("376012345030")


def write_exports(folder: Path, events: int) -> tuple[Path, Path, int, int]:
    """The producer's and the lab's CSV; returns their paths and record counts."""
    batches = max(1, events * 4 // 10 // 4)
    producer_rows = 4 * batches
    lab_rows = events - producer_rows
    p = ["kind,event_time,gtin,lot,production_date,expiry_date,quantity,uom,site_gln,"
         "readings_root,count,min_c,max_c,alarm,status,reason,anchor_kind,note"]
    for i in range(batches):
        lot, t = f"B{i:06d}", f"2025-03-{1 + i % 27:02d}T08:{i % 60:02d}:00+01:00"
        p += [f"commission,{t},{GTIN},{lot},2025-03-01,2026-09-01,{1000 + i},KGM,"
              f"{PRODUCER_GLN},,,,,,,,,原奶 lot {i}",
              f"condition,{t},{GTIN},{lot},,,,,,{hashlib.sha256(lot.encode()).hexdigest()},"
              f"96,3.5,6.25,false,,,,",
              f"anchor,{t},{GTIN},{lot},,,,,,,,,,,,,object,inventory",
              f"status,{t},{GTIN},{lot},,,,,,,,,,,released,QA_RELEASE,,"]
    q = ["kind,event_time,gtin,lot,test_code,value,uom,result,report_sha256,lab_name"]
    for j in range(lab_rows):
        lot = f"B{j % batches:06d}"
        report = hashlib.sha256(f"report {j}".encode()).hexdigest()
        q.append(f"quality,2025-03-{1 + j % 27:02d}T12:{j % 60:02d}:00+01:00,{GTIN},{lot},"
                 f"{TESTS[j % len(TESTS)]},0.0{j % 10},MGKG,pass,{report},Laboratoire")
    producer_csv, lab_csv = folder / "producer.csv", folder / "lab.csv"
    producer_csv.write_text("\n".join(p) + "\n", encoding="utf-8")
    lab_csv.write_text("\n".join(q) + "\n", encoding="utf-8")
    return producer_csv, lab_csv, producer_rows, lab_rows


def ingest(url: str, manifest: Path, key: str, keys_dir: Path, journal: Path,
           csv: Path) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["ingest", str(csv), "--rpc", url, "--deployment", str(manifest),
                         "--key", key, "--keys-dir", str(keys_dir), "--journal", str(journal),
                         "--json"])
    if code != 0:
        raise SystemExit(f"ingest of {csv.name} failed: {out.getvalue()}")
    return json.loads(out.getvalue())


def plain_loop(w3: Web3, contract, sender, sample: int, signed: bool) -> dict:
    """One recordQuality transaction per event, each waited for."""
    batch = batch_id(GTIN, "B000000")
    gas = 0
    t0 = time.perf_counter()
    for i in range(sample):
        q = (batch, hashlib.sha256(f"loop {signed} {i}".encode()).digest(),
             b"MELAMINE".ljust(16, b"\0"), True, 50_000, b"MGKG".ljust(8, b"\0"),
             hashlib.sha256(b"report").digest(), 1_740_787_200 + i)
        call = contract.functions.recordQuality(q)
        if signed:
            tx = call.build_transaction({"from": sender.address, "nonce":
                                        w3.eth.get_transaction_count(sender.address),
                                        **fee_fields(w3)})
            h = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        else:
            h = call.transact({"from": sender})
        gas += w3.eth.wait_for_transaction_receipt(h)["gasUsed"]
    seconds = time.perf_counter() - t0
    return {"method": ("build_transaction + sign_transaction + send_raw_transaction"
                       if signed else "recordQuality(q).transact()")
            + " + wait_for_transaction_receipt, one event per transaction",
            "events": sample, "transactions": sample, "seconds": round(seconds, 3),
            "eventsPerSecond": round(sample / seconds, 1), "gasPerEvent": round(gas / sample)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/ingest.py")
    parser.add_argument("--engine", choices=("anvil", "ganache"), default="anvil")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300, help="events of the plain loop")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="milktrace-bench-ingest-") as tmp, \
            LocalNode(args.engine) as node:
        folder = Path(tmp)
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 120}))
        admin, loop_lab = w3.eth.accounts[0], w3.eth.accounts[1]
        dep = deploy_registry(w3, admin)
        manifest = dep.save(folder / "deployment.json")
        keys_dir = folder / "keystores"
        for name, org_gln, role in (("producer", PRODUCER_GLN, Role.PRODUCER),
                                    ("lab", LAB_GLN, Role.LAB)):
            info = keys.new_key(name, PASSWORD, keys_dir, scrypt_n=2**12)
            w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
                {"from": admin, "to": info.address, "value": 10**22, **fee_fields(w3)}))
            orgs.admit(w3, dep, admin, info.address, name=f"Bench {name}", gln=org_gln,
                       country="FR", roles=role)
        orgs.admit(w3, dep, admin, loop_lab, name="Bench loop lab", gln=LOOP_GLN,
                   country="FR", roles=Role.LAB)
        producer_csv, lab_csv, n_producer, n_lab = write_exports(folder, args.events)

        os.environ["MILKTRACE_KEY_PASSWORD"] = PASSWORD
        t0 = time.perf_counter()
        s1 = ingest(node.url, manifest, "producer", keys_dir, folder / "journal", producer_csv)
        s2 = ingest(node.url, manifest, "lab", keys_dir, folder / "journal", lab_csv)
        seconds = time.perf_counter() - t0
        events = s1["events"] + s2["events"]
        assert events == n_producer + n_lab, (s1, s2)
        again = ingest(node.url, manifest, "lab", keys_dir, folder / "journal", lab_csv)

        contract = registry(w3, dep)
        loop = plain_loop(w3, contract, loop_lab, args.sample, signed=False)
        lab_key = keys.unlock(keys_dir / "lab.json", PASSWORD)
        loop_signed = plain_loop(w3, contract, lab_key, args.sample, signed=True)

    rate = events / seconds
    best_loop = max(loop["eventsPerSecond"], loop_signed["eventsPerSecond"])
    gas = s1["gas"] + s2["gas"]
    txs = s1["transactions"] + s2["transactions"]
    result = {
        "benchmark": "ingest",
        "engine": args.engine,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "ingest": {
            "events": events, "byParty": {"producer": s1["events"], "lab": s2["events"]},
            "endToEnd": "parse, validate (schema + chain), plan, on-chain look-up, sign, "
                        "send, receipts, on-chain verification; two `milktrace ingest` runs",
            "seconds": round(seconds, 3), "eventsPerSecond": round(rate, 1),
            "transactions": txs, "eventsPerTransaction": round(events / txs, 1),
            "gas": gas, "gasPerEvent": round(gas / events),
            "gasPerEventByParty": {"producer": round(s1["gas"] / s1["events"]),
                                   "lab": round(s2["gas"] / s2["events"])},
            "rerun": {"events": again["events"], "skipped": again["skipped"],
                      "transactions": again["transactions"], "seconds": again["seconds"]},
        },
        "loop": loop,
        "loopSigned": loop_signed,
        "ratio": round(rate / best_loop, 1),
        "ratioAgainst": "the faster of the two plain loops",
        "target": 20,
        "met": rate / best_loop >= 20,
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
