"""Autodiscovery results as core's :class:`DiscoveredServers`, with the app's injected network
access and the notes in the user's language."""
from __future__ import annotations

import functools

from flask import current_app

from tricoma_mail_plugin import AddressPolicy, DiscoveredServers, ServerNotAllowed, mail_server_policy

from .i18n import gettext
from .autodiscovery import InvalidAddress, default_resolver, discover, urllib_http_get


def _open_checked(policy: AddressPolicy, host: str, port: int, timeout: float | None):
    """The autoconfig fetch connects only where mailboxes may (a refused address is a failed
    fetch, an ``OSError``, to autodiscovery)."""
    try:
        return policy.connect(host, port, timeout)
    except ServerNotAllowed as error:
        raise PermissionError(error.detail) from error


def discovery_for(email: str) -> DiscoveredServers | None:
    config = current_app.config
    resolver = config.get("TRICOMA_MAIL_DISCOVERY_RESOLVER") or default_resolver()
    http_get = config.get("TRICOMA_MAIL_DISCOVERY_HTTP_GET") or functools.partial(
        urllib_http_get, open_socket=functools.partial(_open_checked, mail_server_policy()))
    try:
        found = discover(email, resolver=resolver, http_get=http_get)
    except InvalidAddress:
        return None
    if found is None or found.imap is None:
        return None
    smtp = found.smtp
    return DiscoveredServers(
        imap_host=found.imap.host,
        imap_port=found.imap.port,
        imap_security=found.imap.security,
        smtp_host=smtp.host if smtp else None,
        smtp_port=smtp.port if smtp else None,
        smtp_security=smtp.security if smtp else None,
        username=found.imap.username(email),
        source=found.source,
        provider_name=found.provider_name,
        notes=tuple(gettext(note) for note in found.notes),
        provider_files_sent_mail=found.provider_files_sent_mail,
        oauth_provider_kind=found.oauth,
    )
