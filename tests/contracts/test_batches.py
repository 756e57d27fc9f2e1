"""Batches: commissioning (plain and transformation), the id rule, and the storage views."""

from __future__ import annotations

import pytest
from conftest import (
    ACTIVE,
    EVENT_TIME,
    GLN,
    GTIN,
    LOT,
    RECALLED,
    bid,
    commission_args,
    events,
    fixed,
    h32,
)
from eth_utils import keccak

ZERO = "0x" + "00" * 20
PRODUCER_ROLE = keccak(text="PRODUCER_ROLE")


def test_commission_emits_the_batch_and_gives_custody_to_the_producer(registry, producer):
    eid = h32()
    tx = registry.commission(commission_args("IF-2026.01_b", event_id=eid), {"from": producer})
    new = bid("IF-2026.01_b")
    assert events(tx) == [("BatchCommissioned", {
        "batchId": new, "eventId": eid, "producer": producer.address, "gtin": GTIN,
        "lot": "IF-2026.01_b", "productionDate": 20251101, "expiryDate": 20270501,
        "quantity": 12_000, "unit": fixed("LTR", 8), "siteGln": GLN, "parents": [],
        "eventTime": EVENT_TIME})]
    assert tuple(registry.batchState(new)) == (producer, ZERO, producer, ACTIVE)
    assert registry.holderOf(new) == producer
    assert registry.statusOf(new) == ACTIVE


def test_commission_with_parents_links_each_parent_to_the_child(registry, producer, producer2,
                                                                batch):
    registry.commission(commission_args("RAW-2"), {"from": producer2})
    parents = (batch, bid("RAW-2"))
    eid = h32()
    tx = registry.commission(commission_args("CARTON-1", parents=parents, event_id=eid,
                                             unit=fixed("H87", 8), quantity=48_000),
                             {"from": producer})
    child = bid("CARTON-1")
    got = events(tx)
    assert got[0] == ("BatchCommissioned", {
        "batchId": child, "eventId": eid, "producer": producer.address, "gtin": GTIN,
        "lot": "CARTON-1", "productionDate": 20251101, "expiryDate": 20270501,
        "quantity": 48_000, "unit": fixed("H87", 8), "siteGln": GLN, "parents": list(parents),
        "eventTime": EVENT_TIME})
    assert got[1:] == [
        ("BatchDerived", {"parentId": batch, "eventId": eid, "childId": child}),
        ("BatchDerived", {"parentId": bid("RAW-2"), "eventId": eid, "childId": child}),
    ]


def test_commission_accepts_a_20_character_lot_and_a_gtin_with_a_leading_digit(registry,
                                                                               producer):
    gtin = 95012345678903  # 9501234567890 + check digit 3
    lot = "Az09-._" + "x" * 13
    registry.commission(commission_args(lot, gtin=gtin), {"from": producer})
    assert registry.statusOf(bid(lot, gtin)) == ACTIVE


@pytest.mark.parametrize("who", ["carrier", "lab", "retailer", "regulator", "stranger", "admin"])
def test_commission_reverts_when_caller_is_not_a_producer(registry, reverts, request, who):
    account = request.getfixturevalue(who)
    reverts(registry.commission, (commission_args("NEW"),), account, "TraceRegistryMissingRole",
            account.address, PRODUCER_ROLE)


def test_commission_reverts_when_id_does_not_match_gtin_and_lot(registry, reverts, producer):
    args = commission_args("NEW", batchId=bid("OTHER"))
    reverts(registry.commission, (args,), producer, "TraceRegistryBatchIdMismatch", bid("OTHER"),
            bid("NEW"))


@pytest.mark.parametrize("gtin", [3761234500015, 10**14, 10**14 + 4, 2**64 - 1])
def test_commission_reverts_on_an_invalid_gtin(registry, reverts, producer, gtin):
    args = commission_args("NEW", gtin=gtin, batchId=bid("NEW"))
    reverts(registry.commission, (args,), producer, "TraceRegistryInvalidGtin", gtin)


@pytest.mark.parametrize("lot", ["", "x" * 21, "LOT 1", "LOT/1", "lot#", "é", "L\x00"])
def test_commission_reverts_on_an_invalid_lot(registry, reverts, producer, lot):
    args = commission_args(lot, batchId=bid("NEW"))
    reverts(registry.commission, (args,), producer, "TraceRegistryInvalidLot", lot)


@pytest.mark.parametrize("production,expiry", [(20251101, 20251101), (20251101, 20250101)])
def test_commission_reverts_when_expiry_is_not_after_production(registry, reverts, producer,
                                                                production, expiry):
    args = commission_args("NEW", productionDate=production, expiryDate=expiry)
    reverts(registry.commission, (args,), producer, "TraceRegistryInvalidDates", production,
            expiry)


def test_commissioning_a_batch_twice_fails(registry, reverts, producer, producer2, batch):
    for who in (producer, producer2):
        reverts(registry.commission, (commission_args(LOT),), who, "TraceRegistryBatchExists",
                batch)


def test_commission_reverts_when_a_parent_is_unknown(registry, reverts, producer, batch):
    ghost = bid("GHOST")
    args = commission_args("CHILD", parents=(batch, ghost))
    reverts(registry.commission, (args,), producer, "TraceRegistryUnknownBatch", ghost)


def test_commission_reverts_when_a_parent_is_recalled(registry, reverts, producer, regulator,
                                                      batch):
    registry.setStatus(batch, h32(), RECALLED, fixed("MELAMINE", 16), h32(), EVENT_TIME,
                       {"from": regulator})
    args = commission_args("CHILD", parents=(batch,))
    reverts(registry.commission, (args,), producer, "TraceRegistryBatchRecalled", batch)


def test_views_of_an_unknown_batch_are_zero(registry):
    ghost = bid("GHOST")
    assert tuple(registry.batchState(ghost)) == (ZERO, ZERO, ZERO, 0)
    assert registry.holderOf(ghost) == ZERO
    assert registry.statusOf(ghost) == 0


def test_statuses_of_many_batches_in_one_call(registry, regulator, batch):
    registry.setStatus(batch, h32(), RECALLED, fixed("PRECAUTION", 16), h32(), EVENT_TIME,
                       {"from": regulator})
    assert list(registry.statusesOf([batch, bid("GHOST"), batch])) == [RECALLED, 0, RECALLED]
    assert list(registry.statusesOf([])) == []


def test_batch_id_of_is_the_digital_link_hash(registry):
    assert bytes(registry.batchIdOf(GTIN, LOT)) == keccak(text=f"/01/0{GTIN}/10/{LOT}")


def test_batch_id_of_reverts_like_commission(registry, reverts, stranger):
    reverts(registry.batchIdOf, (GTIN + 1, LOT), stranger, "TraceRegistryInvalidGtin", GTIN + 1,
            send=False)
    reverts(registry.batchIdOf, (GTIN, "a b"), stranger, "TraceRegistryInvalidLot", "a b",
            send=False)
