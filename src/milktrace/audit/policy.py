"""The audit policy: what the checks require beyond what the contract enforces.

A policy file is JSON or YAML; every key is optional and defaults to the infant-milk policy:

    release:
      applies_to: transformed     # all | transformed (batches made from parents) | gtins
      gtins: []                   # with applies_to: gtins, the GTIN-14s the policy covers
      require: [MELAMINE, CRONOBACTER, [ENTEROBACTERIA, ENTEROBACTERIACE]]
                                  # each needs a result before the batch's first hand-over by
                                  # its producer, and the latest such result must pass; a list
                                  # names alternative codes for one test (the on-chain test
                                  # code is a bytes16: "ENTEROBACTERIACEAE" does not fit)
    recall:
      allowed: [custody-return, cancel, status, anchor]
                                  # records allowed on a recalled batch; add quality and/or
                                  # condition to allow lab or cold-chain records after a recall
      return_to: [earlier-holder, producer, carrier, regulator]
                                  # who a recalled batch may be handed to ("custody-return")
    duplicates: per-batch         # per-batch: an event id once per batch; global: once overall
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from milktrace.errors import Problem, ValidationError
from milktrace.identifiers import normalize_gtin

RELEASE_SCOPES = ("all", "transformed", "gtins")
RECALL_ALLOWED = ("custody-return", "cancel", "status", "anchor", "quality", "condition")
RETURN_TO = ("earlier-holder", "producer", "carrier", "regulator")
DUPLICATE_SCOPES = ("per-batch", "global")


@dataclass(frozen=True)
class ReleasePolicy:
    applies_to: str = "transformed"
    gtins: frozenset[str] = frozenset()
    # each requirement is a tuple of alternative test codes (any one of them satisfies it)
    require: tuple[tuple[str, ...], ...] = (
        ("MELAMINE",),
        ("CRONOBACTER",),
        ("ENTEROBACTERIA", "ENTEROBACTERIACE"),
    )


@dataclass(frozen=True)
class RecallPolicy:
    allowed: frozenset[str] = frozenset({"custody-return", "cancel", "status", "anchor"})
    return_to: frozenset[str] = frozenset({"earlier-holder", "producer", "carrier", "regulator"})


@dataclass(frozen=True)
class Policy:
    release: ReleasePolicy = field(default_factory=ReleasePolicy)
    recall: RecallPolicy = field(default_factory=RecallPolicy)
    duplicates: str = "per-batch"
    source: str = "default infant-milk policy"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "release": {
                "appliesTo": self.release.applies_to,
                "gtins": sorted(self.release.gtins),
                "require": [list(r) for r in self.release.require],
            },
            "recall": {
                "allowed": sorted(self.recall.allowed),
                "returnTo": sorted(self.recall.return_to),
            },
            "duplicates": self.duplicates,
        }


DEFAULT_POLICY = Policy()


def _list_of(
    value: Any,
    where: str,
    name: str,
    problems: list[Problem],
    file: str,
    choices: tuple[str, ...] | None = None,
) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(Problem(file, where, name, f"expected a list of strings, got {value!r}"))
        return []
    if choices:
        for v in value:
            if v not in choices:
                problems.append(
                    Problem(file, where, name, f"{v!r} is not one of {', '.join(choices)}")
                )
    return list(value)


def policy_from_dict(data: Any, file: str = "policy") -> Policy:
    """Validate a policy mapping; every problem is reported at once (ValidationError)."""
    problems: list[Problem] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(
            [Problem(file, "top level", "", f"expected a mapping, got {type(data).__name__}")]
        )
    for key in data:
        if key not in ("release", "recall", "duplicates"):
            problems.append(
                Problem(
                    file,
                    "top level",
                    str(key),
                    "unknown key: expected release, recall or duplicates",
                )
            )
    release = ReleasePolicy()
    rel = data.get("release", {}) or {}
    if not isinstance(rel, dict):
        problems.append(Problem(file, "release", "", "expected a mapping"))
        rel = {}
    for key in rel:
        if key not in ("applies_to", "gtins", "require"):
            problems.append(
                Problem(
                    file, "release", str(key), "unknown key: expected applies_to, gtins or require"
                )
            )
    applies = rel.get("applies_to", release.applies_to)
    if applies not in RELEASE_SCOPES:
        problems.append(
            Problem(
                file,
                "release",
                "applies_to",
                f"{applies!r} is not one of {', '.join(RELEASE_SCOPES)}",
            )
        )
    gtins: set[str] = set()
    for g in _list_of(rel.get("gtins", []), "release", "gtins", problems, file):
        try:
            gtins.add(normalize_gtin(g))
        except ValueError as exc:
            problems.append(Problem(file, "release", "gtins", str(exc)))
    if applies == "gtins" and not gtins:
        problems.append(
            Problem(file, "release", "gtins", "applies_to is gtins: expected at least one GTIN")
        )
    require: list[tuple[str, ...]] = []
    raw_require = rel.get("require", [list(r) for r in release.require])
    if not isinstance(raw_require, list):
        problems.append(Problem(file, "release", "require", "expected a list of test codes"))
        raw_require = []
    for item in raw_require:
        codes = item if isinstance(item, list) else [item]
        if not codes or not all(isinstance(c, str) for c in codes):
            problems.append(
                Problem(
                    file,
                    "release",
                    "require",
                    f"{item!r}: expected a test code or a list of alternatives",
                )
            )
            continue
        for code in codes:
            if not code or not code.isascii() or len(code) > 16:
                problems.append(
                    Problem(
                        file,
                        "release",
                        "require",
                        f"test code {code!r}: expected 1-16 ASCII characters "
                        "(the on-chain testCode is a bytes16)",
                    )
                )
        require.append(tuple(c.upper() for c in codes))
    rec = data.get("recall", {}) or {}
    if not isinstance(rec, dict):
        problems.append(Problem(file, "recall", "", "expected a mapping"))
        rec = {}
    for key in rec:
        if key not in ("allowed", "return_to"):
            problems.append(
                Problem(file, "recall", str(key), "unknown key: expected allowed or return_to")
            )
    allowed = _list_of(
        rec.get("allowed", sorted(RecallPolicy().allowed)),
        "recall",
        "allowed",
        problems,
        file,
        RECALL_ALLOWED,
    )
    return_to = _list_of(
        rec.get("return_to", sorted(RecallPolicy().return_to)),
        "recall",
        "return_to",
        problems,
        file,
        RETURN_TO,
    )
    dup = data.get("duplicates", "per-batch")
    if dup not in DUPLICATE_SCOPES:
        problems.append(
            Problem(file, "duplicates", "", f"{dup!r} is not one of {', '.join(DUPLICATE_SCOPES)}")
        )
    if problems:
        raise ValidationError(problems)
    return Policy(
        ReleasePolicy(str(applies), frozenset(gtins), tuple(require)),
        RecallPolicy(frozenset(allowed), frozenset(return_to)),
        str(dup),
        file,
    )


def load_policy(path: Path | None) -> Policy:
    """The policy in `path` (JSON or YAML), or the default policy when `path` is None."""
    if path is None:
        return DEFAULT_POLICY
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(
            [Problem(str(path), "file", "", f"cannot read: {exc.strerror or exc}")]
        ) from exc
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise ValidationError([Problem(str(path), where, "", f"not JSON or YAML: {exc}")]) from exc
    return policy_from_dict(data, str(path))
