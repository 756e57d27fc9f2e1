"""The packed `submit(bytes)` path: mixed kinds in one call, all or nothing, malformed input.

Records are packed by the library's own encoder (`milktrace.records.pack`), so these tests
also pin that the contract and the encoder agree on the layout.
"""

from __future__ import annotations

import pytest
from conftest import (
    EVENT_TIME,
    GLN,
    GTIN,
    QUARANTINED,
    RECALLED,
    bid,
    events,
    fixed,
    h32,
)
from eth_utils import keccak

from milktrace.records import pack
from milktrace.types import (
    Accept,
    Anchor,
    AnchorKind,
    CancelHandOver,
    Commission,
    ConditionSummary,
    HandOver,
    QualityResult,
    Status,
    StatusChange,
)

ZERO = "0x" + "00" * 20
LAB_ROLE = keccak(text="LAB_ROLE")


def quality(batch: bytes, **kw) -> QualityResult:
    fields = dict(event_id=h32("q"), test_code="MELAMINE", passed=True, value_micro=50_000,
                  unit="MGKG", report_hash=h32("r"), event_time=EVENT_TIME)
    fields.update(kw)
    return QualityResult(batch, **fields)


def condition(batch: bytes, **kw) -> ConditionSummary:
    fields = dict(event_id=h32("s"), readings_root=h32("root"), count=288, min_centi=210,
                  max_centi=650, alarm=False, event_time=EVENT_TIME)
    fields.update(kw)
    return ConditionSummary(batch, **fields)


def commission(lot: str, parents: tuple[bytes, ...] = ()) -> Commission:
    return Commission(bid(lot), h32("c"), f"{GTIN:014d}", lot, 20251101, 20270501, 500, "KGM",
                      str(GLN), EVENT_TIME, parents=parents)


@pytest.fixture
def plant(registry, admin, producer):
    """The producer, given LAB too (an in-house QA lab), so one sender can use every kind."""
    registry.grantRole(LAB_ROLE, producer, {"from": admin})
    return producer


def test_submit_applies_mixed_kinds_in_order(registry, plant, carrier, batch):
    child = bid("CARTON-7")
    recs = [
        commission("RAW-7"),
        commission("CARTON-7", parents=(batch, bid("RAW-7"))),
        quality(child, test_code="CRONOBACTER", passed=False, value_micro=-3, unit="CFU10G"),
        condition(child, min_centi=-150, alarm=True),
        HandOver(child, h32("h"), carrier.address, EVENT_TIME + 1),
        condition(child),
        CancelHandOver(child, h32("x"), EVENT_TIME + 2),
        HandOver(child, h32("h"), carrier.address, EVENT_TIME + 3),
        StatusChange(child, h32("st"), Status.QUARANTINED, "PRECAUTION", h32("n"), EVENT_TIME),
        Anchor(child, h32("a"), AnchorKind.AGGREGATION, EVENT_TIME + 4),
        quality(batch),
    ]
    tx = registry.submit(pack(recs), {"from": plant})
    got = events(tx)
    assert [name for name, _ in got] == [
        "BatchCommissioned", "BatchCommissioned", "BatchDerived", "BatchDerived",
        "QualityRecorded", "ConditionRecorded", "CustodyHandedOver", "ConditionRecorded",
        "CustodyHandOverCancelled", "CustodyHandedOver", "BatchStatusChanged", "EventAnchored",
        "QualityRecorded"]
    assert got[1][1] == {
        "batchId": child, "eventId": recs[1].event_id, "producer": plant.address, "gtin": GTIN,
        "lot": "CARTON-7", "productionDate": 20251101, "expiryDate": 20270501, "quantity": 500,
        "unit": fixed("KGM", 8), "siteGln": GLN, "parents": [batch, bid("RAW-7")],
        "eventTime": EVENT_TIME}
    assert got[2][1] == {"parentId": batch, "eventId": recs[1].event_id, "childId": child}
    assert got[4][1] == {
        "batchId": child, "eventId": recs[2].event_id, "lab": plant.address,
        "testCode": fixed("CRONOBACTER", 16), "passed": False, "value": -3,
        "unit": fixed("CFU10G", 8), "reportHash": recs[2].report_hash, "eventTime": EVENT_TIME}
    assert got[5][1] == {
        "batchId": child, "eventId": recs[3].event_id, "recorder": plant.address,
        "readingsRoot": recs[3].readings_root, "count": 288, "minValue": -150, "maxValue": 650,
        "alarm": True, "eventTime": EVENT_TIME}
    assert got[6][1] == {"batchId": child, "eventId": recs[4].event_id, "from": plant.address,
                         "to": carrier.address, "eventTime": EVENT_TIME + 1}
    assert got[8][1] == {"batchId": child, "eventId": recs[6].event_id, "from": plant.address,
                         "to": carrier.address, "eventTime": EVENT_TIME + 2}
    assert got[10][1] == {"batchId": child, "eventId": recs[8].event_id, "by": plant.address,
                          "status": QUARANTINED, "reason": fixed("PRECAUTION", 16),
                          "noticeHash": recs[8].notice_hash, "eventTime": EVENT_TIME}
    assert got[11][1] == {"batchId": child, "eventId": recs[9].event_id, "by": plant.address,
                          "kind": AnchorKind.AGGREGATION, "eventTime": EVENT_TIME + 4}
    assert got[12][1]["batchId"] == batch
    assert tuple(registry.batchState(child)) == (plant, carrier, plant, QUARANTINED)

    accept = Accept(child, h32("acc"), EVENT_TIME + 5)
    tx = registry.submit(pack([accept]), {"from": carrier})
    assert events(tx) == [("CustodyAccepted", {"batchId": child, "eventId": accept.event_id,
                                               "to": carrier.address, "from": plant.address,
                                               "eventTime": EVENT_TIME + 5})]
    assert registry.holderOf(child) == carrier


def test_submit_of_many_records_across_batches_emits_each_once_in_order(registry, plant):
    lots = [f"B{i}" for i in range(5)]
    registry.submit(pack([commission(lot) for lot in lots]), {"from": plant})
    recs = [(quality if i % 3 else condition)(bid(lots[i % 5])) for i in range(60)]
    tx = registry.submit(pack(recs), {"from": plant})
    got = events(tx)
    assert [(ev["batchId"], ev["eventId"]) for _, ev in got] == [
        (r.batch_id, r.event_id) for r in recs]


def test_the_pending_addressee_records_conditions_around_its_accept(registry, producer,
                                                                    carrier, retailer, batch):
    registry.handOver(batch, h32(), carrier, EVENT_TIME, {"from": producer})
    recs = [condition(batch), Accept(batch, h32(), EVENT_TIME), condition(batch),
            HandOver(batch, h32(), retailer.address, EVENT_TIME), condition(batch)]
    tx = registry.submit(pack(recs), {"from": carrier})
    assert [name for name, _ in events(tx)] == [
        "ConditionRecorded", "CustodyAccepted", "ConditionRecorded", "CustodyHandedOver",
        "ConditionRecorded"]
    assert tuple(registry.batchState(batch))[:2] == (carrier, retailer)


def test_a_dictionary_without_records_does_nothing(registry, plant, batch):
    tx = registry.submit(pack([]), {"from": plant})
    assert events(tx) == []
    tx = registry.submit(b"\x00\x01" + batch, {"from": plant})
    assert events(tx) == []


# ---------------------------------------------------------------- all or nothing


@pytest.mark.parametrize("position", [0, 2, 4])
def test_one_bad_record_reverts_the_whole_call(registry, reverts, plant, carrier, batch,
                                               position):
    ghost = bid("GHOST")
    good = [HandOver(batch, h32(), carrier.address, EVENT_TIME), quality(batch), condition(batch),
            StatusChange(batch, h32(), Status.RECALLED, "MELAMINE", h32(), EVENT_TIME)]
    recs = good[:position] + [quality(ghost)] + good[position:]
    reverts(registry.submit, (pack(recs),), plant, "TraceRegistryUnknownBatch", ghost)
    assert tuple(registry.batchState(batch)) == (plant, ZERO, plant, 1)


@pytest.mark.parametrize("case", ["quality_by_non_lab", "condition_by_non_holder",
                                  "hand_over_by_non_holder", "recall_then_release",
                                  "commission_twice"])
def test_submit_reverts_with_the_error_of_the_single_record_function(registry, reverts, producer,
                                                                     carrier, regulator, batch,
                                                                     case):
    sender, recs, error = {
        "quality_by_non_lab": (carrier, [quality(batch)],
                               ("TraceRegistryMissingRole", carrier.address, LAB_ROLE)),
        "condition_by_non_holder": (carrier, [condition(batch)],
                                    ("TraceRegistryNotHolder", batch, carrier.address)),
        "hand_over_by_non_holder": (carrier, [HandOver(batch, h32(), regulator.address, 1)],
                                    ("TraceRegistryNotHolder", batch, carrier.address)),
        "recall_then_release": (regulator, [
            StatusChange(batch, h32(), Status.RECALLED, "X", h32(), 1),
            StatusChange(batch, h32(), Status.RELEASED, "X", h32(), 1)],
            ("TraceRegistryInvalidStatus", batch, RECALLED, 3)),
        "commission_twice": (producer, [commission("TWICE"), commission("TWICE")],
                             ("TraceRegistryBatchExists", bid("TWICE"))),
    }[case]
    reverts(registry.submit, (pack(recs),), sender, *error)


def test_submit_by_a_stranger_reverts_at_its_first_record(registry, reverts, stranger, batch):
    reverts(registry.submit, (pack([condition(batch)]),), stranger, "TraceRegistryNoRole",
            stranger.address)


# ---------------------------------------------------------------- malformed input


def malformed(offset: int) -> tuple:
    return ("TraceRegistryMalformedRecord", offset)


def with_byte(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + bytes([value]) + data[at + 1:]


def test_malformed_header(registry, reverts, plant, batch):
    reverts(registry.submit, (b"",), plant, *malformed(0))
    reverts(registry.submit, (b"\x00",), plant, *malformed(0))
    reverts(registry.submit, (b"\x00\x02" + batch,), plant, *malformed(0))  # one id of two


def test_truncated_records_revert_at_their_offset(registry, reverts, plant, carrier, batch):
    for second in [quality(batch), condition(batch),
                   HandOver(batch, h32(), carrier.address, 1),
                   StatusChange(batch, h32(), Status.QUARANTINED, "X", h32(), 1),
                   Anchor(batch, h32(), AnchorKind.OBJECT, 1), Accept(batch, h32(), 1),
                   commission("NEWLOT", parents=(batch,))]:
        data = pack([quality(batch), second])
        start = len(data) - (len(pack([second])) - 34)  # the second record's offset
        for cut in {start + 1, start + 39, len(data) - 1}:
            if cut > start:
                reverts(registry.submit, (data[:cut],), plant, *malformed(start), send=False)


def test_commission_record_truncated_inside_its_lot_or_parents(registry, reverts, plant, batch):
    data = pack([commission("LOT-123456", parents=(batch, batch))])
    body = 2 + 32 + 40
    lot_end = body + 41 + len("LOT-123456")
    for cut in (body + 41, lot_end, lot_end + 1, lot_end + 33):
        reverts(registry.submit, (data[:cut],), plant, *malformed(34), send=False)


def test_batch_index_out_of_range(registry, reverts, plant, batch):
    data = pack([quality(batch), condition(batch)])
    second = 2 + 32 + 105
    for index in (1, 0xFFFF):
        bad = data[:second + 1] + index.to_bytes(2, "big") + data[second + 3:]
        reverts(registry.submit, (bad,), plant, *malformed(second), send=False)


@pytest.mark.parametrize("kind", [8, 0x80, 0xFF])
def test_unknown_record_kind(registry, reverts, plant, batch, kind):
    data = pack([quality(batch), quality(batch)])
    reverts(registry.submit, (with_byte(data, 2 + 32 + 105, kind),), plant,
            *malformed(2 + 32 + 105))


@pytest.mark.parametrize("field", ["passed", "alarm", "status", "anchor_kind"])
def test_out_of_range_fields(registry, reverts, plant, batch, field):
    rec, at, value = {
        "passed": (quality(batch), 40 + 16, 2),
        "alarm": (condition(batch), 40 + 44, 2),
        "status": (StatusChange(batch, h32(), Status.QUARANTINED, "X", h32(), 1), 40, 5),
        "anchor_kind": (Anchor(batch, h32(), AnchorKind.OBJECT, 1), 40, 5),
    }[field]
    data = pack([condition(batch), rec])
    start = 2 + 32 + 85
    reverts(registry.submit, (with_byte(data, start + at, value),), plant, *malformed(start))


def test_trailing_bytes_after_the_last_record(registry, reverts, plant, batch):
    data = pack([quality(batch)])
    reverts(registry.submit, (data + b"\x04",), plant, *malformed(len(data)), send=False)
