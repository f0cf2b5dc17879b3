"""The lean FETCH reader and parser against server answers as bytes on the wire (unit tests, no
server): the shape Dovecot sends for a summary, other orders and forms servers use, and odd or
broken answers."""
import io
import random
from datetime import datetime, timezone

import pytest

from tricoma_mail_v1_imap import fetch_parser
from tricoma_mail_v1_imap.fetch_parser import (
    ConnectionLost, FetchParseError, _parse_common_answer, parse_answer, parse_internaldate, read_fetch,
)

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

HEADER_KEY = b"BODY[HEADER.FIELDS (FROM SUBJECT)]"
TAG = b"A0042"


class WireImap:
    """What read_fetch uses of an ``imaplib.IMAP4``: readline and read over the given bytes."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BufferedReader(io.BytesIO(data))

    def readline(self) -> bytes:
        return self.stream.readline()

    def read(self, size: int) -> bytes:
        return self.stream.read(size)


def answer(*lines: bytes, status: bytes = b"OK Fetch completed.") -> WireImap:
    return WireImap(b"".join(lines) + TAG + b" " + status + b"\r\n")


def test_dovecot_summary_with_a_preview_literal_before_the_header_literal():
    header = b"Subject: hi\r\nFrom: =?utf-8?q?M=C3=BCller?= <m@x.test>\r\n\r\n"
    preview = "Grüße aus Köln".encode()
    parsed = read_fetch(answer(
        b'* 1 FETCH (UID 7 FLAGS (\\Seen $Important) RFC822.SIZE 59 INTERNALDATE "01-Dec-2026 15:26:25 +0100" '
        b"MODSEQ (12) PREVIEW {%d}\r\n" % len(preview), preview,
        b" BODY[HEADER.FIELDS (FROM SUBJECT)] {%d}\r\n" % len(header), header, b")\r\n"), TAG)
    items = parsed[7]
    assert items[b"UID"] == 7
    assert items[b"FLAGS"] == (b"\\Seen", b"$Important")
    assert items[b"RFC822.SIZE"] == 59 and items[b"MODSEQ"] == (12,)
    assert items[b"PREVIEW"] == preview
    assert items[b"INTERNALDATE"] == datetime(2026, 12, 1, 14, 26, 25, tzinfo=timezone.utc)
    assert items[HEADER_KEY] == header


def test_quoted_preview_items_after_the_literal_nil_and_missing_items():
    parsed = read_fetch(answer(
        b'* 1 FETCH (UID 8 MODSEQ (3) PREVIEW "say \\"UID 99\\" (twice)" ' + HEADER_KEY + b" {3}\r\n", b"a\r\n",
        b" FLAGS () RFC822.SIZE 1)\r\n",
        b"* 2 FETCH (FLAGS (\\Deleted) UID 10 PREVIEW NIL " + HEADER_KEY + b" NIL INTERNALDATE NIL)\r\n",
        b"* 3 FETCH (UID 11)\r\n"), TAG)
    assert parsed[8][b"PREVIEW"] == b'say "UID 99" (twice)' and parsed[8][HEADER_KEY] == b"a\r\n"
    assert parsed[8][b"FLAGS"] == () and parsed[8][b"RFC822.SIZE"] == 1 and parsed[8][b"MODSEQ"] == (3,)
    assert parsed[10] == {b"UID": 10, b"FLAGS": (b"\\Deleted",)}  # NIL is no value
    assert parsed[11] == {b"UID": 11}  # missing items are missing; the summary has defaults
    assert 99 not in parsed


def test_a_preview_literal_holding_brackets_quotes_and_a_line_that_looks_tagged():
    preview = b'x)y"z\r\n' + TAG + b" OK not the end"
    parsed = read_fetch(answer(b"* 4 FETCH (UID 12 PREVIEW {%d}\r\n" % len(preview), preview,
                               b" RFC822.SIZE 5)\r\n"), TAG)
    assert parsed[12] == {b"UID": 12, b"PREVIEW": preview, b"RFC822.SIZE": 5}


def test_other_spellings_of_the_literal_item_take_the_general_path():
    header = b"Subject: \xe4\xf6\xfc 8-bit\r\n"
    parsed = read_fetch(answer(
        b"* 1 FETCH (UID 3 body.peek[header.fields (from subject)] {%d}\r\n" % len(header), header, b")\r\n",
        b"* 2 FETCH (UID 4 BODY[]<0> {2}\r\n", b"ab", b")\r\n",
        b"* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {2}\r\n", b"cd", b" UID 5)\r\n"), TAG)
    assert parsed[3][b"BODY[HEADER.FIELDS (FROM SUBJECT)]"] == header
    assert parsed[4][b"BODY[]<0>"] == b"ab"
    assert parsed[5][b"BODY[HEADER.FIELDS (SUBJECT)]"] == b"cd"


def test_untagged_answers_in_between_and_a_second_fetch_of_one_message():
    parsed = read_fetch(answer(
        b"* 1 FETCH (UID 5 FLAGS () RFC822.SIZE 9)\r\n",
        b"* 12 EXISTS\r\n",
        b"* VANISHED (EARLIER) 3:4\r\n",
        b"* 1 FETCH (FLAGS (\\Seen) UID 5)\r\n",
        b"* OK [HIGHESTMODSEQ 9] still here\r\n"), TAG)
    assert parsed == {5: {b"UID": 5, b"FLAGS": (b"\\Seen",), b"RFC822.SIZE": 9}}


def test_a_brace_that_is_no_literal_stays_text():
    parsed = read_fetch(answer(b'* 1 FETCH (UID 6 PREVIEW "{x}")\r\n', b'* 2 FETCH (UID 7 PREVIEW "a" X-NOTE {x}\r\n'),
                        TAG)
    assert parsed[6][b"PREVIEW"] == b"{x}" and parsed[7][b"PREVIEW"] == b"a"


@pytest.mark.parametrize("imap, error", [
    (answer(b"* 1 FETCH (FLAGS () RFC822.SIZE 3)\r\n"), FetchParseError),  # no UID
    (answer(b"* 1 FETCH (UID 1 X-UNASKED {2}\r\n", b"ab", b")\r\n"), FetchParseError),  # a literal we did not ask for
    (answer(b"* 1 FETCH (UID 1 BINARY[1] {2}\r\n", b"ab", b")\r\n"), FetchParseError),
    (answer(b"* 1 FETCH (UID 1 " + HEADER_KEY + b" {2}\r\n", b"ab"), FetchParseError),  # tagged inside a message
    (answer(status=b"NO [SERVERBUG] Internal error"), FetchParseError),
    (answer(status=b"BAD Error in IMAP command"), FetchParseError),
    (WireImap(b"* 1 FETCH (UID 1 " + HEADER_KEY + b" {20}\r\nSubject: cut"), ConnectionLost),
    (WireImap(b"* 1 FETCH (UID 1 FLAGS ()"), ConnectionLost),
    (WireImap(b""), ConnectionLost),
    (WireImap(b"\x17\x03\x03 ciphertext after a broken TLS session\r\n\x92\xea"), ConnectionLost),
])
def test_broken_answers_are_typed_errors(imap, error):
    with pytest.raises(error):
        read_fetch(imap, TAG)


def test_an_odd_message_is_an_error_after_the_whole_answer_was_read():
    """The connection stays in step: the next command's answer is read from the right place."""
    imap = WireImap(b"* 1 FETCH (FLAGS ())\r\n* 2 FETCH (UID 2 X-ODD {2}\r\nab)\r\n* 3 FETCH (UID 3)\r\n"
                    + TAG + b" OK done\r\nB1 OK next\r\n")
    with pytest.raises(FetchParseError, match="without UID"):
        read_fetch(imap, TAG)
    assert imap.readline() == b"B1 OK next\r\n"


def test_internaldate_forms():
    assert parse_internaldate(b"01-Jan-2024 07:17:00 +0000") == datetime(2024, 1, 1, 7, 17, tzinfo=timezone.utc)
    assert parse_internaldate(b" 1-Jan-2026 00:00:00 -0200") == datetime(2026, 1, 1, 2, tzinfo=timezone.utc)
    # the same zone again (read by position now) and a day written with one digit
    assert parse_internaldate(b" 2-Jan-2026 00:00:00 -0200") == datetime(2026, 1, 2, 2, tzinfo=timezone.utc)
    assert parse_internaldate(b"2-Jan-2026 00:00:00 +0530") == datetime(2026, 1, 1, 18, 30, tzinfo=timezone.utc)
    assert parse_internaldate(b"31-Foo-2026 00:00:00 +0000") is None
    assert parse_internaldate(b"31-Feb-2026 00:00:00 +0000") is None
    assert parse_internaldate(b"01-Jan-2024T07:17:00 +0000") is None
    assert parse_internaldate(b"nonsense") is None


# -- parse_answer: Dovecot's common layout read by position, the same result as read_fetch ------


def _outcome(parse, data: bytes):
    try:
        return parse(data)
    except (FetchParseError, ConnectionLost) as error:
        return type(error), str(error)


def _general(data: bytes):
    return read_fetch(io.BytesIO(data), TAG)


def _dovecot_message(rng: random.Random, uid: int) -> bytes:
    """One summary as Dovecot sends it, with literals that hold what a line-based reader could
    trip over (a tagged line, a literal's announcement, a closing parenthesis)."""
    flags = b" ".join(rng.sample([b"\\Seen", b"\\Flagged", b"\\Answered", b"$Label1", b"\\Recent"], rng.randint(0, 3)))
    preview = rng.choice([
        b"", b" PREVIEW NIL", b' PREVIEW ""', b' PREVIEW "plain words"',
        b" PREVIEW {%d}\r\n%s" % (len(p := "Grüße {5}\r\nA0042 OK)".encode()), p),
    ])
    header = rng.choice([b"", b"Subject: =?utf-8?q?x?=\r\n\r\n", b"From: a@b.test\r\nSubject: )\r\n A0042 OK\r\n\r\n"])
    modseq = rng.choice([b"", b" MODSEQ (%d)" % rng.randint(1, 10**12)])
    date = rng.choice([b"01-Dec-2026 15:26:25 +0100", b" 1-Jan-2024 07:17:00 -0530", b""])
    return (b'* %d FETCH (UID %d FLAGS (%s) RFC822.SIZE %d INTERNALDATE "%s"%s%s '
            b"BODY[HEADER.FIELDS (FROM SUBJECT)] {%d}\r\n%s)\r\n"
            % (uid, uid, flags, rng.randint(0, 10**7), date, modseq, preview, len(header), header))


def test_parse_answer_reads_dovecots_layout_by_position_with_read_fetchs_result():
    rng = random.Random(14)
    for _answer in range(300):
        messages = [_dovecot_message(rng, uid) for uid in range(1, rng.randint(1, 12))]
        if rng.random() < 0.3:  # an untagged answer of another kind between two messages
            messages.insert(rng.randrange(len(messages) + 1), rng.choice([b"* 12 EXISTS\r\n", b"* VANISHED 3:4\r\n"]))
        data = b"".join(messages) + TAG + b" OK Fetch completed.\r\n"
        assert _parse_common_answer(data, TAG) is not None  # the layout the fast reading is for
        assert parse_answer(data, TAG) == _general(data)


def test_parse_answer_leaves_every_other_answer_to_read_fetch_with_the_same_outcome():
    rng = random.Random(16)
    others = [
        b'* 1 FETCH (FLAGS () UID 3 RFC822.SIZE 1)\r\n',  # another order
        b'* 1 FETCH (UID 3 FLAGS () RFC822.SIZE 1 INTERNALDATE "x" PREVIEW "a \\"q\\"" '
        b"BODY[HEADER.FIELDS (FROM SUBJECT)] {0}\r\n)\r\n",  # an escape in the preview
        b'* 1 FETCH (UID 3 FLAGS () RFC822.SIZE 1 INTERNALDATE "x" BODY[HEADER.FIELDS (FROM SUBJECT)] {0}\r\n'
        b" MODSEQ (4))\r\n",  # an item after the header block
        b"* 1 FETCH (UID 3 FLAGS ()\r\n",  # cut off
    ]
    for _answer in range(300):
        messages = [_dovecot_message(rng, uid) for uid in range(1, rng.randint(2, 8))]
        messages[rng.randrange(len(messages))] = rng.choice(others)
        data = b"".join(messages) + TAG + rng.choice([b" OK done\r\n", b" NO [SERVERBUG] no\r\n", b" OK\r\n"])
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data))]  # a connection that ended
        assert _parse_common_answer(data, TAG) is None
        assert _outcome(lambda d: parse_answer(d, TAG), data) == _outcome(_general, data)


@pytest.mark.parametrize("tag, data", [
    # a sequence number of 32 digits: read_fetch skips a line without " FETCH " in its first 40 bytes
    (b"A1", b"* " + b"1" * 32 + b' FETCH (UID 5 FLAGS () RFC822.SIZE 1 INTERNALDATE "" '
            b"BODY[HEADER.FIELDS (X)] {0}\r\n)\r\nA1 OK done\r\n"),
    # ".PEEK" and "BODY[" inside the field list
    (b"A1", b'* 1 FETCH (UID 5 FLAGS () RFC822.SIZE 1 INTERNALDATE "" BODY[HEADER.FIELDS (X.PEEK)] {0}\r\n)\r\n'
            b"A1 OK done\r\n"),
    (b"A1", b'* 1 FETCH (UID 5 FLAGS () RFC822.SIZE 1 INTERNALDATE "" BODY[HEADER.FIELDS (UID 9 BODY[Y)] {0}\r\n'
            b")\r\nA1 OK done\r\n"),
    # an empty tag: the line after the preview starts with "tag "
    (b"", b'* 1 FETCH (UID 5 FLAGS () RFC822.SIZE 1 INTERNALDATE "" PREVIEW {0}\r\n BODY[HEADER.FIELDS (X)] {0}\r\n'
          b")\r\n OK done\r\n"),
    # a UID past int()'s digit limit in an answer cut short
    (b"A1", b"* 1 FETCH (UID " + b"1" * 4301 + b' FLAGS () RFC822.SIZE 1 INTERNALDATE "" '
            b"BODY[HEADER.FIELDS (X)] {9}\r\n"),
    # a year with a space in it, after a message whose zone the fast reading remembered
    (b"A1", b'* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 1 INTERNALDATE "01-Jan- 202 07:17:00 +0100" '
            b"BODY[HEADER.FIELDS (X)] {0}\r\n)\r\n"
            b'* 2 FETCH (UID 2 FLAGS () RFC822.SIZE 1 INTERNALDATE "01-Jan-2024 07:17:00 +0100" '
            b"BODY[HEADER.FIELDS (X)] {0}\r\n)\r\n* 3 FETCH (FLAGS () UID 3)\r\nA1 OK done\r\n"),
])
def test_answers_a_review_found_read_differently_now_read_as_read_fetch_reads_them(tag, data, monkeypatch):
    def fresh(parse):  # each reading with the module's caches as a new process has them
        monkeypatch.setattr(fetch_parser, "_LITERAL_KEYS", {})
        monkeypatch.setattr(fetch_parser, "_ZONES", {b"+0000": timezone.utc})
        return _outcome(parse, data)

    assert fresh(lambda d: parse_answer(d, tag)) == fresh(lambda d: read_fetch(io.BytesIO(d), tag))


def test_an_internaldate_with_a_space_or_sign_in_a_number_is_no_date_whichever_path_reads_it():
    assert parse_internaldate(b"01-Jan-2024 07:17:00 +0100") is not None  # the zone is now remembered
    for odd in (b"01-Jan- 202 07:17:00 +0100", b"01-Jan-2024  7:17:00 +0100", b"01-Jan-2024 +7:17:00 +0100",
                b"1 -Jan-2024 07:17:00 +0100"):
        assert parse_internaldate(odd) is None
