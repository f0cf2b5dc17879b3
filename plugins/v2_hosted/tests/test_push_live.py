"""The push engine against the real Dovecot of the local mail stack: one event loop, IDLE on the
INBOX, a mail delivered over SMTP and a flag set by another IMAP client reach the change feed
(and the cache) within 2 s; the same with re-IDLE every half second and with the polling
fallback."""
from __future__ import annotations

import subprocess
import time
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from tricoma_mail_v2_hosted import marks
from tricoma_mail_v2_hosted.change_feed import changes_after
from tricoma_mail_v2_hosted.push.engine import EngineTiming
from tricoma_mail_v2_hosted.push.idle_client import IdleConnection
from tricoma_mail_v2_hosted.push.watcher import Watcher

from hostapp.extensions import db
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin.models import CachedFolder, CachedMessage

pytestmark = pytest.mark.slow


def deliver(smtp_client, sender: tuple[str, str], to: str, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender[0], to, subject
    message.set_content("Hallo\n")
    smtp_client(1, sender[0], sender[1]).send_message(message)


def wait_for(check, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    return check()


@pytest.fixture
def watched(app, make_mailbox, mailstack):
    """A v2 mailbox, synced once, and a way to run a watcher for it in a thread."""
    from app_fixtures import _fresh_account

    email, password = _fresh_account(mailstack, 1)
    sender = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    with app.app_context():
        mailbox = live_mailbox(mailbox_id)
        from tricoma_mail_plugin.mailboxes import service
        assert service.run_test(mailbox) and mailbox.last_test_ok
        sync_mailbox_now(mailbox, wait=30)  # a sync started elsewhere (the push engine) may hold the lease
        marks.mark(mailbox_id)
    started = []

    def start(timing: EngineTiming | None = None) -> Watcher:
        watcher = Watcher(app, sync_on_connect=False, timing=timing)
        thread = watcher.start_thread()
        started.append((watcher, thread))
        assert wait_for(lambda: watcher.engine.stats.idling + watcher.engine.stats.polling, 10), "no watcher connected"
        return watcher

    yield {"id": mailbox_id, "email": email, "password": password, "sender": sender, "start": start}
    for watcher, thread in started:
        watcher.stop()
        assert not thread.is_alive()


def _feed(app, mailbox_id: int, after: int = 0):
    with app.app_context():
        return changes_after(mailbox_id, after)


def _cached_flags(app, mailbox_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(CachedMessage.flags).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
            .where(CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == "INBOX")))


def test_delivery_and_flag_change_reach_the_feed_within_two_seconds(app, watched, smtp_client, imap_client):
    watched["start"](EngineTiming(renew_idle_after=0.5))  # re-IDLE twice a second: nothing is lost
    time.sleep(1.2)  # at least one DONE/IDLE round trip before the mail arrives
    sent_at = time.monotonic()
    deliver(smtp_client, watched["sender"], watched["email"], "Push 1")
    new = wait_for(lambda: [c for c in _feed(app, watched["id"]) if c.kind == "new"], 2.0)
    assert new, "the delivered mail did not reach the change feed within 2 s"
    assert time.monotonic() - sent_at < 2.0
    assert len(_cached_flags(app, watched["id"])) == 1  # synced into core's cache

    other = imap_client(1, watched["email"], watched["password"])
    other.select_folder("INBOX")
    other.add_flags(other.search("ALL"), [b"\\Flagged"])
    flagged = wait_for(lambda: [c for c in _feed(app, watched["id"], new[-1].id) if c.kind == "flags"], 2.0)
    assert flagged, "the flag set elsewhere did not reach the change feed within 2 s"
    assert "\\Flagged" in _cached_flags(app, watched["id"])[0]


def test_a_server_without_idle_is_polled(app, watched, smtp_client, monkeypatch):
    monkeypatch.setattr(IdleConnection, "supports_idle", property(lambda self: False))
    watcher = watched["start"](EngineTiming(poll_interval=0.3))
    assert watcher.engine.stats.polling == 1 and watcher.engine.stats.idling == 0
    deliver(smtp_client, watched["sender"], watched["email"], "Polled")
    assert wait_for(lambda: [c for c in _feed(app, watched["id"]) if c.kind == "new"], 3.0)


def test_a_watcher_reconnects_after_the_server_drops_it(app, watched, smtp_client, mailstack):
    watcher = watched["start"](EngineTiming(backoff_first=0.2))
    config = mailstack.paths(mailstack.profile(1)).config
    subprocess.run(["doveadm", "-c", str(config), "kick", watched["email"]], check=True, capture_output=True)
    assert wait_for(lambda: watcher.engine.stats.reconnects >= 1, 5), "the kick went unnoticed"
    assert wait_for(lambda: watcher.engine.stats.idling == 1, 5), "the watcher did not come back"
    deliver(smtp_client, watched["sender"], watched["email"], "After reconnect")
    assert wait_for(lambda: [c for c in _feed(app, watched["id"]) if c.kind == "new"], 3.0)


def test_the_watch_command_holds_the_connections_and_records_changes(app, watched, smtp_client):
    """``flask v2-hosted watch``, the push engine as a process of its own (here in this one)."""
    import threading

    def deliver_soon():
        time.sleep(1.5)
        deliver(smtp_client, watched["sender"], watched["email"], "Watched by the CLI")

    threading.Thread(target=deliver_soon).start()
    result = app.test_cli_runner().invoke(args=["v2-hosted", "watch", "--no-catch-up", "--for-seconds", "4",
                                                "--status-every", "0.5"])
    assert result.exit_code == 0, result.output
    assert "status watching=1 idling=1" in result.output
    assert [c.kind for c in _feed(app, watched["id"])] == ["new"]


def test_the_embedded_watcher_ends_with_the_process(app, watched, monkeypatch):
    """gunicorn's ``worker_exit`` (``stop_background_work``) closes the embedded watcher's IDLE
    connections and ends its thread; the ending process starts no other."""
    from tricoma_mail_v2_hosted.push import watcher as push_watcher

    from tricoma_mail_plugin import stop_background_work

    monkeypatch.setitem(app.config, "TRICOMA_MAIL_V2_PUSH", "embedded")
    embedded = push_watcher.ensure_embedded(app)
    assert embedded is not None and push_watcher.ensure_embedded(app) is embedded
    assert wait_for(lambda: embedded.engine.stats.idling, 10), "the embedded watcher did not connect"
    thread = embedded._thread

    stop_background_work(app, wait=15.0)  # as gunicorn's worker_exit gives it by default
    assert not thread.is_alive(), _stacks_of_live_threads()
    assert push_watcher.ensure_embedded(app) is None


def _stacks_of_live_threads() -> str:
    """Where every thread of this process is, to tell what kept a watcher from ending."""
    import sys
    import threading
    import traceback

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(f"--- {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame))
                     for ident, frame in sys._current_frames().items())


def test_one_watcher_watches_however_many_start(app, watched):
    """Every web process of the embedded default starts a watcher: only the lease's holder
    holds IDLE connections and syncs; another stands by with none and takes over at its next
    look once the first ends (its lease released), or once the lease ran out (a holder that died)."""
    from tricoma_mail_v2_hosted.push import leadership

    first = watched["start"]()
    second = Watcher(app, sync_on_connect=False)
    assert second._read_targets() == [] and not second.leading
    with app.app_context():
        assert leadership.holder() == first.owner
    assert [target.mailbox_id for target in first._read_targets()] == [watched["id"]]  # renews its own
    assert first.stop() and not first.leading
    with app.app_context():
        assert leadership.holder() is None
    assert [target.mailbox_id for target in second._read_targets()] == [watched["id"]] and second.leading
    # a holder that stops renewing (killed): its lease runs out and a third watcher takes over
    third = Watcher(app, sync_on_connect=False)
    assert third._read_targets() == []
    with app.app_context():
        assert leadership.hold(second.owner, -1)  # as if its last renewal were over
    assert [target.mailbox_id for target in third._read_targets()] == [watched["id"]] and third.leading
    second._pool.shutdown()
    third._pool.shutdown()


def test_a_leader_that_cannot_renew_stops_watching_before_its_lease_runs_out(app, watched, monkeypatch):
    """The lease's database fails for the leader (or its renewal waits): it gives up watching once
    the lease could run out, rather than watch beside the watcher that takes over. The renewal runs
    on a thread of its own, not behind the syncs."""
    import asyncio

    from tricoma_mail_v2_hosted.push import leadership
    from tricoma_mail_v2_hosted.push import watcher as push_watcher

    leader = Watcher(app, sync_on_connect=False)
    assert asyncio.run(leader.targets()) and leader.leading
    assert leader._lease_pool._threads and not leader._pool._threads  # renewed beside the syncs' pool

    def broken(_owner, _seconds):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(leadership, "hold", broken)
    with pytest.raises(RuntimeError):  # a moment's failure: the connections stay (the engine logs it)
        asyncio.run(leader.targets())
    assert leader.leading
    monkeypatch.setattr(push_watcher, "LEADER_GIVES_UP_AFTER", 0.0)  # as if renewals failed for 45 s
    assert asyncio.run(leader.targets()) == [] and not leader.leading
    leader._lease_pool.shutdown()
    leader._pool.shutdown()
