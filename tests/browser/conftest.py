"""Browser tests: a local chain with every kind of batch, `milktrace serve`, Debian chromium.

One chain, one server and one browser for the whole browser suite; a fresh context (phone
viewport, language, Shanghai time zone) per test. Screenshots go to test-artifacts/screens/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import page_scenario as scenario_mod  # noqa: E402
from scanpage_support import open_page, wait_settled  # noqa: E402

from milktrace.chain import connect  # noqa: E402
from milktrace.node import LocalNode  # noqa: E402
from milktrace.paths import project_root  # noqa: E402

CHROMIUM = Path(os.environ.get("MILKTRACE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Site:
    url: str  # the page server, with a trailing /
    rpc: str
    scenario: scenario_mod.Scenario
    tmp: Path

    def batch_url(self, name: str) -> str:
        return self.url.rstrip("/") + self.scenario.batches[name].path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("scan-page")
    node = LocalNode("anvil", accounts=12).start()
    server = None
    try:
        w3 = connect(node.url)
        scn = scenario_mod.build(w3, w3.eth.accounts)
        dep_path = scn.deployment.save(tmp / "deployment.json")
        products = scn.write_products(tmp / "products.json")
        server = subprocess.Popen(
            [sys.executable, "-m", "milktrace.cli", "serve", "--rpc", node.url,
             "--deployment", str(dep_path), "--products", str(products)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=project_root())
        first = server.stdout.readline() if server.stdout else ""
        match = re.match(r"(http://\S+/)", first)
        if not match:
            rest = server.stdout.read() if server.stdout and server.poll() is not None else ""
            raise RuntimeError(f"milktrace serve did not print its URL: {first!r} {rest}")
        yield Site(match.group(1), node.url, scn, tmp)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        node.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; "
                    "`make setup` does it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def phone(browser, site):
    """open(path_or_url, lang=..., bypass_csp=...) → (page, watch); contexts closed after."""
    contexts = []

    def _open(target: str, lang: str = "zh-CN", bypass_csp: bool = False, settle: bool = True):
        page, watch = open_page(browser, site, lang, bypass_csp)
        contexts.append(page.context)
        if settle:
            url = target if target.startswith("http") else site.url.rstrip("/") + target
            page.goto(url)
            wait_settled(page)
        return page, watch

    yield _open
    for ctx in contexts:
        ctx.close()
