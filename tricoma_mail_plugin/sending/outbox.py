"""The outbox: every mail that leaves goes through it, exactly once, and is filed in Sent.

At enqueue the final bytes and the Message-ID are fixed. A worker takes an item with a lease;
SMTP errors before the data is accepted are retried with backoff, 5xx replies fail for good, an
error after the final dot makes the item *uncertain* (never resent unless a user says so).
"SMTP accepted" is committed at once; the Sent copy (the same bytes, ``\\Seen``) is filed after
and retried on its own, never by sending again.

How far each attempt got is committed before the connection, before DATA and just before the
final dot (``attempt_stage``), each time renewing the lease. A lease that expires before the
final dot makes the item due again at once (the server cannot have accepted it); after it, the
item is *uncertain*. Where the provider files sent mail itself, the Sent folder is searched for
the Message-ID first: found means sent. Each attempt leaves one line in ``attempt_history``.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..archive.outgoing import archive_before_sending
from ..config import attachment_limit
from ..errors import (
    ArchiveWriteFailed,
    InvalidSettings,
    MailError,
    NotAllowed,
    SendRefused,
    SendUncertain,
    SignInRequired,
)
from ..events.outbox import (
    deliver_after_commit,
    deliver_pending,
    forget_delivered,
    record_event,
)
from ..events.values import outbox_payload
from ..mailboxes import service
from ..mailboxes.info import MailboxInfo
from ..mailboxes.server_folders import folder_for_role
from ..mime.build import BuiltMessage, OutgoingMessage, build_message
from ..models import Mailbox, OutboxItem, utcnow
from ..records.references import Reference
from ..rights import access
from .send_rate import hold_back_over_limit
from .smtp import SmtpSession
from .system_settings import system_smtp_settings

log = logging.getLogger(__name__)

RETRY_DELAYS = (60, 300, 1800, 7200, 21600)  # seconds; the last one repeats
DUE_STATES = ("queued", "retry")
#: The mailbox's OAuth2 sign-in ran out: the item waits, without attempts, until it is renewed.
WAITING_FOR_SIGN_IN = "waiting_sign_in"

#: How far an attempt got (``OutboxItem.attempt_stage``), recorded before each step.
STAGE_CONNECTING = "connecting"  # leased: connection, TLS, AUTH, MAIL and RCPT come next
STAGE_DATA = "data"  # the DATA command comes next
STAGE_FINAL_DOT = "final_dot"  # the final dot comes next: from here the server may accept
STAGE_HANDED_OVER = "handed_over"  # given to a session that reports no progress: unknown
#: A worker that died at these stages never let the server accept the mail: retry it.
RETRYABLE_STAGES = (STAGE_CONNECTING, STAGE_DATA)
#: Seconds until each look into the Sent folder for an uncertain item's Message-ID (mailboxes
#: whose provider files sent mail itself); after the last look in vain a person decides.
UNCERTAIN_CHECK_DELAYS = (0, 60, 600)


class LeaseLost(Exception):
    """The lease on an item ran out and the item was settled or taken over by another worker:
    the attempt under way stops before the final dot."""


def _session():
    return mail_state().db.session


def retry_delay(attempts: int) -> int:
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


# -- enqueue ------------------------------------------------------------------------------------

def enqueue(mailbox: Mailbox, user, outgoing: OutgoingMessage, *, idempotency_key: str | None = None,
            send_at: datetime | None = None, reference: Reference | None = None,
            right: str = "send") -> OutboxItem:
    """Check ``right``, run ``before_send``, build and queue the message. The same idempotency
    key twice for one mailbox gives the first item back and queues nothing. A person's mail
    from a shared mailbox (``right`` "send": written in the client, not an app's, which
    ``send_on_behalf`` audits) goes into the mailbox's audit log, in the transaction that
    queues it (so a second request with the same key, refused by the key's unique index,
    leaves no entry)."""
    access.require(user, mailbox.id, right)
    audit = None
    if right == "send" and access.is_shared(mailbox.id):
        def audit(item: OutboxItem) -> None:
            access.add_audit(str(user.get_id()), mailbox.id, "sent_from_shared", **sending_details(item, send_at))
    return _queue(mailbox, user, outgoing, idempotency_key, send_at, reference, audit)


def sending_details(item: OutboxItem, send_at: datetime | None = None) -> dict:
    """What the audit log says of a mail in the outbox: its item, subject and recipients, and
    when it leaves if it was scheduled."""
    details = {"outbox_item": item.id, "recipients": ", ".join(item.recipients), "subject": item.subject}
    if send_at is not None:
        details["scheduled_for"] = item.not_before.isoformat()
    return details


def enqueue_as_operator(mailbox: Mailbox, outgoing: OutgoingMessage, *, idempotency_key: str | None = None,
                        send_at: datetime | None = None) -> OutboxItem:
    """Queue mail for an operator at the shell (the CLI): there is no host user to check."""
    return _queue(mailbox, None, outgoing, idempotency_key, send_at, None)


def _queue(mailbox: Mailbox, user, outgoing: OutgoingMessage, idempotency_key: str | None,
           send_at: datetime | None, reference: Reference | None,
           on_new: Callable[[OutboxItem], None] | None = None) -> OutboxItem:
    if not mailbox.usable:
        raise InvalidSettings(_("This mailbox has not passed its connection test yet."))
    scope = f"mailbox:{mailbox.id}"
    existing = _by_key(scope, idempotency_key)
    if existing is not None:
        return existing
    built = build_message(outgoing, mailbox.sender_name, mailbox.email or mailbox.imap_username,
                          mailbox.signature, max_attachment_bytes=attachment_limit())
    mail_state().hooks.call("before_send", message=built.message, mailbox=MailboxInfo.of(mailbox),
                            user=user, reference=reference)
    sent_copy = "skipped" if mailbox.provider_files_sent_mail else "pending"
    return store_built(scope, mailbox.id, built, idempotency_key, send_at, reference, user, sent_copy, on_new)


def find_by_key(mailbox: Mailbox, key: str | None) -> OutboxItem | None:
    """The item queued from ``mailbox`` under idempotency ``key``, if any."""
    return _by_key(f"mailbox:{mailbox.id}", key)


def _by_key(scope: str, key: str | None) -> OutboxItem | None:
    if key is None:
        return None
    return _session().scalar(select(OutboxItem).where(OutboxItem.scope == scope, OutboxItem.idempotency_key == key))


def store_built(scope: str, mailbox_id: int | None, built: BuiltMessage, key: str | None, send_at: datetime | None,
           reference: Reference | None, user, sent_copy: str,
           on_new: Callable[[OutboxItem], None] | None = None) -> OutboxItem:
    return store_raw(scope, mailbox_id, built.as_bytes(), message_id=built.message_id, sender=built.sender,
                     recipients=built.recipients(), subject=str(built.message["Subject"] or ""), key=key,
                     send_at=send_at, reference=reference, user=user, sent_copy=sent_copy, on_new=on_new)


def store_raw(scope: str, mailbox_id: int | None, raw: bytes, *, message_id: str, sender: str,
              recipients: Sequence[str], subject: str, key: str | None = None, send_at: datetime | None = None,
              reference: Reference | None = None, user=None, sent_copy: str = "skipped",
              on_new: Callable[[OutboxItem], None] | None = None) -> OutboxItem:
    """Queue finished message bytes with their envelope as they are (nothing is rebuilt). The
    same ``key`` twice in one ``scope`` gives the first item back and queues nothing.
    ``on_new`` adds to the transaction of a new item (an audit entry), never for one found."""
    session = _session()
    existing = _by_key(scope, key)
    if existing is not None:
        return existing
    if not recipients:
        raise InvalidSettings(_("Enter at least one recipient."))
    delay = current_app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"]
    not_before = utcnow() + timedelta(seconds=delay)
    if send_at is not None and send_at > not_before:
        not_before = send_at
    item = OutboxItem(
        scope=scope, mailbox_id=mailbox_id, idempotency_key=key or uuid.uuid4().hex,
        message_id=message_id, sender=sender, recipients=list(recipients),
        subject=subject, raw=raw,
        reference=str(reference) if reference else None,
        created_by=str(user.get_id()) if user is not None else None,
        state="queued", not_before=not_before, attempts=0, recipient_results=[], sent_copy=sent_copy,
        sent_copy_attempts=0,
    )
    session.add(item)
    try:
        if on_new is not None:
            session.flush()  # the item's id
            on_new(item)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _by_key(scope, key)
        if existing is None:
            raise
        return existing
    return item


# -- user actions -------------------------------------------------------------------------------

def cancel(item: OutboxItem) -> None:
    """Undo send / cancel a scheduled mail: only while no worker has taken it."""
    result = _session().execute(
        update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.state.in_(DUE_STATES))
        .values(state="cancelled", lease_owner=None).execution_options(synchronize_session=False))
    _session().commit()
    if result.rowcount != 1:
        raise NotAllowed(_("This mail is already on its way and cannot be stopped any more."))


def send_again(item: OutboxItem) -> None:
    """Queue an uncertain or failed item once more; the user has confirmed it."""
    if item.state not in ("uncertain", "failed"):
        raise NotAllowed(_("Only uncertain or failed mail can be sent again."))
    _refuse_while_sent_is_searched(item)
    item.state = "queued"
    item.not_before = utcnow()
    item.attempts = 0
    item.last_error = None
    item.uncertain_checks = 0
    _session().commit()


# -- the worker ---------------------------------------------------------------------------------

class WorkerConnections:
    """The connections one worker run keeps open: an SMTP session per sender (mailbox or system
    mail) and an IMAP connection per mailbox for Sent copies, so a batch of mail from one
    mailbox logs in once. A connection that failed is dropped and reopened on next use."""

    def __init__(self) -> None:
        self._submissions: dict[str, object] = {}
        self._stores: dict[int, tuple[object, str]] = {}
        # mailbox id → the Sent folder a copy was filed in ("": its Sent folder, where the provider files it)
        self.filed: dict[int, str] = {}

    def submission(self, item: OutboxItem):
        session = self._submissions.get(item.scope)
        if session is None:
            session = self._submissions[item.scope] = _open_submission(item)
        return session

    def drop_submission(self, item: OutboxItem) -> None:
        session = self._submissions.pop(item.scope, None)
        if session is not None:
            session.close()

    def sent_folder(self, mailbox: Mailbox):
        """A connected backend of ``mailbox`` and the name of its Sent folder."""
        found = self._stores.get(mailbox.id)
        if found is None:
            backend = service.backend_for(mailbox)
            backend.connect()
            try:
                found = (backend, folder_for_role(mailbox, backend, "sent", create=True))
            except BaseException:
                backend.close()
                raise
            self._stores[mailbox.id] = found
        return found

    def drop_store(self, mailbox: Mailbox) -> None:
        found = self._stores.pop(mailbox.id, None)
        if found is not None:
            found[0].close()

    def close(self) -> None:
        for session in self._submissions.values():
            session.close()
        for backend, _folder in self._stores.values():
            backend.close()
        self._submissions.clear()
        self._stores.clear()


def run_once(worker_id: str | None = None, limit: int | None = None, sent_copies: dict[int, str] | None = None) -> int:
    """Send every due item, look for uncertain items in Sent, then file pending Sent copies.
    Returns how many items were sent or settled. Safe to run in any number of processes at once.
    ``sent_copies`` is filled with mailbox id → Sent folder of each copy filed (``""`` where the
    provider files sent mail itself: its Sent folder): the folders whose cache the caller brings
    up to date (sending does not touch the cache)."""
    worker_id = worker_id or uuid.uuid4().hex[:12]
    deliver_pending()  # what a process that stopped after a commit left undelivered
    forget_delivered()
    expire_leases()
    release_signed_in()
    done = 0
    connections = WorkerConnections()
    try:
        while limit is None or done < limit:
            item = claim_next(worker_id)
            if item is None:
                break
            deliver(item, connections)
            if item.state == "sent" and item.mailbox_id is not None and _sent_folder_tells(item):
                connections.filed.setdefault(item.mailbox_id, "")  # the provider filed the copy
            done += 1
        check_uncertain(connections)
        while True:
            item = claim_sent_copy()
            if item is None:
                break
            file_sent_copy(item, connections)
    finally:
        connections.close()
        if sent_copies is not None:
            sent_copies.update(connections.filed)
    return done


def _lease_seconds() -> int:
    return current_app.config["TRICOMA_MAIL_OUTBOX_LEASE_SECONDS"]


def hand_back_leases(process: str) -> int:
    """End now the leases that workers of a stopping ``process`` (named ``process:…``) hold, so
    the next run settles those items by how far they got (:func:`expire_leases`) instead of
    waiting for the leases to run out. A thread of that process still sending loses its lease
    and stops before the final dot (:func:`mark_stage`)."""
    session = _session()
    result = session.execute(
        update(OutboxItem).where(OutboxItem.state == "sending",
                                 OutboxItem.lease_owner.startswith(process + ":", autoescape=True))
        .values(lease_until=utcnow() - timedelta(seconds=1)).execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def expire_leases() -> int:
    """Settle the items whose worker vanished while sending, by how far its attempt got: before
    the final dot the server cannot have accepted the mail, so it is retried at once; after it
    the outcome is unknown (uncertain), and where the provider files sent mail the Sent folder
    is searched first (``check_uncertain``)."""
    session = _session()
    now = utcnow()
    expired = list(session.scalars(
        select(OutboxItem).where(OutboxItem.state == "sending", OutboxItem.lease_until < now)))
    settled = 0
    for item in expired:
        values = _after_vanished_worker(item, now)
        result = session.execute(
            update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.state == "sending",
                                     OutboxItem.lease_owner == item.lease_owner, OutboxItem.lease_until < now)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            settled += 1
            item = session.get(OutboxItem, item.id, populate_existing=True)
            if item.state == "failed" or (item.state == "uncertain" and item.uncertain_check_after is None):
                record_event(item.state, item.mailbox_id, outbox_payload(item))
        session.commit()
    if settled:
        deliver_after_commit()
    return settled


def _after_vanished_worker(item: OutboxItem, now: datetime) -> dict:
    """The new column values of ``item``, whose worker stopped without settling it."""
    if item.attempt_stage in RETRYABLE_STAGES:
        if item.attempts >= current_app.config["TRICOMA_MAIL_SEND_MAX_ATTEMPTS"]:
            state, error = "failed", "The sending process stopped on every attempt before the mail was handed over."
        else:
            state, error = "retry", ("The sending process stopped before the mail was handed over "
                                     "(the server cannot have accepted it); it is sent again automatically.")
        extra = {"not_before": now}
    else:
        state, error = "uncertain", ("The sending process stopped after the final dot, before the server's "
                                     "answer: the server may have accepted the mail.")
        extra = {"uncertain_checks": 0,
                 "uncertain_check_after": now if _sent_folder_tells(item) else None}
    return {"state": state, "last_error": error, "lease_owner": None, "lease_until": None,
            **_closed_attempt(item, state, error, now, vanished=True), **extra}


def _closed_attempt(item: OutboxItem, outcome: str, detail: str | None, now: datetime, *,
                    vanished: bool = False) -> dict:
    """The columns that end the attempt under way: its line in the history, no stage."""
    line = {
        "attempt": len(item.attempt_history or []) + 1,
        "started_at": _iso(item.attempt_started_at),
        "reached": item.attempt_stage,
        "reached_at": _iso(item.attempt_stage_at),
        "ended_at": _iso(now),
        "outcome": outcome,
        "worker_vanished": vanished,
        "detail": (detail or "")[:300],
    }
    return {"attempt_history": [*(item.attempt_history or []), line], "attempt_stage": None,
            "attempt_stage_at": None, "attempt_started_at": None}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _sent_folder_tells(item: OutboxItem) -> bool:
    """Whether the mailbox's provider files sent mail itself, so that the Message-ID in its Sent
    folder proves the server accepted the mail."""
    mailbox = _session().get(Mailbox, item.mailbox_id) if item.mailbox_id else None
    return bool(mailbox is not None and mailbox.deleted_at is None and mailbox.provider_files_sent_mail)


def claim_next(worker_id: str) -> OutboxItem | None:
    """Take the next due item with a lease; no two workers ever get the same item. The claim is
    the durable mark "before the connection" (stage ``connecting``)."""
    session = _session()
    now = utcnow()
    hold_back_over_limit(now)  # mail beyond a mailbox's hourly limit waits (send_rate.py)
    lease_until = now + timedelta(seconds=_lease_seconds())
    due = (select(OutboxItem.id)
           .where(OutboxItem.state.in_(DUE_STATES), OutboxItem.not_before <= now)
           .order_by(OutboxItem.not_before, OutboxItem.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        item_id = session.scalar(due.with_for_update(skip_locked=True))
        if item_id is None:
            session.commit()
            return None
        condition = OutboxItem.id == item_id
    else:
        # SQLite runs one writer at a time, so this single UPDATE is atomic on its own.
        condition = and_(OutboxItem.id == due.scalar_subquery(), OutboxItem.state.in_(DUE_STATES))
    result = session.execute(
        update(OutboxItem).where(condition)
        .values(state="sending", lease_owner=worker_id, lease_until=lease_until,
                attempts=OutboxItem.attempts + 1, attempt_stage=STAGE_CONNECTING,
                attempt_stage_at=now, attempt_started_at=now)
        .execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        return None
    return session.scalar(select(OutboxItem).where(OutboxItem.lease_owner == worker_id,
                                                   OutboxItem.state == "sending")
                          .order_by(OutboxItem.id.desc()).execution_options(populate_existing=True))


def mark_stage(item_id: int, worker_id: str, stage: str) -> None:
    """Record durably that the attempt of ``worker_id`` reached ``stage``, and renew its lease.
    Raises :class:`LeaseLost` when the lease ran out and the item is no longer this worker's:
    the attempt must then stop before the final dot."""
    session = _session()
    now = utcnow()
    result = session.execute(
        update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.state == "sending",
                                 OutboxItem.lease_owner == worker_id, OutboxItem.lease_until >= now)
        .values(attempt_stage=stage, attempt_stage_at=now,
                lease_until=now + timedelta(seconds=_lease_seconds()))
        .execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        raise LeaseLost(f"outbox item {item_id}: the lease of {worker_id} ran out before {stage}")


def deliver(item: OutboxItem, connections: WorkerConnections | None = None) -> None:
    """Hand one leased item to its SMTP server and record the outcome. The Sent copy is filed
    afterwards, on its own (``file_sent_copy``)."""
    session = _session()
    own = connections is None
    connections = connections or WorkerConnections()
    item_id, worker_id = item.id, item.lease_owner
    sender, recipients, raw = item.sender, item.recipients, item.raw

    def progress(stage: str) -> None:
        mark_stage(item_id, worker_id, stage)

    try:
        archive_before_sending(item)  # the journal (docs/archive.md): no entry, no sending
    except ArchiveWriteFailed as error:
        session.rollback()
        log.error("outbox item %s: not sent, the archive refused it: %s", item_id, error.detail)
        _record_failure(item, worker_id, error)
        if own:
            connections.close()
        return
    try:
        submission = connections.submission(item)
        if getattr(submission, "reports_progress", False):
            results = submission.submit(sender, recipients, raw, progress=progress)
        else:  # a death from here on cannot be told from one after the final dot
            progress(STAGE_HANDED_OVER)
            results = submission.submit(sender, recipients, raw)
    except LeaseLost as lost:
        session.rollback()
        connections.drop_submission(item)
        log.warning("%s; another worker has the item now", lost)
        return
    except MailError as error:
        connections.drop_submission(item)
        _record_failure(item, worker_id, error)
        return
    finally:
        if own:
            connections.close()
    now = utcnow()
    for column, value in _closed_attempt(item, "sent", None, now).items():
        setattr(item, column, value)
    item.state = "sent"
    item.smtp_accepted_at = now
    item.recipient_results = [asdict(result) for result in results]
    item.lease_owner = None
    item.lease_until = None
    item.last_error = None
    item.uncertain_check_after = None
    refused = [r for r in results if not r.accepted]
    if refused:
        item.last_error = "; ".join(f"{r.address}: {r.code} {r.message}" for r in refused)[:1000]
    record_event("sent", item.mailbox_id, outbox_payload(item))
    session.commit()  # "SMTP accepted" and its event are durable before anything else happens
    deliver_after_commit()


def _record_failure(item: OutboxItem, worker_id: str, error: MailError) -> None:
    session = _session()
    # The lease may have run out while the connection hung; the item may be another worker's.
    held = session.execute(
        update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.state == "sending",
                                 OutboxItem.lease_owner == worker_id)
        .values(lease_owner=worker_id).execution_options(synchronize_session=False))
    if held.rowcount != 1:
        session.rollback()
        return
    if isinstance(error, SendUncertain):
        _settle(item, "uncertain", error.user_message)
    elif isinstance(error, SignInRequired):  # waits, not failing, until someone signs in again
        item.attempts -= 1
        _settle(item, WAITING_FOR_SIGN_IN, error.user_message)
    elif isinstance(error, SendRefused) or item.attempts >= current_app.config["TRICOMA_MAIL_SEND_MAX_ATTEMPTS"]:
        _settle(item, "failed", error.user_message)
    else:
        item.not_before = utcnow() + timedelta(seconds=retry_delay(item.attempts))
        _settle(item, "retry", error.user_message)


def _settle(item: OutboxItem, state: str, error: str) -> None:
    now = utcnow()
    for column, value in _closed_attempt(item, state, error, now).items():
        setattr(item, column, value)
    item.state = state
    item.last_error = error[:1000]
    item.lease_owner = None
    item.lease_until = None
    announce = state == "failed"
    if state == "uncertain":
        item.uncertain_checks = 0
        item.uncertain_check_after = now if _sent_folder_tells(item) else None
        announce = item.uncertain_check_after is None
    if announce:
        record_event(state, item.mailbox_id, outbox_payload(item))
    _session().commit()
    if announce:
        deliver_after_commit()


def _open_submission(item: OutboxItem):
    if item.scope == "system":
        return SmtpSession(system_smtp_settings())
    mailbox = _session().get(Mailbox, item.mailbox_id) if item.mailbox_id else None
    if mailbox is None or mailbox.deleted_at is not None:
        raise SendRefused(_("The mailbox of this mail no longer exists."))
    if mailbox.needs_sign_in_at is not None:
        raise SignInRequired()
    return service.backend_for(mailbox).submission()


def release_signed_in() -> int:
    """Make the items that wait for a sign-in due again once their mailbox is signed in."""
    signed_in = select(Mailbox.id).where(Mailbox.needs_sign_in_at.is_(None))
    result = _session().execute(
        update(OutboxItem).where(OutboxItem.state == WAITING_FOR_SIGN_IN, OutboxItem.mailbox_id.in_(signed_in))
        .values(state="queued", not_before=utcnow()).execution_options(synchronize_session=False))
    _session().commit()
    return result.rowcount


# -- uncertain items: ask the Sent folder -------------------------------------------------------

def check_uncertain(connections: WorkerConnections | None = None) -> int:
    """Search the Sent folder for the Message-ID of each uncertain item that is due for a look
    (mailboxes whose provider files sent mail): found means the server accepted the mail, so
    the item is ``sent`` (with no copy of ours). After the last look in vain the item stays
    uncertain for a person, and only then is the ``uncertain`` event recorded. Returns how many
    items were found."""
    session = _session()
    own = connections is None
    connections = connections or WorkerConnections()
    found_count = 0
    try:
        while True:
            item = _claim_uncertain_check()
            if item is None:
                break
            mailbox = session.get(Mailbox, item.mailbox_id) if item.mailbox_id else None
            found = False
            if mailbox is not None and mailbox.deleted_at is None:
                try:
                    backend, folder = connections.sent_folder(mailbox)
                    backend.select(folder, readonly=True)
                    found = bool(backend.search_header("Message-ID", item.message_id))
                except MailError as error:
                    connections.drop_store(mailbox)
                    log.info("outbox item %s: the Sent folder could not be searched: %s", item.id, error)
            if found:
                _found_in_sent(item)
                found_count += 1
            else:
                _not_found_in_sent(item)
    finally:
        if own:
            connections.close()
    return found_count


def _claim_uncertain_check() -> OutboxItem | None:
    session = _session()
    now = utcnow()
    candidate = session.scalar(
        select(OutboxItem.id).where(OutboxItem.state == "uncertain", OutboxItem.uncertain_check_after <= now)
        .order_by(OutboxItem.id).limit(1))
    if candidate is None:
        session.commit()
        return None
    result = session.execute(
        update(OutboxItem).where(OutboxItem.id == candidate, OutboxItem.state == "uncertain",
                                 OutboxItem.uncertain_check_after <= now)
        .values(uncertain_check_after=now + timedelta(seconds=_lease_seconds()))
        .execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(OutboxItem, candidate, populate_existing=True)


def _found_in_sent(item: OutboxItem) -> None:
    # the provider filed it: a copy of ours would be a second one
    _resolve_as_sent(item, {"resolved": "found_in_sent"}, sent_copy="skipped")


def confirm_arrived(item: OutboxItem, confirmed_by: str) -> None:
    """A person checked with the recipient: the uncertain mail arrived. The item is ``sent``
    (accepted when its last attempt sent the final dot) and its Sent copy is filed like any
    other's, unless the provider files sent mail itself. Never sends anything."""
    if item.state != "uncertain":
        raise NotAllowed(_("Only uncertain mail can be marked as arrived."))
    _refuse_while_sent_is_searched(item)
    # an uncertain item's copy is still "pending" (ours to file) or "skipped" (the provider's)
    _resolve_as_sent(item, {"resolved": "confirmed_arrived", "resolved_by": confirmed_by[:200]},
                     sent_copy=item.sent_copy)


def _refuse_while_sent_is_searched(item: OutboxItem) -> None:
    """A person decides on an uncertain item only once the looks into its Sent folder are over."""
    if item.state == "uncertain" and item.uncertain_check_after is not None:
        raise NotAllowed(_("The Sent folder is still being searched for this mail; wait until that is done."))


def _resolve_as_sent(item: OutboxItem, resolution: dict, *, sent_copy: str) -> None:
    """Settle an uncertain item as ``sent``, noting on its last attempt how that became known."""
    now = utcnow()
    history = list(item.attempt_history or [])
    if history:
        history[-1] = {**history[-1], **resolution, "resolved_at": _iso(now)}
    item.attempt_history = history
    item.state = "sent"
    accepted_at = history[-1].get("reached_at") if history else None
    item.smtp_accepted_at = datetime.fromisoformat(accepted_at) if accepted_at else now
    item.last_error = None
    item.sent_copy = sent_copy
    item.uncertain_check_after = None
    record_event("sent", item.mailbox_id, outbox_payload(item))
    _session().commit()
    deliver_after_commit()


def _not_found_in_sent(item: OutboxItem) -> None:
    item.uncertain_checks += 1
    if item.uncertain_checks < len(UNCERTAIN_CHECK_DELAYS):
        item.uncertain_check_after = utcnow() + timedelta(seconds=UNCERTAIN_CHECK_DELAYS[item.uncertain_checks])
        _session().commit()
        return
    item.uncertain_check_after = None  # a person decides now
    record_event("uncertain", item.mailbox_id, outbox_payload(item))
    _session().commit()
    deliver_after_commit()


def claim_sent_copy() -> OutboxItem | None:
    session = _session()
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["TRICOMA_MAIL_OUTBOX_LEASE_SECONDS"])
    candidate = session.scalar(
        select(OutboxItem.id).where(
            OutboxItem.state == "sent", OutboxItem.sent_copy.in_(("pending", "retry")),
            or_(OutboxItem.sent_copy_not_before.is_(None), OutboxItem.sent_copy_not_before <= now),
            or_(OutboxItem.sent_copy_lease_until.is_(None), OutboxItem.sent_copy_lease_until < now))
        .order_by(OutboxItem.id).limit(1))
    if candidate is None:
        session.commit()
        return None
    result = session.execute(
        update(OutboxItem).where(
            OutboxItem.id == candidate,
            or_(OutboxItem.sent_copy_lease_until.is_(None), OutboxItem.sent_copy_lease_until < now))
        .values(sent_copy_lease_until=lease).execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(OutboxItem, candidate, populate_existing=True)


def file_sent_copy(item: OutboxItem, connections: WorkerConnections | None = None) -> None:
    """Append the sent bytes to the mailbox's Sent folder, once: on a retry we first look for
    the Message-ID there, in case the last attempt stored it before it failed."""
    session = _session()
    mailbox = session.get(Mailbox, item.mailbox_id) if item.mailbox_id else None
    if mailbox is None:
        item.sent_copy = "skipped"
        session.commit()
        return
    item.sent_copy_attempts += 1
    session.commit()
    own = connections is None
    connections = connections or WorkerConnections()
    try:
        backend, folder = connections.sent_folder(mailbox)
        if item.sent_copy_attempts > 1:
            backend.select(folder, readonly=True)
            already = backend.search_header("Message-ID", item.message_id)
        else:
            already = False
        if not already:
            backend.append(folder, item.raw, flags=["\\Seen"], internal_date=item.smtp_accepted_at)
    except MailError as error:
        connections.drop_store(mailbox)
        item.sent_copy = "retry"
        item.sent_copy_error = error.user_message[:1000]
        item.sent_copy_not_before = utcnow() + timedelta(seconds=retry_delay(item.sent_copy_attempts))
        item.sent_copy_lease_until = None
        session.commit()
        return
    finally:
        if own:
            connections.close()
    connections.filed[mailbox.id] = folder
    item.sent_copy = "done"
    item.sent_copy_folder = folder
    item.sent_copy_error = None
    item.sent_copy_lease_until = None
    session.commit()


def items(scope: str | None = None, state: str | None = None, limit: int = 200) -> list[OutboxItem]:
    query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if scope:
        query = query.where(OutboxItem.scope == scope)
    if state:
        query = query.where(OutboxItem.state == state)
    return list(_session().scalars(query))
