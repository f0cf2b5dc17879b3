"""Issue 5: the unified inbox and search never show a message of a mailbox the user may not
read, with two users and three mailboxes on the real stack, including right after a revoke."""
from email.message import EmailMessage

from sqlalchemy import select

from app_fixtures import login
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.models import Mailbox


def _mail(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = "team@example.test"
    message["Subject"] = subject
    message.set_content(f"Geheimwort {subject}\n")
    return message.as_bytes()


def test_two_users_three_mailboxes(app, make_mailbox, make_user, mailstack, imap_client):
    from app_fixtures import _fresh_account

    boxes = {}
    for name in ("Support", "Vertrieb", "Buchhaltung"):
        email, password = _fresh_account(mailstack, 1)
        mailbox_id = make_mailbox(1, email, password, title=name)
        imap_client(1, email, password).append("INBOX", _mail(f"{name}-Sache"))
        with app.app_context():
            refresh.run_sync(db.session.get(Mailbox, mailbox_id))
        boxes[name] = mailbox_id
    make_user("uwe")
    make_user("vera")
    with app.app_context():
        uwe = db.session.scalar(select(User).where(User.username == "uwe"))
        vera = db.session.scalar(select(User).where(User.username == "vera"))
        access.grant(boxes["Support"], "user", uwe.id, "read")
        access.grant(boxes["Vertrieb"], "user", uwe.id, "read")
        access.grant(boxes["Buchhaltung"], "user", vera.id, "read")
        access.grant(boxes["Vertrieb"], "user", vera.id, "manage")  # manage alone does not read mail
        uwe_id, vera_id = uwe.id, vera.id

    def seen_by(username: str) -> dict[str, bool]:
        client = app.test_client()
        login(client, username)
        unified = client.get("/mail/unified").get_data(as_text=True)
        result = {}
        for name, mailbox_id in boxes.items():
            search = client.get(f"/mail/m/{mailbox_id}/search", query_string={"q": "Geheimwort"})
            in_unified = f"{name}-Sache" in unified
            in_search = f"{name}-Sache" in search.get_data(as_text=True)
            assert in_unified == in_search, (username, name)  # search and the inbox agree
            result[name] = in_unified
            if not in_unified:
                assert search.status_code in (403, 404)
        return result

    assert seen_by("uwe") == {"Support": True, "Vertrieb": True, "Buchhaltung": False}
    assert seen_by("vera") == {"Support": False, "Vertrieb": False, "Buchhaltung": True}

    with app.app_context():  # revoked: gone at the very next request
        access.revoke(boxes["Vertrieb"], "user", uwe_id, "read", actor="test")
    assert seen_by("uwe") == {"Support": True, "Vertrieb": False, "Buchhaltung": False}
    assert vera_id
