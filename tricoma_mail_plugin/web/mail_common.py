"""What the mail client's blueprints share: sign-in, the one error handler that maps core's
exceptions to answers, template helpers and the banners (undo delete, undo send) kept in the
session between a POST and the page it redirects to."""
from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    jsonify,
    render_template,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from ..mailboxes.folders import ROLE_LABELS
from ..models import is_row_id
from ..plugins.ui import mailbox_client_url, sign_in_required
from ..rights import access
from .errors import mark_json_api, wants_json
from .message_rows import message_rows, row_formatter, rows_html, sender_label
from .sender_choice import from_label

UNDO_KEY = "tricoma_mail_undo"
BANNER_KEY = "tricoma_mail_banners"
UNDO_KEPT = 3


def install(blueprint: Blueprint, json_api: bool = False, own_sign_in: tuple[str, ...] = ()) -> None:
    """Sign-in check, id check and template helpers for one of the client's blueprints (errors
    are answered by the app-wide handler, :mod:`web.errors`). Views named in ``own_sign_in``
    check who asks themselves."""
    sign_in_required(blueprint, json_api=json_api, exempt=own_sign_in)
    if json_api:
        mark_json_api(blueprint)

    @blueprint.url_value_preprocessor
    def _refuse_impossible_ids(_endpoint, values):
        # A database id is a positive 64-bit integer; anything else names nothing (and must not
        # reach the database driver, which cannot even bind it).
        for name, value in (values or {}).items():
            if isinstance(value, int) and not is_row_id(value):
                abort(404)

    blueprint.context_processor(_template_helpers)


def rights_on(mailbox_id: int) -> frozenset[str]:
    return access.effective_rights(current_user, mailbox_id)


def static_url(filename: str) -> str:
    return url_for("tricoma_mail_client.static", filename=f"tricoma_mail/{filename}")


# -- banners --------------------------------------------------------------------------------------


def remember_undo(data: dict) -> str:
    """Keep what an undo needs in the session (the newest few); returns its token."""
    token = secrets.token_urlsafe(12)
    kept = dict(session.get(UNDO_KEY) or {})
    kept[token] = data
    session[UNDO_KEY] = dict(list(kept.items())[-UNDO_KEPT:])
    return token


def take_undo(token: str) -> dict | None:
    kept = dict(session.get(UNDO_KEY) or {})
    data = kept.pop(token or "", None)
    session[UNDO_KEY] = kept
    return data


def add_banner(kind: str, **values) -> None:
    """A banner with a button (undo) for the next page; ``kind`` is "deleted" or "sent"."""
    banners = list(session.get(BANNER_KEY) or [])
    banners.append({"kind": kind, **values})
    session[BANNER_KEY] = banners[-3:]


def take_banners() -> list[dict]:
    """The banners left for this page, once; a "sent" banner says whether undo is still possible."""
    if BANNER_KEY not in session:
        return []  # a pop would mark the session changed: a new cookie with every page
    banners = session.pop(BANNER_KEY, None) or []
    now = time.time()
    for banner in banners:
        if banner.get("kind") == "sent":
            banner["seconds"] = max(0, round(banner.get("until", 0) - now))
            banner["undoable"] = banner.get("until", 0) > now + 0.5
    return banners


# -- template helpers -----------------------------------------------------------------------------


def human_size(size: int | None) -> str:
    return row_formatter().size(size)


def mail_date(moment: datetime | None) -> str:
    """Today's mail by its time, older mail by its date."""
    return row_formatter().date_label(moment)


def full_date(moment: datetime | None) -> str:
    return row_formatter().date_title(moment)


def _template_helpers() -> dict[str, Any]:
    return {
        "sender_label": sender_label,
        "from_label": from_label,
        "message_rows": message_rows,
        "rows_html": rows_html,
        "human_size": human_size,
        "mail_date": mail_date,
        "full_date": full_date,
        "mail_static": static_url,
        "mailbox_client_url": mailbox_client_url,
        "mail_banners": take_banners,
        "role_labels": ROLE_LABELS,
    }


def error_response(status: int, message: str):
    """A JSON error for the client's scripts, or the error page."""
    if wants_json():
        return jsonify(error=message), status
    return render_template("tricoma_mail/mail/error.html", message=message, status=status), status


def http_error_message(error: HTTPException) -> str:
    return error.description or str(error)
