"""The rows of a message list, formatted once per request: what the HTML table and the JSON list
show of each message. Everything that is the same for every row (translations, the date
patterns of the user's locale, the URL of a mailbox's messages) is looked up once per page;
per row only the message's own values are formatted."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime

from babel import dates as babel_dates
from flask import g, url_for
from flask_babel import format_decimal, get_locale, get_timezone
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..cache.listing import ListedMessage
from ..mime.headers import sender_label as address_label
from .tag_chips import chips_html


@functools.lru_cache(maxsize=4096)
def sender_label(value: str) -> str:
    """The display name of the first address of a header (else the address, else the text):
    the name the reading view shows for the same header."""
    return address_label(value)


def locale_and_zone():
    """The user's locale and time zone, looked up once per request: a list formats 50 dates,
    and Flask-Babel looks both up again for each."""
    found = g.get("_tricoma_mail_locale_zone")
    if found is None:
        found = (get_locale(), get_timezone())
        g._tricoma_mail_locale_zone = found
    return found


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    mailbox_id: int
    mailbox_title: str
    folder: str
    url: str
    select_label: str
    unread: bool
    flagged: bool
    answered: bool
    has_attachment: bool
    correspondent: str  # the sender's name, or the first recipient's in Sent and Drafts
    subject: str  # "(no subject)" when there is none
    preview: str
    date: str  # ISO 8601, "" when unknown
    date_label: str  # today's mail by its time, older mail by its date
    date_title: str  # date and time in full
    size: str
    # the threading headers, for clients that group conversations
    message_id: str
    in_reply_to: str
    references: str
    keywords: tuple[str, ...] = ()  # IMAP keywords (tags)

    def as_json(self) -> dict:
        return {name: getattr(self, name) for name in _ROW_FIELDS}


_ROW_FIELDS = tuple(f.name for f in fields(MessageRow))


class RowFormatter:
    """Formats rows for the current request's user: one per request (:func:`row_formatter`)."""

    def __init__(self) -> None:
        self.locale, self.zone = locale_and_zone()
        self.today = datetime.now(self.zone).date()
        self.no_subject = _("(no subject)")
        self.select = _("Select: %(subject)s", subject="\x00").split("\x00")
        self.sizes = (_("%(n)s B", n="\x00").split("\x00"), _("%(n)s KB", n="\x00").split("\x00"),
                      _("%(n)s MB", n="\x00").split("\x00"))
        self.short_time = babel_dates.parse_pattern(babel_dates.get_time_format("short", self.locale))
        self.medium_time = babel_dates.parse_pattern(babel_dates.get_time_format("medium", self.locale))
        self.medium_date = babel_dates.parse_pattern(babel_dates.get_date_format("medium", self.locale))
        self.date_and_time = babel_dates.get_datetime_format("medium", self.locale).replace("'", "")
        self._dates: dict[date, str] = {}
        self._url_prefixes: dict[int, str] = {}

    def rows(self, messages: Iterable[ListedMessage], sent_folder: bool = False) -> list[MessageRow]:
        return [self.row(message, sent_folder) for message in messages]

    def row(self, m: ListedMessage, sent_folder: bool = False) -> MessageRow:
        subject = m.subject or self.no_subject
        when = m.date.astimezone(self.zone) if m.date is not None else None
        return MessageRow(
            m.id, m.mailbox_id, m.mailbox_title, m.folder, self._url(m.mailbox_id) + str(m.id),
            subject.join(self.select), not m.seen, m.flagged, m.answered, m.has_attachment,
            sender_label(m.to if sent_folder else m.from_) or "—", subject, m.preview,
            m.date.isoformat() if m.date is not None else "",
            self._label(when), self._title(when), self.size(m.size), m.message_id, m.in_reply_to, m.references,
            m.keywords)

    def _url(self, mailbox_id: int) -> str:
        prefix = self._url_prefixes.get(mailbox_id)
        if prefix is None:
            # the route ends in the message's id: build it once per mailbox, then append
            prefix = url_for("tricoma_mail_message.read", mailbox_id=mailbox_id, message_pk=1)[:-1]
            self._url_prefixes[mailbox_id] = prefix
        return prefix

    def _day(self, day: date) -> str:
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = self.medium_date.apply(day, self.locale)
        return text

    def date_label(self, moment: datetime | None) -> str:
        """Today's mail by its time, older mail by its date."""
        return self._label(moment.astimezone(self.zone) if moment is not None else None)

    def date_title(self, moment: datetime | None) -> str:
        """Date and time in full."""
        return self._title(moment.astimezone(self.zone) if moment is not None else None)

    def _label(self, when: datetime | None) -> str:
        if when is None:
            return "—"
        if when.date() == self.today:
            return self.short_time.apply(when, self.locale)
        return self._day(when.date())

    def _title(self, when: datetime | None) -> str:
        if when is None:
            return "—"
        return (self.date_and_time.replace("{0}", self.medium_time.apply(when, self.locale))
                .replace("{1}", self._day(when.date())))

    def size(self, size: int | None) -> str:
        """A size in B, KB or MB."""
        size = size or 0
        if size < 1024:
            return str(size).join(self.sizes[0])
        if size < 1024 * 1024:
            return str(max(1, round(size / 1024))).join(self.sizes[1])
        return format_decimal(round(size / 1024 / 1024, 1), format="#,##0.#").join(self.sizes[2])


def row_formatter() -> RowFormatter:
    """The current request's formatter."""
    formatter = g.get("_tricoma_mail_row_formatter")
    if formatter is None:
        formatter = g._tricoma_mail_row_formatter = RowFormatter()
    return formatter


def message_rows(messages: Iterable[ListedMessage], sent_folder: bool = False) -> list[MessageRow]:
    """The rows of ``messages`` for the current request's user."""
    return row_formatter().rows(messages, sent_folder)


def rows_html(rows: list[MessageRow], unified: bool, clip_icon: str, reading_query: str = "",
              edit_drafts: bool = False) -> Markup:
    """The ``<tr>`` of each row of a message table (``_macros.html``'s ``message_table``). Written
    here rather than by a loop in the template: a list page is mostly these rows, and a template
    pays for every lookup and escape of every row through its context; here each value is
    escaped once, straight from the row. A row links to the reading view with ``reading_query``
    (the list's order, for its previous and next message), or, with ``edit_drafts`` (rows of a
    Drafts folder), to the draft in the editor."""
    editor_urls: dict[int, str] = {}

    def link(m: MessageRow) -> str:
        if not edit_drafts:
            return m.url + reading_query
        prefix = editor_urls.get(m.mailbox_id)
        if prefix is None:
            prefix = editor_urls[m.mailbox_id] = (
                url_for("tricoma_mail_compose.compose", mailbox_id=m.mailbox_id) + "?mode=draft&source=")
        return prefix + str(m.id)

    labels = [escape(label) for label in (_("Unread"), _("Flagged"), _("Answered"), _("Has an attachment"))]
    unread, flagged, answered, attachment = labels
    markers = (
        (f'<span class="marker unread-marker" title="{unread}" aria-hidden="true">●</span>'
         f'<span class="visually-hidden">{unread}</span>'),
        (f'<span class="marker flag-marker" title="{flagged}" aria-hidden="true">★</span>'
         f'<span class="visually-hidden">{flagged}</span>'),
        (f'<span class="marker answered-marker" title="{answered}" aria-hidden="true">↩</span>'
         f'<span class="visually-hidden">{answered}</span>'),
        (f'<span class="marker attachment-marker" title="{attachment}">{clip_icon}</span>'
         f'<span class="visually-hidden">{attachment}</span>'),
    )
    out = []
    for m in rows:
        shown = (m.unread, m.flagged, m.answered, m.has_attachment)
        value = f"{m.mailbox_id}:{m.id}" if unified else m.id
        preview = f' <span class="preview">{escape(m.preview)}</span>' if m.preview else ""
        if m.keywords:
            preview = str(chips_html(m.mailbox_id, m.keywords)) + preview
        out.append(
            f'<tr class="{"unread" if m.unread else "read"}{" flagged" if m.flagged else ""}">'
            f'<td class="select"><input type="checkbox" name="ids" value="{value}" id="select-{m.id}" '
            f'aria-label="{escape(m.select_label)}"></td>'
            f'<td class="markers">{"".join(marker for marker, on in zip(markers, shown) if on)}</td>'
            + (f'<td class="mailbox">{escape(m.mailbox_title)}</td>' if unified else "")
            + f'<td class="from">{escape(m.correspondent)}</td>'
            f'<td class="subject"><a href="{escape(link(m))}">{escape(m.subject)}</a>{preview}</td>'
            f'<td class="date"><time datetime="{m.date}" title="{escape(m.date_title)}">{escape(m.date_label)}</time></td>'
            f'<td class="size number">{escape(m.size)}</td></tr>\n')
    return Markup("".join(out))
