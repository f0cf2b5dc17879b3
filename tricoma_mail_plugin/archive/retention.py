"""How long archived mail is kept, legal holds, and the explicit purge run.

Retention starts at the end of the calendar year in which the mail was archived (§ 147 (4) AO)
and lasts the configured years (``TRICOMA_MAIL_ARCHIVE_RETENTION_YEARS``), a mailbox's own rule
if longer, and the years of each kind of record the mail is linked to if longer still
(``TRICOMA_MAIL_ARCHIVE_RETENTION_BY_RECORD_KIND``: invoices 10 years).

A purge run removes the bytes of entries whose retention has ended and that no legal hold
covers. The entries stay (append-only): each purged entry gets a purge record naming the run,
so ``archive verify`` still checks the whole chain and knows which bytes are gone by design.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from .._state import mail_state
from ..errors import InvalidSettings
from ..models import (
    ArchiveEntry,
    ArchiveHold,
    ArchivePurge,
    ArchivePurgeRun,
    ArchiveRetentionRule,
    ArchiveText,
    RecordLink,
    utcnow,
)
from ..rights.access import audit
from .storage import archive_storage

log = logging.getLogger(__name__)
MAX_YEARS = 100


@dataclass(frozen=True)
class Expired:
    """An entry whose retention has ended."""

    entry_id: int
    sha256: str
    mailbox_id: int | None
    retained_until: datetime
    held: bool  # a legal hold keeps it


@dataclass(frozen=True)
class PurgeResult:
    run_id: int | None  # None for a dry run
    purged: int
    held: int


def retained_until(archived_at: datetime, years: int) -> datetime:
    """The first moment after the retention: 1 January after ``years`` full years that start at
    the end of the year of ``archived_at``."""
    return datetime(archived_at.astimezone(UTC).year + years + 1, 1, 1, tzinfo=UTC)


def set_mailbox_retention(mailbox_id: int, years: int | None, actor: str) -> None:
    """Keep a mailbox's archived mail ``years`` years (``None``: the configured default). Audited."""
    session = mail_state().db.session
    if years is not None and not 1 <= years <= MAX_YEARS:
        raise InvalidSettings(f"retention must be 1 to {MAX_YEARS} years")
    rule = session.get(ArchiveRetentionRule, mailbox_id)
    if years is None:
        if rule is not None:
            session.delete(rule)
    elif rule is None:
        session.add(ArchiveRetentionRule(mailbox_id=mailbox_id, years=years))
    else:
        rule.years = years
    audit(actor, mailbox_id, "archive_retention", years=years)


def place_hold(mailbox_id: int | None, reason: str, actor: str) -> ArchiveHold:
    """A legal hold on one mailbox's archived mail (``None``: all of it). Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidSettings("a legal hold needs a reason")
    hold = ArchiveHold(mailbox_id=mailbox_id, reason=reason[:2000], created_by=actor)
    mail_state().db.session.add(hold)
    mail_state().db.session.flush()
    audit(actor, mailbox_id, "archive_hold", hold=hold.id, reason=reason[:500])
    return hold


def release_hold(hold_id: int, actor: str) -> ArchiveHold:
    session = mail_state().db.session
    hold = session.get(ArchiveHold, hold_id)
    if hold is None or hold.released_at is not None:
        raise InvalidSettings(f"there is no active legal hold {hold_id}")
    hold.released_at, hold.released_by = utcnow(), actor
    audit(actor, hold.mailbox_id, "archive_hold_released", hold=hold.id)
    return hold


def active_holds() -> list[ArchiveHold]:
    return list(mail_state().db.session.scalars(
        select(ArchiveHold).where(ArchiveHold.released_at.is_(None)).order_by(ArchiveHold.id)))


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


def _record_years(message_ids: Iterable[str]) -> dict[str, int]:
    """The longest retention a linked record asks for, by bare Message-ID."""
    by_kind = current_app.config["TRICOMA_MAIL_ARCHIVE_RETENTION_BY_RECORD_KIND"] or {}
    wanted = {_bare(mid) for mid in message_ids if mid}
    years: dict[str, int] = {}
    if not wanted or not by_kind:
        return years
    variants = list(wanted | {f"<{bare}>" for bare in wanted})
    for offset in range(0, len(variants), 500):
        for message_id, reference in mail_state().db.session.execute(
                select(RecordLink.message_id, RecordLink.reference)
                .where(RecordLink.message_id.in_(variants[offset:offset + 500]))):
            bare = _bare(message_id)
            kind_years = by_kind.get(reference.partition(":")[0])
            if kind_years:
                years[bare] = max(years.get(bare, 0), int(kind_years))
    return years


def expired_entries(now: datetime | None = None) -> list[Expired]:
    """Every entry not purged yet whose retention has ended, and whether a hold keeps it."""
    session = mail_state().db.session
    now = now or utcnow()
    default = int(current_app.config["TRICOMA_MAIL_ARCHIVE_RETENTION_YEARS"])
    by_mailbox = dict(session.execute(select(ArchiveRetentionRule.mailbox_id, ArchiveRetentionRule.years)).all())
    holds = active_holds()
    everything_held = any(hold.mailbox_id is None for hold in holds)
    held_mailboxes = {hold.mailbox_id for hold in holds}
    rows = session.execute(
        select(ArchiveEntry.id, ArchiveEntry.sha256, ArchiveEntry.mailbox_id, ArchiveEntry.archived_at,
               ArchiveEntry.message_id)
        .where(ArchiveEntry.id.not_in(select(ArchivePurge.entry_id))).order_by(ArchiveEntry.id)).all()
    # The shortest possible retention is the default or a mailbox's rule: only those past it
    # need their record links looked up.
    candidates = [row for row in rows
                  if retained_until(row.archived_at, max(default, by_mailbox.get(row.mailbox_id, 0))) <= now]
    linked = _record_years(row.message_id for row in candidates)
    expired = []
    for row in candidates:
        years = max(default, by_mailbox.get(row.mailbox_id, 0), linked.get(_bare(row.message_id), 0))
        until = retained_until(row.archived_at, years)
        if until <= now:
            held = everything_held or row.mailbox_id in held_mailboxes
            expired.append(Expired(row.id, row.sha256, row.mailbox_id, until, held))
    return expired


def purge(actor: str, reason: str, now: datetime | None = None, dry_run: bool = False) -> PurgeResult:
    """Remove the bytes of every expired entry no hold keeps, as one logged run (committed).
    Bytes another entry still needs (the same mail in a second mailbox) stay."""
    session = mail_state().db.session
    expired = expired_entries(now)
    doomed = [item for item in expired if not item.held]
    held = len(expired) - len(doomed)
    if dry_run or not doomed:
        return PurgeResult(None, len(doomed) if dry_run else 0, held)
    run = ArchivePurgeRun(actor=actor, entries=len(doomed), reason=(reason or "")[:2000])
    session.add(run)
    session.flush()
    session.execute(ArchivePurge.__table__.insert(), [
        {"entry_id": item.entry_id, "run_id": run.id, "retained_until": item.retained_until} for item in doomed])
    session.execute(ArchiveText.__table__.delete().where(
        ArchiveText.entry_id.in_([item.entry_id for item in doomed])))
    still_needed = set(session.scalars(select(ArchiveEntry.sha256).where(
        ArchiveEntry.sha256.in_({item.sha256 for item in doomed}),
        ArchiveEntry.id.not_in(select(ArchivePurge.entry_id)))))
    gone = {item.sha256 for item in doomed} - still_needed
    storage = archive_storage()
    if storage.transactional:
        storage.delete(gone)  # in the run's transaction; the guard checks each row
    audit(actor, None, "archive_purge", run=run.id, entries=len(doomed), reason=(reason or "")[:500])
    if not storage.transactional:
        storage.delete(gone)  # files go only once the run is on record
    log.warning("archive purge run %s by %s: %s entries past their retention, %s held", run.id, actor,
                len(doomed), held)
    return PurgeResult(run.id, len(doomed), held)
