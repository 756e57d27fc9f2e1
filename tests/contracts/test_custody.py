"""Two-sided custody: hand-over, accept, cancel."""

from __future__ import annotations

import pytest
from conftest import ACTIVE, EVENT_TIME, RECALLED, bid, events, fixed, h32

ZERO = "0x" + "00" * 20


@pytest.fixture
def offered(registry, producer, carrier, batch):
    """The batch, offered by its producer to the carrier."""
    registry.handOver(batch, h32(), carrier, EVENT_TIME, {"from": producer})
    return batch


def test_hand_over_offers_the_batch_without_moving_custody(registry, producer, carrier, batch):
    eid = h32()
    tx = registry.handOver(batch, eid, carrier, EVENT_TIME, {"from": producer})
    assert events(tx) == [("CustodyHandedOver", {"batchId": batch, "eventId": eid,
                                                 "from": producer.address, "to": carrier.address,
                                                 "eventTime": EVENT_TIME})]
    assert tuple(registry.batchState(batch)) == (producer, carrier, producer, ACTIVE)
    assert registry.holderOf(batch) == producer


def test_accept_moves_custody_to_the_addressee(registry, producer, carrier, offered):
    eid = h32()
    tx = registry.accept(offered, eid, EVENT_TIME + 60, {"from": carrier})
    assert events(tx) == [("CustodyAccepted", {"batchId": offered, "eventId": eid,
                                               "to": carrier.address, "from": producer.address,
                                               "eventTime": EVENT_TIME + 60})]
    assert tuple(registry.batchState(offered)) == (carrier, ZERO, producer, ACTIVE)


def test_custody_moves_along_the_chain(registry, producer, carrier, retailer, offered):
    registry.accept(offered, h32(), EVENT_TIME, {"from": carrier})
    registry.handOver(offered, h32(), retailer, EVENT_TIME, {"from": carrier})
    tx = registry.accept(offered, h32(), EVENT_TIME, {"from": retailer})
    assert events(tx)[0][1]["from"] == carrier.address
    assert tuple(registry.batchState(offered)) == (retailer, ZERO, producer, ACTIVE)


def test_cancel_withdraws_the_offer(registry, reverts, producer, carrier, offered):
    eid = h32()
    tx = registry.cancelHandOver(offered, eid, EVENT_TIME, {"from": producer})
    assert events(tx) == [("CustodyHandOverCancelled", {
        "batchId": offered, "eventId": eid, "from": producer.address, "to": carrier.address,
        "eventTime": EVENT_TIME})]
    assert tuple(registry.batchState(offered)) == (producer, ZERO, producer, ACTIVE)
    reverts(registry.accept, (offered, h32(), EVENT_TIME), carrier, "TraceRegistryNoHandOver",
            offered)


def test_a_recalled_batch_can_still_go_back_to_its_producer(registry, producer, carrier,
                                                            regulator, offered):
    registry.accept(offered, h32(), EVENT_TIME, {"from": carrier})
    registry.setStatus(offered, h32(), RECALLED, fixed("MELAMINE", 16), h32(), EVENT_TIME,
                       {"from": regulator})
    registry.handOver(offered, h32(), producer, EVENT_TIME, {"from": carrier})
    registry.accept(offered, h32(), EVENT_TIME, {"from": producer})
    assert tuple(registry.batchState(offered)) == (producer, ZERO, producer, RECALLED)


# ---------------------------------------------------------------- hand-over reverts


def test_hand_over_reverts_when_caller_has_no_role(registry, reverts, stranger, carrier, batch):
    reverts(registry.handOver, (batch, h32(), carrier, EVENT_TIME), stranger,
            "TraceRegistryNoRole", stranger.address)


def test_hand_over_reverts_on_an_unknown_batch(registry, reverts, producer, carrier):
    ghost = bid("GHOST")
    reverts(registry.handOver, (ghost, h32(), carrier, EVENT_TIME), producer,
            "TraceRegistryUnknownBatch", ghost)


@pytest.mark.parametrize("who", ["carrier", "producer2", "regulator"])
def test_hand_over_reverts_when_caller_is_not_holder(registry, reverts, request, retailer, batch,
                                                     who):
    account = request.getfixturevalue(who)
    reverts(registry.handOver, (batch, h32(), retailer, EVENT_TIME), account,
            "TraceRegistryNotHolder", batch, account.address)


def test_hand_over_reverts_while_another_is_pending(registry, reverts, producer, carrier,
                                                    retailer, offered):
    reverts(registry.handOver, (offered, h32(), retailer, EVENT_TIME), producer,
            "TraceRegistryHandOverPending", offered, carrier.address)


def test_hand_over_reverts_to_an_account_that_is_not_admitted(registry, reverts, producer,
                                                              stranger, batch):
    reverts(registry.handOver, (batch, h32(), stranger, EVENT_TIME), producer,
            "TraceRegistryUnknownOrganisation", stranger.address)


def test_hand_over_reverts_to_an_organisation_without_roles(registry, reverts, admin, producer,
                                                            carrier, batch):
    registry.revokeRole(registry.CARRIER_ROLE(), carrier, {"from": admin})
    reverts(registry.handOver, (batch, h32(), carrier, EVENT_TIME), producer,
            "TraceRegistryUnknownOrganisation", carrier.address)


def test_hand_over_reverts_to_the_holder_itself(registry, reverts, producer, batch):
    reverts(registry.handOver, (batch, h32(), producer, EVENT_TIME), producer,
            "TraceRegistrySelfHandOver", batch, producer.address)


# ---------------------------------------------------------------- accept reverts


def test_accept_reverts_when_caller_has_no_role(registry, reverts, stranger, offered):
    reverts(registry.accept, (offered, h32(), EVENT_TIME), stranger, "TraceRegistryNoRole",
            stranger.address)


def test_accept_reverts_when_the_addressee_lost_its_roles(registry, reverts, admin, carrier,
                                                         offered):
    registry.revokeRole(registry.CARRIER_ROLE(), carrier, {"from": admin})
    reverts(registry.accept, (offered, h32(), EVENT_TIME), carrier, "TraceRegistryNoRole",
            carrier.address)


def test_accept_reverts_on_an_unknown_batch(registry, reverts, carrier):
    ghost = bid("GHOST")
    reverts(registry.accept, (ghost, h32(), EVENT_TIME), carrier, "TraceRegistryUnknownBatch",
            ghost)


def test_accept_reverts_when_nothing_is_pending(registry, reverts, carrier, batch):
    reverts(registry.accept, (batch, h32(), EVENT_TIME), carrier, "TraceRegistryNoHandOver",
            batch)


@pytest.mark.parametrize("who", ["producer", "retailer", "regulator"])
def test_accept_reverts_when_caller_is_not_the_addressee(registry, reverts, request, offered,
                                                         who):
    account = request.getfixturevalue(who)
    reverts(registry.accept, (offered, h32(), EVENT_TIME), account, "TraceRegistryNotAddressee",
            offered, account.address)


# ---------------------------------------------------------------- cancel reverts


def test_cancel_reverts_when_caller_has_no_role(registry, reverts, stranger, offered):
    reverts(registry.cancelHandOver, (offered, h32(), EVENT_TIME), stranger,
            "TraceRegistryNoRole", stranger.address)


def test_cancel_reverts_on_an_unknown_batch(registry, reverts, producer):
    ghost = bid("GHOST")
    reverts(registry.cancelHandOver, (ghost, h32(), EVENT_TIME), producer,
            "TraceRegistryUnknownBatch", ghost)


def test_cancel_reverts_when_caller_is_the_addressee_not_the_holder(registry, reverts, carrier,
                                                                   offered):
    reverts(registry.cancelHandOver, (offered, h32(), EVENT_TIME), carrier,
            "TraceRegistryNotHolder", offered, carrier.address)


def test_cancel_reverts_when_nothing_is_pending(registry, reverts, producer, batch):
    reverts(registry.cancelHandOver, (batch, h32(), EVENT_TIME), producer,
            "TraceRegistryNoHandOver", batch)
