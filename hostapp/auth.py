"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from . import login_throttle, password_reset
from .extensions import db, login_manager
from .models import User

blueprint = Blueprint("auth", __name__)

SUPPORTED_LANGUAGES = ("de", "en")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except ValueError:
        return None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        keys = login_throttle.throttle_keys(username, request.remote_addr)
        wait = login_throttle.seconds_to_wait(keys)
        if wait:
            flash(_("Too many failed logins. Please wait %(seconds)d seconds and try again.",
                    seconds=wait), "error")
            return render_template("hostapp/login.html", username=username), 429
        user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None or not user.check_password(request.form.get("password", "")) or not user.active:
            login_throttle.record_failure(keys)
            flash(_("The user name or the password is wrong."), "error")
            return render_template("hostapp/login.html", username=username), 401
        login_throttle.reset(keys)
        login_user(user, remember=False)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("hostapp/login.html", username=username)


@blueprint.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have been logged out."), "success")
    return redirect(url_for("auth.login"))


@blueprint.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    identifier = request.form.get("identifier", "").strip()
    if request.method == "GET":
        return render_template("hostapp/password_forgot.html", identifier="")
    if not identifier:
        flash(_("Enter your user name or your e-mail address."), "error")
        return render_template("hostapp/password_forgot.html", identifier=""), 400
    keys = password_reset.throttle_keys(identifier, request.remote_addr)
    wait = login_throttle.seconds_to_wait(keys)
    if wait:
        flash(_("Too many requests. Please wait %(seconds)d seconds and try again.", seconds=wait), "error")
        return render_template("hostapp/password_forgot.html", identifier=identifier), 429
    login_throttle.record_failure(keys)  # every request counts, found or not
    password_reset.request_reset(identifier)
    # The same answer whether or not the account exists, so nobody can probe for names.
    flash(_("If an account with this name or address exists and has an e-mail address, we have "
            "sent it a link to choose a new password. The link is valid for one hour."), "success")
    return redirect(url_for("auth.login"))


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        password_reset.user_for_token(token)
    except password_reset.ExpiredResetLink:
        return _invalid_reset_link(_("This link has expired. Request a new one."))
    except password_reset.InvalidResetLink:
        return _invalid_reset_link(_("This link is not valid (any more): it may have been used already. "
                                     "Request a new one."))
    if request.method == "GET":
        return _no_store(render_template("hostapp/password_reset.html", token=token))
    password = request.form.get("password", "")
    problem = password_reset.password_problem(password, request.form.get("password_repeated", ""))
    if problem:
        return _no_store(render_template("hostapp/password_reset.html", token=token, error=problem)), 400
    password_reset.reset_password(token, password)
    flash(_("Your new password is set. Log in with it."), "success")
    return redirect(url_for("auth.login"))


def _invalid_reset_link(message: str):
    return _no_store(render_template("hostapp/password_reset.html", token=None, invalid=message)), 400


def _no_store(body: str):
    # The page's address holds the token: keep it out of caches.
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/language")
def set_language():
    language = request.form.get("language")
    if language in SUPPORTED_LANGUAGES:
        session["language"] = language
        if current_user.is_authenticated:
            current_user.language = language
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


def _safe_next(target: str | None) -> str:
    """Only follow local paths, never another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("home.index")
