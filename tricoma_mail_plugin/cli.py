"""``flask mail …``: the extension's commands for operators (shell access means full trust; the
commands do not act for a host user)."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from . import mailbox_folders, mailboxes, sync
from .background import release_sync_lease, take_sync_lease
from .connection_steps import step_label
from .errors import MailError
from .extension import mail_state
from .models import Mailbox
from .secret_box import SecretBox

mail_cli = AppGroup("mail", help="tricoma mail: mailboxes, folders, sync.")


def _mailbox(mailbox_id: int) -> Mailbox:
    mailbox = mail_state().db.session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.deleted_at is not None:
        raise click.ClickException(f"there is no mailbox {mailbox_id}")
    return mailbox


@mail_cli.command("test")
@click.argument("mailbox_id", type=int)
def test_command(mailbox_id: int) -> None:
    """Test a mailbox's IMAP and SMTP step by step; exit 0 only when every step passed."""
    steps = mailboxes.run_test(_mailbox(mailbox_id))
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
        with mailboxes.backend_for(mailbox) as backend:
            folders = backend.list_folders()
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    for resolution in mailbox_folders.resolve_roles(mailbox, folders):
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

    if not take_sync_lease(mailbox.id, 3600):
        raise click.ClickException("another process is syncing this mailbox; try again later")
    try:
        results = sync.run_sync(mailbox, folders or None, progress)
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    finally:
        release_sync_lease(mailbox.id)
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
