"""Recall impact: from one batch, forward to everything made from it (with who holds it now)
and backward to everything it was made from, down to the raw-milk collections and their farms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from milktrace.audit.model import Ledger, hex0x
from milktrace.audit.rebuild import ancestors, descendants
from milktrace.events import BatchStatusChanged
from milktrace.types import Status


@dataclass
class RecallImpact:
    batch_id: bytes
    path: str | None
    status: Status
    recall: BatchStatusChanged | None
    forward: list[dict[str, Any]] = field(default_factory=list)
    backward: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        r = self.recall
        return {
            "batch": hex0x(self.batch_id),
            "batchPath": self.path,
            "status": self.status.name,
            "recall": None
            if r is None
            else {
                "eventId": hex0x(r.event_id),
                "tx": r.tx,
                "block": r.block,
                "by": r.actor,
                "reason": r.reason,
                "noticeHash": hex0x(r.notice_hash),
                "eventTime": r.event_time,
            },
            "forward": self.forward,
            "backward": self.backward,
        }


def recall_impact(ledger: Ledger, batch_id: bytes) -> RecallImpact:
    b = ledger.batches.get(batch_id)
    recall = None
    if b is not None:
        recall = next(
            (
                e
                for e in b.events
                if isinstance(e, BatchStatusChanged) and e.status == Status.RECALLED
            ),
            None,
        )
    out = RecallImpact(batch_id, b.path if b else None, b.status if b else Status.UNKNOWN, recall)
    for cid, depth in descendants(ledger, batch_id):
        c = ledger.batches.get(cid)
        out.forward.append(
            {
                "batch": hex0x(cid),
                "batchPath": c.path if c else None,
                "generation": depth,
                "status": c.status.name if c else Status.UNKNOWN.name,
                "holder": c.holder if c else None,
                "holderName": ledger.org_label(c.holder if c else None),
                "pending": c.pending if c else None,
                "pendingName": ledger.org_label(c.pending if c else None),
            }
        )
    for pid, depth in ancestors(ledger, batch_id):
        p = ledger.batches.get(pid)
        cm = p.commissioned if p else None
        out.backward.append(
            {
                "batch": hex0x(pid),
                "batchPath": p.path if p else None,
                "generation": depth,
                "status": p.status.name if p else Status.UNKNOWN.name,
                "producer": p.producer if p else None,
                "producerName": ledger.org_label(p.producer if p else None),
                "siteGln": cm.site_gln if cm else None,
                "rawCollection": bool(p and cm and not p.parents),
                "quantity": cm.quantity if cm else None,
                "unit": cm.unit if cm else None,
            }
        )
    return out


def recalled_batches(ledger: Ledger) -> list[bytes]:
    return [bid for bid, b in ledger.batches.items() if b.status == Status.RECALLED]
