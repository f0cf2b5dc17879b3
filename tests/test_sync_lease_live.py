"""One sync per mailbox at a time, on every path (background, CLI, the web's "check for new
mail"), with a short lease a running sync renews and a dead one gives up within a minute; two
syncs that meet over a new folder never crash on a duplicate row."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from app_fixtures import _fresh_account
from hostapp.extensions import db
from tricoma_mail_plugin import SyncBusy
from tricoma_mail_plugin.cache import refresh, sync
from tricoma_mail_plugin.cache.lease import lease_is_free, sync_lease, take_sync_lease
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedFolder, Mailbox

pytestmark = pytest.mark.live


@pytest.fixture
def account(app, make_mailbox, mailstack, imap_client):
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    client = imap_client(1, email, password)
    client.append("INBOX", b"Subject: lease\r\n\r\nhello\r\n")
    return mailbox_id, client


def test_a_running_sync_renews_its_lease_and_others_wait_or_are_told(app, account):
    mailbox_id, _ = account
    app.config["TRICOMA_MAIL_SYNC_LEASE_SECONDS"] = 2  # renewed every 2/3 s, with room for a busy machine
    held, release = threading.Event(), threading.Event()

    def hold():
        with app.app_context(), sync_lease(mailbox_id):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        time.sleep(4.5)  # more than twice the lease: only the heartbeat keeps it
        with app.app_context():
            assert not take_sync_lease(mailbox_id)
            with pytest.raises(SyncBusy):
                refresh.run_sync(db.session.get(Mailbox, mailbox_id))
    except BaseException:
        release.set()  # never leave the lease held for the next test
        raise
    threading.Timer(1.0, release.set).start()
    with app.app_context():  # a caller that may wait gets its turn once the holder is done
        refresh.run_sync(db.session.get(Mailbox, mailbox_id), wait=10)
        assert lease_is_free(mailbox_id)
    holder.join(10)


def test_a_killed_sync_gives_up_its_mailbox_within_the_lease(app, account, database_url, tmp_path,
                                                           monkeypatch):
    """A process syncing the mailbox is killed with SIGKILL: the next sync takes over within the
    lease's length (it waited an hour before)."""
    mailbox_id, _ = account
    taken_at = []
    holding = refresh._sync_holding_the_lease

    def note_the_takeover(*args):
        taken_at.append(time.monotonic())
        return holding(*args)

    monkeypatch.setattr(refresh, "_sync_holding_the_lease", note_the_takeover)
    ready = tmp_path / "holding"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = {[os.path.join(os.getcwd(), "tests"), os.path.join(os.getcwd(), "tests", "plugins")]!r}
        from app_fixtures import _test_config
        from hostapp import create_app
        from tricoma_mail_plugin.cache.lease import sync_lease
        app = create_app(_test_config({database_url!r}, TRICOMA_MAIL_SYNC_LEASE_SECONDS=3))
        with app.app_context(), sync_lease({mailbox_id}):
            open({str(ready)!r}, "w").close()
            time.sleep(600)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.1)
        assert ready.exists(), "the holder did not take the lease"
        with app.app_context():
            assert not take_sync_lease(mailbox_id, 3)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    killed_at = time.monotonic()
    app.config["TRICOMA_MAIL_SYNC_LEASE_SECONDS"] = 3
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, mailbox_id), wait=10)
    # The lease's 3 s and a wait step; the sync's own time (TLS, a busy CI machine) does not count.
    assert taken_at[0] - killed_at < 4.5


def test_the_web_refresh_says_when_another_sync_holds_the_mailbox(app, account, make_app):
    mailbox_id, _ = account
    from app_fixtures import login

    app.config["TRICOMA_MAIL_SYNC_WAIT_SECONDS"] = 0.5
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    with app.app_context():
        assert take_sync_lease(mailbox_id, 60)  # the CLI's sync, say
    response = client.post(f"/mail/m/{mailbox_id}/refresh", data={"folder": "INBOX"}, follow_redirects=True)
    assert response.status_code == 200
    assert "Another process is synchronising this mailbox" in response.get_data(as_text=True)


def test_two_syncs_meeting_over_a_new_folder_keep_one_row(app, account):
    """Another sync stores the new folder after this sync looked at the cache and before it
    writes: no IntegrityError, one row."""
    mailbox_id, client = account
    client.create_folder("Projekte")
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        stored = []

        def another_sync_stores_it_first(conn, cursor, statement, parameters, context, executemany):
            if not stored and statement.lstrip().upper().startswith("INSERT INTO TRICOMA_MAIL_FOLDER"):
                stored.append(True)
                with db.engine.begin() as other:  # the other process, on its own connection
                    other.execute(CachedFolder.__table__.insert().values(
                        mailbox_id=mailbox_id, name="Projekte", messages=0, unseen=0, flags=[]))

        sa_event.listen(db.engine, "before_cursor_execute", another_sync_stores_it_first)
        try:
            with service.backend_for(mailbox) as backend:
                sync.refresh_folders(mailbox, backend)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", another_sync_stores_it_first)
        assert stored
        count = db.session.scalar(select(func.count()).select_from(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "Projekte"))
    assert count == 1


def test_an_unexpected_error_inside_a_sync_is_rolled_back_and_recorded(app, account, monkeypatch):
    mailbox_id, _ = account

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(refresh, "index_pending", broken)
    with app.app_context():
        with pytest.raises(Exception) as raised:
            refresh.run_sync(db.session.get(Mailbox, mailbox_id))
        assert not isinstance(raised.value, ZeroDivisionError)
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert mailbox.last_sync_error and "unexpected" in mailbox.last_sync_error
        assert "ZeroDivisionError" in mailbox.last_sync_detail
        assert lease_is_free(mailbox_id)


def test_a_web_refresh_and_a_cli_sync_at_once_with_a_new_folder(app, account):
    """The CLI syncs while a user presses "check for new mail" and a folder appears on the
    server in between: both finish, no crash, one row per folder."""
    mailbox_id, client = account
    from app_fixtures import login

    client.multiappend("INBOX", [f"Subject: bulk {n}\r\n\r\nbody {n}\r\n".encode() for n in range(400)])
    web = app.test_client()
    assert login(web, "owner").status_code == 302
    outcome = {}

    def cli():
        outcome["cli"] = app.test_cli_runner().invoke(args=["mail", "sync", str(mailbox_id)])

    worker = threading.Thread(target=cli)
    worker.start()
    client.create_folder("Neu")
    response = web.post(f"/mail/m/{mailbox_id}/refresh", data={"folder": "INBOX"}, follow_redirects=True)
    worker.join(60)
    assert outcome["cli"].exit_code == 0, outcome["cli"].output
    assert response.status_code == 200
    with app.app_context():
        names = db.session.scalars(select(CachedFolder.name).where(CachedFolder.mailbox_id == mailbox_id)).all()
    assert len(names) == len(set(names)) and "Neu" in names
