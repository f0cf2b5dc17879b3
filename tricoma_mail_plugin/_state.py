"""The accessor of the extension's per-app state. It imports nothing else of core, so every
service can reach the database and the hooks without importing the extension (which imports
the services)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from .extension import MailState

EXTENSION_KEY = "tricoma_mail"


def mail_state(app: Flask | None = None) -> "MailState":
    """The extension's state of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]
