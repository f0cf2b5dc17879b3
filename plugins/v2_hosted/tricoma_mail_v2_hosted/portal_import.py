"""Settings → tricoma Mail: the hosting portal's address and API token, and "Jetzt
Postfachdaten bei tricoma abholen", which imports every mailbox of the customer's account.

Importing again updates what changed (title, addresses, servers, app password) and never makes a
second mailbox: the key is the portal's mailbox id (table ``v2_hosted_portal_mailbox``). A mailbox
the portal no longer lists is marked as gone, never deleted: its cache stays until an admin
removes the mailbox. A new mailbox opens in v2, and the importing user gets manage on it, with
read, write, delete and send so it works for them at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from tricoma_mail_plugin import (
    DEFAULT_SIEVE_PORT,
    InvalidSettings,
    SecretBox,
    SecretUnreadable,
    create_mailbox,
    db_session,
    grant_mailbox_right,
    live_mailbox,
    mail_server_policy,
    mailbox_settings,
    run_connection_test,
    update_mailbox_settings,
    utcnow,
)

from . import marks
from .i18n import gettext as _
from .portal_client import (
    PortalAddressInvalid,
    PortalMailbox,
    PortalTokenRefused,
    fetch_mailboxes,
    normal_address,
)
from .tables import portal_connection, portal_mailboxes

CONNECTION_ID = 1
#: the rights the importing user gets on a new mailbox (manage comes with creating it)
OWNER_RIGHTS = ("read", "write", "delete", "send")
TOKEN_HINT_LENGTH = 12


@dataclass(frozen=True)
class PortalConnection:
    url: str
    token_hint: str
    saved_at: datetime
    imported_at: datetime | None


@dataclass
class ImportResult:
    """The logins of the portal's mailboxes by what the import did with them."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not usable yet (provisioning, failed)
    gone: list[str] = field(default_factory=list)  # newly missing from the portal
    failed_test: list[str] = field(default_factory=list)  # created or changed, but the connection test failed


@dataclass(frozen=True)
class ImportedMailbox:
    mailbox_id: int
    title: str
    login: str
    state: str
    gone_at: datetime | None


def http_loopback_allowed() -> bool:
    return bool(current_app.config.get("TRICOMA_MAIL_V2_PORTAL_HTTP_LOOPBACK", False))


def connection() -> PortalConnection | None:
    row = db_session().execute(select(portal_connection).where(portal_connection.c.id == CONNECTION_ID)).first()
    return PortalConnection(row.url, row.token_hint, row.saved_at, row.imported_at) if row else None


def save_connection(url: str, token: str, actor: str) -> None:
    """Store the portal's address and (unless ``token`` is empty and one is stored) the token,
    encrypted. Raises :class:`InvalidSettings` naming the field; commits."""
    if not (url or "").strip():
        raise InvalidSettings(_("Please enter the portal's address."), field="url")
    try:
        address = normal_address(url, http_loopback=http_loopback_allowed())
    except PortalAddressInvalid as error:
        raise InvalidSettings(error.user_message, field="url") from None
    token = (token or "").strip()
    stored = connection()
    if not token and stored is None:
        raise InvalidSettings(_("Please enter the API token."), field="token")
    if token and (len(token) > 200 or any(c.isspace() for c in token)):
        raise InvalidSettings(_("The API token is one word without spaces, as the portal showed it."), field="token")
    values = {"url": address, "saved_by": str(actor), "saved_at": utcnow()}
    if token:
        values.update(token_secret=SecretBox.from_app().encrypt({"token": token}),
                      token_hint=token[:TOKEN_HINT_LENGTH])
    session = db_session()
    if stored is None:
        session.execute(portal_connection.insert().values(id=CONNECTION_ID, **values))
    else:
        session.execute(portal_connection.update().where(portal_connection.c.id == CONNECTION_ID).values(**values))
    session.commit()


def import_mailboxes(user) -> ImportResult:
    """Fetch the account's mailboxes from the portal and create or update each here. Raises a
    :class:`~.portal_client.PortalError` (nothing changed) when the portal cannot be read."""
    address, token = _stored_address_and_token()
    config = current_app.config
    listed = fetch_mailboxes(address, token, policy=mail_server_policy(),
                             timeout=config["TRICOMA_MAIL_NETWORK_TIMEOUT"], ca_file=config["TRICOMA_MAIL_CA_FILE"])
    result = ImportResult()
    links = {row.portal_id: row for row in db_session().execute(select(portal_mailboxes))}
    for entry in listed:
        link = links.get(entry.id)
        mailbox = live_mailbox(link.mailbox_id) if link else None
        if not entry.usable:
            result.waiting.append(entry.login)
            if mailbox is not None:
                _record_link(entry, mailbox.id, new=False)
            continue
        if mailbox is None:
            mailbox = _create(entry, user, replaces_link=link is not None)
            result.created.append(entry.login)
        elif _update(mailbox, entry) | _update_sieve_port(mailbox, entry) or link.gone_at is not None \
                or link.state != entry.state:
            _record_link(entry, mailbox.id, new=False)
            result.updated.append(entry.login)
        else:
            result.unchanged.append(entry.login)
            continue
        if not mailbox.usable:  # new or changed servers: test them, as "Test" would, so it is used
            run_connection_test(mailbox, actor=str(user.get_id()))
            if not mailbox.usable:
                result.failed_test.append(entry.login)
    result.gone = _mark_gone(links, {entry.id for entry in listed})
    session = db_session()
    session.execute(portal_connection.update().where(portal_connection.c.id == CONNECTION_ID)
                    .values(imported_at=utcnow()))
    session.commit()
    return result


def imported_mailboxes() -> list[ImportedMailbox]:
    """Every imported mailbox that still exists here, gone ones first."""
    shown = []
    for row in db_session().execute(select(portal_mailboxes).order_by(portal_mailboxes.c.login)):
        mailbox = live_mailbox(row.mailbox_id)
        if mailbox is not None:
            shown.append(ImportedMailbox(mailbox.id, mailbox.title, row.login, row.state, row.gone_at))
    return sorted(shown, key=lambda item: item.gone_at is None)


def _stored_address_and_token() -> tuple[str, str]:
    row = db_session().execute(select(portal_connection).where(portal_connection.c.id == CONNECTION_ID)).first()
    if row is None:
        raise InvalidSettings(_("Please enter the portal's address and the API token first."), field="url")
    try:
        return row.url, SecretBox.from_app().decrypt(row.token_secret)["token"]
    except (SecretUnreadable, KeyError):
        raise PortalTokenRefused(_("The stored API token cannot be read. Please enter it again.")) from None


def _settings_values(entry: PortalMailbox) -> dict:
    # the portal's display name is the mail's sender name too (the mail went out as the bare address)
    values = {"title": entry.display_name.strip() or entry.login, "sender_name": entry.display_name.strip(),
              "email": entry.login,
              "extra_addresses": "\n".join(address for address in entry.addresses if address != entry.login)}
    for protocol, server in (("imap", entry.imap), ("smtp", entry.smtp)):
        values.update({f"{protocol}_host": server.host, f"{protocol}_port": server.port,
                       f"{protocol}_security": server.security, f"{protocol}_username": entry.username})
    return values


def _create(entry: PortalMailbox, user, replaces_link: bool):
    mailbox = create_mailbox(entry.display_name.strip() or entry.login, user)
    if replaces_link:  # its mailbox was removed here; the portal still lists it
        db_session().execute(portal_mailboxes.delete().where(portal_mailboxes.c.portal_id == entry.id))
    _record_link(entry, mailbox.id, new=True)
    update_mailbox_settings(mailbox, {**_settings_values(entry), "imap_password": entry.app_password,
                                      "smtp_password": entry.app_password})
    _update_sieve_port(mailbox, entry)
    for right in OWNER_RIGHTS:
        grant_mailbox_right(mailbox.id, "user", user.get_id(), right, actor=str(user.get_id()))
    marks.mark(mailbox.id, "portal")
    return mailbox


def _update(mailbox, entry: PortalMailbox) -> bool:
    """Bring ``mailbox`` in line with the portal; True when something changed."""
    values = {name: value for name, value in _settings_values(entry).items() if getattr(mailbox, name) != value}
    settings = mailbox_settings(mailbox)
    if settings.imap.password != entry.app_password:
        values["imap_password"] = entry.app_password
    if settings.smtp is None or settings.smtp.password != entry.app_password:
        values["smtp_password"] = entry.app_password
    if values:
        update_mailbox_settings(mailbox, values)
    return bool(values)


def _update_sieve_port(mailbox, entry: PortalMailbox) -> bool:
    """The portal's ManageSieve port, so filters and the vacation reply work without set-up
    (core asks the IMAP host on this port; None stands for the standard 4190). A portal that
    names no ManageSieve server leaves the port as it is. True when it changed."""
    if entry.sieve is None:
        return False
    port = None if entry.sieve.port == DEFAULT_SIEVE_PORT else entry.sieve.port
    if mailbox.sieve_port == port:
        return False
    mailbox.sieve_port = port
    db_session().commit()
    return True


def _record_link(entry: PortalMailbox, mailbox_id: int, new: bool) -> None:
    session = db_session()
    values = {"mailbox_id": mailbox_id, "login": entry.login, "state": entry.state, "gone_at": None}
    if new:
        session.execute(portal_mailboxes.insert().values(portal_id=entry.id, imported_at=utcnow(), **values))
    else:
        session.execute(portal_mailboxes.update().where(portal_mailboxes.c.portal_id == entry.id).values(**values))
    session.commit()


def _mark_gone(links: dict, listed_ids: set[int]) -> list[str]:
    gone = [link for portal_id, link in links.items() if portal_id not in listed_ids and link.gone_at is None]
    if gone:
        session = db_session()
        session.execute(portal_mailboxes.update()
                        .where(portal_mailboxes.c.portal_id.in_([link.portal_id for link in gone]))
                        .values(gone_at=utcnow()))
        session.commit()
    return sorted(link.login for link in gone)
