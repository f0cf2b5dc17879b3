"""A small ERP host for tricoma mail: users, groups, login, an admin area and a page layout.

``create_app(config)`` builds the app; the mail client arrives through the tricoma mail extension.
"""
from __future__ import annotations

import os
import secrets
from typing import Any, Mapping

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from . import (
    csrf_tokens,
    login_sessions,
    password_checks,
    sqlite_tuning,
    transport_security,
)
from .extensions import babel, csrf, db, login_manager, mail, mailer, migrate

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: The host's Content-Security-Policy; tricoma mail builds a reading page's own from it
#: (TRICOMA_MAIL_CONTENT_SECURITY_POLICY below).
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_TRANSLATION_DIRECTORIES": os.path.join(PACKAGE_DIR, "translations"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "HOSTAPP_PASSWORD_HASH_METHOD": "scrypt",
    # The login throttle (hostapp/login_throttle.py, docs/security.md).
    "HOSTAPP_LOGIN_FREE_ATTEMPTS": 3,  # per user name and client address
    "HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_ADDRESS": 20,
    "HOSTAPP_LOGIN_FREE_ATTEMPTS_PER_NAME": 10,  # from devices the user has not logged in from
    "HOSTAPP_LOGIN_MAX_WAIT_SECONDS": 900,
    "HOSTAPP_LOGIN_NAME_MAX_WAIT_SECONDS": 30,  # the most a user name's own limit makes anyone wait
    "HOSTAPP_LOGIN_WINDOW_SECONDS": 900,  # failures are forgotten after this long without one
    "HOSTAPP_KNOWN_DEVICE_DAYS": 180,
    # Password checks at once per process (None: half the CPUs) and how many may wait how long.
    "HOSTAPP_LOGIN_HASH_CONCURRENCY": None,
    "HOSTAPP_LOGIN_HASH_QUEUE": 16,
    "HOSTAPP_LOGIN_HASH_WAIT_SECONDS": 5,
    "HOSTAPP_LOGIN_HASH_NICENESS": 10,  # the checks' threads yield the CPUs to the pages
    # Server-side sessions (hostapp/login_sessions.py).
    "HOSTAPP_SESSION_IDLE_SECONDS": 7200,
    "HOSTAPP_SESSION_MAX_SECONDS": 43200,
    # HTTPS (hostapp/transport_security.py): None follows PREFERRED_URL_SCHEME.
    "HOSTAPP_BEHIND_TLS": None,
    "HOSTAPP_HSTS_MAX_AGE": 31536000,
    "HOSTAPP_TRUSTED_PROXIES": 0,
    "HOSTAPP_RESET_FREE_REQUESTS": 3,
    "HOSTAPP_RESET_FREE_REQUESTS_PER_ADDRESS": 10,
    "TRICOMA_MAIL_BASE_TEMPLATE": "hostapp/layout.html",
    "TRICOMA_MAIL_CONTENT_SECURITY_POLICY": CONTENT_SECURITY_POLICY,
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the host app. ``config`` overrides the defaults and the environment.

    Environment variables ``HOSTAPP_<KEY>`` set the config key ``<KEY>`` (values read as JSON
    where they parse: ``HOSTAPP_PREFERRED_URL_SCHEME=https``), and the host's own keys by their
    full name (``HOSTAPP_SESSION_IDLE_SECONDS=3600``). The database is
    ``SQLALCHEMY_DATABASE_URI`` from ``config``, else the environment variable
    ``HOSTAPP_DATABASE_URL``, else an SQLite file in the instance folder.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.session_interface = login_sessions.CheckedCookieSessions()
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("HOSTAPP")
    for key in DEFAULTS:
        # from_prefixed_env strips the prefix; the host's keys keep it.
        if key.startswith("HOSTAPP_") and key in os.environ:
            app.config[key] = app.config.pop(key.removeprefix("HOSTAPP_"))
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        os.environ.get("HOSTAPP_DATABASE_URL")
        or "sqlite:///" + os.path.join(app.instance_path, "hostapp.sqlite"),
    )
    if (app.config["SQLALCHEMY_ENGINE_OPTIONS"] is DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"]
            and app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")):
        # A database file has no server to drop a pooled connection: no ping before every request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            sqlite_tuning.tune(engine)
    migrate.init_app(app, db, directory=os.path.join(PACKAGE_DIR, "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    transport_security.init_app(app)
    password_checks.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    csrf_tokens.init_app(app)
    mailer.init_app(app)  # before tricoma mail, which takes over its sending
    mail.init_app(app)

    from . import admin, auth, cli, health, home
    from .navigation import navigation_sections
    from .page_chrome import page_chrome
    from .page_frame import frame_urls

    app.register_blueprint(auth.blueprint)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(health.blueprint)
    cli.register(app)
    # globals, not a context processor: those run again for every template a page renders
    app.jinja_env.globals.update(navigation_sections=navigation_sections, get_locale=get_locale,
                                 frame_urls=frame_urls, page_chrome=page_chrome)
    app.after_request(_security_headers)
    return app


def select_locale() -> str:
    """The user's chosen language, else the session's, else the browser's best match; outside
    a request (CLI, jobs) the default locale."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user = current_user._get_current_object()
    if user is not None and user.is_authenticated and user.language:
        return user.language
    if session.get("language") in ("de", "en"):
        return session["language"]
    return request.accept_languages.best_match(["de", "en"]) or "en"


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _instance_secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder, so sessions survive a restart."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        return handle.read().strip()
