"""Drafts in the mapped Drafts folder of both profiles; saving again replaces the old copy."""
import pytest

from hostapp.extensions import db
from tricoma_mail_plugin import NotAllowed
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.mime.build import OutgoingMessage
from tricoma_mail_plugin.mail.draft_discard import discard_draft
from tricoma_mail_plugin.mail.drafts import save_draft
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox


def cached_drafts(mailbox_id: int, folder: str) -> list[tuple[int, str]]:
    """(UID, subject) of what the cache holds in ``folder``: what the folder's list shows."""
    return [(row.uid, row.subject) for row in db.session.scalars(
        db.select(CachedMessage).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
        .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == folder).order_by(CachedMessage.uid))]


@pytest.mark.parametrize("profile", [1, 2], ids=["standard", "hoster"])
def test_saving_a_draft_twice_leaves_one_copy(app, make_mailbox, mailstack, imap_client, make_user, profile):
    from app_fixtures import _fresh_account
    from hostapp.models import User

    email, password = _fresh_account(mailstack, profile)
    mailbox_id = make_mailbox(profile, email, password)
    with app.app_context():
        owner = db.session.query(User).filter_by(username="owner").one()
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            folder, first = save_draft(mailbox, backend, owner, OutgoingMessage(subject="Angebot", text="Entwurf 1"))
            assert cached_drafts(mailbox_id, folder) == [(first, "Angebot")]  # listed at once, no sync waited for
            folder2, second = save_draft(mailbox, backend, owner,
                                         OutgoingMessage(to=("kunde@example.test",), bcc=("chef@example.test",),
                                                         subject="Angebot 2", text="Entwurf 2"), replaces_uid=first)
            assert cached_drafts(mailbox_id, folder) == [(second, "Angebot 2")]  # the old copy gone from the list too
            _third_folder, third = save_draft(mailbox, backend, owner, OutgoingMessage(subject="Weg damit", text="x"))
            assert discard_draft(mailbox, backend, owner, third)  # as after sending it
            assert cached_drafts(mailbox_id, folder) == [(second, "Angebot 2")]
    assert folder == folder2 == mailstack.profile(profile).drafts_folder
    client = imap_client(profile, email, password)
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    assert uids == [second]
    data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])[second]
    assert b"Entwurf 2" in data[b"BODY[]"] and b"\\Draft" in data[b"FLAGS"]


def test_a_user_without_send_cannot_save_drafts(app, make_mailbox, make_user):
    mailbox_id = make_mailbox()
    reader_id = make_user("reader").id
    with app.app_context():
        from hostapp.models import User

        reader = db.session.get(User, reader_id)
        access.grant(mailbox_id, "user", reader_id, "read")
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            with pytest.raises(NotAllowed):
                save_draft(mailbox, backend, reader, OutgoingMessage(subject="x", text="y"))


def test_a_draft_is_saved_even_when_its_folder_cannot_be_synced_after(app, make_mailbox, mailstack, imap_client,
                                                                       make_user, monkeypatch):
    """The form must learn the new copy's UID, or its next save adds a second copy."""
    from app_fixtures import _fresh_account
    from hostapp.models import User
    from tricoma_mail_plugin.cache import sync
    from tricoma_mail_plugin.errors import MailError

    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)

    def broken(*args, **kwargs):
        raise MailError("the connection dropped")

    monkeypatch.setattr(sync, "sync_folder", broken)
    with app.app_context():
        owner = db.session.query(User).filter_by(username="owner").one()
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            folder, uid = save_draft(mailbox, backend, owner, OutgoingMessage(subject="Trotzdem", text="x"))
    assert uid is not None
    client = imap_client(1, email, password)
    client.select_folder(folder, readonly=True)
    assert client.search(["ALL"]) == [uid]
