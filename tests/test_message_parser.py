"""The mail reading layer: parse_message, get_part, make_preview and safe_filename.

Hand-made messages pin the behaviour; the public corpora of ../shared/corpora (real, malformed
and torture mail) check that every message parses, previews and sanitizes quickly and without an
exception.
"""
from __future__ import annotations

import base64
import gzip
import random
import time
from datetime import datetime, timezone
from email import message_from_bytes, policy

import corpora
import pytest

from tricoma_mail_plugin.mime import parse as parse_module
from tricoma_mail_plugin.mime.headers import address_list_text, decode_header_text, sender_label, split_addresses
from tricoma_mail_plugin.mime.sanitize import sanitize_html
from tricoma_mail_plugin.mime.parse import (
    MAX_ADDRESSES,
    MAX_DEPTH,
    MAX_PARTS,
    Address,
    Attachment,
    ParsedMessage,
    get_part,
    make_preview,
    parse_message,
    safe_filename,
)

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

CORPORA = corpora.CORPORA
# CPU seconds of this thread (time.thread_time), so that a machine busy with other work does not
# count against the parser
SECONDS_PER_MESSAGE = 2.0
HAM_MESSAGES = 300


def mail(*headers: str, body: str | bytes = "Hello") -> bytes:
    """A message from header lines and a body, with CRLF line ends."""
    head = "\r\n".join(headers).encode("utf-8")
    if isinstance(body, str):
        body = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return head + b"\r\n\r\n" + body


def multipart(subtype: str, boundary: str, *parts: str, headers: tuple[str, ...] = ()) -> bytes:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
    return mail(*headers, f'Content-Type: multipart/{subtype}; boundary="{boundary}"', body=body)


# --- headers -----------------------------------------------------------------------------------

def test_rfc2047_subject_and_names_are_decoded():
    parsed = parse_message(mail(
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= =?ISO-8859-1?B?5OT2?= aus =?utf-8?b?S8O2bG4=?=",
        "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>",
        'To: "Doe, Jane" <jane@example.com>, bob@example.com',
        "Cc: =?iso-8859-1?q?Ren=E9?= <rene@example.fr>",
    ))
    assert parsed.subject == "Grüßeääö aus Köln"
    assert parsed.from_ == (Address("Jörg Müller", "joerg@example.com"),)
    assert parsed.to == (Address("Doe, Jane", "jane@example.com"), Address("", "bob@example.com"))
    assert parsed.cc == (Address("René", "rene@example.fr"),)
    assert str(parsed.from_[0]) == "Jörg Müller <joerg@example.com>"


def test_encoded_word_with_unknown_charset_does_not_break_the_subject():
    parsed = parse_message(mail("Subject: =?x-unknown?q?caf=E9?= ok", "From: a@example.com"))
    assert parsed.subject.endswith("ok")


def test_raw_8bit_headers_are_decoded_as_utf8_or_cp1252():
    raw = b"Subject: Gr\xc3\xbc\xc3\x9fe\r\nFrom: Andr\xe9 <andre@example.com>\r\n\r\nHi"
    parsed = parse_message(raw)
    assert parsed.subject == "Grüße"
    assert parsed.from_ == (Address("André", "andre@example.com"),)


def test_missing_date_from_and_message_id():
    parsed = parse_message(mail("Subject: bare", body="just text"))
    assert parsed.from_ == () and parsed.to == ()
    assert parsed.date is None
    assert parsed.message_id is None and parsed.in_reply_to is None and parsed.references == ()
    assert parsed.text == "just text"


def test_no_headers_at_all():
    parsed = parse_message(b"This is a body without any header.\r\nSecond line.\r\n")
    assert parsed.subject == ""
    assert "Second line." in (parsed.text or "")


def test_dates_are_aware():
    assert parse_message(mail("Date: Tue, 01 Oct 2024 10:20:30 +0200")).date == datetime(
        2024, 10, 1, 8, 20, 30, tzinfo=timezone.utc
    )
    unknown_zone = parse_message(mail("Date: Tue, 01 Oct 2024 10:20:30 -0000")).date
    assert unknown_zone == datetime(2024, 10, 1, 10, 20, 30, tzinfo=timezone.utc)
    assert unknown_zone.tzinfo is not None
    assert parse_message(mail("Date: Tue, 99 Foo 2024 99:99")).date is None
    assert parse_message(mail("Date: Tue, 31 Feb 2099 10:00:00 +0000")).date is None


def test_message_ids_and_references():
    parsed = parse_message(mail(
        "Message-ID: <abc@example.com>",
        "In-Reply-To: Your message of Monday <parent@example.com>",
        "References: <root@example.com>\r\n <parent@example.com>",
    ))
    assert parsed.message_id == "<abc@example.com>"
    assert parsed.in_reply_to == "<parent@example.com>"
    assert parsed.references == ("<root@example.com>", "<parent@example.com>")


def test_malformed_address_headers_do_not_raise():
    parsed = parse_message(mail(
        'From: "unterminated <a@example.com',
        "To: @@@,,,<<>>, undisclosed-recipients:;",
        "Cc: " + ", ".join(f"user{i}@example.com" for i in range(3000)),
        "Reply-To: <>",
        "Bcc: =?utf-8?q?broken",
    ))
    assert isinstance(parsed.from_, tuple)
    assert all(isinstance(address, Address) for address in parsed.to + parsed.cc + parsed.reply_to)
    assert len(parsed.cc) == MAX_ADDRESSES  # of 3000, a long header is read whole


def test_headers_keep_order_and_are_decoded():
    parsed = parse_message(mail("Subject: =?utf-8?q?=C3=A4?=", "X-Custom: one", "X-Custom: two"))
    assert parsed.headers == (("Subject", "ä"), ("X-Custom", "one"), ("X-Custom", "two"))


def test_huge_header_is_decoded_in_time():
    words = " ".join(["=?utf-8?q?K=C3=BCste?="] * 40_000)
    started = time.thread_time()
    parsed = parse_message(mail(f"Subject: {words}", "From: a@example.com"))
    assert time.thread_time() - started < SECONDS_PER_MESSAGE
    assert parsed.subject.startswith("Küste")


def test_mbox_from_line_is_ignored():
    parsed = parse_message(b"From someone@example.com Mon Jan  1 00:00:00 2024\n" + mail("Subject: mbox"))
    assert parsed.subject == "mbox"


# --- bodies ------------------------------------------------------------------------------------

def test_multipart_alternative_gives_both_text_and_html():
    parsed = parse_message(multipart(
        "alternative", "alt",
        "Content-Type: text/plain; charset=utf-8\n\nPlain version",
        "Content-Type: text/html; charset=utf-8\n\n<p>HTML version</p>",
    ))
    assert parsed.text == "Plain version"
    assert parsed.html == "<p>HTML version</p>"
    assert parsed.attachments == ()


def test_alternative_with_related_html_and_inline_image():
    png = base64.b64encode(b"\x89PNG fake image").decode()
    raw = multipart(
        "alternative", "alt",
        "Content-Type: text/plain\n\nplain",
        'Content-Type: multipart/related; boundary="rel"\n\n'
        "--rel\nContent-Type: text/html\n\n<p>Logo: <img src=\"cid:logo@example.com\"></p>\n"
        "--rel\nContent-Type: image/png\nContent-ID: <logo@example.com>\n"
        f"Content-Transfer-Encoding: base64\n\n{png}\n--rel--",
    )
    parsed = parse_message(raw)
    assert parsed.text == "plain"
    assert 'cid:logo@example.com' in parsed.html
    (image,) = parsed.inline_parts
    assert image == Attachment("2.2", "attachment.png", "image/png", len(b"\x89PNG fake image"),
                               "logo@example.com", None)
    assert parsed.attachments == ()  # shown inline by the HTML, so not listed
    cid_map = {part.content_id: f"/mail/7/parts/{part.part_id}" for part in parsed.inline_parts}
    assert '<img src="/mail/7/parts/2.2">' in sanitize_html(parsed.html, cid_map=cid_map).html
    found, data = get_part(raw, "2.2")
    assert found == image and data == b"\x89PNG fake image"


def test_inline_part_not_referenced_by_the_html_is_listed_as_attachment():
    parsed = parse_message(multipart(
        "related", "rel",
        "Content-Type: text/html\n\n<p>no image here</p>",
        "Content-Type: image/gif; name=pic.gif\nContent-ID: <pic@x>\n\nGIF89a",
    ))
    assert [part.filename for part in parsed.inline_parts] == ["pic.gif"]
    assert [part.filename for part in parsed.attachments] == ["pic.gif"]


def test_last_alternative_of_a_kind_wins():
    parsed = parse_message(multipart(
        "alternative", "alt",
        "Content-Type: text/plain\n\nfirst",
        "Content-Type: text/plain\n\nsecond",
    ))
    assert parsed.text == "second"


def test_several_inline_text_parts_of_a_mixed_message_are_joined():
    parsed = parse_message(multipart(
        "mixed", "mix",
        "Content-Type: text/plain\n\nBody",
        "Content-Type: application/pdf; name=a.pdf\nContent-Disposition: attachment\n\n%PDF",
        "Content-Type: text/plain\nContent-Disposition: inline\n\nFooter",
    ))
    assert parsed.text == "Body\n\nFooter"
    assert [(a.part_id, a.filename, a.disposition) for a in parsed.attachments] == [("2", "a.pdf", "attachment")]


def test_text_part_with_attachment_disposition_is_an_attachment():
    parsed = parse_message(multipart(
        "mixed", "mix",
        "Content-Type: text/plain\n\nBody",
        'Content-Type: text/plain\nContent-Disposition: attachment; filename="notes.txt"\n\nnotes',
        "Content-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR",
    ))
    assert parsed.text == "Body"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("notes.txt", "text/plain"), ("attachment.ics", "text/calendar"),
    ]


def test_unknown_charset_falls_back_to_utf8_then_cp1252():
    utf8 = mail("Content-Type: text/plain; charset=x-unknown", body="Grüße €".encode("utf-8"))
    assert parse_message(utf8).text == "Grüße €"
    cp1252 = mail("Content-Type: text/plain; charset=x-unknown", body="Grüße €".encode("cp1252"))
    assert parse_message(cp1252).text == "Grüße €"
    nonsense = mail("Content-Type: text/plain; charset=\"bogus;\\\"'\"", body=b"plain ascii")
    assert parse_message(nonsense).text == "plain ascii"


def test_bytes_that_do_not_fit_the_declared_charset():
    latin_in_utf8 = mail("Content-Type: text/plain; charset=utf-8", body="Grüße".encode("latin-1"))
    assert parse_message(latin_in_utf8).text == "Grüße"
    utf8_in_ascii = mail("Content-Type: text/plain; charset=us-ascii", body="naïve".encode("utf-8"))
    assert parse_message(utf8_in_ascii).text == "naïve"
    latin1_label = mail("Content-Type: text/plain; charset=iso-8859-1", body=b"\x80 5")
    assert parse_message(latin1_label).text == "€ 5"  # WHATWG: latin-1 means windows-1252


def test_codecs_that_are_no_mail_charsets_are_not_used():
    parsed = parse_message(mail("Content-Type: text/plain; charset=unicode_escape", body=b"\\u0041"))
    assert parsed.text == "\\u0041"
    parsed = parse_message(mail("Content-Type: text/plain; charset=base64", body=b"QUJD"))
    assert parsed.text == "QUJD"


def test_html_charset_from_meta_when_the_header_has_none():
    body = '<html><head><meta charset="windows-1251"></head><body>Привет</body></html>'.encode("cp1251")
    parsed = parse_message(mail("Content-Type: text/html", body=body))
    assert "Привет" in parsed.html


def test_broken_boundaries_do_not_raise():
    wrong_boundary = multipart("mixed", "declared", headers=("Subject: broken",))
    wrong_boundary = wrong_boundary.replace(b"--declared", b"--something-else")
    parsed = parse_message(wrong_boundary)
    assert parsed.subject == "broken" and parsed.defects

    no_end = mail('Content-Type: multipart/mixed; boundary="b"',
                  body="--b\nContent-Type: text/plain\n\nbody without a close delimiter\n")
    parsed = parse_message(no_end)
    assert parsed.text.strip() == "body without a close delimiter"

    no_boundary = mail("Content-Type: multipart/mixed", body="just some text")
    assert "just some text" in parse_message(no_boundary).text


def test_message_rfc822_attachment():
    inner = mail("Subject: Inner / subject", "From: inner@example.com", body="inner body")
    raw = multipart(
        "mixed", "outer",
        "Content-Type: text/plain\n\nsee attached",
        "Content-Type: message/rfc822\n\n" + inner.decode(),
    )
    parsed = parse_message(raw)
    assert parsed.text == "see attached"
    (attached,) = parsed.attachments
    assert attached.part_id == "2"
    assert attached.content_type == "message/rfc822"
    assert attached.filename == "Inner _ subject.eml"  # a subject is no path
    found, data = get_part(raw, "2")
    assert found == attached and len(data) == attached.size
    reparsed = parse_message(data)
    assert reparsed.subject == "Inner / subject" and reparsed.text == "inner body"


def test_message_rfc822_filename_comes_from_its_subject():
    inner = mail("Subject: Quarterly report", body="numbers")
    raw = multipart("mixed", "o", "Content-Type: text/plain\n\nhi",
                    "Content-Type: message/rfc822\n\n" + inner.decode())
    assert parse_message(raw).attachments[0].filename == "Quarterly report.eml"


def test_attachment_bytes_are_decoded():
    payload = bytes(range(256)) * 4
    raw = multipart(
        "mixed", "m",
        "Content-Type: text/plain\n\nhi",
        "Content-Type: application/octet-stream; name=data.bin\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(payload).decode(),
        "Content-Type: text/plain; name=q.txt\nContent-Disposition: attachment\n"
        "Content-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe",
    )
    parsed = parse_message(raw)
    assert [(a.part_id, a.filename, a.size) for a in parsed.attachments] == [
        ("2", "data.bin", 1024), ("3", "q.txt", 7),
    ]
    assert get_part(raw, "2")[1] == payload
    assert get_part(raw, "3")[1] == "Grüße".encode()
    assert get_part(raw, "1")[1].strip() == b"hi"  # bodies can be fetched too
    assert get_part(raw, "4") is None
    assert get_part(raw, "nonsense") is None
    assert get_part(b"", "1") is not None


def test_rfc2231_filenames():
    raw = multipart(
        "mixed", "m",
        "Content-Type: text/plain\n\nhi",
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.pdf\n\nx",
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment;\n filename*0*=utf-8''Gr%C3%BC%C3%9Fe%20;\n"
        ' filename*1="aus Köln.txt"\n\nx',
        "Content-Type: text/html\n"
        "Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fx.html\n\n<p>",
        'Content-Type: application/octet-stream; name="=?utf-8?q?r=C3=A9sum=C3=A9.doc?="\n\nx',
        "Content-Type: application/octet-stream\n"
        'Content-Disposition: attachment; filename="..\\\\..\\\\windows\\\\evil.exe"\n\nx',
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=utf-8''%2E%2E\n\nx",
    )
    names = [attachment.filename for attachment in parse_message(raw).attachments]
    assert names == ["€ rates.pdf", "Grüße aus Köln.txt", "x.html", "résumé.doc", "evil.exe", "attachment"]


def test_raw_8bit_filename():
    raw = multipart(
        "mixed", "m", "Content-Type: text/plain\n\nhi",
        'Content-Type: application/pdf\nContent-Disposition: attachment; filename="Rechnung März.pdf"\n\nx',
    )
    assert parse_message(raw).attachments[0].filename == "Rechnung März.pdf"


@pytest.mark.parametrize(("name", "expected"), [
    ("../../x.html", "x.html"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("/etc/passwd", "passwd"),
    (".htaccess", "htaccess"),
    ("...", "attachment"),
    ("", "attachment"),
    (None, "attachment"),
    ("a\x00b\x1fc\x7f.txt", "abc.txt"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),
    ("what?<is>:this*|.txt", "what__is__this__.txt"),
    ("  spaced \t name .pdf. ", "spaced name .pdf"),
    ("CON.txt", "_CON.txt"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ("y" * 300, "y" * 200),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_content_type_is_well_formed():
    parsed = parse_message(multipart(
        "mixed", "m", "Content-Type: text/plain\n\nhi",
        'Content-Type: "text/html<script>"/x; name=a\n\nx',
    ))
    (attachment,) = parsed.attachments
    assert attachment.content_type in {"application/octet-stream", "text/plain"}


def test_uuencoded_content_is_harmless():
    encoded = "begin 644 hello.txt\n%:&5L;&\\`\n`\nend\n"
    part = parse_message(multipart(
        "mixed", "m", "Content-Type: text/plain\n\nsee the file",
        f"Content-Type: application/octet-stream; name=hello.txt\nContent-Transfer-Encoding: x-uuencode\n\n{encoded}",
    ))
    assert part.text == "see the file" and len(part.attachments) == 1
    inline = parse_message(mail("Subject: uu", body=f"Here it is:\n{encoded}"))
    assert inline.text.startswith("Here it is:")
    broken = parse_message(mail("Content-Transfer-Encoding: x-uuencode", body="begin 644 x\n!!!garbage\n"))
    assert isinstance(broken.text, str)


def test_deep_nesting_is_capped():
    depth = MAX_DEPTH + 20
    body = "".join(f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(depth))
    body += f"--b{depth}\nContent-Type: text/plain\n\ndeep down\n"
    parsed = parse_message(mail("Subject: deep", "Content-Type: multipart/mixed; boundary=b0", body=body))
    assert parsed.truncated
    assert any("nested deeper" in defect for defect in parsed.defects)
    assert parsed.text is None


def test_nesting_beyond_the_parsers_recursion_limit():
    depth = 3000
    body = "".join(f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(depth))
    started = time.thread_time()
    parsed = parse_message(mail("Subject: abyss", "Content-Type: multipart/mixed; boundary=b0", body=body))
    assert time.thread_time() - started < SECONDS_PER_MESSAGE
    assert parsed.subject == "abyss" and parsed.truncated
    rfc822_chain = b"Content-Type: message/rfc822\r\n\r\n" * depth + b"Subject: end\r\n\r\nx"
    assert isinstance(parse_message(rfc822_chain), ParsedMessage)


def test_number_of_parts_is_capped():
    parts = [f"Content-Type: application/octet-stream; name=f{i}.bin\n\n{i}" for i in range(MAX_PARTS + 200)]
    started = time.thread_time()
    parsed = parse_message(multipart("mixed", "m", *parts))
    assert time.thread_time() - started < SECONDS_PER_MESSAGE
    assert parsed.truncated
    assert MAX_PARTS - 10 <= len(parsed.attachments) < MAX_PARTS


def test_huge_bodies_are_truncated():
    raw = mail("Content-Type: text/plain; charset=utf-8", body="ä" * 5000)
    parsed = parse_message(raw, max_text_chars=1000)
    assert parsed.text == "ä" * 1000 and parsed.truncated
    assert not parse_message(raw).truncated
    html = multipart("alternative", "a", "Content-Type: text/plain\n\n" + "t" * 3000,
                     "Content-Type: text/html\n\n<p>" + "h" * 3000)
    parsed = parse_message(html, max_text_chars=100)
    assert len(parsed.text) == 100 and len(parsed.html) == 100 and parsed.truncated


def test_garbage_never_raises():
    rng = random.Random(20240501)
    samples = [b"", b"\x00" * 100, b"\xff\xfe" * 5000, b"\r\n\r\n\r\n", b":::\r\n:\r\n", b"Subject:",
               b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
               b"Content-Type: text/plain; charset*=''\r\n\r\nx",
               b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64===",
               b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n"]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(50)]
    for sample in samples:
        parsed = parse_message(sample)
        assert isinstance(parsed, ParsedMessage)
        make_preview(parsed.text or parsed.html)


def test_only_bytes_are_accepted():
    with pytest.raises(TypeError):
        parse_message("Subject: text\r\n\r\nbody")
    with pytest.raises(TypeError):
        get_part("Subject: text", "1")
    assert parse_message(bytearray(mail("Subject: ba"))).subject == "ba"


# --- previews ----------------------------------------------------------------------------------

def test_preview_collapses_whitespace_and_cuts():
    assert make_preview("  Hello\n\n   world\t again ") == "Hello world again"
    long = make_preview("word " * 100, length=20)
    assert len(long) == 20 and long.endswith("…")
    assert make_preview("") == "" and make_preview(None) == "" and make_preview("x", length=0) == ""


def test_preview_leaves_out_quotes():
    text = "Sounds good.\n\nOn Mon, 1 Jan 2024, Bob wrote:\n> Shall we meet?\n> At ten?\n\nCheers"
    assert make_preview(text) == "Sounds good. Cheers"
    assert make_preview("> only a quote\n> nothing else") == "> only a quote > nothing else"
    outlook = "Yes.\n\n-----Original Message-----\nFrom: Bob\nShall we?"
    assert make_preview(outlook) == "Yes."


def test_preview_of_html():
    html = """<html><head><title>T</title><style>p { color: red }</style></head>
    <body><script>alert(1)</script><p>Hello&nbsp;<b>World</b> &amp; you</p><div>next</div>
    <blockquote>quoted</blockquote></body></html>"""
    assert make_preview(html) == "Hello World & you next"
    assert make_preview("<blockquote>only quoted</blockquote>", is_html=True) == "only quoted"
    assert make_preview("1 < 2 and a <b> tag", is_html=False) == "1 < 2 and a <b> tag"


def test_preview_of_hostile_html_is_fast():
    started = time.thread_time()
    make_preview("<div>" * 200_000 + "x")
    make_preview("<style>" * 100_000)
    make_preview("<" * 500_000)
    assert time.thread_time() - started < SECONDS_PER_MESSAGE


# --- corpora -----------------------------------------------------------------------------------

def corpus(folder: str, patterns: tuple[str, ...], limit: int | None = None) -> list:
    base = CORPORA / folder
    if not base.is_dir():
        return [corpora.missing_param(folder, base)]
    files = sorted({path for pattern in patterns for path in base.glob(pattern) if path.is_file()})
    return [pytest.param(path, id=f"{folder}/{path.relative_to(base)}") for path in files[:limit]]


def without_mbox_line(raw: bytes) -> bytes:
    if raw.startswith(b"From "):
        return raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return raw


def read_fully(raw: bytes) -> ParsedMessage:
    """What the reading view does with a message: parse, preview, sanitize, offer the parts."""
    started = time.thread_time()
    parsed = parse_message(raw)
    make_preview(parsed.text or parsed.html)
    if parsed.html is not None:
        cid_map = {part.content_id: f"/parts/{part.part_id}" for part in parsed.inline_parts}
        sanitize_html(parsed.html, cid_map=cid_map)
    for attachment in parsed.attachments[:20]:
        found = get_part(raw, attachment.part_id)
        assert found is not None and found[0] == attachment and len(found[1]) == attachment.size
    elapsed = time.thread_time() - started
    assert elapsed < SECONDS_PER_MESSAGE, f"took {elapsed:.2f} s"
    return parsed


def assert_storable(parsed: ParsedMessage) -> None:
    """Every string can be encoded (no lone surrogates) and every file name is safe."""
    strings = [parsed.subject, parsed.text or "", parsed.html or "", parsed.message_id or ""]
    for address in parsed.from_ + parsed.to + parsed.cc:
        strings += [address.name, address.email]
    strings += [value for header in parsed.headers for value in header]
    for string in strings:
        string.encode("utf-8")
        assert "\x00" not in string
    for attachment in parsed.attachments + parsed.inline_parts:
        name = attachment.filename
        assert name and len(name) <= 200 and "/" not in name and "\\" not in name
        assert not name.startswith(".") and name.isprintable()


@pytest.mark.parametrize("path", corpus("mime-flanker", ("**/*.eml", "dkim/email.*")))
def test_flanker_corpus(path):
    assert_storable(read_fully(path.read_bytes()))


@pytest.mark.parametrize("path", corpus("mime-mime4j", ("*.msg",)))
def test_mime4j_corpus(path):
    assert_storable(read_fully(path.read_bytes()))


@pytest.mark.parametrize("path", corpus("ham", ("*",), limit=HAM_MESSAGES))
def test_ham_corpus(path):
    parsed = read_fully(without_mbox_line(path.read_bytes()))
    assert_storable(parsed)
    assert parsed.subject or parsed.from_


def test_flanker_torture_messages_keep_their_structure():
    base = corpora.require(CORPORA / "mime-flanker")
    endless = parse_message((base / "enclosed-endless.eml").read_bytes())
    assert endless.subject == "Wow" and endless.text.strip() == "Hello"
    assert [a.content_type for a in endless.attachments] == ["message/rfc822"]
    torture = parse_message((base / "torture.eml").read_bytes())
    assert torture.subject == "Multi-media mail demonstration"
    assert {a.content_type for a in torture.attachments} >= {"message/rfc822", "audio/basic", "image/pbm"}


def test_mime4j_messages_agree_with_the_stdlib_on_leaf_count():
    base = corpora.require(CORPORA / "mime-mime4j")
    raw = (base / "example.msg").read_bytes()
    parsed = parse_message(raw)
    stdlib = message_from_bytes(raw, policy=policy.default)
    leaves = [part for part in stdlib.walk() if not part.is_multipart()]
    assert 1 + len(parsed.attachments) + len(parsed.inline_parts) == len(leaves)


# --- text that must be shown as text (issue 18, points 13–16) ---------------------------------

def test_the_only_part_with_a_name_is_the_text():
    named = mail("From: a@example.test", 'Content-Type: text/plain; charset=utf-8; name="note.txt"',
                 body="Hallo Welt")
    parsed = parse_message(named)
    assert parsed.text == "Hallo Welt" and parsed.attachments == ()
    marked = mail("From: a@example.test", 'Content-Type: text/plain; name="note.txt"',
                  "Content-Disposition: attachment", body="Hallo Welt")
    assert parse_message(marked).text is None and len(parse_message(marked).attachments) == 1


def test_a_content_type_without_its_semicolon_is_text():
    parsed = parse_message(mail("From: a@example.test", "Content-Type: TEXT/PLAIN charset=US-ASCII",
                                body="plain words"))
    assert parsed.text == "plain words" and parsed.attachments == ()


def test_inline_text_parts_of_a_mixed_message_are_all_shown_in_order():
    parsed = parse_message(multipart(
        "mixed", "M",
        "Content-Type: text/plain\n\nFirst plain",
        "Content-Type: text/html\nContent-Disposition: inline\n\n<p>Second html</p>",
        "Content-Type: text/plain\nContent-Disposition: inline\n\nThird <plain>"))
    html = parsed.html
    assert html.index("First plain") < html.index("Second html") < html.index("Third &lt;plain&gt;")
    alternative = parse_message(multipart(
        "alternative", "A", "Content-Type: text/plain\n\nplain version",
        "Content-Type: text/html\n\n<p>html version</p>"))
    assert "plain version" not in alternative.html  # only the HTML's own plain version


def test_charset_labels_as_browsers_read_them():
    big5 = mail("Content-Type: text/plain; charset=CHINESEBIG5", body="中文".encode("big5"))
    assert parse_message(big5).text == "中文"
    trademark = mail("Content-Type: text/plain; charset=iso-8859-1",
                     "Content-Transfer-Encoding: quoted-printable", body="Marke=99")
    assert parse_message(trademark).text == "Marke™"


def test_old_style_and_broken_senders_show_what_is_there():
    old_style = parse_message(mail("From: anna@example.test (Anna Albers)", "Subject: x"))
    assert [(a.name, a.email) for a in old_style.from_] == [("Anna Albers", "anna@example.test")]
    for broken in ("x@y@z", '"" <>'):
        parsed = parse_message(mail(f"From: {broken}", "Subject: x"))
        assert [(a.name, a.email) for a in parsed.from_] == [(broken, "")]


# --- one header decoder, digests, unusual transfer encodings (issue 18, points 12, 14, 17) -----

def test_adjacent_encoded_words_are_joined_as_bytes_before_decoding():
    assert decode_header_text("=?utf-8?Q?=C3?= =?utf-8?Q?=BC?=") == "ü"
    assert decode_header_text(b"=?utf-8?B?w6Q=?=\r\n =?UTF-8?q?=C3?=\t=?utf-8?Q?=B6?= x") == "äö x"
    # another charset or plain text between words ends the run; the space before text stays
    assert decode_header_text("=?iso-8859-1?q?=E4?= =?utf-8?q?=C3=A4?= und =?utf-8?q?=C3=BC?=") == "ää und ü"
    assert decode_header_text("=?utf-8?B?!?= kept") == "=?utf-8?B?!?= kept"
    assert decode_header_text("=?utf-8*de?q?Stra=C3=9Fe?=\x00\r\n") == "Straße  "


def test_the_reading_view_reads_headers_with_the_one_decoder():
    headers = ["=?utf-8?Q?=C3?= =?utf-8?Q?=BC?=ber", "H=?ISO-8859-1?B?9g==?=hn", "=?x-unknown?q?caf=E9?= ok",
               "=?iso-8859-1?q?Marke=99?=", "=?utf-8?q?a?= b =?utf-8?q?c?="]
    for value in headers:
        parsed = parse_message(mail(f"Subject: {value}", f"From: {value} <a@example.test>", f"X-Note: {value}"))
        assert parsed.subject == decode_header_text(value)
        assert parsed.from_ == (Address(decode_header_text(value), "a@example.test"),)
        assert dict(parsed.headers)["X-Note"] == decode_header_text(value)
    assert parse_message(mail("Subject: H=?ISO-8859-1?B?9g==?=hn")).subject == "Höhn"
    assert decode_header_text("=?iso-8859-1?q?Marke=99?=") == "Marke™"  # read as windows-1252


def test_addresses_split_before_their_names_are_decoded():
    value = "=?utf-8?Q?M=C3=BCller=2C_Anna?= <anna@example.test>, =?utf-8?q?=22Bob=22?= <bob@example.test>"
    assert split_addresses(value) == [("Müller, Anna", "anna@example.test"), ("Bob", "bob@example.test")]
    assert address_list_text(value) == '"Müller, Anna" <anna@example.test>, Bob <bob@example.test>'
    assert split_addresses(address_list_text(value)) == split_addresses(value)
    assert address_list_text("Plain <p@example.test>") == "Plain <p@example.test>"
    assert split_addresses("x@y@z") == [("x@y@z", "")] and sender_label("x@y@z") == "x@y@z"
    assert sender_label("anna@example.test (Anna Albers)") == "Anna Albers"
    assert sender_label('"" <>') == '"" <>' and sender_label("") == ""


def test_a_digest_shows_its_messages_in_order_and_each_stays_downloadable():
    digest = (
        '--D\nContent-Type: multipart/digest; boundary="G"\n\n'
        "--G\n\nFrom: Anna <anna@example.test>\nSubject: First news\n\nFirst text\n"
        "--G\nContent-Type: message/rfc822\n\nFrom: Bob <bob@example.test>\nSubject: Second news\n"
        "Content-Type: text/html\n\n<p>Second <b>html</b></p>\n"
        "--G--\n"
    )
    raw = mail("Subject: Digest", 'Content-Type: multipart/mixed; boundary="D"',
               body="--D\nContent-Type: text/plain\n\nToday's digest\n" + digest + "--D--\n")
    parsed = parse_message(raw)
    html = parsed.html
    order = ["Today&#x27;s digest", "Anna", "First news", "First text", "Bob", "Second news", "<b>html</b>"]
    assert [html.index(piece) for piece in order] == sorted(html.index(piece) for piece in order)
    text = parsed.text
    assert text.index("Today's digest") < text.index("Subject: First news") < text.index("First text")
    assert text.index("First text") < text.index("From: Bob <bob@example.test>") < text.index("Second html")
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822", "message/rfc822"]
    assert [a.filename for a in parsed.attachments] == ["First news.eml", "Second news.eml"]
    first, second = (get_part(raw, a.part_id)[1] for a in parsed.attachments)
    assert b"First text" in first and b"<p>Second <b>html</b></p>" in second
    plain_only = parse_message(multipart("digest", "G", "\nSubject: Only\n\nJust text"))
    assert "Just text" in plain_only.text and "Just text" in plain_only.html


def gzip64(data: bytes) -> str:
    return base64.encodebytes(gzip.compress(data)).decode("ascii")


def test_gzip64_and_uuencoded_parts_are_offered_decoded():
    uuencoded = "begin 644 hello.txt\n,:&5L;&\\@=V]R;&0*\n`\nend\n"
    raw = multipart(
        "mixed", "m", "Content-Type: text/plain\n\nsee the files",
        f"Content-Type: text/plain; name=log.txt\nContent-Transfer-Encoding: x-gzip64\n\n{gzip64(b'log line 1')}",
        f"Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\n{uuencoded}",
    )
    parsed = parse_message(raw)
    assert parsed.text == "see the files" and parsed.defects == ()
    log, hello = parsed.attachments
    assert (log.filename, log.size) == ("log.txt", len(b"log line 1"))
    assert get_part(raw, log.part_id)[1] == b"log line 1"
    assert get_part(raw, hello.part_id)[1] == b"hello world\n" and hello.size == 12


def test_transfer_encodings_nothing_decodes_are_offered_as_sent_with_a_note(monkeypatch):
    binhex = "(This file must be converted with BinHex 4.0)\n:!!!"
    raw = multipart(
        "mixed", "m", "Content-Type: text/plain\n\nbody",
        f"Content-Type: text/plain\nContent-Transfer-Encoding: x-binhex\n\n{binhex}",
        "Content-Type: application/octet-stream; name=a.gz\nContent-Transfer-Encoding: x-gzip64\n\nbm90IGd6aXA=",
    )
    parsed = parse_message(raw)
    assert parsed.text == "body"
    unknown, damaged = parsed.attachments
    assert get_part(raw, unknown.part_id)[1] == binhex.replace("\n", "\r\n").encode()
    assert get_part(raw, damaged.part_id)[1] == b"bm90IGd6aXA="
    assert any("x-binhex" in note and "2" in note for note in parsed.defects)
    assert any(note.startswith("3: x-gzip64") for note in parsed.defects)
    monkeypatch.setattr(parse_module, "MAX_DECODED_PART_BYTES", 1000)  # a gzip bomb stays packed
    bomb = parse_message(multipart(
        "mixed", "m", "Content-Type: text/plain\n\nx",
        f"Content-Type: application/octet-stream\nContent-Transfer-Encoding: x-gzip64\n\n{gzip64(bytes(5000))}"))
    assert bomb.attachments[0].size < 1000 and any("larger than" in note for note in bomb.defects)
    spelled = parse_message(mail("Content-Type: text/plain", "Content-Transfer-Encoding: 8-bit", body="as it is"))
    assert spelled.text == "as it is" and spelled.defects == ()


def test_raw_8bit_headers_are_read_in_the_declared_body_charset():
    raw = ("From: Иван Петров <ivan@example.test>\r\nSubject: Привет мир\r\n"
           "Content-Type: text/plain; charset=koi8-r\r\n\r\nтекст\r\n").encode("koi8-r")
    parsed = parse_message(raw)
    assert parsed.subject == "Привет мир" and parsed.text.strip() == "текст"
    assert [(a.name, a.email) for a in parsed.from_] == [("Иван Петров", "ivan@example.test")]
    utf8 = "From: a@example.test\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\nx\r\n"
    assert parse_message(utf8.encode("utf-8")).subject == "Grüße"  # UTF-8 is tried first
