"""Subcommands of `milktrace`; each module has `register(subparsers)` setting `func`."""
