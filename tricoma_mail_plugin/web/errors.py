"""The one error handler of the app: core's exceptions become pages (HTML) or JSON (the API),
wherever they are raised: in core's pages, a plugin's pages or the host's. And the one check of
every request's fields before any view sees them."""
from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .._state import mail_state
from ..errors import (
    InvalidSettings,
    MailboxNotFound,
    MailError,
    MessageNotFound,
    NotAllowed,
    SendVetoed,
)
from ..mime.build import InvalidMessage
from ..plugins.ui import JSON_API_FLAG
from .redirects import safe_next

#: No pages of its own: registering it installs the app-wide handler of core's exceptions and
#: the check of every request's fields.
blueprint = Blueprint("tricoma_mail_errors", __name__)

# Control characters have no place in a URL's parameters (a NUL even breaks PostgreSQL's text);
# in a form only NUL is refused, as a pasted mail body may hold a form feed or the like.
_QUERY_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@blueprint.before_app_request
def refuse_control_characters():
    for name, value in request.args.items(multi=True):
        if _QUERY_CONTROLS.search(name) or _QUERY_CONTROLS.search(value):
            abort(400, description=_("The address holds characters that are not allowed."))
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded",
                                                          "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if "\x00" in name or "\x00" in value:
                abort(400, description=_("The form holds characters that are not allowed."))


@blueprint.after_app_request
def keep_signed_in_pages_out_of_caches(response):
    """Whatever a signed-in user is shown (mail, addresses, settings) stays out of every cache,
    the browser's included, unless the view chose its own caching (an inline image of a mail is
    kept privately for an hour)."""
    if ("Cache-Control" not in response.headers and hasattr(current_app, "login_manager")
            and current_user.is_authenticated):
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response


def mark_json_api(blueprint: Blueprint) -> None:
    """Errors of this blueprint's views are answered as JSON (``{"error": …}``)."""
    setattr(blueprint, JSON_API_FLAG, True)


def wants_json() -> bool:
    blueprint = current_app.blueprints.get(request.blueprint or "")
    return (getattr(blueprint, JSON_API_FLAG, False)
            or request.accept_mimetypes.best == "application/json"
            or request.headers.get("X-Requested-With") == "XMLHttpRequest")


def status_of(error: MailError) -> int:
    """Unknown or foreign mailboxes and messages: 404; a missing right: 403; a refused value,
    or a mail a plugin's ``before_send`` refused (a template field left unfilled, say): 400; the
    mail server's trouble: 502."""
    if isinstance(error, (MailboxNotFound, MessageNotFound)):
        return 404
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, (InvalidSettings, InvalidMessage, SendVetoed)):
        return 400
    return 502


@blueprint.app_errorhandler(MailError)
def handle_mail_error(error: MailError):
    """Roll back what the request changed, then say what went wrong in words, never with a
    traceback."""
    mail_state().db.session.rollback()
    status = status_of(error)
    if wants_json():
        return jsonify(error=error.user_message), status
    if request.method == "POST" and status in (400, 502):
        flash(error.user_message, "error")
        return redirect(safe_next(request.form.get("next")) or url_for("tricoma_mail_client.overview"))
    # 200 for the mail server's trouble: a proxy may replace a 5xx page and hide the message.
    return render_template("tricoma_mail/mail/error.html", message=error.user_message,
                           status=status), (200 if status == 502 else status)
