"""`milktrace org add|list|revoke|grant`: admit organisations and manage their roles.

Changes are signed by the registry admin (`--key KEYSTORE`; on a local node the first dev
account, which deployed the registry, by default). ADDRESS may be a 0x address or the name
of a keystore in the keystore folder (its address is read without the password).
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from milktrace import chain, keys, orgs
from milktrace.commands.deploy import add_chain_options, connect_from_args
from milktrace.commands.keys import add_key_options, signer_from_args
from milktrace.errors import KeystoreError

ROLE_CHOICES = ", ".join(r.lower() for r in ("producer", "carrier", "lab", "retailer", "regulator"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("org", help="admit organisations, grant and revoke roles, list them")
    ps = p.add_subparsers(dest="org_command", metavar="add|list|revoke|grant", required=True)

    add = ps.add_parser("add", help="admit an organisation (or grant an admitted one more roles)")
    add.add_argument("address", help="0x address, or a keystore name")
    add.add_argument("--role", action="append", required=True, metavar="ROLE",
                     help=f"role to grant (repeatable): {ROLE_CHOICES}")
    add.add_argument("--name", required=True, help="display name (UTF-8)")
    add.add_argument("--gln", required=True, help="GS1 GLN, 13 digits")
    add.add_argument("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. FR")
    _common(add)
    add.set_defaults(func=run_add)

    grant = ps.add_parser("grant", help="grant roles to an admitted organisation")
    grant.add_argument("address")
    grant.add_argument("--role", action="append", required=True, metavar="ROLE")
    _common(grant)
    grant.set_defaults(func=run_grant)

    rev = ps.add_parser("revoke", help="revoke roles (takes effect at once)")
    rev.add_argument("address")
    which = rev.add_mutually_exclusive_group(required=True)
    which.add_argument("--role", action="append", metavar="ROLE")
    which.add_argument("--all", action="store_true", help="revoke every role")
    _common(rev)
    rev.set_defaults(func=run_revoke)

    ls = ps.add_parser("list", help="list admitted organisations and their current roles")
    add_chain_options(ls)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)


def _common(p: argparse.ArgumentParser) -> None:
    add_chain_options(p)
    add_key_options(p)
    p.add_argument("--confirmations", type=int, default=0, metavar="N")
    p.add_argument("--json", action="store_true")


def _account(ref: str, args: argparse.Namespace) -> str:
    if ref.startswith("0x"):
        return orgs.check_address(ref)
    try:
        return keys.info(keys.resolve(ref, args.keys_dir)).address
    except KeystoreError as exc:
        raise orgs.OrganisationError(f"{ref!r} is neither a 0x address nor a keystore: {exc}") \
            from None


def _setup(args: argparse.Namespace):
    w3, _url = connect_from_args(args)
    dep = chain.load_deployment(w3, args.deployment)
    return w3, dep


def _report(args: argparse.Namespace, change: orgs.OrgChange) -> int:
    if args.json:
        print(json.dumps({"action": change.action, "account": change.account,
                          "roles": orgs.role_names(change.roles), "transactions": change.tx}))
    elif change.action == "unchanged":
        print(f"{change.account}: nothing to change")
    else:
        print(f"{change.account}: {change.action} {', '.join(orgs.role_names(change.roles))}"
              f" ({len(change.tx)} transaction{'s' if len(change.tx) != 1 else ''})")
    return 0


def run_add(args: argparse.Namespace) -> int:
    roles = orgs.parse_roles(args.role)
    account = _account(args.address, args)
    w3, dep = _setup(args)
    sender = chain.default_sender(w3, signer_from_args(args))
    change = orgs.admit(w3, dep, sender, account, name=args.name, gln=args.gln,
                        country=args.country, roles=roles, confirmations=args.confirmations)
    return _report(args, change)


def run_grant(args: argparse.Namespace) -> int:
    roles = orgs.parse_roles(args.role)
    account = _account(args.address, args)
    w3, dep = _setup(args)
    sender = chain.default_sender(w3, signer_from_args(args))
    return _report(args, orgs.grant(w3, dep, sender, account, roles, args.confirmations))


def run_revoke(args: argparse.Namespace) -> int:
    roles = orgs.ALL_ROLES if args.all else orgs.parse_roles(args.role)
    account = _account(args.address, args)
    w3, dep = _setup(args)
    sender = chain.default_sender(w3, signer_from_args(args))
    return _report(args, orgs.revoke(w3, dep, sender, account, roles, args.confirmations))


def run_list(args: argparse.Namespace) -> int:
    w3, dep = _setup(args)
    found = orgs.list_organisations(w3, dep)
    if args.json:
        print(json.dumps([a.as_dict() for a in found], indent=1, ensure_ascii=False))
        return 0
    table = Table(title=f"Organisations of {dep.address} (chain {dep.chain_id})")
    for col in ("id", "account", "name", "GLN", "country", "roles"):
        table.add_column(col)
    for a in found:
        o = a.org
        table.add_row(str(o.org_id), o.account, o.name, o.gln, o.country,
                      ", ".join(orgs.role_names(o.roles)) or "(none)")
    Console(width=max(140, Console().width)).print(table)
    if not found:
        print("no organisation admitted yet")
    return 0
