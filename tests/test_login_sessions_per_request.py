"""What every request asks about its login stays asked on every request, although the cheap way:
the server-side session and the user are read on every request (plain columns, the user made an
ORM row of the request by hand), and the signed cookie's check is remembered per process only
while the cookie is as young as Flask allows and the secret key is the one it was checked with."""
from __future__ import annotations

import time

from app_fixtures import login
from flask import get_flashed_messages, session
from sqlalchemy import inspect, text

from hostapp import login_sessions
from hostapp.extensions import db
from hostapp.models import User


def _signed_in(app, username: str = "ulla"):
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/mail/").status_code == 200  # the first page adds the CSRF token: a new cookie
    cookie = client.get_cookie("session").value
    assert client.get("/mail/").status_code == 200  # this one is checked (and remembered)
    assert client.get_cookie("session").value == cookie
    return client


def _plain_sql(app, statement: str, **values) -> None:
    """``statement`` on a connection of its own, as another process or a database console would."""
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(text(statement), values)
        connection.commit()


# -- the server-side session and the user: read on every request ---------------------------------


def test_a_session_deleted_with_plain_sql_is_refused_at_the_next_request(app, make_user):
    make_user("ulla", language="en")
    client = _signed_in(app)
    assert client.get("/mail/").status_code == 200
    _plain_sql(app, "DELETE FROM hostapp_login_session")
    assert client.get("/mail/").status_code == 302
    assert client.get("/mail/").status_code == 302


def test_a_user_changed_with_plain_sql_is_seen_at_the_next_request(app, make_user):
    user = make_user("ulla", language="en")
    client = _signed_in(app)
    _plain_sql(app, "UPDATE hostapp_user SET display_name = :name WHERE id = :id", name="Ulla Renamed", id=user.id)
    assert "Ulla Renamed" in client.get("/mail/").get_data(as_text=True)
    _plain_sql(app, "UPDATE hostapp_user SET active = :no WHERE id = :id", no=False, id=user.id)
    assert client.get("/mail/").status_code == 302


def test_an_admin_right_taken_with_plain_sql_counts_at_the_next_request(app, make_user):
    user = make_user("root", admin=True, language="en")
    client = _signed_in(app, "root")
    assert client.get("/admin/").status_code == 200
    _plain_sql(app, "UPDATE hostapp_user SET is_admin = :no WHERE id = :id", no=False, id=user.id)
    assert client.get("/admin/").status_code == 403


def test_the_signed_in_user_is_a_row_of_the_request_like_a_loaded_one(app, make_user):
    user = make_user("ulla", language="en", groups=("sales", "support"))
    client = _signed_in(app)
    client.post("/language", data={"language": "de", "next": "/"})  # changes the user and commits
    with app.app_context():
        assert db.session.get(User, user.id).language == "de"
    cookie = client.get_cookie("session").value
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        signed_in = login_sessions.current_user(user.id)
        assert inspect(signed_in).persistent and signed_in in db.session
        assert not db.session.dirty
        assert sorted(group.name for group in signed_in.groups) == ["sales", "support"]  # loads when asked
        assert signed_in.group_ids == {group.id for group in signed_in.groups}
        assert db.session.get(User, user.id) is signed_in


# -- the signed cookie: its check remembered, under the same limits --------------------------------


def test_a_remembered_cookie_expires_like_any_other(make_app, make_user, monkeypatch):
    app = make_app(PERMANENT_SESSION_LIFETIME=100)
    make_user("ulla", language="en")
    client = _signed_in(app)
    assert client.get("/mail/").status_code == 200
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 90)  # well inside the 100 s on a slow machine too
    assert client.get("/mail/").status_code == 200
    monkeypatch.setattr(time, "time", lambda: real_time() + 110)
    assert client.get("/mail/").status_code == 302


def test_a_remembered_cookie_is_checked_again_under_a_new_secret_key(app, make_user):
    make_user("ulla", language="en")
    client = _signed_in(app)
    app.secret_key = "another-secret"
    assert client.get("/mail/").status_code == 302


def test_a_request_that_changes_a_list_in_its_session_leaves_the_next_ones_cookie_as_it_was(app):
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"language": "en", "_flashes": [("error", "first")]})
    for _ in range(3):
        with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
            flashes = session["_flashes"]
            flashes.append(("error", "added by this request"))  # what flask.flash does
            assert get_flashed_messages() == ["first", "added by this request"]


def test_a_plain_cookie_is_checked_once_per_process(app, monkeypatch):
    interface = app.session_interface
    cookie = interface.get_signing_serializer(app).dumps({"language": "de"})
    checks = []
    real = interface.get_signing_serializer

    def counted(app_):
        checks.append(app_)
        return real(app_)

    monkeypatch.setattr(interface, "get_signing_serializer", counted)
    for _ in range(3):
        with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
            assert session["language"] == "de"
    assert len(checks) == 1
    # the signature's first character (its last one carries padding bits a decoder may ignore)
    body, _dot, signature = cookie.rpartition(".")
    forged = f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    with app.test_request_context("/", headers={"Cookie": f"session={forged}"}):
        assert "language" not in session


# -- a new process ---------------------------------------------------------------------------------

_FIRST_REQUEST = """
import json, sys
from hostapp import create_app
client = create_app(json.loads(sys.argv[1])).test_client()
client.set_cookie("session", sys.argv[2])
answer = client.get("/mail/")
print(answer.status_code, answer.headers.get("Location"))
"""


def test_a_new_process_serves_a_signed_in_user_s_request_as_its_first(app, make_user):
    """A gunicorn worker just started (a deploy, ``max_requests``) whose first request is a
    signed-in user's: the user is made an ORM row by hand before any query configured the
    mappers (it answered 500, seen in the side-by-side bench)."""
    import json
    import os
    import subprocess
    import sys

    make_user("ulla", language="en")
    cookie = _signed_in(app).get_cookie("session").value
    config = {key: value for key, value in app.config.items()
              if key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "HOSTAPP_PASSWORD_HASH_METHOD")
              or key.startswith("TRICOMA_MAIL_")}
    done = subprocess.run([sys.executable, "-c", _FIRST_REQUEST, json.dumps(config, default=list), cookie],
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[0] == "200", done.stdout + done.stderr[-3000:]
