"""Mailboxes of a customer: create (the password is shown once), reset the password, quota,
delete; and their addresses: the first is the login, and a mailbox whose last address goes is
deleted after a grace period (undone by adding an address)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from . import provisioning_jobs
from .errors import Conflict, InvalidInput
from .extensions import db
from .hosting import passwords as mailbox_passwords
from .hosting_access import hosting_stack, stack_call
from .models import (
    DOMAIN_ACTIVE,
    MAILBOX_ACTIVE,
    MAILBOX_DELETING,
    MAILBOX_FAILED,
    MAILBOX_PROVISIONING,
    Alias,
    Domain,
    Mailbox,
    utcnow,
)

LOCAL_PART = re.compile(r"^(?!\.)(?!.*\.\.)[a-z0-9._+-]{1,64}(?<!\.)$")
MIB = 1024 * 1024


def tenant_mailboxes(tenant_id: int) -> list[Mailbox]:
    return list(db.session.scalars(
        select(Mailbox).where(Mailbox.tenant_id == tenant_id)
        .order_by(Mailbox.domain, Mailbox.local_part)
    ))


def _tenant_domain(tenant_id: int, domain_id: int | None) -> Domain:
    domain = db.session.get(Domain, domain_id) if domain_id else None
    if domain is None or domain.tenant_id != tenant_id or domain.state != DOMAIN_ACTIVE:
        raise InvalidInput(_("Please choose one of your active domains."))
    return domain


def _local_part(value: str) -> str:
    value = (value or "").strip().lower()
    if not LOCAL_PART.match(value):
        raise InvalidInput(_("A mailbox name has letters, digits and . _ + - (at most 64)."))
    return value


def _quota_bytes(quota_mb) -> int:
    config = current_app.config
    try:
        megabytes = int(quota_mb) if str(quota_mb).strip() else config["TRICOMA_PORTAL_DEFAULT_QUOTA_MB"]
    except ValueError:
        raise InvalidInput(_("The quota is a whole number of MB.")) from None
    if not 1 <= megabytes <= config["TRICOMA_PORTAL_MAX_QUOTA_MB"]:
        raise InvalidInput(_("The quota is between 1 and %(max)s MB.",
                             max=config["TRICOMA_PORTAL_MAX_QUOTA_MB"]))
    return megabytes * MIB


def _address_taken(address: str) -> bool:
    return db.session.scalar(select(Alias.id).where(Alias.address == address)) is not None or \
        db.session.scalar(select(Mailbox.id).where(
            (Mailbox.local_part + "@" + Mailbox.domain) == address)) is not None


def create_mailbox(tenant_id: int, name: str, domain_id: int | None, display_name: str = "",
                   quota_mb="") -> tuple[Mailbox, str]:
    """A new mailbox ``name@domain`` with a generated password, provisioned in the background.
    Returns the mailbox and the password (to be shown once)."""
    domain = _tenant_domain(tenant_id, domain_id)
    local_part = _local_part(name)
    address = f"{local_part}@{domain.name}"
    if _address_taken(address):
        raise InvalidInput(_("The address %(address)s is already in use.", address=address))
    password = mailbox_passwords.new_password()
    mailbox = Mailbox(
        tenant_id=tenant_id, domain=domain.name, local_part=local_part,
        display_name=(display_name or "").strip()[:200], quota=_quota_bytes(quota_mb),
        password_hash=mailbox_passwords.hash_password(password),
        state=MAILBOX_PROVISIONING, active=0,
    )
    mailbox.aliases.append(Alias(address=address, tenant_id=tenant_id))
    db.session.add(mailbox)
    db.session.commit()
    provisioning_jobs.start(mailbox.id, password)
    return mailbox, password


def retry_provisioning(mailbox: Mailbox) -> None:
    if mailbox.state != MAILBOX_FAILED:
        raise Conflict(_("Only a failed mailbox can be provisioned again."))
    mailbox.state, mailbox.failure_reason = MAILBOX_PROVISIONING, None
    db.session.commit()
    provisioning_jobs.start(mailbox.id)


def reset_password(mailbox: Mailbox) -> str:
    """A new generated password (returned once); the old one stops working at once."""
    password = mailbox_passwords.new_password()
    mailbox.password_hash = mailbox_passwords.hash_password(password)
    db.session.commit()
    return password


def set_quota(mailbox: Mailbox, quota_mb) -> None:
    mailbox.quota = _quota_bytes(quota_mb)
    db.session.commit()


def delete_mailbox(mailbox: Mailbox, confirmation: str) -> None:
    """Delete at once, mail included. ``confirmation`` must be the mailbox's login address."""
    if (confirmation or "").strip().lower() != mailbox.login:
        raise InvalidInput(_("Type the address %(login)s to confirm the deletion.",
                             login=mailbox.login))
    _purge(mailbox)


def _purge(mailbox: Mailbox) -> None:
    """Off the servers with its mail (the stack sets ``active = 0`` first), then the rows."""
    stack = hosting_stack()
    if stack is not None:
        with stack_call(f"purge {mailbox.login}"):
            stack.purge_mailbox(mailbox.id)
    db.session.delete(mailbox)
    db.session.commit()


# ------------------------------------------------------------------------------- addresses


def add_address(mailbox: Mailbox, address: str) -> Alias:
    """Assign an address on one of the customer's active domains. In the grace period this
    keeps the mailbox."""
    address = (address or "").strip().lower()
    local, _sep, domain_name = address.rpartition("@")
    domain = db.session.scalar(select(Domain).where(
        Domain.name == domain_name, Domain.tenant_id == mailbox.tenant_id,
        Domain.state == DOMAIN_ACTIVE))
    if domain is None:
        raise InvalidInput(_("The address must be on one of your active domains."))
    _local_part(local)
    if _address_taken(address) and address != mailbox.login:
        raise InvalidInput(_("The address %(address)s is already in use.", address=address))
    if any(alias.address == address for alias in mailbox.aliases):
        raise InvalidInput(_("The mailbox has this address already."))
    alias = Alias(address=address, tenant_id=mailbox.tenant_id)
    mailbox.aliases.append(alias)
    if mailbox.state == MAILBOX_DELETING:
        mailbox.state, mailbox.delete_after = MAILBOX_ACTIVE, None
    db.session.commit()
    return alias


def remove_address(mailbox: Mailbox, alias: Alias, deletion_confirmed: bool = False) -> None:
    """Remove an address. The login address goes last; removing the last address starts the
    grace period, after which the mailbox is purged: only with ``deletion_confirmed``."""
    if alias.mailbox_id != mailbox.id:
        raise InvalidInput(_("This address does not belong to the mailbox."))
    if alias.address == mailbox.login and len(mailbox.aliases) > 1:
        raise Conflict(_("The login address is removed last: remove the other addresses first."))
    days = grace_days()
    if len(mailbox.aliases) == 1 and not deletion_confirmed:
        raise Conflict(ngettext("Removing the last address deletes the mailbox with all its mail in "
                                "%(num)d day. Confirm it to go on.",
                                "Removing the last address deletes the mailbox with all its mail in "
                                "%(num)d days. Confirm it to go on.", days))
    mailbox.aliases.remove(alias)
    if not mailbox.aliases:
        mailbox.state, mailbox.delete_after = MAILBOX_DELETING, utcnow() + timedelta(days=days)
    db.session.commit()


def grace_days() -> int:
    """Days a mailbox without addresses is kept before it is purged."""
    return int(current_app.config["TRICOMA_PORTAL_GRACE_DAYS"])


def purge_expired(now: datetime | None = None) -> list[str]:
    """Purge every mailbox whose grace period is over; returns their logins."""
    now = now or utcnow()
    expired = list(db.session.scalars(select(Mailbox).where(
        Mailbox.state == MAILBOX_DELETING, Mailbox.delete_after <= now)))
    purged = []
    for mailbox in expired:
        purged.append(mailbox.login)
        _purge(mailbox)
    return purged

