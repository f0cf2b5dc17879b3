"""The URLs of the mail client's page frame (``mail/_page.html``: its stylesheets and script):
the same on every page under one script root, so each process builds them once per root instead
of asking the URL map three times per page. Core's and plugins' pages share the frame, so the
helper is a global of every template (``mail_client_plugin``)."""
from __future__ import annotations

from flask import request, url_for

from ..app_memo import remembered_per_app

_KEY = "tricoma_mail_page_urls"
MAX_ROOTS = 32


def page_urls() -> dict[str, str]:
    """``{"mail_css", "tag_colours_css", "mail_js"}`` for the request's script root."""
    return remembered_per_app(_KEY, request.script_root, _built, MAX_ROOTS)


def _built() -> dict[str, str]:
    def static(filename: str) -> str:
        return url_for("tricoma_mail_client.static", filename=filename)

    return {"mail_css": static("tricoma_mail/mail.css"),
            "tag_colours_css": static("tricoma_mail/tag_colours.css"),
            "mail_js": static("tricoma_mail/mail.js")}
