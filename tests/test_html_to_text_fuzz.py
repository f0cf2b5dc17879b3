"""Every function that turns mail HTML into text or markup survives any input: the HTML of the
corpora's messages, the XSS vectors, and seeded random markup built from the constructs that trip
parsers (marked sections, bogus comments, unclosed tags, stray entities). A raise here would be
a 500 on the print view, a reply, a preview or the reading view."""
from __future__ import annotations

import random

import corpora
import pytest
from test_html_sanitizer import XSS_FIXTURES, dompurify_payloads

from tricoma_mail_plugin.mime.html_text import html_to_plain_text
from tricoma_mail_plugin.mime.parse import make_preview, parse_message
from tricoma_mail_plugin.mime.sanitize import defuse_markup, sanitize_html

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

TRICKY = ["<![", "<![>", "<![CDATA[", "]]>", "<![if !mso]>", "<![endif]>", "<!", "<!--", "-->", "--!>",
          "<!DOCTYPE", "<?", "?>", "</", "<", ">", "<a href='", "'>", "<p", "<table><tr><td>",
          "&", "&#", "&#x", "&#xffffffff;", "&#0;", "&amp", "<script>", "</script>", "<style>",
          "<blockquote>", "<br/>", "<img src=x onerror=1>", "\x00", "\ud800", "é", "text", " ", "\n"]


def convert_all(html: str) -> None:
    assert isinstance(html_to_plain_text(html), str)
    assert isinstance(sanitize_html(html).html, str)
    assert isinstance(defuse_markup(html), str)
    assert isinstance(make_preview(html, is_html=True), str)


def test_the_marked_section_that_broke_the_print_view():
    assert html_to_plain_text("<p>Rechnung<![>Betrag: 10 €</p>").strip() == "RechnungBetrag: 10 €"
    convert_all("<![>")


def test_seeded_random_markup():
    generator = random.Random(20261204)
    for _ in range(3000):
        convert_all("".join(generator.choice(TRICKY) for _ in range(generator.randint(1, 40))))


def test_every_xss_vector():
    corpora.require(XSS_FIXTURES)
    for payload in dompurify_payloads():
        convert_all(payload)


@pytest.mark.parametrize("folder", ["mime-flanker", "mime-mime4j", "ham"])
def test_the_html_of_every_corpus_message(folder):
    base = corpora.require(corpora.CORPORA / folder)
    converted = 0
    for path in sorted(p for p in base.rglob("*") if p.is_file() and p.suffix != ".xml")[:1000]:
        raw = path.read_bytes()
        if raw.startswith(b"From "):  # the ham corpus keeps the mbox separator line
            raw = raw.split(b"\n", 1)[-1]
        parsed = parse_message(raw)
        if parsed.html:
            convert_all(parsed.html)
            converted += 1
    assert converted > 0
