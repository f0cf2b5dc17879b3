"""Mail → Outbox: who sees which outgoing mail, undo send, send again only after confirmation,
the detail page with headers only, and (live) a failed mail sent again reaching the INBOX."""
import re
import time
from dataclasses import replace

import pytest
from sqlalchemy import delete, select

from app_fixtures import login
from fault_smtp import FaultySmtp
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.sending import system_mail, system_settings
from tricoma_mail_plugin.mime.build import OutgoingMessage
from tricoma_mail_plugin.models import Mailbox, MailboxGrant, OutboxItem, utcnow

BASE = "/mail/outbox"


def page(response) -> str:
    return response.get_data(as_text=True)


def user_named(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def make_sendable_mailbox(title: str, email: str, grants: dict[str, tuple[str, ...]]) -> int:
    """A mailbox marked as tested (nothing here talks to its servers) with ``grants`` per user name."""
    mailbox = service.create_mailbox(title, user_named(next(iter(grants))))
    mailbox.email, mailbox.smtp_host, mailbox.last_test_ok = email, "127.0.0.1", True
    db.session.commit()
    for name, rights in grants.items():
        for right in rights:
            access.grant(mailbox.id, "user", user_named(name).id, right)
    db.session.commit()
    return mailbox.id


def queue(app, mailbox_id: int, user: str, subject: str = "Angebot 17", **fields) -> int:
    with app.app_context():
        fields.setdefault("to", ("kunde@example.test",))
        fields.setdefault("text", "Guten Tag,\nanbei das Angebot.\n")
        item = outbox.enqueue(db.session.get(Mailbox, mailbox_id), user_named(user),
                              OutgoingMessage(subject=subject, **fields))
        return item.id


def set_state(app, item_id: int, state: str, **fields) -> None:
    with app.app_context():
        item = db.session.get(OutboxItem, item_id)
        item.state = state
        for name, value in fields.items():
            setattr(item, name, value)
        db.session.commit()


def state_of(app, item_id: int) -> str:
    with app.app_context():
        return db.session.get(OutboxItem, item_id).state


def client_for(app, name: str):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


@pytest.fixture
def world(app, make_user):
    """Olga sends from Support, Otto from Sales; Rita may only read Support. One mail each."""
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 600  # stays queued: nothing is delivered here
    for name in ("olga", "otto", "rita"):
        make_user(name, language="en")
    with app.app_context():
        support = make_sendable_mailbox("Support", "support@example.test",
                                        {"olga": ("read", "send"), "rita": ("read",)})
        sales = make_sendable_mailbox("Sales", "sales@example.test", {"otto": ("read", "send")})
    return {
        "support": support,
        "sales": sales,
        "support_item": queue(app, support, "olga", subject="Angebot Support"),
        "sales_item": queue(app, sales, "otto", subject="Angebot Sales"),
    }


def test_the_list_shows_only_mail_of_mailboxes_the_user_may_send_from(app, world):
    olga = page(client_for(app, "olga").get(f"{BASE}/"))
    assert "Angebot Support" in olga and "Angebot Sales" not in olga
    assert "Support" in olga and "kunde@example.test" in olga
    assert "waiting, leaves at" in olga
    otto = page(client_for(app, "otto").get(f"{BASE}/"))
    assert "Angebot Sales" in otto and "Angebot Support" not in otto


def test_mail_of_another_mailbox_answers_404_and_shows_nothing(app, world):
    olga = client_for(app, "olga")
    foreign = world["sales_item"]
    for response in (olga.get(f"{BASE}/{foreign}"), olga.get(f"{BASE}/{foreign}/send-again"),
                     olga.post(f"{BASE}/{foreign}/cancel"), olga.post(f"{BASE}/{foreign}/send-again",
                                                                    data={"confirm": "1"})):
        assert response.status_code == 404
        assert "Angebot Sales" not in page(response) and "sales@example.test" not in page(response)
    assert state_of(app, foreign) == "queued"
    assert olga.get(f"{BASE}/999999").status_code == 404
    assert olga.get(f"{BASE}/{2**70}").status_code == 404


def test_a_user_who_may_only_read_the_mailbox_sees_nothing(app, world):
    rita = client_for(app, "rita")
    listing = page(rita.get(f"{BASE}/"))
    assert "Angebot Support" not in listing
    assert "You may not send from any mailbox" in listing
    assert rita.get(f"{BASE}/{world['support_item']}").status_code == 404
    assert rita.post(f"{BASE}/{world['support_item']}/cancel").status_code == 404
    assert state_of(app, world["support_item"]) == "queued"


def test_anonymous_visitors_are_sent_to_the_login(app, world):
    response = app.test_client().get(f"{BASE}/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_right_taken_away_takes_effect_at_once(app, world):
    olga = client_for(app, "olga")
    assert olga.get(f"{BASE}/{world['support_item']}").status_code == 200
    with app.app_context():
        db.session.execute(delete(MailboxGrant).where(
            MailboxGrant.mailbox_id == world["support"], MailboxGrant.principal_id == str(user_named("olga").id),
            MailboxGrant.right == "send"))
        db.session.commit()
    assert olga.get(f"{BASE}/{world['support_item']}").status_code == 404
    assert olga.post(f"{BASE}/{world['support_item']}/cancel").status_code == 404


def test_the_state_filter(app, world):
    second = queue(app, world["support"], "olga", subject="Zweite Mail")
    set_state(app, second, "failed", last_error="550 5.1.1 <kunde@example.test>: recipient refused")
    olga = client_for(app, "olga")
    failed = page(olga.get(f"{BASE}/?state=failed"))
    assert "Zweite Mail" in failed and "Angebot Support" not in failed
    assert "550 5.1.1" in failed  # the reason is shown
    queued = page(olga.get(f"{BASE}/?state=queued"))
    assert "Angebot Support" in queued and "Zweite Mail" not in queued
    assert "No mail matches this filter" in page(olga.get(f"{BASE}/?state=cancelled"))
    assert olga.get(f"{BASE}/?state=bogus").status_code == 400


def test_retry_and_sent_copy_are_explained(app, world):
    item_id = world["support_item"]
    set_state(app, item_id, "retry", last_error="451 4.3.0 try again later")
    listing = page(client_for(app, "olga").get(f"{BASE}/"))
    assert "will retry at" in listing and "451 4.3.0" in listing
    set_state(app, item_id, "sent", smtp_accepted_at=utcnow(), sent_copy="retry",
              sent_copy_error="The mail server could not be reached.",
              recipient_results=[{"address": "kunde@example.test", "accepted": True, "code": 250, "message": "OK"},
                                 {"address": "weg@example.test", "accepted": False, "code": 550, "message": "no such user"}])
    listing = page(client_for(app, "olga").get(f"{BASE}/"))
    assert "sent at" in listing
    assert "not filed yet, will retry: The mail server could not be reached." in listing
    assert "weg@example.test: refused (550 no such user)" in listing


def test_the_sender_is_told_when_the_server_refused_some_recipients(app, world):
    """The compose page said "Sent"; a notice says who did not get it, and links to the mail."""
    from tricoma_mail_plugin._state import mail_state
    from tricoma_mail_plugin.events.values import RecipientResult, SentMail
    from tricoma_mail_plugin.notices import latest

    item_id = world["support_item"]
    results = (RecipientResult("kunde@example.test", True, 250, "OK"),
               RecipientResult("weg@example.test", False, 550, "no such user"))
    with app.app_context():
        item = db.session.get(OutboxItem, item_id)
        sent = SentMail(item.id, item.mailbox_id, "<x@example.test>", "support@example.test",
                        ("kunde@example.test", "weg@example.test"), item.subject, None, utcnow(), results)
        mail_state().hooks.call("message_sent", outbox_item=sent, reference=None)
        mail_state().hooks.call("message_sent", outbox_item=replace(sent, recipient_results=results[:1]),
                                reference=None)  # all accepted: nothing to say
        db.session.commit()
        notices = latest(user_named("olga"))
    assert [(n.kind, n.link) for n in notices] == [("recipients_refused", f"{BASE}/{item_id}")]
    assert notices[0].text == "The mail server refused weg@example.test: “Angebot Support” did not go to them."


def test_undo_send_stops_a_waiting_mail(app, world):
    olga = client_for(app, "olga")
    item_id = world["support_item"]
    response = olga.post(f"{BASE}/{item_id}/cancel", data={"next": f"{BASE}/?state=queued"})
    assert response.status_code == 302 and response.location == f"{BASE}/?state=queued"
    assert state_of(app, item_id) == "cancelled"
    listing = page(olga.get(f"{BASE}/"))
    assert "The mail is stopped and will not be sent." in listing
    with app.app_context():
        assert outbox.run_once() == 0  # nothing leaves
    # later too, the stopped mail goes back into the editor (not only right after stopping it)
    reopen = re.search(r'<a class="outbox-action" href="([^"]+restore=%d)">Open in the editor' % item_id, listing)
    assert reopen, listing
    editor = page(olga.get(reopen.group(1).replace("&amp;", "&")))
    assert 'value="Angebot Support"' in editor and 'id="compose-form"' in editor


def test_undo_send_is_refused_once_the_mail_is_sent(app, world):
    olga = client_for(app, "olga")
    item_id = world["support_item"]
    set_state(app, item_id, "sent", smtp_accepted_at=utcnow())
    response = olga.post(f"{BASE}/{item_id}/cancel", data={"next": "https://evil.example/"})
    assert response.status_code == 302 and response.location == f"{BASE}/"  # never another host
    assert "already on its way and cannot be stopped" in page(olga.get(f"{BASE}/"))
    assert state_of(app, item_id) == "sent"
    set_state(app, item_id, "sending")
    olga.post(f"{BASE}/{item_id}/cancel")
    assert state_of(app, item_id) == "sending"


def test_send_again_needs_the_confirmation_box(app, world):
    olga = client_for(app, "olga")
    item_id = world["support_item"]
    set_state(app, item_id, "uncertain", last_error="SMTPServerDisconnected: Connection unexpectedly closed")
    confirm = page(olga.get(f"{BASE}/{item_id}/send-again"))
    assert "the server may already have delivered it" in confirm
    assert "Sent folder" in confirm and 'name="confirm"' in confirm
    refused = olga.post(f"{BASE}/{item_id}/send-again", data={})
    assert refused.status_code == 400 and "Tick the box" in page(refused)
    assert state_of(app, item_id) == "uncertain"
    response = olga.post(f"{BASE}/{item_id}/send-again", data={"confirm": "1"})
    assert response.status_code == 302
    with app.app_context():
        item = db.session.get(OutboxItem, item_id)
        assert item.state == "queued" and item.last_error is None and item.not_before <= utcnow()


def test_a_person_settles_an_uncertain_mail_as_arrived_and_it_is_filed_in_sent(app, world):
    olga = client_for(app, "olga")
    item_id = world["support_item"]
    dot_at = "2026-12-04T18:04:11.250000+00:00"
    set_state(app, item_id, "uncertain", last_error="The connection broke after the final dot.",
              attempt_history=[{"attempt": 1, "started_at": "2026-12-04T18:04:10+00:00", "reached": "final_dot",
                                "reached_at": dot_at, "ended_at": "2026-12-04T18:04:12+00:00",
                                "outcome": "uncertain", "worker_vanished": True, "detail": ""}])
    listing = page(olga.get(f"{BASE}/"))
    assert "Arrived or send again…" in listing
    choice = page(olga.get(f"{BASE}/{item_id}/send-again"))
    assert "The recipient has it" in choice and "may have accepted it at" in choice and "6:04:11" in choice
    assert "Has this mail arrived?" in choice
    refused = olga.post(f"{BASE}/{item_id}/arrived", data={})
    assert refused.status_code == 400 and "Tick the box to confirm that the recipient has the mail." in page(refused)
    assert state_of(app, item_id) == "uncertain"
    done = olga.post(f"{BASE}/{item_id}/arrived", data={"confirm_arrived": "1"})
    assert done.status_code == 302
    with app.app_context():
        item = db.session.get(OutboxItem, item_id)
        assert item.state == "sent" and item.last_error is None
        assert item.sent_copy == "pending"  # the worker files our copy, as for any sent mail
        assert item.smtp_accepted_at.isoformat().startswith("2026-12-04T18:04:11")
        assert item.attempt_history[-1]["resolved"] == "confirmed_arrived"
        assert item.attempt_history[-1]["resolved_by"] == str(user_named("olga").id)
        assert outbox.claim_sent_copy().id == item_id  # nothing is sent again: only the copy is due
        assert outbox.claim_next("w") is None
    detail = page(olga.get(done.location))
    assert "arrived, as Olga confirmed: sent" in detail
    again = olga.post(f"{BASE}/{item_id}/arrived", data={"confirm_arrived": "1"})
    assert "Only uncertain mail can be marked as arrived." in page(olga.get(again.location))
    rita = client_for(app, "rita")  # may read Support, may not send from it
    assert rita.post(f"{BASE}/{item_id}/arrived", data={"confirm_arrived": "1"}).status_code == 404


def test_send_again_is_only_for_uncertain_or_failed_mail(app, world):
    olga = client_for(app, "olga")
    item_id = world["support_item"]
    response = olga.post(f"{BASE}/{item_id}/send-again", data={"confirm": "1"})
    assert response.status_code == 302
    assert "Only uncertain or failed mail can be sent again." in page(olga.get(response.location))
    assert state_of(app, item_id) == "queued"
    set_state(app, item_id, "failed", last_error="550 refused")
    confirm = page(olga.get(f"{BASE}/{item_id}/send-again"))
    assert "did not accept this mail" in confirm and "550 refused" in confirm


def test_the_detail_page_shows_headers_and_size_never_the_body(app, world):
    item_id = queue(app, world["support"], "olga", subject="Grüße aus Köln",
                    html='<p>Hallo</p><script>alert("x")</script><img src="https://tracker.example/p.gif">',
                    text=None)
    response = client_for(app, "olga").get(f"{BASE}/{item_id}")
    html = page(response)
    assert response.status_code == 200
    assert "Grüße aus Köln" in html  # the RFC 2047 subject, decoded
    for header in ("From", "To", "Subject", "Message-ID", "Date", "MIME-Version"):
        assert f'<th scope="row">{header}</th>' in html
    assert "support@example.test" in html and "kunde@example.test" in html
    assert "<script>" not in html and "tracker.example" not in html and "alert(" not in html
    assert re.search(r"\d[\d.,]* (bytes|KB)", html)


def test_system_mail_is_shown_to_admins_only(app, world, make_user):
    make_user("root", admin=True, language="en")
    with app.app_context():
        system_settings.update_system_settings({"host": "127.0.0.1", "port": "25", "security": "none",
                                            "sender_address": "noreply@example.test"})
        item_id = system_mail.send_system_mail("ulla@example.test", "Ihr neues Passwort", "Hallo").id
    admin = page(client_for(app, "root").get(f"{BASE}/"))
    assert "Ihr neues Passwort" in admin and "System mail" in admin
    assert "Angebot Support" not in admin  # an admin holds no send right on Support
    olga = client_for(app, "olga")
    assert "Ihr neues Passwort" not in page(olga.get(f"{BASE}/"))
    assert olga.get(f"{BASE}/{item_id}").status_code == 404
    assert olga.post(f"{BASE}/{item_id}/cancel").status_code == 404
    assert client_for(app, "root").post(f"{BASE}/{item_id}/cancel").status_code == 302
    assert state_of(app, item_id) == "cancelled"


def test_every_form_that_changes_something_carries_a_csrf_token(app, world):
    olga = client_for(app, "olga")
    item_id = world["support_item"]
    pages = [page(olga.get(f"{BASE}/")), page(olga.get(f"{BASE}/{item_id}"))]
    set_state(app, item_id, "failed")
    pages.append(page(olga.get(f"{BASE}/{item_id}/send-again")))
    set_state(app, item_id, "queued")
    for html in pages:
        forms = re.findall(r"<form[^>]*>.*?</form>", html, re.S)
        posts = [form for form in forms if 'method="post"' in form and "/mail/outbox/" in form]
        assert posts
        for form in posts:
            assert 'name="csrf_token"' in form


def test_actions_without_a_csrf_token_are_refused(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_UNDO_SEND_SECONDS=600)
    make_user("olga", language="en")
    with app.app_context():
        mailbox_id = make_sendable_mailbox("Support", "support@example.test", {"olga": ("send",)})
    item_id = queue(app, mailbox_id, "olga")
    client = app.test_client()
    login_page = page(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "olga", "password": "correct horse battery", "csrf_token": token})
    assert client.post(f"{BASE}/{item_id}/cancel").status_code == 400
    assert state_of(app, item_id) == "queued"


def test_an_uncertain_mail_shows_when_the_server_may_have_accepted_it_and_every_attempt(app, world):
    item_id = world["support_item"]
    history = [
        {"attempt": 1, "started_at": "2026-12-04T18:03:50+00:00", "reached": "connecting",
         "reached_at": "2026-12-04T18:03:50+00:00", "ended_at": "2026-12-04T18:04:01+00:00", "outcome": "retry",
         "worker_vanished": True, "detail": ""},
        {"attempt": 2, "started_at": "2026-12-04T18:04:09+00:00", "reached": "final_dot",
         "reached_at": "2026-12-04T18:04:11+00:00", "ended_at": "2026-12-04T18:05:11+00:00",
         "outcome": "uncertain", "worker_vanished": True, "detail": ""},
    ]
    set_state(app, item_id, "uncertain", attempt_history=history, attempts=2,
              last_error="The sending process stopped after the final dot.")
    detail = page(client_for(app, "olga").get(f"{BASE}/{item_id}"))
    assert "the server may have accepted it at" in detail and "6:04:11" in detail
    assert "check with the recipient" in detail
    assert "sent again automatically" in detail  # the first attempt
    assert "final dot sent, no answer" in detail
    assert len(re.findall(r"<tr>\s*<td>\d+</td>", detail)) == 2  # one line per attempt
    confirm = page(client_for(app, "olga").get(f"{BASE}/{item_id}/send-again"))
    assert "the server may have accepted it at" in confirm and "6:04:11" in confirm
    set_state(app, item_id, "uncertain", uncertain_check_after=utcnow())
    detail = page(client_for(app, "olga").get(f"{BASE}/{item_id}"))
    assert "looking for it in the Sent folder" in detail


def test_what_is_known_of_an_uncertain_mail_in_german(app, world, make_user):
    make_user("greta", language="de")
    with app.app_context():
        access.grant(world["support"], "user", user_named("greta").id, "send")
        db.session.commit()
    item_id = world["support_item"]
    set_state(app, item_id, "uncertain", attempt_history=[
        {"attempt": 1, "started_at": "2026-12-04T18:04:09+00:00", "reached": "final_dot",
         "reached_at": "2026-12-04T18:04:11+00:00", "ended_at": "2026-12-04T18:05:11+00:00",
         "outcome": "uncertain", "worker_vanished": True, "detail": ""}])
    detail = page(client_for(app, "greta").get(f"{BASE}/{item_id}"))
    assert "Der Server hat sie möglicherweise um" in detail and "18:04:11" in detail
    assert "abschließender Punkt gesendet, keine Antwort" in detail


def test_an_uncertain_mail_still_being_looked_for_cannot_be_sent_again(app, world):
    item_id = world["support_item"]
    set_state(app, item_id, "uncertain", uncertain_check_after=utcnow())
    client = client_for(app, "olga")
    response = client.post(f"{BASE}/{item_id}/send-again", data={"confirm": "1"})
    assert response.status_code == 302 and state_of(app, item_id) == "uncertain"
    assert "still being searched" in page(client.get(f"{BASE}/{item_id}"))


def test_the_outbox_in_german(app, world, make_user):
    make_user("greta", language="de")
    with app.app_context():
        access.grant(world["support"], "user", user_named("greta").id, "send")
        db.session.commit()
    html = page(client_for(app, "greta").get(f"{BASE}/"))
    assert "Postausgang" in html and "Versand stoppen" in html and "Empfänger" in html


# -- live: a failed mail is sent again for real ------------------------------------------------


def test_a_failed_mail_sent_again_after_confirmation_arrives_once(app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    to, to_password = _fresh_account(mailstack, 1)
    to_imap = imap_client(1, to, to_password)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
    with FaultySmtp(mailstack.standard.smtp_port, email, password) as faulty:
        faulty.rcpt_5xx = True
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_username = faulty.port, "none", ""
            db.session.commit()
        item_id = queue(app, mailbox_id, "owner", subject="Rechnung 2026-0042", to=(to,))
        with app.app_context():
            outbox.run_once()
    assert state_of(app, item_id) == "failed"
    with app.app_context():  # the admin fixes the server settings
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_username = mailstack.standard.smtp_port, "starttls", email
        db.session.commit()

    owner = client_for(app, "owner")
    assert "550" in page(owner.get(f"{BASE}/?state=failed"))
    assert owner.post(f"{BASE}/{item_id}/send-again", data={}).status_code == 400
    with app.app_context():
        assert outbox.run_once() == 0  # not confirmed: nothing leaves
    assert owner.post(f"{BASE}/{item_id}/send-again", data={"confirm": "1"}).status_code == 302
    with app.app_context():
        assert outbox.run_once() == 1
        message_id = db.session.get(OutboxItem, item_id).message_id
    assert state_of(app, item_id) == "sent"

    def arrived():
        to_imap.select_folder("INBOX", readonly=True)
        return to_imap.search(["HEADER", "Message-ID", message_id])

    deadline = time.monotonic() + 10
    while not arrived() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(arrived()) == 1
    listing = page(owner.get(f"{BASE}/"))
    assert "sent at" in listing and "filed in" in listing
