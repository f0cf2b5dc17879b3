"""``flask mail archive …``: the operator's side of the GoBD archive (docs/archive.md): verify
the chain, legal holds, retention rules, the purge run, auditors, and an export from the shell.
Every change is audited with the actor ``cli``."""
from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select

from .._state import mail_state
from ..archive import auditors, retention
from ..archive.export import export_zip
from ..archive.search import ArchiveQuery, index_pending, search_archive
from ..archive.storage import archive_storage
from ..archive.verify import verify_archive
from ..errors import MailError
from ..models import ArchiveEntry
from ..rights.directory import resolve_principal
from ._group import mail_cli

ACTOR = "cli"


@mail_cli.group("archive")
def archive_cli() -> None:
    """The GoBD archive of every mail in and out."""


def _commit_or_fail(action) -> object:
    session = mail_state().db.session
    try:
        result = action()
        session.commit()
        return result
    except MailError as error:
        session.rollback()
        raise click.ClickException(error.user_message) from None


@archive_cli.command("verify")
def verify_command() -> None:
    """Recompute the hash chain and every stored mail's SHA-256; exit 1 naming the first broken entry."""
    report = verify_archive()
    if report.ok:
        click.echo(f"ok: {report.entries} entries, the chain and the stored bytes are intact "
                   f"({report.purged} purged by retention runs); head {report.head_hash}")
        return
    click.echo(f"BROKEN at entry {report.broken.entry_id}: {report.broken.reason} "
               f"({report.entries} entries before it are intact)")
    sys.exit(1)


@archive_cli.command("index")
def index_command() -> None:
    """Extract the search text of every archived mail not indexed yet (a search does some itself)."""
    done = index_pending(limit=10**9)
    click.echo(f"{done} entries indexed")


@archive_cli.command("stats")
def stats_command() -> None:
    """Entries, original bytes and stored bytes."""
    count, size = mail_state().db.session.execute(
        select(func.count(ArchiveEntry.id), func.coalesce(func.sum(ArchiveEntry.size), 0))).one()
    stored = archive_storage().stored_bytes()
    click.echo(f"{count} entries, {size} bytes of mail, {stored} bytes stored")


@archive_cli.command("hold")
@click.option("--mailbox", "mailbox_id", type=int, help="Only this mailbox's mail (default: every mailbox).")
@click.option("--reason", required=True, help="Why (e.g. the case or the tax audit).")
def hold_command(mailbox_id: int | None, reason: str) -> None:
    """Place a legal hold: nothing it covers is purged until it is released."""
    hold = _commit_or_fail(lambda: retention.place_hold(mailbox_id, reason, ACTOR))
    click.echo(f"legal hold {hold.id} placed")


@archive_cli.command("release")
@click.argument("hold_id", type=int)
def release_command(hold_id: int) -> None:
    """Release a legal hold."""
    _commit_or_fail(lambda: retention.release_hold(hold_id, ACTOR))
    click.echo(f"legal hold {hold_id} released")


@archive_cli.command("holds")
def holds_command() -> None:
    """List the active legal holds."""
    for hold in retention.active_holds():
        scope = f"mailbox {hold.mailbox_id}" if hold.mailbox_id is not None else "every mailbox"
        click.echo(f"{hold.id:>5} {scope:<16} since {hold.created_at:%Y-%m-%d} by {hold.created_by}: {hold.reason}")


@archive_cli.command("retention")
@click.argument("mailbox_id", type=int)
@click.argument("years", required=False, type=int)
def retention_command(mailbox_id: int, years: int | None) -> None:
    """Keep a mailbox's archived mail YEARS years (without YEARS: back to the default)."""
    _commit_or_fail(lambda: retention.set_mailbox_retention(mailbox_id, years, ACTOR))
    click.echo(f"mailbox {mailbox_id}: {years or 'default'} years")


@archive_cli.command("purge")
@click.option("--reason", required=True, help="Why this run (recorded with it).")
@click.option("--yes", is_flag=True, help="Remove for good; without it, only say what would be removed.")
def purge_command(reason: str, yes: bool) -> None:
    """Remove the bytes of mail whose retention has ended and that no legal hold keeps (logged run)."""
    result = _commit_or_fail(lambda: retention.purge(ACTOR, reason, dry_run=not yes))
    if not yes:
        click.echo(f"would purge {result.purged} entries ({result.held} kept by legal holds); "
                   "run again with --yes")
        return
    if result.run_id is None:
        click.echo(f"nothing to purge ({result.held} kept by legal holds)")
        return
    click.echo(f"purge run {result.run_id}: {result.purged} entries purged, {result.held} kept by legal holds")


@archive_cli.command("auditor")
@click.argument("action", type=click.Choice(["grant", "revoke", "list"]))
@click.argument("principal", required=False)
def auditor_command(action: str, principal: str | None) -> None:
    """Grant or revoke the auditor role (PRINCIPAL is user:NAME or group:NAME), or list it."""
    if action == "list":
        for kind, principal_id in auditors.auditors():
            click.echo(f"{kind}:{principal_id}")
        return
    kind, _sep, key = (principal or "").partition(":")
    found = resolve_principal(kind, key) if key else None
    if found is None:
        raise click.ClickException(f"there is no {principal!r} (use user:NAME or group:NAME)")
    change = auditors.grant_auditor if action == "grant" else auditors.revoke_auditor
    changed = _commit_or_fail(lambda: change(found, ACTOR))
    click.echo(f"{action} {kind} {found.name}: {'done' if changed else 'nothing to change'}")


@archive_cli.command("export")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text", default="", help="Only mail containing every word.")
@click.option("--mailbox", "mailbox_id", type=int)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]))
def export_command(target: Path, text: str, mailbox_id: int | None, since, until) -> None:
    """Write a ZIP of the matching mail (.eml files, index.csv, SHA256SUMS)."""
    query = ArchiveQuery(text=text, mailbox_id=mailbox_id, since=_utc(since), until=_utc(until))
    hits = search_archive(query, limit=10_000)
    data = _commit_or_fail(lambda: export_zip([hit.entry_id for hit in hits]))
    target.write_bytes(data)
    click.echo(f"{len(hits)} mails written to {target}")


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment else None
