"""The sender check of one message: warnings only, none when all is well.

* **Authentication**: the receiving server's ``Authentication-Results`` (SPF, DKIM, DMARC) when
  the message has them; else our own DKIM verification when a key lookup is configured.
* **Known contacts** (what apps know through ``tricoma_mail_known_senders``): a contact's name
  with a foreign address, a look-alike of a contact's domain, replies diverted from a contact's
  domain (not for mailing lists, which set Reply-To as a rule), and an IBAN in a contact's mail
  that differs from the one on record.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..mime.html_text import html_to_plain_text
from ..mime.parse import Address, ParsedMessage, parse_message
from . import auth_results, domains, iban
from .dkim_check import DnsLookup, verify_signatures
from .values import CODES, KnownSender, SenderWarning

#: Headers that mark mail of a mailing list or a bulk sender (RFC 2369, 2919, 8058; Errors-To of
#: older list managers and newsletter services; Feedback-ID of bulk senders).
LIST_HEADERS = ("list-id", "list-post", "list-unsubscribe", "list-help", "list-subscribe", "mailing-list",
                "errors-to", "feedback-id")
MIN_NAME_CHARS = 4  # "Max" or "Info" alone names too many people to accuse anyone
_FAILED = ("fail", "softfail", "permerror")


@dataclass
class _Contacts:
    """The known senders indexed for the checks."""

    by_address: dict[str, list[KnownSender]] = field(default_factory=dict)
    by_name: dict[str, list[KnownSender]] = field(default_factory=dict)
    by_domain: dict[str, list[KnownSender]] = field(default_factory=dict)

    @classmethod
    def of(cls, known: Sequence[KnownSender]) -> _Contacts:
        contacts = cls()
        for sender in known:
            for address in sender.addresses:
                address = (address or "").strip().lower()
                if "@" not in address:
                    continue
                contacts.by_address.setdefault(address, []).append(sender)
                domain = domains.address_domain(address)
                if domain and domain not in domains.PUBLIC_MAIL_DOMAINS:
                    contacts.by_domain.setdefault(domain, []).append(sender)
            name = _name_key(sender.name)
            if len(name) >= MIN_NAME_CHARS and sender.addresses:
                contacts.by_name.setdefault(name, []).append(sender)
        return contacts

    def sender_of(self, address: str) -> KnownSender | None:
        """The contact who writes from ``address`` (its own address, or its company's domain)."""
        address = address.lower()
        found = self.by_address.get(address) or self.by_domain.get(domains.address_domain(address))
        return found[0] if found else None


def _name_key(name: str) -> str:
    name = unicodedata.normalize("NFKC", name or "").casefold()
    return " ".join(re.sub(r"[\"'`´<>()]", " ", name).split())


def check_message(raw: bytes, known: Sequence[KnownSender] = (), *, trusted_authserv_ids: Sequence[str] = (),
                  dkim_lookup: DnsLookup | None = None) -> tuple[SenderWarning, ...]:
    """The warnings for one raw message, in the order of :data:`~.values.CODES`, each code once.

    ``known`` are the contacts apps know; ``trusted_authserv_ids`` the ids of the receiving
    servers whose ``Authentication-Results`` count (empty: the topmost header's); ``dkim_lookup``
    fetches DKIM keys for our own verification (``None``: no verification of our own).
    """
    parsed = parse_message(raw)
    sender = parsed.from_[0] if parsed.from_ else None
    warnings = authentication_warnings(raw, parsed, sender, trusted_authserv_ids, dkim_lookup)
    if sender is not None and "@" in sender.email:
        warnings += contact_warnings(parsed, sender, _Contacts.of(known))
    unique = {warning.code: warning for warning in reversed(warnings)}
    return tuple(unique[code] for code in CODES if code in unique)


# -- authentication -----------------------------------------------------------------------------

def authentication_warnings(raw: bytes, parsed: ParsedMessage, sender: Address | None,
                            trusted_ids: Sequence[str], dkim_lookup: DnsLookup | None) -> list[SenderWarning]:
    from_domain = sender.email.rpartition("@")[2].lower() if sender and "@" in sender.email else ""
    values = [value for name, value in parsed.headers if name.lower() == "authentication-results"]
    results = auth_results.trusted_results(values, trusted_ids)
    if results is not None:
        return _judge_results(results, from_domain)
    if dkim_lookup is None:
        return []
    signatures = verify_signatures(raw, dkim_lookup)
    if not signatures:
        return []
    results = [auth_results.AuthResult("dkim", "pass" if s.valid else "fail", (("header.d", s.domain),))
               for s in signatures]
    return _judge_results(results, from_domain)


def _judge_results(results: list[auth_results.AuthResult], from_domain: str) -> list[SenderWarning]:
    """Quiet when DMARC passed or an aligned SPF/DKIM pass stands; otherwise what failed."""
    by_method: dict[str, list[auth_results.AuthResult]] = {}
    for result in results:
        by_method.setdefault(result.method, []).append(result)
    dmarc = by_method.get("dmarc", [])
    if any(r.result == "pass" for r in dmarc):
        return []
    if any(r.result == "fail" for r in dmarc):
        domain = next((r.get("header.from") for r in dmarc if r.get("header.from")), from_domain)
        return [SenderWarning("dmarc_fail", (("domain", domain),))]
    spf_passes = [_spf_domain(r) for r in by_method.get("spf", []) if r.result == "pass"]
    dkim_passes = [r.get("header.d") for r in by_method.get("dkim", []) if r.result == "pass"]
    if any(domains.aligned(domain, from_domain) for domain in spf_passes + dkim_passes):
        return []
    warnings = []
    spf_failed = [r for r in by_method.get("spf", []) if r.result in _FAILED]
    if spf_failed:
        warnings.append(SenderWarning("spf_fail", (("domain", _spf_domain(spf_failed[0]) or from_domain),)))
    dkim_failed = [r for r in by_method.get("dkim", []) if r.result in _FAILED]
    if dkim_failed and not dkim_passes:
        warnings.append(SenderWarning("dkim_fail", (("domain", dkim_failed[0].get("header.d") or from_domain),)))
    passed = [domain for domain in spf_passes + dkim_passes if domain]
    if passed and from_domain and not warnings:
        warnings.append(SenderWarning("unaligned", (("authenticated", ", ".join(dict.fromkeys(passed))),
                                                    ("domain", from_domain))))
    return warnings


def _spf_domain(result: auth_results.AuthResult) -> str:
    mail_from = result.get("smtp.mailfrom") or result.get("smtp.helo")
    return mail_from.rpartition("@")[2].lower()


# -- known contacts -----------------------------------------------------------------------------

def contact_warnings(parsed: ParsedMessage, sender: Address, contacts: _Contacts) -> list[SenderWarning]:
    address = sender.email.lower()
    domain = domains.address_domain(address)
    known = contacts.sender_of(address)
    warnings = []
    impersonated = _impersonated(sender, address, domain, contacts)
    if impersonated is not None:
        warnings.append(SenderWarning("display_name", (("name", sender.name.strip()), ("address", address))))
    if known is None:
        lookalike = _lookalike(domain, contacts)
        if lookalike is not None:
            warnings.append(lookalike)
        return warnings
    if not _is_list_mail(parsed):
        diverted = _diverted_reply(parsed.reply_to, known, domain, contacts)
        if diverted is not None:
            warnings.append(SenderWarning("reply_to", (("reply_to", diverted), ("name", known.name))))
    changed = _changed_bank_account(parsed, known)
    if changed is not None:
        warnings.append(changed)
    return warnings


def _impersonated(sender: Address, address: str, domain: str, contacts: _Contacts) -> KnownSender | None:
    """The contact whose name (or address) the display name shows, when the mail does not come
    from that contact's own address or company domain."""
    name = _name_key(sender.name)
    candidates = list(contacts.by_name.get(name, ()))
    for shown in re.findall(r"[\w.+\-]+@[\w.\-]+", sender.name or ""):
        if shown.lower() != address:
            candidates.extend(contacts.by_address.get(shown.lower(), ()))
    if not candidates:
        return None
    for contact in candidates:
        own_addresses = {a.strip().lower() for a in contact.addresses}
        own_domains = {domains.address_domain(a) for a in own_addresses} - domains.PUBLIC_MAIL_DOMAINS
        if address in own_addresses or domain in own_domains:
            return None
    return candidates[0]


def _lookalike(domain: str, contacts: _Contacts) -> SenderWarning | None:
    if not domain or domain in domains.PUBLIC_MAIL_DOMAINS:
        return None
    for known_domain, senders in contacts.by_domain.items():
        if domains.looks_like(domain, known_domain):
            return SenderWarning("lookalike", (("domain", domain), ("known", known_domain),
                                               ("name", senders[0].name)))
    return None


def _is_list_mail(parsed: ParsedMessage) -> bool:
    names = {name.lower() for name, _value in parsed.headers}
    precedence = " ".join(value.lower() for name, value in parsed.headers if name.lower() == "precedence")
    return bool(names.intersection(LIST_HEADERS)) or "list" in precedence or "bulk" in precedence


def _diverted_reply(reply_to: Sequence[Address], known: KnownSender, from_domain: str,
                    contacts: _Contacts) -> str | None:
    """The first Reply-To address outside the sender's domain and the contact's own addresses."""
    own = {a.strip().lower() for a in known.addresses}
    for target in reply_to:
        address = target.email.lower()
        if "@" not in address or address in own:
            continue
        target_domain = domains.address_domain(address)
        if target_domain == from_domain and from_domain not in domains.PUBLIC_MAIL_DOMAINS:
            continue
        if known in contacts.by_domain.get(target_domain, ()):
            continue
        return address
    return None


def _changed_bank_account(parsed: ParsedMessage, known: KnownSender) -> SenderWarning | None:
    recorded = [iban.normalize(account) for account in known.bank_accounts if iban.is_valid(account)]
    if not recorded:
        return None
    text = parsed.text if parsed.text is not None else html_to_plain_text(parsed.html or "")
    # Quoted lines are what someone else wrote earlier (often our own bank details).
    written = "\n".join(line for line in (text or "").splitlines() if not line.lstrip().startswith(">"))
    for found in iban.find_ibans(parsed.subject + "\n" + written):
        if found not in recorded:
            return SenderWarning("bank_account", (("found", iban.spaced(found)), ("name", known.name),
                                                  ("recorded", ", ".join(iban.spaced(r) for r in recorded))))
    return None
