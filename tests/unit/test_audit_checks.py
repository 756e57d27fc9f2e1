"""The audit checks on crafted event streams: a clean stream passes every check, and each
stream built to break one check fails it and names the exact event.

Several of these streams cannot happen on the deployed registry (custody, roles, genealogy,
expiry before production): those checks are defence in depth and are tested here only.
"""

from __future__ import annotations

import itertools

import pytest
from eth_utils import keccak, to_checksum_address

from milktrace.audit import analyse, check_state, run_checks
from milktrace.audit.policy import DEFAULT_POLICY, policy_from_dict
from milktrace.audit.rebuild import ancestors, descendants, rebuild
from milktrace.events import (
    DEFAULT_ADMIN_ROLE,
    ROLE_IDS,
    BatchCommissioned,
    BatchDerived,
    BatchStatusChanged,
    ConditionRecorded,
    CustodyAccepted,
    CustodyHandedOver,
    CustodyHandOverCancelled,
    EventAnchored,
    OrganisationAdmitted,
    QualityRecorded,
    RoleGranted,
    RoleRevoked,
)
from milktrace.types import AnchorKind, Role, Status


def addr(n: int) -> str:
    return to_checksum_address("0x" + f"{n:040x}")


ADMIN, FARM, PLANT, LAB, CARRIER, SHOP, REGULATOR, STRANGER = (addr(i) for i in range(1, 9))
NAMES = {
    FARM: "farm",
    PLANT: "plant",
    LAB: "lab",
    CARRIER: "carrier",
    SHOP: "shop",
    REGULATOR: "regulator",
}
ROLES = {
    FARM: Role.PRODUCER,
    PLANT: Role.PRODUCER,
    LAB: Role.LAB,
    CARRIER: Role.CARRIER,
    SHOP: Role.RETAILER,
    REGULATOR: Role.REGULATOR,
}
RAW = keccak(text="/01/03760123401005/10/RAW1")
LOT = keccak(text="/01/03760123402002/10/IF1")


class Stream:
    """Builds a chain-ordered event stream; each method appends one event and returns it."""

    def __init__(self) -> None:
        self.events: list = []
        self.block = 1
        self.ids = itertools.count(1)
        self.t = 1_740_787_200

    def _loc(self, new_block: bool = True) -> tuple[int, int, int, str]:
        if new_block:
            self.block += 1
            index = 0
        else:
            index = sum(1 for e in self.events if e.block == self.block)
        return (self.block, 0, index, "0x" + keccak(text=f"tx{self.block}").hex())

    def eid(self) -> bytes:
        return keccak(text=f"event {next(self.ids)}")

    def time(self) -> int:
        self.t += 3600
        return self.t

    def add(self, ev):
        self.events.append(ev)
        return ev

    # organisations
    def bootstrap(self):
        self.add(RoleGranted(*self._loc(), DEFAULT_ADMIN_ROLE, ADMIN, ADMIN))
        for i, (account, role) in enumerate(ROLES.items(), start=1):
            self.add(
                OrganisationAdmitted(
                    *self._loc(), account, i, "376012340001" + str(i % 10), NAMES[account], "FR"
                )
            )
            self.grant(role, account, same_block=True)
        return self

    def grant(self, role: Role, account: str, sender: str = ADMIN, same_block: bool = False):
        return self.add(RoleGranted(*self._loc(not same_block), ROLE_IDS[role], account, sender))

    def revoke(self, role: Role, account: str, sender: str = ADMIN, same_block: bool = False):
        return self.add(RoleRevoked(*self._loc(not same_block), ROLE_IDS[role], account, sender))

    # records
    def commission(
        self,
        who: str,
        batch: bytes,
        parents: tuple[bytes, ...] = (),
        production: int = 20250301,
        expiry: int = 20260301,
        derived: bool = True,
    ):
        eid = self.eid()
        ev = self.add(
            BatchCommissioned(
                *self._loc(),
                batch,
                eid,
                who,
                "03760123402002",
                "IF1",
                production,
                expiry,
                100,
                "KGM",
                "3760123400107",
                parents,
                self.time(),
            )
        )
        if derived:
            for p in parents:
                loc = (ev.block, 0, sum(1 for e in self.events if e.block == ev.block), ev.tx)
                self.add(BatchDerived(*loc, p, eid, batch))
        return ev

    def hand_over(self, who, batch, to, eid=None, same_block=False):
        return self.add(
            CustodyHandedOver(
                *self._loc(not same_block), batch, eid or self.eid(), who, to, self.time()
            )
        )

    def accept(self, who, batch, previous, eid=None):
        return self.add(
            CustodyAccepted(*self._loc(), batch, eid or self.eid(), who, previous, self.time())
        )

    def move(self, frm, batch, to):
        self.hand_over(frm, batch, to)
        return self.accept(to, batch, frm)

    def cancel(self, who, batch, to):
        return self.add(
            CustodyHandOverCancelled(*self._loc(), batch, self.eid(), who, to, self.time())
        )

    def quality(self, who, batch, test="MELAMINE", passed=True, eid=None, same_block=False):
        return self.add(
            QualityRecorded(
                *self._loc(not same_block),
                batch,
                eid or self.eid(),
                who,
                test,
                passed,
                50_000,
                "MGKG",
                keccak(text=test),
                self.time(),
            )
        )

    def release_tests(self, batch):
        for test in ("MELAMINE", "CRONOBACTER", "ENTEROBACTERIA"):
            self.quality(LAB, batch, test)

    def condition(self, who, batch, eid=None):
        return self.add(
            ConditionRecorded(
                *self._loc(),
                batch,
                eid or self.eid(),
                who,
                keccak(b"root"),
                10,
                300,
                600,
                False,
                self.time(),
            )
        )

    def status(self, who, batch, status=Status.RECALLED, reason="CRONOBACTER"):
        return self.add(
            BatchStatusChanged(
                *self._loc(), batch, self.eid(), who, status, reason, bytes(32), self.time()
            )
        )

    def anchor(self, who, batch):
        return self.add(
            EventAnchored(*self._loc(), batch, self.eid(), who, AnchorKind.AGGREGATION, self.time())
        )


def clean_stream() -> Stream:
    s = Stream().bootstrap()
    s.commission(FARM, RAW)
    s.move(FARM, RAW, PLANT)
    s.commission(PLANT, LOT, parents=(RAW,))
    s.release_tests(LOT)
    s.status(PLANT, LOT, Status.RELEASED, "POSITIVE_RELEASE")
    s.hand_over(PLANT, LOT, SHOP)
    s.cancel(PLANT, LOT, SHOP)
    s.hand_over(PLANT, LOT, CARRIER)
    s.condition(CARRIER, LOT)  # by the pending addressee
    s.accept(CARRIER, LOT, PLANT)
    s.condition(CARRIER, LOT)
    s.move(CARRIER, LOT, SHOP)
    s.anchor(SHOP, LOT)
    s.status(REGULATOR, LOT, Status.RECALLED)
    s.anchor(REGULATOR, LOT)
    s.move(SHOP, LOT, CARRIER)  # back through a carrier (an earlier holder)
    s.move(CARRIER, LOT, PLANT)  # to the producer
    return s


def failures(events, policy=DEFAULT_POLICY) -> dict[str, list]:
    return {c.name: list(c.violations) for c in run_checks(events, policy) if c.violations}


def only(events, check: str, policy=DEFAULT_POLICY):
    """The single violation the stream produces; it must come from `check`."""
    failed = failures(events, policy)
    assert list(failed) == [check], failed
    assert len(failed[check]) == 1, failed[check]
    return failed[check][0]


def names(v, ev) -> None:
    """The violation names exactly `ev`: kind, event id, batch, tx, block, log index."""
    assert (v.kind, v.tx, v.block, v.log_index) == (ev.kind, ev.tx, ev.block, ev.log_index)
    assert v.event_id == getattr(ev, "event_id", None)
    assert v.batch_id == getattr(ev, "batch_id", None) or v.batch_id == getattr(
        ev, "parent_id", None
    )


def test_clean_stream_passes_every_check():
    results = run_checks(clean_stream().events)
    assert [c.name for c in results] == [
        "custody",
        "roles",
        "genealogy",
        "recall",
        "dates",
        "duplicates",
        "release",
    ]
    assert all(c.passed for c in results), [c.violations for c in results]
    assert all(c.checked > 0 for c in results)


# ---------------------------------------------------------------- custody (defence in depth)


def custody_base() -> Stream:
    s = Stream().bootstrap()
    s.commission(PLANT, LOT)
    return s


def test_custody_taken_by_someone_else_than_the_addressee_fails():
    s = custody_base()
    s.hand_over(PLANT, LOT, CARRIER)
    bad = s.accept(SHOP, LOT, PLANT)
    v = only(s.events, "custody")
    names(v, bad)
    assert "addressed to" in v.message


def test_custody_taken_without_a_hand_over_fails():
    s = custody_base()
    bad = s.accept(CARRIER, LOT, PLANT)
    names(only(s.events, "custody"), bad)


def test_hand_over_by_a_non_holder_fails():
    s = custody_base()
    bad = s.hand_over(CARRIER, LOT, SHOP)
    names(only(s.events, "custody"), bad)


def test_hand_over_while_one_is_pending_fails():
    s = custody_base()
    s.hand_over(PLANT, LOT, CARRIER)
    bad = s.hand_over(PLANT, LOT, SHOP)
    names(only(s.events, "custody"), bad)


def test_cancel_by_a_non_holder_fails():
    s = custody_base()
    s.hand_over(PLANT, LOT, CARRIER)
    bad = s.cancel(CARRIER, LOT, CARRIER)
    names(only(s.events, "custody"), bad)


def test_record_on_a_batch_never_commissioned_fails():
    s = custody_base()
    bad = s.anchor(SHOP, keccak(b"ghost"))
    names(only(s.events, "custody"), bad)


def test_commissioning_twice_fails():
    s = custody_base()
    bad = s.commission(PLANT, LOT)
    names(only(s.events, "custody"), bad)


# ------------------------------------------------------------------ roles (defence in depth)


def test_quality_without_lab_role_fails():
    s = custody_base()
    bad = s.quality(CARRIER, LOT)
    v = only(s.events, "roles")
    names(v, bad)
    assert "LAB_ROLE" in v.message and "CARRIER" in v.message


def test_record_after_revocation_fails_and_before_it_in_the_same_block_passes():
    s = custody_base()
    before = s.quality(LAB, LOT, "AFLATOXIN_M1")
    s.revoke(Role.LAB, LAB, same_block=True)
    assert failures(s.events) == {}
    after = s.quality(LAB, LOT, "MELAMINE", same_block=True)  # same block, after the revocation
    assert before.block == after.block
    names(only(s.events, "roles"), after)


def test_commission_without_producer_role_fails():
    s = Stream().bootstrap()
    bad = s.commission(LAB, LOT)
    names(only(s.events, "roles"), bad)


def test_status_by_another_producer_fails_and_by_a_regulator_passes():
    s = custody_base()
    s.status(REGULATOR, LOT, Status.QUARANTINED, "PRECAUTION")
    assert failures(s.events) == {}
    bad = s.status(FARM, LOT, Status.RELEASED, "OK")  # a producer, but not this batch's
    names(only(s.events, "roles"), bad)


def test_condition_by_neither_holder_nor_addressee_fails():
    s = custody_base()
    bad = s.condition(CARRIER, LOT)
    names(only(s.events, "roles"), bad)


def test_custody_by_an_account_without_roles_fails():
    s = custody_base()
    s.hand_over(PLANT, LOT, STRANGER)
    names_ = failures(s.events)
    assert list(names_) == ["roles"] and "held no registry role" in names_["roles"][0].message


def test_grant_by_a_non_admin_fails():
    s = custody_base()
    bad = s.grant(Role.LAB, CARRIER, sender=PLANT)
    names(only(s.events, "roles"), bad)


def test_self_grant_fails():
    s = custody_base()
    s.grant(Role.REGULATOR, ADMIN)  # the admin is no organisation either: two violations
    failed = failures(s.events)
    assert [v.message for v in failed["roles"]] == [
        f"{ADMIN} granted REGULATOR to itself",
        f"REGULATOR granted to {ADMIN}, which is not an admitted organisation",
    ]


def test_revoke_by_a_non_admin_fails_but_renouncing_passes():
    s = custody_base()
    s.revoke(Role.LAB, LAB, sender=LAB)  # renounce
    assert failures(s.events) == {}
    bad = s.revoke(Role.CARRIER, CARRIER, sender=SHOP)
    names(only(s.events, "roles"), bad)


def test_admitting_twice_fails():
    s = custody_base()
    bad = s.add(OrganisationAdmitted(*s._loc(), LAB, 99, "3760123400206", "lab", "FR"))
    names(only(s.events, "roles"), bad)


# -------------------------------------------------------------- genealogy (defence in depth)


def test_missing_derived_link_fails():
    s = Stream().bootstrap()
    s.commission(FARM, RAW)
    bad = s.commission(FARM, LOT, parents=(RAW,), derived=False)
    v = only(s.events, "genealogy")
    names(v, bad)
    assert "no BatchDerived" in v.message


def test_stray_derived_link_fails():
    s = Stream().bootstrap()
    s.commission(FARM, RAW)
    s.commission(FARM, LOT)
    bad = s.add(BatchDerived(*s._loc(), RAW, s.eid(), LOT))
    names(only(s.events, "genealogy"), bad)


def test_unknown_parent_fails():
    s = Stream().bootstrap()
    bad = s.commission(FARM, LOT, parents=(RAW,))
    assert [v.kind for v in failures(s.events)["genealogy"]] == ["BatchCommissioned"]
    names(failures(s.events)["genealogy"][0], bad)


# ---------------------------------------------------------------------- recall


def recalled() -> Stream:
    s = Stream().bootstrap()
    s.commission(FARM, RAW)
    s.move(FARM, RAW, PLANT)
    s.commission(PLANT, LOT, parents=(RAW,))
    s.release_tests(LOT)
    s.move(PLANT, LOT, CARRIER)
    s.move(CARRIER, LOT, SHOP)
    s.status(REGULATOR, LOT, Status.RECALLED)
    return s


def test_lab_record_after_recall_fails():
    s = recalled()
    bad = s.quality(LAB, LOT, "AFLATOXIN_M1")
    v = only(s.events, "recall")
    names(v, bad)
    assert "not a recall follow-up" in v.message


def test_lab_record_after_recall_passes_when_the_policy_allows_it():
    s = recalled()
    s.quality(LAB, LOT, "AFLATOXIN_M1")
    policy = policy_from_dict(
        {"recall": {"allowed": ["quality", "anchor", "status", "cancel", "custody-return"]}}
    )
    assert failures(s.events, policy) == {}


def test_custody_moving_away_from_the_producer_after_recall_fails():
    s = recalled()
    s.add(OrganisationAdmitted(*s._loc(), STRANGER, 7, "3760123400999", "new shop", "CN"))
    s.grant(Role.RETAILER, STRANGER, same_block=True)
    offer = s.hand_over(SHOP, LOT, STRANGER)
    take = s.accept(STRANGER, LOT, SHOP)
    failed = failures(s.events)
    assert list(failed) == ["recall"]
    names(failed["recall"][0], offer)
    names(failed["recall"][1], take)


def test_condition_after_recall_fails():
    s = recalled()
    bad = s.condition(SHOP, LOT)
    names(only(s.events, "recall"), bad)


def test_transformation_of_a_recalled_input_fails():
    s = recalled()
    child = keccak(b"child")
    s.status(REGULATOR, RAW, Status.RECALLED)
    bad = s.commission(PLANT, child, parents=(RAW,))
    names(only(s.events, "recall"), bad)


# ---------------------------------------------------------------------- dates


def test_expiry_not_after_production_fails():
    s = Stream().bootstrap()
    bad = s.commission(PLANT, LOT, production=20250301, expiry=20250301)
    v = only(s.events, "dates")
    names(v, bad)
    assert "is not after production" in v.message


def test_impossible_calendar_date_fails():
    s = Stream().bootstrap()
    bad = s.commission(PLANT, LOT, production=20250230, expiry=20261301)
    v = only(s.events, "dates")
    names(v, bad)
    assert "20250230 is not a calendar date" in v.message and "20261301" in v.message


# ---------------------------------------------------------------------- duplicates


def test_duplicate_event_id_on_a_batch_fails():
    s = custody_base()
    first = s.anchor(PLANT, LOT)
    bad = s.add(EventAnchored(*s._loc(), LOT, first.event_id, PLANT, AnchorKind.OBJECT, 1))
    v = only(s.events, "duplicates")
    names(v, bad)
    assert f"block {first.block}" in v.message


def test_same_event_id_on_two_batches_is_a_duplicate_only_with_the_global_policy():
    s = Stream().bootstrap()
    s.commission(FARM, RAW)
    s.commission(PLANT, LOT)
    first = s.anchor(FARM, RAW)
    s.add(EventAnchored(*s._loc(), LOT, first.event_id, PLANT, AnchorKind.OBJECT, 1))
    assert failures(s.events) == {}
    assert list(failures(s.events, policy_from_dict({"duplicates": "global"}))) == ["duplicates"]


# ---------------------------------------------------------------------- release policy


def release_base() -> Stream:
    s = Stream().bootstrap()
    s.commission(FARM, RAW)
    s.move(FARM, RAW, PLANT)  # raw milk is not covered by the default policy
    s.commission(PLANT, LOT, parents=(RAW,))
    return s


def test_shipping_before_the_melamine_result_fails():
    s = release_base()
    s.quality(LAB, LOT, "CRONOBACTER")
    s.quality(LAB, LOT, "ENTEROBACTERIA")
    bad = s.hand_over(PLANT, LOT, CARRIER)
    late = s.quality(LAB, LOT, "MELAMINE")
    v = only(s.events, "release")
    names(v, bad)
    assert "no MELAMINE result" in v.message and f"passed later at block {late.block}" in v.message


def test_shipping_after_a_failed_latest_result_fails_and_after_a_passing_retest_passes():
    s = release_base()
    s.release_tests(LOT)
    s.quality(LAB, LOT, "CRONOBACTER", passed=False)
    t = Stream()
    t.events, t.block, t.ids = list(s.events), s.block, s.ids
    bad = s.hand_over(PLANT, LOT, CARRIER)
    v = only(s.events, "release")
    names(v, bad)
    assert "latest CRONOBACTER result failed" in v.message
    t.quality(LAB, LOT, "CRONOBACTER", passed=True)
    t.hand_over(PLANT, LOT, CARRIER)
    assert failures(t.events) == {}


def test_only_the_first_hand_over_by_the_producer_counts():
    s = release_base()
    s.release_tests(LOT)
    s.move(PLANT, LOT, CARRIER)
    s.quality(LAB, LOT, "MELAMINE", passed=False)  # after it left the plant: not a release matter
    s.move(CARRIER, LOT, SHOP)
    assert failures(s.events) == {}


def test_alternative_test_codes_satisfy_a_requirement():
    s = release_base()
    s.quality(LAB, LOT, "MELAMINE")
    s.quality(LAB, LOT, "CRONOBACTER")
    s.quality(LAB, LOT, "ENTEROBACTERIACE")  # the 16-byte truncation of ENTEROBACTERIACEAE
    s.hand_over(PLANT, LOT, CARRIER)
    assert failures(s.events) == {}


def test_policy_scope_all_covers_raw_collections():
    s = release_base()
    policy = policy_from_dict({"release": {"applies_to": "all", "require": ["MELAMINE"]}})
    failed = failures(s.events, policy)
    assert [v.kind for v in failed["release"]] == ["CustodyHandedOver"]
    assert failed["release"][0].batch_id == RAW


def test_policy_scope_by_gtin():
    s = release_base()
    policy = policy_from_dict({"release": {"applies_to": "gtins", "gtins": ["03760123402002"]}})
    s.hand_over(PLANT, LOT, CARRIER)
    assert list(failures(s.events, policy)) == ["release"]


# ---------------------------------------------------------------------- state vs views


def views_of(events):
    ledger = rebuild(events)
    batches = {
        bid: (b.holder, b.pending, b.producer, int(b.status))
        for bid, b in ledger.batches.items()
        if b.commissioned
    }
    orgs = {a: (o.org_id, o.roles, o.gln, o.country) for a, o in ledger.orgs.items() if o.admitted}
    return ledger, batches, orgs


def test_state_equal_to_views_passes():
    ledger, batches, orgs = views_of(clean_stream().events)
    assert check_state(ledger, batches, orgs).passed


def test_state_different_from_views_fails_naming_the_batch_and_its_last_event():
    events = clean_stream().events
    ledger, batches, orgs = views_of(events)
    holder, pending, producer, status = batches[LOT]
    batches[LOT] = (SHOP, pending, producer, status)
    result = check_state(ledger, batches, orgs)
    (v,) = result.violations
    last = ledger.batches[LOT].events[-1]
    names(v, last)
    assert f"holder: events say {PLANT}, contract says {SHOP}" == v.message


def test_organisation_roles_different_from_views_fail():
    ledger, batches, orgs = views_of(clean_stream().events)
    oid, roles, gln, country = orgs[LAB]
    orgs[LAB] = (oid, roles | Role.REGULATOR, gln, country)
    (v,) = check_state(ledger, batches, orgs).violations
    assert "roles: events say LAB, contract says LAB+REGULATOR" in v.message


# ---------------------------------------------------------------------- rebuild, genealogy


def test_rebuild_follows_holders_genealogy_and_roles():
    s = clean_stream()
    s.revoke(Role.LAB, LAB)
    ledger = rebuild(s.events)
    lot = ledger.batches[LOT]
    assert lot.custody == [PLANT, CARRIER, SHOP, CARRIER, PLANT]
    assert lot.status is Status.RECALLED and lot.holder == PLANT and lot.pending is None
    assert ledger.batches[RAW].children == [LOT] and lot.parents == (RAW,)
    assert ancestors(ledger, LOT) == [(RAW, 1)] and descendants(ledger, RAW) == [(LOT, 1)]
    lab = ledger.orgs[LAB]
    assert lab.roles == 0 and [(c.role, c.granted) for c in lab.role_history] == [
        ("LAB", True),
        ("LAB", False),
    ]
    assert ledger.admins == {ADMIN}


def test_analyse_scopes_to_a_batch_lineage_and_computes_its_recall_impact():
    s = clean_stream()
    s.commission(FARM, keccak(b"other"))
    s.quality(CARRIER, keccak(b"other"))  # a violation outside the lineage
    report = analyse(s.events, focus=LOT)
    assert report.scope == {LOT, RAW}
    assert report.passed  # the violation is on another batch
    (impact,) = report.impacts
    assert [f["batch"] for f in impact.backward] == ["0x" + RAW.hex()]
    assert impact.backward[0]["rawCollection"] is True
    assert not analyse(s.events).passed


def test_unsorted_events_are_replayed_in_chain_order():
    events = clean_stream().events
    shuffled = list(reversed(events))
    assert [
        c.violations for c in run_checks(sorted(shuffled, key=lambda e: (e.block, e.log_index)))
    ] == [c.violations for c in run_checks(events)]
    assert analyse(shuffled).passed


@pytest.mark.parametrize(
    "policy",
    [
        {"release": {"applies_to": "everything"}},
        {"recall": {"allowed": ["quality", "bogus"]}},
        {"duplicates": "sometimes"},
        {"release": {"require": ["X" * 17]}},
        {"colour": "blue"},
    ],
)
def test_bad_policies_are_rejected_with_every_problem(policy):
    from milktrace.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        policy_from_dict(policy, "policy.yaml")
    assert "policy.yaml" in str(err.value)
