"""The URLs of the layout's frame (stylesheet, start page, language switch, logout): the same on
every page under one script root, so each process builds them once per root instead of asking
the URL map four times per page."""
from __future__ import annotations

from flask import current_app, request, url_for

_KEY = "hostapp_frame_urls"
MAX_ROOTS = 32


def frame_urls() -> dict[str, str]:
    """``{"style", "home", "set_language", "logout"}`` for the request's script root."""
    held = current_app.extensions.setdefault(_KEY, {})
    root = request.script_root
    urls = held.get(root)
    if urls is None:
        if len(held) >= MAX_ROOTS:  # the root can come from a request header: bounded
            held.clear()
        urls = held[root] = {"style": url_for("static", filename="hostapp/style.css"),
                             "home": url_for("home.index"),
                             "set_language": url_for("auth.set_language"),
                             "logout": url_for("auth.logout")}
    return urls
