"""gunicorn's settings for the host app (``gunicorn -c python:hostapp.gunicorn_conf
hostapp.wsgi:app``), from the environment:

* ``TRICOMA_BIND`` (default ``127.0.0.1:5000``), ``TRICOMA_WEB_WORKERS`` (processes, default 2),
  ``TRICOMA_WEB_THREADS`` (threads per process, default 4), ``TRICOMA_WEB_TIMEOUT`` (seconds a
  request may take, default 60), ``TRICOMA_GRACEFUL_SECONDS`` (default 30),
  ``TRICOMA_WEB_KEEPALIVE`` (seconds an idle connection stays open, default 30).

A graceful stop (SIGTERM to the master, or a worker told to exit): the worker reports itself not
ready at once (``/ready`` answers 503), finishes the requests under way, and then the embedded
jobs (no broker) get the rest of the grace time before what they hold is handed back.
"""
from __future__ import annotations

import os
import signal

from tricoma_mail_plugin import mark_stopping, stop_background_work

bind = os.environ.get("TRICOMA_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("TRICOMA_WEB_WORKERS", "2"))
threads = int(os.environ.get("TRICOMA_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("TRICOMA_WEB_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("TRICOMA_GRACEFUL_SECONDS", "30"))
# Seconds an idle keep-alive connection stays open. Keep it longer than the idle time of the
# clients or the proxy in front, so that they close first: a server that closes a connection
# while a client sends its next request on it loses that request.
keepalive = int(os.environ.get("TRICOMA_WEB_KEEPALIVE", "30"))
# TRICOMA_WEB_MAX_REQUESTS: replace a worker after this many requests (and up to a tenth more),
# should a process grow without bound; 0 (the default): never. The replacement finishes the
# requests under way, but closes idle keep-alive connections, and a client that reuses one at
# that moment loses its request (the load test saw it): only behind a proxy that retries.
max_requests = int(os.environ.get("TRICOMA_WEB_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("TRICOMA_ACCESS_LOG") or None
# gunicorn 24+ opens a control socket at one fixed path per user; several servers on one host
# (two apps, or a test beside `./dev run`) would take it from each other. Nothing uses it.
control_socket_disable = True


def _flask_app(worker):
    app = getattr(worker, "wsgi", None)
    return app if hasattr(app, "extensions") else None


def post_worker_init(worker):
    """Report "not ready" from the moment the worker is told to stop."""
    app = _flask_app(worker)
    handle_exit = worker.handle_exit

    def exiting(sig, frame):
        if app is not None:
            mark_stopping(app)
        handle_exit(sig, frame)

    worker.handle_exit = exiting
    # gunicorn registered the bound method before this hook ran: register the wrapper instead.
    signal.signal(signal.SIGTERM, exiting)


def worker_exit(server, worker):
    """The requests are done: give the embedded jobs the rest of the grace time, then hand
    back their leases."""
    app = _flask_app(worker)
    if app is not None:
        mark_stopping(app)
        handed = stop_background_work(app, wait=max(1.0, graceful_timeout / 2))
        if handed:
            server.log.info("worker %s handed back %s job leases", worker.pid, handed)
