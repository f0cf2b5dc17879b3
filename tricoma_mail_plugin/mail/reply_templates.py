"""Reply templates and quick replies: of a mailbox (for everyone who writes from it) or
personal, in German or English, with ``{{ variables }}`` from the record the mail is about.

The variables come from the apps (the ``template_fields`` hook: an invoice offers
``invoice_number``, ``amount``, ``due_date``…) and from core (``my_name``, ``mailbox_name``).
A template is rendered in the sandbox of the record mail templates (``render_mail_template``):
it reads the values it is given and nothing else; one that tries more (``{{ ''.__class__ }}``,
``{{ cycler }}``) is refused when saved, and not rendered should such a row exist. A variable
the record has no value for is not filled in: it stays in the text as ``{{ name }}`` and is
named to the writer, and :func:`refuse_unfilled` (``before_send``) keeps every mail holding one
from being queued, so nothing ever leaves with ``{{…}}`` in it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from .._state import db_session
from ..errors import InvalidSettings, MailboxNotFound, SendVetoed
from ..models import Mailbox, ReplyTemplate, is_row_id, utcnow
from ..records.mail_templates import TemplateFailed, forbidden_reads, render_mail_template, template_variables
from ..records.template_fields import TemplateField, declared_fields
from ..rights import access

LANGUAGES = ("de", "en")
KINDS = ("template", "quick_reply")
MAX_BODY = 50_000
#: what an unfilled variable looks like in a text: ``{{ due_date }}``
UNFILLED = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def kind_labels() -> dict[str, str]:
    return {"template": _("Template"), "quick_reply": _("Quick reply")}


def language_labels() -> dict[str, str]:
    return {"de": _("German"), "en": _("English")}


@dataclass(frozen=True)
class TemplateInfo:
    """A template as the picker and the settings page show it."""

    id: int
    kind: str
    name: str
    language: str
    subject: str
    body: str
    mailbox_id: int | None
    mailbox_title: str | None  # None: a personal template

    def as_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "name": self.name, "language": self.language,
                "has_subject": bool(self.subject), "mailbox_id": self.mailbox_id, "mailbox": self.mailbox_title,
                "personal": self.mailbox_id is None}


@dataclass(frozen=True)
class Rendered:
    """A template filled in: ``missing`` names the variables left as ``{{ name }}``."""

    subject: str
    body: str
    kind: str
    missing: tuple[TemplateField, ...]

    def as_json(self) -> dict:
        return {"subject": self.subject, "body": self.body, "kind": self.kind,
                "missing": [{"name": f.name, "label": f.label} for f in self.missing]}


def _info(row: ReplyTemplate, titles: dict[int, str]) -> TemplateInfo:
    return TemplateInfo(row.id, row.kind, row.name, row.language, row.subject, row.body, row.mailbox_id,
                        titles.get(row.mailbox_id) if row.mailbox_id is not None else None)


def _titles(mailbox_ids) -> dict[int, str]:
    ids = sorted({i for i in mailbox_ids if i is not None})
    if not ids:
        return {}
    return dict(db_session().execute(select(Mailbox.id, Mailbox.title).where(Mailbox.id.in_(ids))).all())


def available(user, mailbox_ids: list[int]) -> list[TemplateInfo]:
    """The templates ``user`` may choose while writing from one of ``mailbox_ids``: the user's
    own and those of each of these mailboxes the user may read; templates before quick replies,
    the user's language first, then by name."""
    readable = [mailbox.id for mailbox in access.mailboxes_with(user, "read") if mailbox.id in set(mailbox_ids)]
    condition = ReplyTemplate.owner_id == str(user.get_id())
    if readable:
        condition = or_(condition, ReplyTemplate.mailbox_id.in_(readable))
    rows = list(db_session().scalars(select(ReplyTemplate).where(condition)))
    language = getattr(user, "language", None) or "de"
    rows.sort(key=lambda r: (r.kind != "template", r.language != language, r.language, r.name.casefold(), r.id))
    titles = _titles(r.mailbox_id for r in rows)
    return [_info(row, titles) for row in rows]


def manageable_mailboxes(user) -> list[Mailbox]:
    """The mailboxes whose templates ``user`` may edit: those the user manages."""
    return access.mailboxes_with(user, "manage")


def manageable(user) -> list[TemplateInfo]:
    """The templates ``user`` may edit: the user's own and those of mailboxes the user manages."""
    managed = [mailbox.id for mailbox in manageable_mailboxes(user)]
    condition = ReplyTemplate.owner_id == str(user.get_id())
    if managed:
        condition = or_(condition, ReplyTemplate.mailbox_id.in_(managed))
    rows = list(db_session().scalars(select(ReplyTemplate).where(condition)))
    rows.sort(key=lambda r: (r.mailbox_id is not None, r.mailbox_id or 0, r.kind, r.language, r.name.casefold()))
    titles = _titles(r.mailbox_id for r in rows)
    return [_info(row, titles) for row in rows]


class TemplateNotFound(MailboxNotFound):
    """The template does not exist, is another user's, or belongs to a mailbox the user holds
    no right on (or that is deleted): answered 404, so a foreign id tells nothing."""

    default_message = _l("The template does not exist (any more).")


def get(user, template_id: int, *, for_editing: bool = False) -> ReplyTemplate:
    """The template, if ``user`` may use it (*read* on its mailbox) or edit it (*manage*).
    Raises :class:`TemplateNotFound` (404) for a template the user may not know of, and
    :class:`NotAllowed` (403) when the user holds other rights on its mailbox only."""
    row = db_session().get(ReplyTemplate, template_id) if is_row_id(template_id) else None
    if row is None:
        raise TemplateNotFound()
    if row.mailbox_id is None:
        if row.owner_id != str(user.get_id()):
            raise TemplateNotFound()
        return row
    try:
        access.require(user, row.mailbox_id, "manage" if for_editing else "read")
    except MailboxNotFound:
        raise TemplateNotFound() from None
    return row


def save(user, template_id: int | None, *, scope: str, kind: str, name: str, language: str, subject: str,
         body: str) -> ReplyTemplate:
    """Create or change a template. ``scope`` is ``"personal"`` or a mailbox id the user
    manages. Refuses a template that does not parse or uses a variable no app offers. Commits."""
    name, subject = " ".join((name or "").split())[:200], " ".join((subject or "").split())[:998]
    body = (body or "").replace("\r\n", "\n")
    if not name:
        raise InvalidSettings(str(_l("Give the template a name.")), field="name")
    if kind not in KINDS:
        raise InvalidSettings(str(_l("Choose template or quick reply.")), field="kind")
    if language not in LANGUAGES:
        raise InvalidSettings(str(_l("Choose German or English.")), field="language")
    if not body.strip():
        raise InvalidSettings(str(_l("Write the template's text.")), field="body")
    if len(body) > MAX_BODY:
        raise InvalidSettings(str(_l("The text is too long.")), field="body")
    if kind == "quick_reply":
        subject = ""
    mailbox_id = None
    if scope != "personal":
        mailbox_id = int(scope) if str(scope).isdigit() else None
        if mailbox_id is None or mailbox_id not in {m.id for m in manageable_mailboxes(user)}:
            raise InvalidSettings(str(_l("Choose “Only me” or a mailbox you manage.")), field="scope")
    known = {field.name for field in declared_fields()}
    for field_name, text in (("subject", subject), ("body", body)):
        try:
            used = template_variables(text, name=name)
        except TemplateFailed as error:
            raise InvalidSettings(error.user_message, field=field_name) from None
        unknown = sorted(used - known)
        if unknown:
            raise InvalidSettings(str(_l("No app offers the variable %(names)s. Use one of the variables listed "
                                         "below.", names=", ".join("{{ %s }}" % n for n in unknown))),
                                  field=field_name)
        forbidden = forbidden_reads(text, name=name)
        if forbidden:
            raise InvalidSettings(_forbidden_message(forbidden), field=field_name)
    session = db_session()
    row = get(user, template_id, for_editing=True) if template_id is not None else ReplyTemplate()
    row.mailbox_id, row.owner_id = mailbox_id, (str(user.get_id()) if mailbox_id is None else None)
    row.kind, row.name, row.language, row.subject, row.body = kind, name, language, subject, body
    row.updated_at, row.updated_by = utcnow(), str(user.get_id())
    session.add(row)
    session.commit()
    return row


def delete(user, template_id: int) -> None:
    row = get(user, template_id, for_editing=True)
    db_session().delete(row)
    db_session().commit()


def _forbidden_message(forbidden: list[str]) -> str:
    return str(_l("The template reads %(names)s, which belongs to the program, not to the mail. Use only the "
                  "variables listed below.", names=", ".join(forbidden)))


def render(row: ReplyTemplate, fields: list[TemplateField]) -> Rendered:
    """Fill ``row`` in with ``fields``' values; a variable without a value stays ``{{ name }}``
    and is named in ``missing``. Raises :class:`TemplateFailed` for a broken template, and for
    one that reads more than its values (saved before :func:`save` refused that): it is not
    rendered at all."""
    forbidden = forbidden_reads(row.subject, row.name) + forbidden_reads(row.body, row.name)
    if forbidden:
        raise TemplateFailed(_forbidden_message(list(dict.fromkeys(forbidden))))
    values = {field.name: field.value for field in fields if field.value not in (None, "")}
    labels = {field.name: field.label for field in declared_fields()}
    labels.update({field.name: field.label for field in fields})
    used = template_variables(row.subject, row.name) | template_variables(row.body, row.name)
    missing = sorted(used - set(values))
    for name in missing:
        values[name] = "{{ %s }}" % name
    subject = " ".join(render_mail_template(row.subject, values, name=row.name).split()) if row.subject else ""
    body = render_mail_template(row.body, values, name=row.name)
    return Rendered(subject, body, row.kind, tuple(TemplateField(name, labels.get(name, name)) for name in missing))


def unfilled(text: str) -> list[str]:
    """The ``{{ name }}`` variables left in ``text``, in order, without repeats."""
    return list(dict.fromkeys(UNFILLED.findall(text or "")))


def refuse_unfilled(message) -> None:
    """``before_send``: a mail that still holds a template variable (``{{ due_date }}``, a name
    some app offers) is not queued; the message names the field, so the writer fills it in."""
    texts = [str(message.get("Subject") or "")]
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            try:
                texts.append(part.get_content())
            except (LookupError, ValueError):
                continue
    found = list(dict.fromkeys(name for text in texts for name in unfilled(text)))
    if not found:
        return
    labels = {field.name: field.label for field in declared_fields()}
    # Only the variables templates offer: a mail that quotes someone's "{{ x }}" still leaves.
    names = [name for name in found if name in labels]
    if not names:
        return
    raise SendVetoed(_("The mail still holds a template field without a value: %(fields)s. Fill it in "
                       "before sending.", fields=", ".join(f"{labels.get(n, n)} ({{{{ {n} }}}})" for n in names)))
