"""Which client a mailbox opens in (the plugin's ``mailbox_client`` answer), marking a mailbox
as v2 from the CLI, the page in German, and the layout remembered per user."""
from __future__ import annotations

import re

import pytest
from app_fixtures import login

from hostapp.extensions import db
from tricoma_mail_plugin import mailbox_client_url
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access


@pytest.fixture
def mailbox_ids(app, make_user):
    owner = make_user("vera", language="de")
    make_user("stranger", language="en")
    with app.app_context():
        boxes = [Mailbox(title="Gehostet", kind="imap"), Mailbox(title="Extern", kind="imap")]
        db.session.add_all(boxes)
        db.session.commit()
        for box in boxes:
            for right in ("read", "write"):
                access.grant(box.id, "user", owner.id, right)
        return [box.id for box in boxes]


def test_a_marked_mailbox_opens_in_v2_and_the_others_keep_v1(app, mailbox_ids):
    hosted, external = mailbox_ids
    runner = app.test_cli_runner()
    result = runner.invoke(args=["v2-hosted", "mark", str(hosted)])
    assert result.exit_code == 0 and "opens in v2" in result.output
    assert runner.invoke(args=["v2-hosted", "mark", "999999"]).exit_code != 0
    assert runner.invoke(args=["v2-hosted", "list"]).output.split() == [str(hosted)]
    with app.test_request_context("/"):
        assert mailbox_client_url(db.session.get(Mailbox, hosted)) == f"/mail/v2/m/{hosted}/"
        assert mailbox_client_url(db.session.get(Mailbox, external)) == f"/mail/m/{external}/"
    assert runner.invoke(args=["v2-hosted", "unmark", str(hosted)]).exit_code == 0
    with app.test_request_context("/"):
        assert mailbox_client_url(db.session.get(Mailbox, hosted)) == f"/mail/m/{hosted}/"


def test_the_page_speaks_german_and_remembers_the_layout(app, mailbox_ids):
    hosted = mailbox_ids[0]
    client = app.test_client()
    login(client, "vera")
    page = client.get(f"/mail/v2/m/{hosted}/").get_data(as_text=True)
    assert 'role="listbox"' in page and 'aria-multiselectable="true"' in page
    assert "Als Konversationen anzeigen" in page and "Tastenkürzel anzeigen" in page
    assert 'data-folders-width="220"' in page and re.search(r'id="v2-conversations"\s*checked', page)
    saved = client.post(f"/mail/v2/api/m/{hosted}/layout",
                        json={"folders_width": 300, "list_width": 5000, "conversations": False, "x": 1})
    assert saved.get_json() == {"folders_width": 300, "list_width": 1200, "conversations": False}
    page = client.get(f"/mail/v2/m/{mailbox_ids[1]}/").get_data(as_text=True)  # per user, not per mailbox
    assert 'data-folders-width="300"' in page and 'data-list-width="1200"' in page
    assert not re.search(r'id="v2-conversations"\s*checked', page)


def test_a_stranger_learns_nothing(app, mailbox_ids):
    client = app.test_client()
    login(client, "stranger")
    assert client.get(f"/mail/v2/m/{mailbox_ids[0]}/").status_code == 404
    answer = client.get(f"/mail/v2/api/m/{mailbox_ids[0]}/messages")
    assert answer.status_code == 404 and answer.is_json


def test_the_navigation_asks_once_per_page_which_mailboxes_open_in_v2(app, mailbox_ids, make_user):
    """Which client each readable mailbox opens in is one query per page, not one per mailbox;
    a mark made in the same request counts at once."""
    from sqlalchemy import event

    from tricoma_mail_v2_hosted import marks

    owner = make_user("many", language="de")
    with app.app_context():
        boxes = [Mailbox(title=f"Postfach {n}", kind="imap") for n in range(6)]
        db.session.add_all(boxes)
        db.session.commit()
        ids = [box.id for box in boxes]
        for box_id in ids:
            access.grant(box_id, "user", owner.id, "read")
        marks.mark(ids[0])
        engine = db.engine
    client = app.test_client()
    assert login(client, "many").status_code == 302
    asked = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "v2_hosted_mailbox" in statement and statement.lstrip().upper().startswith("SELECT"):
            asked.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.get("/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert f"/mail/v2/m/{ids[0]}/" in page and f"/mail/m/{ids[1]}/" in page
    assert len(asked) == 1, asked
    with app.test_request_context("/"):
        assert not marks.is_v2(ids[2])
        marks.mark(ids[2])
        assert marks.is_v2(ids[2])
        marks.unmark(ids[2])
        assert not marks.is_v2(ids[2])


def test_who_may_manage_the_mailbox_finds_its_filters_and_automatic_reply(app, mailbox_ids, make_user):
    """The v2 client had no way to the mailbox's server-side filters and vacation reply (core's
    page, for the *manage* right): a link in its toolbar, for those who may use it alone."""
    hosted = mailbox_ids[0]
    filters = f'href="/mail/settings/mailboxes/{hosted}/filters"'
    client = app.test_client()
    login(client, "vera")  # read and write only
    page = client.get(f"/mail/v2/m/{hosted}/").get_data(as_text=True)
    assert filters not in page and 'class="v2-filters"' not in page
    manager = make_user("manni", language="de")
    with app.app_context():
        for right in ("read", "manage"):
            access.grant(hosted, "user", manager.id, right)
    client = app.test_client()
    login(client, "manni")
    page = client.get(f"/mail/v2/m/{hosted}/").get_data(as_text=True)
    assert f'<a class="v2-filters" {filters}>Filter und automatische Antwort</a>' in page
    assert client.get(f"/mail/settings/mailboxes/{hosted}/filters").status_code != 403
