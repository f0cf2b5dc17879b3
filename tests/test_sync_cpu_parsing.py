"""The v1 backend's summaries as the parse workers make them: the fields a worker sends are the
summary's fields in their order, Date headers read by the fast path are what the general
parser reads, and previews come out on one line with single spaces."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
from tricoma_mail_v1_imap.parse_workers import summary_of
from tricoma_mail_v1_imap.summaries import HEADER_ITEM, _preview_text, parse_date, summary_from_fetch, tuple_of

from tricoma_mail_plugin import MessageSummary

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

HEADER_KEY = HEADER_ITEM.replace(".PEEK", "").encode()


def _fetched(changes: dict | None = None) -> dict:
    data = {
        b"UID": 42, b"FLAGS": (b"\\Seen", b"\\Recent", b"$Label1"), b"RFC822.SIZE": 2819,
        b"INTERNALDATE": datetime(2024, 1, 1, 7, 17, tzinfo=timezone.utc), b"MODSEQ": (41,),
        b"PREVIEW": b"Hallo,  wie\tgeht's?\r\n Gr\xc3\xbc\xc3\x9fe",
        HEADER_KEY: (b"From: =?utf-8?q?Ana_Gon=C3=A7alves?= <ana@example.test>\r\n"
                     b"To: Bench User <bench@example.test>,\r\n Vertrieb <vertrieb@example.test>\r\n"
                     b"Cc: c@example.test\r\nSubject: AW: Angebot\r\nDate: Mon, 01 Jan 2024 02:17:00 -0500\r\n"
                     b"Message-ID: <1@example.test>\r\nIn-Reply-To: <0@example.test>\r\n"
                     b"References: <0@example.test>\r\nContent-Type: Multipart/Mixed; boundary=x\r\n\r\n"),
    }
    data.update(changes or {})
    return data


def test_the_fields_a_worker_sends_are_the_summarys_fields_in_order():
    summary = summary_from_fetch(42, _fetched())
    assert summary == MessageSummary(
        uid=42, flags=("\\Seen", "$Label1"), size=2819, internal_date=datetime(2024, 1, 1, 7, 17, tzinfo=timezone.utc),
        from_="Ana Gonçalves <ana@example.test>", to="Bench User <bench@example.test>, Vertrieb <vertrieb@example.test>",
        cc="c@example.test", subject="AW: Angebot", date=datetime(2024, 1, 1, 7, 17, tzinfo=timezone.utc),
        message_id="<1@example.test>", in_reply_to="<0@example.test>", references="<0@example.test>",
        has_attachment=True, preview="Hallo, wie geht's? Grüße", modseq=41)
    sent = summary_from_fetch(42, _fetched(), tuple_of)
    assert sent == tuple(getattr(summary, field.name) for field in fields(MessageSummary))
    made = summary_of(sent)
    assert made == summary and vars(made) == vars(summary) and hash(made) == hash(summary)
    assert repr(made) == repr(summary)
    with pytest.raises(FrozenInstanceError):
        made.subject = "changed"
    assert summary_of(sent[:-1]).modseq is None  # a field left out gets its default
    with pytest.raises(TypeError):
        summary_of(sent + ("one too many",))


@pytest.mark.parametrize("changes", [
    {b"INTERNALDATE": None, b"PREVIEW": None, b"MODSEQ": None},
    {HEADER_KEY: b"", b"FLAGS": ()},
    {HEADER_KEY: b"Content-Type: application/pdf\r\nDate: garbage\r\n\r\n"},
    {HEADER_KEY: b"Content-Type: text/plain\r\n\r\n", b"PREVIEW": b""},
])
def test_missing_and_odd_items_give_the_same_summary_either_way(changes):
    summary = summary_from_fetch(5, _fetched(changes))
    assert summary_from_fetch(5, _fetched(changes), tuple_of) == tuple(
        getattr(summary, field.name) for field in fields(MessageSummary))


@pytest.mark.parametrize("value", [
    "Mon, 01 Jan 2024 02:17:00 -0500",
    "1 Jan 2024 2:17 +0000",
    "Mon, 01 Jan 2024 02:17:00 -0000",  # "no information about the zone": read as UTC
    "Tue,  9 DEC 2025 23:59:59 +1345",
    "Mon,01 Jan 2024 02:17:00 +0130  ",
    "Thu, 01 Jan 1970 00:17:00 +0100",
    "Fri, 31 Dec 9999 23:59:59 +0000",
])
def test_dates_of_the_common_form_are_read_as_the_general_parser_reads_them(value):
    expected = parsedate_to_datetime(value)
    expected = (expected if expected.tzinfo else expected.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    for _twice in range(2):  # the second time with the zone remembered
        parsed = parse_date(value)
        assert parsed == expected and parsed.tzinfo is timezone.utc


@pytest.mark.parametrize("value, expected", [
    ("Mon, 01 Jan 2024 02:17:00 +9999", None),  # no such zone
    ("Mon, 31 Feb 2024 02:17:00 +0100", None),  # no such day
    ("Mon, 01 Jan 2024 02:17:00 GMT", datetime(2024, 1, 1, 2, 17, tzinfo=timezone.utc)),
    ("", None),
    ("garbage", None),
])
def test_other_dates_take_the_general_parser(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("preview", [
    b"plain one line", b"  padded  ", b"two  spaces", b"tab\there", b"line\r\nbreak", b"no\xc2\xa0break space",
    b"line\xe2\x80\xa8separator", b"x" * 250, b"y " * 150, b"broken \xff utf-8", "ünïcödé".encode(),
])
def test_a_preview_is_one_line_with_single_spaces(preview):
    assert _preview_text(preview) == " ".join(preview.decode("utf-8", "replace").split())[:200]
