"""``tricoma_mail_plugin.testing``, the pytest plugin for plugin authors, with this project's host
(``tests/app_fixtures.py`` implements its hooks). The example plugins' own tests, run by
``tests/test_example_plugin.py`` in a pytest of their own, use its clients as an author would."""
from __future__ import annotations

import http.cookiejar
import subprocess
import sys
import urllib.parse
import urllib.request

from flask import has_app_context

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import OutgoingMessage, Reference, mail_history, send_on_behalf
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.rights.catalogue import CORE_RIGHT_KEYS
from tricoma_mail_plugin.testing import log_in


def test_no_context_is_pushed_around_a_test(app):
    assert not has_app_context()


def test_clients_do_not_share_the_logged_in_user(client, admin_client):
    """pytest-flask's own request context and ``client`` would give every request one ``g``."""
    assert client.get("/admin/").status_code == 302
    assert admin_client.get("/admin/").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_user_and_admin_are_fresh_users(user, admin):
    assert (user.username, user.is_admin) == ("user", False)
    assert (admin.username, admin.is_admin) == ("admin", True)


def test_log_in_passes_the_hosts_strong_session_protection(app, user, admin):
    assert app.login_manager.session_protection == "strong"
    assert log_in(app.test_client(), user).get("/admin/").status_code == 403
    assert log_in(app.test_client(), admin).get("/admin/").status_code == 200
    assert app.test_client().get("/admin/").status_code == 302


def test_record_references_are_fresh_and_well_formed(record_reference):
    assert record_reference.kind == "record"
    assert Reference.parse(str(record_reference)) == record_reference


def test_mailbox_is_tested_and_its_owner_holds_every_core_right(app, user, mailbox, record_reference):
    with app.app_context():
        row = db.session.get(Mailbox, mailbox)
        assert row.last_test_ok
        assert access.grants_of(mailbox)[("user", user.get_id())] == set(CORE_RIGHT_KEYS)
        sender = db.session.get(User, user.id)
        send_on_behalf(sender, row, OutgoingMessage(to=(row.email,), subject="Record", text="Hi"),
                       record_reference)
        assert [entry.subject for entry in mail_history(record_reference)] == ["Record"]


def test_live_server_serves_the_test_app_in_a_process_of_its_own(app, live_server, make_user):
    make_user("root", admin=True)  # the test process holds a pooled connection when the server forks
    live_server.start()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = urllib.parse.urlencode({"username": "root", "password": "correct horse battery"}).encode()
    assert opener.open(live_server.url("/login"), login).url == live_server.url("/")
    assert opener.open(live_server.url("/admin/")).status == 200
    make_user("later")  # written by the test, read by the server
    assert "later" in opener.open(live_server.url("/admin/")).read().decode()


def test_a_suite_without_the_hooks_keeps_pytest_flasks_fixtures(tmp_path):
    """pytest loads the plugin wherever tricoma-mail is installed; another app's suite is left alone."""
    (tmp_path / "conftest.py").write_text(
        "import flask, pytest\n\n@pytest.fixture\ndef app():\n    return flask.Flask('other')\n")
    (tmp_path / "test_other.py").write_text(
        "import flask\n\ndef test_pytest_flask_pushes_its_context(app, client):\n"
        "    assert flask.has_request_context()\n    client.get('/')\n    assert flask.request.path == '/'\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr


def test_apps_share_compiled_templates_only_where_the_code_would_be_the_same(tmp_path):
    """The session's compiled templates: an app whose filter of the same name is another function
    (called another way, or folded over a constant when compiled), or that finalizes output, compiles
    the template itself."""
    from flask import Flask, render_template

    from tricoma_mail_plugin.testing import _SessionTemplateCode

    (tmp_path / "page.html").write_text('{{ "x"|shout }} {{ nothing }}')
    shared = _SessionTemplateCode()

    def page(shout, finalize=None) -> str:
        app = Flask(__name__, template_folder=str(tmp_path))
        app.add_template_filter(shout, "shout")
        if finalize is not None:
            app.jinja_env.finalize = finalize
        app.jinja_env.bytecode_cache = shared
        with app.app_context():
            return render_template("page.html", nothing=None)

    upper, exclaim = str.upper, (lambda text: text + "!")
    assert page(upper) == "X None"
    assert page(exclaim) == "x! None"
    assert page(upper, finalize=lambda value: "-" if value is None else value) == "X -"
    assert page(upper) == "X None"
    assert len(shared._code) == 3  # the first app's code served the last
