"""From one validated EPCIS event to milktrace records (DESIGN.md's event table).

Each record is made once per batch (unit) the event names:

* TransformationEvent → Commission of each output batch (LGTIN), the input batches as parents;
* ObjectEvent ADD with bizStep commissioning → Commission of each batch (an LGTIN in
  quantityList, or a Digital Link with /10/ in epcList);
* bizStep shipping → HandOver to the destination party (possessing_party, else owning_party,
  else location); receiving → Accept; void_shipping → CancelHandOver;
* `mt:labResult`, or a sensorReport with `mt:testCode` → QualityResult per result (with
  several results in one event, each gets the id sha-256(event hash ‖ UTF-8 test code), so
  records stay unique by kind, batch and event id);
* `mt:status` quarantined / released / recalled → StatusChange (explicit, wins);
  persistentDisposition.set ∋ recalled, or disposition recalled (not on shipping/receiving)
  → RECALLED; inspecting without a lab result, disposition non_conformant → QUARANTINED,
  conformant → RELEASED; holding with non_sellable_other / unavailable → QUARANTINED,
  with sellable_accessible / sellable_not_accessible / available → RELEASED;
* sensorElementList with Temperature readings or an ALARM_CONDITION → ConditionSummary, in
  addition to the above;
* anything else, and every unit the records above do not cover → Anchor (kind = event type).

`in_progress` and the other everyday dispositions never change a batch's status.
`persistentDisposition.unset ∋ recalled` cannot be recorded (a recall is final on chain): such an
event is anchored. An event with an `errorDeclaration` is anchored (kind = its type) under
sha-256(pre-hash ‖ its canonical errorDeclaration), because its CBV hash equals the hash of the
event it declares erroneous. A commissioning that lacks milktrace's batch data (an expiry date,
a site GLN, a whole quantity) is anchored, and the reason is kept to explain any later record
that needs the batch; commissioning data that is present but wrong is a problem.

milktrace's own EPCIS extension members live in the namespace `urn:milktrace:epcis:` (declare
`"mt": "urn:milktrace:epcis:"` in @context); see docs/csv-format.md for a complete example.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from milktrace.epcis.uris import Gs1Key, parse_key
from milktrace.epcis.vocab import cbv_term, expand_curie, expand_term
from milktrace.errors import InvalidIdentifier, Problem
from milktrace.eventhash import canonical_time, canonical_value, epoch_seconds
from milktrace.merkle import MerkleTree, Reading, keccak
from milktrace.plan import Draft, SourceRef
from milktrace.types import (
    Accept,
    Anchor,
    AnchorKind,
    CancelHandOver,
    Commission,
    ConditionSummary,
    HandOver,
    QualityResult,
    Record,
    Status,
    StatusChange,
)

MT_NS = "urn:milktrace:epcis:"
DEFAULT_RANGE_C = (Decimal(2), Decimal(8))  # chilled milk
DEFAULT_UOM = "H87"  # UN/ECE Rec 20 "piece": an EPCIS quantity without uom counts instances
ANCHOR_KINDS = {"ObjectEvent": AnchorKind.OBJECT, "AggregationEvent": AnchorKind.AGGREGATION,
                "TransformationEvent": AnchorKind.TRANSFORMATION,
                "TransactionEvent": AnchorKind.TRANSACTION,
                "AssociationEvent": AnchorKind.ASSOCIATION}
_CBVMDA = ("urn:epcglobal:cbv:mda:", "urn:epcglobal:cbv:mda#", "https://ref.gs1.org/cbv/mda/",
           "https://gs1.org/voc/", "https://ref.gs1.org/voc/", MT_NS)
_EXPIRY_NAMES = ("itemExpirationDate", "bestBeforeDate", "expirationDate", "sellByDate")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_HEX64 = re.compile(r"^(?:0x)?[0-9a-fA-F]{64}$")
_TEMPERATURE = {"Temperature", "https://gs1.org/voc/Temperature",
                "https://ref.gs1.org/voc/Temperature", "https://gs1.org/voc/MT-Temperature",
                "gs1:Temperature", "MT-Temperature"}
_ALARM = {"ALARM_CONDITION", "https://gs1.org/voc/ALARM_CONDITION",
          "https://ref.gs1.org/voc/ALARM_CONDITION", "gs1:ALARM_CONDITION"}
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass
class Unit:
    """A GS1 identifier an event names, where, and with what quantity."""

    key: Gs1Key
    field: str
    role: str  # "what" | "input" | "output" | "parent" | "child"
    quantity: Any = None
    uom: str | None = None

    @property
    def id(self) -> bytes:
        assert self.key.path is not None
        return unit_id(self.key.path)


@lru_cache(maxsize=65536)
def unit_id(path: str) -> bytes:
    """keccak256 of a Digital Link path (identifiers.path_id, with the fast keccak)."""
    return keccak(path.encode("utf-8"))


@dataclass
class EventResult:
    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_commissioned: dict[bytes, str] = field(default_factory=dict)


class EventMapper:
    """Checks and maps one event; collects problems instead of raising."""

    def __init__(self, file: str, index: int, event: Mapping[str, Any],
                 prefixes: Mapping[str, str], event_id: bytes, base_dir: Path) -> None:
        self.file = file
        self.index = index
        self.event = event
        self.prefixes = prefixes
        self.event_id = event_id
        self.base_dir = base_dir
        self.source = SourceRef(file, f"event {index}")
        self.out = EventResult()
        self.units: list[Unit] = []
        self.covered: set[bytes] = set()
        self.mt = self._milktrace_members(event)

    # ------------------------------------------------------------------ helpers

    def problem(self, field_name: str, message: str) -> None:
        self.out.problems.append(Problem(self.file, self.source.where, field_name, message))

    def _milktrace_members(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        found = {}
        for key, value in obj.items():
            full = expand_curie(key, self.prefixes)
            if full.startswith(MT_NS):
                found[full[len(MT_NS):]] = (key, value)
        return found

    def _mt_nested(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Members of a milktrace object: `mt:testCode` or plain `testCode`."""
        out = {}
        for key, value in obj.items():
            full = expand_curie(key, self.prefixes)
            name = full[len(MT_NS):] if full.startswith(MT_NS) else key
            out[name] = value
        return out

    def add(self, record: Record, unit: Unit | None, field_name: str, **extra: Any) -> None:
        path = (unit.key.path or "") if unit is not None else ""
        self.out.drafts.append(Draft(record=record, source=self.source, field=field_name,
                                     unit=path, **extra))
        if unit is not None:
            self.covered.add(unit.id)

    # ------------------------------------------------------------------ time

    def event_time(self) -> int:
        text = self.event.get("eventTime")
        return (epoch_seconds(text) or 0) if isinstance(text, str) else 0

    def event_date(self) -> int:
        """The event's local calendar date (eventTimeZoneOffset), YYYYMMDD."""
        seconds = self.event_time()
        offset = self.event.get("eventTimeZoneOffset", "+00:00")
        m = re.match(r"^([+-])(\d\d):(\d\d)$", str(offset))
        delta = timedelta(0)
        if m:
            delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
            delta = -delta if m.group(1) == "-" else delta
        local = datetime.fromtimestamp(seconds, tz=timezone(delta))
        return int(local.strftime("%Y%m%d"))

    # ------------------------------------------------------------------ identifiers

    def collect_units(self) -> None:
        e = self.event
        lists = [("epcList", "what"), ("childEPCs", "child"), ("inputEPCList", "input"),
                 ("outputEPCList", "output")]
        for name, role in lists:
            for i, uri in enumerate(e.get(name) or []):
                self._unit(uri, f"{name}[{i}]", role)
        qlists = [("quantityList", "what"), ("childQuantityList", "child"),
                  ("inputQuantityList", "input"), ("outputQuantityList", "output")]
        for name, role in qlists:
            for i, q in enumerate(e.get(name) or []):
                if isinstance(q, dict):
                    self._unit(q.get("epcClass"), f"{name}[{i}].epcClass", role,
                               q.get("quantity"), q.get("uom"))
        if "parentID" in e:
            self._unit(e["parentID"], "parentID", "parent")

    def _unit(self, uri: Any, field_name: str, role: str, quantity: Any = None,
              uom: Any = None) -> None:
        try:
            key = parse_key(uri) if isinstance(uri, str) else None
        except InvalidIdentifier as exc:
            self.problem(field_name, str(exc))
            return
        if key is not None:
            self.units.append(Unit(key, field_name, role, quantity, uom))

    def gln_of(self, obj: Any, field_name: str) -> str | None:
        """The GLN of a location or party value (sgln, pgln, Digital Link /414/, /417/)."""
        if not isinstance(obj, str):
            return None
        try:
            key = parse_key(obj)
        except InvalidIdentifier as exc:
            self.problem(field_name, str(exc))
            return None
        return key.gln if key is not None else None

    def check_locations(self) -> None:
        for name in ("readPoint", "bizLocation"):
            loc = self.event.get(name)
            if isinstance(loc, dict):
                self.gln_of(loc.get("id"), f"{name}.id")

    def parties(self, list_name: str) -> dict[str, tuple[str, str]]:
        """{cbv type: (GLN, field)} of a sourceList/destinationList."""
        out: dict[str, tuple[str, str]] = {}
        value_key = "source" if list_name == "sourceList" else "destination"
        for i, item in enumerate(self.event.get(list_name) or []):
            if not isinstance(item, dict):
                continue
            kind = cbv_term("sourceDestType", str(item.get("type", "")), self.prefixes)
            fld = f"{list_name}[{i}].{value_key}"
            gln = self.gln_of(item.get(value_key), fld)
            if kind and gln and kind not in out:
                out[kind] = (gln, fld)
        return out

    # ------------------------------------------------------------------ dates and numbers

    def ilmd_date(self, names: tuple[str, ...]) -> tuple[int | None, str]:
        ilmd = self.event.get("ilmd")
        if not isinstance(ilmd, dict):
            return None, ""
        for wanted in names:
            for key, value in ilmd.items():
                full = expand_curie(key, self.prefixes)
                if any(full == ns + wanted for ns in _CBVMDA):
                    return self.parse_date(value, f"ilmd.{key}"), f"ilmd.{key}"
        return None, ""

    def parse_date(self, value: Any, field_name: str) -> int | None:
        m = _DATE.match(str(value).strip()) if isinstance(value, str) else None
        if m:
            try:
                date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                return int(m.group(1) + m.group(2) + m.group(3))
            except ValueError:
                pass
        self.problem(field_name, f"expected a calendar date YYYY-MM-DD; got {value!r}")
        return None

    def check_ilmd_dates(self) -> None:
        production, pfield = self.ilmd_date(("productionDate",))
        expiry, efield = self.ilmd_date(_EXPIRY_NAMES)
        if production and expiry and expiry <= production:
            self.problem(efield, f"expiry date {expiry} must be after the production date "
                                 f"{production} ({pfield})")

    def decimal(self, value: Any, field_name: str, what: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.problem(field_name, f"expected {what} as a number; got {value!r}")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = Decimal("nan")
        if not number.is_finite():
            self.problem(field_name, f"expected {what} as a number; got {value!r}")
            return None
        return number

    def ascii_field(self, value: Any, size: int, field_name: str, what: str) -> str | None:
        if isinstance(value, str) and value.strip() and value.strip().isascii() \
                and len(value.strip()) <= size:
            return value.strip()
        self.problem(field_name, f"expected {what}: 1-{size} ASCII characters; got {value!r}")
        return None

    def sha256_of(self, members: Mapping[str, Any], hash_key: str, file_key: str,
                  field_prefix: str) -> bytes | None:
        """A sha-256 given as hex (`hash_key`) or as a file path relative to the document."""
        if hash_key in members:
            text = str(members[hash_key]).strip()
            if _HEX64.match(text):
                return bytes.fromhex(text.removeprefix("0x"))
            self.problem(f"{field_prefix}{hash_key}",
                         f"expected a sha-256 as 64 hex digits; got {members[hash_key]!r}")
            return None
        if file_key in members:
            rel = str(members[file_key])
            path = (self.base_dir / rel).resolve()
            try:
                return hashlib.sha256(path.read_bytes()).digest()
            except OSError as exc:
                self.problem(f"{field_prefix}{file_key}",
                             f"cannot read {rel!r} (relative to the document): {exc.strerror}")
                return None
        return None

    # ------------------------------------------------------------------ mapping

    def run(self) -> EventResult:
        e = self.event
        etype = e.get("type")
        if not isinstance(etype, str) or etype not in ANCHOR_KINDS:
            self.problem("type", f"expected one of {', '.join(ANCHOR_KINDS)}; extension event "
                                 f"type {etype!r} cannot be recorded")
            return self.out
        self.collect_units()
        self.check_locations()
        self.check_ilmd_dates()
        sources, destinations = self.parties("sourceList"), self.parties("destinationList")
        time = self.event_time()
        kind = ANCHOR_KINDS[etype]
        if "errorDeclaration" in e:
            self.anchor_all(kind, time)
            return self.out

        biz = cbv_term("bizStep", str(e.get("bizStep", "")), self.prefixes)
        disp = cbv_term("disposition", str(e.get("disposition", "")), self.prefixes)
        pd_value = e.get("persistentDisposition")
        pd: dict[str, Any] = pd_value if isinstance(pd_value, dict) else {}
        pd_set = {cbv_term("disposition", str(v), self.prefixes) for v in pd.get("set") or []}
        pd_unset = {cbv_term("disposition", str(v), self.prefixes) for v in pd.get("unset") or []}

        if etype == "TransformationEvent":
            self.commission(time, transformation=True)
        elif etype == "ObjectEvent" and e.get("action") == "ADD" and biz == "commissioning":
            self.commission(time, transformation=False)
        if biz == "shipping":
            self.custody(HandOver, time, sources, destinations)
        elif biz == "receiving":
            self.custody(Accept, time, sources, destinations)
        elif biz == "void_shipping":
            self.custody(CancelHandOver, time, sources, destinations)
        has_lab = self.quality(time, disp)
        if "recalled" not in pd_unset:
            self.status(time, biz, disp, pd_set, has_lab)
        self.condition(time)
        self.anchor_rest(kind, time)
        return self.out

    def batches(self, roles: tuple[str, ...]) -> list[Unit]:
        return [u for u in self.units if u.role in roles and u.key.kind == "lgtin"]

    def with_path(self, roles: tuple[str, ...] = ("what", "child", "parent", "output", "input")
                  ) -> list[Unit]:
        return [u for u in self.units if u.role in roles and u.key.path is not None]

    def site_gln(self) -> str | None:
        for name in ("bizLocation", "readPoint"):
            loc = self.event.get(name)
            if isinstance(loc, dict) and isinstance(loc.get("id"), str):
                try:
                    key = parse_key(loc["id"])
                except InvalidIdentifier:
                    continue
                if key is not None and key.gln:
                    return key.gln
        return None

    def commission(self, time: int, transformation: bool) -> None:
        outputs = self.batches(("output",) if transformation else ("what",))
        if not outputs:
            return
        parents = [u for u in self.batches(("input",)) if u.key.path]
        if len(parents) > 255:
            self.problem("inputQuantityList", f"expected at most 255 input batches; got "
                                              f"{len(parents)}")
            return
        production, _ = self.ilmd_date(("productionDate",))
        expiry, _ = self.ilmd_date(_EXPIRY_NAMES)
        site = self.site_gln()
        for unit in outputs:
            if unit.key.path is None:
                self.problem(unit.field, unit.key.path_problem or "cannot name this batch")
                continue
            unit_expiry = expiry
            if unit_expiry is None and unit.key.expiry:  # Digital Link ?17=YYMMDD
                yymmdd = unit.key.expiry
                unit_expiry = int(("20" if yymmdd[:2] < "51" else "19") + yymmdd)
                if yymmdd.endswith("00"):  # GS1: day 00 means the last day of the month
                    unit_expiry = self._month_end(unit_expiry)
            quantity = self.quantity(unit)
            missing = []
            if unit_expiry is None:
                missing.append("an expiry date (ilmd cbvmda:itemExpirationDate or "
                               "cbvmda:bestBeforeDate)")
            if site is None:
                missing.append("a site GLN (bizLocation or readPoint)")
            if quantity is None:
                missing.append("a whole quantity (quantityList quantity and uom)")
            if missing:
                self.out.not_commissioned[unit.id] = (
                    f"{self.file}: {self.source.where} commissions it but lacks "
                    + ", ".join(missing))
                continue
            prod = production or self.event_date()
            if unit_expiry is not None and unit_expiry <= prod:
                self.problem(unit.field, f"expiry date {unit_expiry} must be after the "
                                         f"production date {prod}")
                continue
            uom = str(unit.uom) if unit.uom else DEFAULT_UOM
            assert unit.key.gtin and unit.key.lot and unit_expiry and site and quantity
            record = Commission(
                batch_id=unit.id, event_id=self.event_id, gtin=unit.key.gtin, lot=unit.key.lot,
                production_date=prod, expiry_date=unit_expiry, quantity=quantity, unit=uom,
                site_gln=site, event_time=time, parents=tuple(u.id for u in parents))
            self.add(record, unit, unit.field,
                     parent_units=tuple(u.key.path or "" for u in parents))
            self.covered.update(u.id for u in parents)  # BatchDerived links them already

    @staticmethod
    def _month_end(yyyymm00: int) -> int:
        y, m = divmod(yyyymm00 // 100, 100)
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        return int((nxt - timedelta(days=1)).strftime("%Y%m%d"))

    def quantity(self, unit: Unit) -> int | None:
        if unit.quantity is None:
            return None
        number = self.decimal(unit.quantity, unit.field.replace("epcClass", "quantity"),
                              "the quantity")
        if number is None:
            return None
        if number != number.to_integral_value() or number < 1 or number >= 2**64:
            self.problem(unit.field.replace("epcClass", "quantity"),
                         f"expected a whole quantity of at least 1 in {unit.uom or DEFAULT_UOM} "
                         f"(use a smaller unit, e.g. GRM instead of KGM); got {unit.quantity}")
            return None
        return int(number)

    def custody(self, cls: Callable[..., Record], time: int,
                sources: dict[str, tuple[str, str]],
                destinations: dict[str, tuple[str, str]]) -> None:
        def party(parties: dict[str, tuple[str, str]]) -> tuple[str | None, str]:
            for kind in ("possessing_party", "owning_party", "location"):
                if kind in parties:
                    return parties[kind]
            return None, ""

        to_gln, to_field = party(destinations)
        from_gln, from_field = party({k: v for k, v in sources.items() if k != "location"})
        receiver, receiver_field = party({k: v for k, v in destinations.items()
                                          if k != "location"})
        for unit in self.with_path():
            fields: dict[str, Any] = {}
            if cls is HandOver:
                record: Record = HandOver(batch_id=unit.id, event_id=self.event_id,
                                          to="0x" + "00" * 20, event_time=time)
                fields = {"to_gln": to_gln, "to_field": to_field or "destinationList",
                          "sender_gln": from_gln, "party_field": from_field}
            elif cls is Accept:
                record = Accept(batch_id=unit.id, event_id=self.event_id, event_time=time)
                fields = {"receiver_gln": receiver, "party_field": receiver_field}
            else:
                record = CancelHandOver(batch_id=unit.id, event_id=self.event_id,
                                        event_time=time)
                fields = {"sender_gln": from_gln, "party_field": from_field}
            self.add(record, unit, unit.field, **fields)

    # ------------------------------------------------------------------ quality

    def quality(self, time: int, disp: str | None) -> bool:
        results: list[tuple[str, Mapping[str, Any]]] = []
        if "labResult" in self.mt:
            key, value = self.mt["labResult"]
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                fld = f"{key}[{i}]" if isinstance(value, list) else key
                if isinstance(item, dict):
                    results.append((fld, self._mt_nested(item)))
                else:
                    self.problem(fld, "expected a lab result object with testCode, value, unit "
                                      "and reportSha256 (or report)")
        for j, element in enumerate(self.event.get("sensorElementList") or []):
            for k, report in enumerate((element or {}).get("sensorReport") or []):
                if not isinstance(report, dict):
                    continue
                members = self._milktrace_members(report)
                if "testCode" in members:
                    merged = {name: v for name, (_, v) in members.items()}
                    merged.setdefault("value", report.get("value"))
                    merged.setdefault("unit", report.get("uom"))
                    results.append((f"sensorElementList[{j}].sensorReport[{k}]", merged))
        if not results:
            return False
        targets = self.with_path()
        codes: dict[str, str] = {}
        for fld, res in results:
            record_fields = self._lab_result(fld, res, disp)
            if record_fields is None:
                continue
            code = record_fields["test_code"]
            if code in codes:
                self.problem(fld + ".testCode", f"test code {code} appears twice in this event "
                                                f"(also at {codes[code]}); expected one result "
                                                "per test")
                continue
            codes[code] = fld
            # One result: the event's own id. Several: each its own id, so that records stay
            # unique by (kind, batch, event id): sha-256(event hash ‖ UTF-8 test code).
            ident = self.event_id if len(results) == 1 else hashlib.sha256(
                self.event_id + code.encode("utf-8")).digest()
            for unit in targets:
                self.add(QualityResult(batch_id=unit.id, event_id=ident, event_time=time,
                                       **record_fields), unit, fld)
        return True

    def _lab_result(self, fld: str, res: Mapping[str, Any], disp: str | None
                    ) -> dict[str, Any] | None:
        p = f"{fld}."
        n = len(self.out.problems)
        code = self.ascii_field(res.get("testCode"), 16, p + "testCode",
                                "a test code (e.g. MELAMINE)")
        unit = self.ascii_field(res.get("unit"), 8, p + "unit", "a unit code (e.g. MGKG)")
        value = self.decimal(res.get("value"), p + "value", "the measured value")
        micro = None
        if value is not None:
            micro = int((value * 1_000_000).to_integral_value())
            if not _INT64[0] <= micro <= _INT64[1]:
                self.problem(p + "value", f"value {value} is out of range (|value| < 9.2e12)")
        passed = res.get("passed")
        if passed is None:
            passed = {"conformant": True, "non_conformant": False}.get(disp or "")
        if not isinstance(passed, bool):
            self.problem(p + "passed", "expected the verdict: passed true/false, or disposition "
                                       "conformant / non_conformant")
        report = self.sha256_of(res, "reportSha256", "report", p)
        if report is None and "reportSha256" not in res and "report" not in res:
            report = self._certification_hash()
            if report is None:
                self.problem(p + "reportSha256", "expected the sha-256 of the lab report "
                             "(reportSha256, a report file, or certificationInfo "
                             "ni:///sha-256;...)")
        if len(self.out.problems) > n:
            return None
        return {"test_code": code, "passed": passed, "value_micro": micro, "unit": unit,
                "report_hash": report}

    def _certification_hash(self) -> bytes | None:
        info = self.event.get("certificationInfo")
        for item in info if isinstance(info, list) else [info]:
            if isinstance(item, str) and item.startswith("ni:///sha-256;"):
                digest = item[len("ni:///sha-256;"):].split("?", 1)[0]
                if re.fullmatch(r"[0-9a-fA-F]{64}", digest):
                    return bytes.fromhex(digest)
        return None

    # ------------------------------------------------------------------ status

    def status(self, time: int, biz: str | None, disp: str | None, pd_set: set[str | None],
               has_lab: bool) -> None:
        status: Status | None = None
        fld = "disposition"
        if "status" in self.mt:
            key, value = self.mt["status"]
            fld = key
            status = {"quarantined": Status.QUARANTINED, "released": Status.RELEASED,
                      "recalled": Status.RECALLED}.get(str(value).strip().lower())
            if status is None:
                self.problem(key, f"expected quarantined, released or recalled; got {value!r}")
                return
        elif "recalled" in pd_set:
            status, fld = Status.RECALLED, "persistentDisposition.set"
        elif disp == "recalled" and biz not in ("shipping", "receiving", "void_shipping"):
            status = Status.RECALLED
        elif biz == "inspecting" and not has_lab and disp in ("conformant", "non_conformant"):
            status = Status.RELEASED if disp == "conformant" else Status.QUARANTINED
        elif biz == "holding" and disp in ("non_sellable_other", "unavailable"):
            status = Status.QUARANTINED
        elif biz == "holding" and disp in ("sellable_accessible", "sellable_not_accessible",
                                           "available"):
            status = Status.RELEASED
        if status is None:
            return
        reason = self.status_reason(status)
        notice = self.sha256_of({k: v for k, (_, v) in self.mt.items()}, "noticeSha256",
                                "notice", "mt:") or bytes(32)
        if reason is None:
            return
        for unit in self.with_path():
            self.add(StatusChange(batch_id=unit.id, event_id=self.event_id, status=status,
                                  reason=reason, notice_hash=notice, event_time=time),
                     unit, fld)

    def status_reason(self, status: Status) -> str | None:
        if "reason" in self.mt:
            key, value = self.mt["reason"]
            return self.ascii_field(value, 16, key, "a reason code (e.g. CRONOBACTER)")
        return {Status.RECALLED: "RECALL", Status.QUARANTINED: "QUARANTINE",
                Status.RELEASED: "RELEASE"}[status]

    # ------------------------------------------------------------------ condition

    def condition(self, time: int) -> None:
        elements = self.event.get("sensorElementList")
        if not isinstance(elements, list) or not elements:
            return
        low, high = self.temperature_range()
        readings: list[Reading] = []
        alarm = False
        for j, element in enumerate(elements):
            if not isinstance(element, dict):
                continue
            meta_value = element.get("sensorMetadata")
            meta: dict[str, Any] = meta_value if isinstance(meta_value, dict) else {}
            for k, report in enumerate(element.get("sensorReport") or []):
                if not isinstance(report, dict):
                    continue
                fld = f"sensorElementList[{j}].sensorReport[{k}]"
                exception = report.get("exception")
                if isinstance(exception, str) and (exception in _ALARM or expand_curie(
                        exception, self.prefixes) in _ALARM):
                    alarm = alarm or report.get("booleanValue") is not False
                if str(report.get("type")) not in _TEMPERATURE and expand_curie(
                        str(report.get("type")), self.prefixes) not in _TEMPERATURE:
                    continue
                when = self._reading_time(report, meta, time)
                sensor = str(report.get("deviceID") or meta.get("deviceID") or "")
                for name in ("value", "minValue", "maxValue"):
                    if name not in report or (name != "value" and "value" in report):
                        continue
                    centi = self.centi(report[name], report.get("uom"), f"{fld}.{name}")
                    if centi is None:
                        continue
                    readings.append(Reading(when, centi, sensor))
                    if not low <= Decimal(centi) / 100 <= high:
                        alarm = True
        if not readings and not alarm:
            return
        tree = MerkleTree.of_readings(readings)
        values = [r.centi for r in readings]
        for unit in self.with_path():
            self.add(ConditionSummary(
                batch_id=unit.id, event_id=self.event_id, readings_root=tree.root,
                count=len(readings), min_centi=min(values, default=0),
                max_centi=max(values, default=0), alarm=alarm, event_time=time),
                unit, "sensorElementList")

    def temperature_range(self) -> tuple[Decimal, Decimal]:
        low, high = DEFAULT_RANGE_C
        for name in ("minTemperature", "maxTemperature"):
            if name in self.mt:
                key, value = self.mt[name]
                number = self.decimal(value, key, "a temperature in °C")
                if number is not None:
                    low, high = (number, high) if name == "minTemperature" else (low, number)
        if low > high:
            self.problem("mt:minTemperature", f"expected minTemperature {low} <= "
                                              f"maxTemperature {high}")
        return low, high

    def _reading_time(self, report: Mapping[str, Any], meta: Mapping[str, Any],
                      default: int) -> int:
        for value in (report.get("time"), meta.get("time"), meta.get("endTime"),
                      meta.get("startTime")):
            seconds = epoch_seconds(value) if isinstance(value, str) else None
            if seconds is not None:
                return seconds
        return default

    def centi(self, value: Any, uom: Any, field_name: str) -> int | None:
        number = self.decimal(value, field_name, "a temperature")
        if number is None:
            return None
        unit = str(uom or "CEL")
        if unit == "FAH":
            number = (number - 32) * 5 / 9
        elif unit == "KEL":
            number = number - Decimal("273.15")
        elif unit != "CEL":
            self.problem(field_name.rsplit(".", 1)[0] + ".uom",
                         f"expected a temperature unit CEL, FAH or KEL; got {uom!r}")
            return None
        centi = int((number * 100).to_integral_value())
        if not _INT32[0] <= centi <= _INT32[1]:
            self.problem(field_name, f"temperature {value} is out of range")
            return None
        return centi

    # ------------------------------------------------------------------ anchors

    def anchor_all(self, kind: AnchorKind, time: int) -> None:
        """Anchor the event against each batch it names; the registry anchors against batches,
        so pallets (SSCC) and serialised items are anchored only when the event names no batch
        (and then need commissioning on chain first)."""
        units = self.with_path()
        batches = [u for u in units if u.key.kind == "lgtin"]
        for unit in batches or units:
            if unit.id not in self.covered:
                self.add(Anchor(batch_id=unit.id, event_id=self.event_id, anchor_kind=kind,
                                event_time=time), unit, unit.field)

    def anchor_rest(self, kind: AnchorKind, time: int) -> None:
        self.anchor_all(kind, time)


def error_declaration_suffix(declaration: Mapping[str, Any]) -> str:
    """The canonical text of an errorDeclaration, appended to the pre-hash for its own id."""
    out = ["errorDeclaration"]
    if isinstance(declaration.get("declarationTime"), str):
        out.append("declarationTime=" + canonical_time(declaration["declarationTime"]))
    if isinstance(declaration.get("reason"), str):
        reason = expand_term("errorReason", declaration["reason"].strip())
        out.append("reason=" + canonical_value(reason))
    ids = declaration.get("correctiveEventIDs")
    for value in sorted(v for v in (ids if isinstance(ids, list) else []) if isinstance(v, str)):
        out.append("correctiveEventID=" + value)
    return "".join(out)

