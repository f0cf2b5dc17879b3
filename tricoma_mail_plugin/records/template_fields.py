"""The variables of reply templates: what the apps' records offer (the ``template_fields``
hook), plus the few core knows itself (the writer's name, the mailbox)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from .._state import mail_state
from .references import Reference


@dataclass(frozen=True)
class TemplateField:
    """One variable a reply template may use as ``{{ name }}``.

    ``name`` is a plain identifier (``invoice_number``); ``label`` what a user reads
    (``Invoice number``), in the current language; ``value`` the record's value as text, or
    ``None`` when the record lacks it (or when only the declaration was asked for); ``kind`` the
    reference kind that offers it (``invoice``), empty for core's own.
    """

    name: str
    label: str
    value: str | None = None
    kind: str = ""


def core_fields(user=None, mailbox=None) -> list[TemplateField]:
    """Core's own variables: who writes, from which mailbox."""
    name = (getattr(user, "name", None) or getattr(user, "display_name", None)) if user is not None else None
    return [TemplateField("my_name", _("Your name"), name or None),
            TemplateField("mailbox_name", _("Mailbox name"),
                          (mailbox.sender_name or mailbox.title) if mailbox is not None else None)]


def declared_fields() -> list[TemplateField]:
    """Every variable a template may use (values ``None``), core's first, without repeats."""
    return _merged(core_fields() + list(mail_state().hooks.collect("template_fields", reference=None, user=None,
                                                                   language=None)))


def offered_fields() -> list[TemplateField]:
    """Every variable as each app offers it (one name may come from several kinds: ``amount`` of
    an invoice and of an order), core's first: what the templates page lists."""
    seen: dict[tuple[str, str], TemplateField] = {}
    for field in core_fields() + list(mail_state().hooks.collect("template_fields", reference=None, user=None,
                                                                 language=None)):
        if isinstance(field, TemplateField):
            seen.setdefault((field.kind, field.name), field)
    return list(seen.values())


def fields_for(reference: Reference | None, user, mailbox=None, language: str = "de") -> list[TemplateField]:
    """The variables with their values, written in ``language``, for a mail about ``reference``
    (``None``: a mail linked to no record: only core's own have values)."""
    fields = core_fields(user, mailbox)
    if reference is not None:
        fields += [field for field in mail_state().hooks.collect("template_fields", reference=reference, user=user,
                                                                 language=language)
                   if isinstance(field, TemplateField)]
    return _merged(fields)


def _merged(fields: list) -> list[TemplateField]:
    seen: dict[str, TemplateField] = {}
    for field in fields:
        if isinstance(field, TemplateField) and field.name not in seen:
            seen[field.name] = field
    return list(seen.values())
