"""The whole life of a message in an external mailbox, against the real Dovecot of both profiles:
create → configure → Test → sync → list → read → flag → move → delete (lands in Trash) → empty
Trash; a missing Trash is created on the first delete; an interrupted move is finished at
restart and the message exists exactly once."""
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.cache import bodies
from tricoma_mail_plugin.cache import intents
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.mailboxes.server_folders import folder_for_role
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, MailIntent, Mailbox


def mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = "owner@example.test"
    message["Subject"] = f"Anfrage {number}"
    message["Message-ID"] = f"<flow-{number}@example.test>"
    message.set_content(f"Hallo, Anfrage Nummer {number}.\n")
    return message.as_bytes()


@pytest.fixture(params=[1, 2], ids=["standard", "hoster"])
def account(request, app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, request.param)
    mailbox_id = make_mailbox(request.param, email, password)
    return mailbox_id, imap_client(request.param, email, password), mailstack.profile(request.param)


def rows(folder_name, mailbox_id):
    return list(db.session.scalars(select(CachedMessage).join(CachedFolder).where(
        CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == folder_name).order_by(CachedMessage.uid)))


def test_full_flow(app, account):
    mailbox_id, other, profile = account
    for number in range(3):
        other.append("INBOX", mail(number))
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert all(step.ok for step in service.run_test(mailbox))
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend)
            inbox = rows("INBOX", mailbox_id)
            assert [m.subject for m in inbox] == ["Anfrage 0", "Anfrage 1", "Anfrage 2"]

            raw = bodies.raw_message(mailbox, inbox[0].id, backend)
            assert b"Anfrage Nummer 0" in raw
            intents.set_flags(mailbox, backend, "INBOX", [inbox[0].uid], add=["\\Seen", "\\Flagged"])
            intents.set_flags(mailbox, backend, "INBOX", [inbox[1].uid], add=["$Important"])

            work = profile.prefix + "Kunden"
            backend.create_folder(work)
            intents.move(mailbox, backend, "INBOX", [inbox[1].uid], work)
            trash, _ = intents.delete(mailbox, backend, "INBOX", [inbox[2].uid])
            assert trash == profile.trash_folder
            with pytest.raises(Exception):
                intents.delete_permanently(mailbox, backend, "INBOX", [inbox[0].uid])

    other.select_folder("INBOX", readonly=True)
    assert len(other.search(["ALL"])) == 1
    flags = list(other.fetch(other.search(["ALL"]), ["FLAGS"]).values())[0][b"FLAGS"]
    assert b"\\Flagged" in flags and b"\\Seen" in flags
    other.select_folder(work, readonly=True)
    moved = list(other.fetch(other.search(["ALL"]), ["FLAGS"]).values())
    assert len(moved) == 1 and b"$Important" in moved[0][b"FLAGS"]
    other.select_folder(profile.trash_folder, readonly=True)
    assert len(other.search(["ALL"])) == 1

    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert [m.subject for m in rows(profile.trash_folder, mailbox_id)] == ["Anfrage 2"]
        with service.backend_for(mailbox) as backend:
            assert intents.empty_trash(mailbox, backend) == 1
        assert rows(profile.trash_folder, mailbox_id) == []
    other.select_folder(profile.trash_folder, readonly=True)
    assert other.search(["ALL"]) == []
    other.select_folder("INBOX", readonly=True)
    assert len(other.search(["ALL"])) == 1  # empty Trash touched nothing else


def test_missing_trash_is_created_on_the_first_delete(app, account):
    """The stack's Dovecot recreates its own Trash automatically, so the server is shown to us
    without it (as a provider without a Trash folder would list it); the folder we create and
    the message moved into it are real."""
    mailbox_id, other, profile = account
    other.append("INBOX", mail(1))
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            listed = backend.list_folders
            backend.list_folders = lambda with_counts=False: [
                f for f in listed(with_counts) if f.name != profile.trash_folder]
            sync.sync_mailbox(mailbox, backend)
            uid = rows("INBOX", mailbox_id)[0].uid
            trash, _ = intents.delete(mailbox, backend, "INBOX", [uid])
    assert trash == profile.prefix + "Trash"
    other.select_folder(trash, readonly=True)
    assert len(other.search(["ALL"])) == 1
    other.select_folder("INBOX", readonly=True)
    assert other.search(["ALL"]) == []


def test_admin_mapping_overrides_detection(app, account):
    mailbox_id, other, profile = account
    special = profile.prefix + "Ablage"
    other.create_folder(special)
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            assert folder_for_role(mailbox, backend, "sent") == profile.sent_folder
            assert folder_for_role(mailbox, backend, "trash") == profile.trash_folder
            mailbox.folder_roles = {"sent": special}
            db.session.commit()
            assert folder_for_role(mailbox, backend, "sent") == special


def interrupted_move(app, account, number: int, target: str) -> None:
    """Message ``number`` in INBOX, synced, and its move to ``target`` (made here) stopped
    between copy and expunge: a server without MOVE copies, then flags and expunges, and the
    process dies after the copy. The intent is left pending."""
    mailbox_id, other, _profile = account
    other.append("INBOX", mail(number))
    other.create_folder(target)
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend)
            uid = rows("INBOX", mailbox_id)[0].uid
            backend._capabilities = backend._capabilities - {"MOVE"}

            def die(uids):
                raise KeyboardInterrupt("killed between copy and expunge")

            backend.expunge = die
            with pytest.raises(KeyboardInterrupt):
                intents.move(mailbox, backend, "INBOX", [uid], target)
        assert db.session.scalar(select(MailIntent.state)) == "pending"


def test_a_move_interrupted_between_copy_and_expunge_is_finished_at_restart(app, account):
    mailbox_id, other, profile = account
    archive = profile.prefix + "Archiv2026"
    interrupted_move(app, account, 9, archive)

    other.select_folder(archive, readonly=True)
    assert len(other.search(["ALL"])) == 1
    other.select_folder("INBOX", readonly=True)
    assert len(other.search(["NOT", "DELETED"])) == 1  # the message is in both places now

    with app.app_context():  # "restart"
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            assert intents.recover_intents(mailbox, backend) == 1
        assert db.session.scalar(select(MailIntent.state)) == "done"
    other.select_folder("INBOX", readonly=True)
    assert other.search(["ALL"]) == []
    other.select_folder(archive, readonly=True)
    assert len(other.search(["ALL"])) == 1


def test_a_move_to_a_folder_deleted_meanwhile_is_refused_and_later_syncs_go_on(app, account):
    """Another mail program deletes the target after the list was shown: the move is refused,
    the message stays, and the refused move is no pending intent that every later sync replays
    (and fails on)."""
    from tricoma_mail_plugin.cache.refresh import run_sync
    from tricoma_mail_plugin.errors import FolderNotFound

    mailbox_id, other, profile = account
    other.append("INBOX", mail(11))
    projects = profile.prefix + "Projekte"
    other.create_folder(projects)
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend)
            uid = rows("INBOX", mailbox_id)[0].uid
            other.delete_folder(projects)
            with pytest.raises(FolderNotFound):
                intents.move(mailbox, backend, "INBOX", [uid], projects)
        assert db.session.scalar(select(MailIntent.state)) == "undone"
        run_sync(mailbox)  # no error: nothing pending to replay
        assert db.session.get(Mailbox, mailbox_id).last_sync_error is None
        assert [row.subject for row in rows("INBOX", mailbox_id)] == ["Anfrage 11"]


def test_a_pending_move_whose_target_is_gone_is_undone_at_restart(app, account):
    mailbox_id, other, profile = account
    archive = profile.prefix + "Archiv2027"
    interrupted_move(app, account, 12, archive)
    other.delete_folder(archive)  # with the copy in it, before the process came back

    with app.app_context():  # "restart": the sync undoes the move instead of failing on it
        from tricoma_mail_plugin.cache.refresh import run_sync

        mailbox = db.session.get(Mailbox, mailbox_id)
        run_sync(mailbox)
        assert db.session.scalar(select(MailIntent.state)) == "undone"
        assert db.session.get(Mailbox, mailbox_id).last_sync_error is None
        assert [row.subject for row in rows("INBOX", mailbox_id)] == ["Anfrage 12"]
    other.select_folder("INBOX", readonly=True)
    assert len(other.search(["NOT", "DELETED"])) == 1  # the message stayed where it was
