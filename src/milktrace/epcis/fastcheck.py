"""A fast acceptance test for one EPCIS event, equivalent to the GS1 schema's verdict.

jsonschema spends about 1.4 ms on an event (anyOf over property names, $ref lookups), which
would make a 10,000-event document take 14 s to validate. `accepts(event)` answers the same
question as the schema's `EPCIS-Document-Event` definition, validated with the date-time format
checker and without a `uri` format checker (the configuration GS1's schema is published for),
in a few microseconds. It only ever says True when the schema would; when it says False
(or the event is of an extension type), the caller runs jsonschema to learn exactly why.
tests/unit/test_epcis_schema.py checks the equivalence on every corpus event and on
hypothesis-mutated ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft7Validator

from milktrace.epcis.vocab import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    COMPONENTS,
    DISPOSITIONS,
    ERROR_REASONS,
    MEASUREMENT_TYPES,
    SENSOR_ALERTS,
    SOURCE_DEST_TYPES,
)

_FORMATS = Draft7Validator.FORMAT_CHECKER
_OTHER_URI = re.compile(r"^(?!(urn:epcglobal:cbv|https?:\/\/ns\.gs1\.org/cbv\/))")
_NON_GS1_VOC = re.compile(r"^(?!(https?:\/\/gs1\.org\/voc\/|https?:\/\/www\.gs1\.org\/voc\/))")
_OFFSET = re.compile(r"^([+]|[-])((0[0-9]|1[0-3]):([0-5][0-9])|14:00)$")
_UOM = re.compile(r"^[A-Z0-9]{2,3}$")
_HEX = re.compile(r"^[A-Fa-f0-9]+$")
_ACTIONS = {"OBSERVE", "ADD", "DELETE"}

Check = Callable[[Any], bool]


def _s(v: Any) -> bool:
    return isinstance(v, str)


def _time(v: Any) -> bool:
    return isinstance(v, str) and _FORMATS.conforms(v, "date-time")


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _vocab(terms: frozenset[str], pattern: re.Pattern[str]) -> Check:
    return lambda v: isinstance(v, str) and (v in terms or pattern.search(v) is not None)


_biz_step = _vocab(BIZ_STEPS, _OTHER_URI)
_disposition = _vocab(DISPOSITIONS, _OTHER_URI)
_btt = _vocab(BIZ_TRANSACTION_TYPES, _OTHER_URI)
_sdt = _vocab(SOURCE_DEST_TYPES, _OTHER_URI)
_reason = _vocab(ERROR_REASONS, _OTHER_URI)
_component = _vocab(COMPONENTS, _OTHER_URI)
_measurement = _vocab(MEASUREMENT_TYPES, _NON_GS1_VOC)
_alert = _vocab(SENSOR_ALERTS, _NON_GS1_VOC)


def _array(v: Any, item: Check, min_items: int = 0, unique: bool = False) -> bool:
    if not isinstance(v, list) or len(v) < min_items:
        return False
    if not all(item(x) for x in v):
        return False
    if unique and len(v) > 1:
        try:
            return len(set(v)) == len(v)
        except TypeError:
            return False  # unhashable items: let jsonschema decide
    return True


def _members(v: Any, checks: Mapping[str, Check], required: tuple[str, ...] = (),
             closed: bool = False) -> bool:
    if not isinstance(v, dict):
        return False
    if any(r not in v for r in required):
        return False
    for key, value in v.items():
        check = checks.get(key)
        if check is None:
            if closed:
                return False
        elif not check(value):
            return False
    return True


def _quantity(v: Any) -> bool:
    return _members(v, {"epcClass": _s, "quantity": _num,
                        "uom": lambda u: isinstance(u, str) and bool(_UOM.search(u))},
                    ("epcClass",), closed=True)


def _biz_transaction(v: Any) -> bool:
    return _members(v, {"type": _btt, "bizTransaction": _s}, ("bizTransaction",), closed=True)


def _party(name: str) -> Check:
    return lambda v: _members(v, {"type": _sdt, name: _s}, ("type", name), closed=True)


def _location(v: Any) -> bool:
    return _members(v, {"id": _s}, ("id",))


def _persistent(v: Any) -> bool:
    def part(x: Any) -> bool:
        return _array(x, _disposition, 1, unique=True)
    return (_members(v, {"set": part, "unset": part}, closed=True)
            and ("set" in v or "unset" in v))


_SENSOR_METADATA: dict[str, Check] = {
    "time": _time, "startTime": _time, "endTime": _time, "deviceID": _s, "deviceMetadata": _s,
    "rawData": _s, "dataProcessingMethod": _s, "bizRules": _s}
_SENSOR_REPORT: dict[str, Check] = {
    "type": _measurement, "exception": _alert, "deviceID": _s, "deviceMetadata": _s,
    "rawData": _s, "dataProcessingMethod": _s, "bizRules": _s, "time": _time,
    "microorganism": _s, "chemicalSubstance": _s, "coordinateReferenceSystem": _s,
    "value": _num, "component": _component, "stringValue": _s,
    "booleanValue": lambda b: isinstance(b, bool),
    "hexBinaryValue": lambda h: isinstance(h, str) and bool(_HEX.search(h)),
    "uriValue": _s, "minValue": _num, "maxValue": _num, "meanValue": _num, "sDev": _num,
    "percRank": _num, "percValue": _num, "uom": _s}


def _sensor_report(v: Any) -> bool:
    return _members(v, _SENSOR_REPORT, ("type",))


def _sensor_element(v: Any) -> bool:
    return _members(v, {"sensorMetadata": lambda m: _members(m, _SENSOR_METADATA),
                        "sensorReport": lambda r: _array(r, _sensor_report, 1)},
                    ("sensorReport",))


def _context(v: Any) -> bool:
    if isinstance(v, (str, dict)):
        return True
    if not isinstance(v, list) or not all(isinstance(x, (str, dict)) for x in v):
        return False
    keys = [json.dumps(x, sort_keys=True) for x in v]
    return len(set(keys)) == len(keys)


def _error_declaration(v: Any) -> bool:
    return _members(v, {"declarationTime": _time, "reason": _reason,
                        "correctiveEventIDs": lambda c: _array(c, _s)}, ("declarationTime",))


_COMMON: dict[str, Check] = {
    "@context": _context, "eventTime": _time, "recordTime": _time,
    "eventTimeZoneOffset": lambda o: isinstance(o, str) and bool(_OFFSET.search(o)),
    "eventID": _s, "certificationInfo": lambda c: _s(c) or _array(c, _s),
    "errorDeclaration": _error_declaration}
_WHERE_WHY: dict[str, Check] = {
    "action": lambda a: isinstance(a, str) and a in _ACTIONS, "bizStep": _biz_step,
    "disposition": _disposition,
    "readPoint": _location, "bizLocation": _location,
    "bizTransactionList": lambda b: _array(b, _biz_transaction),
    "sourceList": lambda s: _array(s, _party("source")),
    "destinationList": lambda d: _array(d, _party("destination")),
    "sensorElementList": lambda s: _array(s, _sensor_element)}
_EPC_LIST: Check = lambda v: _array(v, _s, unique=True)  # noqa: E731
_QTY_LIST: Check = lambda v: _array(v, _quantity)  # noqa: E731


def _nonempty(e: Mapping[str, Any], name: str) -> bool:
    return isinstance(e.get(name), list) and len(e[name]) >= 1


_TYPES: dict[str, tuple[dict[str, Check], tuple[str, ...], Callable[[Mapping[str, Any]], bool]]] = {
    "ObjectEvent": (
        {**_WHERE_WHY, "epcList": _EPC_LIST, "quantityList": _QTY_LIST,
         "persistentDisposition": _persistent, "ilmd": lambda i: isinstance(i, dict)},
        ("action",),
        lambda e: ("epcList" in e or _nonempty(e, "quantityList")
                   or (_nonempty(e, "sensorElementList") and "readPoint" in e))
        and ("ilmd" not in e or e.get("action") == "ADD")),
    "AggregationEvent": (
        {**_WHERE_WHY, "parentID": _s, "childEPCs": lambda c: _array(c, _s),
         "childQuantityList": _QTY_LIST},
        ("action",),
        lambda e: _nonempty(e, "childEPCs") or _nonempty(e, "childQuantityList")
        or e.get("action") == "DELETE"),
    "AssociationEvent": (
        {**_WHERE_WHY, "parentID": _s, "childEPCs": lambda c: _array(c, _s),
         "childQuantityList": _QTY_LIST},
        ("action", "parentID"),
        lambda e: _nonempty(e, "childEPCs") or _nonempty(e, "childQuantityList")
        or e.get("action") == "DELETE"),
    "TransactionEvent": (
        {**_WHERE_WHY, "parentID": _s, "epcList": lambda c: _array(c, _s),
         "quantityList": _QTY_LIST,
         "bizTransactionList": lambda b: _array(b, _biz_transaction, 1)},
        ("action", "bizTransactionList"),
        lambda e: "epcList" in e or _nonempty(e, "quantityList") or e.get("action") == "DELETE"),
    "TransformationEvent": (
        {**{k: v for k, v in _WHERE_WHY.items() if k != "action"},
         "inputEPCList": _EPC_LIST, "outputEPCList": _EPC_LIST, "inputQuantityList": _QTY_LIST,
         "outputQuantityList": _QTY_LIST, "transformationID": _s,
         "persistentDisposition": _persistent, "ilmd": lambda i: isinstance(i, dict)},
        (),
        lambda e: ((_nonempty(e, "inputEPCList") or _nonempty(e, "inputQuantityList"))
                   and (_nonempty(e, "outputEPCList") or _nonempty(e, "outputQuantityList")))
        or ("transformationID" in e and any(_nonempty(e, n) for n in (
            "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList")))),
}


def accepts(event: Any) -> bool:
    """True only when the GS1 schema accepts `event` as an EPCIS document event."""
    if not isinstance(event, dict):
        return False
    kind = event.get("type")
    spec = _TYPES.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return False
    checks, required, rule = spec
    if "eventTime" not in event or "eventTimeZoneOffset" not in event:
        return False
    if any(r not in event for r in required):
        return False
    for key, value in event.items():
        check = checks.get(key) or _COMMON.get(key)
        if check is not None and not check(value):
            return False
    return rule(event)
