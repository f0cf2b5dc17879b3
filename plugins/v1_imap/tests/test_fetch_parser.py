"""The lean FETCH parser against the shapes imaplib hands over (unit tests, no server)."""
from datetime import datetime, timezone

import pytest

from tricoma_mail_v1_imap.fetch_parser import FetchParseError, parse_fetch, parse_internaldate

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

HEADER_KEY = b"BODY[HEADER.FIELDS (FROM SUBJECT)]"


def test_dovecot_order_with_preview_before_the_header_literal():
    data = [(b'1 (UID 7 FLAGS (\\Seen $Important) RFC822.SIZE 59 INTERNALDATE "01-Dec-2026 15:26:25 +0100" '
             b'MODSEQ (12) PREVIEW "hello \\"world\\"" ' + HEADER_KEY + b" {22}", b"Subject: hi\r\nFrom: a\r\n"),
            b")"]
    [(uid, items)] = list(parse_fetch(data))
    assert uid == 7
    assert items[b"FLAGS"] == (b"\\Seen", b"$Important")
    assert items[b"RFC822.SIZE"] == 59 and items[b"MODSEQ"] == (12,)
    assert items[b"PREVIEW"] == b'hello "world"'
    assert items[b"INTERNALDATE"] == datetime(2026, 12, 1, 14, 26, 25, tzinfo=timezone.utc)
    assert items[HEADER_KEY] == b"Subject: hi\r\nFrom: a\r\n"


def test_items_after_the_literal_and_a_preview_literal():
    data = [(b"3 (UID 9 " + HEADER_KEY + b" {3}", b"a\r\n"),
            (b" PREVIEW {5}", b"x)y\"z"),
            b' FLAGS () RFC822.SIZE 1)',
            b'4 (UID 10 FLAGS (\\Deleted) RFC822.SIZE 2 PREVIEW NIL)']
    parsed = dict(parse_fetch(data))
    assert parsed[9][b"PREVIEW"] == b'x)y"z' and parsed[9][HEADER_KEY] == b"a\r\n"
    assert parsed[9][b"FLAGS"] == () and parsed[9][b"RFC822.SIZE"] == 1
    assert parsed[10][b"FLAGS"] == (b"\\Deleted",) and b"PREVIEW" not in parsed[10]


@pytest.mark.parametrize("data", [[b"* garbage"], [(b"1 (UID 1 X {2}", b"ab")], [(b"1 (UID 1 BODY[] {2}", b"ab")]])
def test_garbage_is_a_typed_error(data):
    with pytest.raises(FetchParseError):
        list(parse_fetch(data))


def test_internaldate_forms():
    assert parse_internaldate(b" 1-Jan-2026 00:00:00 -0200") == datetime(2026, 1, 1, 2, tzinfo=timezone.utc)
    assert parse_internaldate(b"31-Foo-2026 00:00:00 +0000") is None
    assert parse_internaldate(b"nonsense") is None
