"""Helpers for the scan page's browser tests (kept out of conftest.py: test modules import them,
and `conftest` is not a unique module name across the test folders)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from milktrace.paths import project_root

PHONE = {"width": 375, "height": 812}
ARTIFACTS = project_root() / "test-artifacts" / "screens"


@dataclass
class Watch:
    """What a page did that it should not: dialogs, page errors, console errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    rpc_posts: list[list[str]] = field(default_factory=list)  # methods per JSON-RPC POST
    preflights: int = 0


def open_page(browser, site, lang: str = "zh-CN", bypass_csp: bool = False):
    """A new phone-sized context and page; returns (page, watch)."""
    ctx = browser.new_context(viewport=PHONE, locale=lang, timezone_id="Asia/Shanghai",
                              device_scale_factor=1, bypass_csp=bypass_csp,
                              extra_http_headers={"Accept-Language": lang})
    page = ctx.new_page()
    watch = Watch()

    def on_dialog(d):
        watch.dialogs.append(d.message)
        d.dismiss()

    def on_request(req):
        if not req.url.startswith(site.rpc):
            return
        if req.method == "POST":
            body = json.loads(req.post_data or "[]")
            calls = body if isinstance(body, list) else [body]
            watch.rpc_posts.append([c.get("method") for c in calls])
        elif req.method == "OPTIONS":
            watch.preflights += 1

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.on("console", lambda m: watch.console.append(m.text) if m.type == "error" else None)
    page.on("request", on_request)
    return page, watch


def wait_settled(page, ancestry: bool = True) -> str:
    """Waits until the page left `loading` (and finished the ancestry); returns the state."""
    page.wait_for_selector("html:not([data-state=loading])", state="attached", timeout=15000)
    state = page.get_attribute("html", "data-state")
    if ancestry and state == "ready":
        page.wait_for_selector("html[data-ancestry]", state="attached", timeout=15000)
    return state


def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
