"""What the ingest tests count: the record events on chain, and the keys a plan expects."""

from __future__ import annotations

from collections import Counter

from milktrace.chain import Rpc
from milktrace.events import RecordEvent, decode_logs


def on_chain(chain) -> Counter:
    """(event kind, batch id, event id) of every record event of the registry, counted."""
    raw = Rpc(chain.rpc).call("eth_getLogs", [{"address": chain.dep.address,
                                               "fromBlock": hex(chain.dep.deploy_block),
                                               "toBlock": "latest"}])
    return Counter((e.kind, e.batch_id, e.event_id) for e in decode_logs(raw)
                   if isinstance(e, RecordEvent))
