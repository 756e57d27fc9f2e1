"""`milktrace serve` as HTTP: Digital Link paths answer the page, config is served, nothing
outside frontend/ leaks. No browser needed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from milktrace import serve

ABI: list = [{"type": "event", "name": "X", "inputs": []}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    products = tmp_path_factory.mktemp("serve") / "products.json"
    products.write_text(json.dumps({"09506000134352": {"en": "Milk"}}), encoding="utf-8")
    config = serve.page_config(31337, "0x" + "ab" * 20, 7, "http://127.0.0.1:9999", None, ABI)
    srv = serve.serve_in_thread(serve.PageSite(chain_config=config, products=products))
    yield srv
    srv.shutdown()
    srv.server_close()


def get(server, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.mark.parametrize("path", [
    "/", "/01/09506000134352/10/A25-001", "/01/09506000134352/10/A25-001?17=271231",
    "/brand/prefix/01/09506000134352/10/L1", "/01/0950600013435X/10/bad",  # the page says why
    "/00/106141411234567897",
])
def test_digital_link_paths_answer_the_page(server, path):
    status, ctype, body = get(server, path)
    assert status == 200 and ctype.startswith("text/html")
    assert b'<script type="module" src="/js/app.js">' in body


def test_the_page_csp_is_narrowed_to_the_rpc_origin(server):
    _, _, body = get(server, "/01/09506000134352/10/A1")
    assert b"connect-src 'self' http://127.0.0.1:9999;" in body
    assert b"https:" not in body.split(b"connect-src", 1)[1].split(b";", 1)[0]


def test_modules_are_served_as_javascript(server):
    status, ctype, body = get(server, "/js/app.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"import" in body


def test_chain_config_comes_from_the_deployment_given(server):
    status, ctype, body = get(server, "/config/chain.json")
    cfg = json.loads(body)
    assert status == 200 and ctype.startswith("application/json")
    assert cfg == {"chainId": 31337, "address": "0x" + "ab" * 20, "deployBlock": 7,
                   "rpcUrl": "http://127.0.0.1:9999", "explorer": None, "abi": ABI}


def test_products_come_from_the_file_given(server):
    assert json.loads(get(server, "/config/products.json")[2]) == {"09506000134352": {"en": "Milk"}}


@pytest.mark.parametrize("path", ["/../pyproject.toml", "/%2e%2e/pyproject.toml",
                                  "/js/../../pyproject.toml", "/nothing-here", "/config/1.json"])
def test_nothing_outside_the_site_is_served(server, path):
    assert get(server, path)[0] == 404


def test_the_command_prints_its_url_and_serves(tmp_path):
    import re
    import subprocess
    import sys

    from milktrace.chain import Deployment

    dep = Deployment(31337, "0x" + "cd" * 20, 3, "0x" + "00" * 32, ABI).save(tmp_path / "d.json")
    proc = subprocess.Popen([sys.executable, "-m", "milktrace.cli", "serve", "--rpc",
                             "http://127.0.0.1:8", "--deployment", str(dep), "--explorer",
                             "https://explorer.example"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = re.match(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline()).group(0)
        with urllib.request.urlopen(url + "config/chain.json", timeout=5) as resp:
            cfg = json.loads(resp.read())
        assert cfg["address"].lower() == "0x" + "cd" * 20 and cfg["explorer"] == "https://explorer.example"
        with urllib.request.urlopen(url + "01/09506000134352/10/A1", timeout=5) as resp:
            assert b"/js/app.js" in resp.read()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
