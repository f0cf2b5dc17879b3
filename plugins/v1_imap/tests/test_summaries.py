"""The message list's summaries read headers as the reading view does (issue 18, point 12):
the same decoder for subjects and names, the same sender shown for the same From header."""
import pytest
from tricoma_mail_v1_imap.summaries import HEADER_ITEM, parse_header_block, summary_from_fetch

from tricoma_mail_plugin.mime.parse import parse_message
from tricoma_mail_plugin.web.mail_common import sender_label

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

HEADER_KEY = HEADER_ITEM.replace(".PEEK", "").encode()


def summary(*header_lines: bytes):
    """The summary the sync makes of a message with these header lines."""
    block = b"\r\n".join(header_lines) + b"\r\n\r\n"
    return summary_from_fetch(1, {b"FLAGS": (), b"RFC822.SIZE": 10, HEADER_KEY: block})


def reading_view_sender(from_line: bytes) -> str:
    """What the reading view shows as the sender's name (else address) of the same header."""
    sender = parse_message(from_line + b"\r\nSubject: x\r\n\r\nbody").from_[0]
    return sender.name or sender.email


def test_adjacent_encoded_words_of_one_charset_are_joined_before_decoding():
    subject = b"Subject: =?utf-8?Q?=C3?= =?utf-8?Q?=BC?=ber =?utf-8?B?w7w=?="
    assert summary(subject).subject == "über ü"
    assert parse_message(subject + b"\r\n\r\nbody").subject == "über ü"


@pytest.mark.parametrize("from_line", [
    b"From: =?utf-8?Q?M=C3=BCller=2C_Anna?= <anna@example.test>",  # a comma inside the name
    b"From: =?utf-8?Q?J=C3?= =?utf-8?Q?=B6rg_=22Joe=22?= <j@example.test>",  # split character, quotes
    b"From: anna@example.test (Anna Albers)",
    b"From: x@y@z",
    b'From: "" <>',
    b"From: =?utf-8?q?Fran=C3=A7ois?= <f@example.test>, b@example.test",
    b"From: Andr\xe9 <andre@example.test>",
    b"From: undisclosed-recipients:;",
])
def test_the_list_shows_the_sender_the_reading_view_shows(from_line):
    # the list's template shows sender_label() of the cached From text
    listed = sender_label(summary(from_line).from_)
    assert listed == reading_view_sender(from_line)
    assert listed and "\ufffd" not in listed


def test_a_decoded_name_with_a_comma_stays_one_address():
    cached = summary(b"From: =?utf-8?Q?M=C3=BCller=2C_Anna?= <anna@example.test>").from_
    assert cached == '"Müller, Anna" <anna@example.test>'
    assert sender_label(cached) == "Müller, Anna"


def test_plain_headers_are_cached_as_they_are():
    fields = summary(b"From: Sender 7 <sender7@example.test>", b"To: a@example.test, B <b@example.test>",
                     b"Subject: =?x-unknown?q?caf=E9?= ok\x00")
    assert fields.from_ == "Sender 7 <sender7@example.test>"
    assert fields.to == "a@example.test, B <b@example.test>"
    assert fields.subject == "café ok"


def test_raw_8bit_headers_are_read_in_the_declared_charset_as_in_the_reading_view():
    raw = ("From: Иван Петров <ivan@example.test>\r\nSubject: Привет мир\r\n"
           "Content-Type: text/plain; charset=koi8-r\r\n").encode("koi8-r")
    fields = parse_header_block(raw)
    parsed = parse_message(raw + b"\r\n" + "текст".encode("koi8-r"))
    assert fields["subject"] == parsed.subject == "Привет мир"
    assert fields["from"] == "Иван Петров <ivan@example.test>"


@pytest.mark.parametrize("value", [
    b"plain text", b"tab\there", b"nul\x00here", b"  padded  ", b"=?utf-8?q?encoded?= word", b"a\r\n b\r\n\tc",
    b"<id@example.test>", b"M\xc3\xbcller",
])
def test_header_values_read_as_the_decoder_reads_them(value):
    """Plain ASCII values are taken as they are, anything else goes through the decoder: the
    result is the decoder's either way (unfolded, control characters as spaces)."""
    from tricoma_mail_plugin import decode_header_text

    fields = parse_header_block(b"X-Lead: " + value + b"\r\nSUBJECT : " + value + b"\r\nSubject: second\r\n")
    unfolded = value.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ").strip()
    assert fields["subject"] == fields["x-lead"] == decode_header_text(unfolded)


def test_odd_header_lines_are_skipped():
    fields = parse_header_block(b" folded: at the start\r\nno colon here\r\n: no name\r\nFrom: a@example.test\r\n")
    assert fields == {"from": "a@example.test"}


@pytest.mark.parametrize("block", [
    b"From: Sender <s@example.test>\r\nTo: a@example.test,\r\n B <b@example.test>\r\nSubject: Hallo\r\n\r\n",
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\tfolded\r\nFrom: x\x01y <x@example.test>\r\n\r\n",
    b" folded: at the start\r\nFrom: first@example.test\r\nFROM : second@example.test\r\n\r\n",
    b"Subject: bare\n line feeds\nMessage-ID: <id@example.test>\n\n",
    b"Subject:\r\n\tonly a continuation\r\nReferences: <a@x> <b@x>\r\n\r\n",
    b"From\r\n : no colon on the line before\r\nSubject: \x1c\x1fedges\x1f\r\nTo\x1c: x@example.test\r\n\r\n",
])
def test_an_ascii_block_reads_as_the_general_path_reads_it(block):
    """Nearly every block is ASCII and is read as text in one pass; a raw 8-bit byte anywhere
    sends the block down the general path. Both give the same fields."""
    general = parse_header_block(block.rstrip(b"\r\n") + b"\r\nX-Raw: M\xc3\xbcller\r\n\r\n")
    assert general.pop("x-raw") == "Müller"
    assert parse_header_block(block) == general
