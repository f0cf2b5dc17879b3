"""The app's Redis connection (``TRICOMA_MAIL_REDIS_URL``), made once per process and app, and
the names of the extension's keys in it (all under ``TRICOMA_MAIL_QUEUE_PREFIX``)."""
from __future__ import annotations

import threading

from flask import Flask, current_app
from redis import Redis

_LOCK = threading.Lock()
_EXTENSION_KEY = "tricoma_mail_redis"


def broker_configured(app: Flask | None = None) -> bool:
    """Whether jobs go through Redis (else they run embedded, in threads of each web process)."""
    return bool((app or current_app).config.get("TRICOMA_MAIL_REDIS_URL"))


def redis_connection(app: Flask | None = None) -> Redis:
    """The app's Redis client (thread-safe, pooled); only when a broker is configured."""
    app = app or current_app._get_current_object()
    client = app.extensions.get(_EXTENSION_KEY)
    if client is None:
        with _LOCK:
            client = app.extensions.get(_EXTENSION_KEY)
            if client is None:
                client = Redis.from_url(app.config["TRICOMA_MAIL_REDIS_URL"], socket_timeout=10,
                                        socket_connect_timeout=5, health_check_interval=30)
                app.extensions[_EXTENSION_KEY] = client
    return client


def forget_connection(app: Flask) -> None:
    """Drop the client (after a fork: a child must not share its parent's sockets)."""
    app.extensions.pop(_EXTENSION_KEY, None)


def key(*parts: object, app: Flask | None = None) -> str:
    prefix = (app or current_app).config["TRICOMA_MAIL_QUEUE_PREFIX"]
    return ":".join((prefix, *(str(part) for part in parts)))
