"""Keystores: encrypted with scrypt, owner-only files, passwords never echoed."""

from __future__ import annotations

import json
import logging
import secrets
import stat

import pytest

from milktrace import keys
from milktrace.errors import KeystoreError

PASSWORD = f"pâturage-{secrets.token_urlsafe(9)}-奶"  # generated per run
LIGHT = 2**12


def test_new_key_writes_an_scrypt_keystore_readable_by_the_owner_only(tmp_path):
    info = keys.new_key("dairy", PASSWORD, tmp_path / "ks", scrypt_n=LIGHT)
    data = json.loads(info.path.read_text())
    assert data["crypto"]["kdf"] == "scrypt"
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ks").stat().st_mode) == 0o700
    assert info.address.lower() == "0x" + data["address"]


def test_default_scrypt_cost_is_the_standard_one(tmp_path):
    info = keys.new_key("standard", PASSWORD, tmp_path)
    params = json.loads(info.path.read_text())["crypto"]["kdfparams"]
    assert params["n"] == 2**18


def test_unlock_returns_the_account_of_the_keystore(tmp_path):
    info = keys.new_key("lab", PASSWORD, tmp_path, scrypt_n=LIGHT)
    assert keys.unlock(info.path, PASSWORD).address == info.address


def test_unlock_by_name_finds_the_keystore_in_the_folder(tmp_path):
    info = keys.new_key("carrier", PASSWORD, tmp_path, scrypt_n=LIGHT)
    assert keys.unlock("carrier", PASSWORD, tmp_path).address == info.address


def test_wrong_password_names_the_file_and_not_the_password(tmp_path):
    info = keys.new_key("dairy", PASSWORD, tmp_path, scrypt_n=LIGHT)
    with pytest.raises(KeystoreError) as err:
        keys.unlock(info.path, "not-the-password")
    assert str(info.path) in str(err.value)
    assert "wrong password" in str(err.value)
    assert "not-the-password" not in str(err.value)
    assert PASSWORD not in str(err.value)


def test_new_key_refuses_to_overwrite_an_existing_keystore(tmp_path):
    first = keys.new_key("dairy", PASSWORD, tmp_path, scrypt_n=LIGHT)
    before = first.path.read_bytes()
    with pytest.raises(KeystoreError, match="already exists"):
        keys.new_key("dairy", PASSWORD, tmp_path, scrypt_n=LIGHT)
    assert first.path.read_bytes() == before


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "-dash-first", "x" * 65])
def test_new_key_rejects_names_that_are_not_plain_file_names(tmp_path, name):
    with pytest.raises(KeystoreError, match="key name"):
        keys.new_key(name, PASSWORD, tmp_path, scrypt_n=LIGHT)


def test_empty_password_is_refused(tmp_path):
    with pytest.raises(KeystoreError, match="empty"):
        keys.new_key("dairy", "", tmp_path, scrypt_n=LIGHT)


def test_list_keys_shows_names_and_addresses_without_decrypting(tmp_path):
    a = keys.new_key("a-farm", PASSWORD, tmp_path, scrypt_n=LIGHT)
    b = keys.new_key("b-plant", PASSWORD, tmp_path, scrypt_n=LIGHT)
    (tmp_path / "notes.json").write_text("{}")  # not a keystore: skipped
    assert [(k.name, k.address) for k in keys.list_keys(tmp_path)] == [
        ("a-farm", a.address), ("b-plant", b.address)]


def test_keystore_never_contains_the_private_key_in_clear(tmp_path):
    info = keys.new_key("dairy", PASSWORD, tmp_path, scrypt_n=LIGHT)
    key_hex = keys.unlock(info.path, PASSWORD).key.hex()
    assert key_hex.removeprefix("0x") not in info.path.read_text()


def test_unlock_warns_when_group_or_others_can_read_the_keystore(tmp_path, caplog):
    info = keys.new_key("dairy", PASSWORD, tmp_path, scrypt_n=LIGHT)
    info.path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="milktrace.keys"):
        keys.unlock(info.path, PASSWORD)
    assert "chmod 600" in caplog.text


class TestReadPassword:
    def test_a_password_file_wins_and_loses_its_trailing_newline(self, tmp_path):
        f = tmp_path / "pw"
        f.write_text(PASSWORD + "\n")
        assert keys.read_password(file=f, environ={keys.PASSWORD_ENV: "other"}) == PASSWORD

    def test_the_default_environment_variable_is_used(self):
        assert keys.read_password(environ={keys.PASSWORD_ENV: PASSWORD}) == PASSWORD

    def test_a_named_environment_variable_is_used(self):
        assert keys.read_password(env_var="PW_OF_PLANT", environ={"PW_OF_PLANT": "x1"}) == "x1"

    def test_a_named_variable_that_is_unset_is_an_error_not_a_prompt(self):
        def ask(_prompt: str) -> str:
            raise AssertionError("must not prompt")

        with pytest.raises(KeystoreError, match=r"\$PW_OF_PLANT is not set"):
            keys.read_password(env_var="PW_OF_PLANT", environ={}, ask=ask)

    def test_without_file_or_variable_it_prompts(self):
        asked = []

        def ask(prompt: str) -> str:
            asked.append(prompt)
            return PASSWORD

        assert keys.read_password(environ={}, ask=ask) == PASSWORD
        assert asked == ["Keystore password: "]

    def test_confirmation_prompts_twice_and_refuses_a_mismatch(self):
        answers = iter([PASSWORD, PASSWORD + "x"])
        with pytest.raises(KeystoreError, match="differ"):
            keys.read_password(environ={}, confirm=True, ask=lambda _p: next(answers))

    def test_no_terminal_and_no_variable_says_how_to_pass_one(self):
        def ask(_prompt: str) -> str:
            raise EOFError

        with pytest.raises(KeystoreError, match="MILKTRACE_KEY_PASSWORD"):
            keys.read_password(environ={}, ask=ask)

    def test_an_empty_password_file_is_refused(self, tmp_path):
        f = tmp_path / "pw"
        f.write_text("\n")
        with pytest.raises(KeystoreError, match="empty"):
            keys.read_password(file=f, environ={})
