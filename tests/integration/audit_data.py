"""Data sets for the audit tests, written through the real registry on a local node.

`Trace` deploys a fresh registry and names the actors (dev accounts unlocked by the node);
its methods write one record each through the typed single-record functions and return what
a test needs to find the record in a report (event id, transaction hash, block).

`clean(trace)` writes a realistic small history that passes every check: two Normandy farms'
raw-milk collections, a plant turning them into two lots of infant formula, lab results,
cold-chain summaries, shipping to Shanghai, a lab whose accreditation is revoked in the very
block of its last result (after it), and a recall of one lot with its custody brought back.
The `break_*` builders each add one history the contract accepts but the audit policy
forbids, and return the record the audit must name.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak
from web3 import Web3

from milktrace.chain import Deployment, deploy_registry, registry
from milktrace.identifiers import batch_id as make_batch_id
from milktrace.identifiers import gs1_check_digit
from milktrace.types import AnchorKind, Role, Status

DAY = 86_400
T0 = 1_740_787_200  # 2025-03-01T00:00:00Z


def with_check_digit(body: str) -> str:
    return body + str(gs1_check_digit(body))


def ascii_fixed(text: str, size: int) -> bytes:
    return text.encode("ascii").ljust(size, b"\0")


@dataclass(frozen=True)
class Written:
    """A record as written: what the audit report must name."""

    kind: str
    batch_id: bytes
    event_id: bytes
    tx: str
    block: int
    log_index: int


ORGS = {  # key: (name, GLN body (12 digits), country, roles)
    "farm_a": ("Ferme du Bocage", "376012340001", "FR", Role.PRODUCER),
    "farm_b": ("GAEC des Saules", "376012340002", "FR", Role.PRODUCER),
    "plant": ("Laiterie d'Isigny — usine infantile", "376012340010", "FR", Role.PRODUCER),
    "lab": ("Labo Normandie Analyses", "376012340020", "FR", Role.LAB),
    "old_lab": ("Laboratoire vétérinaire du Calvados", "376012340021", "FR", Role.LAB),
    "carrier": ("TransFroid Logistique", "376012340030", "FR", Role.CARRIER),
    "importer": ("上海惠宝进口有限公司", "690123450001", "CN", Role.CARRIER | Role.RETAILER),
    "retailer": ("华美母婴店 Huamei Baby", "690123450002", "CN", Role.RETAILER),
    "regulator": ("SAMR Shanghai", "690123450009", "CN", Role.REGULATOR),
}

GTIN_RAW = with_check_digit("0376012340100")  # raw cow's milk, bulk
GTIN_FORMULA = with_check_digit("0376012340200")  # infant formula 1st age, 800 g


@dataclass
class Trace:
    """A fresh registry on a node, with named actors."""

    w3: Web3
    accounts: list[str]
    dep: Deployment = field(init=False)
    contract: Any = field(init=False)
    actors: dict[str, str] = field(init=False)
    docs: dict[str, bytes] = field(default_factory=dict)  # file name → content (lab reports)
    written: list[Written] = field(default_factory=list)
    _n: Any = field(default_factory=lambda: itertools.count(1))
    _t: int = T0

    def __post_init__(self) -> None:
        self.accounts = [Web3.to_checksum_address(a) for a in self.accounts]
        self.admin = self.accounts[0]
        self.dep = deploy_registry(self.w3, self.admin)
        self.contract = registry(self.w3, self.dep)
        names = list(ORGS) + ["stranger"]
        self.actors = dict(zip(names, self.accounts[1:], strict=False))

    # ------------------------------------------------------------------ plumbing

    def send(self, fn: Any, sender: str) -> Any:
        tx = fn.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        assert receipt["status"] == 1, f"transaction {tx.hex()} reverted"
        return receipt

    def same_block(self, calls: list[tuple[Any, str]]) -> list[Any]:
        """Send the calls with automine off and mine them in one block, in order."""
        rpc = self.w3.provider.make_request
        ganache = "ganache" in self.w3.client_version.lower()
        rpc("miner_stop" if ganache else "evm_setAutomine", [] if ganache else [False])
        try:
            hashes = []
            for i, (fn, sender) in enumerate(calls):
                gas = fn.estimate_gas({"from": sender}) + 50_000
                tip = 10_000_000_000 * (len(calls) - i)  # earlier calls pay more: mined first
                base = self.w3.eth.get_block("latest")["baseFeePerGas"]
                hashes.append(
                    fn.transact(
                        {
                            "from": sender,
                            "gas": gas,
                            "maxPriorityFeePerGas": tip,
                            "maxFeePerGas": 2 * base + tip,
                        }
                    )
                )
            rpc("evm_mine", [])
        finally:
            rpc("miner_start" if ganache else "evm_setAutomine", [] if ganache else [True])
        receipts = [self.w3.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
        assert len({r["blockNumber"] for r in receipts}) == 1, "not mined in one block"
        assert [r["transactionIndex"] for r in receipts] == sorted(
            r["transactionIndex"] for r in receipts
        )
        for r in receipts:
            assert r["status"] == 1
        return receipts

    def event_id(self, label: str = "") -> bytes:
        return keccak(text=f"{self.dep.address}:{next(self._n)}:{label}")

    def now(self, days: float = 0.25) -> int:
        self._t += int(days * DAY)
        return self._t

    def _note(self, kind: str, batch: bytes, eid: bytes, receipt: Any, i: int = 0) -> Written:
        w = Written(
            kind,
            batch,
            eid,
            receipt["transactionHash"].to_0x_hex(),
            receipt["blockNumber"],
            receipt["logs"][i]["logIndex"],
        )
        self.written.append(w)
        return w

    def a(self, who: str) -> str:
        return self.actors[who]

    # ------------------------------------------------------------------ organisations

    def admit(self, key: str) -> None:
        name, gln_body, country, roles = ORGS[key]
        fn = self.contract.functions.admitOrganisation(
            self.a(key), name, int(with_check_digit(gln_body)), country.encode(), int(roles)
        )
        self.send(fn, self.admin)

    def admit_all(self) -> None:
        for key in ORGS:
            self.admit(key)

    def revoke_fn(self, key: str, role: Role) -> Any:
        return self.contract.functions.revokeRole(keccak(text=role.role_name), self.a(key))

    # ------------------------------------------------------------------ records

    def commission_fn(
        self,
        who: str,
        gtin: str,
        lot: str,
        production: int,
        expiry: int,
        quantity: int,
        unit: str,
        parents: tuple[bytes, ...] = (),
        eid: bytes | None = None,
    ) -> tuple[Any, bytes, bytes]:
        bid = make_batch_id(gtin, lot)
        eid = eid or self.event_id("commission")
        site = int(with_check_digit(ORGS[who][1]))
        fn = self.contract.functions.commission(
            (
                bid,
                eid,
                int(gtin),
                lot,
                production,
                expiry,
                quantity,
                ascii_fixed(unit, 8),
                site,
                list(parents),
                self.now(),
            )
        )
        return fn, bid, eid

    def commission(
        self,
        who: str,
        gtin: str,
        lot: str,
        production: int,
        expiry: int,
        quantity: int,
        unit: str,
        parents: tuple[bytes, ...] = (),
        eid: bytes | None = None,
    ) -> bytes:
        fn, bid, eid = self.commission_fn(
            who, gtin, lot, production, expiry, quantity, unit, parents, eid
        )
        self._note("BatchCommissioned", bid, eid, self.send(fn, self.a(who)))
        return bid

    def hand_over(self, who: str, batch: bytes, to: str, eid: bytes | None = None) -> Written:
        eid = eid or self.event_id("ship")
        fn = self.contract.functions.handOver(batch, eid, self.a(to), self.now())
        return self._note("CustodyHandedOver", batch, eid, self.send(fn, self.a(who)))

    def accept(self, who: str, batch: bytes, eid: bytes | None = None) -> Written:
        eid = eid or self.event_id("receive")
        fn = self.contract.functions.accept(batch, eid, self.now(0.5))
        return self._note("CustodyAccepted", batch, eid, self.send(fn, self.a(who)))

    def move(self, frm: str, batch: bytes, to: str) -> None:
        self.hand_over(frm, batch, to)
        self.accept(to, batch)

    def cancel(self, who: str, batch: bytes) -> Written:
        eid = self.event_id("cancel")
        fn = self.contract.functions.cancelHandOver(batch, eid, self.now(0.05))
        return self._note("CustodyHandOverCancelled", batch, eid, self.send(fn, self.a(who)))

    def quality_fn(
        self,
        who: str,
        batch: bytes,
        test: str,
        passed: bool,
        value: float,
        unit: str,
        eid: bytes | None = None,
    ) -> tuple[Any, bytes]:
        eid = eid or self.event_id("quality")
        report = (
            f"Rapport d'analyse {test}\nlot 0x{batch.hex()}\nresult {value} {unit}\n"
            f"verdict {'conforme' if passed else 'non conforme'}\n"
        ).encode()
        digest = hashlib.sha256(report).digest()
        self.docs[f"{test.lower()}-{batch.hex()[:8]}-{eid.hex()[:6]}.txt"] = report
        fn = self.contract.functions.recordQuality(
            (
                batch,
                eid,
                ascii_fixed(test, 16),
                passed,
                round(value * 1_000_000),
                ascii_fixed(unit, 8),
                digest,
                self.now(0.1),
            )
        )
        return fn, eid

    def quality(
        self,
        who: str,
        batch: bytes,
        test: str,
        passed: bool,
        value: float,
        unit: str,
        eid: bytes | None = None,
    ) -> Written:
        fn, eid = self.quality_fn(who, batch, test, passed, value, unit, eid)
        return self._note("QualityRecorded", batch, eid, self.send(fn, self.a(who)))

    def release_tests(self, batch: bytes, who: str = "lab") -> None:
        self.quality(who, batch, "MELAMINE", True, 0.05, "MGKG")
        self.quality(who, batch, "CRONOBACTER", True, 0, "CFU10G")
        self.quality(who, batch, "ENTEROBACTERIA", True, 0, "CFU10G")

    def condition(
        self,
        who: str,
        batch: bytes,
        lo: float,
        hi: float,
        alarm: bool = False,
        count: int = 288,
        eid: bytes | None = None,
    ) -> Written:
        eid = eid or self.event_id("condition")
        root = keccak(text=f"readings:{eid.hex()}")
        fn = self.contract.functions.recordCondition(
            (batch, eid, root, count, round(lo * 100), round(hi * 100), alarm, self.now(0.5))
        )
        return self._note("ConditionRecorded", batch, eid, self.send(fn, self.a(who)))

    def status(
        self, who: str, batch: bytes, status: Status, reason: str, notice: bytes | None = None
    ) -> Written:
        eid = self.event_id("status")
        notice_hash = b"\0" * 32
        if notice is not None:
            notice_hash = hashlib.sha256(notice).digest()
            self.docs[f"notice-{reason.lower()}-{batch.hex()[:8]}.txt"] = notice
        fn = self.contract.functions.setStatus(
            batch, eid, int(status), ascii_fixed(reason, 16), notice_hash, self.now(0.1)
        )
        return self._note("BatchStatusChanged", batch, eid, self.send(fn, self.a(who)))

    def anchor(self, who: str, batch: bytes, kind: AnchorKind = AnchorKind.AGGREGATION) -> Written:
        eid = self.event_id("anchor")
        fn = self.contract.functions.anchor(batch, eid, int(kind), self.now(0.1))
        return self._note("EventAnchored", batch, eid, self.send(fn, self.a(who)))


# ---------------------------------------------------------------------- data sets


@dataclass
class Clean:
    raw_a: bytes
    raw_b: bytes
    formula_a: bytes
    formula_b: bytes
    late_result: Written  # the old lab's last result, same block as its revocation
    recall: Written


def raw_collections(t: Trace) -> tuple[bytes, bytes]:
    raw_a = t.commission("farm_a", GTIN_RAW, "BOC-250301", 20250301, 20250304, 12_400, "LTR")
    t.condition("farm_a", raw_a, 2.1, 3.8)
    t.move("farm_a", raw_a, "plant")
    raw_b = t.commission("farm_b", GTIN_RAW, "SAU-250301", 20250301, 20250304, 8_150, "LTR")
    t.move("farm_b", raw_b, "plant")
    return raw_a, raw_b


def clean(t: Trace) -> Clean:
    """A history that passes every check (see the module docstring)."""
    t.admit_all()
    raw_a, raw_b = raw_collections(t)
    # raw milk screened by the old lab; its LAB role is revoked in the same block, after it
    fn, eid = t.quality_fn("old_lab", raw_a, "MELAMINE", True, 0.02, "MGKG")
    r_quality, _r_revoke = t.same_block(
        [(fn, t.a("old_lab")), (t.revoke_fn("old_lab", Role.LAB), t.admin)]
    )
    late = t._note("QualityRecorded", raw_a, eid, r_quality)
    t.quality("lab", raw_b, "MELAMINE", True, 0.03, "MGKG")

    # the plant spray-dries both collections into lot A, collection B alone into lot B
    fa = t.commission(
        "plant", GTIN_FORMULA, "IF250302A", 20250302, 20260901, 2_480, "KGM", parents=(raw_a, raw_b)
    )
    fb = t.commission(
        "plant", GTIN_FORMULA, "IF250303B", 20250303, 20260902, 960, "KGM", parents=(raw_b,)
    )
    for lot in (fa, fb):
        t.release_tests(lot)
        t.status("plant", lot, Status.RELEASED, "POSITIVE_RELEASE")

    # lot A: offered to the importer by mistake, withdrawn, then shipped to Shanghai
    t.hand_over("plant", fa, "importer")
    t.cancel("plant", fa)
    t.hand_over("plant", fa, "carrier")
    t.condition("carrier", fa, 4.0, 6.5)  # recorded by the pending addressee, at loading
    t.accept("carrier", fa)
    t.condition("carrier", fa, 3.5, 7.2)
    t.move("carrier", fa, "importer")
    t.anchor("importer", fa, AnchorKind.AGGREGATION)  # palletised into SSCCs
    t.move("importer", fa, "retailer")

    # lot B: shipped, then recalled by the regulator after a failed surveillance test
    t.move("plant", fb, "carrier")
    t.condition("carrier", fb, 3.2, 6.9)
    t.move("carrier", fb, "importer")
    t.quality("lab", fb, "CRONOBACTER", False, 12, "CFU10G")
    recall = t.status(
        "regulator",
        fb,
        Status.RECALLED,
        "CRONOBACTER",
        notice=b"SAMR recall notice 2025-017: infant formula lot IF250303B\n",
    )
    # follow-ups: notice anchored, custody brought back to the plant through the carrier
    t.anchor("regulator", fb, AnchorKind.OBJECT)
    t.move("importer", fb, "carrier")
    t.move("carrier", fb, "plant")
    return Clean(raw_a, raw_b, fa, fb, late, recall)


def base(t: Trace) -> bytes:
    """Organisations, two collections and one formula lot made from them, still at the plant."""
    t.admit_all()
    raw_a, raw_b = raw_collections(t)
    return t.commission(
        "plant", GTIN_FORMULA, "IF250310A", 20250310, 20260910, 1_200, "KGM", parents=(raw_a, raw_b)
    )


def break_release(t: Trace) -> Written:
    """The plant ships a lot before its melamine result; the result arrives later."""
    lot = base(t)
    t.quality("lab", lot, "CRONOBACTER", True, 0, "CFU10G")
    t.quality("lab", lot, "ENTEROBACTERIA", True, 0, "CFU10G")
    shipped = t.hand_over("plant", lot, "carrier")
    t.accept("carrier", lot)
    t.quality("lab", lot, "MELAMINE", True, 0.04, "MGKG")
    return shipped


def break_recall_lab(t: Trace) -> Written:
    """A lab records a result on a lot after the regulator recalled it."""
    lot = base(t)
    t.release_tests(lot)
    t.move("plant", lot, "carrier")
    t.status("regulator", lot, Status.RECALLED, "PRECAUTION")
    return t.quality("lab", lot, "AFLATOXIN_M1", True, 0.01, "UGKG")


def break_recall_forward(t: Trace) -> tuple[Written, Written]:
    """After a recall, the importer sends the lot on to a retailer, who accepts it."""
    lot = base(t)
    t.release_tests(lot)
    t.move("plant", lot, "carrier")
    t.move("carrier", lot, "importer")
    t.status("regulator", lot, Status.RECALLED, "MELAMINE")
    return t.hand_over("importer", lot, "retailer"), t.accept("retailer", lot)


def break_duplicates(t: Trace) -> Written:
    """The carrier's cold-chain summary is delivered twice (same source event id)."""
    lot = base(t)
    t.release_tests(lot)
    t.move("plant", lot, "carrier")
    first = t.condition("carrier", lot, 3.0, 6.0)
    return t.condition("carrier", lot, 3.0, 6.0, eid=first.event_id)


def break_dates(t: Trace) -> bytes:
    """A lot whose production date is not a calendar date (the contract only compares ints)."""
    t.admit_all()
    return t.commission("plant", GTIN_FORMULA, "IF250230X", 20250230, 20260830, 500, "KGM")


def tamper_state(t: Trace, batch: bytes) -> tuple[Any, Any]:
    """Flip one bit of a batch's stored state (anvil_setStorageAt), so that storage no longer
    matches the events, as a faulty contract or node would. Finds the `_batches` mapping slot
    by looking for the batch's non-zero word under the first mapping slots; returns the
    batchState view before and after."""
    before = t.contract.functions.batchState(batch).call()
    for base_slot in range(16):
        slot = int.from_bytes(keccak(batch + base_slot.to_bytes(32, "big")), "big")
        raw = t.w3.eth.get_storage_at(t.dep.address, slot)
        if int.from_bytes(raw, "big") == 0:
            continue
        word = int.from_bytes(raw, "big") ^ 1
        t.w3.provider.make_request(
            "anvil_setStorageAt", [t.dep.address, hex(slot), "0x" + word.to_bytes(32, "big").hex()]
        )
        t.w3.provider.make_request("evm_mine", [])
        after = t.contract.functions.batchState(batch).call()
        assert after != before, "tampering did not change batchState"
        return before, after
    raise AssertionError("no storage slot found for the batch")


def sample(t: Trace) -> Clean:
    """The clean history plus a third lot shipped before its melamine result (one violation):
    the data set of docs/audit-sample.html."""
    c = clean(t)
    lot = t.commission(
        "plant", GTIN_FORMULA, "IF250305C", 20250305, 20260905, 1_150, "KGM", parents=(c.raw_a,)
    )
    t.quality("lab", lot, "CRONOBACTER", True, 0, "CFU10G")
    t.quality("lab", lot, "ENTEROBACTERIA", True, 0, "CFU10G")
    t.hand_over("plant", lot, "carrier")
    t.accept("carrier", lot)
    t.condition("carrier", lot, 3.9, 8.6, alarm=True)
    t.quality("lab", lot, "MELAMINE", True, 0.06, "MGKG")
    return c


def write_sample_report(out: str) -> None:
    """Build `sample` on a fresh Anvil and write its HTML audit report to `out` (the lab-report
    folder holds every report but one, plus an invoice that is not on chain)."""
    import tempfile
    from pathlib import Path

    from milktrace.audit import run_audit
    from milktrace.audit.html import render_html
    from milktrace.chain import connect
    from milktrace.node import LocalNode

    with LocalNode("anvil", accounts=12) as node, tempfile.TemporaryDirectory() as tmp:
        t = Trace(connect(node.url), node.dev_accounts())
        sample(t)
        docs = Path(tmp) / "lab-reports"
        docs.mkdir()
        for i, (name, content) in enumerate(sorted(t.docs.items())):
            if i != 3:
                (docs / name).write_bytes(content)
        (docs / "invoice-2025-0311.pdf").write_bytes(b"%PDF-1.7 an invoice, not a lab report\n")
        report = run_audit(node.url, t.dep, docs=docs)
        assert report.documents is not None
        report.documents.directory = "lab-reports/"
        Path(out).write_text(render_html(report), encoding="utf-8")


if (
    __name__ == "__main__"
):  # .venv/bin/python tests/integration/audit_data.py docs/audit-sample.html
    import sys

    write_sample_report(sys.argv[1] if len(sys.argv) > 1 else "docs/audit-sample.html")
