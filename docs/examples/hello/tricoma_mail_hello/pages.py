"""The hello plugin's pages: a greeting for every user, and a settings page for admins."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

blueprint = Blueprint(
    "tricoma_mail_hello", __name__, url_prefix="/mail/hello", template_folder="templates"
)


@blueprint.get("/")
@login_required
def index():
    name = getattr(current_user, "name", None) or current_user.get_id()
    return render_template(
        "tricoma_mail_hello/page.html", title=_("Hello"), text=_("Hello, %(name)s!", name=name)
    )


@blueprint.get("/settings")
@login_required
def settings():
    if not getattr(current_user, "is_admin", False):
        abort(403)
    return render_template(
        "tricoma_mail_hello/page.html",
        title=_("Hello settings"),
        text=_("The hello plugin adds a page, a menu entry, this panel and the right “Greet”."),
    )
