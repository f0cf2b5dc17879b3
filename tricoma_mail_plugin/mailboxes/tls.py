"""TLS for connections to mail servers: certificates are always verified; extra trusted CAs come
from settings. Unencrypted connections are allowed only to this machine."""
from __future__ import annotations

import functools
import ipaddress
import os
import ssl


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The verifying context for ``ca_file`` (None: the system's CAs). Contexts are shared and
    must not be changed: loading the system's CAs costs tens of milliseconds, a third of a sync
    of an unchanged mailbox. A CA file that changed on disk gives a new context."""
    try:
        stamp = os.stat(ca_file).st_mtime_ns if ca_file else None
    except OSError:
        stamp = None  # loading it below raises as before
    return _context(ca_file, stamp)


@functools.lru_cache(maxsize=16)
def _context(ca_file: str | None, _stamp: int | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
