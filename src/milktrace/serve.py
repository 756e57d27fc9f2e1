"""Serving the scan page: `frontend/` as static files, GS1 Digital Link paths rewritten to it.

- `/01/{GTIN}/10/{lot}` (and any path holding a `/01/...` or `/00/...` key, after an optional
  prefix) answers `index.html`, so the URL in a carton's QR code opens the page; the page reads
  the unit from its own path.
- `/config/chain.json` is the deployment's page config (chainId, address, deployBlock, rpcUrl,
  explorer, abi): built in memory from a deployment manifest and an RPC URL when given, else the
  file `milktrace deploy` wrote into `frontend/config/`.
- `/config/products.json` (optional) names products by GTIN in each language.
- When the RPC URL is known, `index.html`'s Content-Security-Policy `connect-src` is narrowed
  to that one origin (the file on disk allows `https:` and localhost, for static hosts).

Static hosts do the same with a rewrite rule (see README, "The scan page").
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from milktrace.paths import project_root

log = logging.getLogger(__name__)

DIGITAL_LINK_RE = re.compile(r"(?:^|/)(?:01|00)/[^/]+(?:/|$)")
CONNECT_SRC_RE = re.compile(r"connect-src [^;\"]*")
MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}


def frontend_dir() -> Path:
    return project_root() / "frontend"


def page_config(chain_id: int, address: str, deploy_block: int, rpc_url: str,
                explorer: str | None, abi: list) -> dict[str, Any]:
    """The page config, same shape as `chain.write_page_config` writes."""
    return {"chainId": chain_id, "address": address, "deployBlock": deploy_block,
            "rpcUrl": rpc_url, "explorer": explorer, "abi": abi}


def rpc_origin(rpc_url: str) -> str | None:
    parts = urlsplit(rpc_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def is_digital_link_path(path: str) -> bool:
    return bool(DIGITAL_LINK_RE.search(path))


@dataclass
class PageSite:
    """What the server serves: the frontend folder, and config overriding its files."""

    root: Path = field(default_factory=frontend_dir)
    chain_config: dict[str, Any] | None = None
    products: Path | None = None

    def config_bytes(self) -> bytes | None:
        if self.chain_config is not None:
            return json.dumps(self.chain_config, indent=1).encode()
        path = self.root / "config" / "chain.json"
        return path.read_bytes() if path.is_file() else None

    def products_bytes(self) -> bytes | None:
        path = self.products or self.root / "config" / "products.json"
        return path.read_bytes() if path.is_file() else None

    def rpc_origin(self) -> str | None:
        raw = self.config_bytes()
        if raw is None:
            return None
        try:
            return rpc_origin(str(json.loads(raw).get("rpcUrl", "")))
        except ValueError:
            return None

    def index_bytes(self) -> bytes:
        text = (self.root / "index.html").read_text(encoding="utf-8")
        origin = self.rpc_origin()
        if origin:
            text = CONNECT_SRC_RE.sub(f"connect-src 'self' {origin}", text, count=1)
        return text.encode("utf-8")

    def resolve(self, url_path: str) -> tuple[bytes, str] | None:
        """(body, content type) for a request path, or None for 404."""
        path = unquote(urlsplit(url_path).path)
        if path == "/config/chain.json":
            body = self.config_bytes()
            return (body, MIME[".json"]) if body is not None else None
        if path == "/config/products.json":
            body = self.products_bytes()
            return (body, MIME[".json"]) if body is not None else None
        if path in ("/", "/index.html") or is_digital_link_path(path):
            return self.index_bytes(), MIME[".html"]
        root = self.root.resolve()
        target = (root / path.lstrip("/")).resolve()
        if root not in target.parents or not target.is_file():
            return None
        if target.parent == root / "config" and target.name != "chain.json":
            return None  # the per-chain copies are not part of the site
        return target.read_bytes(), MIME.get(target.suffix, "application/octet-stream")


class _Handler(BaseHTTPRequestHandler):
    site: PageSite
    server_version = "milktrace"
    sys_version = ""

    def _answer(self, head_only: bool) -> None:
        try:
            found = self.site.resolve(self.path)
        except OSError as exc:
            log.warning("serving %s: %s", self.path, exc)
            found = None
        if found is None:
            body, ctype, status = b"not found\n", MIME[".txt"], HTTPStatus.NOT_FOUND
        else:
            (body, ctype), status = found, HTTPStatus.OK
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._answer(head_only=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head_only=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.info("%s %s", self.address_string(), format % args)


class PageServer(ThreadingHTTPServer):
    daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}/"


def make_server(site: PageSite, host: str = "127.0.0.1", port: int = 0) -> PageServer:
    """A server for `site` on `host:port` (port 0: a free one); call serve_forever()."""
    handler = type("PageHandler", (_Handler,), {"site": site})
    return PageServer((host, port), handler)


def serve_in_thread(site: PageSite, host: str = "127.0.0.1", port: int = 0) -> PageServer:
    """Start a server in a daemon thread (tests, benchmarks); stop it with .shutdown()."""
    server = make_server(site, host, port)
    threading.Thread(target=server.serve_forever, name="milktrace-serve", daemon=True).start()
    return server
