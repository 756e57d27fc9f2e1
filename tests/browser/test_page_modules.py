"""The page's own keccak, Digital Link parser and event decoders agree with the Python library
and web3.py (run inside the served page, so the modules are the ones a phone loads)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from eth_utils import keccak

from milktrace.chain import connect, registry
from milktrace.errors import InvalidIdentifier
from milktrace.identifiers import parse_digital_link


@pytest.fixture(scope="module")
def modules_page(browser, site):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(site.url)  # the landing page: no batch, no RPC
    page.wait_for_selector("html[data-state=landing]", state="attached")
    yield page
    ctx.close()


def test_keccak256_matches_eth_utils(modules_page):
    inputs = ["", "abc", "a" * 135, "a" * 136, "a" * 137, "婴儿配方奶粉" * 40,
              "/01/09506000134352/10/A25-001"]
    got = modules_page.evaluate("""async (inputs) => {
        const { keccakHex } = await import('/js/keccak.js');
        return inputs.map((s) => keccakHex(s));
    }""", inputs)
    assert got == ["0x" + keccak(text=s).hex() for s in inputs]


def test_sha256_fallback_matches_hashlib(modules_page):
    import hashlib

    sizes = [0, 1, 55, 56, 63, 64, 65, 1000, 70000]
    got = modules_page.evaluate("""async (sizes) => {
        const { sha256Fallback } = await import('/js/sha256.js');
        return sizes.map((n) => Array.from(sha256Fallback(new Uint8Array(n).map((_, i) => i * 7)),
            (b) => b.toString(16).padStart(2, '0')).join(''));
    }""", sizes)
    want = [hashlib.sha256(bytes((i * 7) & 255 for i in range(n))).hexdigest() for n in sizes]
    assert got == want


def test_event_topics_match_the_registry_abi(modules_page, site):
    topics = modules_page.evaluate("async () => (await import('/js/abi.js')).TOPIC")
    abi = site.scenario.deployment.abi
    want = {}
    for item in abi:
        if item["type"] == "event" and item["name"] in topics:
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            want[item["name"]] = "0x" + keccak(text=sig).hex()
    assert topics == want and len(want) == 10


VALID = [
    "https://id.milktrace.example/01/09506000134352/10/A25-001",
    "https://id.milktrace.example/01/9506000134352/10/L.1_x",  # GTIN-13
    "https://id.milktrace.example/some/prefix/01/09506000134352/10/A1?17=271231",
    "https://id.milktrace.example/#/01/09506000134352/10/A1?17=271231",
    "https://id.milktrace.example/01/00614141000036/10/Z",  # GTIN-12 in 14 digits
]
INVALID = [
    "https://id.milktrace.example/01/09506000134353/10/A1",  # check digit
    "https://id.milktrace.example/01/0950600013435/10/A1",  # 13 digits, bad check digit
    "https://id.milktrace.example/01/ABC/10/A1",
    "https://id.milktrace.example/01/09506000134352/10/A%201",
    "https://id.milktrace.example/01/09506000134352/10/" + "L" * 21,
    "https://id.milktrace.example/01/09506000134352",
    "https://id.milktrace.example/shop/milk",
]


def _parse_in_page(page, urls):
    return page.evaluate("""async (urls) => {
        const { parseLocation } = await import('/js/link.js');
        return urls.map((u) => { try { return parseLocation(new URL(u)); }
                                 catch (e) { return { error: e.reason || String(e) }; } });
    }""", urls)


def test_digital_link_parsing_matches_the_library(modules_page):
    for url, got in zip(VALID, _parse_in_page(modules_page, VALID), strict=True):
        want = parse_digital_link(url)
        assert got["path"] == want.path and got["id"] == "0x" + want.id.hex(), url
        assert got["expiry"] == want.expiry, url
        if "17=" in url:
            assert want.expiry == url.rsplit("17=", 1)[1]
    for url, got in zip(INVALID, _parse_in_page(modules_page, INVALID), strict=True):
        with pytest.raises(InvalidIdentifier):
            parse_digital_link(url)
        assert "error" in got, url


def _norm(value):
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


def test_every_event_decodes_like_web3(modules_page, site):
    """All logs of the test registry, decoded by the page and by web3, field by field."""
    dep = site.scenario.deployment
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [
        {"address": dep.address, "fromBlock": hex(dep.deploy_block), "toBlock": "latest"}]}
    req = urllib.request.Request(site.rpc, json.dumps(call).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = json.loads(resp.read())["result"]
    decoded = modules_page.evaluate("""async (logs) => {
        const { decodeLog } = await import('/js/abi.js');
        return logs.map((l) => { const d = decodeLog(l); if (!d) return null;
            const plain = (k, v) => (typeof v === 'bigint' ? v.toString() : v);
            return JSON.parse(JSON.stringify(d, plain)); });
    }""", raw)
    w3 = connect(site.rpc)
    reg = registry(w3, dep)
    names = {"OrganisationAdmitted": {"account": "account", "orgId": "orgId", "name": "name"},
             "BatchCommissioned": {"batchId": "batchId", "lot": "lot", "productionDate":
                                   "productionDate", "expiryDate": "expiryDate",
                                   "parents": "parents", "eventTime": "eventTime"},
             "QualityRecorded": {"eventId": "eventId", "passed": "passed", "reportHash":
                                 "reportHash", "eventTime": "eventTime"},
             "ConditionRecorded": {"count": "count", "minValue": "minValue",
                                   "maxValue": "maxValue", "alarm": "alarm"},
             "CustodyHandedOver": {"from": "from", "to": "to", "eventTime": "eventTime"},
             "CustodyAccepted": {"from": "from", "to": "to"},
             "BatchStatusChanged": {"noticeHash": "noticeHash", "eventTime": "eventTime"},
             "BatchDerived": {"batchId": "parentId", "childId": "childId"}}
    seen = set()
    formatted = w3.eth.get_logs({"address": dep.address, "fromBlock": dep.deploy_block})
    for log, page_view in zip(formatted, decoded, strict=True):
        name = page_view["event"] if page_view else None
        if name is None:
            continue  # RoleGranted and friends: not the page's business
        event = getattr(reg.events, name)().process_log(log)
        args = event["args"]
        for js_key, py_key in names.get(name, {}).items():
            assert page_view[js_key] == _norm(args[py_key]), (name, js_key)
        if name == "QualityRecorded":
            assert page_view["testCode"] == args["testCode"].rstrip(b"\0").decode()
            assert int(page_view["value"]) == args["value"]
            assert page_view["unit"] == args["unit"].rstrip(b"\0").decode()
        if name == "BatchCommissioned":
            assert page_view["gtin"] == str(args["gtin"]).zfill(14)
            assert int(page_view["quantity"]) == args["quantity"]
        if name == "BatchStatusChanged":
            assert ["Unknown", "Active", "Quarantined", "Released", "Recalled"].index(
                page_view["status"]) == args["status"]
            assert page_view["reason"] == args["reason"].rstrip(b"\0").decode()
        if name == "OrganisationAdmitted":
            assert page_view["gln"] == str(args["gln"]).zfill(13)
            assert page_view["country"] == args["country"].decode()
        assert page_view["block"] == log["blockNumber"] and page_view["tx"] == "0x" + log[
            "transactionHash"].hex()
        seen.add(name)
    assert seen >= {"OrganisationAdmitted", "BatchCommissioned", "BatchDerived", "QualityRecorded",
                    "ConditionRecorded", "CustodyHandedOver", "CustodyAccepted",
                    "BatchStatusChanged"}
