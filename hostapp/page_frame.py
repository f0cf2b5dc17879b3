"""The URLs of the layout's frame (stylesheet, start page, language switch, logout): the same on
every page under one script root, so each process builds them once per root instead of asking
the URL map four times per page."""
from __future__ import annotations

from flask import request, url_for

from tricoma_mail_plugin import remembered_per_app

_KEY = "hostapp_frame_urls"
MAX_ROOTS = 32


def frame_urls() -> dict[str, str]:
    """``{"style", "home", "set_language", "logout"}`` for the request's script root."""
    return remembered_per_app(_KEY, request.script_root, _built, MAX_ROOTS)


def _built() -> dict[str, str]:
    return {"style": url_for("static", filename="hostapp/style.css"),
            "home": url_for("home.index"),
            "set_language": url_for("auth.set_language"),
            "logout": url_for("auth.logout")}
