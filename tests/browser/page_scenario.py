"""Chain data for the scan page: organisations and batches in every state a parent may meet.

Used by the browser tests and by bench/page.py. Written with the registry's typed functions
(one record per transaction) on a local node whose dev accounts are unlocked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from eth_utils import keccak

from milktrace.chain import Deployment, deploy_registry, registry, transact
from milktrace.identifiers import batch_id, gs1_check_digit

PRODUCER, CARRIER, LAB, RETAILER, REGULATOR = 1, 2, 4, 8, 16
RECALLED, QUARANTINED, RELEASED = 4, 2, 3

XSS_ORG = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
XSS_CARRIER = '</bdi><script>alert(1)</script><b onmouseover=alert(2)>Froid</b>'
XSS_TEST = "<script>"  # bytes16 on chain
XSS_TEST2 = "<img src=x>"
XSS_UNIT = "<b>x</b>"  # bytes8
XSS_REASON = "<svg onload=x()>"  # bytes16


def with_check(body: str) -> str:
    return body + str(gs1_check_digit(body))


def gtin(item: str) -> str:
    return with_check("0376012345" + item)  # GS1 France company prefix 376012345, item 3 digits


def gln(loc: str) -> str:
    return with_check("37601234" + loc)  # 12 digits + check digit


def fixed(text: str, size: int) -> bytes:
    return text.encode("ascii").ljust(size, b"\0")


def report_pdf(test: str, lot: str) -> bytes:
    """Bytes standing in for a laboratory report PDF."""
    return (f"%PDF-1.4\n% milktrace test report\n1 0 obj << /Title ({test} {lot}) >> endobj\n"
            "%%EOF\n").encode()


def t(day: str, hour: int = 10) -> int:
    """Unix seconds of 2026-MM-DD HH:00 UTC, from 'MM-DD'."""
    from datetime import datetime

    m, d = (int(x) for x in day.split("-"))
    return int(datetime(2026, m, d, hour, tzinfo=UTC).timestamp())


@dataclass
class Batch:
    gtin: str
    lot: str

    @property
    def path(self) -> str:
        return f"/01/{self.gtin}/10/{self.lot}"

    @property
    def id(self) -> bytes:
        return batch_id(self.gtin, self.lot)


@dataclass
class Scenario:
    deployment: Deployment
    accounts: dict[str, str]
    batches: dict[str, Batch] = field(default_factory=dict)
    reports: dict[str, bytes] = field(default_factory=dict)
    products: dict[str, dict[str, str]] = field(default_factory=dict)

    def write_products(self, path: Path) -> Path:
        path.write_text(json.dumps(self.products, ensure_ascii=False, indent=1), encoding="utf-8")
        return path


FORMULA = gtin("001")
RAW_MILK = gtin("101")
BASE_POWDER = gtin("201")
ARA_OIL = gtin("301")
XSS_PRODUCT = gtin("901")

PRODUCTS = {
    FORMULA: {"zh-CN": "婴儿配方液态奶 1段 200 毫升",
              "en": "Infant formula, ready to feed, stage 1, 200 mL",
              "fr": "Lait infantile liquide 1er âge, 200 mL"},
    RAW_MILK: {"zh-CN": "生牛乳", "en": "Raw cow's milk", "fr": "Lait cru de vache"},
    BASE_POWDER: {"zh-CN": "基粉", "en": "Base powder", "fr": "Poudre de base"},
    ARA_OIL: {"zh-CN": "ARA 油（花生四烯酸）", "en": "ARA oil", "fr": "Huile ARA"},
}


class Builder:
    """Sends records as named actors; event ids are keccak256 of a running label."""

    def __init__(self, w3: Any, dep: Deployment, accounts: dict[str, str]) -> None:
        self.w3 = w3
        self.reg = registry(w3, dep)
        self.acc = accounts
        self.n = 0

    def eid(self) -> bytes:
        self.n += 1
        return keccak(text=f"scenario-event-{self.n}")

    def send(self, actor: str, call: Any) -> Any:
        return transact(self.w3, call, self.acc[actor])

    def admit(self, actor: str, name: str, loc: str, country: str, roles: int) -> None:
        self.send("admin", self.reg.functions.admitOrganisation(
            self.acc[actor], name, int(gln(loc)), country.encode(), roles))

    def commission(self, actor: str, b: Batch, produced: int, expiry: int, qty: int, unit: str,
                   site: str, parents: list[Batch] = (), when: int = 0) -> None:
        self.send(actor, self.reg.functions.commission((
            b.id, self.eid(), int(b.gtin), b.lot, produced, expiry, qty, fixed(unit, 8),
            int(gln(site)), [p.id for p in parents], when)))

    def move(self, frm: str, to: str, b: Batch, sent: int, received: int | None) -> None:
        self.send(frm, self.reg.functions.handOver(b.id, self.eid(), self.acc[to], sent))
        if received is not None:
            self.send(to, self.reg.functions.accept(b.id, self.eid(), received))

    def quality(self, b: Batch, test: str, passed: bool, value: float, unit: str, report: bytes,
                when: int, lab: str = "lab") -> None:
        self.send(lab, self.reg.functions.recordQuality((
            b.id, self.eid(), fixed(test, 16), passed, round(value * 1_000_000), fixed(unit, 8),
            hashlib.sha256(report).digest(), when)))

    def condition(self, actor: str, b: Batch, lo: float, hi: float, count: int, alarm: bool,
                  when: int) -> None:
        self.send(actor, self.reg.functions.recordCondition((
            b.id, self.eid(), keccak(text=f"readings-{self.n}"), count, round(lo * 100),
            round(hi * 100), alarm, when)))

    def status(self, actor: str, b: Batch, status: int, reason: str, when: int) -> None:
        self.send(actor, self.reg.functions.setStatus(
            b.id, self.eid(), status, fixed(reason, 16), hashlib.sha256(reason.encode()).digest(),
            when))


def build(w3: Any, dev_accounts: list[str], big: bool = True) -> Scenario:
    """Deploy a registry and record every batch the tests look at (needs 11 dev accounts)."""
    names = ["admin", "farm", "producer", "lab", "carrier", "importer", "retailer", "regulator",
             "oilmaker", "xss", "xss_carrier"]
    accounts = dict(zip(names, dev_accounts, strict=False))
    dep = deploy_registry(w3, accounts["admin"])
    s = Scenario(dep, accounts, products=dict(PRODUCTS))
    b = Builder(w3, dep, accounts)

    b.admit("farm", "Coopérative laitière du Pays d'Auge", "0001", "FR", PRODUCER)
    b.admit("producer", "Laiterie Normande de Nutrition Infantile", "0002", "FR", PRODUCER)
    b.admit("lab", "Laboratoire d'Analyses Alimentaires de Caen", "0003", "FR", LAB)
    b.admit("carrier", "Froid Express Logistique", "0004", "FR", CARRIER)
    b.admit("importer", "上海乳品进口有限公司", "0005", "CN", CARRIER | RETAILER)
    b.admit("retailer", "上海宝贝母婴店（静安店）", "0006", "CN", RETAILER)
    b.admit("regulator", "Direction générale de l'alimentation", "0007", "FR", REGULATOR)
    b.admit("oilmaker", "Huilerie Bretonne de Lipides", "0008", "FR", PRODUCER)
    b.admit("xss", XSS_ORG, "0009", "FR", PRODUCER | LAB | CARRIER)
    b.admit("xss_carrier", XSS_CARRIER, "0010", "CN", CARRIER)

    # -- a normal batch: raw milk → ready-to-feed formula, four hands, tested, cold chain
    raw = s.batches["raw"] = Batch(RAW_MILK, "RM-2609-01")
    b.commission("farm", raw, 20260901, 20260910, 42000, "LTR", "1001", when=t("09-01", 6))
    normal = s.batches["normal"] = Batch(FORMULA, "F26A0914")
    b.commission("producer", normal, 20260914, 20270914, 120000, "H87", "2001", [raw],
                 t("09-14", 8))
    for test, value, unit in [("MELAMINE", 0.05, "MGKG"), ("CRONOBACTER", 0, "CFU10G"),
                              ("AFLATOXIN_M1", 0.012, "UGKG")]:
        s.reports[test] = report_pdf(test, normal.lot)
        b.quality(normal, test, True, value, unit, s.reports[test], t("09-16", 14))
    b.status("producer", normal, RELEASED, "TESTS_PASSED", t("09-17", 9))
    b.move("producer", "carrier", normal, t("09-18", 7), t("09-18", 8))
    b.condition("carrier", normal, 2.4, 5.8, 288, False, t("09-20", 8))
    b.move("carrier", "importer", normal, t("10-08", 9), t("10-09", 15))
    b.condition("importer", normal, 3.1, 6.2, 96, False, t("10-12", 8))
    b.move("importer", "retailer", normal, t("10-13", 7), t("10-13", 11))

    # -- recalled: Cronobacter found after release
    recalled = s.batches["recalled"] = Batch(FORMULA, "F26B1002")
    b.commission("producer", recalled, 20261002, 20271002, 80000, "H87", "2001", when=t("10-02", 8))
    s.reports["recalled"] = report_pdf("CRONOBACTER", recalled.lot)
    b.quality(recalled, "CRONOBACTER", False, 3, "CFU10G", s.reports["recalled"], t("10-20", 16))
    b.move("producer", "carrier", recalled, t("10-05", 7), t("10-05", 9))
    b.status("regulator", recalled, RECALLED, "CRONOBACTER", t("10-21", 9))

    # -- parent recalled: raw milk lot recalled after the formula was made from it
    raw_c = s.batches["raw_c"] = Batch(RAW_MILK, "RM-2610-07")
    b.commission("farm", raw_c, 20261007, 20261015, 38000, "LTR", "1001", when=t("10-07", 6))
    child = s.batches["parent_recalled"] = Batch(FORMULA, "F26C1009")
    b.commission("producer", child, 20261009, 20271009, 90000, "H87", "2001", [raw_c],
                 t("10-09", 8))
    b.status("farm", raw_c, RECALLED, "AFLATOXIN_M1", t("10-30", 10))

    # -- grandparent recalled: ARA oil → base powder → formula; the oil lot is recalled
    oil = s.batches["oil"] = Batch(ARA_OIL, "ARA-2608-3")
    b.commission("oilmaker", oil, 20260815, 20270815, 2000, "KGM", "3001", when=t("08-15", 6))
    base = s.batches["base"] = Batch(BASE_POWDER, "BP-2609-22")
    b.commission("producer", base, 20260922, 20270922, 30000, "KGM", "2001", [oil], t("09-22", 6))
    grandchild = s.batches["grandparent_recalled"] = Batch(FORMULA, "F26D1001")
    b.commission("producer", grandchild, 20261001, 20271001, 70000, "H87", "2001", [base, raw],
                 t("10-01", 8))
    b.status("regulator", oil, RECALLED, "CEREULIDE", t("11-02", 9))

    # -- quarantined
    held = s.batches["quarantined"] = Batch(FORMULA, "F26E1103")
    b.commission("producer", held, 20261103, 20271103, 60000, "H87", "2001", when=t("11-03", 8))
    b.status("producer", held, QUARANTINED, "INVESTIGATION", t("11-10", 9))

    # -- expired
    old = s.batches["expired"] = Batch(FORMULA, "F24Z0101")
    b.commission("producer", old, 20240101, 20250101, 50000, "H87", "2001", when=t("01-01", 8))

    # -- hostile on-chain text
    xss = s.batches["xss"] = Batch(XSS_PRODUCT, "XSS-1")
    b.commission("xss", xss, 20261101, 20271101, 1, XSS_UNIT, "9001", when=t("11-01", 8))
    s.reports["xss"] = report_pdf(XSS_TEST, xss.lot)
    b.quality(xss, XSS_TEST, False, 1.5, XSS_UNIT, s.reports["xss"], t("11-02", 8), lab="xss")
    b.quality(xss, XSS_TEST2, True, -2.25, XSS_UNIT, b"other", t("11-02", 9), lab="xss")
    b.move("xss", "xss_carrier", xss, t("11-03", 8), t("11-03", 9))
    b.status("xss", xss, QUARANTINED, XSS_REASON, t("11-04", 9))

    s.batches["unknown"] = Batch(FORMULA, "NEVER-MADE")
    if big:
        build_big(b, s)
    return s


def build_big(b: Builder, s: Scenario, records: int = 100) -> Batch:
    """A batch with `records` records of its own (topic 1), made from two parents that have
    parents: the page needs all three round trips."""
    oil2 = Batch(ARA_OIL, "ARA-BIG")
    b.commission("oilmaker", oil2, 20260801, 20270801, 1000, "KGM", "3001", when=t("08-01", 6))
    base2 = Batch(BASE_POWDER, "BP-BIG")
    b.commission("producer", base2, 20260905, 20270905, 20000, "KGM", "2001", [oil2], t("09-05"))
    raw2 = Batch(RAW_MILK, "RM-BIG")
    b.commission("farm", raw2, 20260904, 20260914, 40000, "LTR", "1001", when=t("09-04", 6))
    big = s.batches["big"] = Batch(FORMULA, "F26BIG100")
    b.commission("producer", big, 20260910, 20270910, 100000, "H87", "2001", [base2, raw2],
                 t("09-10"))
    n = 1
    hops = [("producer", "carrier"), ("carrier", "importer"), ("importer", "retailer")]
    for frm, to in hops:
        b.move(frm, to, big, t("09-12"), t("09-12", 12))
        n += 2
    holder = "retailer"
    tests = ["MELAMINE", "CRONOBACTER", "AFLATOXIN_M1", "SALMONELLA", "LEAD"]
    i = 0
    while n < records:
        if i % 2 == 0:
            test = tests[i // 2 % len(tests)]
            b.quality(big, test, True, 0.01 * (i % 7), "MGKG", report_pdf(test, f"big-{i}"),
                      t("09-11", 8 + i % 12))
        else:
            b.condition(holder, big, 2 + (i % 3) * 0.5, 6 + (i % 4) * 0.25, 96, i % 29 == 0,
                        t("09-13", i % 24))
        i += 1
        n += 1
    return big
