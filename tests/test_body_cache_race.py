"""Two requests fetch the same body at once (the reading pane's body while a reply or a forward
starts from the same message): the one that keeps it second gets the message, not an error."""
from __future__ import annotations

from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from app_fixtures import _fresh_account
from sqlalchemy import delete, func, insert, select

from hostapp.extensions import db
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin.cache import bodies
from tricoma_mail_plugin.models import CachedBody, CachedMessage

pytestmark = pytest.mark.live


def test_a_body_kept_meanwhile_by_another_request_is_no_error(app, make_mailbox, mailstack, imap_client,
                                                               monkeypatch):
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.test", address, "Gleichzeitig"
    message.set_content("Zweimal geholt.\n")
    imap_client(1, address, password).append("INBOX", message.as_bytes())
    real_backend_for = bodies.backend_for

    @contextmanager
    def racing_backend_for(mailbox):
        with real_backend_for(mailbox) as backend:
            real_fetch = backend.fetch_message

            def fetch_message(uid):
                raw = real_fetch(uid)
                with db.engine.begin() as other:  # the other request, on its own connection
                    other.execute(insert(CachedBody).values(message_pk=pk, mailbox_id=mailbox_id, raw=raw,
                                                            size=len(raw), used_at=func.now()))
                return raw

            backend.fetch_message = fetch_message
            yield backend

    monkeypatch.setattr(bodies, "backend_for", racing_backend_for)
    with app.app_context():
        mailbox = live_mailbox(mailbox_id)
        sync_mailbox_now(mailbox)
        pk = db.session.scalar(select(CachedMessage.id).where(CachedMessage.subject == "Gleichzeitig"))
        db.session.execute(delete(CachedBody).where(CachedBody.message_pk == pk))  # not prefetched
        db.session.commit()
        raw = bodies.raw_message(mailbox, pk)
        assert b"Zweimal geholt." in raw
        assert db.session.scalar(select(func.count()).select_from(CachedBody).where(CachedBody.message_pk == pk)) == 1
        assert bodies.raw_message(live_mailbox(mailbox_id), pk) == raw  # from the cache now
