"""What the kit's page templates may call: the app's words, formatting in the page's language,
and the names of states (the record's, and the outbox's in the mail history)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import abort, url_for
from flask_babel import format_datetime, get_locale, pgettext
from flask_login import current_user

from . import formatting
from .amounts import line_net_cents
from .tables import LANGUAGES

if TYPE_CHECKING:
    from .kit import RecordApp


def history_state_names() -> dict[str, str]:
    """The mail history's words for the outbox's states (core's mail pages say them differently)."""
    return {"queued": pgettext("mail history", "queued"), "sending": pgettext("mail history", "sending"),
            "sent": pgettext("mail history", "sent"), "retry": pgettext("mail history", "will retry"),
            "failed": pgettext("mail history", "failed"), "uncertain": pgettext("mail history", "uncertain"),
            "cancelled": pgettext("mail history", "cancelled")}


def sent_copy_names() -> dict[str, str]:
    """The mail history's words for where the copy in "Sent" stands."""
    return {"pending": pgettext("mail history", "waiting"), "retry": pgettext("mail history", "will retry"),
            "done": pgettext("mail history", "filed"), "skipped": pgettext("mail history", "not needed")}


def require_admin() -> None:
    """Deleting records and editing mail templates is for admins."""
    if not getattr(current_user, "is_admin", False):
        abort(403)


def page_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "en"


def page_helpers(record_app: RecordApp) -> dict[str, Any]:
    """The template context of the kind's pages."""
    kind, words, language = record_app.kind, record_app.words, page_language()

    def record_url(endpoint: str, record_id: int) -> str:
        return url_for(endpoint, **{kind.id_argument: record_id})

    def state_name(state: str) -> str:
        names = {"draft": words.pgettext("record state", "draft"), "sent": words.pgettext("record state", "sent")}
        return names.get(state, state)

    def money(cents: int) -> str:
        return formatting.money(cents, language, kind.currency)

    return {
        "_": words.gettext, "gettext": words.gettext, "pgettext": words.pgettext, "kind": kind,
        "money": money, "record_url": record_url, "state_name": state_name,
        "quantity": lambda hundredths: formatting.quantity(hundredths, language),
        "rate": lambda hundredths: formatting.rate(hundredths, language),
        "day": lambda value: formatting.day(value, language),
        "moment": lambda value: format_datetime(value, "short") if value else "—",
        "line_net": line_net_cents,
        "language_names": {"de": words.gettext("German"), "en": words.gettext("English")},
        "history_state_names": history_state_names(), "sent_copy_names": sent_copy_names(),
    }
