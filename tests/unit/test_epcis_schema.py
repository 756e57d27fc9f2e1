"""The fast event check gives the GS1 schema's verdict, and schema errors are located."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milktrace.epcis.fastcheck import accepts
from milktrace.epcis.schema import check_document, event_validator
from milktrace.eventhash import document_events

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def corpus_events() -> list[dict]:
    events = []
    for pattern in ("epcis-gs1/examples/**/*.jsonld", "epcis-openepcis/*/*.json",
                    "event-hash/*.jsonld"):
        for path in sorted(CONFORMANCE.glob(pattern)):
            events.extend(e for e in document_events(json.loads(path.read_text("utf-8")))
                          if isinstance(e, dict))
    return events


EVENTS = corpus_events()
needs_corpus = pytest.mark.skipif(not EVENTS, reason=f"no conformance corpus at {CONFORMANCE}")


def schema_accepts(event: dict) -> bool:
    return not any(True for _ in event_validator().iter_errors(event))


@needs_corpus
def test_fast_check_agrees_with_the_schema_on_every_corpus_event():
    disagreements = [e for e in EVENTS if accepts(e) != schema_accepts(e)]
    assert disagreements == []
    assert sum(map(accepts, EVENTS)) > len(EVENTS) // 2  # the fast path does the work


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False)
    | st.sampled_from(["", "x", "ADD", "OBSERVE", "DELETE", "shipping", "in_transit",
                       "urn:epcglobal:cbv:bizstep:shipping", "https://ns.gs1.org/cbv/x",
                       "2025-03-01T08:00:00+08:00", "2025-13-01T08:00:00Z", "+08:00",
                       "KGM", "kg", "Temperature", "https://gs1.org/voc/Temperature",
                       "ALARM_CONDITION", "owning_party", "po", "ff00", "xyz"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "type", "epcClass", "quantity", "uom", "set",
                                       "unset", "source", "destination", "bizTransaction",
                                       "sensorReport", "sensorMetadata", "value", "time",
                                       "declarationTime", "ex:y"]), children, max_size=3),
    max_leaves=6)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


@st.composite
def mutated_events(draw):
    event = copy.deepcopy(draw(st.sampled_from(EVENTS)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from([p for p in paths(event) if p]))
        parent = event
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(json_values)
        if not isinstance(event, dict) or not event:
            break
    return event


@needs_corpus
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_fast_check_never_disagrees_with_the_schema_on_mutated_events(event):
    verdict = schema_accepts(event)
    if accepts(event):
        assert verdict  # sound: never accepts what the schema rejects
    standard = event.get("type") in ("ObjectEvent", "AggregationEvent", "AssociationEvent",
                                     "TransactionEvent", "TransformationEvent")
    if standard:
        assert accepts(event) == verdict  # and exact for the five standard event types


def test_schema_problems_point_into_the_event_list():
    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
           "type": "EPCISQueryDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-01T00:00:00Z",
           "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {
               "eventList": [{"type": "ObjectEvent", "eventTime": "2025-03-01T00:00:00Z",
                              "eventTimeZoneOffset": "+8", "epcList": [], "action": "ADD"}]}}}}
    problems = check_document(doc)
    assert [(p.event, p.field) for p in problems] == [(0, "eventTimeZoneOffset")]
    assert "+08:00" in problems[0].message


@needs_corpus
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_events(), min_size=1, max_size=3))
def test_planning_a_damaged_document_reports_problems_and_never_crashes(tmp_path_factory, events):
    from milktrace.errors import ValidationError
    from milktrace.plan import plan_files

    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                        {"example": "http://ns.example.com/epcis/"}],
           "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-01T00:00:00Z", "epcisBody": {"eventList": events}}
    path = tmp_path_factory.mktemp("fuzz") / "doc.jsonld"
    path.write_text(json.dumps(doc), "utf-8")
    try:
        plan_files([path])
    except ValidationError as exc:
        assert exc.problems
        assert all(p.where == "document" or p.where.startswith("event ") for p in exc.problems)
