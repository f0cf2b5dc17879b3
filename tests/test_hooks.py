"""One test per hook: the hook is called with its arguments and its results are merged as the
hook's docs say. ``tests/test_docs.py`` checks that every hook has a test here."""
from datetime import datetime, timezone
from email.message import EmailMessage
from types import SimpleNamespace

import pytest

import sample_plugin
from hostapp.extensions import db
from tricoma_mail_plugin import (
    ComposeContext,
    Event,
    Folder,
    MailboxInfo,
    Reference,
    SendVetoed,
    SentMail,
    available_rights,
    compose_context,
    describe_reference,
    menu_items,
    resolve_folder,
    settings_panels,
)
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.events.outbox import deliver_pending, record_event
from tricoma_mail_plugin.events.values import outbox_payload, received_payload
from tricoma_mail_plugin.mailboxes.backend import MessageSummary, RecipientResult
from tricoma_mail_plugin.models import Mailbox as MailboxRow


@pytest.fixture(autouse=True)
def _clear_calls():
    sample_plugin.calls.clear()


def Mailbox(mapping=None) -> MailboxInfo:
    return MailboxInfo(1, "Shop", "shop@example.test", "imap", folder_roles=dict(mapping or {}))


STANDARD_FOLDERS = [
    Folder("INBOX"),
    Folder("Sent", "/", ("\\HasNoChildren", "\\Sent"), "\\Sent"),
    Folder("Trash", "/", ("\\Trash",), "\\Trash"),
    Folder("Drafts", "/", ("\\Drafts",), "\\Drafts"),
    Folder("Gesendet", "/"),
    Folder("Sample Archive", "/"),
]
HOSTER_FOLDERS = [
    Folder("INBOX", "."),
    Folder("INBOX.Sent Mails", "."),
    Folder("INBOX.Papierkorb", "."),
    Folder("INBOX.Entwürfe", "."),
    Folder("INBOX.Spam", "."),
    Folder("INBOX.Kunden.Gesendet", "."),
]


def test_hook_register_backends(app):
    with app.app_context():
        backends = mail_state().hooks.collect("register_backends")
    assert sample_plugin.SampleBackend in backends


def test_hook_resolve_folder(app):
    with app.app_context():
        # SPECIAL-USE wins over a folder that merely has a well-known name.
        assert resolve_folder(Mailbox(), "sent", STANDARD_FOLDERS) == "Sent"
        assert resolve_folder(Mailbox(), "trash", STANDARD_FOLDERS) == "Trash"
        # No SPECIAL-USE: names below the INBOX. namespace, in German too; top level first.
        assert resolve_folder(Mailbox(), "sent", HOSTER_FOLDERS) == "INBOX.Sent Mails"
        assert resolve_folder(Mailbox(), "trash", HOSTER_FOLDERS) == "INBOX.Papierkorb"
        assert resolve_folder(Mailbox(), "drafts", HOSTER_FOLDERS) == "INBOX.Entwürfe"
        assert resolve_folder(Mailbox(), "junk", HOSTER_FOLDERS) == "INBOX.Spam"
        # The admin's mapping always wins; a mapping to a folder that is gone is ignored.
        assert resolve_folder(Mailbox({"sent": "Gesendet"}), "sent", STANDARD_FOLDERS) == "Gesendet"
        assert resolve_folder(Mailbox({"sent": "Gone"}), "sent", STANDARD_FOLDERS) == "Sent"
        # Nothing found: None, so the caller creates the folder.
        assert resolve_folder(Mailbox(), "junk", STANDARD_FOLDERS) is None
        # An installed plugin is asked before core's rules.
        assert resolve_folder(Mailbox(), "archive", STANDARD_FOLDERS) == "Sample Archive"
        with pytest.raises(ValueError):
            resolve_folder(Mailbox(), "outbox", STANDARD_FOLDERS)
        # A database row given to resolve_folder reaches the plugins as a frozen MailboxInfo.
        row = MailboxRow(title="Row", email="row@example.test")
        db.session.add(row)
        db.session.flush()
        assert resolve_folder(row, "archive", STANDARD_FOLDERS) == "Sample Archive"
    asked = [args for name, args in sample_plugin.calls if name == "resolve_folder"]
    assert {"role": "sent", "mailbox": Mailbox()} in asked
    assert asked[-1]["mailbox"] == MailboxInfo(row.id, "Row", "row@example.test", "imap")


def test_hook_register_reference_types(app):
    with app.app_context():
        description = describe_reference(Reference.parse("sample:42"))
        assert description.title == "Sample 42" and description.url == "/sample/42"
        assert describe_reference(Reference.parse("sample:404")) is None
        assert describe_reference(Reference.parse("unknown:1")) is None
    with pytest.raises(ValueError):
        Reference.parse("sample:1; DROP TABLE")


def test_hook_compose_context(app, make_user):
    user = make_user("ulla")
    with app.app_context():
        context = compose_context(Reference("sample", "7"), user)
        assert context.to == ("customer-7@example.test",) and context.subject == "Sample 7"
        assert [a.filename for a in context.attachments] == ["sample-7.txt"]
        assert compose_context(Reference("invoice", "7"), user) == ComposeContext()


def test_hook_before_send(app, make_user):
    user = make_user("ulla")
    message = EmailMessage()
    message["Subject"] = "Hello"
    with app.app_context():
        hooks = mail_state().hooks
        hooks.call("before_send", message=message, mailbox=None, user=user, reference=None)
        assert message["X-Sample"] == "seen"
        vetoed = EmailMessage()
        vetoed["Subject"] = "veto me"
        with pytest.raises(SendVetoed, match="refuses"):
            hooks.call("before_send", message=vetoed, mailbox=None, user=user, reference=None)


ACCEPTED = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)


def _sent_item(**changes):
    values = dict(id=5, state="sent", message_id="<m5@shop.test>", sender="shop@example.test",
                  recipients=["kunde@example.test"], subject="Rechnung 1", reference="sample:1", attempts=1,
                  last_error=None, smtp_accepted_at=ACCEPTED,
                  recipient_results=[{"address": "kunde@example.test", "accepted": True, "code": 250,
                                      "message": "OK"}])
    values.update(changes)
    return SimpleNamespace(**values)


def test_hook_message_sent(app):
    """Delivered from a stored ``sent`` event, with a :class:`SentMail` as ``outbox_item``."""
    with app.app_context():
        record_event("sent", None, outbox_payload(_sent_item()))
        db.session.commit()
        assert deliver_pending() == 1
    [(_name, args)] = [call for call in sample_plugin.calls if call[0] == "message_sent"]
    sent = args["outbox_item"]
    assert args["reference"] == Reference("sample", "1") == sent.reference
    assert sent == SentMail(5, None, "<m5@shop.test>", "shop@example.test", ("kunde@example.test",),
                            "Rechnung 1", Reference("sample", "1"), ACCEPTED,
                            (RecipientResult("kunde@example.test", True, 250, "OK"),))


def test_hook_message_received(app):
    """Delivered from a stored ``received`` event, with the mailbox as a :class:`MailboxInfo`
    and the summary as it was synced."""
    summary = MessageSummary(7, ("\\Seen",), 1234, ACCEPTED, "kunde@example.test", "shop@example.test", "",
                             "AW: Rechnung 1", ACCEPTED, "<r7@example.test>", "<m5@shop.test>",
                             "<m5@shop.test>", False, "Danke", 42)
    with app.app_context():
        mailbox = MailboxRow(title="Shop", email="shop@example.test", folder_roles={"sent": "Gesendet"})
        db.session.add(mailbox)
        db.session.flush()
        record_event("received", mailbox.id, received_payload("INBOX", summary))
        db.session.commit()
        deliver_pending()
        expected = MailboxInfo.of(mailbox)
    [(_name, args)] = [call for call in sample_plugin.calls if call[0] == "message_received"]
    assert args == {"mailbox": expected, "folder": "INBOX", "summary": summary}
    assert args["mailbox"].folder_roles == {"sent": "Gesendet"} and args["mailbox"].kind == "imap"


def test_hook_messages_received(app):
    """A ``received`` event delivered on its own (a pending one, left by a stopped process)
    reaches the batch hook as a batch of one, besides the per-message hook."""
    summary = MessageSummary(8, (), 99, ACCEPTED, "kunde@example.test", "shop@example.test", "",
                             "Anfrage", ACCEPTED, "<r8@example.test>", "", "", False, "", 43)
    with app.app_context():
        mailbox = MailboxRow(title="Shop", email="shop@example.test")
        db.session.add(mailbox)
        db.session.flush()
        record_event("received", mailbox.id, received_payload("Eingang", summary))
        db.session.commit()
        assert deliver_pending() == 1
        expected = MailboxInfo.of(mailbox)
    [(_name, args)] = [call for call in sample_plugin.calls if call[0] == "messages_received"]
    assert args == {"mailbox": expected, "folder": "Eingang", "summaries": (summary,)}
    assert [call[1]["summary"] for call in sample_plugin.calls if call[0] == "message_received"] == [summary]


def test_hook_event(app):
    """Every event reaches ``event`` once, as a frozen :class:`Event` with plain values."""
    with app.app_context():
        record_event("moved", 3, {"folder": "INBOX", "target": "Archiv", "uids": [4, 5],
                                  "message_ids": ["<a@x>", "<b@x>"]})
        db.session.commit()
        assert deliver_pending() == 1
        assert deliver_pending() == 0  # delivered events are not delivered again
    [(_name, args)] = [call for call in sample_plugin.calls if call[0] == "event"]
    event = args["event"]
    assert isinstance(event, Event) and event.name == "moved" and event.mailbox_id == 3
    assert event.payload == {"folder": "INBOX", "target": "Archiv", "uids": (4, 5),
                             "message_ids": ("<a@x>", "<b@x>")}
    assert event.created_at.tzinfo is not None
    with pytest.raises(TypeError):
        event.payload["folder"] = "changed"  # the payload is read-only


def test_hook_register_rights(app):
    with app.app_context():
        keys = [right.key for right in available_rights()]
    assert {"read", "write", "delete", "send", "send_from_apps", "manage", "sample_approve"} <= set(keys)


def test_hook_menu_items(app, make_user):
    admin, user = make_user("root", admin=True), make_user("ulla")
    with app.test_request_context("/"):  # as in a request: the signed-in user is in the session
        admin_labels = [item.label for item in menu_items(db.session.get(type(admin), admin.id))]
        user_labels = [item.label for item in menu_items(db.session.get(type(user), user.id))]
    assert "Sample app" in admin_labels and "Plugins" in admin_labels
    assert "Sample app" in user_labels and "Plugins" not in user_labels


def test_hook_mailbox_client(app, make_user):
    """The first plugin's answer names the client a mailbox opens in; a mailbox no plugin
    claims opens in core's v1 page. The navigation links each mailbox to its answer."""
    from tricoma_mail_plugin import mailbox_client_url
    from tricoma_mail_plugin.rights import access

    owner = make_user("olga")
    with app.app_context():
        claimed = MailboxRow(title="Sample client box", kind="imap")
        plain = MailboxRow(title="Plain box", kind="imap")
        db.session.add_all([claimed, plain])
        db.session.commit()
        for box in (claimed, plain):
            access.grant(box.id, "user", owner.id, "read")
        claimed_id, plain_id = claimed.id, plain.id
    with app.test_request_context("/"):
        assert mailbox_client_url(db.session.get(MailboxRow, claimed_id)) == f"/sample/client/{claimed_id}"
        assert mailbox_client_url(db.session.get(MailboxRow, plain_id)) == f"/mail/m/{plain_id}/"
        asked = [args["mailbox"] for name, args in sample_plugin.calls if name == "mailbox_client"]
        assert all(isinstance(info, MailboxInfo) for info in asked)
        links = {item.label: item.url for item in menu_items(db.session.get(type(owner), owner.id))}
    assert links["Sample client box"] == f"/sample/client/{claimed_id}"
    assert links["Plain box"] == f"/mail/m/{plain_id}/"


def test_hook_settings_panels(app, make_user, admin_client):
    admin = make_user("ada", admin=True)
    with app.test_request_context("/"):
        titles = [panel.title for panel in settings_panels(admin)]
    assert titles == ["Sample settings", "Mailboxes", "tricoma Mail", "Reply templates", "System mail", "Mail servers",
                      "Sign-in providers", "Plugins"]
    page = admin_client.get("/mail/settings/").get_data(as_text=True)
    assert "Sample settings" in page and "Plugins" in page


def test_hook_register_blueprints(app, admin_client):
    assert mail_state(app).blueprint_owners["sample_plugin"] == "sample_plugin"
    assert admin_client.get("/sample/").get_data(as_text=True) == "sample page"


def test_hook_register_jobs(app):
    """A plugin's job starts through core's ledger, runs in a thread of the web process (no
    broker here) and its outcome is recorded; a name no enabled plugin knows is refused."""
    import time

    from tricoma_mail_plugin import job_status, start_job
    from tricoma_mail_plugin.jobs.tasks import find_task

    with app.app_context():
        assert find_task("sample_job").function is sample_plugin.sample_job
        with pytest.raises(KeyError):
            find_task("no_such_job")
        assert start_job(app, "sample:1", "sample_job", ("hello",))
        assert not start_job(app, "sample:1", "sample_job", ("again",))  # one job per key
        deadline = time.monotonic() + 5
        while (job_status("sample:1").state != "done") and time.monotonic() < deadline:
            time.sleep(0.05)
            db.session.rollback()
        status = job_status("sample:1")
        assert (status.state, status.last_error, status.attempts) == ("done", "sampled hello", 1)
        assert job_status("sample:2") is None
    assert [args["text"] for name, args in sample_plugin.calls if name == "sample_job"] == ["hello"]


def test_hook_register_migrations(app):
    """The sample plugin's table exists in the migrated test database, is part of the metadata
    the host's Alembic environment compares, and its versions folder is a migration branch."""
    from sqlalchemy import inspect

    from hostapp.extensions import db
    from tricoma_mail_plugin import migration_directories, migration_metadata

    with app.app_context():
        assert sample_plugin.metadata in migration_metadata()
        assert any(path.endswith("sample_plugin_migrations") for path in migration_directories())
        assert "sample_plugin_note" in inspect(db.engine).get_table_names()
        with db.engine.begin() as connection:
            connection.execute(sample_plugin.notes.insert().values(text="hello"))
