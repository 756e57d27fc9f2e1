"""The scan page in a phone-sized Chromium: what a parent sees for each kind of batch."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from pathlib import Path

import pytest
from page_scenario import (
    XSS_CARRIER,
    XSS_ORG,
    XSS_REASON,
    XSS_TEST,
    XSS_TEST2,
    XSS_UNIT,
)
from scanpage_support import screenshot, wait_settled

from milktrace import qr

LANGS = ["zh-CN", "en", "fr"]


def text(page, selector: str) -> str:
    return page.inner_text(selector)


def banner_kinds(page) -> list[str]:
    return page.eval_on_selector_all("#status .banner", "els => els.map(e => e.dataset.kind)")


# ---------------------------------------------------------------- batches


def test_normal_batch_shows_product_custody_quality_cold_chain_parents_and_proof(phone, site):
    page, watch = phone(site.scenario.batches["normal"].path)
    assert page.get_attribute("html", "data-state") == "ready"
    assert banner_kinds(page) == ["ok"]
    assert "经检验合格后放行销售" in text(page, "#status")
    product = text(page, "#product")
    for want in ["婴儿配方液态奶 1段 200 毫升", "03760123450010", "F26A0914", "2026年9月14日",
                 "2027年9月14日", "Laiterie Normande de Nutrition Infantile", "法国",
                 "3760123400022", "120,000 件"]:
        assert want in product
    custody = text(page, "#custody")
    assert custody.count("交接") == 3 and custody.count("签收") == 3
    assert "上海宝贝母婴店（静安店）" in custody and "Froid Express Logistique" in custody
    assert "2026年10月13日 19:00" in custody  # 11:00 UTC shown in Shanghai time
    quality = text(page, "#quality")
    for want in ["三聚氰胺", "0.05 mg/kg", "克罗诺杆菌属", "0 CFU/10 g", "黄曲霉毒素 M1",
                 "0.012 μg/kg", "合格", "Laboratoire d'Analyses Alimentaires de Caen"]:
        assert want in quality
    cold = text(page, "#cold-chain")
    assert "2.4 °C" in cold and "6.2 °C" in cold and "384" in cold
    parents = text(page, "#parents")
    assert "生牛乳" in parents and "RM-2609-01" in parents and "Coopérative laitière" in parents
    proof = text(page, "#proof")
    assert site.scenario.deployment.address.lower() in proof
    assert "0x" + site.scenario.batches["normal"].id.hex() in proof
    assert "本地开发链 (31337)" in proof
    assert not watch.errors and not watch.dialogs
    screenshot(page, "normal-zh-CN")


def test_recalled_batch_shows_an_unmissable_red_banner_with_reason_and_date(phone, site):
    page, _ = phone(site.scenario.batches["recalled"].path)
    assert banner_kinds(page) == ["recalled"]
    banner = page.locator("#status .banner-recalled")
    assert banner.get_attribute("role") == "alert"
    body = banner.inner_text()
    assert "已召回 — 请勿食用" in body and "检出克罗诺杆菌" in body and "2026年10月21日" in body
    assert "Direction générale de l'alimentation" in body
    colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(163, 13, 13)"
    box = banner.bounding_box()
    assert box["y"] < 200 and box["width"] >= 340  # at the top, full width on a phone
    assert "不合格" in text(page, "#quality")
    screenshot(page, "recalled-zh-CN")


def test_batch_whose_parent_was_recalled_shows_the_ingredient_recall(phone, site):
    page, watch = phone(site.scenario.batches["parent_recalled"].path, lang="en")
    assert banner_kinds(page) == ["ancestor-recalled"]
    banner = text(page, "#status")
    assert "RECALLED INGREDIENT" in banner and "RM-2610-07" in banner
    assert "Aflatoxin M1 above the limit" in banner
    assert "Recalled: Aflatoxin M1 above the limit" in text(page, "#parents .parent.recalled")
    assert len(watch.rpc_posts) == 2
    screenshot(page, "parent-recalled-en")


def test_batch_whose_grandparent_was_recalled_shows_it_after_the_third_round_trip(phone, site):
    page, watch = phone(site.scenario.batches["grandparent_recalled"].path, lang="fr")
    assert banner_kinds(page) == ["ancestor-recalled"]
    assert "ARA-2608-3" in text(page, "#status") and "céréulide" in text(page, "#status")
    nested = text(page, "#parents .parents.nested")
    assert "Huile ARA" in nested and "Rappelé" in nested
    assert [m.count("eth_getLogs") for m in watch.rpc_posts] == [3, 1, 1]
    screenshot(page, "grandparent-recalled-fr")


def test_quarantined_batch_shows_an_amber_hold(phone, site):
    page, _ = phone(site.scenario.batches["quarantined"].path, lang="en")
    assert banner_kinds(page) == ["quarantined"]
    assert "ON HOLD" in text(page, "#status") and "Under investigation" in text(page, "#status")
    banner = page.locator(".banner-quarantined")
    colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(255, 200, 61)"
    screenshot(page, "quarantined-en")


def test_expired_batch_is_noted(phone, site):
    page, _ = phone(site.scenario.batches["expired"].path, lang="en")
    assert banner_kinds(page) == ["expired", "ok"]
    assert "Expired on January 1, 2025" in text(page, "#status")
    screenshot(page, "expired-en")


def test_unknown_batch_says_there_is_no_record(phone, site):
    page, _ = phone(site.scenario.batches["unknown"].path)
    assert page.get_attribute("html", "data-state") == "unknown"
    body = text(page, "main")
    assert "区块链上没有这个批次的记录" in body and "NEVER-MADE" in body
    screenshot(page, "unknown-zh-CN")


@pytest.mark.parametrize("path, says", [
    ("/01/03760123450011/10/F26A0914", "最后一位是 1，应为 0"),  # check digit
    ("/01/03760123450/10/F26A0914", "应为 8、12、13 或 14 位数字"),
    ("/01/03760123450010/10/BAD%20LOT", "批号“BAD LOT”无效"),
    ("/01/03760123450010", "中没有批号"),
    ("/#/products/milk", "没有指向任何产品批次"),
    ("/#/01/03760123450010/21/CARTON1", "单件商品"),
])
def test_malformed_link_says_what_is_wrong_and_offers_a_lookup(phone, site, path, says):
    page, watch = phone(path)
    assert page.get_attribute("html", "data-state") == "malformed"
    assert says in text(page, "main")
    assert page.locator("#lookup-gtin").is_visible()
    assert watch.rpc_posts == []  # nothing asked of the chain
    if "0011" in path:
        screenshot(page, "malformed-zh-CN")


def test_lookup_form_opens_the_batch(phone, site):
    page, _ = phone("/01/03760123450011/10/F26A0914", lang="en")
    b = site.scenario.batches["normal"]
    page.get_by_label("GTIN (the number under the barcode)").fill(b.gtin)
    page.get_by_label("Lot number").fill(b.lot)
    page.get_by_role("button", name="Show the batch").click()
    page.wait_for_selector("html[data-state=ready][data-ancestry]", state="attached")
    assert b.lot in text(page, "#product")


def test_unreachable_node_says_so_and_retry_recovers(phone, site):
    page, watch = phone("", settle=False)
    page.route(lambda url: url.startswith(site.rpc), lambda route: route.abort("connectionrefused"))
    page.goto(site.batch_url("normal"))
    assert wait_settled(page) == "unreachable"
    assert "无法连接区块链" in text(page, "main")
    screenshot(page, "unreachable-zh-CN")
    page.unroute_all()
    page.get_by_role("button", name="重试").click()
    page.wait_for_selector("html[data-state=ready][data-ancestry]", state="attached")
    assert "F26A0914" in text(page, "#product")


def test_wrong_chain_names_both_networks(phone, site):
    page, _ = phone("", lang="en", settle=False)

    def wrong(route):
        resp = route.fetch()
        cfg = resp.json()
        cfg["chainId"] = 1
        route.fulfill(response=resp, body=json.dumps(cfg))

    page.route("**/config/chain.json", wrong)
    page.goto(site.batch_url("normal"))
    assert wait_settled(page) == "wrongchain"
    body = text(page, "main")
    assert "Ethereum (1)" in body and "local development chain (31337)" in body
    screenshot(page, "wrongchain-en")


def test_hash_form_link_opens_the_batch_on_hosts_without_rewrites(phone, site):
    page, _ = phone("/#" + site.scenario.batches["recalled"].path)
    assert banner_kinds(page) == ["recalled"]


# ---------------------------------------------------------------- languages


@pytest.mark.parametrize("lang, title, produced", [
    ("zh-CN", "经检验合格后放行销售，无召回。", "生产日期"),
    ("en", "Released for sale after testing. No recall.", "Produced"),
    ("fr", "Libéré à la vente après analyses. Aucun rappel.", "Fabriqué le"),
])
def test_each_language_comes_from_the_browser(phone, site, lang, title, produced):
    page, _ = phone(site.scenario.batches["normal"].path, lang=lang)
    assert page.get_attribute("html", "lang") == lang
    assert title in text(page, "#status") and produced in text(page, "#product")
    assert page.get_attribute(f"#langs button[data-lang='{lang}']", "aria-pressed") == "true"
    screenshot(page, f"normal-{lang}")


def test_language_switch_is_immediate_and_remembered(phone, site):
    page, _ = phone(site.scenario.batches["recalled"].path, lang="en")
    assert "RECALLED" in text(page, "#status")
    page.get_by_role("button", name="Français").click()
    page.wait_for_selector("html[lang=fr]", state="attached")
    assert "RAPPELÉ" in text(page, "#status")
    page.reload()
    wait_settled(page)
    assert page.get_attribute("html", "lang") == "fr" and "RAPPELÉ" in text(page, "#status")


def test_every_catalogue_has_the_same_keys_and_placeholders():
    import re

    root = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
    cats = {lang: json.loads((root / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGS}
    assert cats["en"].keys() == cats["zh-CN"].keys() == cats["fr"].keys()
    for key, value in cats["en"].items():
        want = sorted(re.findall(r"\{(\w+)\}", value))
        for lang in ("zh-CN", "fr"):
            assert sorted(re.findall(r"\{(\w+)\}", cats[lang][key])) == want, (lang, key)


# ---------------------------------------------------------------- scan → page


def test_a_scanned_label_opens_its_batch(phone, site, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    b = site.scenario.batches["parent_recalled"]
    label = qr.Label.make(b.gtin, b.lot, "2027-10-09", "婴儿配方液态奶")
    [files] = qr.write_labels([label], tmp_path, "https://id.milktrace.example", with_expiry=True)
    [decoded] = [r.text for r in zxingcpp.read_barcodes(Image.open(files.png))]
    assert decoded == f"https://id.milktrace.example{b.path}?17=271009"
    local = decoded.replace("https://id.milktrace.example/", site.url)  # the resolver, locally
    page, _ = phone(local)
    assert b.lot in text(page, "#product") and banner_kinds(page) == ["ancestor-recalled"]
    assert "二维码中的日期" not in text(page, "#product")  # ?17= agrees with the chain


# ---------------------------------------------------------------- hostile text


def test_hostile_on_chain_text_shows_literally_and_never_runs(phone, site):
    # CSP bypassed: only the rendering (text nodes, never HTML) stands between payload and page
    page, watch = phone(site.scenario.batches["xss"].path, lang="en", bypass_csp=True)
    page.wait_for_timeout(300)
    body = text(page, "main")
    for payload in [XSS_ORG, XSS_CARRIER, XSS_TEST, XSS_TEST2, XSS_REASON, XSS_UNIT]:
        assert payload in body, payload
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("typeof window.x") == "undefined"
    assert watch.dialogs == [] and watch.errors == []
    assert page.locator("main script, main img, main svg, main b, main [onerror], "
                        "main [onmouseover], main [onload]").count() == 0
    page.hover("#custody")  # an injected onmouseover would fire here
    assert watch.dialogs == []
    screenshot(page, "hostile-text-en")


def test_the_page_forbids_html_sinks_and_inline_script(phone, site):
    page, _ = phone(site.scenario.batches["xss"].path, lang="en")
    csp = page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert f"connect-src 'self' {site.rpc}" in csp  # narrowed by milktrace serve
    assert "require-trusted-types-for 'script'" in csp
    refused = page.evaluate("""() => { try { document.createElement('div').innerHTML = '<b>x</b>';
        return false; } catch (e) { return e instanceof TypeError; } }""")
    assert refused is True


# ---------------------------------------------------------------- report check


def pdf(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": data}


def test_a_report_file_that_matches_the_chain_is_recognised(phone, site):
    page, _ = phone(site.scenario.batches["normal"].path, lang="en")
    report = site.scenario.reports["MELAMINE"]
    page.set_input_files("#report-file", files=[pdf("melamine.pdf", report)])
    page.wait_for_selector("#report-result[data-result]")
    assert page.get_attribute("#report-result", "data-result") == "match"
    result = text(page, "#report-result")
    assert "report recorded for Melamine by Laboratoire d'Analyses Alimentaires de Caen" in result


def test_a_report_file_that_does_not_match_is_flagged_with_its_fingerprint(phone, site):
    page, _ = phone(site.scenario.batches["normal"].path, lang="zh-CN")
    forged = site.scenario.reports["MELAMINE"].replace(b"MELAMINE", b"MELAMINF")
    page.set_input_files("#report-file", files=[pdf("forged.pdf", forged)])
    page.wait_for_selector("#report-result[data-result]")
    assert page.get_attribute("#report-result", "data-result") == "nomatch"
    result = text(page, "#report-result")
    assert "不一致" in result and hashlib.sha256(forged).hexdigest() in result
    screenshot(page, "report-nomatch-zh-CN")


def test_a_report_file_dropped_on_the_zone_is_checked(phone, site):
    page, _ = phone(site.scenario.batches["normal"].path, lang="fr")
    report = site.scenario.reports["CRONOBACTER"].decode()
    page.evaluate("""(content) => {
        const dt = new DataTransfer();
        dt.items.add(new File([content], 'cronobacter.pdf', { type: 'application/pdf' }));
        const drop = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
        document.querySelector('.drop').dispatchEvent(drop);
    }""", report)
    page.wait_for_selector("#report-result[data-result]")
    assert page.get_attribute("#report-result", "data-result") == "match"
    assert "Cronobacter" in text(page, "#report-result")


# ---------------------------------------------------------------- speed and providers


def test_a_batch_with_100_records_takes_at_most_three_round_trips(phone, site):
    page, watch = phone(site.scenario.batches["big"].path, lang="en")
    assert page.get_attribute("html", "data-ancestry") == "done"
    assert len(watch.rpc_posts) == 3
    assert watch.rpc_posts[0] == ["eth_chainId", "eth_blockNumber", "eth_getLogs", "eth_getLogs",
                                  "eth_getLogs"]
    records = page.locator("#proof-records .proof-row").count()
    assert records == 100
    assert page.locator("#parents .parents.nested .parent").count() == 1  # oil under base powder


def _capped_rpc(site, max_span: int, message: str, calls_seen: list):
    """A route handler acting as a provider that refuses eth_getLogs over `max_span` blocks."""

    def handler(route):
        req = route.request
        if req.method != "POST":
            return route.fallback()
        calls = json.loads(req.post_data)
        answers, forward = {}, []
        for c in calls:
            calls_seen.append(c)
            if c["method"] == "eth_getLogs":
                f = c["params"][0]
                to = f["toBlock"]
                if to == "latest" or int(to, 16) - int(f["fromBlock"], 16) + 1 > max_span:
                    answers[c["id"]] = {"jsonrpc": "2.0", "id": c["id"],
                                        "error": {"code": -32005, "message": message}}
                    continue
            forward.append(c)
        if forward:
            data = json.dumps(forward).encode()
            r = urllib.request.Request(site.rpc, data, {"Content-Type": "application/json"})
            with urllib.request.urlopen(r, timeout=10) as resp:
                for a in json.loads(resp.read()):
                    answers[a["id"]] = a
        route.fulfill(status=200, content_type="application/json",
                      headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps([answers[c["id"]] for c in calls]))

    return handler


@pytest.mark.parametrize("message", [
    "eth_getLogs is limited to a 40 block range",
    "query exceeds max results 10000, retry with the range [0x0, 0x27]",
    "request timed out",  # no hint: halve until it passes
])
def test_a_provider_capping_log_ranges_still_gets_the_whole_story(phone, site, message):
    page, watch = phone("", lang="en", settle=False)
    seen: list = []
    page.route(lambda url: url.startswith(site.rpc), _capped_rpc(site, 40, message, seen))
    page.goto(site.batch_url("grandparent_recalled"))
    assert wait_settled(page) == "ready"
    assert banner_kinds(page) == ["ancestor-recalled"]
    assert "ARA-2608-3" in text(page, "#status")
    assert "Laiterie Normande de Nutrition Infantile" in text(page, "#product")
    # every record of the batch arrived, through block ranges, in a bounded number of trips
    assert page.locator("#proof-records .proof-row").count() == len(
        batch_logs(site, site.scenario.batches["grandparent_recalled"]))
    assert any(c["method"] == "eth_getLogs" and c["params"][0]["toBlock"] != "latest" for c in seen)
    assert len(watch.rpc_posts) <= 10


def batch_logs(site, batch) -> list:
    """The registry's logs with the batch id as topic 1, straight from the node."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{
        "address": site.scenario.deployment.address, "fromBlock": "0x0", "toBlock": "latest",
        "topics": [None, "0x" + batch.id.hex()]}]}
    r = urllib.request.Request(site.rpc, json.dumps(call).encode(),
                               {"Content-Type": "application/json"})
    with urllib.request.urlopen(r, timeout=10) as resp:
        return json.loads(resp.read())["result"]


# ---------------------------------------------------------------- docs


@pytest.mark.skipif(not os.environ.get("MILKTRACE_DOCS_SCREENSHOTS"),
                    reason="set MILKTRACE_DOCS_SCREENSHOTS=1 to refresh docs/screenshots/")
@pytest.mark.parametrize("batch, name", [("normal", "normal-zh"), ("recalled", "recalled-zh")])
def test_docs_screenshots(browser, site, batch, name):
    """The README's phone screenshots: the first screen a parent in Shanghai sees."""
    out = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2,
                              locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.goto(site.batch_url(batch))
    wait_settled(page)
    page.screenshot(path=str(out / f"{name}.png"))
    ctx.close()


@pytest.mark.parametrize("explorer", ["https://explorer.example", None, "javascript:alert(1)"])
def test_proof_links_go_to_the_explorer_only_when_one_is_configured(phone, site, explorer):
    page, watch = phone("", lang="en", settle=False)

    def with_explorer(route):
        resp = route.fetch()
        cfg = resp.json()
        cfg["explorer"] = explorer
        route.fulfill(response=resp, body=json.dumps(cfg))

    page.route("**/config/chain.json", with_explorer)
    page.goto(site.batch_url("normal"))
    wait_settled(page)
    hrefs = page.eval_on_selector_all("#proof a", "els => els.map(e => e.getAttribute('href'))")
    if explorer == "https://explorer.example":
        address = site.scenario.deployment.address.lower()
        assert f"{explorer}/address/{address}" in hrefs
        assert any(h.startswith(f"{explorer}/tx/0x") for h in hrefs)
        assert any(h.startswith(f"{explorer}/block/") for h in hrefs)
    else:
        assert hrefs == []
    assert watch.dialogs == []
