"""Core's compose dialog for other apps ("Send by e-mail" from a record, SPEC S2)."""
from __future__ import annotations

from ..hookspecs import hookimpl
from . import app_compose


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    return [app_compose.blueprint]
