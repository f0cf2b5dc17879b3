"""Core's built-in plugin for tags (IMAP keywords with names and colours): their JSON API for
the v2 client and their pages in the v1 client (web/tag_api.py)."""
from __future__ import annotations

from ..hookspecs import hookimpl
from . import tag_api


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    return [tag_api.api, tag_api.pages]
