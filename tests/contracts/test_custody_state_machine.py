"""Stateful property test (hypothesis) of custody and status.

A model of three lots is driven by random commissions, hand-overs, accepts, cancels and
status changes from random actors (two producers, a carrier, a retailer, a regulator and a
stranger). Every call the model expects to fail must revert; after every step the chain must
agree with the model, which says:
  - a commissioned batch has exactly one holder, and only an accepted hand-over changes it;
  - nothing changes a recalled batch's status back;
  - commissioning a batch twice fails.

It runs hypothesis' RuleBasedStateMachine the way brownie's `state_machine` fixture does
(snapshot once, revert the chain at the start of every example) because that fixture is
unusable in eth-brownie 1.22.2 as installed: its mypyc-compiled `_BrownieStateMachine` is a
native final class, so the machine type it builds fails hypothesis' isinstance check
("brownie.test.stateful._BrownieStateMachine object expected"). Examples and steps come from
brownie-config.yaml's hypothesis section (brownie loads it as the default profile).
"""

from __future__ import annotations

from brownie import chain
from conftest import ACTIVE, EVENT_TIME, RECALLED, bid, commission_args, fixed, h32, revert_data
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

LOTS = ["SM-0", "SM-1", "SM-2"]
# actors by index: 0 producer, 1 producer2, 2 carrier, 3 retailer, 4 regulator, 5 stranger
PRODUCERS = {0, 1}
REGULATOR = 4
WITH_ROLE = {0, 1, 2, 3, 4}
ZERO = "0x" + "00" * 20


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


BATCH_EXISTS = selector("TraceRegistryBatchExists(bytes32)")
INVALID_STATUS = selector("TraceRegistryInvalidStatus(bytes32,uint8,uint8)")


lots = st.integers(min_value=0, max_value=len(LOTS) - 1)
actors = st.integers(min_value=0, max_value=5)
statuses = st.integers(min_value=0, max_value=4)


class Custody(RuleBasedStateMachine):
    registry = None
    accounts: list = []  # by actor index
    ids = [bid(lot) for lot in LOTS]

    def __init__(self):
        super().__init__()
        chain.revert()  # every example starts from the snapshot taken before the run
        self.holder: dict[int, int] = {}  # lot -> actor holding it
        self.pending: dict[int, int | None] = {}  # lot -> actor it is offered to
        self.producer: dict[int, int] = {}
        self.status: dict[int, int] = {}

    # ------------------------------------------------------------ helpers

    def refused(self, fn, args, actor: int) -> bytes:
        data = revert_data(fn, args, self.accounts[actor])
        assert data is not None, f"{fn._name}{args} by actor {actor} should have reverted"
        return bytes(data)

    # ------------------------------------------------------------ rules

    @rule(st_lot=lots, st_actor=actors)
    def commission(self, st_lot, st_actor):
        args = (commission_args(LOTS[st_lot]),)
        if st_actor in PRODUCERS and st_lot not in self.status:
            self.registry.commission(*args, {"from": self.accounts[st_actor]})
            self.holder[st_lot] = self.producer[st_lot] = st_actor
            self.pending[st_lot] = None
            self.status[st_lot] = ACTIVE
        else:
            data = self.refused(self.registry.commission, args, st_actor)
            if st_actor in PRODUCERS:
                assert data[:4] == BATCH_EXISTS  # commissioning a batch twice fails

    @rule(st_lot=lots, st_actor=actors, st_to=actors)
    def hand_over(self, st_lot, st_actor, st_to):
        args = (self.ids[st_lot], h32(), self.accounts[st_to], EVENT_TIME)
        ok = (st_lot in self.status and self.holder[st_lot] == st_actor and st_actor in WITH_ROLE
              and self.pending[st_lot] is None and st_to in WITH_ROLE and st_to != st_actor)
        if ok:
            self.registry.handOver(*args, {"from": self.accounts[st_actor]})
            self.pending[st_lot] = st_to
        else:
            self.refused(self.registry.handOver, args, st_actor)

    @rule(st_lot=lots, st_actor=actors)
    def accept(self, st_lot, st_actor):
        args = (self.ids[st_lot], h32(), EVENT_TIME)
        if st_lot in self.status and self.pending[st_lot] == st_actor:
            self.registry.accept(*args, {"from": self.accounts[st_actor]})
            self.holder[st_lot] = st_actor  # the only place the holder changes
            self.pending[st_lot] = None
        else:
            self.refused(self.registry.accept, args, st_actor)

    # The rules above draw any actor, so most of their calls are refusals. These draw the
    # actor the model says is in position, so that custody really moves in most examples.

    @rule(st_lot=lots, st_to=actors)
    def hand_over_by_holder(self, st_lot, st_to):
        if st_lot in self.holder:
            self.hand_over(st_lot, self.holder[st_lot], st_to)

    @rule(st_lot=lots)
    def accept_by_addressee(self, st_lot):
        if self.pending.get(st_lot) is not None:
            self.accept(st_lot, self.pending[st_lot])

    @rule(st_lot=lots)
    def commission_by_producer(self, st_lot):
        self.commission(st_lot, 0)

    @rule(st_lot=lots, st_actor=actors)
    def cancel(self, st_lot, st_actor):
        args = (self.ids[st_lot], h32(), EVENT_TIME)
        ok = (st_lot in self.status and self.holder[st_lot] == st_actor
              and self.pending[st_lot] is not None)
        if ok:
            self.registry.cancelHandOver(*args, {"from": self.accounts[st_actor]})
            self.pending[st_lot] = None
        else:
            self.refused(self.registry.cancelHandOver, args, st_actor)

    @rule(st_lot=lots, st_actor=actors, st_status=statuses)
    def set_status(self, st_lot, st_actor, st_status):
        args = (self.ids[st_lot], h32(), st_status, fixed("X", 16), b"\0" * 32, EVENT_TIME)
        known = st_lot in self.status
        authority = known and (st_actor == REGULATOR or st_actor == self.producer[st_lot])
        recalled = known and self.status[st_lot] == RECALLED
        if authority and st_status >= 2 and not recalled:
            self.registry.setStatus(*args, {"from": self.accounts[st_actor]})
            self.status[st_lot] = st_status
        else:
            data = self.refused(self.registry.setStatus, args, st_actor)
            if authority and recalled:
                assert data[:4] == INVALID_STATUS  # nothing changes a recalled batch back

    # ------------------------------------------------------------ invariants

    @invariant()
    def chain_matches_model(self):
        for lot, batch_id in enumerate(self.ids):
            holder, pending, producer, status = self.registry.batchState(batch_id)
            if lot not in self.status:
                assert (holder, pending, producer, status) == (ZERO, ZERO, ZERO, 0)
                continue
            # exactly one holder: the account the model says, never zero
            assert holder == self.accounts[self.holder[lot]] and holder != ZERO
            want_pending = self.pending[lot]
            assert pending == (ZERO if want_pending is None else self.accounts[want_pending])
            assert producer == self.accounts[self.producer[lot]]
            assert status == self.status[lot]


def test_custody_and_status_state_machine(registry, producer, producer2, carrier, retailer,
                                          regulator, stranger):
    Custody.registry = registry
    Custody.accounts = [producer, producer2, carrier, retailer, regulator, stranger]
    chain.snapshot()
    run_state_machine_as_test(Custody, settings=settings())  # brownie-config.yaml: 40 × 20
