"""Reading logs over plain JSON-RPC, paging `eth_getLogs` adaptively.

Providers refuse large queries in different words. `fetch_logs` asks for a block range,
and when the provider refuses it (too many results, range too large, a -32005 "limit
exceeded" with or without a suggested range, a timeout) it retries with the range the error
suggests, else half the range, and carries on; after pages that went through it grows the
range again towards what the result density allows. It never skips a block: the pages tile
`[from_block, to_block]` exactly, in order. A range of one block that is still refused, or
any other error, raises `RpcError`.

`RpcClient` is a small keep-alive JSON-RPC client (single calls and batches) that is faster
than going through web3's middleware for bulk reads.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from milktrace.errors import RpcError

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- client


class JsonRpc(Protocol):
    """What `fetch_logs` needs of a client: `RpcClient` here, `chain.Rpc` for ingest."""

    def call(self, method: str, params: Sequence[Any] = ()) -> Any: ...


class ProviderError(RpcError):
    """The provider answered a JSON-RPC error object."""

    def __init__(self, method: str, error: Any, url: str = "") -> None:
        if not isinstance(error, dict):
            error = {"message": str(error)}
        self.method = method
        self.code = error.get("code")
        self.error_message = str(error.get("message", ""))
        self.data = error.get("data")
        extra = f" data={json.dumps(self.data)}" if self.data is not None else ""
        super().__init__(f"{url}: {method}: error {self.code}: {self.error_message}{extra}")


class TransportError(RpcError):
    """The request did not get a JSON-RPC answer (connection, timeout, HTTP status)."""

    def __init__(self, message: str, timeout: bool = False, status: int | None = None) -> None:
        self.timeout = timeout
        self.status = status
        super().__init__(message)


class RpcClient:
    """JSON-RPC over HTTP with one keep-alive session.

    `retries` transport failures (connection reset, HTTP 429/5xx) are retried with backoff;
    JSON-RPC error objects are raised at once as `ProviderError`.
    """

    def __init__(self, url: str, timeout: float = 60.0, retries: int = 3) -> None:
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        self.session.headers["Content-Type"] = "application/json"
        self._ids = itertools.count(1)
        self.requests = 0
        self.seconds = 0.0  # wall time spent waiting for and parsing answers

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, body: Any, what: str) -> Any:
        payload = json.dumps(body)
        delay = 0.25
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                self.requests += 1
                resp = self.session.post(self.url, data=payload, timeout=self.timeout)
                text = resp.text
                try:
                    reply = json.loads(text)
                except ValueError:
                    reply = None
                if reply is None or (resp.status_code != 200 and not _has_error(reply)):
                    err = TransportError(
                        f"{self.url}: {what}: HTTP {resp.status_code}: {text[:200]}",
                        status=resp.status_code,
                    )
                    if resp.status_code in (429, 502, 503, 504) and attempt < self.retries:
                        raise _Retry(err)
                    raise err
                return reply
            except requests.Timeout as exc:
                raise TransportError(
                    f"{self.url}: {what}: timed out after {self.timeout}s", timeout=True
                ) from exc
            except (requests.ConnectionError, _Retry) as exc:
                if attempt >= self.retries:
                    if isinstance(exc, _Retry):
                        raise exc.error from None
                    raise TransportError(f"{self.url}: {what}: {exc}") from exc
                log.info("%s: %s failed (%s); retrying in %.2fs", self.url, what, exc, delay)
                time.sleep(delay)
                delay *= 2
            finally:
                self.seconds += time.perf_counter() - started
        raise AssertionError("unreachable")

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        reply = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)},
            method,
        )
        if not isinstance(reply, dict):
            raise RpcError(f"{self.url}: {method}: not a JSON-RPC reply: {str(reply)[:200]}")
        if "error" in reply:
            raise ProviderError(method, reply["error"], self.url)
        return reply.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], chunk: int = 500) -> list[Any]:
        """Many calls in JSON-RPC batches of `chunk`; results in order; the first error raises."""
        out: list[Any] = []
        for start in range(0, len(calls), chunk):
            part = calls[start : start + chunk]
            first = next(self._ids)
            ids = list(range(first, first + len(part)))
            self._ids = itertools.count(first + len(part))
            body = [
                {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
                for i, (m, p) in zip(ids, part, strict=True)
            ]
            reply = self._post(body, f"batch of {len(part)} {part[0][0]}")
            if isinstance(reply, dict) and "error" in reply:
                raise ProviderError(f"batch of {part[0][0]}", reply["error"], self.url)
            if not isinstance(reply, list):
                raise RpcError(f"{self.url}: batch: not a JSON-RPC batch reply: {str(reply)[:200]}")
            by_id = {r.get("id"): r for r in reply if isinstance(r, dict)}
            for i, (method, _params) in zip(ids, part, strict=True):
                r = by_id.get(i)
                if r is None:
                    raise RpcError(f"{self.url}: batch: no answer for request {i} ({method})")
                if "error" in r:
                    raise ProviderError(method, r["error"], self.url)
                out.append(r.get("result"))
        return out

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)


class _Retry(Exception):
    def __init__(self, error: TransportError) -> None:
        super().__init__(str(error))
        self.error = error


def _has_error(reply: Any) -> bool:
    return isinstance(reply, dict) and "error" in reply


# --------------------------------------------------------------------------- refusals

# Phrases providers use when an eth_getLogs range or result set is too large.
_TOO_MUCH = re.compile(
    r"more than \d[\d,]* results|too many (results|logs|blocks)"
    r"|response size (exceeded|is larger|should not)"
    r"|(block )?range (is )?too (large|wide|big)|exceed(s|ed)? (the )?(max(imum)?|limit)"
    r"|limit(ed)? (to|exceeded)|max(imum)? (block )?range|query timeout|returned more than"
    r"|log response size|payload too large|try with this block range|block range",
    re.IGNORECASE,
)
_SUGGESTED = re.compile(r"\[\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*(0x[0-9a-fA-F]+|\d+)\s*\]")
_RANGE_LIMIT = re.compile(
    r"(?:up to an?|limited to an?|maximum block range:?|max(?:imum)? range(?: is| of)?:?"
    r"|range limit(?: of| is)?:?|block range (?:limit|size)(?: of| is)?:?"
    r"|exceeds? (?:the )?max(?:imum)? block range(?: of)?:?)\s*"
    r"(\d[\d,]*)\s*(k)?",
    re.IGNORECASE,
)
_RESULT_LIMIT = re.compile(
    r"more than (\d[\d,]*) results|cap of (\d[\d,]*)(k)? logs", re.IGNORECASE
)


def _num(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


@dataclass(frozen=True)
class Refusal:
    """What a refused eth_getLogs tells us: a suggested range and/or limits, when given."""

    suggested: tuple[int, int] | None = None
    max_blocks: int | None = None
    max_results: int | None = None


def classify_refusal(exc: RpcError) -> Refusal | None:
    """A `Refusal` when `exc` means "ask for less", else None (a real error)."""
    if isinstance(exc, TransportError):
        if exc.timeout or exc.status in (413, 504):
            return Refusal()
        return None
    if not isinstance(exc, ProviderError):
        return None
    text = exc.error_message
    data = exc.data
    suggested = None
    if isinstance(data, dict) and "from" in data and "to" in data:
        try:
            suggested = (_num(str(data["from"])), _num(str(data["to"])))
        except ValueError:
            suggested = None
    if suggested is None:
        m = _SUGGESTED.search(text)
        if m:
            suggested = (_num(m.group(1)), _num(m.group(2)))
    if exc.code != -32005 and suggested is None and not _TOO_MUCH.search(text):
        return None
    max_blocks = max_results = None
    m = _RANGE_LIMIT.search(text)
    if m:
        max_blocks = int(m.group(1).replace(",", "")) * (1000 if m.group(2) else 1)
    m = _RESULT_LIMIT.search(text)
    if m:
        n = m.group(1) or m.group(2)
        max_results = int(n.replace(",", "")) * (1000 if m.group(3) else 1)
    if isinstance(data, dict) and isinstance(data.get("limit"), int):
        max_results = max_results or int(data["limit"])
    return Refusal(suggested, max_blocks, max_results)


# --------------------------------------------------------------------------- paging


@dataclass
class PagingStats:
    pages: int = 0
    refusals: int = 0
    logs: int = 0
    smallest_span: int | None = None
    largest_span: int = 0
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "refusals": self.refusals,
            "logs": self.logs,
            "smallestSpan": self.smallest_span,
            "largestSpan": self.largest_span,
            "refusalMessages": self.messages[:5],
        }


def fetch_logs(
    client: JsonRpc,
    address: str,
    from_block: int,
    to_block: int,
    topics: list[Any] | None = None,
    initial_span: int = 100_000,
    max_span: int = 1_000_000,
    target_results: int = 5_000,
    stats: PagingStats | None = None,
    on_page: Callable[[int, int, list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Every log of `address` (optionally filtered by `topics`) in [from_block, to_block].

    Raw JSON-RPC log dicts, in chain order. See the module docstring for the paging rules.
    """
    stats = stats if stats is not None else PagingStats()
    out: list[dict[str, Any]] = []
    if to_block < from_block:
        return out
    span = max(1, min(initial_span, max_span))
    block_cap: int | None = None  # a block-range limit the provider stated
    ceiling: int | None = None  # smallest width refused without a stated limit
    since_refusal = 0  # pages fetched since the last refusal
    target = max(1, target_results)
    start = from_block
    while start <= to_block:
        end = min(to_block, start + span - 1)
        width = end - start + 1
        flt: dict[str, Any] = {"address": address, "fromBlock": hex(start), "toBlock": hex(end)}
        if topics is not None:
            flt["topics"] = topics
        try:
            page = client.call("eth_getLogs", [flt])
        except RpcError as exc:
            refusal = classify_refusal(exc)
            if refusal is None:
                raise
            if width == 1:
                raise RpcError(f"eth_getLogs refused a single block ({start}): {exc}") from exc
            stats.refusals += 1
            if len(stats.messages) < 20:
                stats.messages.append(str(exc)[:300])
            new = width // 2
            if refusal.suggested is not None:
                s_from, s_to = refusal.suggested
                if s_from <= start <= s_to:
                    suggested = s_to - start + 1
                else:  # a suggestion for another start: keep its width
                    suggested = s_to - s_from + 1
                if 1 <= suggested < width:
                    new = suggested
            if refusal.max_blocks is not None and refusal.max_blocks < width:
                new = min(new, refusal.max_blocks) if refusal.suggested else refusal.max_blocks
                block_cap = min(block_cap or refusal.max_blocks, refusal.max_blocks)
            if refusal.max_results is not None:
                target = min(target, max(1, refusal.max_results // 2))
            if refusal.max_blocks is None and refusal.max_results is None:
                ceiling = width if ceiling is None else min(ceiling, width)
            since_refusal = 0
            span = max(1, new)
            log.info("eth_getLogs [%d, %d] refused (%s); next span %d", start, end, exc, span)
            continue
        if not isinstance(page, list):
            raise RpcError(f"eth_getLogs [{start}, {end}]: expected a list, got {str(page)[:200]}")
        out.extend(page)
        stats.pages += 1
        stats.logs += len(page)
        stats.largest_span = max(stats.largest_span, width)
        stats.smallest_span = (
            width if stats.smallest_span is None else min(stats.smallest_span, width)
        )
        if on_page is not None:
            on_page(start, end, page)
        start = end + 1
        # grow towards `target` results per page, at most ×2 at a time, under the limits learnt
        grown = width * 2 if not page else min(width * 2, max(1, width * target // len(page)))
        since_refusal += 1
        if ceiling is not None:
            if since_refusal >= 16:  # a refusal without numbers may depend on density: retry
                ceiling, since_refusal = ceiling * 2, 0
            grown = min(grown, max(width, (width + ceiling) // 2))  # bisect towards the ceiling
        span = max(1, min(grown, max_span, block_cap or max_span))
    return out


def safe_head(client: RpcClient, confirmations: int) -> tuple[int, int]:
    """(the chain head, the last block to audit: head - confirmations)."""
    if confirmations < 0:
        raise ValueError(f"confirmations {confirmations}: expected 0 or more")
    head = client.block_number()
    return head, head - confirmations
