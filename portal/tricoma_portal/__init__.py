"""tricoma portal: the hosting portal of tricoma Postfächer. Customers (tenants) and their users
order or bring domains, create mailboxes and give them addresses; operators handle the domain
order queue; integrations read mailbox data through ``/api/v1/mailboxes``.

``create_app(config)`` builds the app.
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, get_locale
from flask_login import current_user

from . import cli, hosting_access, purge_job, sqlite_rules
from .config import DEFAULTS
from .extensions import babel, csrf, db, login_manager, migrate
from .models import User
from .web import (
    api,
    auth_pages,
    autoconfig,
    domain_pages,
    errors,
    mailbox_pages,
    operator_pages,
    token_pages,
    user_pages,
)
from .web.navigation import navigation

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

FLASK_DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "de",
    "BABEL_TRANSLATION_DIRECTORIES": os.path.join(PACKAGE_DIR, "translations"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "tricoma_portal_session",
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal. ``config`` overrides the defaults; the environment sets any
    ``TRICOMA_PORTAL_…`` key by its full name and Flask's keys as ``TRICOMA_PORTAL_FLASK_<KEY>``."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(FLASK_DEFAULTS)
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("TRICOMA_PORTAL_FLASK")
    _portal_keys_from_environment(app)
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = (
        app.config.get("SQLALCHEMY_DATABASE_URI")
        or app.config["TRICOMA_PORTAL_DATABASE_URL"]
        or "sqlite:///" + os.path.join(app.instance_path, "portal.sqlite")
    )
    app.config["TRICOMA_PORTAL_DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            sqlite_rules.enforce_foreign_keys(engine)
    migrate.init_app(app, db, directory=os.path.join(PACKAGE_DIR, "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(_load_user)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    hosting_access.init_app(app)

    for module in (auth_pages, domain_pages, mailbox_pages, token_pages, user_pages,
                   operator_pages, api, autoconfig):
        app.register_blueprint(module.blueprint)
    csrf.exempt(api.blueprint)
    errors.init_app(app)
    cli.register(app)
    purge_job.init_app(app)
    if not app.testing:
        purge_job.start(app)
    app.context_processor(lambda: {"navigation": navigation, "get_locale": get_locale})
    app.add_template_filter(lambda moment: format_date(moment, "medium"), "day")
    app.after_request(_security_headers)
    return app


def _portal_keys_from_environment(app: Flask) -> None:
    for key in DEFAULTS:
        if key in os.environ:
            value = os.environ[key]
            try:
                app.config[key] = json.loads(value)
            except ValueError:
                app.config[key] = value


def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


def select_locale() -> str:
    """The user's language, else the session's, else the browser's best match."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.language:
        return current_user.language
    if session.get("language") in ("de", "en"):
        return session["language"]
    return request.accept_languages.best_match(["de", "en"]) or "de"


def _security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _instance_secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder, so sessions and secrets survive a restart."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        return handle.read().strip()
