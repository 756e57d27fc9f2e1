"""Read one EPCIS 2.0 JSON-LD document, validate it whole, and map its events to drafts.

Accepted: an `EPCISDocument` (events in `epcisBody.eventList`) or an `EPCISQueryDocument`
(events in `epcisBody.queryResults.resultsBody.eventList`). Problems name the file, "event N"
(the 0-based eventList index, or "document"), the member as a JSON path inside the event, and
what was expected. Checks:

* the GS1 EPCIS 2.0 JSON Schema (schema.py), date-times included;
* CBV vocabularies: bizStep, disposition and persistentDisposition values must be CBV terms
  (bare, `urn:epcglobal:cbv:...` or `https://ref.gs1.org/cbv/...`) or user-extension URIs;
  business transaction, source/destination types and error reasons likewise, except that URIs
  on GS1's hosts are tolerated there (vocab.check_term);
* namespaced names: every member that is not a standard EPCIS field, at the document level,
  in events, readPoint/bizLocation, ilmd, sensor elements/metadata/reports and error
  declarations, needs a prefix declared in @context (or the standard context's) or a full URI;
* GS1 identifiers: EPC URIs well formed, Digital Link GTIN/GLN/SSCC check digits;
* dates in ilmd (YYYY-MM-DD, expiry after production), quantities, units, and milktrace's own
  members (mapping.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from milktrace.epcis.mapping import EventMapper, error_declaration_suffix
from milktrace.epcis.schema import check_document
from milktrace.epcis.vocab import check_name, check_term
from milktrace.errors import Problem
from milktrace.eventhash import Context, document_events, prehash
from milktrace.plan import FileResult

DOCUMENT_FIELDS = {"@context", "id", "type", "schemaVersion", "creationDate",
                   "instanceIdentifier", "sender", "receiver", "epcisHeader", "epcisBody"}
EVENT_FIELDS = {"@context", "type", "eventTime", "recordTime", "eventTimeZoneOffset",
                "eventID", "certificationInfo", "errorDeclaration", "action", "epcList",
                "quantityList", "bizStep", "disposition", "persistentDisposition", "readPoint",
                "bizLocation", "bizTransactionList", "sourceList", "destinationList",
                "sensorElementList", "ilmd", "parentID", "childEPCs", "childQuantityList",
                "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
                "transformationID"}
SENSOR_METADATA = {"time", "deviceID", "deviceMetadata", "rawData", "startTime", "endTime",
                   "dataProcessingMethod", "bizRules"}
SENSOR_REPORT = {"type", "exception", "deviceID", "deviceMetadata", "rawData",
                 "dataProcessingMethod", "bizRules", "time", "microorganism",
                 "chemicalSubstance", "coordinateReferenceSystem", "value", "component",
                 "stringValue", "booleanValue", "hexBinaryValue", "uriValue", "minValue",
                 "maxValue", "meanValue", "sDev", "percRank", "percValue", "uom"}
ERROR_DECLARATION = {"declarationTime", "reason", "correctiveEventIDs"}


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, where: str, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, where, field, message))


def _names(obj: Any, allowed: set[str], prefixes: Mapping[str, str], path: str,
           where: str, out: _Collector) -> None:
    if not isinstance(obj, dict):
        return
    for key in obj:
        if key in allowed:
            continue
        message = check_name(key, prefixes)
        if message:
            out.add(where, f"{path}.{key}" if path else key, message)


def _items(value: Any) -> Iterable[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else ()


def check_event_names(event: Mapping[str, Any], prefixes: Mapping[str, str], where: str,
                      out: _Collector) -> None:
    _names(event, EVENT_FIELDS, prefixes, "", where, out)
    for name in ("readPoint", "bizLocation"):
        _names(event.get(name), {"id"}, prefixes, name, where, out)
    _names(event.get("ilmd"), set(), prefixes, "ilmd", where, out)
    _names(event.get("errorDeclaration"), ERROR_DECLARATION, prefixes, "errorDeclaration",
           where, out)
    for j, element in _items(event.get("sensorElementList")):
        base = f"sensorElementList[{j}]"
        _names(element, {"sensorMetadata", "sensorReport"}, prefixes, base, where, out)
        if isinstance(element, dict):
            _names(element.get("sensorMetadata"), SENSOR_METADATA, prefixes,
                   f"{base}.sensorMetadata", where, out)
            for k, report in _items(element.get("sensorReport")):
                _names(report, SENSOR_REPORT, prefixes, f"{base}.sensorReport[{k}]", where, out)


def check_event_vocabulary(event: Mapping[str, Any], prefixes: Mapping[str, str], where: str,
                           out: _Collector) -> None:
    def term(kind: str, value: Any, field: str, strict: bool = True) -> None:
        message = check_term(kind, value, prefixes, strict_gs1=strict)
        if message:
            out.add(where, field, message)

    for name in ("bizStep", "disposition"):
        if name in event:
            term(name, event[name], name)
    pd = event.get("persistentDisposition")
    if isinstance(pd, dict):
        for part in ("set", "unset"):
            for i, value in _items(pd.get(part)):
                term("disposition", value, f"persistentDisposition.{part}[{i}]")
    for i, item in _items(event.get("bizTransactionList")):
        if isinstance(item, dict) and "type" in item:
            term("bizTransactionType", item["type"], f"bizTransactionList[{i}].type", False)
    for list_name in ("sourceList", "destinationList"):
        for i, item in _items(event.get(list_name)):
            if isinstance(item, dict) and "type" in item:
                term("sourceDestType", item["type"], f"{list_name}[{i}].type", False)
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict) and "reason" in declaration:
        term("errorReason", declaration["reason"], "errorDeclaration.reason")


def event_id_of(event: Mapping[str, Any], ctx: Context) -> bytes:
    """The sha-256 event id: the CBV hash, or for an error declaration its own hash (the CBV
    hash leaves errorDeclaration out, so it equals the declared event's)."""
    text = prehash(event, ctx)
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict):
        text += error_declaration_suffix(declaration)
    return hashlib.sha256(text.encode("utf-8")).digest()


def _load(path: Path, out: _Collector) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        out.add("file", "", f"cannot read the file: {exc.strerror or exc}")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        out.add("document", "", f"expected UTF-8 text; byte {exc.start} is not UTF-8")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        out.add(f"line {exc.lineno}", "", f"not valid JSON at line {exc.lineno} column "
                                          f"{exc.colno}: {exc.msg}")
        return None


def read_epcis(path: Path) -> FileResult:
    """Validate one EPCIS document whole and map its events (see the module docstring)."""
    out = _Collector(str(path))
    result = FileResult()
    doc = _load(path, out)
    if doc is None:
        result.problems = out.problems
        return result
    if not isinstance(doc, dict) or doc.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        out.add("document", "type", f"expected an EPCISDocument or EPCISQueryDocument; got "
                                    f"{got!r}")
        result.problems = out.problems
        return result

    for sp in check_document(doc):
        out.add("document" if sp.event is None else f"event {sp.event}", sp.field, sp.message)
    reported = {(p.where, p.field) for p in out.problems}
    ctx = Context.of(doc)
    _names(doc, DOCUMENT_FIELDS, ctx.prefixes, "", "document", out)

    for index, event in enumerate(document_events(doc)):
        if not isinstance(event, dict):
            continue
        where = f"event {index}"
        ev_ctx = ctx.child(event.get("@context"))
        check_event_vocabulary(event, ev_ctx.prefixes, where, out)
        check_event_names(event, ev_ctx.prefixes, where, out)
        mapper = EventMapper(out.file, index, event, ev_ctx.prefixes, event_id_of(event, ctx),
                             path.parent)
        if any(p.where == where for p in out.problems):
            # Already invalid: map it for what more can be said, but its members may not
            # have the shapes mapping relies on; its problems are reported either way.
            try:
                mapped = mapper.run()
            except (TypeError, AttributeError, KeyError, ValueError, IndexError):
                continue
        else:
            mapped = mapper.run()
        for p in mapped.problems:
            if (p.where, p.field) not in reported:
                out.problems.append(p)
        result.drafts.extend(mapped.drafts)
        result.not_commissioned.update(mapped.not_commissioned)
    result.problems = sorted(out.problems, key=_problem_order)
    return result


def _problem_order(p: Problem) -> tuple[int, int]:
    """Document problems first, then by event index (stable within an event)."""
    if p.where.startswith("event "):
        return (1, int(p.where.split()[1]))
    return (0, 0)
