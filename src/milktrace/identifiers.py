"""GS1 identifiers and Digital Link paths: one key from the QR code to the chain.

A batch is `/01/{GTIN-14}/10/{lot}`; its on-chain id is keccak256 of that path (UTF-8).
Lots are restricted to `A-Z a-z 0-9 - . _` (1–20 characters), the GS1 characters that need
no percent-encoding in a Digital Link URI, so the path is canonical as written; the registry
checks the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from eth_utils import keccak

from milktrace.errors import InvalidGtin, InvalidIdentifier

LOT_RE = re.compile(r"^[A-Za-z0-9._-]{1,20}$")


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of the digits in `body` (weights 3,1,… from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _check_key(value: str, length: int, what: str, error: type[InvalidIdentifier]) -> str:
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise error(f"{what} {value!r}: expected {length} digits")
    if len(text) != length:
        raise error(f"{what} {text}: expected {length} digits, got {len(text)}")
    want = gs1_check_digit(text[:-1])
    if int(text[-1]) != want:
        raise error(f"{what} {text}: check digit is {text[-1]}, expected {want}")
    return text


def normalize_gtin(value: str | int) -> str:
    """A GTIN-8/12/13/14 as GTIN-14 (left-padded), check digit verified."""
    text = str(value).strip()
    if text.isdigit() and len(text) in (8, 12, 13):
        text = text.zfill(14)
    return _check_key(text, 14, "GTIN", InvalidGtin)


def check_gln(value: str | int) -> str:
    """A 13-digit GLN, check digit verified."""
    return _check_key(str(value), 13, "GLN", InvalidIdentifier)


def check_sscc(value: str | int) -> str:
    """An 18-digit SSCC, check digit verified."""
    return _check_key(str(value), 18, "SSCC", InvalidIdentifier)


def check_lot(lot: str) -> str:
    if not LOT_RE.match(lot or ""):
        raise InvalidIdentifier(
            f"lot {lot!r}: expected 1-20 characters from A-Z a-z 0-9 - . _")
    return lot


def batch_path(gtin: str | int, lot: str) -> str:
    """The canonical Digital Link path of a batch."""
    return f"/01/{normalize_gtin(gtin)}/10/{check_lot(lot)}"


def path_id(path: str) -> bytes:
    """The on-chain id of a Digital Link path: keccak256 of its UTF-8 bytes."""
    return keccak(path.encode("utf-8"))


def batch_id(gtin: str | int, lot: str) -> bytes:
    return path_id(batch_path(gtin, lot))


@dataclass(frozen=True)
class DigitalLink:
    """A parsed GS1 Digital Link: the unit's canonical path and its query attributes."""

    path: str
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None
    expiry: str | None = None  # YYMMDD from ?17=

    @property
    def id(self) -> bytes:
        return path_id(self.path)


def parse_digital_link(uri: str) -> DigitalLink:
    """Parse `https://host/01/{gtin}/10/{lot}?17=YYMMDD`, a bare path, or `#/01/...`.

    Raises InvalidIdentifier naming what is wrong.
    """
    parts = urlsplit(uri.strip())
    path, query_text = parts.path, parts.query
    if parts.fragment.startswith("/"):  # hosts without rewrites: https://host/#/01/...?17=...
        path, _, fragment_query = parts.fragment.partition("?")
        query_text = fragment_query or query_text
    segs = [unquote(s) for s in path.split("/") if s]
    # a Digital Link may have a path prefix before the primary key
    for i, s in enumerate(segs):
        if s in ("01", "00") and i + 1 < len(segs):
            segs = segs[i:]
            break
    else:
        raise InvalidIdentifier(
            f"{uri!r}: expected a GS1 Digital Link path /01/{{GTIN}}/10/{{lot}}")
    query = dict(q.split("=", 1) for q in query_text.split("&") if "=" in q)
    expiry = query.get("17")
    if segs[0] == "00":
        if len(segs) != 2:
            raise InvalidIdentifier(f"{uri!r}: expected /00/{{SSCC}}")
        sscc = check_sscc(segs[1])
        return DigitalLink(path=f"/00/{sscc}", sscc=sscc)
    gtin = normalize_gtin(segs[1])
    if len(segs) == 4 and segs[2] == "10":
        lot = check_lot(segs[3])
        return DigitalLink(path=f"/01/{gtin}/10/{lot}", gtin=gtin, lot=lot, expiry=expiry)
    if len(segs) == 4 and segs[2] == "21":
        serial = check_lot(segs[3])
        return DigitalLink(path=f"/01/{gtin}/21/{serial}", gtin=gtin, serial=serial)
    raise InvalidIdentifier(
        f"{uri!r}: expected /01/{{GTIN}}/10/{{lot}} or /01/{{GTIN}}/21/{{serial}}")
