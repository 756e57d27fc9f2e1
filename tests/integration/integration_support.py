"""Shared by the integration tests: the keystore password of this run, and what the ingest
tests count on chain."""

from __future__ import annotations

import secrets
from collections import Counter

from milktrace.chain import Rpc
from milktrace.events import RecordEvent, decode_logs

#: Password of the throwaway keystores made by this test run: generated now, never committed
#: (non-ASCII on purpose, to exercise UTF-8 passwords).
PASSWORD = f"lait-{secrets.token_urlsafe(12)}-奶粉"


def on_chain(chain) -> Counter:
    """(event kind, batch id, event id) of every record event of the registry, counted."""
    raw = Rpc(chain.rpc).call("eth_getLogs", [{"address": chain.dep.address,
                                               "fromBlock": hex(chain.dep.deploy_block),
                                               "toBlock": "latest"}])
    return Counter((e.kind, e.batch_id, e.event_id) for e in decode_logs(raw)
                   if isinstance(e, RecordEvent))
