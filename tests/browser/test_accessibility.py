"""Readable in sunlight, usable without a mouse: contrast, names, keyboard, phone width."""

from __future__ import annotations

import pytest
from scanpage_support import wait_settled

# For every element with its own text: its colour against the first opaque background up the
# tree, as a WCAG contrast ratio. Returns the worst few.
CONTRAST_JS = """() => {
  const parse = (c) => {
    const m = c.match(/[\\d.]+/g).map(Number);
    return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 };
  };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ({ r, g, b }) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('noscript') || !el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') continue;
    const a = lum(parse(st.color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    out.push({ ratio: Math.round(ratio * 100) / 100, text: el.textContent.trim().slice(0, 40) });
  }
  return out.sort((x, y) => x.ratio - y.ratio).slice(0, 5);
}"""


@pytest.mark.parametrize("batch", ["normal", "recalled", "quarantined", "expired", "xss"])
def test_every_text_has_at_least_aaa_contrast(phone, site, batch):
    page, _ = phone(site.scenario.batches[batch].path, lang="en")
    page.click("#proof-records summary")  # open the folded parts too
    page.click("#cold-chain summary") if page.locator("#cold-chain summary").count() else None
    worst = page.evaluate(CONTRAST_JS)
    assert worst and worst[0]["ratio"] >= 7.0, worst


def test_the_page_fits_a_375_px_phone_without_sideways_scrolling(phone, site):
    for batch in ["normal", "big", "xss"]:
        page, _ = phone(site.scenario.batches[batch].path, lang="fr")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, batch


def test_controls_have_names_and_headings_are_in_order(phone, site):
    page, _ = phone(site.scenario.batches["normal"].path, lang="en")
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, a, summary')]
        .filter((e) => !(e.labels && e.labels.length) && !(e.textContent || '').trim()
                       && !e.getAttribute('aria-label')).map((e) => e.outerHTML.slice(0, 60))""")
    assert unnamed == []
    levels = page.evaluate(
        "() => [...document.querySelectorAll('h1, h2, h3')].map((h) => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert page.get_attribute("#langs", "aria-label") == "Language"
    assert page.locator("#report-file").evaluate("e => e.labels.length") == 1


def test_language_and_report_check_work_from_the_keyboard(phone, site):
    page, _ = phone(site.scenario.batches["normal"].path, lang="en")
    page.focus("#langs button[data-lang='zh-CN']")
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang=zh-CN]", state="attached")
    assert "经检验合格" in page.inner_text("#status")
    # Tab reaches the report file input, and the focus is visible
    reached = False
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "report-file":
            reached = True
            break
    assert reached
    outline = page.evaluate("getComputedStyle(document.querySelector('.drop')).outlineStyle")
    assert outline == "solid"  # :focus-within draws the ring round the drop zone


def test_retry_is_reachable_by_keyboard_on_an_unreachable_node(phone, site):
    page, _ = phone("", settle=False)
    page.route(lambda url: url.startswith(site.rpc), lambda route: route.abort("connectionrefused"))
    page.goto(site.batch_url("recalled"))
    assert wait_settled(page) == "unreachable"
    page.unroute_all()
    page.focus("#retry")
    page.keyboard.press("Enter")
    page.wait_for_selector("html[data-state=ready][data-ancestry]", state="attached")
    assert page.locator("#status .banner-recalled").is_visible()
