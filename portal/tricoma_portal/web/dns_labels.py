"""What each DNS record is for, and what a check found, in the user's language (the hosting
module's own texts are English)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

PURPOSES = {
    "mx": _l("Incoming mail goes to this server."),
    "spf": _l("SPF: this server may send mail for the domain."),
    "dkim": _l("DKIM: the public key receivers check signatures with."),
    "dmarc": _l("DMARC: what receivers do with mail that fails the checks."),
    "autoconfig": _l("Thunderbird finds the settings here."),
    "autodiscover": _l("Outlook finds the settings here."),
    "srv_imap": _l("Mail programs find the IMAP server."),
    "srv_imaps": _l("IMAP over implicit TLS is not offered."),
    "srv_submission": _l("Mail programs find the sending server."),
    "srv_autodiscover": _l("Outlook finds the autodiscover service."),
    "proof": _l("Proves that the domain is yours."),
}


def purpose(record) -> str:
    label = PURPOSES.get(getattr(record, "kind", ""))
    return str(label) if label else record.purpose


def problem(check) -> str:
    """Why a record failed, naming it and what it should be."""
    record = check.record
    if check.reason == "missing":
        return _("%(type)s record %(name)s is missing; it should be: %(value)s",
                 type=record.type, name=record.name, value=record.value)
    if check.reason == "wrong":
        return _("%(type)s record %(name)s is wrong; it should be: %(value)s",
                 type=record.type, name=record.name, value=record.value)
    return _("%(type)s record %(name)s could not be checked: %(problem)s",
             type=record.type, name=record.name, problem=check.problem)
