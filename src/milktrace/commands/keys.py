"""`milktrace keys new NAME` / `keys list`: encrypted signing keys.

Also home of the key and password options that deploy, org and ingest share
(`add_key_options`, `signer_from_args`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eth_account.signers.local import LocalAccount

from milktrace import keys


def add_password_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("password (default: $MILKTRACE_KEY_PASSWORD, else a prompt)")
    g.add_argument("--password-env", metavar="VAR",
                   help="read the keystore password from environment variable VAR")
    g.add_argument("--password-file", type=Path, metavar="FILE",
                   help="read the keystore password from FILE (first line)")


def add_key_options(p: argparse.ArgumentParser, required: bool = False,
                    help: str | None = None) -> None:
    p.add_argument("--key", metavar="KEYSTORE", required=required,
                   help=help or "keystore file, or a key name in --keys-dir"
                   + ("" if required else " (default on a local node: its first dev account)"))
    p.add_argument("--keys-dir", type=Path, metavar="DIR",
                   help="keystore folder (default: $MILKTRACE_KEYSTORES or keystores/)")
    add_password_options(p)


def password_from_args(args: argparse.Namespace, confirm: bool = False) -> str:
    return keys.read_password(env_var=args.password_env, file=args.password_file,
                              confirm=confirm)


def signer_from_args(args: argparse.Namespace) -> LocalAccount | None:
    """The unlocked keystore named by --key, or None when no --key was given."""
    if not getattr(args, "key", None):
        return None
    path = keys.resolve(args.key, args.keys_dir)
    keys.info(path)  # a clear error for a missing file before asking for a password
    return keys.unlock(path, password_from_args(args), args.keys_dir)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="create and list encrypted signing keys (keystores)")
    ks = p.add_subparsers(dest="keys_command", metavar="new|list", required=True)

    new = ks.add_parser("new", help="create an encrypted keystore NAME.json (mode 600)")
    new.add_argument("name", help="key name, e.g. dairy-plant-1")
    new.add_argument("--dir", type=Path, help="keystore folder (default: keystores/)")
    new.add_argument("--json", action="store_true", help="print name, address and path as JSON")
    new.add_argument("--scrypt-n", type=int, default=keys.SCRYPT_N, metavar="N",
                     help=argparse.SUPPRESS)  # tests only: a cheaper scrypt cost
    add_password_options(new)
    new.set_defaults(func=run_new)

    ls = ks.add_parser("list", help="list keystores (names and addresses; never keys)")
    ls.add_argument("--dir", type=Path, help="keystore folder (default: keystores/)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)


def run_new(args: argparse.Namespace) -> int:
    password = password_from_args(args, confirm=True)
    info = keys.new_key(args.name, password, args.dir, scrypt_n=args.scrypt_n)
    if args.json:
        print(json.dumps(info.as_dict()))
    else:
        print(f"created {info.path} (mode 600)")
        print(f"address {info.address}")
        print("Keep the password safe: without it the key cannot be used or recovered.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    found = keys.list_keys(args.dir)
    if args.json:
        print(json.dumps([k.as_dict() for k in found], indent=1))
        return 0
    if not found:
        print(f"no keystores in {args.dir or keys.default_dir()}")
        return 0
    width = max(len(k.name) for k in found)
    for k in found:
        print(f"{k.name:<{width}}  {k.address}  {k.path}")
    return 0
