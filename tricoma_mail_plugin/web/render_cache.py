"""A short memory of rendered messages: the reading page and its body frame ask for the same
message moments apart, and behind a load balancer the two requests may reach different web
processes or hosts. With a broker configured the memory is Redis, shared by all of them (entries
of at most :data:`SHARED_MAX_BYTES`, kept :data:`SECONDS`); without, this process keeps the last
:data:`LOCAL_SIZE` renders. Only the web layer reads it; the rights are checked before."""
from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from typing import Any

from redis.exceptions import RedisError

from ..jobs.redis_link import broker_configured, key, redis_connection

log = logging.getLogger(__name__)

SECONDS = 60
LOCAL_SIZE = 16
SHARED_MAX_BYTES = 512 * 1024

_local: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()


def _shared_key(parts: tuple) -> str:
    return key("render", hashlib.sha256(repr(parts).encode()).hexdigest())


def get(parts: tuple) -> Any | None:
    """What :func:`put` stored under ``parts`` in the last :data:`SECONDS`, else None."""
    if broker_configured():
        try:
            data = redis_connection().get(_shared_key(parts))
        except RedisError:
            log.warning("the shared render cache did not answer", exc_info=True)
            return None
        return pickle.loads(data) if data else None  # written by put() below, nothing else
    now = time.monotonic()
    with _lock:
        found = _local.get(parts)
        if found and now - found[0] < SECONDS:
            _local.move_to_end(parts)
            return found[1]
    return None


def put(parts: tuple, value: Any) -> None:
    if broker_configured():
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) <= SHARED_MAX_BYTES:
            try:
                redis_connection().set(_shared_key(parts), data, ex=SECONDS)
            except RedisError:
                log.warning("the shared render cache did not answer", exc_info=True)
        return
    with _lock:
        _local[parts] = (time.monotonic(), value)
        while len(_local) > LOCAL_SIZE:
            _local.popitem(last=False)
