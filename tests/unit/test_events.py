"""Decoding registry logs: every event type, crafted with eth_abi as the contract encodes it,
checked field by field and against web3's generic decoder; strict errors name the log."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from milktrace.errors import AuditError
from milktrace.events import (
    EVENT_TYPES,
    ROLE_IDS,
    TOPIC0,
    TOPIC0_OF,
    BatchCommissioned,
    BatchDerived,
    BatchStatusChanged,
    ConditionRecorded,
    CustodyAccepted,
    CustodyHandedOver,
    CustodyHandOverCancelled,
    EventAnchored,
    OrganisationAdmitted,
    QualityRecorded,
    RoleAdminChanged,
    RoleGranted,
    RoleRevoked,
    decode_log,
    decode_logs,
    role_label,
)
from milktrace.types import AnchorKind, Role, Status

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
A1 = to_checksum_address("0x" + "11" * 20)
A2 = to_checksum_address("0x" + "a2" * 20)
BATCH = keccak(text="/01/03760123402002/10/IF250302A")
PARENT = keccak(text="/01/03760123401005/10/BOC-250301")
EID = keccak(text="ni:///sha-256;abc?type=ObjectEvent")
TX = "0x" + "ab" * 32


def abi_events() -> dict[str, dict]:
    """The registry's ABI events, from the interface artifact (compiled when stale)."""
    path = ROOT / "build" / "milktrace" / "TraceRegistry.json"
    if not path.exists():
        from milktrace.compiler import load_artifact

        load_artifact("TraceRegistry")
    abi = json.loads(path.read_text())["abi"]
    return {e["name"]: e for e in abi if e["type"] == "event"}


def topic(value: bytes | str | int) -> str:
    if isinstance(value, int):
        return "0x" + value.to_bytes(32, "big").hex()
    if isinstance(value, str):  # address
        return "0x" + "0" * 24 + value[2:].lower()
    return "0x" + value.rjust(32, b"\0").hex()


def log(
    cls: type, topics: list, types: list[str], values: list, block: int = 7, log_index: int = 3
) -> dict:
    return {
        "address": REGISTRY.lower(),
        "blockNumber": hex(block),
        "transactionIndex": "0x1",
        "logIndex": hex(log_index),
        "transactionHash": TX,
        "blockHash": "0x" + "cd" * 32,
        "removed": False,
        "topics": [TOPIC0_OF[cls], *[topic(t) for t in topics]],
        "data": "0x" + encode(types, values).hex(),
    }


def ascii_fixed(text: str, n: int) -> bytes:
    return text.encode().ljust(n, b"\0")


SAMPLES: dict[type, dict] = {
    OrganisationAdmitted: log(
        OrganisationAdmitted,
        [A1, 7, 3760123400107],
        ["string", "bytes2"],
        ["华美母婴店 <Huamei>", b"CN"],
    ),
    BatchCommissioned: log(
        BatchCommissioned,
        [BATCH, EID, A1],
        [
            "uint64",
            "string",
            "uint32",
            "uint32",
            "uint64",
            "bytes8",
            "uint64",
            "bytes32[]",
            "uint64",
        ],
        [
            3760123402002,
            "IF250302A",
            20250302,
            20260901,
            2480,
            ascii_fixed("KGM", 8),
            3760123400107,
            [PARENT, keccak(b"p2")],
            1740900000,
        ],
    ),
    BatchDerived: log(BatchDerived, [PARENT, EID, BATCH], [], []),
    CustodyHandedOver: log(
        CustodyHandedOver, [BATCH, EID, A1], ["address", "uint64"], [A2, 1740900100]
    ),
    CustodyAccepted: log(
        CustodyAccepted, [BATCH, EID, A2], ["address", "uint64"], [A1, 1740900200]
    ),
    CustodyHandOverCancelled: log(
        CustodyHandOverCancelled, [BATCH, EID, A1], ["address", "uint64"], [A2, 1740900300]
    ),
    QualityRecorded: log(
        QualityRecorded,
        [BATCH, EID, A2],
        ["bytes16", "bool", "int64", "bytes8", "bytes32", "uint64"],
        [
            ascii_fixed("MELAMINE", 16),
            True,
            -50_000,
            ascii_fixed("MGKG", 8),
            keccak(b"report"),
            1740900400,
        ],
    ),
    ConditionRecorded: log(
        ConditionRecorded,
        [BATCH, EID, A2],
        ["bytes32", "uint32", "int32", "int32", "bool", "uint64"],
        [keccak(b"root"), 288, -150, 720, True, 1740900500],
    ),
    BatchStatusChanged: log(
        BatchStatusChanged,
        [BATCH, EID, A1],
        ["uint8", "bytes16", "bytes32", "uint64"],
        [4, ascii_fixed("CRONOBACTER", 16), keccak(b"notice"), 1740900600],
    ),
    EventAnchored: log(EventAnchored, [BATCH, EID, A1], ["uint8", "uint64"], [1, 1740900700]),
    RoleGranted: log(RoleGranted, [ROLE_IDS[Role.LAB], A2, A1], [], []),
    RoleRevoked: log(RoleRevoked, [ROLE_IDS[Role.LAB], A2, A1], [], []),
    RoleAdminChanged: log(RoleAdminChanged, [ROLE_IDS[Role.LAB], bytes(32), keccak(b"x")], [], []),
}


def test_every_abi_event_has_a_decoder_with_the_same_topic0():
    events = abi_events()
    assert set(events) == {cls.kind for cls in EVENT_TYPES}
    for name, ev in events.items():
        sig = f"{name}({','.join(i['type'] for i in ev['inputs'])})"
        assert TOPIC0["0x" + keccak(text=sig).hex()].kind == name


def test_samples_cover_every_event_type():
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.kind)
def test_decoding_matches_web3_generic_decoder(cls):
    """Every field equals what web3's ABI-driven decoder reads from the same log."""
    raw = SAMPLES[cls]
    ours = decode_logs([raw], REGISTRY)[0]
    assert type(ours) is cls
    assert (ours.block, ours.tx_index, ours.log_index, ours.tx) == (7, 1, 3, TX)
    w3 = Web3()
    contract = w3.eth.contract(address=REGISTRY, abi=[abi_events()[cls.kind]])
    receipt_log = {
        **raw,
        "blockNumber": 7,
        "transactionIndex": 1,
        "logIndex": 3,
        "topics": [bytes.fromhex(t[2:]) for t in raw["topics"]],
        "data": bytes.fromhex(raw["data"][2:]),
        "transactionHash": bytes.fromhex(TX[2:]),
        "blockHash": bytes(32),
        "address": REGISTRY,
    }
    theirs = getattr(contract.events, cls.kind)().process_log(receipt_log)["args"]
    assert len(theirs) == len(_fields(ours))
    for (_name, value), ours_value in zip(theirs.items(), _fields(ours), strict=True):
        assert _normal(ours_value) == _normal(value)


def _fields(ev) -> list:
    skip = ("block", "tx_index", "log_index", "tx")
    return [getattr(ev, f.name) for f in dataclasses.fields(ev) if f.name not in skip]


def _normal(v):
    """Bring both decoders' values to one form (ours: text and digit strings; web3: raw)."""
    if isinstance(v, bytes):
        return v.rstrip(b"\0") if len(v) < 32 else v
    if isinstance(v, (Status, AnchorKind)):
        return int(v)
    if isinstance(v, str) and v.isdigit():
        return int(v)
    if isinstance(v, str) and not v.startswith("0x"):
        return v.encode().rstrip(b"\0") if v.isascii() and len(v) <= 16 else v
    if isinstance(v, (list, tuple)):
        return [_normal(x) for x in v]
    return v


def test_commissioning_fields_are_typed():
    ev = decode_logs([SAMPLES[BatchCommissioned]])[0]
    assert isinstance(ev, BatchCommissioned)
    assert ev.gtin == "03760123402002" and ev.site_gln == "3760123400107"
    assert ev.lot == "IF250302A" and ev.unit == "KGM"
    assert ev.production_date == 20250302 and ev.expiry_date == 20260901
    assert ev.parents == (PARENT, keccak(b"p2"))
    assert ev.actor == A1 and ev.batch_id == BATCH and ev.event_id == EID
    assert ev.event_time == 1740900000


def test_quality_value_is_signed_and_codes_are_text():
    ev = decode_logs([SAMPLES[QualityRecorded]])[0]
    assert isinstance(ev, QualityRecorded)
    assert ev.value_micro == -50_000 and ev.test_code == "MELAMINE" and ev.unit == "MGKG"
    assert ev.passed is True and ev.report_hash == keccak(b"report")


def test_organisation_name_is_unicode_and_gln_is_13_digits():
    ev = decode_logs([SAMPLES[OrganisationAdmitted]])[0]
    assert isinstance(ev, OrganisationAdmitted)
    assert ev.name == "华美母婴店 <Huamei>" and ev.gln == "3760123400107" and ev.org_id == 7
    assert ev.country == "CN" and ev.account == A1


def test_status_and_anchor_enums():
    status = decode_logs([SAMPLES[BatchStatusChanged]])[0]
    anchor = decode_logs([SAMPLES[EventAnchored]])[0]
    assert isinstance(status, BatchStatusChanged) and status.status is Status.RECALLED
    assert status.reason == "CRONOBACTER"
    assert isinstance(anchor, EventAnchored) and anchor.anchor_kind is AnchorKind.AGGREGATION


def test_roles_are_named():
    ev = decode_logs([SAMPLES[RoleGranted]])[0]
    assert isinstance(ev, RoleGranted) and ev.role_name == "LAB"
    assert role_label(bytes(32)) == "DEFAULT_ADMIN"


def test_web3_style_logs_with_hexbytes_decode_the_same():
    raw = SAMPLES[CustodyHandedOver]
    hb = {
        **raw,
        "blockNumber": 7,
        "transactionIndex": 1,
        "logIndex": 3,
        "topics": [bytes.fromhex(t[2:]) for t in raw["topics"]],
        "data": bytes.fromhex(raw["data"][2:]),
        "transactionHash": bytes.fromhex(TX[2:]),
    }
    assert decode_logs([hb]) == decode_logs([raw])


# ---------------------------------------------------------------------- strictness


def broken(cls: type, **change) -> dict:
    return {**SAMPLES[cls], **change}


def _dirty_word(raw: dict, word: int, byte: int, value: int = 1) -> dict:
    data = bytearray(bytes.fromhex(raw["data"][2:]))
    data[32 * word + byte] = value
    return {**raw, "data": "0x" + data.hex()}


STRICT_CASES = {
    "unknown topic 0": (
        broken(QualityRecorded, topics=["0x" + "ee" * 32, *SAMPLES[QualityRecorded]["topics"][1:]]),
        "is not a registry event",
    ),
    "anonymous": (broken(QualityRecorded, topics=[]), "no topics"),
    "missing topic": (
        broken(QualityRecorded, topics=SAMPLES[QualityRecorded]["topics"][:3]),
        "3 topics, expected 4",
    ),
    "short data": (
        broken(QualityRecorded, data=SAMPLES[QualityRecorded]["data"][:-64]),
        "160 data bytes, expected 192",
    ),
    "bool not 0/1": (_dirty_word(SAMPLES[QualityRecorded], 1, 31, 2), "is not a bool"),
    "dirty uint64": (_dirty_word(SAMPLES[QualityRecorded], 5, 0), "is not a uint64"),
    "dirty bytes16": (_dirty_word(SAMPLES[QualityRecorded], 0, 20), "is not a bytes16"),
    "int32 out of range": (_dirty_word(SAMPLES[ConditionRecorded], 2, 0, 0x7F), "is not an int32"),
    "dirty address word": (
        _dirty_word(SAMPLES[CustodyHandedOver], 0, 0),
        "is not an ABI-encoded address",
    ),
    "dirty address topic": (
        broken(CustodyAccepted, topics=[*SAMPLES[CustodyAccepted]["topics"][:3], "0x" + "01" * 32]),
        "is not an ABI-encoded address",
    ),
    "status out of range": (_dirty_word(SAMPLES[BatchStatusChanged], 0, 31, 9), "is not a Status"),
    "anchor kind out of range": (
        _dirty_word(SAMPLES[EventAnchored], 0, 31, 5),
        "is not an AnchorKind",
    ),
    "string offset out of bounds": (
        _dirty_word(SAMPLES[OrganisationAdmitted], 0, 30, 0x7F),
        "out of bounds",
    ),
    "string not utf-8": (
        log(
            OrganisationAdmitted, [A1, 1, 3760123400107], ["bytes", "bytes2"], [b"\xff\xfe", b"FR"]
        ),
        "not UTF-8",
    ),
    "trailing bytes": (
        broken(BatchCommissioned, data=SAMPLES[BatchCommissioned]["data"] + "00" * 32),
        "trailing data bytes",
    ),
    "data on a topics-only event": (
        broken(BatchDerived, data="0x" + "00" * 32),
        "32 data bytes, expected 0",
    ),
    "removed": (broken(QualityRecorded, removed=True), "removed"),
}


@pytest.mark.parametrize("case", STRICT_CASES, ids=list(STRICT_CASES))
def test_undecodable_log_is_an_error_naming_it(case):
    raw, why = STRICT_CASES[case]
    ok = SAMPLES[RoleGranted]
    with pytest.raises(AuditError) as err:
        decode_logs([ok, raw])
    text = str(err.value)
    assert why in text
    assert "log #1" in text and "block 7" in text and TX in text and "log index 3" in text


def test_log_from_another_contract_is_an_error():
    raw = broken(QualityRecorded, address="0x" + "99" * 20)
    with pytest.raises(AuditError, match="not the registry"):
        decode_logs([raw], REGISTRY)
    assert decode_log(SAMPLES[QualityRecorded], REGISTRY).kind == "QualityRecorded"


# ---------------------------------------------------------------------- properties

i64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
code = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=16)


@settings(max_examples=200, deadline=None)
@given(value=i64, passed=st.booleans(), when=u64, test=code, unit=code.map(lambda s: s[:8]))
def test_quality_round_trips(value, passed, when, test, unit):
    raw = log(
        QualityRecorded,
        [BATCH, EID, A2],
        ["bytes16", "bool", "int64", "bytes8", "bytes32", "uint64"],
        [ascii_fixed(test, 16), passed, value, ascii_fixed(unit, 8), keccak(b"r"), when],
    )
    ev = decode_logs([raw])[0]
    assert (ev.value_micro, ev.passed, ev.event_time, ev.test_code, ev.unit) == (
        value,
        passed,
        when,
        test,
        unit,
    )


@settings(max_examples=100, deadline=None)
@given(
    lot=st.text(min_size=1, max_size=40),
    parents=st.lists(st.binary(min_size=32, max_size=32), max_size=6),
)
def test_commission_dynamic_fields_round_trip(lot, parents):
    raw = log(
        BatchCommissioned,
        [BATCH, EID, A1],
        [
            "uint64",
            "string",
            "uint32",
            "uint32",
            "uint64",
            "bytes8",
            "uint64",
            "bytes32[]",
            "uint64",
        ],
        [1, lot, 20250101, 20260101, 5, ascii_fixed("LTR", 8), 3760123400015, parents, 9],
    )
    ev = decode_logs([raw])[0]
    assert ev.lot == lot and ev.parents == tuple(parents)
