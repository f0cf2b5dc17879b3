"""Autodiscovery results as core's :class:`DiscoveredServers`, with the app's injected network
access and the notes in the user's language."""
from __future__ import annotations

from flask import current_app

from tricoma_mail_plugin import DiscoveredServers

from .i18n import gettext
from .autodiscovery import InvalidAddress, default_resolver, discover, urllib_http_get


def discovery_for(email: str) -> DiscoveredServers | None:
    config = current_app.config
    resolver = config.get("TRICOMA_MAIL_DISCOVERY_RESOLVER") or default_resolver()
    http_get = config.get("TRICOMA_MAIL_DISCOVERY_HTTP_GET") or urllib_http_get
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
    )
