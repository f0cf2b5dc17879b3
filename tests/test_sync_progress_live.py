"""Opening a mailbox that was never synced starts its first sync at once; the page shows the
progress and the status endpoint reports it until the cache is complete."""
import time

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox


def test_first_open_starts_the_sync_and_shows_progress(app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    app.config["TRICOMA_MAIL_SYNC_ON_FIRST_OPEN"] = True
    email, password = _fresh_account(mailstack, 1)
    imap_client(1, email, password).multiappend(
        "INBOX", [f"Subject: m{n}\r\nFrom: a@example.test\r\n\r\nbody {n}\r\n".encode() for n in range(600)])
    mailbox_id = make_mailbox(1, email, password)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
    client = app.test_client()
    client.post("/login", data={"username": "owner", "password": "correct horse battery"})
    page = client.get(f"/mail/m/{mailbox_id}/").get_data(as_text=True)
    assert "being synchronised" in page
    deadline = time.monotonic() + 30
    status = {}
    while time.monotonic() < deadline:
        status = client.get(f"/mail/m/{mailbox_id}/sync-status").get_json()
        if status["complete"] and not status["running"]:
            break
        time.sleep(0.2)
    assert status["complete"] and status["cached"] == 600 and status["on_server"] >= 600
    page = client.get(f"/mail/m/{mailbox_id}/").get_data(as_text=True)
    assert "being synchronised" not in page and "m599" in page
    stranger = app.test_client()
    assert stranger.get(f"/mail/m/{mailbox_id}/sync-status").status_code in (302, 401, 404)
