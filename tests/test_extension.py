"""The Flask extension pattern: init_app, per-app state, config defaults."""
import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tricoma_mail_plugin import TricomaMail
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.config import DEFAULTS


def _bare_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x",
                      TRICOMA_MAIL_LOAD_ENTRYPOINTS=False)
    return app


def test_init_app_twice_raises():
    db = SQLAlchemy()
    app = _bare_app()
    db.init_app(app)
    extension = TricomaMail(db)
    extension.init_app(app)
    with pytest.raises(RuntimeError, match="already"):
        extension.init_app(app)


def test_two_apps_keep_separate_plugin_managers():
    db = SQLAlchemy()
    extension = TricomaMail(db)
    first, second = _bare_app(), _bare_app()
    second.config["TRICOMA_MAIL_EXTRA_PLUGINS"] = ("sample_plugin",)
    for app in (first, second):
        db.init_app(app)
        extension.init_app(app)
    first_state, second_state = mail_state(first), mail_state(second)
    assert first_state.plugin_manager is not second_state.plugin_manager
    assert "sample_plugin" in second_state.plugins
    assert "sample_plugin" not in first_state.plugins
    assert not hasattr(extension, "app")


def test_config_defaults_are_applied_without_overriding_the_host():
    db = SQLAlchemy()
    app = _bare_app()
    app.config["TRICOMA_MAIL_PLUGIN_ERRORS_KEPT"] = 3
    db.init_app(app)
    TricomaMail(db, app)
    assert app.config["TRICOMA_MAIL_PLUGIN_ERRORS_KEPT"] == 3
    for key in DEFAULTS:
        assert key.startswith("TRICOMA_MAIL_")
        assert key in app.config


def test_extension_adds_csrf_protection_when_the_host_has_none():
    db = SQLAlchemy()
    app = _bare_app()
    db.init_app(app)
    TricomaMail(db, app)
    assert "csrf" in app.extensions
