"""`milktrace demo --no-serve`, checked through the chain and through the page.

The demo runs as a user runs it (a subprocess, its own work folder); the node it leaves
running is stopped at the end and must be gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from milktrace.chain import Deployment, connect, registry
from milktrace.identifiers import batch_id
from milktrace.paths import project_root
from milktrace.types import Status

ROOT = project_root()
DATA = ROOT / "demo" / "data"
CHROMIUM = Path("/usr/bin/chromium")
INFANT = "03760123600163"
RAW = "03760123400107"


@dataclass
class Demo:
    rpc: str
    manifest: Path
    workdir: Path
    output: str

    @property
    def deployment(self) -> Deployment:
        return Deployment.load(self.manifest)


def _run_demo(workdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "milktrace.cli", "demo", "--no-serve",
                           "--workdir", str(workdir)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    workdir = tmp_path_factory.mktemp("demo")
    proc = _run_demo(workdir)
    if proc.returncode != 0:  # a failed demo stops its node; make sure before failing
        subprocess.run([sys.executable, "-m", "milktrace.cli", "demo", "--stop", "--workdir",
                        str(workdir)], cwd=ROOT, capture_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rpc = re.search(r"node left running at (\S+)", proc.stdout).group(1)
    manifest = Path(proc.stdout.strip().splitlines()[-1])
    node = json.loads((workdir / "node.json").read_text())
    yield Demo(rpc, manifest, workdir, proc.stdout)
    stop = subprocess.run([sys.executable, "-m", "milktrace.cli", "demo", "--stop",
                           "--workdir", str(workdir)], capture_output=True, text=True, cwd=ROOT)
    assert "stopped the demo node" in stop.stdout
    with pytest.raises(ProcessLookupError):
        os.killpg(node["pid"], 0)


def _cast() -> dict[str, dict]:
    return {c["key"]: c for c in json.loads((DATA / "cast.json").read_text())}


def _account_of(reg, gln: str) -> str:
    logs = reg.events.OrganisationAdmitted().get_logs(
        from_block=0, argument_filters={"gln": int(gln)})
    assert len(logs) == 1
    return logs[0]["args"]["account"]


def test_demo_admits_the_whole_cast_and_passes_its_audit(demo):
    w3 = connect(demo.rpc)
    reg = registry(w3, demo.deployment)
    assert reg.functions.organisationCount().call() == len(_cast()) == 11
    assert "audit: every check passed" in demo.output
    assert (demo.workdir / "audit.html").is_file()
    assert (demo.workdir / "labels" / "labels.html").is_file()
    assert len(list((demo.workdir / "labels").glob("*.png"))) == 3


def test_demo_batches_end_where_the_story_says(demo):
    w3 = connect(demo.rpc)
    reg = registry(w3, demo.deployment)
    cast = _cast()
    status = {lot: Status(reg.functions.statusOf(batch_id(g, lot)).call())
              for g, lot in [(INFANT, "L2610-04A"), (INFANT, "L2610-04B"),
                             (INFANT, "L2610-04C"), (RAW, "F3-261002"), (RAW, "F1-261002")]}
    assert status == {"L2610-04A": Status.RELEASED, "L2610-04B": Status.RELEASED,
                      "L2610-04C": Status.RECALLED, "F3-261002": Status.RECALLED,
                      "F1-261002": Status.ACTIVE}
    shop = _account_of(reg, cast["retailer"]["gln"])
    plant = _account_of(reg, cast["plant"]["gln"])
    assert reg.functions.holderOf(batch_id(INFANT, "L2610-04A")).call() == shop
    assert reg.functions.holderOf(batch_id(INFANT, "L2610-04B")).call() == shop
    assert reg.functions.holderOf(batch_id(INFANT, "L2610-04C")).call() == plant


def test_demo_genealogy_links_the_recalled_farm_lot_to_a_shop_batch(demo):
    w3 = connect(demo.rpc)
    reg = registry(w3, demo.deployment)
    edges = {(e["args"]["parentId"], e["args"]["childId"])
             for e in reg.events.BatchDerived().get_logs(from_block=0)}
    tank = batch_id("03760123500173", "T2-261002")
    assert (batch_id(RAW, "F3-261002"), tank) in edges
    assert (tank, batch_id(INFANT, "L2610-04B")) in edges


def test_demo_lab_results_carry_the_report_hashes(demo):
    w3 = connect(demo.rpc)
    reg = registry(w3, demo.deployment)
    results = reg.events.QualityRecorded().get_logs(from_block=0)
    assert len(results) == 2 * 2 + 3 * 6
    on_chain = {r["args"]["reportHash"] for r in results}
    reports = {hashlib.sha256(p.read_bytes()).digest()
               for p in (DATA / "lab" / "reports").glob("*.pdf")}
    assert on_chain == reports and len(reports) == 5
    failed = [(r["args"]["batchId"], r["args"]["testCode"].rstrip(b"\0")) for r in results
              if not r["args"]["passed"]]
    assert failed == [(batch_id(INFANT, "L2610-04C"), b"CRONOBACTER")]


def test_demo_cold_chain_shows_the_reefer_excursion(demo):
    w3 = connect(demo.rpc)
    reg = registry(w3, demo.deployment)
    summaries = [e["args"] for e in reg.events.ConditionRecorded().get_logs(from_block=0)
                 if e["args"]["batchId"] == batch_id(INFANT, "L2610-04A")]
    by_alarm = {s["alarm"]: s for s in summaries}
    assert set(by_alarm) == {False, True}  # the truck stayed in range, the container did not
    assert by_alarm[True]["maxValue"] > 800 and by_alarm[True]["count"] > 3000
    assert 200 <= by_alarm[False]["minValue"] <= by_alarm[False]["maxValue"] <= 800


def test_running_the_demo_again_sends_nothing(demo):
    proc = _run_demo(demo.workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = json.loads((DATA / "steps.json").read_text())
    assert proc.stdout.count("nothing to send: all") == len(steps)
    assert "\nsent " not in proc.stdout
    assert f"reusing the anvil node at {demo.rpc}" in proc.stdout


@pytest.fixture(scope="module")
def page_url(demo):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    server = subprocess.Popen(
        [sys.executable, "-m", "milktrace.cli", "serve", "--rpc", demo.rpc, "--deployment",
         str(demo.manifest), "--products", str(DATA / "products.json")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        url = re.match(r"(http://\S+?)/?\s", server.stdout.readline()).group(1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def zh_page(page_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
        page = context.new_page()

        def open_batch(gtin: str, lot: str):
            page.goto(f"{page_url}/01/{gtin}/10/{lot}")
            page.wait_for_selector("html[data-state=ready][data-ancestry]", state="attached",
                                   timeout=15000)
            return page

        yield open_batch
        browser.close()


def test_page_shows_a_demo_batch_in_chinese_for_a_chinese_browser(zh_page):
    page = zh_page(INFANT, "L2610-04A")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("#status .banner-recalled").count() == 0
    assert "诺曼底儿童液态奶" in page.inner_text("main")
    quality = page.inner_text("#quality")
    assert "三聚氰胺" in quality and "合格" in quality
    assert "宝贝之家母婴店" in page.inner_text("#custody")


def test_page_shows_the_recall_of_the_failed_batch(zh_page):
    banner = zh_page(INFANT, "L2610-04C").locator("#status .banner-recalled")
    assert banner.is_visible()
    assert "已召回" in banner.inner_text()


def test_page_shows_the_recalled_farm_lot_on_the_batch_made_from_it(zh_page):
    banner = zh_page(INFANT, "L2610-04B").locator("#status .banner-recalled")
    assert banner.is_visible()
    assert "F3-261002" in banner.inner_text()


def test_ctrl_c_stops_the_page_and_the_node_and_leaves_nothing_running(tmp_path):
    import signal
    import time
    import urllib.request

    from milktrace.node import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "milktrace.cli", "demo", "--port", str(port),
                             "--workdir", str(tmp_path)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        seen = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if not line or "serving the scan page" in line:
                break
        assert "serving the scan page" in seen[-1], "".join(seen[-30:])
        node = json.loads((tmp_path / "node.json").read_text())
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/01/{INFANT}/10/L2610-04A",
                                      timeout=10).read().decode()
        assert '<html lang="zh-CN"' in page
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "stopped the page and the node" in rest
    with pytest.raises(ProcessLookupError):
        os.killpg(node["pid"], 0)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_demo_that_fails_stops_the_node_it_started(tmp_path):
    import shutil

    from milktrace import demo as demo_mod
    from milktrace.errors import NodeError
    from milktrace.node import rpc_call

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / "lab" / "reports" / "T1-261002.pdf").unlink()  # the LIMS export names it
    said: list[str] = []
    with pytest.raises(demo_mod.DemoError, match="lims-raw-milk.csv"):
        demo_mod.run_demo(demo_mod.DemoOptions(workdir=tmp_path / "work", data=data,
                                               serve=False), say=said.append)
    url = re.search(r"started anvil at (\S+)", said[0]).group(1)
    assert said[-1] == "stopped the anvil node this run started"
    with pytest.raises(NodeError):
        rpc_call(url, "eth_chainId", timeout=2)
