"""Every error milktrace raises. One root; specific errors also inherit a builtin.

Messages say what was expected and what was found, and name the file, line or event.
They never contain a key, a password or a mnemonic.
"""

from __future__ import annotations


class MilktraceError(Exception):
    """Root of every milktrace error."""


class SetupError(MilktraceError, RuntimeError):
    """Something `make setup` installs is missing or broken."""


class CompileError(MilktraceError, ValueError):
    """Solidity did not compile; the message lists `file:line: message` per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NodeError(MilktraceError, RuntimeError):
    """A local node could not be started, reached or stopped."""


class DeploymentError(MilktraceError, RuntimeError):
    """The deployment manifest is missing, for another chain, or would be overwritten."""


class KeystoreError(MilktraceError, ValueError):
    """A keystore is missing, unreadable or its password is wrong."""


class InvalidIdentifier(MilktraceError, ValueError):
    """A GTIN, GLN, SSCC, lot or Digital Link path is malformed."""


class InvalidGtin(InvalidIdentifier):
    """A GTIN has the wrong length, non-digits or a wrong check digit."""


class ValidationError(MilktraceError, ValueError):
    """An input file has problems; `problems` lists every one of them.

    Each problem names file, line or event index, field and what was expected.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        head = f"{len(problems)} problem(s); nothing was sent"
        super().__init__("\n".join([head, *lines]))


class Problem:
    """One validation problem: where it is, which field, what was expected."""

    __slots__ = ("file", "where", "field", "message")

    def __init__(self, file: str, where: str, field: str, message: str) -> None:
        self.file = file
        self.where = where
        self.field = field
        self.message = message

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.file}: {self.where}:{field} {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self!s})"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "where": self.where, "field": self.field,
                "message": self.message}


class RpcError(MilktraceError, RuntimeError):
    """A JSON-RPC call failed after its retries."""


class AuditError(MilktraceError, RuntimeError):
    """The audit could not read or decode the chain (not a failed check)."""
