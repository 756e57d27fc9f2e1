"""The audit's checks, run in one replay of the event stream in chain order.

Every check sees each event together with the registry state *just before* that event (as
rebuilt from the events before it), so "the role held at that block" is exact to the log:
a record written earlier in the same block as a revocation is judged with the role still
held, one written after it without.

Which checks can fail on a real chain, and which are defence in depth (the registry already
refuses what they look for, so only a faulty or replaced contract, or a crafted stream, can
make them fail):

| check       | can fail on the deployed registry?                                          |
|-------------|------------------------------------------------------------------------------|
| custody     | no: the registry only moves custody through an accepted hand-over            |
| roles       | no: the registry checks the caller's role bits, kept in step with the grants  |
| genealogy   | no: the registry emits one BatchDerived per listed parent                     |
| recall      | yes: lab, cold-chain, anchor and custody records are accepted after a recall  |
| dates       | yes for impossible calendar dates (20240231); expiry ≤ production is refused  |
| duplicates  | yes: the registry does not deduplicate event ids                              |
| release     | yes: the registry lets a producer ship before its lab results                 |
| state       | only if storage and events disagree (a contract bug or a tampered node)       |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from milktrace.audit.model import CheckResult, Ledger, Violation, role_names
from milktrace.audit.policy import DEFAULT_POLICY, Policy
from milktrace.events import (
    DEFAULT_ADMIN_ROLE,
    ROLE_BITS,
    BatchCommissioned,
    BatchDerived,
    BatchStatusChanged,
    ConditionRecorded,
    CustodyAccepted,
    CustodyHandedOver,
    CustodyHandOverCancelled,
    DecodedEvent,
    Event,
    EventAnchored,
    OrganisationAdmitted,
    QualityRecorded,
    RecordEvent,
    RoleGranted,
    RoleRevoked,
    role_label,
)
from milktrace.types import Role, Status

ANY_ROLE = 0x1F

# --------------------------------------------------------------------------- replayed state


@dataclass
class BatchState:
    producer: str
    holder: str
    pending: str | None = None
    status: Status = Status.ACTIVE
    holders: list[str] = field(default_factory=list)  # everyone who held it, in order
    parents: tuple[bytes, ...] = ()
    recalled_by: BatchStatusChanged | None = None


class ChainState:
    """The registry's state as the events so far tell it."""

    def __init__(self) -> None:
        self.roles: dict[str, int] = {}
        self.admitted: dict[str, int] = {}  # account → org id
        self.admins: set[str] = set()
        self.batches: dict[bytes, BatchState] = {}
        self.names: dict[str, str] = {}

    def who(self, account: str | None) -> str:
        """An account as people read it: `Name (0x…)`, or the bare address."""
        if not account:
            return "nobody"
        name = self.names.get(account)
        return f"{name} ({account})" if name else account

    def role_bits(self, account: str | None) -> int:
        return self.roles.get(account, 0) if account else 0

    def apply(self, ev: DecodedEvent) -> None:
        if isinstance(ev, RecordEvent):
            b = self.batches.get(ev.batch_id)
            if isinstance(ev, BatchCommissioned):
                if b is None:
                    self.batches[ev.batch_id] = BatchState(
                        ev.actor, ev.actor, holders=[ev.actor], parents=ev.parents
                    )
                return
            if b is None:
                return
            if isinstance(ev, CustodyHandedOver):
                b.pending = ev.to
            elif isinstance(ev, CustodyAccepted):
                b.holder, b.pending = ev.actor, None
                b.holders.append(ev.actor)
            elif isinstance(ev, CustodyHandOverCancelled):
                b.pending = None
            elif isinstance(ev, BatchStatusChanged):
                b.status = ev.status
                if ev.status == Status.RECALLED and b.recalled_by is None:
                    b.recalled_by = ev
        elif isinstance(ev, (RoleGranted, RoleRevoked)):
            granted = isinstance(ev, RoleGranted)
            if ev.role == DEFAULT_ADMIN_ROLE:
                (self.admins.add if granted else self.admins.discard)(ev.account)
            bit = ROLE_BITS.get(ev.role, 0)
            cur = self.roles.get(ev.account, 0)
            self.roles[ev.account] = cur | bit if granted else cur & ~bit
        elif isinstance(ev, OrganisationAdmitted):
            self.admitted.setdefault(ev.account, ev.org_id)
            self.names.setdefault(ev.account, ev.name)


# --------------------------------------------------------------------------- checks


class Check:
    name = ""
    title = ""
    description = ""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.violations: list[Violation] = []
        self.checked = 0

    def flag(self, ev: Event, message: str, batch_id: bytes | None = None) -> None:
        self.violations.append(Violation.at(self.name, ev, message, batch_id))

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        raise NotImplementedError

    def finish(self, st: ChainState) -> None:
        pass

    def result(self) -> CheckResult:
        return CheckResult(
            self.name, self.title, self.description, tuple(self.violations), self.checked
        )


def _short(account: str | None) -> str:
    return account or "nobody"


class CustodyCheck(Check):
    name = "custody"
    title = "Custody is continuous"
    description = (
        "Every change of holder comes from a hand-over by the holder, accepted by its "
        "addressee; records only concern commissioned batches."
    )

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if isinstance(ev, BatchDerived):
            return
        if not isinstance(ev, RecordEvent):
            return
        self.checked += 1
        b = st.batches.get(ev.batch_id)
        if isinstance(ev, BatchCommissioned):
            if b is not None:
                self.flag(ev, "batch commissioned again (it already exists)")
            return
        if b is None:
            self.flag(ev, f"{ev.kind} on a batch that was never commissioned")
            return
        if isinstance(ev, CustodyHandedOver):
            if ev.actor != b.holder:
                self.flag(
                    ev,
                    f"hand-over by {st.who(ev.actor)}, who does not hold the batch (holder "
                    f"{st.who(b.holder)})",
                )
            elif b.pending is not None:
                self.flag(
                    ev, f"hand-over while a hand-over to {st.who(b.pending)} is still pending"
                )
            elif ev.to == b.holder:
                self.flag(ev, "hand-over to the holder itself")
        elif isinstance(ev, CustodyAccepted):
            if b.pending is None:
                self.flag(ev, f"custody taken by {st.who(ev.actor)} without a pending hand-over")
            elif ev.actor != b.pending:
                self.flag(
                    ev,
                    f"custody taken by {st.who(ev.actor)}, but the hand-over was addressed to "
                    f"{st.who(b.pending)}",
                )
            elif ev.previous_holder != b.holder:
                self.flag(
                    ev,
                    f"accept names {st.who(ev.previous_holder)} as previous holder, "
                    f"the holder was {st.who(b.holder)}",
                )
        elif isinstance(ev, CustodyHandOverCancelled):
            if ev.actor != b.holder:
                self.flag(
                    ev,
                    f"hand-over cancelled by {st.who(ev.actor)}, who does not hold the batch "
                    f"(holder {st.who(b.holder)})",
                )
            elif b.pending is None:
                self.flag(ev, "cancellation without a pending hand-over")
            elif ev.to != b.pending:
                self.flag(
                    ev,
                    f"cancellation names {st.who(ev.to)}, the pending addressee was "
                    f"{st.who(b.pending)}",
                )


class RoleCheck(Check):
    name = "roles"
    title = "Records written by organisations holding the needed role"
    description = (
        "At the position of each record: PRODUCER for commissioning, LAB for quality, the "
        "batch's producer or a REGULATOR for status, the holder or pending addressee for "
        "conditions, any role for custody and anchors; grants and revocations by an admin, "
        "never to oneself, registry roles only to admitted organisations."
    )

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if isinstance(ev, RecordEvent):
            self.checked += 1
            bits = st.role_bits(ev.actor)
            held = "+".join(role_names(bits)) or "no role"
            if isinstance(ev, BatchCommissioned):
                if not bits & Role.PRODUCER:
                    self.flag(
                        ev,
                        f"commissioned by {st.who(ev.actor)} without PRODUCER_ROLE (held: {held})",
                    )
                return
            if isinstance(ev, QualityRecorded):
                if not bits & Role.LAB:
                    self.flag(
                        ev, f"quality result by {st.who(ev.actor)} without LAB_ROLE (held: {held})"
                    )
                return
            b = st.batches.get(ev.batch_id)
            if isinstance(ev, BatchStatusChanged):
                is_producer = b is not None and b.producer == ev.actor and bits & Role.PRODUCER
                if not is_producer and not bits & Role.REGULATOR:
                    self.flag(
                        ev,
                        f"status set by {st.who(ev.actor)}, neither the batch's producer with "
                        f"PRODUCER_ROLE nor a REGULATOR (held: {held})",
                    )
                return
            if not bits & ANY_ROLE:
                self.flag(ev, f"{ev.kind} by {st.who(ev.actor)}, which held no registry role")
                return
            if isinstance(ev, ConditionRecorded) and b is not None:
                if ev.actor != b.holder and ev.actor != b.pending:
                    self.flag(
                        ev,
                        f"condition recorded by {st.who(ev.actor)}, neither the holder "
                        f"({st.who(b.holder)}) "
                        f"nor the pending addressee ({st.who(b.pending)})",
                    )
            elif isinstance(ev, CustodyHandedOver):
                if not st.role_bits(ev.to) & ANY_ROLE:
                    self.flag(ev, f"handed over to {st.who(ev.to)}, which held no registry role")
        elif isinstance(ev, (RoleGranted, RoleRevoked)):
            self.checked += 1
            label = role_label(ev.role)
            is_admin = ev.sender in st.admins
            if isinstance(ev, RoleGranted):
                bootstrap = ev.role == DEFAULT_ADMIN_ROLE and not st.admins
                if bootstrap:
                    return
                if not is_admin:
                    self.flag(
                        ev,
                        f"{label} granted to {st.who(ev.account)} by {st.who(ev.sender)}, "
                        "which is not an admin",
                    )
                elif ev.sender == ev.account:
                    self.flag(ev, f"{st.who(ev.account)} granted {label} to itself")
                if ev.role in ROLE_BITS and ev.account not in st.admitted:
                    self.flag(
                        ev,
                        f"{label} granted to {st.who(ev.account)}, which is not an admitted "
                        "organisation",
                    )
                if ev.role not in ROLE_BITS and ev.role != DEFAULT_ADMIN_ROLE:
                    self.flag(ev, f"unknown role {label} granted to {st.who(ev.account)}")
            elif not is_admin and ev.sender != ev.account:
                self.flag(
                    ev,
                    f"{label} revoked from {st.who(ev.account)} by {st.who(ev.sender)}, which "
                    "is not an admin",
                )
        elif isinstance(ev, OrganisationAdmitted):
            self.checked += 1
            if ev.account in st.admitted:
                self.flag(
                    ev,
                    f"{st.who(ev.account)} admitted again (organisation "
                    f"#{st.admitted[ev.account]})",
                )
            elif ev.org_id != len(st.admitted) + 1:
                self.flag(ev, f"organisation number {ev.org_id}, expected {len(st.admitted) + 1}")


class GenealogyCheck(Check):
    name = "genealogy"
    title = "Genealogy is consistent"
    description = (
        "Each transformation input is an existing batch, and is linked by exactly one "
        "BatchDerived (same transaction and event id) to its output."
    )

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.expected: dict[tuple[str, bytes, bytes, bytes], BatchCommissioned] = {}

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if isinstance(ev, BatchCommissioned):
            if ev.parents:
                self.checked += 1
            for p in ev.parents:
                if p == ev.batch_id:
                    self.flag(ev, "batch lists itself as a parent")
                elif p not in st.batches:
                    self.flag(ev, f"parent 0x{p.hex()} was never commissioned")
                self.expected[(ev.tx, p, ev.event_id, ev.batch_id)] = ev
        elif isinstance(ev, BatchDerived):
            self.checked += 1
            key = (ev.tx, ev.parent_id, ev.event_id, ev.child_id)
            if self.expected.pop(key, None) is None:
                self.flag(
                    ev,
                    f"BatchDerived links 0x{ev.child_id.hex()} to this parent, but no "
                    "commissioning in its transaction lists it (or it is repeated)",
                    ev.parent_id,
                )

    def finish(self, st: ChainState) -> None:
        for (_tx, parent, _eid, _child), ev in self.expected.items():
            self.flag(
                ev, f"no BatchDerived for parent 0x{parent.hex()} in the commissioning transaction"
            )


class RecallCheck(Check):
    name = "recall"
    title = "No records on recalled batches except recall follow-ups"
    description = (
        "After a recall only follow-ups are allowed: custody moving back (to an earlier "
        "holder, the producer, a carrier or a regulator, per policy), cancelled "
        "hand-overs, further status notices and anchors; no transformation uses a "
        "recalled input."
    )

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if isinstance(ev, BatchCommissioned):
            for p in ev.parents:
                pb = st.batches.get(p)
                if pb is not None and pb.status == Status.RECALLED:
                    self.checked += 1
                    self.flag(ev, f"made from recalled batch 0x{p.hex()}")
            return
        if not isinstance(ev, RecordEvent):
            return
        b = st.batches.get(ev.batch_id)
        if b is None or b.status != Status.RECALLED:
            return
        self.checked += 1
        allowed = self.policy.recall.allowed
        r = b.recalled_by
        since = f"recalled at block {r.block} (tx {r.tx})" if r else "recalled"
        if isinstance(ev, BatchStatusChanged):
            kind = "status"
        elif isinstance(ev, EventAnchored):
            kind = "anchor"
        elif isinstance(ev, CustodyHandOverCancelled):
            kind = "cancel"
        elif isinstance(ev, QualityRecorded):
            kind = "quality"
        elif isinstance(ev, ConditionRecorded):
            kind = "condition"
        elif isinstance(ev, (CustodyHandedOver, CustodyAccepted)):
            kind = "custody-return"
            dest = ev.to if isinstance(ev, CustodyHandedOver) else ev.actor
            why = self._return_ok(dest, b, st)
            if kind in allowed and why is None:
                self.flag(
                    ev,
                    f"custody moves to {st.who(dest)} after the batch was {since}: not back "
                    "towards "
                    f"the producer ({', '.join(sorted(self.policy.recall.return_to))})",
                )
            elif kind not in allowed:
                self.flag(
                    ev,
                    f"{ev.kind} after the batch was {since}: "
                    "custody moves are not allowed by policy",
                )
            return
        else:
            kind = "other"
        if kind not in allowed:
            self.flag(
                ev,
                f"{ev.kind} by {st.who(ev.actor)} after the batch was {since}: not a recall "
                f"follow-up (allowed: {', '.join(sorted(allowed))})",
            )

    def _return_ok(self, dest: str, b: BatchState, st: ChainState) -> str | None:
        rt = self.policy.recall.return_to
        if "producer" in rt and dest == b.producer:
            return "producer"
        if "earlier-holder" in rt and dest in b.holders[:-1]:
            return "earlier holder"
        bits = st.role_bits(dest)
        if "carrier" in rt and bits & Role.CARRIER:
            return "carrier"
        if "regulator" in rt and bits & Role.REGULATOR:
            return "regulator"
        return None


def valid_date(yyyymmdd: int) -> bool:
    try:
        dt.date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)
    except ValueError:
        return False
    return 10_000_000 <= yyyymmdd <= 99_991_231


class DatesCheck(Check):
    name = "dates"
    title = "Expiry after production"
    description = (
        "Production and expiry are real calendar dates (YYYYMMDD) and expiry is after production."
    )

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if not isinstance(ev, BatchCommissioned):
            return
        self.checked += 1
        bad = [
            f"{name} {v} is not a calendar date"
            for name, v in (
                ("production date", ev.production_date),
                ("expiry date", ev.expiry_date),
            )
            if not valid_date(v)
        ]
        if ev.expiry_date <= ev.production_date:
            bad.append(f"expiry {ev.expiry_date} is not after production {ev.production_date}")
        if bad:
            self.flag(ev, "; ".join(bad))


class DuplicateCheck(Check):
    name = "duplicates"
    title = "No duplicate event ids"
    description = (
        "A source event id is recorded once per batch (policy `duplicates: global`: once "
        "on the whole chain); BatchDerived repeats its commissioning's id by design."
    )

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.seen: dict[Any, RecordEvent] = {}
        self.per_batch = policy.duplicates == "per-batch"

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if not isinstance(ev, RecordEvent):
            return
        self.checked += 1
        key: Any = (ev.batch_id, ev.event_id) if self.per_batch else ev.event_id
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = ev
            return
        self.flag(
            ev,
            f"event id already recorded as {first.kind} at block {first.block} "
            f"(tx {first.tx}, log {first.log_index})",
        )


class ReleaseCheck(Check):
    name = "release"
    title = "Release policy"
    description = (
        "Before a covered batch is first handed over by its producer, each required test "
        "has a result and the latest one passed."
    )

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.required = tuple(tuple(c.upper() for c in alts) for alts in policy.release.require)
        self.results: dict[bytes, dict[str, QualityRecorded]] = {}  # last result per test code
        self.shipped: set[bytes] = set()
        self.pending: list[tuple[CustodyHandedOver, list[str], list[str]]] = []
        self.later: dict[tuple[bytes, str], QualityRecorded] = {}  # first pass after shipping
        self.commission: dict[bytes, BatchCommissioned] = {}

    def covers(self, c: BatchCommissioned | None) -> bool:
        rel = self.policy.release
        if c is None:
            return False
        if rel.applies_to == "all":
            return True
        if rel.applies_to == "transformed":
            return bool(c.parents)
        return c.gtin in rel.gtins

    def visit(self, ev: DecodedEvent, st: ChainState) -> None:
        if isinstance(ev, BatchCommissioned):
            self.commission.setdefault(ev.batch_id, ev)
        elif isinstance(ev, QualityRecorded):
            code = ev.test_code.upper()
            if ev.batch_id in self.shipped:
                if ev.passed:
                    self.later.setdefault((ev.batch_id, code), ev)
            else:
                self.results.setdefault(ev.batch_id, {})[code] = ev
        elif isinstance(ev, CustodyHandedOver):
            b = st.batches.get(ev.batch_id)
            if b is None or ev.batch_id in self.shipped or ev.actor != b.producer:
                return
            self.shipped.add(ev.batch_id)
            if not self.covers(self.commission.get(ev.batch_id)) or not self.required:
                return
            self.checked += 1
            results = self.results.get(ev.batch_id, {})
            missing: list[str] = []
            failed: list[str] = []
            for alts in self.required:
                found = [results[c] for c in alts if c in results]
                label = "/".join(alts)
                if not found:
                    missing.append(label)
                elif not max(found, key=lambda q: (q.block, q.log_index)).passed:
                    failed.append(label)
            if missing or failed:
                self.pending.append((ev, missing, failed))

    def finish(self, st: ChainState) -> None:
        for ev, missing, failed in self.pending:
            parts = []
            if missing:
                parts.append("no " + ", ".join(missing) + " result")
            if failed:
                parts.append("latest " + ", ".join(failed) + " result failed")
            later = []
            for label in missing + failed:
                found = [q for c in label.split("/") if (q := self.later.get((ev.batch_id, c)))]
                if found:
                    q = min(found, key=lambda q: (q.block, q.log_index))
                    later.append(f"{q.test_code} passed later at block {q.block} (tx {q.tx})")
            msg = (
                f"first shipment by the producer, to {st.who(ev.to)}, before the release tests: "
                + "; ".join(parts)
            )
            if later:
                msg += " (" + "; ".join(later) + ")"
            self.flag(ev, msg)


CHECKS: tuple[type[Check], ...] = (
    CustodyCheck,
    RoleCheck,
    GenealogyCheck,
    RecallCheck,
    DatesCheck,
    DuplicateCheck,
    ReleaseCheck,
)


def run_checks(
    events: Sequence[DecodedEvent],
    policy: Policy = DEFAULT_POLICY,
    checks: Iterable[type[Check]] = CHECKS,
) -> list[CheckResult]:
    """Replay `events` (in chain order) once through every check."""
    st = ChainState()
    active = [c(policy) for c in checks]
    visits: list[Callable[[DecodedEvent, ChainState], None]] = [c.visit for c in active]
    apply = st.apply
    for ev in events:
        for visit in visits:
            visit(ev, st)
        apply(ev)
    for c in active:
        c.finish(st)
    return [c.result() for c in active]


# --------------------------------------------------------------------------- state vs views

BatchView = tuple[str | None, str | None, str | None, int]  # holder, pending, producer, status
OrgView = tuple[int, int, str, str]  # id, roles, gln, country

STATE_TITLE = "Rebuilt state equals the contract's views"
STATE_DESCRIPTION = (
    "For every batch, batchState (holder, pending, producer, status); for every "
    "organisation, organisation (id, roles, GLN, country): as the events tell it "
    "and as the contract returns it at the audited block."
)


def _event_at(ledger: Ledger, block: int, log_index: int) -> Event | None:
    for e in reversed(ledger.events):
        if (e.block, e.log_index) == (block, log_index):
            return e
        if e.block < block:
            break
    return None


def check_state(
    ledger: Ledger, batch_views: dict[bytes, BatchView], org_views: dict[str, OrgView]
) -> CheckResult:
    violations: list[Violation] = []
    checked = 0
    for bid, b in ledger.batches.items():
        if b.commissioned is None:
            continue
        checked += 1
        view = batch_views.get(bid)
        last = b.events[-1] if b.events else b.commissioned
        if view is None:
            violations.append(
                Violation.at("state", last, "no batchState answer for this batch", bid)
            )
            continue
        v_holder, v_pending, v_producer, v_status = view
        diffs = []
        for name, ours, theirs in (
            ("holder", b.holder, v_holder),
            ("pending", b.pending, v_pending),
            ("producer", b.producer, v_producer),
        ):
            if (ours or None) != (theirs or None):
                diffs.append(f"{name}: events say {_short(ours)}, contract says {_short(theirs)}")
        if int(b.status) != v_status:
            shown = Status(v_status).name if v_status in set(Status) else str(v_status)
            diffs.append(f"status: events say {b.status.name}, contract says {shown}")
        if diffs:
            violations.append(Violation.at("state", last, "; ".join(diffs), bid))
    for account, o in ledger.orgs.items():
        if o.admitted is None:
            continue
        checked += 1
        org_view = org_views.get(account)
        if org_view is None:
            diffs = [f"no organisation answer for {account}"]
        else:
            vid, vroles, vgln, vcountry = org_view
            diffs = []
            if vid != o.org_id:
                diffs.append(f"id: events say {o.org_id}, contract says {vid}")
            if vroles != o.roles:
                diffs.append(
                    f"roles: events say {'+'.join(role_names(o.roles)) or 'none'}, "
                    f"contract says {'+'.join(role_names(vroles)) or 'none'}"
                )
            if vgln != o.gln:
                diffs.append(f"GLN: events say {o.gln}, contract says {vgln}")
            if vcountry != o.country:
                diffs.append(f"country: events say {o.country!r}, contract says {vcountry!r}")
        if diffs:
            anchor: Event = o.admitted
            if o.role_history:  # pin the difference to the organisation's last role change
                rc = o.role_history[-1]
                anchor = _event_at(ledger, rc.block, rc.log_index) or o.admitted
            violations.append(
                Violation.at("state", anchor, f"organisation {account}: " + "; ".join(diffs), None)
            )
    return CheckResult("state", STATE_TITLE, STATE_DESCRIPTION, tuple(violations), checked)
