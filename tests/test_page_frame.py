"""What every page's frame does once per process or once per request (issue 14): the host's
navigation entries and the layout's URLs are built once per language, script root and admin
flag; the user's groups come with the login query as ids. Each must still follow a change made
by another connection at the next request."""
from __future__ import annotations

import re

from test_cache_versions import queries_of
from test_cache_versions_pages import client_of
from sqlalchemy import select, update

from hostapp.extensions import db
from hostapp.models import Group, User
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.rights import access


def test_rights_through_each_of_several_groups_come_with_the_login_query(app, make_user):
    owner = make_user("olga", language="en")
    make_user("gina", language="en", groups=("first", "second", "third"))
    with app.app_context():
        groups = {g.name: g.id for g in db.session.scalars(select(Group))}
        # each mailbox is readable through one group only: every id of the list must be read
        mailboxes = {name: service.create_mailbox(f"Box {name}", owner).id for name in ("first", "third")}
        for name, mailbox_id in mailboxes.items():
            access.grant(mailbox_id, "group", groups[name], "read", actor="test")
    client = client_of(app, "gina")
    for mailbox_id in mailboxes.values():
        assert client.get(f"/mail/m/{mailbox_id}/").status_code == 200
    statements = queries_of(app, client, f"/mail/m/{mailbox_id}/")
    assert sum("hostapp_login_session" in s for s in statements) == 1, statements
    assert not [s for s in statements if "FROM hostapp_group " in s or "JOIN hostapp_group " in s], statements

    with app.app_context():  # another connection takes gina out of the third group
        gina = db.session.scalar(select(User).where(User.username == "gina"))
        gina.groups = [g for g in gina.groups if g.name != "third"]
        db.session.commit()
    assert client.get(f"/mail/m/{mailboxes['third']}/").status_code == 404
    assert client.get(f"/mail/m/{mailboxes['first']}/").status_code == 200


def test_group_ids_follow_the_groups_once_they_are_loaded_or_the_user_is_expired(app, make_user):
    make_user("gina", groups=("first",))
    with app.app_context():
        gina = db.session.scalar(select(User).where(User.username == "gina"))
        first = db.session.scalar(select(Group).where(Group.name == "first"))
        gina.keep_group_ids_read(frozenset({first.id}))
        assert gina.group_ids == {first.id}
        second = Group(name="second")
        gina.groups.append(second)  # loads and changes the groups: they answer now
        db.session.flush()
        assert gina.group_ids == {first.id, second.id}
        gina.keep_group_ids_read(frozenset({first.id}))
        db.session.commit()  # expires the user: what the login read is forgotten
        assert gina.group_ids == {first.id, second.id}


def test_the_admin_entries_follow_the_admin_flag_at_the_next_request(app, make_user):
    make_user("root", admin=True, language="en")
    make_user("ulla", language="en")
    root, ulla = client_of(app, "root"), client_of(app, "ulla")
    assert "Users and groups" in root.get("/").get_data(as_text=True)
    assert "Users and groups" not in ulla.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(User).where(User.username == "ulla").values(is_admin=True))
        db.session.execute(update(User).where(User.username == "root").values(is_admin=False))
        db.session.commit()
    assert "Users and groups" in ulla.get("/").get_data(as_text=True)
    assert "Users and groups" not in root.get("/").get_data(as_text=True)


def test_the_navigation_and_the_frame_follow_the_language(app, make_user):
    make_user("ulla", language="en")
    client = client_of(app, "ulla")
    english = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english and ">Log out<" in english and "<h2>Mail</h2>" in english
    with app.app_context():
        db.session.execute(update(User).where(User.username == "ulla").values(language="de"))
        db.session.commit()
    german = client.get("/").get_data(as_text=True)
    assert '<html lang="de">' in german and ">Abmelden<" in german and "<h2>Mail</h2>" not in german
    assert '<option value="de" selected>' in german


def test_the_frame_urls_follow_the_script_root(app, make_user):
    make_user("ulla", language="en")
    client = client_of(app, "ulla")
    plain = client.get("/").get_data(as_text=True)
    assert 'href="/static/hostapp/style.css"' in plain and 'action="/logout"' in plain
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/erp"}).get_data(as_text=True)
    assert 'href="/erp/static/hostapp/style.css"' in mounted and 'action="/erp/logout"' in mounted
    assert 'class="brand" href="/erp/"' in mounted
    again = client.get("/").get_data(as_text=True)
    assert 'href="/static/hostapp/style.css"' in again and "/erp/" not in again


def test_no_ping_before_each_request_on_a_database_file_but_on_a_server(tmp_path):
    from hostapp import create_app

    def pings(uri: str) -> bool:
        app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "x", "TESTING": True})
        with app.app_context():
            return db.engine.pool._pre_ping

    assert pings(f"sqlite:///{tmp_path / 'host.sqlite'}") is False
    # a server may drop a pooled connection (a restart, an idle timeout): asked before use
    assert pings("postgresql+psycopg://nobody@127.0.0.1:1/none") is True


def test_what_a_process_keeps_per_script_root_stays_bounded(app, make_user):
    from hostapp import navigation, page_frame
    from tricoma_mail_plugin.web import page_urls

    make_user("ulla", language="en")
    client = client_of(app, "ulla")
    for number in range(page_frame.MAX_ROOTS + 8):  # a client may send any root (gunicorn's SCRIPT_NAME header)
        for path in ("/", "/mail/unified"):
            assert client.get(path, environ_overrides={"SCRIPT_NAME": f"/root{number}"}).status_code == 200
    assert 0 < len(app.extensions["hostapp_frame_urls"]) <= page_frame.MAX_ROOTS
    assert 0 < len(app.extensions["tricoma_mail_page_urls"]) <= page_urls.MAX_ROOTS
    assert 0 < len(app.extensions["hostapp_navigation_parts"]) <= navigation.MAX_PARTS


# -- the layout's chrome, remembered per process (hostapp/page_chrome.py) --------------------------

def _chrome_renders(app, client, url: str, times: int) -> int:
    from flask import template_rendered

    rendered = []

    def record(sender, template, context, **extra):
        if template.name == "hostapp/_chrome.html":
            rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        for _ in range(times):
            assert client.get(url).status_code == 200
    finally:
        template_rendered.disconnect(record, app)
    return len(rendered)


def _csrf_tokens(page: str) -> list[str]:
    return re.findall(r'name="csrf_token" value="([^"]+)"', page)


def _readable_mailbox(app, owner, unread: int | None = None) -> int:
    """A mailbox "Support" that ``owner`` may read; with ``unread``, an INBOX holding that many."""
    from tricoma_mail_plugin.models import CachedFolder

    with app.app_context():
        mailbox_id = service.create_mailbox("Support", owner).id
        access.grant(mailbox_id, "user", owner.id, "read", actor="test")
        if unread is not None:
            db.session.add(CachedFolder(mailbox_id=mailbox_id, name="INBOX", unseen=unread))
            db.session.commit()
    return mailbox_id


def _set_unread(app, mailbox_id: int, unread: int) -> None:
    from tricoma_mail_plugin.models import CachedFolder

    with app.app_context():
        db.session.execute(update(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id).values(unseen=unread))
        db.session.commit()


def test_the_chrome_is_rendered_once_whatever_page_and_badge_it_frames(app, make_user):
    mailbox_id = _readable_mailbox(app, make_user("olga", language="en"), unread=3)
    client = client_of(app, "olga")
    client.get("/")  # the process learns the chrome of this user's navigation
    # other pages, another query, another unread count: the same chrome, filled in per request
    assert _chrome_renders(app, client, "/", 3) == 0
    assert _chrome_renders(app, client, f"/mail/m/{mailbox_id}/", 1) == 0
    assert _chrome_renders(app, client, "/?tab=2", 1) == 0
    _set_unread(app, mailbox_id, 2)
    assert _chrome_renders(app, client, "/", 1) == 0
    _set_unread(app, mailbox_id, 0)  # no unread mail left: the badge goes, a new look
    assert _chrome_renders(app, client, "/", 1) == 1
    page = client.get("/?tab=<2>").get_data(as_text=True)
    assert 'name="next" value="/?tab=%3C2%3E"' in page or 'name="next" value="/?tab=&lt;2&gt;"' in page
    assert "chrome-" not in page


def test_the_chrome_carries_each_request_s_own_csrf_token(app, make_user):
    make_user("ulla", language="en")
    make_user("olga", language="en")
    ulla, olga = client_of(app, "ulla"), client_of(app, "olga")
    first = ulla.get("/").get_data(as_text=True)
    with app.app_context():  # both show the same chrome but for the name: make the names equal
        db.session.execute(update(User).where(User.username == "olga").values(display_name="Ulla"))
        db.session.commit()
    second = olga.get("/").get_data(as_text=True)
    ulla_tokens, olga_tokens = _csrf_tokens(first), _csrf_tokens(second)
    assert len(ulla_tokens) == len(olga_tokens) == 2  # the language and the logout form
    assert set(ulla_tokens).isdisjoint(olga_tokens)
    assert "csrf-mark-" not in first + second and "chrome-" not in first + second
    # each token is good for its own session: logging out works
    assert olga.post("/logout", data={"csrf_token": olga_tokens[1]}).status_code == 302
    assert ulla.get("/").status_code == 200


def test_the_chrome_follows_the_user_s_name_and_the_navigation_s_badges(app, make_user):
    mailbox_id = _readable_mailbox(app, make_user("olga", language="en"), unread=3)
    client = client_of(app, "olga")
    page = client.get("/").get_data(as_text=True)
    assert '<span class="who">Olga</span>' in page and 'Support <span class="badge">3</span>' in page
    with app.app_context():
        db.session.execute(update(User).where(User.username == "olga").values(display_name="Olga Berg"))
        db.session.commit()
    _set_unread(app, mailbox_id, 5)
    page = client.get("/").get_data(as_text=True)
    assert '<span class="who">Olga Berg</span>' in page and 'Support <span class="badge">5</span>' in page
    assert '<span class="who">Olga</span>' not in page


def test_the_chrome_marks_the_current_page_in_the_navigation(app, make_user):
    mailbox_id = _readable_mailbox(app, make_user("olga", language="en"))
    client = client_of(app, "olga")
    folder = client.get(f"/mail/m/{mailbox_id}/").get_data(as_text=True)
    assert f'<a href="/mail/m/{mailbox_id}/" aria-current="page">Support' in folder
    home = client.get("/").get_data(as_text=True)
    assert 'aria-current="page">Start</a>' in home and f'<a href="/mail/m/{mailbox_id}/">Support' in home


# -- the signed CSRF token, once per second and session (hostapp/csrf_tokens.py) -----------------

def test_the_signed_csrf_token_is_signed_once_per_second_and_still_checked(app, make_user, monkeypatch):
    import itsdangerous
    from flask_wtf import csrf as flask_wtf_csrf

    make_user("ulla", language="en")
    make_user("olga", language="en")
    ulla, olga = client_of(app, "ulla"), client_of(app, "olga")
    app.config["WTF_CSRF_ENABLED"] = True
    ulla.get("/"), olga.get("/")  # each session holds its raw token now
    signed = []
    real_dumps = itsdangerous.URLSafeTimedSerializer.dumps

    def counting_dumps(self, value, *args, **kwargs):
        if isinstance(value, str):  # a raw CSRF token (the session cookie's payload is a dict)
            signed.append(value)
        return real_dumps(self, value, *args, **kwargs)

    monkeypatch.setattr(flask_wtf_csrf.URLSafeTimedSerializer, "dumps", counting_dumps)
    import time

    clock = [int(time.time()) + 0.2]  # near now: the session cookie's age is checked with it too
    monkeypatch.setattr("hostapp.csrf_tokens.time.time", lambda: clock[0])
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: clock[0])

    pages = [ulla.get("/").get_data(as_text=True) for _ in range(4)]
    tokens = {token for page in pages for token in _csrf_tokens(page)}
    assert len(tokens) == 1 and len(signed) == 1  # four pages in one second: signed once
    olga_token = set(_csrf_tokens(olga.get("/").get_data(as_text=True)))
    assert len(signed) == 2 and olga_token.isdisjoint(tokens)  # each session its own

    clock[0] += 1.0  # the next second: a new stamp, signed again
    later = set(_csrf_tokens(ulla.get("/").get_data(as_text=True)))
    assert len(signed) == 3 and later.isdisjoint(tokens)

    # the remembered token is Flask-WTF's own: a form sent with it is accepted, a forged one not
    assert ulla.post("/language", data={"language": "de", "next": "/", "csrf_token": "forged"}).status_code == 400
    assert ulla.post("/language", data={"language": "de", "next": "/", "csrf_token": tokens.pop()}).status_code == 302


def test_the_current_page_is_marked_under_a_script_root_too(app, make_user):
    make_user("olga", language="en")
    client = client_of(app, "olga")
    page = client.get("/", base_url="http://localhost/erp/").get_data(as_text=True)
    assert '<a href="/erp/" aria-current="page">Start</a>' in page
