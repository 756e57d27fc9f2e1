"""Organisations and roles: admission, grants, revocation, the admin handed to a multisig."""

from __future__ import annotations

import pytest
from conftest import (
    CARRIER,
    GLN,
    LAB,
    PRODUCER,
    REGULATOR,
    RETAILER,
    condition_args,
    events,
    quality_args,
)
from eth_utils import keccak

ADMIN_ROLE = b"\0" * 32
ROLE_NAMES = {PRODUCER: "PRODUCER_ROLE", CARRIER: "CARRIER_ROLE", LAB: "LAB_ROLE",
              RETAILER: "RETAILER_ROLE", REGULATOR: "REGULATOR_ROLE"}


def role(bit: int) -> bytes:
    return keccak(text=ROLE_NAMES[bit])


def test_role_constants_are_the_hashes_of_their_names(registry):
    for bit, name in ROLE_NAMES.items():
        assert bytes(getattr(registry, name)()) == role(bit)


def test_admit_organisation_records_it_and_grants_its_roles(registry, admin, stranger):
    tx = registry.admitOrganisation(stranger, "Importateur 进口商", GLN, b"CN", LAB | RETAILER,
                                    {"from": admin})
    assert events(tx) == [
        ("OrganisationAdmitted", {"account": stranger.address, "orgId": 7, "gln": GLN,
                                  "name": "Importateur 进口商", "country": b"CN"}),
        ("RoleGranted", {"role": role(LAB), "account": stranger.address, "sender": admin.address}),
        ("RoleGranted", {"role": role(RETAILER), "account": stranger.address,
                         "sender": admin.address}),
    ]
    assert tuple(registry.organisation(stranger)) == (7, LAB | RETAILER, GLN, "0x434e")
    assert registry.organisationAccount(7) == stranger
    assert registry.organisationCount() == 7
    assert registry.hasRole(role(LAB), stranger) and registry.hasRole(role(RETAILER), stranger)
    assert not registry.hasRole(role(PRODUCER), stranger)


def test_admit_without_roles_records_an_organisation_with_none(registry, admin, stranger):
    tx = registry.admitOrganisation(stranger, "Observer", GLN, b"FR", 0, {"from": admin})
    assert [name for name, _ in events(tx)] == ["OrganisationAdmitted"]
    assert tuple(registry.organisation(stranger)) == (7, 0, GLN, "0x4652")


def test_views_of_an_unknown_organisation_are_zero(registry, stranger):
    assert tuple(registry.organisation(stranger)) == (0, 0, 0, "0x0000")
    assert registry.organisationAccount(99) == "0x" + "00" * 20


def test_admit_reverts_when_caller_is_not_admin(registry, reverts, producer, stranger):
    reverts(registry.admitOrganisation, (stranger, "X", GLN, b"FR", LAB), producer,
            "AccessControlUnauthorizedAccount", producer.address, ADMIN_ROLE)


def test_admit_reverts_when_admin_admits_itself(registry, reverts, admin):
    reverts(registry.admitOrganisation, (admin, "Me", GLN, b"FR", LAB), admin,
            "TraceRegistrySelfGrant", admin.address, ADMIN_ROLE)


def test_admit_reverts_when_organisation_exists(registry, reverts, admin, lab):
    reverts(registry.admitOrganisation, (lab, "Again", GLN, b"FR", LAB), admin,
            "TraceRegistryOrganisationExists", lab.address)


def test_admit_reverts_on_the_zero_address(registry, reverts, admin):
    zero = "0x" + "00" * 20
    reverts(registry.admitOrganisation, (zero, "Nobody", GLN, b"FR", LAB), admin,
            "TraceRegistryOrganisationExists", zero)


@pytest.mark.parametrize("gln", [3761234500008, 376123450000, 37612345000070, 0])
def test_admit_reverts_on_an_invalid_gln(registry, reverts, admin, stranger, gln):
    reverts(registry.admitOrganisation, (stranger, "X", gln, b"FR", LAB), admin,
            "TraceRegistryInvalidGln", gln)


def test_admit_reverts_on_unknown_role_bits(registry, reverts, admin, stranger):
    reverts(registry.admitOrganisation, (stranger, "X", GLN, b"FR", 32 | LAB), admin,
            "TraceRegistryUnknownRole", (32 | LAB).to_bytes(32, "big"))


def test_grant_role_adds_the_role_bit_at_once(registry, admin, carrier, batch, reverts):
    tx = registry.grantRole(role(LAB), carrier, {"from": admin})
    assert events(tx) == [("RoleGranted", {"role": role(LAB), "account": carrier.address,
                                           "sender": admin.address})]
    assert registry.organisation(carrier)[1] == CARRIER | LAB
    registry.recordQuality(quality_args(batch), {"from": carrier})


def test_grant_role_reverts_for_an_account_that_is_not_admitted(registry, reverts, admin,
                                                                stranger):
    reverts(registry.grantRole, (role(LAB), stranger), admin,
            "TraceRegistryUnknownOrganisation", stranger.address)


def test_grant_role_reverts_for_an_unknown_role(registry, reverts, admin, carrier):
    unknown = keccak(text="MINTER_ROLE")
    reverts(registry.grantRole, (unknown, carrier), admin, "TraceRegistryUnknownRole", unknown)


def test_grant_role_reverts_when_caller_is_not_admin(registry, reverts, producer, carrier):
    reverts(registry.grantRole, (role(LAB), carrier), producer,
            "AccessControlUnauthorizedAccount", producer.address, ADMIN_ROLE)


@pytest.mark.parametrize("who", ["admin", "producer", "lab", "stranger"])
def test_nobody_can_grant_a_role_to_itself(registry, reverts, request, who):
    account = request.getfixturevalue(who)
    for wanted in (ADMIN_ROLE, role(PRODUCER), role(REGULATOR)):
        reverts(registry.grantRole, (wanted, account), account, "TraceRegistrySelfGrant",
                account.address, wanted)


def test_revoking_a_role_takes_effect_in_the_next_transaction(registry, reverts, admin, lab,
                                                              batch):
    registry.recordQuality(quality_args(batch), {"from": lab})
    tx = registry.revokeRole(role(LAB), lab, {"from": admin})
    assert events(tx) == [("RoleRevoked", {"role": role(LAB), "account": lab.address,
                                           "sender": admin.address})]
    assert registry.organisation(lab)[1] == 0
    reverts(registry.recordQuality, (quality_args(batch),), lab, "TraceRegistryMissingRole",
            lab.address, role(LAB))


def test_revoking_the_last_role_of_a_holder_stops_its_custody_actions(registry, reverts, admin,
                                                                      producer, carrier, batch):
    registry.revokeRole(role(PRODUCER), producer, {"from": admin})
    reverts(registry.handOver, (batch, b"\1" * 32, carrier, 1), producer, "TraceRegistryNoRole",
            producer.address)
    reverts(registry.recordCondition, (condition_args(batch),), producer, "TraceRegistryNoRole",
            producer.address)


def test_renouncing_a_role_clears_its_bit(registry, lab):
    registry.renounceRole(role(LAB), lab, {"from": lab})
    assert registry.organisation(lab)[1] == 0
    assert not registry.hasRole(role(LAB), lab)


def test_admin_role_handed_to_a_multisig(registry, reverts, admin, multisig, stranger):
    registry.grantRole(ADMIN_ROLE, multisig, {"from": admin})
    tx = registry.renounceRole(ADMIN_ROLE, admin, {"from": admin})
    assert events(tx) == [("RoleRevoked", {"role": ADMIN_ROLE, "account": admin.address,
                                           "sender": admin.address})]
    assert registry.hasRole(ADMIN_ROLE, multisig) and not registry.hasRole(ADMIN_ROLE, admin)
    reverts(registry.admitOrganisation, (stranger, "X", GLN, b"FR", LAB), admin,
            "AccessControlUnauthorizedAccount", admin.address, ADMIN_ROLE)
    registry.admitOrganisation(stranger, "Via multisig", GLN, b"FR", LAB, {"from": multisig})
    assert registry.organisation(stranger)[1] == LAB
    reverts(registry.grantRole, (ADMIN_ROLE, stranger), admin,
            "AccessControlUnauthorizedAccount", admin.address, ADMIN_ROLE)
