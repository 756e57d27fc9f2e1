"""Event ids: the CBV 2.0 EPCIS event hash, and the hash of a canonical CSV row.

EPCIS events
------------
`event_hash(event, context)` computes the event hash of CBV 2.0 §8.9 (the algorithm of the
`epcis-event-hash-generator` reference project), `ni:///sha-256;<hex>?ver=CBV2.0`; `event_id()`
turns it into the bytes32 milktrace puts on chain. It works offline (JSON-LD contexts are never
fetched: the standard EPCIS context's terms and prefixes are built in) and runs at tens of
thousands of events per second.

The pre-hash string is `eventType=<type>` followed by

1. the standard fields in the CBV order (eventTime, eventTimeZoneOffset, certificationInfo,
   parentID, epcList, inputEPCList, childEPCs, quantityList, childQuantityList,
   inputQuantityList, outputEPCList, outputQuantityList, action, transformationID, bizStep,
   disposition, persistentDisposition, readPoint, bizLocation, sensorElementList, with the
   fixed sub-orders of quantity elements and sensor metadata/reports), as `name=value` with no
   separator; repeated values are sorted; user extensions nested in readPoint, bizLocation or a
   sensor element/metadata/report follow their parent's standard fields, sorted;
2. everything else (bizTransactionList, sourceList, destinationList, ilmd, top-level user
   extensions, and standard fields nested where the order has no slot), each rendered as
   `name[=value]<children sorted>` and sorted as whole strings. List items keep `type` first.

Values are canonical: times in UTC with milliseconds (`2019-04-02T13:05:00.000Z`, the 4th
fractional digit rounded half up), numbers without trailing zeros, CBV URNs and bare CBV terms
as web URIs (`https://ref.gs1.org/cbv/BizStep-shipping`), GS1 vocabulary CURIEs expanded,
EPC URNs and Digital Links as canonical `https://id.gs1.org/...` (see `uris.hash_form`), user
extension names as `{namespace}localName`. recordTime, eventID, errorDeclaration, comments and
the fields a document lists under `...:ignoreFields` are left out.

Where the reference implementation has accidents, milktrace does the documented thing instead
(they never affect a published vector): JSON booleans are `true`/`false`, a bizTransaction or
source/destination item puts `type` before the value whatever the JSON key order, naive times
are read as UTC, and a user extension is any `{ns}name` whether or not `ns` ends with `/`.

CSV rows
--------
`csv_row_id(row)` is sha-256 over `milktrace-csv-v1\\n` followed by one `name=value\\n` line per
non-empty column, names lower-cased and sorted, values stripped and NFC-normalised, UTF-8. It
does not depend on column order or on empty columns; see docs/csv-format.md.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from milktrace.epcis.uris import hash_form
from milktrace.epcis.vocab import STANDARD_PREFIXES, expand_term

NI_PREFIX = "ni:///sha-256;"
NI_SUFFIX = "?ver=CBV2.0"

# ----------------------------------------------------------------------------- the tree

Node = tuple[str, str, list]  # (name, value, children); children: list[Node | Pair]


@dataclass
class Pair:
    """A bizTransaction / source / destination item: `type` first, then the value."""

    nodes: list[Node]


_QTY = [("epcClass", None), ("quantity", None), ("uom", None)]
_ORDER: list[tuple[str, Any]] = [
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", [("epc", None)]),
    ("inputEPCList", [("epc", None)]),
    ("childEPCs", [("epc", None)]),
    ("quantityList", [("quantityElement", _QTY)]),
    ("childQuantityList", [("quantityElement", _QTY)]),
    ("inputQuantityList", [("quantityElement", _QTY)]),
    ("outputEPCList", [("epc", None)]),
    ("outputQuantityList", [("quantityElement", _QTY)]),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]),
    ("bizLocation", [("id", None)]),
    ("sensorElementList", [("sensorElement", [
        ("sensorMetadata", [(n, None) for n in (
            "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
            "dataProcessingMethod", "bizRules")]),
        ("sensorReport", [(n, None) for n in (
            "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
            "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
            "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue",
            "sDev", "percRank", "percValue", "uom", "coordinateReferenceSystem")]),
    ])]),
]
_TOP_IGNORED = {"type", "recordTime", "eventID", "errorDeclaration", "@context"}
_ALWAYS_IGNORED = {"rdfs:comment", "comment", "#text", "@context"}
_PAIR_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source",
               "destinationList": "destination"}
# Fields whose bare values are CBV / GS1 vocabulary terms (JSON-LD `@type: @vocab`).
_VOCAB_FIELDS = {"bizStep": "bizStep", "disposition": "disposition", "set": "disposition",
                 "unset": "disposition", "exception": "sensorAlert", "component": "component"}


@dataclass
class Context:
    """Prefixes in scope (the standard EPCIS context's, then the document's own)."""

    prefixes: dict[str, str] = field(default_factory=lambda: dict(STANDARD_PREFIXES))
    ignore: frozenset[str] = frozenset()

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Context:
        ctx = cls()
        ctx.add(doc.get("@context"))
        # `...:ignoreFields` (a repository's list of its own fields to leave out of the hash)
        # may sit on the document, its body, or a query document's results.
        ignored: set[str] = set()
        body = doc.get("epcisBody")
        results = body.get("queryResults") if isinstance(body, dict) else None
        inner = results.get("resultsBody") if isinstance(results, dict) else None
        for holder in (doc, body, results, inner):
            if not isinstance(holder, dict):
                continue
            for key, value in holder.items():
                if key.split(":")[-1].split("/")[-1] == "ignoreFields" \
                        and isinstance(value, list):
                    ignored.update(ctx.expand_key(v) for v in value if isinstance(v, str))
        ctx.ignore = frozenset(ignored)
        return ctx

    def add(self, context: Any) -> None:
        items = context if isinstance(context, list) else [context]
        for item in items:
            if isinstance(item, dict):
                for k, v in item.items():
                    if isinstance(v, str) and not k.startswith("@"):
                        self.prefixes[k] = v

    def child(self, context: Any) -> Context:
        if context is None:
            return self
        sub = Context(dict(self.prefixes), self.ignore)
        sub.add(context)
        return sub

    def expand_key(self, key: str) -> str:
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.prefixes and not local.startswith("//"):
            return "{" + self.prefixes[prefix] + "}" + local
        return key

    def expand_value(self, value: str) -> str:
        """Expand a CURIE value when its prefix is a GS1 vocabulary namespace."""
        prefix, sep, local = value.partition(":")
        if sep and prefix in self.prefixes and not local.startswith("//"):
            ns = self.prefixes[prefix]
            if ns.startswith(("https://ref.gs1.org/", "https://gs1.org/voc/")):
                return ns + local
        return value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _to_nodes(key: str, value: Any, ctx: Context, parent: str) -> list[Node | Pair]:
    """JSON member → nodes in the XML-shaped model the hash algorithm is defined on."""
    name = ctx.expand_key(key)
    items = value if isinstance(value, list) else [value]
    if key in _PAIR_LISTS and isinstance(value, list):
        pairs: list[Node | Pair] = []
        for item in value:
            if isinstance(item, dict):
                kids: list[Node] = []
                if "type" in item:
                    kids.append(("type", _vocab_value(key, item["type"], ctx), []))
                vkey = _PAIR_LISTS[key]
                if vkey in item:
                    kids.append((vkey, _value(item[vkey], ctx), []))
                pairs.append(Pair(kids))
        return [(name, "", pairs)]
    if name.endswith("List") or name == "childEPCs":
        # XML wraps list items in a child element: epcList/epc, sensorElementList/sensorElement
        item_name = "epc" if name == "childEPCs" else _item_name(name[:-4])
        wrapped = [n for item in items for n in _member(item_name, item, ctx, name)]
        return [(name, "", wrapped)]
    return [n for item in items for n in _member(name, item, ctx, parent)]


def _item_name(name: str) -> str:
    if name in ("inputEPC", "outputEPC"):
        return "epc"
    if name in ("quantity", "inputQuantity", "outputQuantity", "childQuantity"):
        return "quantityElement"
    return name


def _member(name: str, value: Any, ctx: Context, parent: str) -> list[Node | Pair]:
    if isinstance(value, dict):
        sub = ctx.child(value.get("@context"))
        text = _scalar(value.get("#text", ""))
        kids: list[Node | Pair] = []
        for k, v in value.items():
            if k in _ALWAYS_IGNORED:
                continue
            if k == "type" and name == "sensorReport":
                kids.append(("type", _measurement_type(v, sub), []))
            else:
                kids.extend(_to_nodes(k, v, sub, name))
        return [(name, text, kids)]
    if isinstance(value, list):
        return [n for v in value for n in _member(name, v, ctx, parent)]
    if name in _VOCAB_FIELDS and isinstance(value, str):
        return [(name, expand_term(_VOCAB_FIELDS[name], value.strip(), ctx.expand_value), [])]
    if name == "reason" and parent == "errorDeclaration" and isinstance(value, str):
        return [(name, expand_term("errorReason", value.strip(), ctx.expand_value), [])]
    return [(name, _value(value, ctx), [])]


def _value(value: Any, ctx: Context) -> str:
    text = _scalar(value)
    return ctx.expand_value(text) if isinstance(value, str) else text


def _vocab_value(list_key: str, value: Any, ctx: Context) -> str:
    kind = "bizTransactionType" if list_key == "bizTransactionList" else "sourceDestType"
    return expand_term(kind, _scalar(value).strip(), ctx.expand_value)


def _measurement_type(value: Any, ctx: Context) -> str:
    return expand_term("measurementType", _scalar(value).strip(), ctx.expand_value)


# ----------------------------------------------------------------------------- canonical values

_URN_WEB = (("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
            ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
            ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
            ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
            ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"))
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                   r"(Z|z|[+-]\d\d:?\d\d)?$")


@lru_cache(maxsize=65536)
def canonical_value(text: str) -> str:
    """CBV URN → web URI, numbers without trailing zeros, GS1 identifiers as canonical DL."""
    text = text.strip()
    for urn, web in _URN_WEB:
        if text.startswith(urn):
            text = web + text[len(urn):]
            break
    if _NUMBER.match(text):
        number = float(text)
        if number == number and abs(number) != float("inf"):
            text = str(int(number)) if number == int(number) else repr(number)
    return hash_form(text) or text


@lru_cache(maxsize=65536)
def canonical_time(text: str) -> str:
    """UTC with millisecond precision and `Z`; the 4th fractional digit rounds half up."""
    m = _TIME.match(text.strip())
    if not m:
        return text.strip()
    y, mo, d, h, mi, s, frac, tz = m.groups()
    frac = (frac or "").ljust(4, "0")
    try:
        when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=_tz(tz))
    except ValueError:
        return text.strip()
    millis = int(frac[:3]) + (1 if frac[3] >= "5" else 0)
    when = (when + timedelta(milliseconds=millis)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def epoch_seconds(text: str) -> int | None:
    """Unix seconds of an ISO 8601 / RFC 3339 date-time (naive read as UTC), or None."""
    canonical = canonical_time(text)
    m = _TIME.match(canonical)
    if not m or canonical == text.strip() and not canonical.endswith("Z"):
        return None
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    return int(datetime(y, mo, d, h, mi, sec, tzinfo=UTC).timestamp())


def _tz(tz: str | None) -> timezone:
    if tz is None or tz in ("Z", "z"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


# ----------------------------------------------------------------------------- rendering

def _ordered(children: list, order: list, nested: bool) -> str:
    """Render (and consume) the children named in `order`; nested extensions follow."""
    extensions: list = []
    by_name: dict[str, list[Node]] = {}
    for c in children:
        if isinstance(c, tuple):
            if nested and c[0].startswith("{"):
                extensions.append(c)
            else:
                by_name.setdefault(c[0], []).append(c)
    consumed = {id(c) for c in extensions}
    out: list[str] = []
    for name, sub in order:
        group = by_name.get(name)
        if not group:
            continue
        values = []
        for child in group:
            text = _ordered_child(child, sub)
            if text:
                values.append(text)
            if not child[2]:
                consumed.add(id(child))
        values.sort()
        out.extend(values)
    if consumed:
        children[:] = [c for c in children if id(c) not in consumed]
    if extensions:
        out.append(_generic(extensions))
    return "".join(out)


def _ordered_child(child: Node, sub: list | None) -> str:
    name, value, kids = child
    grand = _ordered(kids, sub, nested=True) if sub else ""
    text = ""
    if value.strip():
        lowered = name.lower()
        text = canonical_time(value) if "time" in lowered and "offset" not in lowered \
            else canonical_value(value)
        text = "=" + text if text else ""
    return name + text + grand if (text or grand) else ""


def _generic(children: list) -> str:
    values = []
    for child in children:
        if isinstance(child, Pair):
            values.append(_generic_pair(child))
            continue
        name, value, kids = child
        text = canonical_value(value) if value.strip() else ""
        values.append(name + ("=" + text if text else "") + _generic(kids))
    values.sort()
    return "".join(values)


def _generic_pair(pair: Pair) -> str:
    return "".join(n + ("=" + canonical_value(v) if v.strip() else "") for n, v, _ in pair.nodes)


def prehash(event: Mapping[str, Any], context: Context | None = None) -> str:
    """The canonical pre-hash string of one EPCIS event (a JSON object)."""
    ctx = (context or Context()).child(event.get("@context"))
    children: list = []
    for key, value in event.items():
        if key in _TOP_IGNORED or key in _ALWAYS_IGNORED:
            continue
        if ctx.expand_key(key) in ctx.ignore or key in ctx.ignore:
            continue
        children.extend(_to_nodes(key, value, ctx, ""))
    head = _ordered(children, _ORDER, nested=False)
    return "eventType=" + _scalar(event.get("type")) + head + _generic(children)


def event_hash(event: Mapping[str, Any], context: Context | None = None) -> str:
    """`ni:///sha-256;<hex>?ver=CBV2.0` of one EPCIS event."""
    digest = hashlib.sha256(prehash(event, context).encode("utf-8")).hexdigest()
    return NI_PREFIX + digest + NI_SUFFIX


def ni_to_bytes32(ni: str) -> bytes:
    """The 32 bytes of an `ni:///sha-256;<hex>...` hash (or of a bare 0x / 64-hex digest)."""
    text = ni.strip()
    if text.startswith(NI_PREFIX):
        text = text[len(NI_PREFIX):].split("?", 1)[0]
    text = text.removeprefix("0x")
    raw = bytes.fromhex(text) if re.fullmatch(r"[0-9a-fA-F]{64}", text) else b""
    if len(raw) != 32:
        raise ValueError(f"{ni!r}: expected ni:///sha-256;<64 hex digits>?ver=CBV2.0")
    return raw


def event_id(event: Mapping[str, Any], context: Context | None = None) -> bytes:
    """The bytes32 event id milktrace records on chain: the sha-256 of the pre-hash."""
    return hashlib.sha256(prehash(event, context).encode("utf-8")).digest()


def document_events(doc: Mapping[str, Any]) -> list[Any]:
    """The eventList of a capture or query document ([] when there is none)."""
    body = doc.get("epcisBody")
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("eventList"), list):
        return body["eventList"]
    if isinstance(body.get("event"), dict):
        return [body["event"]]
    results = body.get("queryResults")
    if isinstance(results, dict) and isinstance(results.get("resultsBody"), dict):
        events = results["resultsBody"].get("eventList")
        return events if isinstance(events, list) else []
    return []


def document_hashes(doc: Mapping[str, Any]) -> list[str]:
    """The event hash of every event of an EPCIS document, in order."""
    ctx = Context.of(doc)
    return [event_hash(e, ctx) for e in document_events(doc)]


# ----------------------------------------------------------------------------- CSV rows

CSV_HASH_HEADER = "milktrace-csv-v1\n"


def csv_canonical(row: Mapping[str, str | None] | Iterable[tuple[str, str | None]]) -> str:
    """The canonical text of a CSV row (see the module docstring)."""
    items = row.items() if isinstance(row, Mapping) else row
    lines = []
    for name, value in items:
        text = unicodedata.normalize("NFC", (value or "").strip())
        if text:
            key = unicodedata.normalize("NFC", name.strip().lower())
            lines.append(f"{key}={text}\n")
    lines.sort()
    return CSV_HASH_HEADER + "".join(lines)


def csv_row_id(row: Mapping[str, str | None] | Iterable[tuple[str, str | None]]) -> bytes:
    """bytes32 id of a CSV row: sha-256 of its canonical text, UTF-8."""
    return hashlib.sha256(csv_canonical(row).encode("utf-8")).digest()
