"""A mailbox's filters and vacation reply on its ManageSieve server: read them, save the rule
editor's values or a hand-written script (checked by the server), and the server's port.

Every mailbox whose IMAP server also speaks ManageSieve gets them, whatever its backend.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .._i18n import _l
from .._state import mail_state
from ..errors import InvalidSettings
from ..models import CachedFolder, Mailbox
from ..rights.access import audit
from . import sieve_rules
from .service import settings_for
from .sieve_client import DEFAULT_PORT, sieve_session

MAX_SCRIPT_BYTES = 256 * 1024


@dataclass(frozen=True)
class FilterState:
    """What the server holds: the active script and the editor's values read from it."""

    active_name: str | None
    script: str
    filters: sieve_rules.FilterSet
    written_by_editor: bool  # the script carries the editor's values
    edited_by_hand: bool  # ... and its Sieve no longer matches them

    @property
    def foreign(self) -> bool:
        """Another program's script is active: saving rules replaces it."""
        return self.active_name is not None and not self.written_by_editor


def sieve_port(mailbox: Mailbox) -> int:
    return mailbox.sieve_port or DEFAULT_PORT


def load(mailbox: Mailbox) -> FilterState:
    """The mailbox's active Sieve script and the rules in it. Raises the connection errors of
    :func:`sieve_client.sieve_session`."""
    with sieve_session(settings_for(mailbox).imap, mailbox.sieve_port) as session:
        active = session.active_script()
    parsed = sieve_rules.parse(active.text)
    filters = parsed or sieve_rules.FilterSet()
    return FilterState(active.name, active.text, filters, parsed is not None,
                       parsed is not None and sieve_rules.edited_by_hand(active.text, parsed))


def own_addresses(mailbox: Mailbox) -> tuple[str, ...]:
    """The addresses mail to this mailbox comes to (the vacation reply answers only those)."""
    extra = [line.strip() for line in (mailbox.extra_addresses or "").splitlines() if line.strip()]
    return tuple(dict.fromkeys(address for address in [mailbox.email, *extra] if address))


def save(mailbox: Mailbox, filters: sieve_rules.FilterSet, actor: str) -> str:
    """Check the rules, write them as the mailbox's active script and return its text.
    Raises :class:`InvalidSettings` for a rule the editor cannot write and
    :class:`SieveScriptRejected` when the server refuses the script (nothing changes then)."""
    for rule in filters.rules:
        sieve_rules.check_rule(rule)
    sieve_rules.check_vacation(filters.vacation)
    vacation = filters.vacation
    filters = sieve_rules.FilterSet(filters.rules, sieve_rules.Vacation(
        vacation.enabled, vacation.subject, vacation.text, vacation.days, vacation.start, vacation.end,
        own_addresses(mailbox)))
    text = sieve_rules.render(filters)
    with sieve_session(settings_for(mailbox).imap, mailbox.sieve_port) as session:
        session.put_and_activate(sieve_rules.SCRIPT_NAME, text)
    audit(actor, mailbox.id, "filters_saved", rules=len(filters.rules), vacation=vacation.enabled)
    return text


def save_raw(mailbox: Mailbox, text: str, actor: str) -> str:
    """Store a hand-written script under the active script's name (or ours when none is
    active) and activate it. Raises :class:`SieveScriptRejected` with the server's error."""
    text = text.replace("\r\n", "\n")
    if len(text.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise InvalidSettings(_l("The script is too long."), field="script")
    with sieve_session(settings_for(mailbox).imap, mailbox.sieve_port) as session:
        name = session.active_script().name or sieve_rules.SCRIPT_NAME
        session.put_and_activate(name, text)
    audit(actor, mailbox.id, "filters_saved_raw", script=name)
    return name


def set_sieve_port(mailbox: Mailbox, value: str) -> None:
    """Store the ManageSieve port typed on the filters page ("" or 4190: the standard port)."""
    try:
        port = int(str(value).strip() or DEFAULT_PORT)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise InvalidSettings(_l("Enter a port from 1 to 65535."), field="sieve_port")
    mailbox.sieve_port = None if port == DEFAULT_PORT else port
    mail_state().db.session.commit()


def known_folders(mailbox: Mailbox) -> list[str]:
    """The mailbox's folders as last synced, for the "move to folder" choice."""
    query = select(CachedFolder.name).where(CachedFolder.mailbox_id == mailbox.id).order_by(CachedFolder.name)
    return list(mail_state().db.session.scalars(query))
