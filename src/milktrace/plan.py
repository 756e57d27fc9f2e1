"""Ingest planning: parse and validate input files whole, then map them to registry records.

This is the pure half of `milktrace ingest` (no transaction is signed or sent here). It reads
EPCIS 2.0 JSON-LD documents (`.json`, `.jsonld`) and milktrace CSV files (`.csv`), validates
every one of them completely, and returns the records in input order, each with the place it
came from. Any problem in any file raises one `ValidationError` listing every problem at once.

Checks, in this order, all reported together:

1. each file on its own: syntax, the GS1 EPCIS JSON Schema, CBV vocabularies, namespaced
   extensions, GS1 check digits, dates, units, milktrace's own fields (epcis/, csvformat.py);
2. across the input: a batch commissioned twice; records unique by (kind, batch, event id)
   (an event stated twice, e.g. in two files, is planned once);
3. with a signer: the documents' shipping/receiving parties are the signer (by GLN), and a
   hand-over is not addressed to the signer itself;
4. with a chain (skipped offline): the signer's roles allow each record kind
   (types.REQUIRED_ROLE), party GLNs are admitted organisations (a hand-over's addressee
   becomes its account; offline it stays the zero address), and every batch a record needs
   exists on chain or is commissioned earlier in the input (parents of a transformation too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from milktrace.errors import Problem, ValidationError
from milktrace.types import (
    REQUIRED_ROLE,
    Commission,
    HandOver,
    Organisation,
    Record,
    RecordKind,
    Role,
)

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class SourceRef:
    """Where a record came from: `where` is "line 12" (CSV, 1-based incl. header) or
    "event 3" (EPCIS eventList index, 0-based)."""

    file: str
    where: str


@dataclass(frozen=True)
class PlannedRecord:
    """A registry record and the source line or event it was made from."""

    record: Record
    source: SourceRef


class ChainView(Protocol):
    """What planning needs to know about the chain."""

    def organisation_by_gln(self, gln: str) -> Organisation | None:
        """The admitted organisation with that GLN (account, roles), or None."""
        ...

    def batch_exists(self, batch_id: bytes) -> bool:
        """True when the batch is commissioned on chain now."""
        ...


@dataclass
class Draft:
    """A record as a source file states it, before the chain-dependent checks.

    `field` names the member (EPCIS JSON path) or column (CSV) the record rests on. The GLNs
    are what the source says about the parties: `to_gln` the hand-over's addressee (resolved
    to `record.to`), `sender_gln` the party that ships or holds, `receiver_gln` the party that
    receives; the sender/receiver must be the signer.
    """

    record: Record
    source: SourceRef
    field: str = ""
    unit: str = ""  # the batch's Digital Link path, for messages
    to_gln: str | None = None
    to_field: str = ""
    sender_gln: str | None = None
    receiver_gln: str | None = None
    party_field: str = ""
    parent_units: tuple[str, ...] = ()


@dataclass
class FileResult:
    """What one source file yields: drafts in order, its problems, and for batches that an
    event named but could not commission, why (to explain a later record's missing batch)."""

    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_commissioned: dict[bytes, str] = field(default_factory=dict)


def read_file(path: Path) -> FileResult:
    """Parse and validate one file (EPCIS by default; `.csv` files as milktrace CSV)."""
    if path.suffix.lower() == ".csv":
        from milktrace.csvformat import read_csv

        return read_csv(path)
    from milktrace.epcis.document import read_epcis

    return read_epcis(path)


def _role_names(mask: int) -> str:
    return " or ".join(r.name.lower() for r in Role if mask & r)


def _problem(d: Draft, field_name: str, message: str) -> Problem:
    return Problem(d.source.file, d.source.where, field_name, message)


def plan_files(paths: Sequence[Path], signer: Organisation | None = None,
               chain: ChainView | None = None) -> list[PlannedRecord]:
    """Parse and validate every file whole; raise ValidationError listing EVERY problem
    (file, line/event index, field, what was expected). With chain=None (offline dry-run),
    checks that need the chain (GLN -> admitted organisation, signer's role, batch exists on
    chain) are skipped and hand-over addressees that cannot be resolved get the zero address."""
    problems: list[Problem] = []
    drafts: list[Draft] = []
    not_commissioned: dict[bytes, str] = {}
    for path in paths:
        result = read_file(Path(path))
        problems.extend(result.problems)
        drafts.extend(result.drafts)
        not_commissioned.update(result.not_commissioned)

    planned: list[PlannedRecord] = []
    seen: set[tuple[int, bytes, bytes]] = set()
    commissioned: dict[bytes, Draft] = {}
    gln_cache: dict[str, Organisation | None] = {}

    def organisation(gln: str) -> Organisation | None:
        if gln not in gln_cache:
            gln_cache[gln] = chain.organisation_by_gln(gln) if chain else None
        return gln_cache[gln]

    def exists(batch: bytes) -> bool:
        return batch in commissioned or (chain is not None and chain.batch_exists(batch))

    for d in drafts:
        rec = d.record
        key = (int(rec.kind), rec.batch_id, rec.event_id)
        if key in seen:
            continue  # the same source event stated twice: planned once
        seen.add(key)
        where = d.field

        if isinstance(rec, Commission):
            first = commissioned.get(rec.batch_id)
            if first is not None and first.record.event_id != rec.event_id:
                problems.append(_problem(d, where, (
                    f"batch {d.unit} is already commissioned earlier in this input "
                    f"({first.source.file}: {first.source.where}); expected each batch once")))
            if chain is not None:
                for parent, unit in zip(rec.parents, d.parent_units, strict=False):
                    if not exists(parent):
                        problems.append(_problem(d, where, (
                            f"input batch {unit} is neither on chain nor commissioned earlier in "
                            f"this input; a transformation's inputs must exist")))
        elif chain is not None and not exists(rec.batch_id):
            why = not_commissioned.get(rec.batch_id)
            hint = f" ({why})" if why else ""
            problems.append(_problem(d, where, (
                f"batch {d.unit or '0x' + rec.batch_id.hex()} is neither on chain nor "
                f"commissioned earlier in this input{hint}")))

        if signer is not None:
            party = d.sender_gln if rec.kind != RecordKind.ACCEPT else d.receiver_gln
            if party and party != signer.gln:
                role = "receiving" if rec.kind == RecordKind.ACCEPT else "shipping"
                problems.append(_problem(d, d.party_field, (
                    f"the {role} party is GLN {party} but the signer is {signer.name or 'the key'} "
                    f"(GLN {signer.gln}); expected records the signer sends itself")))
            if chain is not None:
                need = REQUIRED_ROLE[rec.kind]
                if not signer.roles & need:
                    problems.append(_problem(d, where, (
                        f"a {rec.kind.name.lower().replace('_', ' ')} record needs the "
                        f"{_role_names(need)} role; the signer "
                        f"{signer.name or signer.account} has "
                        f"{_role_names(signer.roles) or 'no role'}")))

        if isinstance(rec, HandOver):
            to = ZERO_ADDRESS
            if d.to_gln is None:
                if chain is not None:
                    problems.append(_problem(d, d.to_field or "destinationList", (
                        "a hand-over needs its addressee: a destination of type possessing_party "
                        "or owning_party (a GLN) naming an admitted organisation")))
            elif chain is not None:
                org = organisation(d.to_gln)
                if org is None:
                    problems.append(_problem(d, d.to_field, (
                        f"GLN {d.to_gln} is not an admitted organisation; expected the GLN of "
                        "the receiving organisation as admitted on chain")))
                else:
                    to = org.account
            if signer is not None and d.to_gln is not None and d.to_gln == signer.gln:
                problems.append(_problem(d, d.to_field, (
                    f"the hand-over is addressed to the signer itself (GLN {d.to_gln}); "
                    "expected another organisation")))
            rec = dataclasses.replace(rec, to=to)
        elif chain is not None:
            for gln, fld in ((d.sender_gln, d.party_field), (d.receiver_gln, d.party_field)):
                if gln and organisation(gln) is None:
                    problems.append(_problem(d, fld, (
                        f"GLN {gln} is not an admitted organisation; expected a party "
                        "admitted on chain")))

        if isinstance(rec, Commission) and rec.batch_id not in commissioned:
            commissioned[rec.batch_id] = d
        planned.append(PlannedRecord(rec, d.source))

    if problems:
        raise ValidationError(problems)
    return planned
