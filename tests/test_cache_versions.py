"""What web processes remember between requests (``tricoma_mail_plugin/cache_versions.py``):
plugin states, rights, the auditor role and trusted senders are read once and then only their
versions, once per request; every write moves a version in the database, whoever writes it, so
a change counts at the next request of every process."""
from __future__ import annotations

import pytest
from app_fixtures import login
from sqlalchemy import delete, event, insert, select, update

from hostapp.extensions import db
from hostapp.models import Group, User
from tricoma_mail_plugin import cache_versions
from tricoma_mail_plugin.archive import auditors
from tricoma_mail_plugin.mail import trusted_senders
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import ArchiveAuditor, MailboxGrant, PluginState, TrustedSender
from tricoma_mail_plugin.rights import access

GRANTS, STATES = MailboxGrant.__table__, PluginState.__table__


@pytest.fixture
def team(app, make_user) -> int:
    """A mailbox olga reads and manages; rita (in no group yet) holds nothing on it."""
    olga = make_user("olga", language="en")
    make_user("rita", language="en")
    with app.app_context():
        db.session.add(Group(name="support"))
        db.session.commit()
        mailbox_id = service.create_mailbox("Team", olga).id
        access.grant(mailbox_id, "user", olga.id, "read", actor="test")
        return mailbox_id


def client_of(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def other_process(app, statement) -> None:
    """``statement`` on a connection of its own, committed: another process with its own SQL
    (no service of ours, no session event)."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(statement)


def queries_of(app, client, url: str) -> list[str]:
    return [statement for statement, _parameters in statements_of(app, client, url)]


def statements_of(app, client, url: str) -> list[tuple[str, object]]:
    """The SQL statements the request to ``url`` ran, each with its parameters."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_grant_written_by_another_process_with_its_own_sql_counts_at_the_next_request(app, make_app, team):
    rita = user_id(app, "rita")
    second = make_app()  # another web process on the same database
    clients = [client_of(app, "rita"), client_of(second, "rita")]
    folder = f"/mail/m/{team}/"
    for _ in range(2):  # asked twice: the second answer comes from what the process remembers
        assert [client.get(folder).status_code for client in clients] == [404, 404]
    other_process(app, insert(GRANTS).values(mailbox_id=team, principal_type="user", principal_id=str(rita),
                                             right="read"))
    assert [client.get(folder).status_code for client in clients] == [200, 200]
    assert [client.get(folder).status_code for client in clients] == [200, 200]
    other_process(app, delete(GRANTS).where(GRANTS.c.mailbox_id == team, GRANTS.c.principal_id == str(rita)))
    assert [client.get(folder).status_code for client in clients] == [404, 404]


def test_a_plugin_switched_off_with_plain_sql_is_off_at_the_next_request_of_every_app(app, make_app, make_user):
    make_user("root", admin=True, language="en")
    clients = [client_of(app, "root"), client_of(make_app(), "root")]
    assert [client.get("/sample/").status_code for client in clients] == [200, 200]
    other_process(app, insert(STATES).values(name="sample_plugin", enabled=False))
    assert [client.get("/sample/").status_code for client in clients] == [404, 404]
    other_process(app, update(STATES).where(STATES.c.name == "sample_plugin").values(enabled=True))
    assert [client.get("/sample/").status_code for client in clients] == [200, 200]


def test_joining_or_leaving_a_group_counts_at_once_though_no_grant_changed(app, team):
    with app.app_context():
        support = db.session.scalar(select(Group).where(Group.name == "support"))
        access.grant(team, "group", support.id, "read", actor="test")
    client = client_of(app, "rita")
    folder = f"/mail/m/{team}/"
    assert client.get(folder).status_code == 404

    def membership(join: bool) -> None:
        with app.app_context():
            rita = db.session.scalar(select(User).where(User.username == "rita"))
            group = db.session.scalar(select(Group).where(Group.name == "support"))
            if join:
                rita.groups.append(group)
            else:
                rita.groups.remove(group)
            db.session.commit()

    membership(True)
    assert client.get(folder).status_code == 200
    membership(False)
    assert client.get(folder).status_code == 404


def test_a_page_asks_the_versions_once_and_not_the_grants_or_plugin_states_again(app, team):
    olga = client_of(app, "olga")
    folder = f"/mail/m/{team}/"
    olga.get(folder)  # the process learns the answers
    again = queries_of(app, olga, folder)
    assert sum(cache_versions.TABLE_NAME in statement for statement in again) == 1, again
    asked = [s for s in again if s.lstrip().startswith(("SELECT tricoma_mail_grant.", "SELECT tricoma_mail_plugin_state."))]
    assert not asked, again  # (the navigation's list of readable mailboxes joins the grants, as before)
    # one query for the session, its user and the user's groups
    assert sum("hostapp_login_session" in statement for statement in again) == 1
    assert not [s for s in again if s.lstrip().startswith("SELECT hostapp_group.")], again


def test_a_rolled_back_write_leaves_no_version_behind_that_a_later_write_could_take(app, team):
    """A process that read rights inside a transaction that then rolled back keeps them under
    the version its own write had made; the next committed write must not reach that number."""
    rita = user_id(app, "rita")
    with app.test_request_context():
        user = db.session.get(User, rita)
        db.session.execute(insert(GRANTS).values(mailbox_id=team, principal_type="user",
                                                 principal_id=str(rita), right="read"))
        cache_versions.forget_versions()
        assert access.effective_rights(user, team) == {"read"}
        seen_inside = cache_versions.versions()["rights"]
        db.session.rollback()
    other_process(app, insert(GRANTS).values(mailbox_id=team, principal_type="user", principal_id=str(rita),
                                             right="write"))
    with app.test_request_context():
        user = db.session.get(User, rita)
        assert cache_versions.versions()["rights"] != seen_inside
        assert access.effective_rights(user, team) == {"write"}


def test_the_auditor_role_and_trusted_senders_are_remembered_until_someone_changes_them(app, team):
    rita = user_id(app, "rita")
    with app.test_request_context():
        user = db.session.get(User, rita)
        assert not auditors.is_auditor(user)
        assert not trusted_senders.is_trusted(str(rita), "News@Example.test")
    other_process(app, insert(ArchiveAuditor.__table__).values(principal_type="user", principal_id=str(rita),
                                                              granted_by="test"))
    other_process(app, insert(TrustedSender.__table__).values(user_id=str(rita), address="news@example.test"))
    with app.test_request_context():
        user = db.session.get(User, rita)
        assert auditors.is_auditor(user)
        assert trusted_senders.is_trusted(str(rita), "News@Example.test")
    with app.test_request_context():
        trusted_senders.set_trusted(str(rita), "news@example.test", False)
        assert not trusted_senders.is_trusted(str(rita), "news@example.test")  # the same request


def test_without_the_versions_table_nothing_is_remembered_and_nothing_breaks(app, team, monkeypatch):
    """A database not migrated to the versions yet: every answer is read, as before."""
    monkeypatch.setattr(cache_versions, "_table_present", lambda: False)
    olga = client_of(app, "olga")
    folder = f"/mail/m/{team}/"
    olga.get(folder)
    again = queries_of(app, olga, folder)
    assert not [s for s in again if cache_versions.TABLE_NAME in s]
    assert [s for s in again if s.lstrip().startswith("SELECT tricoma_mail_grant.")]
