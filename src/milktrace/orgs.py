"""Organisations: admit, grant and revoke roles, list — signed by the consortium admin.

An organisation is an address with a name, a GLN and a country, recorded on chain by
`admitOrganisation` (event `OrganisationAdmitted`, GLN indexed as topic 3). Its current roles
are the bit set in `organisation(account)`, kept in step with OpenZeppelin AccessControl by
the registry; `revokeRole` takes effect at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from milktrace.chain import Deployment, Sender, registry, sender_address, transact
from milktrace.errors import InvalidIdentifier, MilktraceError
from milktrace.identifiers import check_gln
from milktrace.types import Organisation, Role

log = logging.getLogger(__name__)

ROLE_IDS: dict[Role, bytes] = {r: keccak(text=r.role_name) for r in Role}
DEFAULT_ADMIN_ROLE = bytes(32)
ALL_ROLES = sum(int(r) for r in Role)
ADMITTED_TOPIC = keccak(text="OrganisationAdmitted(address,uint32,uint64,string,bytes2)")


class OrganisationError(MilktraceError, ValueError):
    """An organisation command cannot be carried out (not admin, unknown account, ...)."""


def parse_roles(names: Iterable[str]) -> int:
    """`["producer", "LAB_ROLE"]` → the role bit set."""
    bits = 0
    for name in names:
        try:
            bits |= Role.parse(name)
        except ValueError as exc:
            raise OrganisationError(str(exc)) from None
    return bits


def role_names(bits: int) -> list[str]:
    return [r.name.lower() for r in Role if bits & r]


def check_country(country: str) -> str:
    cc = (country or "").strip().upper()
    if len(cc) != 2 or not cc.isascii() or not cc.isalpha():
        raise OrganisationError(f"country {country!r}: expected an ISO 3166-1 alpha-2 code "
                                "such as FR, CN, NZ")
    return cc


def check_address(value: str) -> str:
    if not Web3.is_address(value):
        raise OrganisationError(f"address {value!r}: expected a 0x-prefixed 20-byte address")
    return to_checksum_address(value)


@dataclass(frozen=True)
class AdmittedOrganisation:
    """An organisation as `org list` shows it."""

    org: Organisation
    admitted_block: int

    def as_dict(self) -> dict:
        o = self.org
        return {"id": o.org_id, "account": o.account, "name": o.name, "gln": o.gln,
                "country": o.country, "roles": role_names(o.roles), "roleBits": o.roles,
                "admittedBlock": self.admitted_block}


def _decode_admitted(w3: Web3, dep: Deployment, raw: dict) -> tuple[Organisation, int]:
    ev = registry(w3, dep).events.OrganisationAdmitted().process_log(raw)  # type: ignore[arg-type]
    a = ev["args"]
    country = bytes(a["country"]).rstrip(b"\0").decode("ascii", "replace")
    org = Organisation(account=a["account"], name=a["name"], gln=str(a["gln"]).zfill(13),
                       country=country, roles=0, org_id=int(a["orgId"]))
    return org, int(ev["blockNumber"])


def admitted_logs(w3: Web3, dep: Deployment, gln: str | None = None,
                  account: str | None = None) -> list[dict]:
    topics: list = ["0x" + ADMITTED_TOPIC.hex(),
                    None if account is None else "0x" + bytes(12).hex() + account[2:].lower(),
                    None,
                    None if gln is None else "0x" + int(gln).to_bytes(32, "big").hex()]
    while topics and topics[-1] is None:
        topics.pop()
    logs = w3.eth.get_logs({"address": Web3.to_checksum_address(dep.address),
                            "fromBlock": dep.deploy_block, "toBlock": "latest",
                            "topics": topics})
    return [dict(x) for x in logs]


def current_roles(w3: Web3, dep: Deployment, account: str) -> tuple[int, int]:
    """(orgId, role bits) stored for `account` now; (0, 0) when not admitted."""
    stored = registry(w3, dep).functions.organisation(account).call()
    return int(stored[0]), int(stored[1])


def organisation(w3: Web3, dep: Deployment, account: str) -> Organisation | None:
    """The admitted organisation of `account` with its current roles, or None."""
    account = check_address(account)
    org_id, roles = current_roles(w3, dep, account)
    if org_id == 0:
        return None
    logs = admitted_logs(w3, dep, account=account)
    if not logs:  # admitted before deployBlock? cannot be; but never invent a name
        return Organisation(account, "", "", "", roles, org_id)
    org, _ = _decode_admitted(w3, dep, logs[-1])
    return replace(org, roles=roles)


def list_organisations(w3: Web3, dep: Deployment) -> list[AdmittedOrganisation]:
    """Every admitted organisation, by id, with its current roles."""
    out = []
    for raw in admitted_logs(w3, dep):
        org, block = _decode_admitted(w3, dep, raw)
        _, roles = current_roles(w3, dep, org.account)
        out.append(AdmittedOrganisation(replace(org, roles=roles), block))
    return sorted(out, key=lambda a: a.org.org_id)


def _require_admin(w3: Web3, dep: Deployment, sender: Sender) -> None:
    who = sender_address(sender)
    if not registry(w3, dep).functions.hasRole(DEFAULT_ADMIN_ROLE, who).call():
        raise OrganisationError(f"{who} is not the registry admin of {dep.address} "
                                "(sign with the admin key: --key KEYSTORE)")


@dataclass(frozen=True)
class OrgChange:
    """What an org command did: 'admitted', 'granted', 'revoked' or 'unchanged'."""

    action: str
    account: str
    roles: int
    tx: list[str]


def admit(w3: Web3, dep: Deployment, sender: Sender, account: str, *, name: str, gln: str,
          country: str, roles: int, confirmations: int = 0) -> OrgChange:
    """Admit `account` with `roles`; for an organisation already admitted with the same GLN,
    grant the roles it lacks (idempotent)."""
    account = check_address(account)
    try:
        gln = check_gln(gln)
    except InvalidIdentifier as exc:
        raise OrganisationError(str(exc)) from None
    country = check_country(country)
    if not name or not name.strip():
        raise OrganisationError("name: expected a non-empty display name")
    if roles & ~ALL_ROLES or roles == 0:
        raise OrganisationError("roles: expected at least one of "
                                + ", ".join(r.name.lower() for r in Role))
    _require_admin(w3, dep, sender)
    if account == sender_address(sender):
        raise OrganisationError(f"{account} is the admin's own account: an organisation needs "
                                "its own key (nobody grants roles to itself)")
    existing = organisation(w3, dep, account)
    contract = registry(w3, dep)
    if existing is None:
        receipt = transact(w3, contract.functions.admitOrganisation(
            account, name.strip(), int(gln), country.encode("ascii"), roles), sender,
            confirmations=confirmations)
        log.info("admitted %s (%s, GLN %s) with roles %s", account, name, gln, role_names(roles))
        return OrgChange("admitted", account, roles, [receipt["transactionHash"].to_0x_hex()])
    if existing.gln and existing.gln != gln:
        raise OrganisationError(f"{account} is already admitted as {existing.name!r} with GLN "
                                f"{existing.gln}, not {gln}")
    return grant(w3, dep, sender, account, roles & ~existing.roles, confirmations)


def grant(w3: Web3, dep: Deployment, sender: Sender, account: str, roles: int,
          confirmations: int = 0) -> OrgChange:
    account = check_address(account)
    _require_admin(w3, dep, sender)
    org_id, have = current_roles(w3, dep, account)
    if org_id == 0:
        raise OrganisationError(f"{account} is not an admitted organisation: "
                                "`milktrace org add` it first")
    contract = registry(w3, dep)
    txs = []
    for role in Role:
        if roles & role and not have & role:
            r = transact(w3, contract.functions.grantRole(ROLE_IDS[role], account), sender,
                         confirmations=confirmations)
            txs.append(r["transactionHash"].to_0x_hex())
    return OrgChange("granted" if txs else "unchanged", account, roles & ~have, txs)


def revoke(w3: Web3, dep: Deployment, sender: Sender, account: str, roles: int,
           confirmations: int = 0) -> OrgChange:
    """Revoke `roles` (a bit set; ALL_ROLES for every one) from `account`; at once on chain."""
    account = check_address(account)
    _require_admin(w3, dep, sender)
    org_id, have = current_roles(w3, dep, account)
    if org_id == 0:
        raise OrganisationError(f"{account} is not an admitted organisation of {dep.address}")
    contract = registry(w3, dep)
    txs = []
    for role in Role:
        if roles & role and have & role:
            r = transact(w3, contract.functions.revokeRole(ROLE_IDS[role], account), sender,
                         confirmations=confirmations)
            txs.append(r["transactionHash"].to_0x_hex())
    return OrgChange("revoked" if txs else "unchanged", account, roles & have, txs)

