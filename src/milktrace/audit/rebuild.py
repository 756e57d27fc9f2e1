"""Rebuild histories from the event stream: batches, genealogy, organisations and roles.

The rebuild follows the events in chain order and applies them the way the registry does,
without judging them (the checks judge). Its result is the registry's state as the events
tell it, which `checks.check_state` compares with the contract's views.
"""

from __future__ import annotations

from collections.abc import Sequence

from milktrace.audit.model import BatchHistory, Ledger, OrgHistory, RoleChange
from milktrace.events import (
    DEFAULT_ADMIN_ROLE,
    ROLE_BITS,
    BatchCommissioned,
    BatchDerived,
    BatchStatusChanged,
    CustodyAccepted,
    CustodyHandedOver,
    CustodyHandOverCancelled,
    DecodedEvent,
    OrganisationAdmitted,
    RecordEvent,
    RoleGranted,
    RoleRevoked,
    role_label,
)
from milktrace.types import Status


def in_chain_order(events: Sequence[DecodedEvent]) -> list[DecodedEvent]:
    """The events sorted by (block, log index); a no-op copy when they already are."""
    prev = (-1, -1)
    for ev in events:
        pos = (ev.block, ev.log_index)
        if pos < prev:
            return sorted(events, key=lambda e: (e.block, e.log_index))
        prev = pos
    return list(events)


def rebuild(events: Sequence[DecodedEvent]) -> Ledger:
    events = in_chain_order(events)
    batches: dict[bytes, BatchHistory] = {}
    orgs: dict[str, OrgHistory] = {}
    admins: set[str] = set()

    def batch(bid: bytes) -> BatchHistory:
        b = batches.get(bid)
        if b is None:
            b = batches[bid] = BatchHistory(bid)
        return b

    def org(account: str) -> OrgHistory:
        o = orgs.get(account)
        if o is None:
            o = orgs[account] = OrgHistory(account)
        return o

    for ev in events:
        if isinstance(ev, RecordEvent):
            b = batch(ev.batch_id)
            b.events.append(ev)
            o = orgs.get(ev.actor)
            if o is not None:
                o.records += 1
            if isinstance(ev, BatchCommissioned):
                if b.commissioned is None:
                    b.commissioned = ev
                    b.parents = ev.parents
                    b.producer = b.holder = ev.actor
                    b.pending = None
                    b.status = Status.ACTIVE
                    b.custody.append(ev.actor)
            elif isinstance(ev, CustodyHandedOver):
                b.pending = ev.to
            elif isinstance(ev, CustodyAccepted):
                b.holder = ev.actor
                b.pending = None
                b.custody.append(ev.actor)
            elif isinstance(ev, CustodyHandOverCancelled):
                b.pending = None
            elif isinstance(ev, BatchStatusChanged):
                b.status = ev.status
        elif isinstance(ev, BatchDerived):
            parent = batch(ev.parent_id)
            parent.events.append(ev)
            if ev.child_id not in parent.children:
                parent.children.append(ev.child_id)
        elif isinstance(ev, OrganisationAdmitted):
            o = org(ev.account)
            if o.admitted is None:
                o.admitted = ev
                o.org_id, o.name, o.gln, o.country = ev.org_id, ev.name, ev.gln, ev.country
        elif isinstance(ev, (RoleGranted, RoleRevoked)):
            granted = isinstance(ev, RoleGranted)
            o = org(ev.account)
            o.role_history.append(
                RoleChange(role_label(ev.role), granted, ev.block, ev.log_index, ev.tx, ev.sender)
            )
            bit = ROLE_BITS.get(ev.role, 0)
            if granted:
                o.roles |= bit
            else:
                o.roles &= ~bit
            if ev.role == DEFAULT_ADMIN_ROLE:
                o.admin = granted
                (admins.add if granted else admins.discard)(ev.account)
    return Ledger(events, batches, orgs, admins)


def _lineage(ledger: Ledger, batch_id: bytes, edge: str) -> list[tuple[bytes, int]]:
    """Breadth-first along `edge` ("parents" or "children"): (id, generations), nearest first."""
    out: list[tuple[bytes, int]] = []
    seen = {batch_id}
    frontier = [batch_id]
    depth = 0
    while frontier:
        depth += 1
        nxt = []
        for bid in frontier:
            b = ledger.batches.get(bid)
            for other in getattr(b, edge) if b else ():
                if other not in seen:
                    seen.add(other)
                    out.append((other, depth))
                    nxt.append(other)
        frontier = nxt
    return out


def ancestors(ledger: Ledger, batch_id: bytes) -> list[tuple[bytes, int]]:
    """Every batch `batch_id` was made from, transitively: (id, generations back), nearest first."""
    return _lineage(ledger, batch_id, "parents")


def descendants(ledger: Ledger, batch_id: bytes) -> list[tuple[bytes, int]]:
    """Every batch made from `batch_id`, transitively: (id, generations forward), nearest first."""
    return _lineage(ledger, batch_id, "children")
