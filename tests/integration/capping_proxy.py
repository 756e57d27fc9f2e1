"""A JSON-RPC proxy that refuses eth_getLogs the way public providers do (audit and ingest
tests page through it)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class CappingProxy:
    """A JSON-RPC proxy to `upstream` that refuses eth_getLogs like public providers do:
    mode "blocks" over `cap` blocks, mode "results" over `cap` results; mode "corrupt"
    damages one log (to show the strict decoding)."""

    def __init__(self, upstream: str, mode: str, cap: int) -> None:
        self.upstream, self.mode, self.cap = upstream, mode, cap
        self.refusals = 0
        self.session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = proxy.handle(body)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, body: Any) -> Any:
        return self.session.post(self.upstream, json=body, timeout=30).json()

    def handle(self, body: Any) -> Any:
        if isinstance(body, list) or body.get("method") != "eth_getLogs":
            return self.forward(body)
        flt = body["params"][0]
        start, end = int(flt["fromBlock"], 16), int(flt["toBlock"], 16)
        if self.mode == "blocks" and end - start + 1 > self.cap:
            self.refusals += 1
            return {
                "jsonrpc": "2.0",
                "id": body["id"],
                "error": {
                    "code": -32600,
                    "message": "You can make eth_getLogs requests with up to a "
                    f"{self.cap} block range.",
                },
            }
        reply = self.forward(body)
        if self.mode == "results" and len(reply.get("result") or []) > self.cap:
            self.refusals += 1
            return {
                "jsonrpc": "2.0",
                "id": body["id"],
                "error": {
                    "code": -32005,
                    "message": f"query returned more than {self.cap} results",
                },
            }
        if self.mode == "corrupt" and reply.get("result"):
            reply["result"][-1]["data"] = reply["result"][-1]["data"][:-2]
        return reply

    def __enter__(self) -> CappingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
