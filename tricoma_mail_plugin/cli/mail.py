"""``flask mail …``: the mailbox, sync and outbox commands for operators (shell access means full trust; the
commands do not act for a host user)."""
from __future__ import annotations

import mimetypes
import os
import sys
import time

import click
from flask import current_app
from sqlalchemy import select

from .._state import mail_state
from ..cache import refresh
from ..errors import MailError
from ..jobs.redis_link import broker_configured
from ..jobs.rq_queue import QUEUE_ORDER
from ..jobs.worker import run_worker
from ..mailboxes import filters, server_folders, service
from ..mailboxes.connection_steps import step_label
from ..mailboxes.secret_box import SecretBox
from ..mime.build import AttachmentData, OutgoingMessage
from ..models import Mailbox
from ..rights import access
from ..rights.catalogue import CORE_RIGHT_KEYS
from ..rights.directory import resolve_principal
from ..sending import outbox
from ._group import _mailbox, mail_cli


@mail_cli.command("test")
@click.argument("mailbox_id", type=int)
def test_command(mailbox_id: int) -> None:
    """Test a mailbox's IMAP and SMTP step by step; exit 0 only when every step passed."""
    steps = service.run_test(_mailbox(mailbox_id))
    for step in steps:
        mark = "ok  " if step.ok else ("skip" if step.code == "skipped" else "FAIL")
        click.echo(f"{mark} {step.protocol:<4} {step_label(step.step):<32} {step.code:<24} {step.message}"
                   + (f" ({step.detail})" if step.detail and not step.ok else ""))
    if not all(step.ok for step in steps):
        sys.exit(1)


@mail_cli.command("folders")
@click.argument("mailbox_id", type=int)
def folders_command(mailbox_id: int) -> None:
    """Print each folder role and the server folder it resolves to."""
    mailbox = _mailbox(mailbox_id)
    try:
        with service.backend_for(mailbox) as backend:
            folders = backend.list_folders()
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    for resolution in server_folders.resolve_roles(mailbox, folders):
        how = "mapping" if resolution.chosen_by_admin else "detected"
        shown = resolution.folder if resolution.folder else "(none: created on first use)"
        click.echo(f"{resolution.role:<8} {shown}" + (f"  [{how}]" if resolution.folder else ""))


@mail_cli.command("sync")
@click.argument("mailbox_id", type=int)
@click.option("--folder", "folders", multiple=True, help="Only this folder (repeatable).")
def sync_command(mailbox_id: int, folders: tuple[str, ...]) -> None:
    """Sync a mailbox (or some folders) into the local cache, with a progress bar."""
    mailbox = _mailbox(mailbox_id)
    bars: dict[str, object] = {}

    def progress(folder: str, done: int, total: int) -> None:
        bar = bars.get(folder)
        if bar is None and total:
            bar = bars[folder] = click.progressbar(length=total, label=f"{folder:<24}", file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)
            if done >= total:
                bar.__exit__(None, None, None)

    try:
        results = refresh.run_sync(mailbox, folders or None, progress,
                                   wait=current_app.config["TRICOMA_MAIL_SYNC_WAIT_SECONDS"])
    except MailError as error:
        detail = getattr(error, "detail", None)
        raise click.ClickException(error.user_message + (f" ({detail})" if detail else "")) from None
    for result in results:
        state = "unchanged" if result.unchanged else (
            f"{result.new} new, {result.flag_changes} flag changes, {result.expunged} expunged"
            + (", rebuilt after UIDVALIDITY change" if result.rebuilt else ""))
        click.echo(f"{result.folder:<30} {state} ({result.seconds:.2f} s)")


@mail_cli.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt every stored secret with the newest key of TRICOMA_MAIL_SECRET_KEYS."""
    session = mail_state().db.session
    box = SecretBox.from_app()
    count = 0
    for mailbox in session.scalars(select(Mailbox)):
        if mailbox.secrets:
            mailbox.secrets = box.rotate(mailbox.secrets)
            count += 1
    session.commit()
    click.echo(f"re-encrypted the secrets of {count} mailboxes")


@mail_cli.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, file pending Sent copies, then exit (no broker).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between outbox runs (no broker).")
@click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUE_ORDER),
              help="With a broker: only these queues (repeatable; default: all, the outbox first).")
@click.option("--burst", is_flag=True, help="With a broker: run what is queued, then exit.")
@click.option("--no-schedule", is_flag=True, help="With a broker: do not queue the periodic jobs.")
@click.option("--threads", default=4, show_default=True, help="With a broker: jobs run at once in this process.")
def worker_command(once: bool, interval: float, queues: tuple[str, ...], burst: bool, no_schedule: bool,
                   threads: int) -> None:
    """Run background jobs. With TRICOMA_MAIL_REDIS_URL: sync, send and clean up from the queue
    and schedule the periodic jobs; without: send the outbox. Any number of workers may run at
    once; none sends an item twice, and each periodic job runs once per period."""
    if broker_configured():
        click.echo("queue worker running; stop with Ctrl-C or SIGTERM (the job under way finishes)")
        run_worker(current_app._get_current_object(), queues or QUEUE_ORDER, burst=burst,
                   schedule=not no_schedule, threads=threads)
        return
    if once:
        click.echo(f"sent or settled {outbox.run_once()} items")
        return
    click.echo("outbox worker running; stop with Ctrl-C")
    while True:
        outbox.run_once()
        mail_state().db.session.remove()
        time.sleep(interval)


@mail_cli.command("send")
@click.argument("mailbox_id", type=int)
@click.option("--to", "to", multiple=True, required=True)
@click.option("--cc", "cc", multiple=True)
@click.option("--bcc", "bcc", multiple=True)
@click.option("--subject", required=True)
@click.option("--body-file", type=click.File("r", encoding="utf-8"), required=True)
@click.option("--html-file", type=click.File("r", encoding="utf-8"))
@click.option("--attach", "attachments", multiple=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--idempotency-key", default=None)
def send_command(mailbox_id, to, cc, bcc, subject, body_file, html_file, attachments, idempotency_key) -> None:
    """Queue a mail from a mailbox; prints the outbox id. The worker sends it."""
    mailbox = _mailbox(mailbox_id)
    files = []
    for path in attachments:
        with open(path, "rb") as handle:
            data = handle.read()
        files.append(AttachmentData(os.path.basename(path),
                                    mimetypes.guess_type(path)[0] or "application/octet-stream", data))
    message = OutgoingMessage(to=to, cc=cc, bcc=bcc, subject=subject, text=body_file.read(),
                              html=html_file.read() if html_file else None, attachments=tuple(files))
    try:
        item = outbox.enqueue_as_operator(mailbox, message, idempotency_key=idempotency_key)
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    click.echo(item.id)


@mail_cli.command("outbox")
@click.option("--state", type=click.Choice(["queued", "sending", "sent", "retry", "failed", "uncertain", "cancelled"]))
@click.option("--limit", default=50, show_default=True)
def outbox_command(state: str | None, limit: int) -> None:
    """List outbox items, newest first."""
    for item in outbox.items(state=state, limit=limit):
        click.echo(f"{item.id:>6} {item.state:<10} {item.scope:<12} sent-copy={item.sent_copy:<8} "
                   f"{item.created_at:%Y-%m-%d %H:%M} {', '.join(item.recipients)[:50]:<50} {item.subject[:40]}"
                   + (f"  [{item.last_error[:80]}]" if item.last_error else ""))


@mail_cli.command("create-mailbox")
@click.argument("title")
@click.option("--email", required=True)
@click.option("--password", required=True, help="Used for IMAP and SMTP.")
@click.option("--imap", "imap_server", required=True, help="HOST:PORT")
@click.option("--imap-security", type=click.Choice(["tls", "starttls", "none"]), default="tls", show_default=True)
@click.option("--smtp", "smtp_server", required=True, help="HOST:PORT")
@click.option("--smtp-security", type=click.Choice(["tls", "starttls", "none"]), default="starttls", show_default=True)
@click.option("--sender-name", default="")
@click.option("--sieve-port", type=click.IntRange(1, 65535), default=None,
              help="The ManageSieve port of the IMAP host (filters and vacation); default 4190.")
@click.option("--grant", "grants", multiple=True,
              help="user:NAME:RIGHT[,RIGHT…] or group:NAME:RIGHT[,RIGHT…] (repeatable); RIGHT 'all' = every core right.")
def create_mailbox_command(title, email, password, imap_server, imap_security, smtp_server, smtp_security,
                           sender_name, sieve_port, grants) -> None:
    """Create (or update, by e-mail address) a configured mailbox, test it and print its id."""
    session = mail_state().db.session
    mailbox = session.scalar(select(Mailbox).where(Mailbox.email == email, Mailbox.deleted_at.is_(None)))
    if mailbox is None:
        mailbox = Mailbox(title=title, created_by="cli", folder_roles={}, last_test_steps=[])
        session.add(mailbox)
        session.commit()
    imap_host, imap_port = _host_port(imap_server)
    smtp_host, smtp_port = _host_port(smtp_server)
    try:
        service.update_settings(mailbox, {
            "title": title, "email": email, "sender_name": sender_name,
            "imap_host": imap_host, "imap_port": imap_port, "imap_security": imap_security,
            "imap_username": email, "imap_password": password,
            "smtp_host": smtp_host, "smtp_port": smtp_port, "smtp_security": smtp_security,
            "smtp_username": email, "smtp_password": password})
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    if sieve_port is not None:
        filters.set_sieve_port(mailbox, str(sieve_port))
    for grant in grants:
        kind, _sep, rest = grant.partition(":")
        name, _sep, rights = rest.partition(":")
        principal = resolve_principal(kind, name)
        if principal is None:
            raise click.ClickException(f"no {kind} named {name}")
        wanted = CORE_RIGHT_KEYS if rights == "all" else tuple(r for r in rights.split(",") if r)
        for right in wanted:
            access.grant(mailbox.id, kind, principal.id, right)
    steps = service.run_test(mailbox)
    state = "tested" if mailbox.last_test_ok else "TEST FAILED: " + next(
        (s.message for s in steps if not s.ok and s.code != "skipped"), "")
    click.echo(f"{mailbox.id} {state}")


def _host_port(value: str) -> tuple[str, int]:
    host, _sep, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{value!r} is not HOST:PORT")
    return host, int(port)
