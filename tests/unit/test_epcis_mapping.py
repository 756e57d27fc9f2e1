"""EPCIS events to milktrace records (the DESIGN.md event table)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from milktrace.errors import ValidationError
from milktrace.eventhash import Context, event_id
from milktrace.identifiers import batch_id, gs1_check_digit
from milktrace.merkle import MerkleTree, Reading
from milktrace.plan import plan_files
from milktrace.types import AnchorKind, Organisation, RecordKind, Role, Status

GTIN, LOT = "06901234123456", "L2503A"
LGTIN = "urn:epc:class:lgtin:6901234.012345.L2503A"
DL = f"https://id.example.cn/01/{GTIN}/10/{LOT}"
BATCH = batch_id(GTIN, LOT)
PRODUCER_GLN = "6901234000016"
CARRIER_GLN = "6901234000023"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"mt": "urn:milktrace:epcis:"}]


def event(**fields) -> dict:
    base = {"type": "ObjectEvent", "eventTime": "2025-03-01T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "epcList": [DL]}
    return {**base, **fields}


COMMISSIONING = event(
    action="ADD", bizStep="commissioning", epcList=[],
    quantityList=[{"epcClass": LGTIN, "quantity": 1200, "uom": "LTR"}],
    bizLocation={"id": "urn:epc:id:sgln:6901234.00001.0"},
    ilmd={"cbvmda:productionDate": "2025-03-01", "cbvmda:itemExpirationDate": "2026-09-01"})


def document(tmp_path: Path, *events: dict, name: str = "doc.jsonld") -> Path:
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-01T00:00:00Z", "epcisBody": {"eventList": list(events)}}
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return path


def records(path: Path, **kwargs):
    return [p.record for p in plan_files([path], **kwargs)]


def problems(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ValidationError) as info:
        plan_files([path])
    return [(p.where, p.field, p.message) for p in info.value.problems]


def test_commissioning_becomes_a_commission_with_ilmd_dates_and_site(tmp_path):
    [rec] = records(document(tmp_path, COMMISSIONING))
    assert rec.kind == RecordKind.COMMISSION and rec.batch_id == BATCH
    assert (rec.gtin, rec.lot, rec.production_date, rec.expiry_date, rec.quantity, rec.unit,
            rec.site_gln) == (GTIN, LOT, 20250301, 20260901, 1200, "LTR", PRODUCER_GLN)
    assert rec.event_time == 1740787200
    ctx = Context.of({"@context": CONTEXT})
    assert rec.event_id == event_id(COMMISSIONING, ctx)


def test_commissioning_by_digital_link_with_best_before_and_full_uri_names(tmp_path):
    ev = {**COMMISSIONING, "quantityList": [{"epcClass": DL, "quantity": 5, "uom": "KGM"}],
          "ilmd": {"urn:epcglobal:cbv:mda:bestBeforeDate": "2026-03-01"}}
    [rec] = records(document(tmp_path, ev))
    assert (rec.batch_id, rec.expiry_date, rec.production_date) == (BATCH, 20260301, 20250301)


def test_commissioning_without_expiry_is_anchored_and_explains_later_records(tmp_path):
    bare = {**COMMISSIONING, "ilmd": {}}
    ship = event(bizStep="shipping", destinationList=[
        {"type": "possessing_party", "destination": f"https://id.gs1.org/417/{CARRIER_GLN}"}])
    path = document(tmp_path, bare, ship)
    assert [r.kind for r in records(path)] == [RecordKind.ANCHOR, RecordKind.HAND_OVER]

    class Chain:
        def organisation_by_gln(self, gln):
            return Organisation("0x" + "22" * 20, "carrier", gln, "CN", Role.CARRIER)

        def batch_exists(self, batch):
            return False

    with pytest.raises(ValidationError) as info:
        plan_files([path], None, Chain())
    assert "commissions it but lacks an expiry date" in str(info.value)


def test_expiry_before_production_is_a_problem(tmp_path):
    ev = {**COMMISSIONING, "ilmd": {"cbvmda:productionDate": "2025-03-01",
                                    "cbvmda:itemExpirationDate": "2025-02-01"}}
    found = problems(document(tmp_path, ev))
    assert found[0][:2] == ("event 0", "ilmd.cbvmda:itemExpirationDate")
    assert "must be after the production date" in found[0][2]


def test_a_decimal_quantity_is_a_problem(tmp_path):
    ev = {**COMMISSIONING, "quantityList": [{"epcClass": LGTIN, "quantity": 12.5, "uom": "KGM"}]}
    assert problems(document(tmp_path, ev)) == [(
        "event 0", "quantityList[0].quantity",
        "expected a whole quantity of at least 1 in KGM (use a smaller unit, e.g. GRM instead "
        "of KGM); got 12.5")]


def test_transformation_commissions_outputs_with_inputs_as_parents(tmp_path):
    output = "urn:epc:class:lgtin:6901234.012345.MIX1"
    ev = {"type": "TransformationEvent", "eventTime": "2025-03-02T08:00:00+08:00",
          "eventTimeZoneOffset": "+08:00", "bizStep": "commissioning",
          "inputQuantityList": [{"epcClass": LGTIN, "quantity": 600, "uom": "LTR"}],
          "outputQuantityList": [{"epcClass": output, "quantity": 5000, "uom": "H87"}],
          "readPoint": {"id": f"https://id.gs1.org/414/{PRODUCER_GLN}"},
          "ilmd": {"cbvmda:itemExpirationDate": "2027-03-01"}}
    [rec] = records(document(tmp_path, COMMISSIONING, ev))[1:]
    assert rec.batch_id == batch_id(GTIN, "MIX1") and rec.parents == (BATCH,)
    assert (rec.production_date, rec.quantity, rec.unit) == (20250302, 5000, "H87")


def test_shipping_receiving_and_void_shipping_map_to_custody(tmp_path):
    dest = [{"type": "owning_party", "destination": "urn:epc:id:pgln:6901234.00009"},
            {"type": "possessing_party", "destination": "urn:epc:id:pgln:6901234.00002"}]
    src = [{"type": "possessing_party", "source": "urn:epc:id:pgln:6901234.00001"}]
    path = document(tmp_path, event(bizStep="shipping", sourceList=src, destinationList=dest),
                    event(bizStep="void_shipping"))
    producer = Organisation("0x" + "11" * 20, "producer", PRODUCER_GLN, "CN", Role.PRODUCER)
    carrier = Organisation("0x" + "22" * 20, "carrier", CARRIER_GLN, "CN", Role.CARRIER)
    planned = plan_files([path], producer, None)
    assert [p.record.kind for p in planned] == [RecordKind.HAND_OVER,
                                                RecordKind.CANCEL_HAND_OVER]
    receiving = document(tmp_path, event(bizStep="urn:epcglobal:cbv:bizstep:receiving",
                                         destinationList=dest), name="r.jsonld")
    assert plan_files([receiving], carrier, None)[0].record.kind == RecordKind.ACCEPT
    with pytest.raises(ValidationError) as info:  # the producer is not the receiving party
        plan_files([receiving], producer, None)
    assert info.value.problems[0].field == "destinationList[1].destination"


def test_lab_result_extension_becomes_a_quality_result(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"lab report")
    ev = event(bizStep="inspecting", disposition="conformant", **{"mt:labResult": [
        {"mt:testCode": "MELAMINE", "mt:value": 0.05, "mt:unit": "MGKG", "mt:report": "report.pdf"},
        {"mt:testCode": "CRONOBACTER", "mt:value": 0, "mt:unit": "CFU10G", "mt:passed": False,
         "mt:reportSha256": "ab" * 32}]})
    first, second = records(document(tmp_path, ev))
    assert (first.test_code, first.value_micro, first.passed, first.report_hash) == (
        "MELAMINE", 50_000, True, hashlib.sha256(b"lab report").digest())
    assert (second.test_code, second.passed, second.report_hash) == ("CRONOBACTER", False,
                                                                     bytes.fromhex("ab" * 32))
    ctx = Context.of({"@context": CONTEXT})
    assert first.event_id == hashlib.sha256(event_id(ev, ctx) + b"MELAMINE").digest()


def test_lab_result_without_report_or_verdict_is_a_problem(tmp_path):
    ev = event(bizStep="inspecting", **{"mt:labResult": {"mt:testCode": "MELAMINE",
                                                         "mt:value": 1, "mt:unit": "MGKG"}})
    fields = [f for _, f, _ in problems(document(tmp_path, ev))]
    assert fields == ["mt:labResult.passed", "mt:labResult.reportSha256"]


def test_sensor_readings_become_a_condition_summary(tmp_path):
    reports = [{"type": "Temperature", "value": v, "uom": "CEL",
                "time": f"2025-03-01T0{i}:00:00+08:00"} for i, v in enumerate([4.0, 6.5, 9.0])]
    ev = event(bizStep="transporting", readPoint={"id": "urn:epc:id:sgln:6901234.00001.0"},
               sensorElementList=[{"sensorMetadata": {"deviceID": "urn:epc:id:giai:6901234.L1"},
                                   "sensorReport": reports}])
    [cond] = records(document(tmp_path, ev))
    times = [1740787200 - 8 * 3600 + i * 3600 for i in range(3)]
    expected = MerkleTree.of_readings(Reading(t, c, "urn:epc:id:giai:6901234.L1")
                                      for t, c in zip(times, [400, 650, 900], strict=True))
    assert (cond.count, cond.min_centi, cond.max_centi, cond.alarm, cond.readings_root) == (
        3, 400, 900, True, expected.root)
    relaxed = {**ev, "mt:maxTemperature": 10}
    assert records(document(tmp_path, relaxed, name="b.jsonld"))[0].alarm is False


def test_fahrenheit_readings_are_converted(tmp_path):
    ev = event(sensorElementList=[{"sensorReport": [{"type": "gs1:Temperature", "value": 41,
                                                     "uom": "FAH"}]}])
    [cond] = records(document(tmp_path, ev))
    assert (cond.min_centi, cond.alarm) == (500, False)


@pytest.mark.parametrize(("fields", "status", "reason"), [
    ({"persistentDisposition": {"set": ["recalled"]}}, Status.RECALLED, "RECALL"),
    ({"bizStep": "holding", "disposition": "non_sellable_other"}, Status.QUARANTINED,
     "QUARANTINE"),
    ({"bizStep": "holding", "disposition": "sellable_accessible"}, Status.RELEASED, "RELEASE"),
    ({"bizStep": "inspecting", "disposition": "conformant"}, Status.RELEASED, "RELEASE"),
    ({"mt:status": "recalled", "mt:reason": "CRONOBACTER"}, Status.RECALLED, "CRONOBACTER"),
])
def test_dispositions_and_explicit_status_change_the_status(tmp_path, fields, status, reason):
    [rec] = records(document(tmp_path, event(**fields)))
    assert (rec.kind, rec.status, rec.reason) == (RecordKind.STATUS, status, reason)


def test_everyday_dispositions_only_anchor_the_event(tmp_path):
    path = document(tmp_path, event(bizStep="inspecting", disposition="in_progress"),
                    {**event(), "type": "AggregationEvent", "parentID":
                     "urn:epc:id:sscc:6901234.0000000001", "childEPCs": [DL], "action": "ADD"})
    first, *agg = records(path)
    assert (first.kind, first.anchor_kind) == (RecordKind.ANCHOR, AnchorKind.OBJECT)
    assert {(r.kind, r.anchor_kind) for r in agg} == {(RecordKind.ANCHOR,
                                                       AnchorKind.AGGREGATION)}
    # the registry anchors against batches: the batch only, not the pallet (SSCC)
    assert [r.batch_id for r in agg] == [batch_id(GTIN, LOT)]


def test_an_event_naming_no_batch_is_anchored_against_its_units(tmp_path):
    pallet_only = {**event(), "type": "AggregationEvent", "action": "ADD",
                   "parentID": "urn:epc:id:sscc:6901234.0000000001",
                   "childEPCs": ["urn:epc:id:sscc:6901234.0000000002"]}
    pallet_only.pop("epcList", None)
    recs = records(document(tmp_path, pallet_only))
    assert {r.kind for r in recs} == {RecordKind.ANCHOR}
    assert len(recs) == 2  # parent and child pallets


def test_an_error_declaration_gets_its_own_event_id(tmp_path):
    original = event(bizStep="inspecting")
    declared = {**original, "errorDeclaration": {"declarationTime": "2025-03-02T00:00:00Z",
                                                 "reason": "incorrect_data"}}
    a, b = records(document(tmp_path, original, declared))
    assert a.event_id != b.event_id and b.kind == RecordKind.ANCHOR


def test_bad_identifiers_are_named(tmp_path):
    bad = f"https://id.gs1.org/01/{GTIN[:-1]}7/10/{LOT}"
    found = problems(document(tmp_path, event(epcList=[bad],
                                              readPoint={"id": "urn:epc:id:sgln:123.4.5"})))
    assert [(w, f) for w, f, _ in found] == [("event 0", "epcList[0]"), ("event 0", "readPoint.id")]
    assert "check digit is 7, expected 6" in found[0][2]


def test_extension_names_need_a_declared_prefix(tmp_path):
    found = problems(document(tmp_path, event(**{"acme:batchNote": "x", "lotNote": "y"})))
    assert [f for _, f, _ in found] == ["acme:batchNote", "lotNote"]
    assert "prefix 'acme'" in found[0][2] and "not namespaced" in found[1][2]


def test_gtin_check_digit_helper_agrees():
    assert GTIN[-1] == str(gs1_check_digit(GTIN[:-1]))
