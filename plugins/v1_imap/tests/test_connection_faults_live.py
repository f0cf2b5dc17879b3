"""A connection that dies in the middle of a sync or a login, through a loopback proxy in front
of the real local Dovecot: the sync ends at once with a typed connection error (it never spins on
a closed socket), a login cut short is never called a wrong password, and the next clean sync
leaves the cache equal to the server."""
import threading
import time
from email.message import EmailMessage

import pytest
from fault_proxy import FaultProxy
from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin import MailboxAuthError, MailboxConnectionError
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox

pytestmark = pytest.mark.live

SYNC_LIMIT_SECONDS = 20  # far above a clean sync of these few messages, far below a hang


def message(number: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Sender {number} <sender{number}@example.test>"
    mail["To"] = "owner@example.test"
    mail["Subject"] = f"Message {number}"
    mail["Message-ID"] = f"<fault{number}@example.test>"
    mail.set_content(f"Body {number}\n" * 20)
    return mail.as_bytes()


@pytest.fixture(params=[1, 2], ids=["standard", "hoster"])
def account(request, app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, request.param)
    mailbox_id = make_mailbox(request.param, email, password, security="none")
    other = imap_client(request.param, email, password)
    other.multiappend("INBOX", [message(n) for n in range(300)])
    return mailbox_id, other, mailstack.profile(request.param)


def point_at(app, mailbox_id: int, port: int) -> None:
    with app.app_context():
        db.session.get(Mailbox, mailbox_id).imap_port = port
        db.session.commit()


def sync_in_time(app, mailbox_id: int):
    """Run a sync of INBOX in a thread; the outcome (result or exception) and the seconds it took.
    A sync that does not end within the limit fails the test instead of hanging it."""
    outcome = {}

    def run():
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            try:
                with service.backend_for(mailbox) as backend:
                    outcome["result"] = sync.sync_mailbox(mailbox, backend, ["INBOX"])
            except Exception as error:  # noqa: BLE001 - the test inspects it
                db.session.rollback()
                outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(SYNC_LIMIT_SECONDS)
    assert not thread.is_alive(), f"the sync still runs after {SYNC_LIMIT_SECONDS} s"
    return outcome, time.monotonic() - started


def cache_uids(app, mailbox_id: int) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(
            select(CachedMessage.uid).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "INBOX")))


@pytest.mark.parametrize("mode", ["fin", "rst"])
@pytest.mark.parametrize("cut_after", [0, 7, 5000])
def test_a_connection_cut_during_the_summary_fetch_ends_the_sync(app, account, mode, cut_after):
    mailbox_id, other, profile = account
    with FaultProxy(profile.imap_port, b"UID FETCH", cut_after, mode) as proxy:
        point_at(app, mailbox_id, proxy.port)
        outcome, seconds = sync_in_time(app, mailbox_id)
    assert proxy.cuts == 1
    assert isinstance(outcome.get("error"), MailboxConnectionError), outcome
    assert seconds < 5, seconds

    point_at(app, mailbox_id, profile.imap_port)
    outcome, _ = sync_in_time(app, mailbox_id)
    assert "error" not in outcome, outcome
    other.select_folder("INBOX", readonly=True)
    assert cache_uids(app, mailbox_id) == set(other.search(["ALL"]))


def test_a_stalled_connection_ends_with_the_network_timeout(app, account):
    mailbox_id, _, profile = account
    app.config["TRICOMA_MAIL_NETWORK_TIMEOUT"] = 2
    with FaultProxy(profile.imap_port, b"UID FETCH", 3000, "stall") as proxy:
        point_at(app, mailbox_id, proxy.port)
        outcome, seconds = sync_in_time(app, mailbox_id)
    assert proxy.cuts == 1
    assert isinstance(outcome.get("error"), MailboxConnectionError), outcome
    assert seconds < 10, seconds


@pytest.mark.parametrize("mode", ["fin", "rst"])
def test_a_connection_cut_during_login_is_not_a_wrong_password(app, account, mode):
    mailbox_id, _, profile = account
    with FaultProxy(profile.imap_port, b"LOGIN", 0, mode) as proxy:
        point_at(app, mailbox_id, proxy.port)
        outcome, _ = sync_in_time(app, mailbox_id)
        with app.app_context():
            steps = service.run_test(db.session.get(Mailbox, mailbox_id))
    assert proxy.cuts == 2
    error = outcome.get("error")
    assert isinstance(error, MailboxConnectionError) and not isinstance(error, MailboxAuthError), outcome
    login = next(step for step in steps if step.protocol == "imap" and not step.ok)
    assert login.code == "connection_lost", login


def test_users_read_a_typed_message_and_admins_see_the_raw_detail(app, account):
    from app_fixtures import login
    from tricoma_mail_plugin.cache import refresh

    mailbox_id, _, profile = account
    with FaultProxy(profile.imap_port, b"UID FETCH", 100, "fin") as proxy:
        point_at(app, mailbox_id, proxy.port)
        with app.app_context():
            with pytest.raises(MailboxConnectionError) as raised:
                refresh.run_sync(db.session.get(Mailbox, mailbox_id))
            mailbox = db.session.get(Mailbox, mailbox_id)
            assert mailbox.last_sync_error == raised.value.user_message
            assert mailbox.last_sync_error.startswith("The connection to the mail server was lost")
            assert "socket" not in mailbox.last_sync_error and "EOF" not in mailbox.last_sync_error
            assert "connection was closed" in mailbox.last_sync_detail
            detail = mailbox.last_sync_detail
    manager = app.test_client()
    assert login(manager, "owner").status_code == 302
    page = manager.get(f"/mail/settings/mailboxes/{mailbox_id}/").get_data(as_text=True)
    assert "The connection to the mail server was lost" in page
    assert detail.split(":")[0] in page
