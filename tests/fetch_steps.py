"""The order in which a backend's pipelined fetch asks the server for batches and hands them out
(the v1 plugin's pipeline and parse-worker tests)."""
from __future__ import annotations


def fetch_steps(backend, uids: list[int], batch_size: int) -> list[str]:
    """Runs ``backend.fetch_summary_batches(uids, batch_size)`` whole; the steps in order:
    ``"ask <first uid>"`` when a batch's FETCH goes out, ``"got <first uid> (<summaries>)"`` when
    a batch is handed to the caller. The backend's sender is wrapped for the call only."""
    steps: list[str] = []
    send = backend._send_fetch

    def recording_send(batch, items):
        steps.append(f"ask {batch[0]}")
        return send(batch, items)

    backend._send_fetch = recording_send
    try:
        for batch in backend.fetch_summary_batches(uids, batch_size):
            steps.append(f"got {batch.uids[0]} ({len(batch.summaries)})")
    finally:
        backend._send_fetch = send
    return steps
