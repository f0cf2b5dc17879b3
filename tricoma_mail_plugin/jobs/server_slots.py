"""Fair use of each mail server: at most ``TRICOMA_MAIL_SERVER_CONCURRENCY`` syncs of one server
(host and port) at once over every worker, and a pause of ``TRICOMA_MAIL_SERVER_PAUSE_SECONDS``
after it did not answer. A sync whose server is full waits a moment for a slot and is then put
back on the queue (:class:`ServerBusy`: its turn is kept, the worker takes other mailboxes'
jobs); one whose server is paused skips this period. So a slow or dead server holds up at most
that many workers, and only its own mailboxes wait.

With a broker the slots live in Redis (a sorted set of holders scored by when their claim runs
out, so a killed worker's slot frees itself); embedded, in this process.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from .redis_link import broker_configured, key, redis_connection

# KEYS[1] the server's set; ARGV: now, claim ends, limit, holder. 1 when the slot was taken.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[2] - ARGV[1]) + 60)
  return 1
end
return 0
"""

SLOT_WAIT_SECONDS = 2.0
SLOT_POLL_SECONDS = 0.1


class ServerBusy(Exception):
    """Every slot of the mail server stayed taken: run the job later (it keeps its turn)."""


_local_lock = threading.Lock()
_local_slots: dict[str, dict[str, float]] = {}
_local_pauses: dict[str, float] = {}


def _limit() -> int:
    return max(1, int(current_app.config["TRICOMA_MAIL_SERVER_CONCURRENCY"]))


def paused(server: str) -> bool:
    if broker_configured():
        return bool(redis_connection().exists(key("pause", server)))
    with _local_lock:
        return _local_pauses.get(server, 0) > time.time()


def take(server: str, holder: str, seconds: float) -> bool:
    """Take one of ``server``'s slots for ``seconds`` (or until :func:`give_back`); False when
    every slot is held."""
    now = time.time()
    if broker_configured():
        return bool(redis_connection().eval(_TAKE, 1, key("slots", server), now, now + seconds, _limit(), holder))
    with _local_lock:
        holders = {h: until for h, until in _local_slots.get(server, {}).items() if until > now}
        if len(holders) >= _limit():
            _local_slots[server] = holders
            return False
        holders[holder] = now + seconds
        _local_slots[server] = holders
        return True


def give_back(server: str, holder: str) -> None:
    if broker_configured():
        redis_connection().zrem(key("slots", server), holder)
        return
    with _local_lock:
        _local_slots.get(server, {}).pop(holder, None)


def pause(server: str, seconds: float | None = None) -> None:
    """Leave ``server`` alone for a while: it did not answer."""
    seconds = seconds if seconds is not None else float(current_app.config["TRICOMA_MAIL_SERVER_PAUSE_SECONDS"])
    if seconds <= 0:
        return
    if broker_configured():
        redis_connection().set(key("pause", server), "1", px=int(seconds * 1000))
        return
    with _local_lock:
        _local_pauses[server] = time.time() + seconds


@contextmanager
def server_slot(server: str, holder: str, seconds: float, wait: float = SLOT_WAIT_SECONDS) -> Iterator[None]:
    """Hold a slot of ``server`` for the block, waiting up to ``wait`` seconds for one; raises
    :class:`ServerBusy` when none came free."""
    deadline = time.monotonic() + wait
    while not take(server, holder, seconds):
        if time.monotonic() >= deadline:
            raise ServerBusy(server)
        time.sleep(SLOT_POLL_SECONDS)
    try:
        yield
    finally:
        give_back(server, holder)
