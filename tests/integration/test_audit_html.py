"""The HTML audit report renders in Chromium: no console errors, nothing loaded from anywhere,
the pictures drawn, and on-chain text shown as text."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_data import Trace, sample, with_check_digit

from milktrace.chain import connect
from milktrace.cli import main
from milktrace.node import LocalNode
from milktrace.types import Role

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'

sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():  # make setup installs it; without it there is nothing to run
    pytest.skip("Debian chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("audit-html")
    with LocalNode("anvil", accounts=12) as node:
        t = Trace(connect(node.url), node.dev_accounts())
        sample(t)
        # an organisation whose on-chain name is markup: it must show as text
        fn = t.contract.functions.admitOrganisation(
            t.a("stranger"),
            HOSTILE,
            int(with_check_digit("376012340099")),
            b"FR",
            int(Role.RETAILER),
        )
        t.send(fn, t.admin)
        docs = tmp / "docs"
        docs.mkdir()
        for name, content in t.docs.items():
            (docs / name).write_bytes(content)
        manifest = t.dep.save(tmp / "deployment.json")
        out = tmp / "report.html"
        status = main(
            [
                "audit",
                "--rpc",
                node.url,
                "--deployment",
                str(manifest),
                "--out",
                str(out),
                "--docs",
                str(docs),
            ]
        )
        assert status == 1  # the sample has one violation
    yield out
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def page(report_file):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        problems: list[str] = []
        pg.on(
            "console",
            lambda m: (
                problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        pg.on(
            "request",
            lambda r: (
                problems.append(f"request: {r.url}") if r.url != report_file.as_uri() else None
            ),
        )
        pg.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
        pg.goto(report_file.as_uri())
        pg.wait_for_load_state("load")
        pg.problems = problems  # type: ignore[attr-defined]
        yield pg
        browser.close()


def test_report_renders_without_console_errors_or_requests(page):
    assert page.problems == []
    assert page.title() == "milktrace audit — violations found"


def test_checks_and_the_violation_are_shown(page):
    assert page.locator(".check").count() == 8
    assert page.locator(".check.failed").count() == 1
    assert "Release policy" in page.locator(".check.failed").inner_text()
    rows = page.locator("#violations tr.flagged")
    assert rows.count() == 1
    assert "no MELAMINE result" in rows.inner_text()
    assert "/01/03760123402002/10/IF250305C" in rows.inner_text()


def test_genealogy_and_timeline_pictures_are_drawn(page):
    graph = page.locator("#genealogy svg")
    box = graph.bounding_box()
    assert box and box["width"] > 400 and box["height"] > 150
    assert graph.locator("g > rect[rx='7']").count() == 5  # one box per batch
    assert graph.locator("path[marker-end]").count() == 4  # A←2 collections, B←1, C←1
    timeline = page.locator("#timeline svg")
    tbox = timeline.bounding_box()
    assert tbox and tbox["width"] > 800
    assert timeline.locator("circle[stroke='#c62828']").count() == 1  # the violation's ring


def test_on_chain_text_is_shown_as_text(page):
    assert page.evaluate("window.pwned") is None
    assert page.locator("#organisations").inner_text().count(HOSTILE) == 1
    assert page.locator("#organisations img").count() == 0


def test_documents_and_recall_sections(page):
    assert "on chain but missing" in page.locator("#documents").inner_text()
    assert "RECALLED" in page.locator("#recalls").inner_text()
    assert "raw-milk collection" in page.locator("#recalls").inner_text()
