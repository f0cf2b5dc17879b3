"""Scheduled background sync: every usable mailbox, one process at a time per mailbox."""
from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.cache.lease import release_sync_lease, take_sync_lease
from tricoma_mail_plugin.jobs.background import sync_due_mailboxes
from tricoma_mail_plugin.models import CachedMessage, Mailbox


def test_background_sync_syncs_tested_mailboxes_only_and_respects_the_lease(app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, 1)
    tested, untested = make_mailbox(1, email, password), make_mailbox()
    imap_client(1, email, password).append("INBOX", b"Subject: background\r\n\r\nhello\r\n")
    with app.app_context():
        service.run_test(db.session.get(Mailbox, tested))
        assert take_sync_lease(tested, 60)
        assert not take_sync_lease(tested, 60)  # a second process would skip it now
        assert sync_due_mailboxes() == 0
        release_sync_lease(tested)
        assert sync_due_mailboxes() == 1
        assert db.session.query(CachedMessage).count() == 1
        mailbox = db.session.get(Mailbox, tested)
        assert mailbox.last_sync_at is not None and mailbox.last_sync_error is None
        assert db.session.get(Mailbox, untested).last_sync_at is None


def test_cli_sync_refuses_while_another_process_syncs(app, make_mailbox):
    mailbox_id = make_mailbox()
    app.config["TRICOMA_MAIL_SYNC_WAIT_SECONDS"] = 0.5
    with app.app_context():
        assert take_sync_lease(mailbox_id, 60)
    result = app.test_cli_runner().invoke(args=["mail", "sync", str(mailbox_id)])
    assert result.exit_code != 0 and "another process" in result.output.lower()
