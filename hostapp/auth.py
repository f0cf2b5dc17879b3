"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    current_user,
    login_required,
    login_user,
    logout_user,
    user_logged_in,
    user_logged_out,
)
from sqlalchemy import func, select

from . import (
    known_devices,
    login_sessions,
    login_throttle,
    password_checks,
    password_reset,
)
from .extensions import db, login_manager
from .models import User

blueprint = Blueprint("auth", __name__)

SUPPORTED_LANGUAGES = ("de", "en")


def N_(message: str) -> str:
    """Marks a message for extraction; Flask-Login translates it when it flashes it."""
    return message


login_manager.login_message = N_("Please log in to access this page.")
login_manager.needs_refresh_message = N_("Please reauthenticate to access this page.")
login_manager.localize_callback = _

#: Longer than any stored user name (``hostapp_user.username``); refused before any work.
MAX_USERNAME_LENGTH = 80


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of the request's session, if the server still holds that session open."""
    try:
        claimed = int(user_id)
    except ValueError:
        return None
    user = login_sessions.current_user(claimed)
    return user if user is not None and user.active else None


# Flask-Login's signals are global: another app in the same process (the hosting portal in the
# tests) must not open or end the host's server-side sessions.
@user_logged_in.connect
def _open_server_session(sender, user, **extra) -> None:
    if sender.name == __package__:
        login_sessions.start(user.id)


@user_logged_out.connect
def _end_server_session(sender, user, **extra) -> None:
    if sender.name == __package__:
        login_sessions.end_current()


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if request.method == "GET":
        return render_template("hostapp/login.html", username="")
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    if len(username) > MAX_USERNAME_LENGTH or len(password) > password_reset.MAX_PASSWORD_LENGTH:
        # Before any query or hash, and nothing of it stored.
        return _login_page("", _("The user name or the password is too long."), 400)
    username = username.strip()
    limits = login_throttle.login_limits(username, request.remote_addr,
                                         known_device=known_devices.is_known(username))
    wait = login_throttle.seconds_to_wait(limits)
    if wait:  # refused before the (slow) password check
        return _login_page(username, _("Too many failed logins. Please wait %(seconds)d seconds and "
                                       "try again.", seconds=wait), 429, retry_after=wait)
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    password_hash = user.password_hash if user is not None else None
    # End the read transaction: its pooled connection must not be held while the check waits
    # for its turn and hashes, or a login flood takes every connection from the pages.
    db.session.rollback()
    try:
        matches = password_checks.password_matches(password_hash, password)
    except password_checks.HashingBusy:
        return _login_page(username, _("Many people are logging in right now. Please try again in a "
                                       "few seconds."), 503, retry_after=2)
    if not matches or not user.active:
        login_throttle.record_failure(limits)
        return _login_page(username, _("The user name or the password is wrong."), 401)
    # Only this name's count from this address: the address's count of failures for other
    # names stays, so one's own login between guesses buys nothing.
    login_throttle.clear([limit.key for limit in limits if limit.key.startswith("pair:")])
    login_user(user, remember=False)
    response = redirect(_safe_next(request.args.get("next")))
    known_devices.remember(response, username)
    return response


def _login_page(username: str, error: str, status: int, retry_after: int | None = None):
    # The message goes straight into the page, not through the session: a refused attempt
    # neither writes nor re-signs the cookie (cheap under a flood).
    response = make_response(render_template("hostapp/login.html", username=username, error=error), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@blueprint.post("/logout")
@login_required
def logout():
    logout_user()  # ends the server-side session: the old cookie opens nothing any more
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
    if len(identifier) > password_reset.MAX_IDENTIFIER_LENGTH:
        flash(_("The user name or the e-mail address is too long."), "error")
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
