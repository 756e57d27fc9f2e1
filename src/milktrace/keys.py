"""Encrypted signing keys: eth-account keystores (version 3, scrypt) in `keystores/`.

A keystore is `keystores/<name>.json`, created with mode 600 in a folder with mode 700.
Its address is readable without the password; the key is not. Passwords come from an
environment variable (`MILKTRACE_KEY_PASSWORD` by default), a file, or a terminal prompt —
never from a command-line argument (which other users could read in `ps`).

Nothing here logs, prints or puts in an error message a private key or a password; a wrong
password is reported as such, naming only the keystore file.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_hex_address, to_checksum_address

from milktrace.errors import KeystoreError
from milktrace.paths import project_root

log = logging.getLogger(__name__)

PASSWORD_ENV = "MILKTRACE_KEY_PASSWORD"
KEYSTORE_DIR_ENV = "MILKTRACE_KEYSTORES"
#: scrypt cost (N) for new keystores: the geth / eth-account standard, ~0.7 s to unlock.
SCRYPT_N = 2**18
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class KeyInfo:
    """A keystore on disk: its name, address and file. Holds no secret."""

    name: str
    address: str
    path: Path

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "path": str(self.path)}


def default_dir() -> Path:
    """`$MILKTRACE_KEYSTORES`, else `keystores/` in the checkout (gitignored)."""
    env = os.environ.get(KEYSTORE_DIR_ENV)
    return Path(env) if env else project_root() / "keystores"


def _check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise KeystoreError(f"key name {name!r}: expected 1-64 characters from "
                            "A-Z a-z 0-9 . _ - (starting with a letter or digit)")
    return name


def new_key(name: str, password: str, directory: Path | None = None,
            scrypt_n: int = SCRYPT_N, private_key: bytes | None = None) -> KeyInfo:
    """Create `<directory>/<name>.json` holding a fresh key (or `private_key`), mode 600.

    Refuses to overwrite an existing keystore.
    """
    _check_name(name)
    if not password:
        raise KeystoreError(f"key {name}: the password is empty")
    folder = Path(directory) if directory else default_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}.json"
    if path.exists():
        raise KeystoreError(f"{path}: a keystore with that name already exists")
    account = Account.from_key(private_key) if private_key else Account.create()
    keystore = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    keystore["address"] = account.address[2:].lower()
    data = json.dumps(keystore, indent=1) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path}: a keystore with that name already exists") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write(data)
    os.chmod(path, 0o600)  # whatever the umask
    log.info("created keystore %s for %s", path, account.address)
    return KeyInfo(name, account.address, path)


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(f"{path}: no such keystore") from None
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"{path}: not a readable keystore ({type(exc).__name__})") from None
    if not isinstance(data, dict) or "crypto" not in data and "Crypto" not in data:
        raise KeystoreError(f"{path}: not an encrypted keystore (no 'crypto' section)")
    return data


def info(path: Path) -> KeyInfo:
    """Name and address of a keystore, without decrypting it."""
    path = Path(path)
    data = _read(path)
    address = data.get("address")
    if not address or not is_hex_address("0x" + str(address).removeprefix("0x")):
        raise KeystoreError(f"{path}: keystore has no address field")
    return KeyInfo(path.stem, to_checksum_address("0x" + str(address).removeprefix("0x")), path)


def list_keys(directory: Path | None = None) -> list[KeyInfo]:
    """Every keystore in the folder, by name."""
    folder = Path(directory) if directory else default_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append(info(path))
        except KeystoreError as exc:
            log.warning("skipping %s", exc)
    return found


def resolve(ref: str | Path, directory: Path | None = None) -> Path:
    """A keystore given as a path, or as a name in the keystore folder."""
    path = Path(ref)
    if path.suffix == ".json" or path.exists() or os.sep in str(ref):
        return path
    return (Path(directory) if directory else default_dir()) / f"{_check_name(str(ref))}.json"


def insecure_mode(path: Path) -> bool:
    """True when group or others may read the keystore."""
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def unlock(ref: str | Path, password: str, directory: Path | None = None) -> LocalAccount:
    """Decrypt a keystore. Wrong password → KeystoreError naming the file only."""
    path = resolve(ref, directory)
    data = _read(path)
    if insecure_mode(path):
        log.warning("%s is readable by group or others; chmod 600 it", path)
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise KeystoreError(f"{path}: wrong password (the keystore MAC does not match)") from None
    except Exception as exc:  # malformed crypto section: never echo its content
        raise KeystoreError(f"{path}: cannot decrypt ({type(exc).__name__})") from None
    return Account.from_key(key)


# ------------------------------------------------------------------ passwords

def read_password(*, env_var: str | None = None, file: Path | None = None,
                  prompt: str = "Keystore password: ", confirm: bool = False,
                  environ: Mapping[str, str] | None = None,
                  ask: Callable[[str], str] = getpass.getpass) -> str:
    """The password from `file`, else `$env_var` (default MILKTRACE_KEY_PASSWORD), else a
    prompt on the terminal (twice when `confirm`)."""
    env = os.environ if environ is None else environ
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeystoreError(f"{file}: cannot read the password file "
                                f"({exc.strerror or type(exc).__name__})") from None
        password = text.rstrip("\r\n")
        if not password:
            raise KeystoreError(f"{file}: the password file is empty")
        return password
    name = env_var or PASSWORD_ENV
    if env.get(name):
        return env[name]
    if env_var:
        raise KeystoreError(f"${env_var} is not set (or empty)")
    try:
        password = ask(prompt)
        if confirm and ask("Repeat the password: ") != password:
            raise KeystoreError("the two passwords differ")
    except EOFError:
        raise KeystoreError(f"no password: set ${PASSWORD_ENV}, or use --password-file or "
                            "--password-env, or run on a terminal") from None
    if not password:
        raise KeystoreError("the password is empty")
    return password
