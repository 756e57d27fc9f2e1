"""The `milktrace` command. Each subcommand lives in milktrace/commands/<name>.py and
exposes `register(subparsers)`; this file only dispatches and turns errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from milktrace.errors import MilktraceError

COMMANDS = ("compile", "node", "keys", "deploy", "org", "ingest", "qr", "serve", "audit", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milktrace", description="Farm-to-shelf traceability for infant milk on an EVM chain.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"milktrace.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"milktrace.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except MilktraceError as exc:
        print(f"milktrace {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"milktrace {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
