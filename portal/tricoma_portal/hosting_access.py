"""The app's ``HostingStack`` client (tricoma_portal.hosting.provisioning), built from its config
at first use (the stack may start after the portal); None when no stack is configured."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app

from .errors import HostingUnavailable
from .hosting.provisioning import HostingStack, ProvisioningError

log = logging.getLogger(__name__)

_EXTENSION = "tricoma_portal.hosting"


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = {"stack": None, "lock": threading.Lock()}


def hosting_stack() -> HostingStack | None:
    """The client; ``HostingUnavailable`` while a configured stack is not up."""
    config = current_app.config
    if not config.get("TRICOMA_PORTAL_HOSTING_STATE_DIR"):
        return None
    holder = current_app.extensions[_EXTENSION]
    with holder["lock"]:
        if holder["stack"] is None:
            try:
                holder["stack"] = HostingStack.from_config(config)
            except ProvisioningError as error:
                log.warning("hosting stack not reachable: %s", error)
                raise HostingUnavailable() from error
        return holder["stack"]


@contextmanager
def stack_call(what: str) -> Iterator[None]:
    """Turn a failure of the stack into ``HostingUnavailable`` (logged with ``what``)."""
    try:
        yield
    except HostingUnavailable:
        raise
    except Exception as error:  # the stack's own errors, OSError, subprocess failures
        log.warning("hosting stack failed to %s: %s", what, error)
        raise HostingUnavailable() from error


def server_settings() -> dict:
    """IMAP/SMTP host, ports and security for the pages and the API ({} without a reachable
    stack)."""
    try:
        stack = hosting_stack()
    except HostingUnavailable:
        return {}
    return dict(stack.settings()) if stack else {}


def dns_resolver() -> tuple[str, int]:
    """The resolver "Check DNS" and the TXT proof ask: the config's, else the stack's own DNS
    server, else the machine's port 53."""
    configured = current_app.config.get("TRICOMA_PORTAL_DNS_RESOLVER")
    if configured:
        host, _, port = configured.rpartition(":")
        return host, int(port)
    settings = server_settings()
    return settings.get("dns_host", "127.0.0.1"), int(settings.get("dns_port", 53))
