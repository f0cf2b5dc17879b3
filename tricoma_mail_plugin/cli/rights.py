"""``flask mail grant|revoke|rights``: a mailbox's rights from the shell (SPEC M6).

Operator commands like the rest of ``flask mail`` (shell access means full trust); every change
goes through :mod:`rights_matrix` and is audited with the actor ``cli``. A command that names an
unknown right, user or group changes nothing.
"""
from __future__ import annotations

import click

from ..errors import MailError
from ..rights import grants
from ..rights.directory import resolve_principal
from ._group import _mailbox, mail_cli

ACTOR = "cli"
PRINCIPAL_HELP = "user:NAME or group:NAME (a name or an id)"


def _principal(value: str, mailbox_id: int | None = None) -> tuple[str, str, str]:
    """``(kind, id, shown name)`` of ``user:NAME``/``group:NAME``. For ``mailbox_id``, a user or
    group deleted from the directory is still found by its id when it holds rights there."""
    kind, sep, key = value.partition(":")
    if not sep or kind not in grants.PRINCIPAL_KINDS or not key:
        raise click.BadParameter(f"{value!r} is not {PRINCIPAL_HELP}", param_hint="PRINCIPAL")
    principal = resolve_principal(kind, key)
    if principal is not None:
        return kind, str(principal.id), f"{kind} {principal.name} (#{principal.id})"
    if mailbox_id is not None:
        held = {row.id for row in grants.matrix(mailbox_id) if row.kind == kind}
        if key.lstrip("#") in held:
            return kind, key.lstrip("#"), f"deleted {kind} #{key.lstrip('#')}"
    raise click.ClickException(f"there is no {kind} {key!r}")


def _rights(values: tuple[str, ...]) -> list[str] | None:
    """The right keys asked for; ``None`` for ``all``. Refuses unknown keys, naming the known."""
    if "all" in values:
        return None
    known = [right.key for right in grants.ordered_rights()]
    unknown = [value for value in values if value not in known]
    if unknown:
        raise click.BadParameter(f"unknown right {', '.join(unknown)}; the rights are {', '.join(known)}",
                                 param_hint="RIGHT")
    return list(values)


def _report(changes: list[grants.RightsChange], shown: str, mailbox_id: int) -> None:
    done = grants.apply(mailbox_id, changes, actor=ACTOR)
    for change in changes:
        click.echo(f"{'granted' if change.give else 'revoked'} {change.right} "
                   f"{'to' if change.give else 'from'} {shown}")
    if not done:
        click.echo(f"nothing to change for {shown}")
    if not grants.has_manager(mailbox_id):
        click.echo("warning: no user or group manages this mailbox any more; only admins can change "
                   "its settings and rights", err=True)


@mail_cli.command("grant")
@click.argument("mailbox_id", type=int)
@click.argument("principal", metavar="PRINCIPAL")
@click.argument("rights", nargs=-1, required=True, metavar="RIGHT…")
def grant_command(mailbox_id: int, principal: str, rights: tuple[str, ...]) -> None:
    """Give PRINCIPAL (user:NAME or group:NAME) rights on a mailbox; RIGHT 'all' gives every
    right. Audited with the actor "cli"."""
    mailbox = _mailbox(mailbox_id)
    kind, principal_id, shown = _principal(principal)
    wanted = _rights(rights)
    if wanted is None:
        wanted = [right.key for right in grants.ordered_rights()]
    try:
        changes = grants.plan_grant(mailbox.id, kind, principal_id, wanted)
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    _report(changes, shown, mailbox.id)


@mail_cli.command("revoke")
@click.argument("mailbox_id", type=int)
@click.argument("principal", metavar="PRINCIPAL")
@click.argument("rights", nargs=-1, required=True, metavar="RIGHT…")
def revoke_command(mailbox_id: int, principal: str, rights: tuple[str, ...]) -> None:
    """Take rights on a mailbox from PRINCIPAL (user:NAME or group:NAME, or user:#ID of a deleted
    user); RIGHT 'all' takes every right. Audited with the actor "cli"."""
    mailbox = _mailbox(mailbox_id)
    kind, principal_id, shown = _principal(principal, mailbox.id)
    try:
        changes = grants.plan_revoke(mailbox.id, kind, principal_id, _rights(rights))
    except MailError as error:
        raise click.ClickException(error.user_message) from None
    _report(changes, shown, mailbox.id)


@mail_cli.command("rights")
@click.argument("mailbox_id", type=int)
def rights_command(mailbox_id: int) -> None:
    """List who holds which right on a mailbox (admins also manage every mailbox)."""
    mailbox = _mailbox(mailbox_id)
    click.echo(f"mailbox {mailbox.id}: {mailbox.title}")
    rows = grants.matrix(mailbox.id)
    if not rows:
        click.echo("no user or group holds a right")
    for row in rows:
        name = f"{row.name} ({row.label})" if row.known and row.label != row.name else (row.name or "(deleted)")
        order = [right.key for right in grants.ordered_rights()]
        held = sorted(row.rights, key=lambda key: (order.index(key) if key in order else len(order), key))
        click.echo(f"{row.kind:<5} {row.id:>6}  {name:<40} {', '.join(held)}")
    if not grants.has_manager(mailbox.id):
        click.echo("warning: no user or group manages this mailbox; only admins can change its "
                   "settings and rights", err=True)
