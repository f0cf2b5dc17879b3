"""``flask mail test | folders | sync | rotate-keys`` against the real local stack."""
from cryptography.fernet import Fernet

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox


def test_mail_test_exits_zero_only_when_every_step_passed(app, make_mailbox):
    good = make_mailbox()
    result = app.test_cli_runner().invoke(args=["mail", "test", str(good)])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and "imap" in result.output and "smtp" in result.output
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, good), {"imap_password": "wrong"})
    result = app.test_cli_runner().invoke(args=["mail", "test", str(good)])
    assert result.exit_code == 1
    assert "wrong_password" in result.output


def test_mail_folders_prints_each_role(app, make_mailbox):
    result = app.test_cli_runner().invoke(args=["mail", "folders", str(make_mailbox(2))])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines())
    assert lines["sent"].startswith("INBOX.Sent Mails")
    assert lines["trash"].startswith("INBOX.Papierkorb")
    assert lines["drafts"].startswith("INBOX.Entwürfe")
    assert lines["junk"].startswith("INBOX.Spam")
    assert "created on first use" in lines["archive"]


def test_mail_sync(app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    imap_client(1, email, password).append("INBOX", b"Subject: hi\r\nFrom: a@example.test\r\n\r\nbody\r\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "sync", str(mailbox_id)])
    assert result.exit_code == 0, result.output
    assert "INBOX" in result.output and "1 new" in result.output
    again = runner.invoke(args=["mail", "sync", str(mailbox_id), "--folder", "INBOX"])
    assert "unchanged" in again.output
    assert runner.invoke(args=["mail", "sync", "999999"]).exit_code != 0


def test_rotate_keys(app, make_mailbox):
    old_key = Fernet.generate_key()
    new_key = Fernet.generate_key()
    app.config["TRICOMA_MAIL_SECRET_KEYS"] = [old_key]
    mailbox_id = make_mailbox()
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, mailbox_id), {"smtp_password": "pw-1"})
    app.config["TRICOMA_MAIL_SECRET_KEYS"] = [new_key, old_key]
    result = app.test_cli_runner().invoke(args=["mail", "rotate-keys"])
    assert result.exit_code == 0 and "re-encrypted" in result.output
    app.config["TRICOMA_MAIL_SECRET_KEYS"] = [new_key]
    with app.app_context():
        assert service.read_secrets(db.session.get(Mailbox, mailbox_id))["smtp_password"] == "pw-1"
