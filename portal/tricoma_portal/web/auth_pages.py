"""Sign in and out, the language switch, and the start page by role."""
from __future__ import annotations

from flask import (Blueprint, current_app, flash, redirect, render_template, request, send_from_directory, session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from .. import accounts, user_passwords
from ..extensions import db
from ..models import ROLES, User
from .access import roles

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@blueprint.get("/favicon.ico")
def favicon():
    """The icon every browser asks each site for (an SVG under the old name; every browser in
    use reads it): without it each page view logged a 404 in the browser's console. No login."""
    return send_from_directory(current_app.static_folder, "portal/favicon.svg", mimetype="image/svg+xml", max_age=86400)


@blueprint.get("/")
def start():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_operator:
        return redirect(url_for("operator.orders"))
    return redirect(url_for("mailboxes.index"))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.active and user_passwords.check_user_password(user, password):
            session.clear()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.start"))
        flash(_("E-mail address or password is wrong."), "error")
        return render_template("portal/login.html", email=email), 401
    return render_template("portal/login.html", email="")


@blueprint.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.post("/language")
def language():
    code = request.form.get("language")
    if code in ("de", "en"):
        session["language"] = code
        if current_user.is_authenticated:
            current_user.language = code
            db.session.commit()
    return redirect(_safe_next(request.form.get("back")) or url_for("auth.start"))


@blueprint.route("/account", methods=["GET", "POST"])
@roles(*ROLES)
def account():
    if request.method == "POST":
        accounts.change_password(current_user, request.form.get("current_password", ""),
                                 request.form.get("new_password", ""))
        flash(_("Your password was changed."), "success")
        return redirect(url_for("auth.account"))
    return render_template("portal/account.html")
