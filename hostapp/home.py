"""The start page of the host."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@login_required
def index():
    return render_template("hostapp/home.html", user=current_user)
