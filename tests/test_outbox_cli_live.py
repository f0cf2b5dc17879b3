"""``flask mail send | outbox | worker --once`` against the real local stack."""
import time

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox


def test_send_then_worker_delivers_with_attachment(app, make_mailbox, mailstack, imap_client, tmp_path):
    from app_fixtures import _fresh_account

    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    mailbox_id = make_mailbox()
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
    to, password = _fresh_account(mailstack, 1)
    body = tmp_path / "body.txt"
    body.write_text("Hallo aus der Kommandozeile\n", encoding="utf-8")
    attachment = tmp_path / "Preisliste März.pdf"
    attachment.write_bytes(b"%PDF-1.4 test\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "send", str(mailbox_id), "--to", to, "--subject", "CLI",
                                 "--body-file", str(body), "--attach", str(attachment)])
    assert result.exit_code == 0, result.output
    item_id = int(result.output.strip())
    listed = runner.invoke(args=["mail", "outbox", "--state", "queued"])
    assert str(item_id) in listed.output and "queued" in listed.output
    assert "sent or settled 1" in runner.invoke(args=["mail", "worker", "--once"]).output
    assert str(item_id) in runner.invoke(args=["mail", "outbox", "--state", "sent"]).output
    inbox = imap_client(1, to, password)
    for _ in range(50):
        inbox.select_folder("INBOX", readonly=True)
        if inbox.search(["ALL"]):
            break
        time.sleep(0.1)
    raw = list(inbox.fetch(inbox.search(["ALL"]), ["BODY.PEEK[]"]).values())[0][b"BODY[]"]
    assert b"filename*=utf-8''Preisliste%20M%C3%A4rz.pdf" in raw or b"Preisliste" in raw


def test_send_refuses_an_untested_mailbox_and_bad_addresses(app, make_mailbox, tmp_path):
    mailbox_id = make_mailbox()
    body = tmp_path / "body.txt"
    body.write_text("x")
    runner = app.test_cli_runner()
    untested = runner.invoke(args=["mail", "send", str(mailbox_id), "--to", "a@example.test",
                                   "--subject", "s", "--body-file", str(body)])
    assert untested.exit_code != 0 and "connection test" in untested.output
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
    bad = runner.invoke(args=["mail", "send", str(mailbox_id), "--to", "nobody", "--subject", "s",
                              "--body-file", str(body)])
    assert bad.exit_code != 0 and "nobody" in bad.output
