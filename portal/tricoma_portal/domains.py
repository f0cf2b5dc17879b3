"""Domains of a customer: names, one whose DNS stays elsewhere (proven by a TXT token), making
a domain live (its DKIM key), the DNS records mail needs and "Check DNS". Orders and transfers
are in ``domain_orders``."""
from __future__ import annotations

import re
import secrets

import dns.exception
import dns.resolver
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from . import secret_box
from .errors import Conflict, InvalidInput
from .extensions import db
from .hosting import dkim, dns_check, dns_records
from .hosting_access import dns_resolver, hosting_stack, server_settings, stack_call
from .models import (
    DOMAIN_ACTIVE,
    DOMAIN_PENDING,
    DOMAIN_REJECTED,
    SOURCE_EXTERNAL,
    Domain,
    DomainOrder,
    Mailbox,
    utcnow,
)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_NAME = re.compile(rf"^(?=.{{4,253}}$)({_LABEL}\.)+[a-z][a-z0-9-]{{1,62}}$")


def normalise_domain_name(name: str) -> str:
    name = (name or "").strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(_("That is not a valid domain name.")) from None
    if not DOMAIN_NAME.match(name):
        raise InvalidInput(_("That is not a valid domain name."))
    return name


def new_domain(tenant_id: int, name: str, source: str) -> Domain:
    name = normalise_domain_name(name)
    if db.session.scalar(select(Domain.id).where(Domain.name == name)) is not None:
        raise InvalidInput(_("The domain %(name)s is already in the portal.", name=name))
    domain = Domain(name=name, tenant_id=tenant_id, source=source, state=DOMAIN_PENDING, active=0)
    db.session.add(domain)
    return domain


def add_external_domain(tenant_id: int, name: str) -> Domain:
    """A domain whose DNS stays with the customer: active once its TXT token is published."""
    domain = new_domain(tenant_id, name, SOURCE_EXTERNAL)
    domain.verification_token = "tricoma-verify=" + secrets.token_urlsafe(24)
    db.session.commit()
    return domain


def verification_record_name(domain: Domain) -> str:
    return f"{current_app.config['TRICOMA_PORTAL_VERIFICATION_PREFIX']}.{domain.name}"


def verify_external_domain(domain: Domain) -> bool:
    """Look for the TXT token at the configured resolver; activate the domain when it is there."""
    if domain.source != SOURCE_EXTERNAL or domain.state != DOMAIN_PENDING:
        raise Conflict(_("This domain does not wait for a proof."))
    if domain.verification_token not in _txt_strings(verification_record_name(domain)):
        return False
    domain.verified_at = utcnow()
    activate_domain(domain)
    return True


def _txt_strings(name: str) -> set[str]:
    host, port = dns_resolver()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [host], port, 5.0
    try:
        answer = resolver.resolve(name, "TXT")
    except dns.exception.DNSException:
        return set()
    return {b"".join(record.strings).decode("utf-8", "replace") for record in answer}


def activate_domain(domain: Domain) -> None:
    """Make a domain live: its own DKIM key pair (the private half encrypted at rest and handed
    to the signing milter), then ``active = 1`` for Postfix and Dovecot. Commits."""
    selector, private_pem, public_b64 = dkim.generate_key(domain.name)
    domain.dkim_selector = selector
    domain.dkim_private_key = secret_box.encrypt(private_pem)
    domain.dkim_public_key = public_b64
    stack = hosting_stack()
    if stack is not None:
        with stack_call("install a DKIM key"):
            stack.install_dkim_key(domain.name, selector, private_pem)
    domain.state = DOMAIN_ACTIVE
    domain.active = 1
    db.session.commit()


def restore_on_stack() -> int:
    """Hand every active domain's DKIM key to the stack again, and serve the zones of the domains
    the hoster registered (after the stack's state was lost, e.g. a new machine). Returns how
    many domains were restored."""
    stack = hosting_stack()
    restored = 0
    for domain in db.session.scalars(select(Domain).where(Domain.state == DOMAIN_ACTIVE)):
        private_pem = secret_box.decrypt(domain.dkim_private_key) if domain.dkim_private_key else None
        with stack_call(f"restore {domain.name}"):
            if private_pem:
                stack.install_dkim_key(domain.name, domain.dkim_selector, private_pem)
            if domain.source != SOURCE_EXTERNAL:
                stack.publish_zone(domain.name, expected_records(domain))
        restored += 1
    return restored


def expected_records(domain: Domain) -> list:
    """The DNS records the domain needs for mail (none before it has its DKIM key, or without
    a hosting stack to point them to)."""
    settings = server_settings()
    if not domain.dkim_selector or not settings:
        return []
    return list(dns_records.records_for(
        domain.name, domain.dkim_selector, domain.dkim_public_key, settings
    ))


def check_dns(domain: Domain) -> list:
    """Each expected record checked against the configured resolver."""
    return list(dns_check.check(domain.name, expected_records(domain), resolver=dns_resolver()))


def tenant_domains(tenant_id: int) -> list[Domain]:
    return list(db.session.scalars(
        select(Domain).where(Domain.tenant_id == tenant_id).order_by(Domain.name)
    ))


def active_domains(tenant_id: int) -> list[Domain]:
    return [domain for domain in tenant_domains(tenant_id) if domain.state == DOMAIN_ACTIVE]


def delete_domain(domain: Domain) -> None:
    """Remove a rejected order's domain or an own domain not proven yet."""
    if not (domain.state == DOMAIN_REJECTED
            or (domain.source == SOURCE_EXTERNAL and domain.state == DOMAIN_PENDING)):
        raise Conflict(_("Only rejected or unproven domains can be removed here."))
    if db.session.scalar(select(Mailbox.id).where(Mailbox.domain == domain.name).limit(1)):
        raise Conflict(_("Delete the domain's mailboxes first."))
    db.session.execute(delete(DomainOrder).where(DomainOrder.domain_id == domain.id))
    db.session.delete(domain)
    db.session.commit()
