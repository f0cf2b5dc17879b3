"""Core's compose dialog for other apps (``/mail/compose/app``), with the sample plugin's record
kind ``sample``: references, rights, the pre-fill, frozen attachments, leaving one out, errors by
their field, vetoes, idempotency, undo and CSRF. The mailbox is on the real local mail stack."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app_fixtures import login
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import AttachmentData, Reference
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox, OutboxItem
from tricoma_mail_plugin.sending.on_behalf import freeze

DIALOG = "/mail/compose/app/"


@pytest.fixture
def desk(app, make_mailbox, make_user):
    """A tested mailbox with an app Bcc, and a clerk (English) who may send from apps through it."""
    mailbox_id = make_mailbox(1, title="Sales")
    clerk_id = make_user("clerk", language="en").id
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.app_bcc = "archive@example.test"
        service.run_test(mailbox)
        access.grant(mailbox_id, "user", clerk_id, "send_from_apps")
    client = app.test_client()
    login(client, "clerk")
    return {"mailbox": mailbox_id, "clerk": clerk_id, "client": client}


def form_of(page: str) -> dict:
    form = page[page.index(f'<form method="post" action="{DIALOG}"'):]

    def value(name):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', form)
        return match.group(1) if match else ""

    return {"reference": value("reference"), "next": value("next"), "key": value("key"),
            "mailbox": re.search(r'<option value="(\d+)" selected', form).group(1),
            "to": value("to"), "subject": value("subject"), "text": "Hello",
            "attachment": re.findall(r'name="attachment" value="([^"]+)"', form)}


def items(app) -> list[OutboxItem]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def test_a_reference_that_is_not_one_is_refused(user_client):
    assert user_client.get(f"{DIALOG}?reference=nonsense").status_code == 400
    assert user_client.get(f"{DIALOG}?reference=").status_code == 400


def test_without_send_from_apps_the_dialog_refuses(app, user_client):
    page = user_client.get(f"{DIALOG}?reference=sample:7")
    assert page.status_code == 403
    assert "You may not send mail from apps through any mailbox." in page.get_data(as_text=True)
    assert 'name="key"' not in page.get_data(as_text=True)
    posted = user_client.post(DIALOG, data={"reference": "sample:7", "key": "k", "mailbox": "1", "to": "a@b.test"})
    assert posted.status_code == 403
    assert items(app) == []


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(f"{DIALOG}?reference=sample:7")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_records_no_plugin_knows_are_not_found(desk):
    assert desk["client"].get(f"{DIALOG}?reference=unknown:7").status_code == 404
    assert desk["client"].get(f"{DIALOG}?reference=sample:404").status_code == 404  # deleted record


def test_the_dialog_is_prefilled_and_the_attachment_is_the_frozen_bytes(app, desk, make_user):
    page = desk["client"].get(f"{DIALOG}?reference=sample:7&next=/sample/7")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Send by e-mail: Sample 7" in text
    assert 'value="customer-7@example.test"' in text and 'value="Sample 7"' in text
    assert "archive@example.test (Bcc)" in text  # the mailbox's app Bcc is no secret to the sender
    form = form_of(text)
    assert form["next"] == "/sample/7" and len(form["key"]) > 20
    (token,) = form["attachment"]
    assert f'href="/mail/compose/app/attachment/{token}" download>sample-7.txt</a>' in text

    download = desk["client"].get(f"/mail/compose/app/attachment/{token}")
    assert download.status_code == 200 and download.data == b"record 7"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sample-7.txt" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]

    make_user("other", language="en")
    other = app.test_client()
    login(other, "other")
    assert other.get(f"/mail/compose/app/attachment/{token}").status_code == 404
    assert desk["client"].get("/mail/compose/app/attachment/not-a-token").status_code == 404


def test_attachments_a_browser_would_run_are_served_as_bytes(app, desk):
    with app.test_request_context():
        clerk = db.session.get(User, desk["clerk"])
        (row,) = freeze(clerk, Reference("sample", "7"), [AttachmentData("page.html", "text/html", b"<script>")])
        token = row.token
    download = desk["client"].get(f"/mail/compose/app/attachment/{token}")
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_an_attachment_can_be_left_out(app, desk):
    form = form_of(desk["client"].get(f"{DIALOG}?reference=sample:7").get_data(as_text=True))
    assert desk["client"].post(DIALOG, data={**form, "leave_out": form["attachment"][0]}).status_code == 302
    second = form_of(desk["client"].get(f"{DIALOG}?reference=sample:8").get_data(as_text=True))
    assert desk["client"].post(DIALOG, data=second).status_code == 302
    without, with_it = items(app)
    assert b"sample-7.txt" not in without.raw and b"sample-8.txt" in with_it.raw
    assert without.reference == "sample:7" and "archive@example.test" in without.recipients


def test_everything_is_editable_and_errors_stand_by_their_field(app, desk):
    form = form_of(desk["client"].get(f"{DIALOG}?reference=sample:7").get_data(as_text=True))
    refused = desk["client"].post(DIALOG, data={**form, "to": "not an address", "subject": "Changed"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="error-to"' in text and 'aria-invalid="true"' in text and "not an address" in text
    assert 'value="Changed"' in text and "sample-7.txt" in text  # what was typed and attached stays
    assert items(app) == []

    sent = desk["client"].post(DIALOG, data={**form, "to": "Erika <erika@example.test>", "cc": "c@example.test",
                                             "subject": "Changed", "text": "My own words"})
    assert sent.status_code == 302
    (item,) = items(app)
    assert item.subject == "Changed" and b"My own words" in item.raw
    assert set(item.recipients) == {"erika@example.test", "c@example.test", "archive@example.test"}


def test_a_plugin_veto_is_shown_and_nothing_is_queued(app, desk):
    form = form_of(desk["client"].get(f"{DIALOG}?reference=sample:7").get_data(as_text=True))
    refused = desk["client"].post(DIALOG, data={**form, "subject": "veto me"})
    assert refused.status_code == 400
    assert "The sample plugin refuses this subject." in refused.get_data(as_text=True)
    assert items(app) == []


def test_a_mailbox_without_the_right_is_refused(app, desk, make_mailbox):
    other_mailbox = make_mailbox(1, title="Not yours")
    form = form_of(desk["client"].get(f"{DIALOG}?reference=sample:7").get_data(as_text=True))
    refused = desk["client"].post(DIALOG, data={**form, "mailbox": str(other_mailbox)})
    assert refused.status_code == 400 and 'id="error-mailbox"' in refused.get_data(as_text=True)
    assert items(app) == []


def test_a_double_submit_sends_once_and_next_stays_on_this_site(app, desk):
    page = desk["client"].get(f"{DIALOG}?reference=sample:7&next={quote('https://evil.example/')}")
    form = form_of(page.get_data(as_text=True))
    assert form["next"] == "/sample/7"  # the record's own page instead of another site
    first = desk["client"].post(DIALOG, data=form)
    second = desk["client"].post(DIALOG, data=form)
    assert first.headers["Location"] == second.headers["Location"] == "/sample/7"
    assert len(items(app)) == 1
    assert desk["client"].get("/").get_data(as_text=True).count('class="undo-send"') == 1  # said once
    forged = desk["client"].post(DIALOG, data={**form, "key": "other", "next": "//evil.example/"})
    assert forged.headers["Location"] == "/sample/7"


def test_the_mail_can_be_undone_until_it_leaves(app, desk, make_user):
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 60
    form = form_of(desk["client"].get(f"{DIALOG}?reference=sample:7&next=/sample/7").get_data(as_text=True))
    sent = desk["client"].post(DIALOG, data=form, follow_redirects=False)
    (item,) = items(app)
    flashed = desk["client"].get("/").get_data(as_text=True)
    assert "leaves in 60 seconds" in flashed
    undo_link = f'/mail/compose/app/queued/{item.id}?next=/sample/7'
    assert f'href="{undo_link}"' in flashed and sent.status_code == 302

    make_user("other", language="en")
    other = app.test_client()
    login(other, "other")
    assert other.get(undo_link).status_code == 404
    assert other.post(f"/mail/compose/app/queued/{item.id}/undo").status_code == 404

    page = desk["client"].get(undo_link).get_data(as_text=True)
    assert "Undo: do not send" in page
    undone = desk["client"].post(f"/mail/compose/app/queued/{item.id}/undo", data={"next": "/sample/7"})
    assert undone.status_code == 302 and undone.headers["Location"] == "/sample/7"
    assert items(app)[0].state == "cancelled"
    again = desk["client"].post(f"/mail/compose/app/queued/{item.id}/undo", data={"next": "/sample/7"},
                                follow_redirects=True)
    assert "already on its way" in again.get_data(as_text=True)


def test_every_post_needs_the_csrf_token(make_app, desk):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "clerk", "password": "correct horse battery", "csrf_token": token})
    form = form_of(client.get(f"{DIALOG}?reference=sample:7").get_data(as_text=True))
    assert client.post(DIALOG, data=form).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    dialog = client.get(f"{DIALOG}?reference=sample:7").get_data(as_text=True)
    token = re.search(r'<form method="post" action="/mail/compose/app/"[^>]*>\s*<input type="hidden" '
                      r'name="csrf_token" value="([^"]+)"', dialog).group(1)
    assert client.post(DIALOG, data={**form_of(dialog), "csrf_token": token}).status_code == 302
