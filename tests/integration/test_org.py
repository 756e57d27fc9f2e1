"""`milktrace org add|list|revoke|grant` against a deployed registry."""

from __future__ import annotations

import json

from eth_account import Account

from milktrace.identifiers import gs1_check_digit
from milktrace.orgs import ROLE_IDS
from milktrace.types import Role


def _gln(n: int) -> str:
    body = f"69012345{n:04d}"
    return body + str(gs1_check_digit(body))


def _org(chain, cli, *args, key=None):
    extra = ["--key", str(key.keystore)] if key is not None else []
    return cli(chain, "org", *args, "--deployment", str(chain.manifest), *extra)


def _listed(chain, cli) -> dict[str, dict]:
    proc = _org(chain, cli, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    return {o["account"]: o for o in json.loads(proc.stdout)}


def _has_role(chain, role: Role, account: str) -> bool:
    registry = chain.w3.eth.contract(address=chain.dep.address, abi=chain.dep.abi)
    return registry.functions.hasRole(ROLE_IDS[role], account).call()


def test_org_add_admits_an_organisation_with_its_name_gln_country_and_roles(chain, cli):
    account = Account.create().address
    proc = _org(chain, cli, "add", account, "--role", "carrier", "--role", "RETAILER_ROLE",
                "--name", "上海冷链物流 Cold Chain", "--gln", _gln(1), "--country", "cn")
    assert proc.returncode == 0, proc.stderr
    org = _listed(chain, cli)[account]
    assert org["name"] == "上海冷链物流 Cold Chain"
    assert org["gln"] == _gln(1) and org["country"] == "CN"
    assert org["roles"] == ["carrier", "retailer"]
    assert _has_role(chain, Role.CARRIER, account) and _has_role(chain, Role.RETAILER, account)
    assert not _has_role(chain, Role.PRODUCER, account)


def test_org_add_on_an_admitted_organisation_grants_the_missing_roles(chain, cli):
    account = Account.create().address
    args = ["--name", "Lab", "--gln", _gln(2), "--country", "FR"]
    assert _org(chain, cli, "add", account, "--role", "lab", *args).returncode == 0
    proc = _org(chain, cli, "add", account, "--role", "lab", "--role", "regulator", *args)
    assert proc.returncode == 0, proc.stderr
    assert "granted regulator" in proc.stdout
    assert _listed(chain, cli)[account]["roles"] == ["lab", "regulator"]


def test_org_add_refuses_a_second_admission_with_another_gln(chain, cli):
    account = Account.create().address
    assert _org(chain, cli, "add", account, "--role", "lab", "--name", "Lab", "--gln", _gln(3),
                "--country", "FR").returncode == 0
    proc = _org(chain, cli, "add", account, "--role", "lab", "--name", "Lab", "--gln", _gln(4),
                "--country", "FR")
    assert proc.returncode == 1
    assert "already admitted" in proc.stderr and _gln(3) in proc.stderr


def test_org_revoke_removes_a_role_at_once(chain, cli):
    account = Account.create().address
    _org(chain, cli, "add", account, "--role", "producer", "--role", "carrier", "--name", "P",
         "--gln", _gln(5), "--country", "NZ")
    proc = _org(chain, cli, "revoke", account, "--role", "producer")
    assert proc.returncode == 0, proc.stderr
    assert not _has_role(chain, Role.PRODUCER, account)
    assert _has_role(chain, Role.CARRIER, account)
    assert _listed(chain, cli)[account]["roles"] == ["carrier"]


def test_org_revoke_all_removes_every_role_but_keeps_the_organisation_listed(chain, cli):
    account = Account.create().address
    _org(chain, cli, "add", account, "--role", "lab", "--role", "retailer", "--name", "L",
         "--gln", _gln(6), "--country", "FR")
    proc = _org(chain, cli, "revoke", account, "--all", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["roles"] == ["lab", "retailer"]
    org = _listed(chain, cli)[account]
    assert org["roles"] == [] and org["gln"] == _gln(6)


def test_org_add_signed_by_a_key_that_is_not_admin_fails_and_sends_nothing(chain, cli):
    producer = chain.actors["producer"]
    account = Account.create().address
    nonce = chain.w3.eth.get_transaction_count(producer.address)
    proc = _org(chain, cli, "add", account, "--role", "lab", "--name", "L", "--gln", _gln(7),
                "--country", "FR", key=producer)
    assert proc.returncode == 1
    assert "is not the registry admin" in proc.stderr
    assert chain.w3.eth.get_transaction_count(producer.address) == nonce
    assert account not in _listed(chain, cli)


def test_org_add_names_a_wrong_gln_check_digit(chain, cli):
    bad = _gln(8)[:-1] + str((int(_gln(8)[-1]) + 1) % 10)
    proc = _org(chain, cli, "add", Account.create().address, "--role", "lab", "--name", "L",
                "--gln", bad, "--country", "FR")
    assert proc.returncode == 1
    assert f"GLN {bad}: check digit is" in proc.stderr


def test_org_add_rejects_an_unknown_role(chain, cli):
    proc = _org(chain, cli, "add", Account.create().address, "--role", "farmer", "--name", "L",
                "--gln", _gln(9), "--country", "FR")
    assert proc.returncode == 1
    assert "unknown role 'farmer'" in proc.stderr and "producer" in proc.stderr


def test_org_add_accepts_a_keystore_name_for_the_address(chain, cli):
    stranger = chain.actors["stranger"]
    proc = _org(chain, cli, "add", "stranger", "--role", "retailer", "--name", "Stranger",
                "--gln", _gln(10), "--country", "CN")
    assert proc.returncode == 0, proc.stderr
    assert _listed(chain, cli)[stranger.address]["roles"] == ["retailer"]
    _org(chain, cli, "revoke", "stranger", "--all")  # leave the stranger without a role


def test_org_list_prints_a_table_of_the_actors(chain, cli):
    proc = _org(chain, cli, "list")
    assert proc.returncode == 0, proc.stderr
    for name in ("producer", "carrier", "lab", "retailer", "regulator"):
        actor = chain.actors[name]
        assert actor.address in proc.stdout
        assert actor.gln in proc.stdout
