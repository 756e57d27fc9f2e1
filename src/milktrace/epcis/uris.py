"""GS1 identifiers as they appear in EPCIS: EPC URNs, EPC class/pattern URNs, Digital Link URIs.

Two jobs, kept apart:

* `hash_form(uri)` is the *canonical GS1 Digital Link* that the CBV 2.0 event-hash algorithm
  substitutes for any identifier value (EPC URN → `https://id.gs1.org/...`, Digital Link on any
  host → `id.gs1.org`, short names → AIs, query and CPV dropped, only the finest level kept).
  It never raises: a value that is not a GS1 key is returned as None and hashed as written.
  It mirrors the reference normaliser of the `epcis-event-hash-generator` project, so that our
  hashes match the published test vectors.

* `parse_key(uri)` reads an identifier for *milktrace*: which GTIN, lot, serial, SSCC or GLN it
  names, with GS1 check digits verified, and the on-chain Digital Link path of the unit when it
  has one (`/01/{gtin}/10/{lot}`, `/01/{gtin}/21/{serial}`, `/00/{sscc}`). It returns None for
  URIs that are not GS1 keys and raises `InvalidIdentifier` for malformed ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from milktrace.errors import InvalidIdentifier
from milktrace.identifiers import LOT_RE, check_gln, check_sscc, gs1_check_digit, normalize_gtin

# ----------------------------------------------------------------------------- hash form

# One character of a GS1 AI-encodable string as escaped in an EPC URI (TDS 1.13 table I.3.1).
_C = (r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]"
      r"|[!')(*+,.0-9:;=A-Za-z_-])")
# One character of a CPI component reference.
_CPI = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"

_DL_ESCAPES = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B",
                             ",": "%2C", ":": "%3A"})


def _dl_escape(text: str) -> str:
    """Percent-encode what GS1 Digital Link requires but an EPC URI leaves bare."""
    return text.translate(_DL_ESCAPES)


def _cd(digits: str) -> str:
    return str(gs1_check_digit(digits))


def _gtin14(cp: str, ref: str) -> str:
    """GTIN-14 (with check digit) from a company prefix and an indicator+item reference."""
    body = ref[0] + cp + ref[1:]
    return body + _cd(body)


def _sgtin(m: re.Match[str]) -> str | None:
    cp, ref, serial = m.groups()
    if len(cp) + len(ref) != 13:
        return None
    return f"https://id.gs1.org/01/{_gtin14(cp, ref)}/21/{_dl_escape(serial)}"


def _lgtin(m: re.Match[str]) -> str | None:
    cp, ref, lot = m.groups()
    if len(cp) + len(ref) != 13:
        return None
    return f"https://id.gs1.org/01/{_gtin14(cp, ref)}/10/{_dl_escape(lot)}"


def _sscc(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    if len(cp) + len(ref) != 17:
        return None
    body = ref[0] + cp + ref[1:]
    return f"https://id.gs1.org/00/{body}{_cd(body)}"


def _sgln(m: re.Match[str]) -> str | None:
    cp, ref, ext = m.groups()
    if len(cp) + len(ref) != 12:
        return None
    gln = cp + ref + _cd(cp + ref)
    return f"https://id.gs1.org/414/{gln}" + ("" if ext == "0" else f"/254/{_dl_escape(ext)}")


def _pgln(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    if len(cp) + len(ref) != 12:
        return None
    return f"https://id.gs1.org/417/{cp}{ref}{_cd(cp + ref)}"


def _grai(m: re.Match[str]) -> str | None:
    cp, ref, serial = m.groups()
    if len(cp) + len(ref) != 12:
        return None
    body = "0" + cp + ref
    return f"https://id.gs1.org/8003/{body}{_cd(body)}{_dl_escape(serial)}"


def _giai(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    if len(cp) + len(ref.replace("%", "")) > 32:
        return None
    return f"https://id.gs1.org/8004/{cp}{_dl_escape(ref)}"


def _gsrn(ai: str):  # noqa: ANN202 - tiny factory
    def conv(m: re.Match[str]) -> str | None:
        cp, ref = m.groups()
        if len(cp) + len(ref) != 17:
            return None
        return f"https://id.gs1.org/{ai}/{cp}{ref}{_cd(cp + ref)}"
    return conv


def _gdti(m: re.Match[str]) -> str | None:
    cp, ref, serial = m.groups()
    if len(cp) + len(ref) != 12:
        return None
    return f"https://id.gs1.org/253/{cp}{ref}{_cd(cp + ref)}{_dl_escape(serial)}"


def _cpi(m: re.Match[str]) -> str | None:
    cp, ref, serial = m.groups()
    if len(cp) + len(ref) > 36:
        return None
    return f"https://id.gs1.org/8010/{_dl_escape(cp + ref)}/8011/{serial}"


def _sgcn(m: re.Match[str]) -> str | None:
    cp, ref, serial = m.groups()
    if len(cp) + len(ref) != 12:
        return None
    return f"https://id.gs1.org/255/{cp}{ref}{_cd(cp + ref)}{serial}"


def _ginc(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    return f"https://id.gs1.org/401/{cp}{_dl_escape(ref)}"


def _gsin(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    if len(cp) + len(ref) != 16:
        return None
    return f"https://id.gs1.org/402/{cp}{ref}{_cd(cp + ref)}"


def _itip(m: re.Match[str]) -> str | None:
    cp, ref, piece, total, serial = m.groups()
    if len(cp) + len(ref) != 13:
        return None
    tail = "" if serial is None else f"/21/{_dl_escape(serial)}"
    return f"https://id.gs1.org/8006/{_gtin14(cp, ref)}{piece}{total}{tail}"


def _upui(m: re.Match[str]) -> str | None:
    cp, ref, serial = m.groups()
    if len(cp) + len(ref) != 13:
        return None
    return f"https://id.gs1.org/01/{_gtin14(cp, ref)}/235/{_dl_escape(serial)}"


def _gtin_class(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    if len(cp) + len(ref) != 13:
        return None
    return f"https://id.gs1.org/01/{_gtin14(cp, ref)}"


def _idpat_12(ai: str, pad: str = ""):  # noqa: ANN202
    def conv(m: re.Match[str]) -> str | None:
        cp, ref = m.groups()
        if len(cp) + len(ref) != 12:
            return None
        body = pad + cp + ref
        return f"https://id.gs1.org/{ai}/{body}{_cd(body)}"
    return conv


def _idpat_cpi(m: re.Match[str]) -> str | None:
    cp, ref = m.groups()
    return f"https://id.gs1.org/8010/{_dl_escape(cp + ref)}"


_CP = r"(\d{6,12})"
_URN_RULES: list[tuple[re.Pattern[str], object]] = [
    (re.compile(rf"^urn:epc:id:sgtin:{_CP}\.(\d{{1,7}})\.({_C}{{1,20}})$"), _sgtin),
    (re.compile(rf"^urn:epc:id:sscc:{_CP}\.(\d{{5,11}})$"), _sscc),
    (re.compile(rf"^urn:epc:id:sgln:{_CP}\.(\d{{0,6}})\.({_C}{{1,20}})$"), _sgln),
    (re.compile(rf"^urn:epc:id:pgln:{_CP}\.(\d{{0,6}})$"), _pgln),
    (re.compile(rf"^urn:epc:id:grai:{_CP}\.(\d{{0,6}})\.({_C}{{1,16}})$"), _grai),
    (re.compile(rf"^urn:epc:id:giai:{_CP}\.({_C}{{1,24}})$"), _giai),
    (re.compile(rf"^urn:epc:id:gsrn:{_CP}\.(\d{{5,11}})$"), _gsrn("8018")),
    (re.compile(rf"^urn:epc:id:gsrnp:{_CP}\.(\d{{5,11}})$"), _gsrn("8017")),
    (re.compile(rf"^urn:epc:id:gdti:{_CP}\.(\d{{0,6}})\.({_C}{{0,17}})$"), _gdti),
    (re.compile(rf"^urn:epc:id:cpi:{_CP}\.({_CPI}{{1,24}})\.(\d{{1,12}})$"), _cpi),
    (re.compile(rf"^urn:epc:id:sgcn:{_CP}\.(\d{{0,6}})\.(\d{{1,12}})$"), _sgcn),
    (re.compile(rf"^urn:epc:id:ginc:{_CP}\.({_C}{{1,24}})$"), _ginc),
    (re.compile(rf"^urn:epc:id:gsin:{_CP}\.(\d{{4,10}})$"), _gsin),
    (re.compile(rf"^urn:epc:id:itip:{_CP}\.(\d{{1,7}})\.(\d\d)\.(\d\d)\.({_C}{{1,20}})$"), _itip),
    (re.compile(rf"^urn:epc:id:upui:{_CP}\.(\d{{1,7}})\.({_C}{{1,28}})$"), _upui),
    (re.compile(rf"^urn:epc:class:lgtin:{_CP}\.(\d{{1,7}})\.({_C}{{1,20}})$"), _lgtin),
    (re.compile(rf"^urn:epc:idpat:sgtin:{_CP}\.(\d{{1,7}})\.\*$"), _gtin_class),
    (re.compile(rf"^urn:epc:idpat:upui:{_CP}\.(\d{{1,7}})\.\*$"), _gtin_class),
    (re.compile(rf"^urn:epc:idpat:grai:{_CP}\.(\d{{0,6}})\.\*$"), _idpat_12("8003", "0")),
    (re.compile(rf"^urn:epc:idpat:gdti:{_CP}\.(\d{{0,6}})\.\*$"), _idpat_12("253")),
    (re.compile(rf"^urn:epc:idpat:sgcn:{_CP}\.(\d{{0,6}})\.\*$"), _idpat_12("255")),
    (re.compile(rf"^urn:epc:idpat:cpi:{_CP}\.({_CPI}{{1,24}})\.\*$"), _idpat_cpi),
    (re.compile(rf"^urn:epc:idpat:itip:{_CP}\.(\d{{1,7}})\.(\d\d)\.(\d\d)\.\*()$"),
     lambda m: _itip_pattern(m)),
]


def _itip_pattern(m: re.Match[str]) -> str | None:
    cp, ref, piece, total, _ = m.groups()
    if len(cp) + len(ref) != 13:
        return None
    return f"https://id.gs1.org/8006/{_gtin14(cp, ref)}{piece}{total}"


# Digital Link primary keys and the short names some URIs use instead of AIs.
_SHORT_NAMES = {"gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
                "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
                "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22",
                "lot": "10", "ser": "21"}
_PRIMARY = {"01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401",
            "402", "8003", "8004"}
_X = r"[\"'\-.0-9;<=>?A-Z_a-z]"  # what the canonical form allows in lots, serials, refs
_DL_VALID = [re.compile(p) for p in (
    r"^00/\d{18}$", rf"^01/\d{{14}}/21/{_X}{{0,20}}$", rf"^01/\d{{14}}/10/{_X}{{0,20}}$",
    r"^01/\d{14}$", rf"^01/\d{{14}}/235/{_X}{{0,28}}$", rf"^253/\d{{13}}{_X}{{0,17}}$",
    r"^255/\d{13}\d{0,12}$", rf"^401/{_X}{{0,30}}$", r"^402/\d{17}$", r"^414/\d{13}$",
    rf"^414/\d{{13}}/254/{_X}{{0,20}}$", r"^417/\d{13}$", rf"^8003/\d{{14}}{_X}{{0,16}}$",
    rf"^8004/{_X}{{0,30}}$", rf"^8006/\d{{18}}/21/{_X}{{0,20}}$",
    rf"^8006/\d{{18}}/10/{_X}{{0,20}}$", r"^8006/\d{18}$",
    r"^8010/[#\-/0-9A-Z]{0,30}/8011/\d{0,12}$", r"^8010/[#\-/0-9A-Z]{0,30}$",
    r"^8017/\d{18}$", r"^8018/\d{18}$")]
_HTTP = re.compile(r"^https?://[^/?#]*(/[^?#]*)?")


def _dl_segments(uri: str) -> list[str] | None:
    """The path segments of a GS1 Digital Link from its primary key on (AIs, not short names)."""
    m = _HTTP.match(uri)
    if not m or not m.group(1):
        return None
    segs = m.group(1).split("/")[1:]
    for i in range(len(segs) - 1):
        key = _SHORT_NAMES.get(segs[i], segs[i])
        if key in _PRIMARY and re.match(r"^\d{4}", segs[i + 1]) and len(segs[i + 1]) > 4:
            out = [_SHORT_NAMES.get(s, s) if j % 2 == 0 else s for j, s in enumerate(segs[i:])]
            return [s for s in out if s != ""] if out[-1] == "" else out
    return None


_URN_BY_SCHEME: dict[str, list[tuple[re.Pattern[str], object]]] = {}
for _pattern, _conv in _URN_RULES:
    _scheme = ":".join(_pattern.pattern[1:].split(":")[:4]) + ":"
    _URN_BY_SCHEME.setdefault(_scheme, []).append((_pattern, _conv))


@lru_cache(maxsize=65536)
def hash_form(uri: str) -> str | None:
    """The canonical GS1 Digital Link of an identifier value for the event hash, or None."""
    if "." not in uri:
        return None
    if uri.startswith("urn:epc:"):
        scheme = ":".join(uri.split(":", 4)[:4]) + ":"
        for pattern, conv in _URN_BY_SCHEME.get(scheme, ()):
            m = pattern.match(uri)
            if m:
                return conv(m)  # type: ignore[operator]
        return None
    segs = _dl_segments(uri)
    if segs is None:
        return None
    if segs[0] == "01" and segs[1].isdigit() and len(segs[1]) in (8, 12, 13):
        segs[1] = segs[1].zfill(14)
    pairs = list(zip(segs[2::2], segs[3::2], strict=False))
    if segs[0] in ("01", "8006"):
        pairs = [(k, v) for k, v in pairs if k != "22"]  # drop the CPV
        if any(k == "21" for k, _ in pairs):
            pairs = [(k, v) for k, v in pairs if k != "10"]  # finest level only
    path = "/".join([segs[0], segs[1], *[x for kv in pairs for x in kv]])
    if len(segs) % 2:  # a dangling qualifier without value
        return None
    if any(p.match(path) for p in _DL_VALID):
        return "https://id.gs1.org/" + path
    return None


# ----------------------------------------------------------------------------- milktrace keys

@dataclass(frozen=True)
class Gs1Key:
    """What a GS1 identifier names, with verified check digits.

    `kind` is one of: "sgtin" (a serialised item), "lgtin" (a batch: GTIN + lot), "gtin" (a
    product class, no lot), "sscc" (a logistic unit), "sgln" (a location), "pgln" (a party),
    or "other" (a GS1 key milktrace does not track: GRAI, GIAI, GDTI, ...).
    `path` is the unit's on-chain Digital Link path when it can have one.
    """

    kind: str
    uri: str
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None
    gln: str | None = None
    extension: str | None = None
    expiry: str | None = None  # YYMMDD from a Digital Link ?17=
    path: str | None = None
    path_problem: str | None = None  # why `path` is None for an sgtin/lgtin


def _unit_path(kind: str, gtin: str, value: str) -> tuple[str | None, str | None]:
    ai = "10" if kind == "lgtin" else "21"
    what = "lot" if kind == "lgtin" else "serial"
    if LOT_RE.match(value):
        return f"/01/{gtin}/{ai}/{value}", None
    return None, (f"{what} {value!r} cannot name a unit on chain: expected 1-20 characters "
                  "from A-Z a-z 0-9 - . _")


def _from_urn(uri: str) -> Gs1Key:
    scheme = uri.split(":")[3] if uri.count(":") >= 4 else ""
    canonical = hash_form(uri)
    if canonical is None:
        raise InvalidIdentifier(f"{uri!r}: not a well-formed EPC URI for scheme {scheme!r} "
                                "(check the company prefix and reference lengths)")
    segs = canonical.removeprefix("https://id.gs1.org/").split("/")
    if uri.startswith("urn:epc:id:sgtin:") or uri.startswith("urn:epc:class:lgtin:"):
        kind = "sgtin" if ":sgtin:" in uri else "lgtin"
        gtin, value = segs[1], unquote(segs[3])
        path, why = _unit_path(kind, gtin, value)
        return Gs1Key(kind, uri, gtin=gtin, lot=value if kind == "lgtin" else None,
                      serial=value if kind == "sgtin" else None, path=path, path_problem=why)
    if uri.startswith("urn:epc:idpat:sgtin:"):
        return Gs1Key("gtin", uri, gtin=segs[1])
    if scheme == "sscc":
        return Gs1Key("sscc", uri, sscc=segs[1], path=f"/00/{segs[1]}")
    if scheme == "sgln":
        return Gs1Key("sgln", uri, gln=segs[1],
                      extension=unquote(segs[3]) if len(segs) > 3 else None)
    if scheme == "pgln":
        return Gs1Key("pgln", uri, gln=segs[1])
    return Gs1Key("other", uri)


def _from_digital_link(uri: str, segs: list[str]) -> Gs1Key:
    key, value = segs[0], unquote(segs[1])
    quals = dict(zip(segs[2::2], (unquote(v) for v in segs[3::2]), strict=False))
    query = uri.split("?", 1)[1].split("#", 1)[0] if "?" in uri else ""
    expiry = dict(q.split("=", 1) for q in query.split("&") if "=" in q).get("17")
    if key == "01":
        gtin = normalize_gtin(value)
        if "21" in quals:
            path, why = _unit_path("sgtin", gtin, quals["21"])
            return Gs1Key("sgtin", uri, gtin=gtin, serial=quals["21"], lot=quals.get("10"),
                          path=path, path_problem=why, expiry=expiry)
        if "10" in quals:
            path, why = _unit_path("lgtin", gtin, quals["10"])
            return Gs1Key("lgtin", uri, gtin=gtin, lot=quals["10"], path=path,
                          path_problem=why, expiry=expiry)
        return Gs1Key("gtin", uri, gtin=gtin, expiry=expiry)
    if key == "00":
        sscc = check_sscc(value)
        return Gs1Key("sscc", uri, sscc=sscc, path=f"/00/{sscc}")
    if key == "414":
        return Gs1Key("sgln", uri, gln=check_gln(value), extension=quals.get("254"))
    if key == "417":
        return Gs1Key("pgln", uri, gln=check_gln(value))
    return Gs1Key("other", uri)


@lru_cache(maxsize=65536)
def parse_key(uri: str) -> Gs1Key | None:
    """What a GS1 identifier names (check digits verified), or None for a non-GS1 URI.

    Raises InvalidIdentifier for an EPC URN that is malformed or a Digital Link whose key has
    a wrong length or check digit.
    """
    if not isinstance(uri, str):
        return None
    if uri.startswith("urn:epc:id:") or uri.startswith("urn:epc:class:") \
            or uri.startswith("urn:epc:idpat:"):
        return _from_urn(uri)
    if not (uri.startswith("http://") or uri.startswith("https://")):
        return None
    segs = _dl_segments(uri)
    if segs is None:
        return None
    return _from_digital_link(uri, segs)
