"""Exactly-once sending does not rest on the queue: the same outbox job delivered twice at the
same moment (as a queue may do after a worker's connection dropped), and once more late, sends
each mail once and files one Sent copy. The ledger's claim is left out on purpose: the task
itself runs three times, and the outbox's leases alone keep each mail to one delivery."""
import threading

import pytest
import test_outbox_live
from test_outbox_live import enqueue, item, messages_in, wait_for

from hostapp.extensions import db
from tricoma_mail_plugin.jobs import tasks
from tricoma_mail_plugin.models import CachedFolder, CachedMessage

sender = test_outbox_live.sender  # the fixtures of the outbox's live tests
recipient = test_outbox_live.recipient

pytestmark = pytest.mark.live


def test_the_same_outbox_job_delivered_twice_at_once_and_once_late_sends_each_mail_once(app, sender, recipient):
    mailbox_id, sender_imap, _, _ = sender()
    targets = [recipient() for _ in range(4)]
    item_ids = [enqueue(app, mailbox_id, to=(to,), subject=f"Einmal {n}") for n, (to, _imap) in enumerate(targets)]
    barrier = threading.Barrier(2)
    outcomes = []

    def deliver(number: int) -> None:
        with app.app_context():
            barrier.wait(10)
            outcomes.append(tasks.outbox_task(worker=f"test-host:{number}:1"))

    twins = [threading.Thread(target=deliver, args=(n,)) for n in (1, 2)]
    for thread in twins:
        thread.start()
    for thread in twins:
        thread.join(60)
    with app.app_context():
        outcomes.append(tasks.outbox_task(worker="test-host:3:1"))  # the late duplicate

    assert len(outcomes) == 3
    for item_id in item_ids:
        done = item(app, item_id)
        assert done.state == "sent" and done.sent_copy == "done" and done.attempts == 1
    for _to, inbox in targets:
        assert wait_for(lambda inbox=inbox: len(messages_in(inbox, "INBOX")) == 1)
        assert len(messages_in(inbox, "INBOX")) == 1
    assert len(messages_in(sender_imap, "Sent")) == len(item_ids)
    with app.app_context():  # the Sent folder's list shows them at once, not after the next periodic sync
        subjects = db.session.scalars(
            db.select(CachedMessage.subject).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "Sent"))
        assert sorted(subjects) == [f"Einmal {n}" for n in range(4)]


def test_where_the_provider_files_sent_mail_its_sent_folder_is_synced_after_sending(app, sender, recipient):
    """Gmail and Exchange file the copy themselves: no copy of ours, and still a Sent list that
    shows the mail at once."""
    from email.message import EmailMessage

    from tricoma_mail_plugin.cache.refresh import run_sync
    from tricoma_mail_plugin.models import Mailbox

    mailbox_id, sender_imap, _, _ = sender()
    to, _inbox = recipient()
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.provider_files_sent_mail = True
        db.session.commit()
        run_sync(mailbox)  # the folders are known
    enqueue(app, mailbox_id, to=(to,), subject="Vom Anbieter abgelegt")
    filed = EmailMessage()  # what the provider files when it accepts the mail
    filed["From"], filed["To"], filed["Subject"] = "sender@example.test", to, "Vom Anbieter abgelegt"
    filed.set_content("x")
    sender_imap.append("Sent", filed.as_bytes(), flags=[b"\\Seen"])
    with app.app_context():
        tasks.outbox_task(worker="test-host:9:1")
        subjects = list(db.session.scalars(
            db.select(CachedMessage.subject).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "Sent")))
    assert subjects == ["Vom Anbieter abgelegt"]
