"""The push engine bound to an app: it watches the INBOX of every usable v2 mailbox, syncs a folder
through core when the server announces a change, and records the change in the feed the
browsers' event streams read.

Runs in its own process (``flask v2-hosted watch``) or, the embedded default, in a thread of the
web process that the first open v2 page starts (``TRICOMA_MAIL_V2_PUSH = "embedded"``; set it
to ``"process"`` when a separate watcher runs). However many watchers start (a web server's
processes), one watches: the holder of the lease in ``leadership``; the others watch nothing and
take over when it ends.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from tricoma_mail_plugin import (
    MailError,
    SyncBusy,
    live_mailbox,
    mailbox_settings,
    sync_mailbox_now,
)

from ..change_feed import forget_old_changes, record_change
from ..marks import v2_mailbox_ids
from . import leadership
from .engine import EngineTiming, PushEngine, WatchTarget

log = logging.getLogger(__name__)

WATCHED_FOLDERS = ("INBOX",)
SYNC_WAIT = 2.0  # seconds to wait for another process's sync of the same mailbox…
BUSY_RETRIES = 5  # …and how often to come back after such a wait
BUSY = "busy"
REFRESH_EVERY = 30.0
#: How long the watcher's lease lasts: renewed every REFRESH_EVERY; a holder that died is
#: replaced within this and one STANDBY_LOOK_EVERY more.
LEADER_SECONDS = 2 * REFRESH_EVERY
#: How often a watcher standing by looks whether the lease is free.
STANDBY_LOOK_EVERY = 5.0
#: A leader that could not renew for this long stops watching before its lease can run out.
LEADER_GIVES_UP_AFTER = LEADER_SECONDS - REFRESH_EVERY / 2


class Watcher:
    """One push engine for ``app``. ``run()`` blocks; ``start_thread()`` runs it in the
    background."""

    def __init__(self, app: Flask, *, folders: tuple[str, ...] = WATCHED_FOLDERS, workers: int = 4,
                 sync_on_connect: bool = True, timing: EngineTiming | None = None) -> None:
        self.app = app
        self.folders = folders
        self.sync_on_connect = sync_on_connect
        self.engine = PushEngine(self._changed, timing or EngineTiming(), on_connected=self._connected)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="v2-sync")
        # the lease is renewed on a thread of its own: behind the syncs of a thousand catch-ups
        # it would run out while its holder still watches
        self._lease_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="v2-push-lease")
        self._renewed_at = 0.0
        self._running: dict[tuple[int, str], asyncio.Task] = {}
        self._again: set[tuple[int, str]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False

    # -- running -----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            asyncio.run(self.serve())
        except asyncio.CancelledError:
            pass  # stopped
        finally:
            self._give_up_leading()  # first: another watcher takes over while a sync here ends
            self._lease_pool.shutdown(wait=False)
            self._pool.shutdown(wait=True, cancel_futures=True)  # a sync under way ends; none starts

    def _give_up_leading(self) -> None:
        """Another watcher takes over at its next look instead of when the lease runs out."""
        if not self.leading:
            return
        try:
            with self.app.app_context():
                leadership.release(self.owner)
            self.leading = False
        except Exception:  # noqa: BLE001 - the lease then runs out by itself
            log.exception("the push watcher's lease could not be released")

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        self._ready.set()
        await self.engine.run(self.targets, lambda: REFRESH_EVERY if self.leading else STANDBY_LOOK_EVERY)

    def start_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="tricoma-mail-v2-push", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self._thread

    def stop(self, timeout: float = 10.0) -> bool:
        """End a watcher started with :meth:`start_thread`: close every connection, wait up to
        ``timeout`` seconds. Whether its thread has ended."""
        if self.loop is not None and self._main is not None:
            try:
                self.loop.call_soon_threadsafe(self._main.cancel)
            except RuntimeError:  # its loop has ended: stopped before
                pass
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- what to watch -----------------------------------------------------------------------
    async def targets(self) -> list[WatchTarget]:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._lease_pool, self._read_targets)
        except Exception:
            if self.leading and time.monotonic() - self._renewed_at > LEADER_GIVES_UP_AFTER:
                # its lease may run out any moment and another watcher take over: stop first
                log.warning("push watcher %s could not renew its lease; it stops watching", self.owner)
                self.leading = False
                return []
            raise

    def _read_targets(self) -> list[WatchTarget]:
        with self.app.app_context():
            leading = leadership.hold(self.owner, LEADER_SECONDS)
            if leading:
                self._renewed_at = time.monotonic()
            if leading != self.leading:
                log.info("push watcher %s %s", self.owner,
                         "watches the v2 mailboxes" if leading else "stands by: another watcher watches")
                self.leading = leading
            if not leading:
                return []
            forget_old_changes()
            targets = []
            for mailbox_id in v2_mailbox_ids():
                mailbox = live_mailbox(mailbox_id)
                if mailbox is None or not mailbox.usable:
                    continue
                server = mailbox_settings(mailbox).imap
                targets.extend(WatchTarget(mailbox_id, folder, server) for folder in self.folders)
            return targets

    # -- what a change does ------------------------------------------------------------------
    def _connected(self, target: WatchTarget, _kind: str) -> None:
        if self.sync_on_connect:  # catch up with what happened while no one watched
            self._changed(target, "connected")

    def _changed(self, target: WatchTarget, _kind: str) -> None:
        """Sync the folder now; changes announced while a sync of it runs start one more after."""
        key = target.key
        if key in self._running:
            self._again.add(key)
            return
        self._running[key] = asyncio.get_running_loop().create_task(self._sync(target))

    async def _sync(self, target: WatchTarget) -> None:
        key = target.key
        busy_tries = 0
        try:
            while True:
                self._again.discard(key)
                kind = await asyncio.get_running_loop().run_in_executor(self._pool, self.sync_folder, *key)
                if kind == BUSY and busy_tries < BUSY_RETRIES:
                    busy_tries += 1  # another sync (the periodic one) holds the mailbox: come back
                    self._again.add(key)
                    await asyncio.sleep(1.0)
                if key not in self._again:
                    break
        finally:
            self._running.pop(key, None)

    def sync_folder(self, mailbox_id: int, folder: str) -> str | None:
        """Sync one folder through core and record what changed; returns the change's kind
        (``BUSY`` when another sync held the mailbox)."""
        with self.app.app_context():
            mailbox = live_mailbox(mailbox_id)
            if mailbox is None:
                return None
            try:
                results = sync_mailbox_now(mailbox, folders=[folder], wait=SYNC_WAIT)
            except SyncBusy:
                return BUSY
            except MailError as error:
                log.info("sync of mailbox %s after a change failed: %s", mailbox_id, error)
                return None
            kind = change_kind(results)
            if kind:
                record_change(mailbox_id, folder, kind)
            return kind


def change_kind(results) -> str | None:
    """The feed's kind for a sync's results: what changed first, or ``None`` for nothing."""
    for result in results:
        if result.new:
            return "new"
        if result.expunged:
            return "expunged"
        if result.flag_changes or result.rebuilt:
            return "flags"
    return None


# -- the embedded default ----------------------------------------------------------------------

_embedded: dict[int, Watcher] = {}
_embedded_lock = threading.Lock()
_STOPPED_KEY = "tricoma_mail_v2_push_stopped"


def ensure_embedded(app: Flask) -> Watcher | None:
    """Start this process's watcher for ``app`` once, when the app runs the embedded default.
    Like core's background work, not in a test app (``TESTING``) unless its config asks for it:
    a watcher outlives the test and would sync the next test's mailboxes."""
    if app.config.get("TRICOMA_MAIL_V2_PUSH", "testing" if app.testing else "embedded") != "embedded":
        return None
    with _embedded_lock:
        if app.extensions.get(_STOPPED_KEY):  # the process is ending: no new watcher
            return None
        watcher = _embedded.get(id(app))
        if watcher is None:
            watcher = _embedded[id(app)] = Watcher(app)
            watcher.start_thread()
        return watcher


def stop_embedded(app: Flask, wait: float) -> bool:
    """End this process's watcher for ``app`` (the process is ending gracefully): its IDLE
    connections are closed, queued syncs dropped and a sync under way let finish; its thread is
    waited for up to ``wait`` seconds. None is started afterwards. True when one was running."""
    with _embedded_lock:
        app.extensions[_STOPPED_KEY] = True
        watcher = _embedded.pop(id(app), None)
    if watcher is None:
        return False
    if not watcher.stop(wait):
        log.warning("the embedded push watcher did not end within %.0f s (a sync under way)", wait)
    return True
