"""The values of the sender check: what an app knows of a contact, and one warning."""
from __future__ import annotations

from dataclasses import dataclass

from .._i18n import _


@dataclass(frozen=True)
class KnownSender:
    """A contact an app knows (``tricoma_mail_known_senders`` hook): a customer, a supplier.

    ``addresses`` are the contact's e-mail addresses as the app records them; ``bank_accounts``
    the IBANs the app pays to or collects from (spaces allowed). ``kind`` is a word for the
    warning ("supplier", "customer"); ``name`` is the name the app shows.
    """

    name: str
    addresses: tuple[str, ...] = ()
    bank_accounts: tuple[str, ...] = ()
    kind: str = "contact"


@dataclass(frozen=True)
class SenderWarning:
    """One reason to distrust a message. ``code`` says which check raised it; ``details`` holds
    the values its text names. ``message`` is the text in the current language."""

    code: str
    details: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        return warning_text(self.code, **dict(self.details))

    def __str__(self) -> str:
        return self.message


#: Every code a warning may have, in the order the reading view shows them.
CODES = ("spf_fail", "dkim_fail", "dmarc_fail", "unaligned", "display_name", "lookalike", "reply_to",
         "bank_account")


def warning_text(code: str, **details: str) -> str:
    """The user-facing reason for ``code`` (each literal is its own msgid for the catalogue)."""
    if code == "spf_fail":
        return _("The sending server is not allowed to send mail for %(domain)s (SPF check failed): "
                 "the sender may be forged.", **details)
    if code == "dkim_fail":
        return _("The digital signature of %(domain)s does not match (DKIM check failed): the mail "
                 "was changed on its way or the sender is forged.", **details)
    if code == "dmarc_fail":
        return _("The mail claims to come from %(domain)s, but that domain's servers did not confirm "
                 "it (DMARC check failed): the sender is probably forged.", **details)
    if code == "unaligned":
        return _("The mail was authenticated for %(authenticated)s, not for %(domain)s, the domain "
                 "shown as sender: it is not confirmed that it comes from there.", **details)
    if code == "display_name":
        return _("The sender is named \"%(name)s\", like your contact, but writes from %(address)s, "
                 "which is not an address of that contact: this may be an impostor.", **details)
    if code == "lookalike":
        return _("The sender's domain %(domain)s looks like %(known)s, the domain of your contact "
                 "%(name)s, but is a different one: this may be an impostor.", **details)
    if code == "reply_to":
        return _("Replies go to %(reply_to)s, not to the domain of %(name)s, who appears as sender: "
                 "check the address before you answer.", **details)
    if code == "bank_account":
        return _("The mail names the bank account %(found)s, but the account on record for %(name)s "
                 "is %(recorded)s: confirm any change of bank details by phone before you pay.",
                 **details)
    raise ValueError(f"unknown sender warning {code!r}")
