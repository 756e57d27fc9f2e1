"""Adaptive eth_getLogs paging against a fake provider that refuses like real ones do."""

from __future__ import annotations

import json

import pytest

from milktrace.errors import RpcError
from milktrace.logs import (
    PagingStats,
    ProviderError,
    RpcClient,
    TransportError,
    classify_refusal,
    fetch_logs,
    safe_head,
)

ADDRESS = "0x" + "12" * 20


class FakeChain(RpcClient):
    """`logs_per_block[b]` logs in block b; refuses per `mode` like a capped provider."""

    def __init__(
        self, logs_per_block: dict[int, int], head: int, mode: str = "none", cap: int = 10
    ) -> None:
        self.logs_per_block = logs_per_block
        self.head = head
        self.mode = mode
        self.cap = cap
        self.asked: list[tuple[int, int]] = []
        self.refused = 0

    def call(self, method, params=()):
        if method == "eth_blockNumber":
            return hex(self.head)
        assert method == "eth_getLogs"
        flt = params[0]
        assert flt["address"] == ADDRESS
        start, end = int(flt["fromBlock"], 16), int(flt["toBlock"], 16)
        assert start <= end
        self.asked.append((start, end))
        logs = [
            {"blockNumber": hex(b), "logIndex": hex(i)}
            for b in range(start, end + 1)
            for i in range(self.logs_per_block.get(b, 0))
        ]
        refusal = self.refusal(start, end, len(logs))
        if refusal is not None:
            self.refused += 1
            raise refusal
        return logs

    def refusal(self, start: int, end: int, n: int) -> RpcError | None:
        width = end - start + 1
        m = self.mode
        if m == "alchemy-range" and width > self.cap:
            return ProviderError(
                "eth_getLogs",
                {
                    "code": -32600,
                    "message": "Under the Free tier plan, you can make eth_getLogs requests "
                    f"with up to a {self.cap} block range.",
                },
            )
        if m == "quicknode-range" and width > self.cap:
            return ProviderError(
                "eth_getLogs",
                {"code": -32614, "message": f"eth_getLogs is limited to a {self.cap:,} range"},
            )
        if m == "bare-range" and width > self.cap:
            return ProviderError(
                "eth_getLogs", {"code": -32000, "message": "block range too large"}
            )
        if m == "geth-results" and n > self.cap:
            return ProviderError(
                "eth_getLogs",
                {"code": -32005, "message": f"query returned more than {self.cap} results"},
            )
        if m == "infura-results" and n > self.cap:
            # suggest the longest prefix of the range that fits
            total, stop = 0, start
            for b in range(start, end + 1):
                if total + self.logs_per_block.get(b, 0) > self.cap:
                    break
                total += self.logs_per_block.get(b, 0)
                stop = b
            return ProviderError(
                "eth_getLogs",
                {
                    "code": -32005,
                    "message": f"query returned more than {self.cap} results",
                    "data": {"from": hex(start), "to": hex(stop), "limit": self.cap},
                },
            )
        if m == "alchemy-results" and n > self.cap:
            half = start + (end - start) // 3
            return ProviderError(
                "eth_getLogs",
                {
                    "code": -32602,
                    "message": "Log response size exceeded. You can make eth_getLogs requests with "
                    "up to a 2K block range and no limit on the response size, or you can "
                    f"request any block range with a cap of {self.cap} logs in the "
                    f"response. Based on your parameters, this block range should work: "
                    f"[{hex(start)}, {hex(half)}]",
                },
            )
        if m == "timeout" and width > self.cap:
            return TransportError("timed out", timeout=True)
        return None


def dense_chain() -> dict[int, int]:
    """0..1999, mostly sparse, with a dense stretch (600 logs a block) in the middle."""
    return {b: (600 if 900 <= b < 910 else b % 7) for b in range(2000)}


def expected(chain: dict[int, int], start: int, end: int) -> list[tuple[int, int]]:
    return [(b, i) for b in range(start, end + 1) for i in range(chain.get(b, 0))]


def keys(logs) -> list[tuple[int, int]]:
    return [(int(x["blockNumber"], 16), int(x["logIndex"], 16)) for x in logs]


def assert_tiles(asked: list[tuple[int, int]], start: int, end: int, refused: set) -> None:
    """The successful pages cover [start, end] exactly once, in order."""
    pages = [a for a in asked if a not in refused]
    assert pages[0][0] == start and pages[-1][1] == end
    for (_a, b), (c, _d) in zip(pages, pages[1:], strict=False):
        assert c == b + 1


@pytest.mark.parametrize(
    "mode,cap",
    [
        ("none", 0),
        ("alchemy-range", 10),
        ("quicknode-range", 10),
        ("bare-range", 10),
        ("geth-results", 1000),
        ("infura-results", 1000),
        ("alchemy-results", 1000),
        ("timeout", 50),
    ],
)
def test_paging_returns_every_log_once_in_order_whatever_the_cap(mode, cap):
    chain = dense_chain()
    fake = FakeChain(chain, 1999, mode, cap)
    stats = PagingStats()
    logs = fetch_logs(fake, ADDRESS, 0, 1999, stats=stats, initial_span=100_000)
    assert keys(logs) == expected(chain, 0, 1999)
    assert stats.logs == len(logs)
    if mode != "none":
        assert fake.refused > 0 and stats.refusals == fake.refused
    else:
        assert fake.refused == 0 and stats.pages == 1


def test_a_block_range_cap_is_learnt_and_not_exceeded_again():
    fake = FakeChain({b: 1 for b in range(1000)}, 999, "alchemy-range", 10)
    fetch_logs(fake, ADDRESS, 0, 999)
    assert fake.refused == 1  # told "up to a 10 block range" once, never asked for more again
    assert max(e - s + 1 for s, e in fake.asked[1:]) == 10


def test_a_suggested_range_is_used():
    chain = {b: 100 for b in range(100)}
    fake = FakeChain(chain, 99, "infura-results", 1000)
    logs = fetch_logs(fake, ADDRESS, 0, 99, initial_span=100)
    assert keys(logs) == expected(chain, 0, 99)
    assert fake.asked[:2] == [(0, 99), (0, 9)]  # the provider said [0x0, 0x9]


def test_a_result_cap_keeps_pages_under_it_afterwards():
    chain = {b: 50 for b in range(1000)}
    fake = FakeChain(chain, 999, "geth-results", 1000)
    fetch_logs(fake, ADDRESS, 0, 999, initial_span=1000)

    def too_big(a):
        return sum(chain[b] for b in range(a[0], a[1] + 1)) > 1000

    first_page = next(i for i, a in enumerate(fake.asked) if not too_big(a))
    assert first_page == 6  # 1000, 500, 250, 125, 62, 31 blocks refused; 15 went through
    assert [a for a in fake.asked[first_page:] if too_big(a)] == []  # "more than 1000" was learnt


def test_confirmations_ignore_the_last_blocks():
    fake = FakeChain({}, 120)
    assert safe_head(fake, 0) == (120, 120)
    assert safe_head(fake, 12) == (120, 108)
    with pytest.raises(ValueError):
        safe_head(fake, -1)


def test_pages_tile_the_range_exactly():
    fake = FakeChain(dense_chain(), 1999, "geth-results", 1000)
    fetch_logs(fake, ADDRESS, 5, 1990)
    refused = set()
    chain = dense_chain()
    for a in fake.asked:
        if sum(chain.get(b, 0) for b in range(a[0], a[1] + 1)) > 1000:
            refused.add(a)
    assert_tiles(fake.asked, 5, 1990, refused)


def test_a_single_block_that_is_still_refused_is_an_error():
    fake = FakeChain({0: 5000}, 0, "geth-results", 1000)
    with pytest.raises(RpcError, match="single block"):
        fetch_logs(fake, ADDRESS, 0, 0)


def test_other_errors_are_not_retried_with_smaller_ranges():
    class Broken(FakeChain):
        def call(self, method, params=()):
            self.asked.append(method)
            raise ProviderError(
                method, {"code": -32601, "message": "the method eth_getLogs does not exist"}
            )

    fake = Broken({}, 10)
    with pytest.raises(ProviderError, match="does not exist"):
        fetch_logs(fake, ADDRESS, 0, 10)
    assert fake.asked == ["eth_getLogs"]


def test_empty_range_asks_nothing():
    fake = FakeChain({}, 10)
    assert fetch_logs(fake, ADDRESS, 11, 10) == [] and fake.asked == []


@pytest.mark.parametrize(
    "error,suggested,max_blocks,max_results",
    [
        (
            {
                "code": -32005,
                "message": "query returned more than 10000 results",
                "data": {"from": "0xcb3d", "to": "0x7b6ce0", "limit": 10000},
            },
            (0xCB3D, 0x7B6CE0),
            None,
            10000,
        ),
        (
            {
                "code": -32005,
                "message": "query returned more than 10000 results. Try with this block "
                "range [0x1DE05B2, 0x1DE2C6E].",
            },
            (0x1DE05B2, 0x1DE2C6E),
            None,
            10000,
        ),
        (
            {
                "code": -32602,
                "message": "Log response size exceeded. You can make eth_getLogs requests "
                "with up to a 2K block range and no limit on the response size, or you can "
                "request any block range with a cap of 10K logs in the response. Based on your "
                "parameters, this block range should work: [0x0, 0x1f3]",
            },
            (0, 0x1F3),
            2000,
            10000,
        ),
        (
            {"code": -32614, "message": "eth_getLogs is limited to a 10,000 range"},
            None,
            10000,
            None,
        ),
        ({"code": -32000, "message": "exceed maximum block range: 50000"}, None, 50000, None),
        ({"code": -32000, "message": "block range is too wide"}, None, None, None),
        ({"code": -32005, "message": "limit exceeded"}, None, None, None),
    ],
)
def test_real_provider_refusals_are_understood(error, suggested, max_blocks, max_results):
    r = classify_refusal(ProviderError("eth_getLogs", error))
    assert r is not None
    assert (r.suggested, r.max_blocks, r.max_results) == (suggested, max_blocks, max_results)


def test_real_errors_are_not_refusals():
    assert (
        classify_refusal(
            ProviderError(
                "eth_getLogs",
                {"code": -32602, "message": "invalid argument 0: hex string without 0x prefix"},
            )
        )
        is None
    )
    assert classify_refusal(TransportError("connection refused")) is None
    assert classify_refusal(TransportError("timed out", timeout=True)) is not None


# ---------------------------------------------------------------------- the HTTP client


class Scripted:
    """A local HTTP server; `respond(request body) -> (status, reply)` answers each POST."""

    def __init__(self, respond) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                status, reply = respond(body)
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_batch_answers_are_matched_by_id_whatever_their_order():
    def respond(body):  # answers in reverse order
        return 200, [
            {"jsonrpc": "2.0", "id": r["id"], "result": r["params"][0]} for r in reversed(body)
        ]

    srv = Scripted(respond)
    try:
        client = RpcClient(srv.url, retries=0)
        assert client.batch([("eth_call", [i]) for i in range(5)], chunk=3) == [0, 1, 2, 3, 4]
        assert [len(b) for b in srv.bodies] == [3, 2]
    finally:
        srv.close()


def test_busy_provider_is_retried_and_a_json_error_body_is_a_provider_error():
    script = [
        (503, "busy"),
        (200, {"jsonrpc": "2.0", "id": 2, "result": "0x10"}),
        (400, {"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "bad params"}}),
    ]
    srv = Scripted(lambda body: script.pop(0))
    try:
        client = RpcClient(srv.url, retries=2)
        assert client.block_number() == 16
        with pytest.raises(ProviderError, match="bad params"):
            client.call("eth_getLogs", [{}])
        assert client.requests == 3 and script == []
    finally:
        srv.close()


def test_unreachable_node_is_a_transport_error():
    client = RpcClient("http://127.0.0.1:9", retries=0)
    with pytest.raises(TransportError, match="eth_chainId"):
        client.chain_id()
