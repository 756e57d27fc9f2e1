"""Role × function matrix: every state-changing function, called by each actor.

For the custody functions each actor is first put in the position the function needs
(holder, or addressee of a pending hand-over) whenever its role lets it get there, so that
the role is the only thing that differs. Actors that cannot get there (the admin, who is
not an organisation, and the stranger) must be refused for their role, not for their
position: the role check comes first.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import EVENT_TIME, GLN, commission_args, condition_args, fixed, h32, quality_args
from eth_utils import keccak

from milktrace.records import pack
from milktrace.types import ConditionSummary, QualityResult

ACTORS = ["admin", "producer", "carrier", "lab", "retailer", "regulator", "stranger"]
ORGS = {"producer", "carrier", "lab", "retailer", "regulator"}
ADMIN_ROLE = b"\0" * 32
PRODUCER_ROLE = keccak(text="PRODUCER_ROLE")
LAB_ROLE = keccak(text="LAB_ROLE")
RETAILER_ROLE = keccak(text="RETAILER_ROLE")

# function -> the actors allowed to call it
ALLOWED = {
    "admitOrganisation": {"admin"},
    "grantRole": {"admin"},
    "revokeRole": {"admin"},
    "commission": {"producer"},
    "handOver": ORGS,
    "accept": ORGS,
    "cancelHandOver": ORGS,
    "recordQuality": {"lab"},
    "recordCondition": ORGS,
    "setStatus": {"producer", "regulator"},
    "anchor": ORGS,
    "submit(quality)": {"lab"},
    "submit(condition)": ORGS,
}


class Ctx:
    def __init__(self, request: Any, registry: Any, batch: bytes):
        self.r = registry
        self.batch = batch
        self.a = {name: request.getfixturevalue(name) for name in [*ACTORS, "multisig"]}

    def make_holder(self, name: str) -> None:
        """`name` holds the batch (when it has a role to accept it)."""
        if name == "producer" or name not in ORGS:
            return
        self.r.handOver(self.batch, h32(), self.a[name], EVENT_TIME, {"from": self.a["producer"]})
        self.r.accept(self.batch, h32(), EVENT_TIME, {"from": self.a[name]})

    def offer_to(self, name: str) -> None:
        """A hand-over of the batch to `name` is pending (to the carrier for non-members)."""
        producer, carrier = self.a["producer"], self.a["carrier"]
        if name == "producer":
            self.make_holder("carrier")
            self.r.handOver(self.batch, h32(), producer, EVENT_TIME, {"from": carrier})
        else:
            to = self.a[name] if name in ORGS else carrier
            self.r.handOver(self.batch, h32(), to, EVENT_TIME, {"from": producer})

    def other_org(self, name: str) -> Any:
        return self.a["retailer" if name != "retailer" else "carrier"]


def prepare(ctx: Ctx, function: str, name: str) -> tuple[Any, tuple, tuple]:
    """Sets the stage; returns (contract function, args, the error expected if refused)."""
    r, batch, me = ctx.r, ctx.batch, ctx.a[name]
    no_role = ("TraceRegistryNoRole", me.address)
    if function == "admitOrganisation":
        return (r.admitOrganisation, (ctx.a["multisig"], "New", GLN, b"FR", 8),
                ("AccessControlUnauthorizedAccount", me.address, ADMIN_ROLE))
    if function == "grantRole":
        return (r.grantRole, (RETAILER_ROLE, ctx.other_org(name) if name != "retailer"
                              else ctx.a["lab"]),
                ("AccessControlUnauthorizedAccount", me.address, ADMIN_ROLE))
    if function == "revokeRole":
        return (r.revokeRole, (PRODUCER_ROLE, ctx.a["producer"] if name != "producer"
                               else ctx.a["regulator"]),
                ("AccessControlUnauthorizedAccount", me.address, ADMIN_ROLE))
    if function == "commission":
        return r.commission, (commission_args("MATRIX"),), (
            "TraceRegistryMissingRole", me.address, PRODUCER_ROLE)
    if function == "handOver":
        ctx.make_holder(name)
        return r.handOver, (batch, h32(), ctx.other_org(name), EVENT_TIME), no_role
    if function == "accept":
        ctx.offer_to(name)
        return r.accept, (batch, h32(), EVENT_TIME), no_role
    if function == "cancelHandOver":
        ctx.make_holder(name)
        if name in ORGS:
            r.handOver(batch, h32(), ctx.other_org(name), EVENT_TIME, {"from": me})
        else:
            ctx.offer_to("carrier")
        return r.cancelHandOver, (batch, h32(), EVENT_TIME), no_role
    if function == "recordQuality":
        return r.recordQuality, (quality_args(batch),), (
            "TraceRegistryMissingRole", me.address, LAB_ROLE)
    if function == "recordCondition":
        ctx.make_holder(name)
        return r.recordCondition, (condition_args(batch),), no_role
    if function == "setStatus":
        return r.setStatus, (batch, h32(), 2, fixed("X", 16), b"\0" * 32, EVENT_TIME), (
            "TraceRegistryNotStatusAuthority", batch, me.address)
    if function == "anchor":
        return r.anchor, (batch, h32(), 0, EVENT_TIME), no_role
    if function == "submit(quality)":
        rec = QualityResult(batch, h32(), "MELAMINE", True, 1, "MGKG", h32(), EVENT_TIME)
        return r.submit, (pack([rec]),), ("TraceRegistryMissingRole", me.address, LAB_ROLE)
    if function == "submit(condition)":
        ctx.make_holder(name)
        rec = ConditionSummary(batch, h32(), h32(), 1, 200, 300, False, EVENT_TIME)
        return r.submit, (pack([rec]),), no_role
    raise AssertionError(function)


@pytest.mark.parametrize("name", ACTORS)
@pytest.mark.parametrize("function", list(ALLOWED))
def test_role_matrix(registry, reverts, request, batch, function, name):
    ctx = Ctx(request, registry, batch)
    fn, args, refusal = prepare(ctx, function, name)
    if name in ALLOWED[function]:
        tx = fn(*args, {"from": ctx.a[name]})
        assert tx.status == 1
    else:
        reverts(fn, args, ctx.a[name], *refusal, send=False)

