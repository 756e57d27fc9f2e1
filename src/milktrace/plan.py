"""Ingest planning: parse and validate input files whole, then map them to registry records.

This is the pure half of `milktrace ingest` (no transaction is signed or sent here). It reads
EPCIS 2.0 JSON-LD documents and milktrace CSV files, validates every one of them completely,
and returns the records in input order, each with the place it came from. Any problem in any
file raises one `ValidationError` listing every problem at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from milktrace.errors import Problem, ValidationError
from milktrace.types import Organisation, Record


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


def plan_files(paths: Sequence[Path], signer: Organisation | None = None,
               chain: ChainView | None = None) -> list[PlannedRecord]:
    """Parse and validate every file whole; raise ValidationError listing EVERY problem
    (file, line/event index, field, what was expected). With chain=None (offline dry-run),
    checks that need the chain (GLN -> admitted organisation, signer's role, batch exists on
    chain) are skipped and hand-over addressees that cannot be resolved get the zero address."""
    problems: list[Problem] = []
    for path in paths:
        problems.append(Problem(str(path), "file", "", "ingest planning is not implemented yet"))
    if problems:
        raise ValidationError(problems)
    return []
