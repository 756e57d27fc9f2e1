"""Gas of the registry's operations against the physical floor of each transaction.

    .venv/bin/python bench/gas.py [--engine anvil|ganache]

Starts its own local node (Anvil by default, at its default hardfork), deploys TraceRegistry,
admits organisations, and sends each measured operation as its own transaction. For every
line it computes the floor of that very transaction from what it carried:

    floor = 21,000 + calldata + logs,  calldata = 4/zero byte + 16/non-zero byte,
            logs = Σ (375 + 375 × topics + 8 × data bytes)
    (EIP-7623, from Prague on: 21,000 + max(calldata + logs, 10 × calldata tokens),
     tokens = zero bytes + 4 × non-zero bytes)

and prints a JSON list of {operation, gasUsed, floor, ratio, target, met, ...} on stdout
(per record for the batched lines), a table on stderr, and exits 1 when a target is missed.
Targets are those of shared/DESIGN.md and issue 3.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from web3 import Web3  # noqa: E402

from milktrace.chain import deploy_registry, registry, transact  # noqa: E402
from milktrace.identifiers import batch_id, gs1_check_digit  # noqa: E402
from milktrace.node import LocalNode  # noqa: E402
from milktrace.records import ascii_fixed, pack  # noqa: E402
from milktrace.types import ConditionSummary, QualityResult, Role  # noqa: E402

EVENT_TIME = 1_762_000_000  # 2025-11-01, unix seconds
RNG = random.Random(20251101)  # hashes are random bytes, as real hashes are; fixed seed


def h32() -> bytes:
    return RNG.randbytes(32)


def gtin_of(body13: str) -> str:
    return body13 + str(gs1_check_digit(body13))


# ---------------------------------------------------------------- floor


def calldata_cost(data: bytes) -> tuple[int, int]:
    """(standard calldata gas, EIP-7623 tokens) of a transaction's input."""
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    return 4 * zeros + 16 * nonzeros, zeros + 4 * nonzeros


def log_cost(receipt: Any) -> int:
    return sum(375 + 375 * len(log["topics"]) + 8 * len(log["data"]) for log in receipt["logs"])


def floor_of(tx_input: bytes, receipt: Any, eip7623: bool) -> int:
    standard, tokens = calldata_cost(tx_input)
    execution_floor = standard + log_cost(receipt)
    return 21_000 + (max(execution_floor, 10 * tokens) if eip7623 else execution_floor)


@dataclass
class Line:
    operation: str
    gas_used: float
    floor: float
    target: float | None
    target_text: str
    max_ratio: float | None = None
    records: int = 1
    mix: str | None = None

    @property
    def ratio(self) -> float:
        return self.gas_used / self.floor

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        ok = self.gas_used <= self.target
        if self.max_ratio is not None:
            ok = ok and self.ratio <= self.max_ratio
        return ok

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operation": self.operation,
            "gasUsed": round(self.gas_used, 2),
            "floor": round(self.floor, 2),
            "ratio": round(self.ratio, 3),
            "target": self.target_text,
            "met": self.met,
        }
        if self.records != 1:
            out["recordsPerTx"] = self.records
            out["perRecord"] = True
        if self.mix:
            out["mix"] = self.mix
        return out


# ---------------------------------------------------------------- the run


class Bench:
    def __init__(self, w3: Web3, eip7623: bool):
        self.w3 = w3
        self.eip7623 = eip7623
        accounts = w3.eth.accounts
        self.admin, self.producer, self.carrier, self.lab, self.retailer, self.plant = accounts[:6]
        dep = deploy_registry(w3, self.admin)
        self.reg = registry(w3, dep)
        self.gln = int("376123450000" + str(gs1_check_digit("376123450000")))
        for account, roles, name in [
            (self.producer, Role.PRODUCER, "Laiterie du Val"),
            (self.carrier, Role.CARRIER, "FroidTrans"),
            (self.lab, Role.LAB, "Labo Analyses"),
            (self.retailer, Role.RETAILER, "BabyMart Shanghai"),
            (self.plant, Role.PRODUCER | Role.LAB, "Usine Lait Infantile (in-house QA lab)"),
        ]:
            transact(
                w3,
                self.reg.functions.admitOrganisation(account, name, self.gln, b"FR", int(roles)),
                self.admin,
            )
        self._lot = 0

    def send(self, call: Any, sender: str) -> tuple[Any, bytes]:
        receipt = transact(self.w3, call, sender)
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        return receipt, bytes(tx["input"])

    def measure(self, call: Any, sender: str) -> tuple[int, int]:
        receipt, data = self.send(call, sender)
        return int(receipt["gasUsed"]), floor_of(data, receipt, self.eip7623)

    def new_batch(self, sender: str) -> tuple[tuple, bytes]:
        self._lot += 1
        gtin = gtin_of("0376123450001")
        lot = f"L2611-{self._lot:03d}"
        bid = batch_id(gtin, lot)
        args = (
            bid,
            h32(),
            int(gtin),
            lot,
            20251101,
            20270501,
            12_000,
            ascii_fixed("LTR", 8, "unit"),
            self.gln,
            [],
            EVENT_TIME,
        )
        return args, bid

    def quality_args(self, bid: bytes) -> tuple:
        return (
            bid,
            h32(),
            ascii_fixed("MELAMINE", 16, "test"),
            True,
            50_000,
            ascii_fixed("MGKG", 8, "unit"),
            h32(),
            EVENT_TIME,
        )

    def condition_args(self, bid: bytes, count: int = 288) -> tuple:
        return (bid, h32(), h32(), count, 210, 650, False, EVENT_TIME)

    def run(self) -> list[Line]:
        f = self.reg.functions
        lines: list[Line] = []

        args, bid = self.new_batch(self.producer)
        gas, floor = self.measure(f.commission(args), self.producer)
        lines.append(Line("commission a batch (no parents)", gas, floor, 60_000, "<= 60000"))

        gas, floor = self.measure(f.recordQuality(self.quality_args(bid)), self.lab)
        lines.append(
            Line(
                "quality record, one per tx",
                gas,
                floor,
                32_000,
                "<= 32000 and <= 1.25x floor",
                max_ratio=1.25,
            )
        )

        gas, floor = self.measure(f.handOver(bid, h32(), self.carrier, EVENT_TIME), self.producer)
        lines.append(Line("custody hand-over, one per tx", gas, floor, 36_000, "<= 36000"))

        gas, floor = self.measure(f.accept(bid, h32(), EVENT_TIME), self.carrier)
        lines.append(Line("custody accept, one per tx", gas, floor, 36_000, "<= 36000"))

        gas, floor = self.measure(f.recordCondition(self.condition_args(bid)), self.carrier)
        lines.append(
            Line(
                "condition record, one per tx",
                gas,
                floor,
                32_000,
                "<= 32000 and <= 1.25x floor",
                max_ratio=1.25,
            )
        )

        # The plant (producer with an in-house QA lab) holds ten batches and ingests its lab
        # results and cold-store condition summaries for them, interleaved.
        batches = []
        for _ in range(10):
            args, b = self.new_batch(self.plant)
            transact(self.w3, f.commission(args), self.plant)
            batches.append(b)
        mix = (
            "half quality results (QualityResult), half condition summaries (ConditionSummary), "
            "interleaved over 10 batches held by a producer with an in-house lab (PRODUCER|LAB)"
        )
        for n, target, text in [(100, 6_000, "<= 6000 per record"), (1000, None, "report")]:
            records = self.ingest_mix(batches, n)
            gas, floor = self.measure(f.submit(pack(records)), self.plant)
            lines.append(
                Line(
                    f"records in one tx, {n} per tx",
                    gas / n,
                    floor / n,
                    target,
                    text,
                    records=n,
                    mix=mix,
                )
            )

        gas, floor = self.measure(
            f.recordCondition(self.condition_args(bid, count=100_000)), self.carrier
        )
        lines.append(
            Line(
                "Merkle-anchored units: condition summary of 100,000 readings (per reading)",
                gas / 100_000,
                floor / 100_000,
                1,
                "<= 1 per unit",
                records=100_000,
                mix="one recordCondition whose readingsRoot covers 100,000 readings",
            )
        )
        return lines

    def ingest_mix(self, batches: list[bytes], n: int) -> list:
        out = []
        for i in range(n):
            bid = batches[i % len(batches)]
            if i % 2 == 0:
                out.append(
                    QualityResult(bid, h32(), "MELAMINE", True, 50_000, "MGKG", h32(), EVENT_TIME)
                )
            else:
                out.append(ConditionSummary(bid, h32(), h32(), 288, 210, 650, False, EVENT_TIME))
        return out


def table(lines: list[Line]) -> str:
    rows = [f"{'operation':<58} {'gasUsed':>10} {'floor':>10} {'ratio':>6}  {'target':<28} met"]
    for ln in lines:
        met = {True: "yes", False: "NO", None: "-"}[ln.met]
        rows.append(
            f"{ln.operation[:58]:<58} {ln.gas_used:>10.1f} {ln.floor:>10.1f} {ln.ratio:>6.3f}  "
            f"{ln.target_text:<28} {met}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["anvil", "ganache"], default="anvil")
    ns = parser.parse_args(argv)
    os.environ.setdefault("SOLCX_BINARY_PATH", str(ROOT / ".venv" / "solcx"))
    with LocalNode(ns.engine) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 120}))
        # Ganache stops at shanghai; Anvil's default hardfork (latest) includes Prague's EIP-7623.
        eip7623 = ns.engine == "anvil"
        lines = Bench(w3, eip7623).run()
    print(json.dumps([ln.to_json() for ln in lines], indent=1))
    print(table(lines), file=sys.stderr)
    missed = [ln.operation for ln in lines if ln.met is False]
    if missed:
        print(f"missed target(s): {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
