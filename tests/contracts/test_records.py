"""Quality results, condition summaries, status changes and anchors (one per call)."""

from __future__ import annotations

import pytest
from conftest import (
    ACTIVE,
    EVENT_TIME,
    QUARANTINED,
    RECALLED,
    RELEASED,
    bid,
    condition_args,
    events,
    fixed,
    h32,
    quality_args,
    raw_revert,
    raw_send_fails,
)
from eth_utils import keccak
from hexbytes import HexBytes

LAB_ROLE = keccak(text="LAB_ROLE")
MALFORMED = keccak(text="TraceRegistryMalformedRecord(uint256)")[:4]


def corrupt(calldata: str, word: int, value: bytes) -> bytes:
    """The calldata with argument word `word` (0-based, after the selector) replaced."""
    data = bytearray(HexBytes(calldata))
    data[4 + 32 * word:4 + 32 * (word + 1)] = value.rjust(32, b"\0")
    return bytes(data)


# ---------------------------------------------------------------- quality


def test_record_quality_emits_the_result(registry, lab, batch):
    args = quality_args(batch, passed=False, value=-1_250_000, testCode=fixed("AFLATOXIN_M1", 16))
    tx = registry.recordQuality(args, {"from": lab})
    assert events(tx) == [("QualityRecorded", {
        "batchId": batch, "eventId": args[1], "lab": lab.address,
        "testCode": fixed("AFLATOXIN_M1", 16), "passed": False, "value": -1_250_000,
        "unit": fixed("MGKG", 8), "reportHash": args[6], "eventTime": EVENT_TIME})]


def test_record_quality_takes_the_extremes_of_each_field(registry, lab, batch):
    args = quality_args(batch, testCode=b"\xff" * 16, value=-(2**63), unit=b"\xff" * 8,
                        eventTime=2**64 - 1)
    _, ev = events(registry.recordQuality(args, {"from": lab}))[0]
    assert (ev["testCode"], ev["value"], ev["unit"], ev["eventTime"]) == (
        b"\xff" * 16, -(2**63), b"\xff" * 8, 2**64 - 1)
    _, ev = events(registry.recordQuality(quality_args(batch, value=2**63 - 1), {"from": lab}))[0]
    assert ev["value"] == 2**63 - 1


@pytest.mark.parametrize("who", ["producer", "carrier", "retailer", "regulator", "stranger"])
def test_record_quality_reverts_when_caller_is_not_a_lab(registry, reverts, request, batch, who):
    account = request.getfixturevalue(who)
    reverts(registry.recordQuality, (quality_args(batch),), account, "TraceRegistryMissingRole",
            account.address, LAB_ROLE)


def test_record_quality_reverts_on_an_unknown_batch(registry, reverts, lab):
    ghost = bid("GHOST")
    reverts(registry.recordQuality, (quality_args(ghost),), lab, "TraceRegistryUnknownBatch",
            ghost)


@pytest.mark.parametrize("word,value", [
    (2, b"MELAMINE".ljust(17, b"\0") + b"\1"),  # testCode: bytes16 with a dirty low byte
    (3, b"\2"),  # passed: bool 2
    (4, b"\1" + b"\0" * 8),  # value: 2**64, not an int64
    (4, b"\x80" + b"\0" * 7),  # value: 2**63 without sign extension
    (5, b"MGKG".ljust(9, b"\0") + b"\1"),  # unit: bytes8 with a dirty byte
    (7, b"\1" + b"\0" * 8),  # eventTime: 2**64
])
def test_record_quality_reverts_on_a_non_canonical_argument(registry, lab, batch, word, value):
    data = corrupt(registry.recordQuality.encode_input(quality_args(batch)), word, value)
    assert raw_revert(registry, data, lab) == HexBytes(MALFORMED + (4 + 32 * word).to_bytes(32,
                                                                                          "big"))
    raw_send_fails(registry, data, lab)


def test_record_quality_reverts_on_short_calldata(registry, lab, batch):
    data = HexBytes(registry.recordQuality.encode_input(quality_args(batch)))[:-1]
    assert raw_revert(registry, bytes(data), lab) == HexBytes(b"")


# ---------------------------------------------------------------- condition


def test_record_condition_by_the_holder(registry, producer, batch):
    args = condition_args(batch, minValue=-1850, maxValue=-1200, alarm=True, count=100_000)
    tx = registry.recordCondition(args, {"from": producer})
    assert events(tx) == [("ConditionRecorded", {
        "batchId": batch, "eventId": args[1], "recorder": producer.address,
        "readingsRoot": args[2], "count": 100_000, "minValue": -1850, "maxValue": -1200,
        "alarm": True, "eventTime": EVENT_TIME})]


def test_record_condition_by_the_pending_addressee(registry, producer, carrier, batch):
    registry.handOver(batch, h32(), carrier, EVENT_TIME, {"from": producer})
    tx = registry.recordCondition(condition_args(batch), {"from": carrier})
    assert events(tx)[0][1]["recorder"] == carrier.address


def test_record_condition_takes_the_extremes_of_each_field(registry, producer, batch):
    args = condition_args(batch, count=2**32 - 1, minValue=-(2**31), maxValue=2**31 - 1,
                          eventTime=2**64 - 1)
    _, ev = events(registry.recordCondition(args, {"from": producer}))[0]
    assert (ev["count"], ev["minValue"], ev["maxValue"], ev["eventTime"]) == (
        2**32 - 1, -(2**31), 2**31 - 1, 2**64 - 1)


def test_record_condition_reverts_when_caller_has_no_role(registry, reverts, stranger, batch):
    reverts(registry.recordCondition, (condition_args(batch),), stranger, "TraceRegistryNoRole",
            stranger.address)


def test_record_condition_reverts_on_an_unknown_batch(registry, reverts, producer):
    ghost = bid("GHOST")
    reverts(registry.recordCondition, (condition_args(ghost),), producer,
            "TraceRegistryUnknownBatch", ghost)


@pytest.mark.parametrize("who", ["carrier", "lab", "producer2", "regulator"])
def test_record_condition_reverts_when_caller_neither_holds_nor_is_offered_the_batch(
        registry, reverts, request, batch, who):
    account = request.getfixturevalue(who)
    reverts(registry.recordCondition, (condition_args(batch),), account,
            "TraceRegistryNotHolder", batch, account.address)


@pytest.mark.parametrize("word,value", [
    (3, b"\1" + b"\0" * 4),  # count: 2**32
    (4, b"\x80\0\0\0"),  # minValue: 2**31 without sign extension
    (5, b"\1" + b"\0" * 4),  # maxValue: 2**32
    (6, b"\2"),  # alarm: bool 2
    (7, b"\1" + b"\0" * 8),  # eventTime: 2**64
])
def test_record_condition_reverts_on_a_non_canonical_argument(registry, producer, batch, word,
                                                              value):
    data = corrupt(registry.recordCondition.encode_input(condition_args(batch)), word, value)
    assert raw_revert(registry, data, producer) == HexBytes(
        MALFORMED + (4 + 32 * word).to_bytes(32, "big"))
    raw_send_fails(registry, data, producer)


# ---------------------------------------------------------------- status


@pytest.mark.parametrize("status", [QUARANTINED, RELEASED, RECALLED])
def test_producer_sets_the_status_of_its_own_batch(registry, producer, batch, status):
    eid, notice = h32(), h32()
    tx = registry.setStatus(batch, eid, status, fixed("CRONOBACTER", 16), notice, EVENT_TIME,
                            {"from": producer})
    assert events(tx) == [("BatchStatusChanged", {
        "batchId": batch, "eventId": eid, "by": producer.address, "status": status,
        "reason": fixed("CRONOBACTER", 16), "noticeHash": notice, "eventTime": EVENT_TIME})]
    assert registry.statusOf(batch) == status


def test_regulator_quarantines_then_releases_a_batch_it_does_not_produce(registry, regulator,
                                                                        batch):
    registry.setStatus(batch, h32(), QUARANTINED, fixed("PRECAUTION", 16), b"\0" * 32,
                       EVENT_TIME, {"from": regulator})
    registry.setStatus(batch, h32(), RELEASED, fixed("CLEARED", 16), b"\0" * 32, EVENT_TIME,
                       {"from": regulator})
    assert registry.statusOf(batch) == RELEASED


def test_status_of_a_batch_held_elsewhere_is_still_the_producers_call(registry, producer,
                                                                      carrier, batch):
    registry.handOver(batch, h32(), carrier, EVENT_TIME, {"from": producer})
    registry.accept(batch, h32(), EVENT_TIME, {"from": carrier})
    registry.setStatus(batch, h32(), QUARANTINED, fixed("X", 16), b"\0" * 32, EVENT_TIME,
                       {"from": producer})
    assert registry.statusOf(batch) == QUARANTINED


@pytest.mark.parametrize("who", ["producer2", "carrier", "lab", "retailer", "stranger"])
def test_set_status_reverts_when_caller_is_neither_its_producer_nor_a_regulator(
        registry, reverts, request, batch, who):
    account = request.getfixturevalue(who)
    reverts(registry.setStatus, (batch, h32(), RECALLED, fixed("X", 16), b"\0" * 32, EVENT_TIME),
            account, "TraceRegistryNotStatusAuthority", batch, account.address)


def test_set_status_reverts_when_the_producer_lost_its_role(registry, reverts, admin, producer,
                                                            batch):
    registry.revokeRole(registry.PRODUCER_ROLE(), producer, {"from": admin})
    reverts(registry.setStatus, (batch, h32(), RECALLED, fixed("X", 16), b"\0" * 32, EVENT_TIME),
            producer, "TraceRegistryNotStatusAuthority", batch, producer.address)


def test_set_status_reverts_on_an_unknown_batch(registry, reverts, regulator):
    ghost = bid("GHOST")
    reverts(registry.setStatus, (ghost, h32(), RECALLED, fixed("X", 16), b"\0" * 32, EVENT_TIME),
            regulator, "TraceRegistryUnknownBatch", ghost)


@pytest.mark.parametrize("status", [0, ACTIVE])
def test_set_status_reverts_back_to_unknown_or_active(registry, reverts, regulator, batch,
                                                      status):
    reverts(registry.setStatus, (batch, h32(), status, fixed("X", 16), b"\0" * 32, EVENT_TIME),
            regulator, "TraceRegistryInvalidStatus", batch, ACTIVE, status)


@pytest.mark.parametrize("status", [0, ACTIVE, QUARANTINED, RELEASED, RECALLED])
def test_nothing_changes_a_recalled_batchs_status(registry, reverts, producer, regulator, batch,
                                                  status):
    registry.setStatus(batch, h32(), RECALLED, fixed("MELAMINE", 16), h32(), EVENT_TIME,
                       {"from": regulator})
    for who in (producer, regulator):
        reverts(registry.setStatus,
                (batch, h32(), status, fixed("X", 16), b"\0" * 32, EVENT_TIME), who,
                "TraceRegistryInvalidStatus", batch, RECALLED, status)
    assert registry.statusOf(batch) == RECALLED


def test_set_status_reverts_on_an_out_of_range_status(registry, regulator, batch):
    data = corrupt(registry.setStatus.encode_input(batch, h32(), RECALLED, fixed("X", 16),
                                                   b"\0" * 32, EVENT_TIME), 2, b"\5")
    assert raw_revert(registry, data, regulator) == HexBytes(b"")


# ---------------------------------------------------------------- anchors


@pytest.mark.parametrize("who", ["producer", "carrier", "lab", "retailer", "regulator"])
def test_any_organisation_with_a_role_anchors_an_event(registry, request, batch, who):
    account = request.getfixturevalue(who)
    eid = h32()
    tx = registry.anchor(batch, eid, 3, EVENT_TIME, {"from": account})
    assert events(tx) == [("EventAnchored", {"batchId": batch, "eventId": eid,
                                             "by": account.address, "kind": 3,
                                             "eventTime": EVENT_TIME})]


def test_anchor_reverts_when_caller_has_no_role(registry, reverts, stranger, batch):
    reverts(registry.anchor, (batch, h32(), 1, EVENT_TIME), stranger, "TraceRegistryNoRole",
            stranger.address)


def test_anchor_reverts_on_an_unknown_batch(registry, reverts, carrier):
    ghost = bid("GHOST")
    reverts(registry.anchor, (ghost, h32(), 1, EVENT_TIME), carrier, "TraceRegistryUnknownBatch",
            ghost)


def test_anchor_reverts_on_an_out_of_range_kind(registry, carrier, batch):
    data = corrupt(registry.anchor.encode_input(batch, h32(), 4, EVENT_TIME), 2, b"\5")
    assert raw_revert(registry, data, carrier) == HexBytes(b"")
