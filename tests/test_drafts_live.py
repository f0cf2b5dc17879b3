"""Drafts in the mapped Drafts folder of both profiles; saving again replaces the old copy."""
import pytest

from hostapp.extensions import db
from tricoma_mail_plugin import NotAllowed
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.mime.build import OutgoingMessage
from tricoma_mail_plugin.mail.drafts import save_draft
from tricoma_mail_plugin.models import Mailbox


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
            folder2, second = save_draft(mailbox, backend, owner,
                                         OutgoingMessage(to=("kunde@example.test",), bcc=("chef@example.test",),
                                                         subject="Angebot", text="Entwurf 2"), replaces_uid=first)
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
