"""Validation against the official GS1 EPCIS 2.0 JSON Schema (Draft 7, date-time checked).

The schema ships with milktrace (src/milktrace/data/epcis, GS1 disclaimer beside it) so that
validation works offline. jsonschema's raw messages ("... is not valid under any of the given
schemas") are turned into problems that name the event, the field (a JSON path inside the
event) and what was expected.

Documented leniencies, both needed by documents the OpenEPCIS corpus says must be accepted:

* a sensorReport without `type` is accepted when it carries `exception` (an alert report:
  ALARM_CONDITION / ERROR_CONDITION has no measurement type); without either it is rejected;
* `urn:epcglobal:cbv:...` spellings of CBV values, which the schema's patterns exclude, are
  checked by the CBV vocabulary check (vocab.py) instead of the schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError as SchemaError

SCHEMA_FILE = "EPCIS-JSON-Schema.json"
_EVENT_LIST = re.compile(r"^(?:epcisBody/eventList|epcisBody/queryResults/resultsBody/eventList)/"
                         r"(\d+)(?:/(.*))?$")
# Fields where the CBV vocabulary check (vocab.check_term) speaks instead of the schema.
VOCAB_FIELD = re.compile(r"^(bizStep|disposition|persistentDisposition/(set|unset)/\d+|"
                         r"(bizTransactionList|sourceList|destinationList)/\d+/type|"
                         r"errorDeclaration/reason)$")


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: `event` is the eventList index (None: the document itself)."""

    event: int | None
    field: str
    message: str


def schema_text() -> str:
    return (resources.files("milktrace") / "data" / "epcis" / SCHEMA_FILE).read_text("utf-8")


@lru_cache(maxsize=1)
def validator() -> Draft7Validator:
    schema = json.loads(schema_text())
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def json_path(parts: Iterable[Any]) -> str:
    """`sensorElementList[0].sensorReport[1].type` from ['sensorElementList', 0, ...]."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _locate(path: list[Any]) -> tuple[int | None, list[Any]]:
    joined = "/".join(str(p) for p in path)
    m = _EVENT_LIST.match(joined)
    if not m:
        return None, path
    index = int(m.group(1))
    depth = len(joined[: m.start(1)].split("/")) - 1
    return index, path[depth + 1:]


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _enum_text(values: list[Any]) -> str:
    shown = [str(v) for v in values]
    return ", ".join(shown) if len(shown) <= 12 else ", ".join(shown[:10]) + ", ..."


_PATTERN_HINTS = {
    "eventTimeZoneOffset": "expected a UTC offset like +08:00 or -06:00 (-14:00 to +14:00)",
    "uom": "expected a UN/ECE Rec 20 unit code of 2-3 capitals or digits (e.g. KGM, LTR, H87)",
    "schemaVersion": "expected a version number like 2.0",
}
_TYPE_NAMES = {"string": "string", "number": "number", "integer": "whole number",
               "object": "JSON object", "array": "JSON array", "boolean": "true or false"}


def _leaf_phrase(err: SchemaError) -> str:
    """A short description of what one failing anyOf branch wanted."""
    last = err.path[-1] if err.path else ""
    if err.validator == "required":
        m = re.match(r"^'(.+)' is a required property$", err.message)
        return m.group(1) if m else err.message
    if err.validator == "pattern" and last == "action":
        return "action " + str(err.validator_value).strip("^$")
    if err.validator == "not":
        return f"no {last}" if last else "not this"
    if err.validator in ("anyOf", "oneOf"):
        return " or ".join(sorted({_leaf_phrase(e) for e in err.context}))
    if err.validator == "enum":
        return f"{last} one of {_enum_text(err.validator_value)}"
    if err.validator == "type":
        wanted = _TYPE_NAMES.get(str(err.validator_value), err.validator_value)
        return f"{last or 'value'} as a {wanted}"
    if err.validator == "minItems":
        return f"{last} with at least {err.validator_value} item(s)"
    return err.message


_REF_PHRASES = {"uri": "a URI", "id": "an identifier URI", "vocab-uri": "a URI",
                "vocab-other-uri": "a URI outside the CBV namespace",
                "vocab-nonGS1WebVoc-uri": "a URI outside the GS1 web vocabulary",
                "time": "a date-time", "decimal": "a number", "string": "a string"}


def _schema_phrase(schema: Any) -> str | None:
    """A phrase for a simple value schema (a $ref to a value type, an enum, a typed array)."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _REF_PHRASES.get(schema["$ref"].rsplit("/", 1)[-1])
    if "enum" in schema:
        return "one of " + _enum_text(schema["enum"])
    if schema.get("type") == "array":
        item = _schema_phrase(schema.get("items"))
        return f"a list of {item.removeprefix('a ').removeprefix('an ')}s" if item else None
    return None


def _any_of_message(err: SchemaError) -> str:
    simple = [_schema_phrase(b) for b in err.validator_value]
    if all(simple):
        return f"expected {' or '.join(dict.fromkeys(p for p in simple if p))}; " \
               f"got {_short(err.instance)}"
    branches: dict[int, list[SchemaError]] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    if any(e.validator == "not" and e.path and e.path[-1] == "ilmd" for e in err.context):
        return "ilmd is only allowed when action is ADD"
    phrases = []
    for subs in branches.values():
        phrase = " and ".join(dict.fromkeys(_leaf_phrase(e) for e in subs))
        if phrase not in phrases:
            phrases.append(phrase)
    got = "" if isinstance(err.instance, dict) else f"; got {_short(err.instance)}"
    return "expected " + " or ".join(phrases) + got


def describe(err: SchemaError) -> tuple[list[Any], str]:
    """(path of the offending member, what was expected) for one schema error."""
    path = list(err.absolute_path)
    v = err.validator
    if v == "required":
        m = re.match(r"^'(.+)' is a required property$", err.message)
        name = m.group(1) if m else "?"
        if name == "type" and path and path[-2:-1] == ["sensorReport"]:
            return path + [name], ("required: a measurement type such as Temperature (only an "
                                   "alert report with 'exception' may omit it)")
        return path + [name], "required but missing"
    if v == "enum":
        return path, (f"expected one of {_enum_text(err.validator_value)}; "
                      f"got {_short(err.instance)}")
    if v == "type":
        want = err.validator_value
        wants = want if isinstance(want, list) else [want]
        names = " or ".join(_TYPE_NAMES.get(str(w), str(w)) for w in wants)
        return path, f"expected a {names}; got {_short(err.instance)}"
    if v == "format":
        if err.validator_value == "date-time":
            return path, ("expected an RFC 3339 date-time with a UTC offset "
                          f"(e.g. 2025-03-01T08:00:00+08:00); got {_short(err.instance)}")
        return path, f"expected a {err.validator_value}; got {_short(err.instance)}"
    if v == "pattern":
        last = str(path[-1]) if path else ""
        hint = _PATTERN_HINTS.get(last, f"expected a value matching {err.validator_value}")
        return path, f"{hint}; got {_short(err.instance)}"
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        return path, (f"unexpected member(s) {', '.join(extra)}; "
                      f"allowed: {', '.join(allowed)}")
    if v == "minItems":
        return path, f"expected at least {err.validator_value} item(s); got {len(err.instance)}"
    if v == "uniqueItems":
        return path, "expected every item once; got duplicates"
    if v in ("anyOf", "oneOf"):
        return path, _any_of_message(err)
    if v == "not":
        return path, "not allowed here"
    return path, err.message


def _leaf_paths(err: SchemaError) -> set[tuple[Any, ...]]:
    if err.validator in ("anyOf", "oneOf") and err.context:
        out: set[tuple[Any, ...]] = set()
        for sub in err.context:
            out |= _leaf_paths(sub)
        return out
    return {tuple(err.absolute_path)}


def _alert_report_without_type(err: SchemaError, doc: Mapping[str, Any]) -> bool:
    if err.validator != "required" or "'type'" not in err.message:
        return False
    path = list(err.absolute_path)
    if len(path) < 2 or path[-2] != "sensorReport":
        return False
    return isinstance(err.instance, dict) and "exception" in err.instance


@lru_cache(maxsize=1)
def event_validator() -> Draft7Validator:
    """The schema's `EPCIS-Document-Event` definition as a validator of its own."""
    root = json.loads(schema_text())
    schema = {"$ref": "#/definitions/EPCIS-Document-Event", "definitions": root["definitions"]}
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _envelope(doc: Mapping[str, Any]) -> tuple[Any, list[Any], list[Any]]:
    """The document with its eventList emptied, the events, and the path to the list."""
    body = doc.get("epcisBody")
    if not isinstance(body, dict):
        return doc, [], []
    if isinstance(body.get("eventList"), list):
        return ({**doc, "epcisBody": {**body, "eventList": []}}, body["eventList"],
                ["epcisBody", "eventList"])
    results = body.get("queryResults")
    inner = results.get("resultsBody") if isinstance(results, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("eventList"), list):
        empty = {**doc, "epcisBody": {**body, "queryResults": {
            **results, "resultsBody": {**inner, "eventList": []}}}}  # type: ignore[dict-item]
        return empty, inner["eventList"], ["epcisBody", "queryResults", "resultsBody",
                                           "eventList"]
    return doc, [], []


def check_document(doc: Any) -> list[SchemaProblem]:
    """Every schema violation of an EPCIS document, translated and located.

    The envelope is validated by jsonschema; each event by `fastcheck.accepts` first, and by
    jsonschema only when that says no (to explain why).
    """
    from milktrace.epcis.fastcheck import accepts

    if not isinstance(doc, dict):
        return _translate(list(validator().iter_errors(doc)), doc)
    envelope, events, prefix = _envelope(doc)
    errors = list(validator().iter_errors(envelope))
    for index, event in enumerate(events):
        if accepts(event):
            continue
        for err in event_validator().iter_errors(event):
            err.path.extendleft(reversed([*prefix, index]))  # locate it in the document
            errors.append(err)
    return _translate(errors, doc)


def _translate(errors: list[SchemaError], doc: Any) -> list[SchemaProblem]:
    errors = [e for e in errors if not _alert_report_without_type(e, doc)]
    direct = {tuple(e.absolute_path) for e in errors if e.validator not in ("anyOf", "oneOf")}
    problems: list[SchemaProblem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in errors:
        if err.validator in ("anyOf", "oneOf") and _leaf_paths(err) <= direct:
            continue  # the member's own error already says it
        path, message = describe(err)
        index, rel = _locate(path)
        rel_text = "/".join(str(p) for p in rel)
        if index is not None and VOCAB_FIELD.match(rel_text):
            continue  # reported by the CBV vocabulary check, with a better message
        key = (index, json_path(rel), message)
        if key in seen:
            continue
        seen.add(key)
        problems.append(SchemaProblem(index, json_path(rel), message))
    return problems
