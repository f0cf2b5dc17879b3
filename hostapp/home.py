"""The start page of the host."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory
from flask_login import current_user, login_required

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
