"""The start page of the host."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_from_directory
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@login_required
def index():
    return render_template("hostapp/home.html", user=current_user)


@blueprint.get("/favicon.ico")
def favicon():
    """The icon browsers ask every site for (an SVG under the old name: every browser in use
    reads it); no login, kept for a day."""
    return send_from_directory(current_app.static_folder, "hostapp/favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)


@blueprint.app_errorhandler(403)
@blueprint.app_errorhandler(404)
@blueprint.app_errorhandler(405)
def refused(error: HTTPException):
    """A page nobody may see, that does not exist, or was asked for the wrong way (an app's,
    or one of a switched-off plugin): said in the host's layout and the user's language, not
    with Werkzeug's bare English page. Clients that do not read HTML get the plain answer."""
    if not request.accept_mimetypes.accept_html or request.accept_mimetypes.best == "application/json" \
            or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return error
    allowed = [(name, value) for name, value in error.get_headers() if name.lower() == "allow"]  # a 405's
    return render_template("hostapp/error.html", status=error.code), error.code, allowed
