"""Which mailboxes open in v2 (``marks.py``) is remembered per web process under the version of
the marks (issue 14): a warm page asks the versions, which core asks anyway, and nothing of
``v2_hosted_mailbox``. A mark written by another connection with its own SQL moves the version
through the database's triggers (migration v2_hosted_0005), so only they can tell the page."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, insert, text
from test_cache_versions import client_of, queries_of
from tricoma_mail_v2_hosted import marks
from tricoma_mail_v2_hosted.tables import v2_mailboxes

from hostapp.extensions import db
from tricoma_mail_plugin import forget_versions, utcnow
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access

VERSIONS = "tricoma_mail_cache_version"


@pytest.fixture
def boxes(app, make_user) -> tuple[int, int]:
    """vera reads an external mailbox (v1) and a hosted one, marked as v2; (external, hosted)."""
    vera = make_user("vera", language="en")
    with app.app_context():
        external, hosted = Mailbox(title="Extern", kind="imap"), Mailbox(title="Gehostet", kind="imap")
        db.session.add_all([external, hosted])
        db.session.commit()
        for box in (external, hosted):
            access.grant(box.id, "user", vera.id, "read", actor="test")
        marks.mark(hosted.id)
        return external.id, hosted.id


def other_connection(app, statement) -> None:
    """``statement`` on a connection of its own, committed: another process with its own SQL,
    not ``marks.mark`` (which would tell this process)."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(statement)


def asked_marks(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "v2_hosted_mailbox" in statement]


def opens_in(page: str, mailbox_id: int) -> str:
    """The client the navigation's link of ``mailbox_id`` opens: "v2" or "v1"."""
    v2, v1 = f'href="/mail/v2/m/{mailbox_id}/"' in page, f'href="/mail/m/{mailbox_id}/"' in page
    assert v1 != v2, (mailbox_id, v1, v2)
    return "v2" if v2 else "v1"


def test_a_warm_page_asks_the_versions_once_and_not_the_marks(app, boxes):
    external, hosted = boxes
    client = client_of(app, "vera")
    folder = f"/mail/m/{external}/"
    page = client.get(folder).get_data(as_text=True)  # the process learns the marks
    assert (opens_in(page, external), opens_in(page, hosted)) == ("v1", "v2")  # the plugin answers
    for url in (folder, "/"):
        statements = queries_of(app, client, url)
        assert not asked_marks(statements), statements
        assert sum(VERSIONS in statement for statement in statements) == 1, statements  # shared with core's


def test_a_mark_and_an_unmark_by_another_connection_count_at_the_next_request(app, boxes):
    external, hosted = boxes
    client = client_of(app, "vera")
    assert opens_in(client.get("/").get_data(as_text=True), external) == "v1"
    other_connection(app, insert(v2_mailboxes).values(mailbox_id=external, source="cli", marked_at=utcnow()))
    page = client.get("/").get_data(as_text=True)
    assert (opens_in(page, external), opens_in(page, hosted)) == ("v2", "v2")
    other_connection(app, delete(v2_mailboxes).where(v2_mailboxes.c.mailbox_id == hosted))
    page = client.get("/").get_data(as_text=True)
    assert (opens_in(page, external), opens_in(page, hosted)) == ("v2", "v1")
    assert not asked_marks(queries_of(app, client, "/"))  # and remembered again


def test_a_rolled_back_mark_changes_nothing(app, boxes):
    external, _hosted = boxes
    client = client_of(app, "vera")
    client.get("/")
    with app.app_context(), db.engine.connect() as connection:  # another process's write, undone
        connection.execute(insert(v2_mailboxes).values(mailbox_id=external, source="cli", marked_at=utcnow()))
        connection.rollback()
    statements = queries_of(app, client, "/")
    assert not asked_marks(statements), statements
    assert opens_in(client.get("/").get_data(as_text=True), external) == "v1"
    # this process's own write, seen (and remembered) inside its transaction, then undone
    with app.test_request_context("/"):
        db.session.execute(insert(v2_mailboxes).values(mailbox_id=external, source="cli", marked_at=utcnow()))
        forget_versions()
        assert marks.is_v2(external)
        db.session.rollback()
    assert opens_in(client.get("/").get_data(as_text=True), external) == "v1"


def test_marks_in_the_same_request_and_outside_a_request_are_seen_at_once(app, boxes):
    external, hosted = boxes
    with app.test_request_context("/"):
        assert not marks.is_v2(external)
        assert marks.mark(external)
        assert marks.is_v2(external)
        assert marks.unmark(hosted)
        assert not marks.is_v2(hosted)
    with app.app_context():  # a job or the CLI: what this context remembers may be a second old
        assert not marks.is_v2(hosted)
        other_connection(app, insert(v2_mailboxes).values(mailbox_id=hosted, source="cli", marked_at=utcnow()))
        assert marks.mark(hosted) is False  # asked of the table: no second row
        assert marks.unmark(hosted)
        assert not marks.is_v2(hosted)
        assert marks.is_v2(external)


def test_the_migration_goes_down_and_up_again(app, boxes):
    """Without v2_hosted_0005 the marks are read once per page, as before it; with it again the
    triggers move the version."""
    external, _hosted = boxes
    client = client_of(app, "vera")

    def kinds() -> set[str]:
        with app.app_context():
            return set(db.session.scalars(text(f"SELECT name FROM {VERSIONS}")))

    with app.app_context():
        downgrade(revision="v2_hosted_0004")
    try:
        assert marks.MARKS_KIND not in kinds() and "rights" in kinds()  # core's kinds stay
        client.get("/")
        statements = queries_of(app, client, "/")
        assert len(asked_marks(statements)) == 1, statements
    finally:
        with app.app_context():
            upgrade(revision="heads")
    assert marks.MARKS_KIND in kinds()
    client.get("/")
    assert not asked_marks(queries_of(app, client, "/"))
    other_connection(app, insert(v2_mailboxes).values(mailbox_id=external, source="cli", marked_at=utcnow()))
    assert opens_in(client.get("/").get_data(as_text=True), external) == "v2"
