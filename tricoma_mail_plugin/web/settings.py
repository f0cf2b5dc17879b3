"""The mail settings page: the panels the enabled plugins offer the current user."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from ..plugins.ui import settings_panels

blueprint = Blueprint(
    "tricoma_mail_settings", __name__, url_prefix="/mail/settings", template_folder="../templates"
)


@blueprint.get("/")
@login_required
def index():
    panels = settings_panels(current_user)
    if not panels:
        abort(404)
    return render_template("tricoma_mail/settings/index.html", panels=panels)
