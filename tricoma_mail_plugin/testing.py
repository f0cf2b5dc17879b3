"""pytest plugin for plugin authors: the host app with the plugins installed, a logged-in client, a
mailbox on a test mail server and a record reference, on top of pytest-flask's fixtures.

``pip install tricoma-mail[testing]`` installs it with pytest and pytest-flask; it registers itself
through the ``pytest11`` entry point. A test suite tells it how to build the host app and add a
user, with two hooks in its ``conftest.py`` (the host is whatever ERP the plugin runs in)::

    from myhost import create_app
    from myhost.models import User, db

    def pytest_tricoma_mail_create_app(config):
        return create_app(config)

    def pytest_tricoma_mail_create_user(username, admin):
        user = User(username=username, is_admin=admin)
        db.session.add(user)
        db.session.commit()
        return user

Fixtures (pytest-flask adds ``live_server``, ``config`` and the ``options`` marker):

* ``app``: the host app on a database of the test session whose tables are emptied after each
  test; ``make_app(**config)`` builds one with config of the test's own. ``client``: its test
  client.
* ``user`` and ``admin``: a fresh user, and one with the admin role; ``make_user(name, admin=…)``.
* ``user_client`` and ``admin_client``: test clients logged in as them (through Flask-Login).
* ``mailbox``: the id of a tested mailbox of ``user``, who holds every core right on it, for the
  account that the suite's ``tricoma_mail_account`` fixture returns (a :class:`MailAccount` on
  the project's local mail stack, say).
* ``record_reference``: a :class:`~tricoma_mail_plugin.Reference` to a record of its own.

Two choices differ from pytest-flask's defaults, both because the host logs users in with
Flask-Login, which keeps the current user in ``flask.g``:

* pytest-flask pushes a request context around every test, and its ``client`` keeps the last
  request's context pushed; every later request, of any client, would then share that app
  context, so one ``g`` and one database session, and the user one request loaded would stick to
  the others. In a suite that implements ``pytest_tricoma_mail_create_app`` this plugin pushes
  no context around a test (use ``with app.app_context():`` or ``app.test_request_context()``
  where a test needs one) and its ``client`` keeps none; other suites keep pytest-flask's ways.
* ``live_server`` must be function-scoped, as ``app`` is: set ``live_server_scope = function``
  in the pytest ini file. The server is a forked process; the parent's pooled database connections
  are left to the parent (a connection must not be shared across processes). It inherits every
  other open file, though: start a browser driver such as Playwright after the server, or it
  waits at its close for the server to let go of its pipes.
"""
from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from flask_login import login_user
from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket

try:  # the default create_schema; pytest loads this plugin in every venv that has tricoma-mail
    from flask_migrate import upgrade
except ImportError:  # a host without Flask-Migrate creates its schema itself
    upgrade = None

from ._state import mail_state
from .archive.guard import guard_lifted
from .extension import migration_metadata
from .jobs.background import stop_background_work
from .mailboxes import service
from .records.references import Reference
from .rights import access
from .rights.catalogue import CORE_RIGHT_KEYS


@dataclass(frozen=True)
class MailAccount:
    """An account on a test mail server: IMAP and SMTP submission (with STARTTLS) on one host."""

    email: str
    password: str
    imap_port: int
    smtp_port: int
    host: str = "127.0.0.1"
    imap_security: str = "starttls"  # or "tls", when imap_port is the IMAPS port
    ca_file: str | None = None  # a PEM file that signs the server's certificate


# -- the hooks a test suite implements ------------------------------------------------------------


class HostHooks:
    """What the plugin asks the test suite about its host."""

    @pytest.hookspec(firstresult=True)
    def pytest_tricoma_mail_create_app(self, config: dict[str, Any]) -> Flask:
        """Build the host app with ``config`` (the host's app factory), its database at
        ``config["SQLALCHEMY_DATABASE_URI"]``. Required."""

    @pytest.hookspec(firstresult=True)
    def pytest_tricoma_mail_create_user(self, app: Flask, username: str, admin: bool) -> Any:
        """Add a user named ``username`` to the host, an admin if ``admin``, commit, and return
        the Flask-Login user. Called in an app context. Required for the user fixtures."""

    @pytest.hookspec(firstresult=True)
    def pytest_tricoma_mail_create_schema(self, app: Flask) -> bool:
        """Create the tables of the host, of core and of every plugin, once per test session, in
        an app context. The default upgrades Flask-Migrate's migrations to ``heads`` (every
        branch: the host's, core's and each plugin's); return a true value when done."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(HostHooks)


@pytest.hookimpl(trylast=True)
def pytest_tricoma_mail_create_schema(app: Flask) -> bool:
    if upgrade is None or "migrate" not in app.extensions:
        raise pytest.UsageError("the host app has no Flask-Migrate: implement "
                                "pytest_tricoma_mail_create_schema(app) in conftest.py")
    upgrade(revision="heads")
    return True


class OneContextPerRequest:
    """Replaces the two fixtures of pytest-flask that keep a context pushed across requests (see
    the module's docstring). Registered in ``pytest_configure``, after every installed plugin, so
    that its fixtures win over pytest-flask's; and only for a test suite that builds its app with
    this plugin, since pytest loads the plugin wherever tricoma-mail is installed."""

    @pytest.fixture(autouse=True)
    def _push_request_context(self) -> None:
        """No request context around the test: each request has its own ``g`` and session."""

    @pytest.fixture
    def client(self, app: Flask) -> FlaskClient:
        """A test client of ``app``; not entered with ``with``, which would keep the last
        request's context pushed (``with client:`` in a test still does that on purpose)."""
        return app.test_client()


def pytest_configure(config: pytest.Config) -> None:
    # The conftest.py files of the invocation's folders (and of their test* folders) are loaded
    # by now; a suite whose hook lives deeper implements it in a plugin or a conftest.py above.
    if config.pluginmanager.hook.pytest_tricoma_mail_create_app.get_hookimpls():
        config.pluginmanager.register(OneContextPerRequest(), "tricoma_mail_one_context_per_request")


# -- fork safety for live_server ------------------------------------------------------------------

_APPS: weakref.WeakSet[Flask] = weakref.WeakSet()


def _leave_connections_to_the_parent() -> None:
    """In a forked child (pytest-flask's live server): start with empty connection pools, without
    closing the connections the parent process still uses."""
    for app in list(_APPS):
        with app.app_context():
            for engine in mail_state(app).db.engines.values():
                engine.dispose(close=False)


os.register_at_fork(after_in_child=_leave_connections_to_the_parent)


# -- the app ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tricoma_mail_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where the session's test database lives: an SQLite file. Override for another database."""
    return "sqlite:///" + str(tmp_path_factory.mktemp("tricoma_mail") / "test.sqlite")


@pytest.fixture(scope="session")
def tricoma_mail_config(tricoma_mail_database_url: str) -> dict[str, Any]:
    """The config every test app gets. Override it (asking for it by name) to add keys. The
    session's database is migrated with it, so it must load every plugin whose tables a test
    uses (by default every installed plugin, found by its entry point)."""
    return {
        "TESTING": True,
        "SECRET_KEY": "tricoma-mail-tests",
        "SQLALCHEMY_DATABASE_URI": tricoma_mail_database_url,
        "WTF_CSRF_ENABLED": False,
        "TRICOMA_MAIL_SYNC_ON_FIRST_OPEN": False,  # tests sync when they mean to
        "TRICOMA_MAIL_TEST_MIN_INTERVAL": 0,
        "TRICOMA_MAIL_UNDO_SEND_SECONDS": 0,
        # Test mail servers listen on this machine, which mailboxes may not reach by default.
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": ("127.0.0.1",),
    }


class _SessionTemplateCode(BytecodeCache):
    """Compiled templates shared by the apps of a test session: each test makes an app of its
    own, whose Jinja environment would compile every page it renders again (most of a page
    test's time). Kept per template source and per environment settings that change the code
    compiled from it."""

    def __init__(self) -> None:
        self._code: dict[tuple, tuple[str, Any]] = {}

    @staticmethod
    def _settings(environment: Environment) -> tuple:
        return (type(environment), tuple(sorted(environment.extensions)),
                # the compiler calls a filter or test by how it is marked (pass_context…) and folds
                # it over constant arguments: the function itself, not only its name, makes the code
                _functions(environment.filters), _functions(environment.tests),
                _function(environment.autoescape), _function(environment.finalize),
                getattr(environment, "newstyle_gettext", None),  # how {% trans %} compiles
                environment.block_start_string, environment.block_end_string,
                environment.variable_start_string, environment.variable_end_string,
                environment.comment_start_string, environment.comment_end_string,
                environment.line_statement_prefix, environment.line_comment_prefix,
                environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
                environment.keep_trailing_newline, environment.optimized, environment.is_async)

    def load_bytecode(self, bucket: Bucket) -> None:
        checksum, code = self._code.get((self._settings(bucket.environment), bucket.key), (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[(self._settings(bucket.environment), bucket.key)] = (bucket.checksum, bucket.code)


def _function(function: Any) -> Any:
    """A function as a key: a bound method by its function (an app's own method would keep the
    app alive in the session's cache)."""
    return getattr(function, "__func__", function)


def _functions(functions: Mapping[str, Any]) -> tuple:
    return tuple((name, _function(functions[name])) for name in sorted(functions))


_TEMPLATE_CODE = _SessionTemplateCode()


def _create_app(pytestconfig: pytest.Config, config: Mapping[str, Any]) -> Flask:
    app = pytestconfig.hook.pytest_tricoma_mail_create_app(config=dict(config))
    if app is None:
        raise pytest.UsageError("no app to test: implement pytest_tricoma_mail_create_app(config) "
                                "in conftest.py (see tricoma_mail_plugin.testing)")
    if app.jinja_env.bytecode_cache is None:
        app.jinja_env.bytecode_cache = _TEMPLATE_CODE
    _APPS.add(app)
    return app


@pytest.fixture(scope="session")
def tricoma_mail_database(pytestconfig: pytest.Config, tricoma_mail_config: dict[str, Any]) -> str:
    """The session's database with every table created; its URL."""
    app = _create_app(pytestconfig, tricoma_mail_config)
    with app.app_context():
        pytestconfig.hook.pytest_tricoma_mail_create_schema(app=app)
        mail_state().db.engine.dispose()
    return tricoma_mail_config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def make_app(pytestconfig: pytest.Config, tricoma_mail_database: str,
             tricoma_mail_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """Factory ``make_app(**config)``: a host app on the session database with ``config`` on top
    of ``tricoma_mail_config``. Every table is emptied after the test."""
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = _create_app(pytestconfig, {**tricoma_mail_config, **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:  # a test that started an app's background work must not leave it running
        stop_background_work(app, wait=1.0)
    if apps:
        with apps[0].app_context():
            _empty_tables()
    for app in apps:
        with app.app_context():
            mail_state().db.engine.dispose()


def _empty_tables() -> None:
    db = mail_state().db
    db.session.remove()
    with db.engine.begin() as connection, guard_lifted(connection):  # the archive refuses deletes
        for metadata in (*migration_metadata(), db.metadata):
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The host app (pytest-flask's ``client`` and ``live_server`` use it)."""
    return make_app()


# -- users --------------------------------------------------------------------------------------


@pytest.fixture
def make_user(app: Flask, pytestconfig: pytest.Config) -> Callable[..., Any]:
    """Factory ``make_user(username, admin=False)``: a committed host user, detached from the
    database session so that its loaded attributes can be read outside an app context."""

    def make(username: str, *, admin: bool = False) -> Any:
        with app.app_context():
            user = pytestconfig.hook.pytest_tricoma_mail_create_user(app=app, username=username, admin=admin)
            if user is None:
                raise pytest.UsageError("no user: implement pytest_tricoma_mail_create_user(username, admin) "
                                        "in conftest.py (see tricoma_mail_plugin.testing)")
            db_session = mail_state().db.session
            if user in db_session:
                db_session.refresh(user)
                db_session.expunge(user)
            return user

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    """A fresh user without the admin role, named ``user``."""
    return make_user("user")


@pytest.fixture
def admin(make_user: Callable[..., Any]) -> Any:
    """A fresh user with the admin role, named ``admin``."""
    return make_user("admin", admin=True)


def log_in(client: FlaskClient, user: Any) -> FlaskClient:
    """Log ``client`` in as ``user`` with Flask-Login's ``login_user``, so the session holds what
    the host's login page would put there (session protection included); returns ``client``."""
    with client.application.test_request_context(environ_base=client.environ_base):
        login_user(user)
        logged_in = dict(session)
    with client.session_transaction() as client_session:
        client_session.update(logged_in)
    return client


@pytest.fixture
def user_client(app: Flask, user: Any) -> FlaskClient:
    """A test client logged in as ``user``."""
    return log_in(app.test_client(), user)


@pytest.fixture
def admin_client(app: Flask, admin: Any) -> FlaskClient:
    """A test client logged in as ``admin``."""
    return log_in(app.test_client(), admin)


# -- mail and records ---------------------------------------------------------------------------


@pytest.fixture
def mailbox(app: Flask, user: Any, tricoma_mail_account: MailAccount) -> int:
    """The id of a mailbox for ``tricoma_mail_account`` (a fixture the suite defines), owned by
    ``user`` with every core right, whose connection test has passed."""
    account = tricoma_mail_account
    if account.ca_file:
        app.config["TRICOMA_MAIL_CA_FILE"] = account.ca_file
    with app.app_context():
        created = service.create_mailbox(account.email, user)
        service.update_settings(created, {
            "email": account.email, "imap_host": account.host, "imap_port": account.imap_port,
            "imap_security": account.imap_security, "imap_username": account.email,
            "imap_password": account.password, "smtp_host": account.host,
            "smtp_port": account.smtp_port, "smtp_security": "starttls",
            "smtp_username": account.email, "smtp_password": account.password,
        })
        for right in CORE_RIGHT_KEYS:
            access.grant(created.id, "user", user.get_id(), right)
        steps = service.run_test(created)
        assert created.last_test_ok, f"the connection test of {account.email} failed: {steps}"
        return created.id


@pytest.fixture
def record_reference() -> Reference:
    """A reference to a record of its own, of kind ``record``; override it for your kind."""
    return Reference("record", uuid.uuid4().hex[:12])
