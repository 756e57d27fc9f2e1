"""`milktrace keys new|list` end to end, and no secret in any output of commands using a key."""

from __future__ import annotations

import json
import stat

from integration_support import PASSWORD

from milktrace import keys

GLN = "3760123450997"


def _secrets(path, password=PASSWORD) -> list[str]:
    key = keys.unlock(path, password).key.hex().removeprefix("0x")
    return [password, key, key.upper(), "0x" + key]


def _assert_no_secret(proc, secrets) -> None:
    text = proc.stdout + proc.stderr
    for secret in secrets:
        assert secret not in text


def test_keys_new_with_password_from_the_environment(tmp_path, cli):
    proc = cli(None, "-v", "keys", "new", "dairy", "--dir", str(tmp_path), "--json",
               "--scrypt-n", "4096", env={"MILKTRACE_KEY_PASSWORD": PASSWORD})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    path = tmp_path / "dairy.json"
    assert out["path"] == str(path) and out["name"] == "dairy"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.unlock(path, PASSWORD).address == out["address"]
    _assert_no_secret(proc, _secrets(path))


def test_keys_new_with_password_from_a_named_variable(tmp_path, cli):
    proc = cli(None, "keys", "new", "lab", "--dir", str(tmp_path), "--password-env", "LAB_PW",
               "--scrypt-n", "4096", env={"LAB_PW": "lab-secret-1", "MILKTRACE_KEY_PASSWORD": ""})
    assert proc.returncode == 0, proc.stderr
    assert keys.unlock(tmp_path / "lab.json", "lab-secret-1")
    _assert_no_secret(proc, _secrets(tmp_path / "lab.json", "lab-secret-1"))


def test_keys_new_with_password_from_a_file(tmp_path, cli):
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD + "\n")
    proc = cli(None, "keys", "new", "carrier", "--dir", str(tmp_path / "ks"),
               "--password-file", str(pw), "--scrypt-n", "4096",
               env={"MILKTRACE_KEY_PASSWORD": ""})
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "ks" / "carrier.json"
    assert "mode 600" in proc.stdout
    _assert_no_secret(proc, _secrets(path))


def test_keys_new_prompts_twice_when_no_password_is_given(tmp_path, cli):
    # without a terminal getpass reads the lines from stdin; nothing is echoed
    proc = cli(None, "keys", "new", "retail", "--dir", str(tmp_path), "--scrypt-n", "4096",
               env={"MILKTRACE_KEY_PASSWORD": ""}, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert proc.returncode == 0, proc.stderr
    _assert_no_secret(proc, _secrets(tmp_path / "retail.json"))


def test_keys_new_refuses_mismatched_prompts_and_writes_nothing(tmp_path, cli):
    proc = cli(None, "keys", "new", "retail", "--dir", str(tmp_path), "--scrypt-n", "4096",
               env={"MILKTRACE_KEY_PASSWORD": ""}, input=f"{PASSWORD}\nsomething-else\n")
    assert proc.returncode == 1
    assert "differ" in proc.stderr
    assert not (tmp_path / "retail.json").exists()
    assert PASSWORD not in proc.stdout + proc.stderr


def test_keys_new_refuses_an_existing_name(tmp_path, cli):
    env = {"MILKTRACE_KEY_PASSWORD": PASSWORD}
    cli(None, "keys", "new", "dairy", "--dir", str(tmp_path), "--scrypt-n", "4096", env=env,
        check=True)
    proc = cli(None, "keys", "new", "dairy", "--dir", str(tmp_path), "--scrypt-n", "4096",
               env=env)
    assert proc.returncode == 1
    assert "already exists" in proc.stderr


def test_keys_list_shows_names_and_addresses_only(tmp_path, cli):
    env = {"MILKTRACE_KEY_PASSWORD": PASSWORD}
    made = [json.loads(cli(None, "keys", "new", n, "--dir", str(tmp_path), "--json",
                           "--scrypt-n", "4096", env=env, check=True).stdout)
            for n in ("b-plant", "a-farm")]
    proc = cli(None, "keys", "list", "--dir", str(tmp_path), "--json", check=True)
    listed = json.loads(proc.stdout)
    assert [(k["name"], k["address"]) for k in listed] == sorted(
        (m["name"], m["address"]) for m in made)
    plain = cli(None, "-v", "keys", "list", "--dir", str(tmp_path), check=True)
    for m in made:
        assert m["address"] in plain.stdout
        _assert_no_secret(plain, _secrets(tmp_path / f"{m['name']}.json"))


def test_a_wrong_password_is_a_clear_error_without_any_secret(chain, cli):
    producer = chain.actors["producer"]
    proc = cli(chain, "-v", "org", "add", "0x000000000000000000000000000000000000dEaD",
               "--role", "lab", "--name", "X", "--gln", GLN, "--country", "FR",
               "--deployment", str(chain.manifest), "--key", str(producer.keystore),
               env={"MILKTRACE_KEY_PASSWORD": "wrong-password-123"})
    assert proc.returncode == 1
    assert "wrong password" in proc.stderr and str(producer.keystore) in proc.stderr
    assert "wrong-password-123" not in proc.stdout + proc.stderr
    _assert_no_secret(proc, _secrets(producer.keystore))


def test_commands_signing_with_a_key_print_no_secret(chain, cli, tmp_path):
    """deploy and org add with --key and -v (INFO logs): neither password nor key appears."""
    admin_ks = keys.new_key("admin", PASSWORD, tmp_path / "ks", scrypt_n=4096)
    chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_transaction(
        {"from": chain.admin, "to": admin_ks.address, "value": 10**20,
         "gasPrice": 2 * 10**9}))
    secrets = _secrets(admin_ks.path)
    manifest = tmp_path / "dep.json"
    dep = cli(chain, "-v", "deploy", "--key", str(admin_ks.path), "--deployment",
              str(manifest), "--page-config", str(tmp_path / "page"))
    assert dep.returncode == 0, dep.stderr
    _assert_no_secret(dep, secrets)
    add = cli(chain, "-v", "org", "add", chain.actors["stranger"].address, "--role", "lab",
              "--name", "Lab", "--gln", GLN, "--country", "FR", "--key",
              str(admin_ks.path), "--deployment", str(manifest))
    assert add.returncode == 0, add.stderr
    _assert_no_secret(add, secrets)


def test_ingest_with_a_key_prints_no_secret(chain, cli, write_producer_csv, tmp_path):
    producer = chain.actors["producer"]
    csv = tmp_path / "export.csv"
    write_producer_csv(csv, producer.gln, 3)
    secrets = _secrets(producer.keystore)
    for extra in ([], ["--json"], ["--dry-run"]):
        proc = cli(chain, "-v", "ingest", str(csv), "--deployment", str(chain.manifest),
                   "--key", str(producer.keystore), *extra)
        assert proc.returncode == 0, proc.stderr
        _assert_no_secret(proc, secrets)
    journal = "".join(p.read_text() for p in chain.journal_dir.glob("*.jsonl"))
    assert journal and all(secret not in journal for secret in secrets)
