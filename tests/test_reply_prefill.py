"""The quote line of a reply ("Am … schrieb …") names when the mail was written: its Date
header, or, when it has none, when the server received it (the message's internal date), never
"?" for a mail that only lacks the header."""
from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, format_datetime

from tricoma_mail_plugin.mail import reply_prefill

RECEIVED = datetime(2026, 3, 5, 14, 7, tzinfo=UTC)


def raw_mail(date: str | None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Kunde <kunde@example.test>", "info@example.test", "Frage"
    message["Message-ID"] = "<frage-1@example.test>"
    if date:
        message["Date"] = date
    message.set_content("Wann liefern Sie?\n")
    return message.as_bytes()


@pytest.fixture
def reply_to(monkeypatch):
    """``reply_to(raw, internal_date)`` → the reply's pre-filled body to the cached message with
    that text and internal date (no mail server: the cache's two answers are given)."""
    def start(raw: bytes, internal_date: datetime | None, mode: str = "reply") -> str:
        cached = SimpleNamespace(uid=7, internal_date=internal_date, date=internal_date)
        monkeypatch.setattr(reply_prefill, "cached_message", lambda _mailbox, _pk: (cached, None))
        monkeypatch.setattr(reply_prefill, "raw_message", lambda _mailbox, _pk: raw)
        mailbox = SimpleNamespace(email="info@example.test", imap_username="info@example.test", extra_addresses="")
        return reply_prefill.prefill(mailbox, 1, mode).body
    return start


def test_a_mail_without_a_date_header_is_quoted_with_its_internal_date(app, reply_to):
    with app.test_request_context(), force_locale("de"):
        body = reply_to(raw_mail(None), RECEIVED)
        when = format_datetime(RECEIVED, "medium")
        assert f"Am {when} schrieb Kunde <kunde@example.test>:" in body
        assert "Am ?" not in body and "> Wann liefern Sie?" in body
        assert f"Am {when} schrieb" in reply_to(raw_mail(None), RECEIVED, "reply_all")
    with app.test_request_context(), force_locale("en"):
        assert f"On {format_datetime(RECEIVED, 'medium')}, Kunde <kunde@example.test> wrote:" in reply_to(
            raw_mail(None), RECEIVED)


def test_the_date_header_wins_over_the_internal_date(app, reply_to):
    with app.test_request_context(), force_locale("de"):
        body = reply_to(raw_mail("Mon, 02 Mar 2026 08:00:00 +0000"), RECEIVED)
        assert f"Am {format_datetime(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), 'medium')} schrieb" in body
        assert format_datetime(RECEIVED, "medium") not in body


def test_only_a_mail_with_neither_date_says_it_does_not_know(app, reply_to):
    with app.test_request_context(), force_locale("de"):
        assert "Am ? schrieb Kunde" in reply_to(raw_mail(None), None)
