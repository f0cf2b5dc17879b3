"""A worker that dies while sending (simulated: an exception nothing catches, like a kill, raised
at the moment under test): the item is retried automatically when the server cannot have
accepted the mail (before the final dot) and is *uncertain* only when it may have (between the
final dot and the reply). Where the provider files sent mail itself, the Sent folder decides."""
import smtplib
from datetime import timedelta

import pytest
import test_outbox_live
from sqlalchemy import select
from test_outbox_live import enqueue, item, messages_in, run_worker, wait_for

from hostapp.extensions import db
from tricoma_mail_plugin.errors import NotAllowed
from tricoma_mail_plugin.models import Mailbox, MailEvent, OutboxItem, utcnow
from tricoma_mail_plugin.sending import outbox

sender = test_outbox_live.sender  # the fixtures of the outbox's live tests
recipient = test_outbox_live.recipient

pytestmark = pytest.mark.live


class WorkerKilled(BaseException):
    """What a kill -9 looks like to the code under test: nothing after it runs."""


def crash(app, item_id):
    """The dead worker's lease runs out (time passes without it)."""
    with app.app_context():
        found = db.session.get(OutboxItem, item_id)
        assert found.state == "sending", "the simulated kill left the item leased"
        found.lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()


def events_of(app, item_id) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(select(MailEvent).order_by(MailEvent.id)).all()
        return [row.name for row in rows if row.payload.get("outbox_id") == item_id]


def run_killed(app):
    with pytest.raises(WorkerKilled):
        run_worker(app)


def kill_before_connecting(monkeypatch):
    def killed(item):
        raise WorkerKilled()

    monkeypatch.setattr(outbox, "_open_submission", killed)


def kill_during_auth(monkeypatch):
    def killed(self, user, password, **kwargs):
        raise WorkerKilled()

    monkeypatch.setattr(smtplib.SMTP, "login", killed)


def kill_before_data(monkeypatch):
    real = outbox.mark_stage

    def killed(item_id, worker_id, stage):
        real(item_id, worker_id, stage)
        if stage == outbox.STAGE_DATA:
            raise WorkerKilled()

    monkeypatch.setattr(outbox, "mark_stage", killed)


def kill_after_the_final_dot(monkeypatch):
    real = smtplib.SMTP.send

    def send(self, data):
        real(self, data)
        if data == b".\r\n":  # the server has the whole message; its reply is never read
            raise WorkerKilled()

    monkeypatch.setattr(smtplib.SMTP, "send", send)


@pytest.mark.parametrize("kill", [kill_before_connecting, kill_during_auth, kill_before_data],
                         ids=["before-connecting", "during-auth", "before-data"])
def test_a_worker_killed_before_the_final_dot_is_retried_and_delivers_once(app, sender, recipient, monkeypatch, kill):
    mailbox_id, sender_imap, _, _ = sender()
    to, to_imap = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))
    kill(monkeypatch)
    run_killed(app)
    monkeypatch.undo()
    crash(app, item_id)

    run_worker(app)  # the next worker

    done = item(app, item_id)
    assert done.state == "sent" and done.sent_copy == "done"
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)
    assert len(messages_in(sender_imap, "Sent")) == 1
    assert "uncertain" not in events_of(app, item_id)
    assert events_of(app, item_id) == ["sent"]
    first, second = done.attempt_history  # one line per attempt
    assert first["outcome"] == "retry" and first["worker_vanished"]
    assert first["reached"] == ("data" if kill is kill_before_data else "connecting")
    assert second["outcome"] == "sent" and not second["worker_vanished"]
    assert [first["attempt"], second["attempt"]] == [1, 2]


def test_a_worker_killed_after_the_final_dot_is_uncertain_and_never_resent(app, sender, recipient, monkeypatch):
    mailbox_id, sender_imap, _, _ = sender()
    to, to_imap = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))
    kill_after_the_final_dot(monkeypatch)
    run_killed(app)
    monkeypatch.undo()
    crash(app, item_id)

    run_worker(app)
    run_worker(app)

    left = item(app, item_id)
    assert left.state == "uncertain" and left.uncertain_check_after is None  # a person decides
    assert "may have accepted" in left.last_error
    assert events_of(app, item_id) == ["uncertain"]
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)
    assert messages_in(sender_imap, "Sent") == {}
    (line,) = left.attempt_history
    assert line["reached"] == "final_dot" and line["outcome"] == "uncertain" and line["reached_at"]


def provider_files_sent_mail(app, mailbox_id):
    with app.app_context():
        db.session.get(Mailbox, mailbox_id).provider_files_sent_mail = True
        db.session.commit()


def test_an_uncertain_mail_found_in_the_providers_sent_folder_is_sent_without_a_second_copy(
        app, sender, recipient, monkeypatch):
    mailbox_id, sender_imap, _, _ = sender()
    provider_files_sent_mail(app, mailbox_id)
    to, to_imap = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))
    kill_after_the_final_dot(monkeypatch)
    run_killed(app)
    monkeypatch.undo()
    sender_imap.append("Sent", item(app, item_id).raw, flags=[b"\\Seen"])  # what the provider does
    crash(app, item_id)

    run_worker(app)

    done = item(app, item_id)
    assert done.state == "sent" and done.sent_copy == "skipped"
    assert done.smtp_accepted_at is not None
    assert events_of(app, item_id) == ["sent"]  # no "uncertain" announced for it
    (line,) = done.attempt_history
    assert line["outcome"] == "uncertain" and line["resolved"] == "found_in_sent"
    run_worker(app)
    assert len(messages_in(sender_imap, "Sent")) == 1
    assert wait_for(lambda: len(messages_in(to_imap, "INBOX")) == 1)


def test_an_uncertain_mail_not_in_the_providers_sent_folder_waits_for_a_person_after_the_last_look(
        app, sender, recipient, monkeypatch):
    mailbox_id, sender_imap, _, _ = sender()
    provider_files_sent_mail(app, mailbox_id)
    to, _ = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))
    kill_after_the_final_dot(monkeypatch)
    run_killed(app)
    monkeypatch.undo()
    crash(app, item_id)

    for look in range(len(outbox.UNCERTAIN_CHECK_DELAYS)):
        run_worker(app)
        checking = item(app, item_id)
        assert checking.state == "uncertain" and checking.uncertain_checks == look + 1
        if checking.uncertain_check_after is not None:
            assert events_of(app, item_id) == []
            with app.app_context():  # time passes until the next look
                pytest.raises(NotAllowed, outbox.send_again, db.session.get(OutboxItem, item_id))
                db.session.get(OutboxItem, item_id).uncertain_check_after = utcnow()
                db.session.commit()
    assert item(app, item_id).uncertain_check_after is None
    assert events_of(app, item_id) == ["uncertain"]
    assert messages_in(sender_imap, "Sent") == {}


def test_a_worker_whose_lease_ran_out_stops_before_the_final_dot(app, sender, recipient, monkeypatch):
    """A slow worker (its lease ran out, another took the item) must never send the final dot."""
    mailbox_id, *_ = sender()
    to, to_imap = recipient()
    item_id = enqueue(app, mailbox_id, to=(to,))
    real = outbox.mark_stage

    def slow(item_id_, worker_id, stage):
        if stage == outbox.STAGE_DATA:
            with app.app_context():  # meanwhile the lease ran out and another worker took it over
                db.session.get(OutboxItem, item_id_).lease_until = utcnow() - timedelta(seconds=1)
                db.session.commit()
                outbox.expire_leases()
                assert outbox.claim_next("other-worker").id == item_id_
        real(item_id_, worker_id, stage)

    monkeypatch.setattr(outbox, "mark_stage", slow)
    run_worker(app)
    monkeypatch.undo()
    taken = item(app, item_id)
    assert taken.state == "sending" and taken.lease_owner == "other-worker"
    assert messages_in(to_imap, "INBOX") == {}
