"""Web and e-mail addresses in plain-text mail become links (web/plain_text.py); everything else
stays escaped text, and hostile bodies cost linear time."""
from __future__ import annotations

import time

import pytest
from markupsafe import Markup, escape

from tricoma_mail_plugin.web.plain_text import linked_text, mail_text

OPENS = 'rel="noopener noreferrer" target="_blank"'


def link(href: str, text: str) -> str:
    """A web address's link opens a tab of its own; a mailto link the mail program."""
    return f'<a href="{href}">{text}</a>' if href.startswith("mailto:") else f'<a href="{href}" {OPENS}>{text}</a>'


@pytest.mark.parametrize(("text", "expected"), [
    ("The website ( http://freehackers.org/kvim/screenshots.html ) mentions",
     "The website ( " + link("http://freehackers.org/kvim/screenshots.html",
                             "http://freehackers.org/kvim/screenshots.html") + " ) mentions"),
    ("see www.example.com.", "see " + link("https://www.example.com", "www.example.com") + "."),
    ("https://de.wikipedia.org/wiki/Foo_(Begriff), ok?",
     link("https://de.wikipedia.org/wiki/Foo_(Begriff)", "https://de.wikipedia.org/wiki/Foo_(Begriff)") + ", ok?"),
    ("[Rechnung](https://erp.test/r/42)", "[Rechnung](" + link("https://erp.test/r/42", "https://erp.test/r/42") + ")"),
    ("<https://erp.test/a?b=1&c=2>",
     "&lt;" + link("https://erp.test/a?b=1&amp;c=2", "https://erp.test/a?b=1&amp;c=2") + "&gt;"),
    ("Fragen an info@firma.test!", "Fragen an " + link("mailto:info@firma.test", "info@firma.test") + "!"),
    ("JID: talios@my-jabber.example.net", "JID: " + link("mailto:talios@my-jabber.example.net",
                                                          "talios@my-jabber.example.net")),
    ("HTTPS://LAUT.TEST/X", link("HTTPS://LAUT.TEST/X", "HTTPS://LAUT.TEST/X")),
    ("Bücher: https://bücher.example/straße!", "Bücher: " + link("https://bücher.example/straße",
                                                                 "https://bücher.example/straße") + "!"),
])
def test_addresses_become_links_without_the_punctuation_around_them(text, expected):
    assert linked_text(text) == Markup(expected)


@pytest.mark.parametrize("text", [
    "javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "vbscript:msgbox",
    "http:// und https://) allein", "xhttp://kein.test", "y.www.kein.test", "a@b.c", "nur@host",
    "ftp://alt.test/datei", "http:///etc/passwd", "https://./x", "www..beispiel.test", "www.-.test",
])
def test_other_schemes_and_half_addresses_stay_text(text):
    assert "<a " not in linked_text(text)
    assert linked_text(text) == Markup.escape(text)


def test_everything_around_and_inside_a_link_is_escaped():
    text = '<script>alert(1)</script> http://a.test/x?q="><img src=x onerror=alert(1)> \'b@c.test\''
    markup = str(linked_text(text))
    assert "<script" not in markup and "<img" not in markup
    assert markup.count("<a ") == 2
    assert link("http://a.test/x?q=", "http://a.test/x?q=") in markup  # the quote ends the address
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&#39;" + link("mailto:b@c.test", "b@c.test") + "&#39;" in markup


def test_an_address_longer_than_any_link_stays_text():
    long_one = "https://lang.test/" + "a" * 3000
    assert "<a " not in linked_text(long_one)


@pytest.mark.parametrize("hostile", [
    "a" * 1_000_000, "a@" * 500_000, "a." * 500_000, "http://" + "a" * 1_000_000,
    ("x" * 60 + "@") * 16_000, "a@" + "b-" * 500_000, "www." * 250_000, "http://" * 140_000,
])
def test_a_hostile_million_characters_take_linear_time(hostile):
    started = time.process_time()
    markup = linked_text(hostile)
    assert time.process_time() - started < 2.0  # about 0.1 s on an idle core; backtracking would take hours
    assert markup.striptags() == hostile  # the text itself, with or without links


def test_quoted_lines_are_set_apart_by_depth_with_their_links():
    text = ("Hallo,\nam 3. Mai schrieb Anna:\n> Siehe https://x.test/a.\n> > alt\n>> auch alt\n"
            ">>>> ganz alt\n> wieder eins\nAntwort <b> hier\n")
    assert str(mail_text(text)) == (
        "Hallo,\nam 3. Mai schrieb Anna:\n"
        '<span class="quote-1">&gt; Siehe ' + link("https://x.test/a", "https://x.test/a") + ".\n</span>"
        '<span class="quote-2">&gt; &gt; alt\n&gt;&gt; auch alt\n</span>'
        '<span class="quote-3">&gt;&gt;&gt;&gt; ganz alt\n</span>'
        '<span class="quote-1">&gt; wieder eins\n</span>'
        "Antwort &lt;b&gt; hier\n")


def test_text_without_quotes_is_linked_text():
    text = "Kein Zitat: 3 > 2 und a->b, https://x.test\n"
    assert mail_text("Kein Zitat\nhttps://x.test\n") == linked_text("Kein Zitat\nhttps://x.test\n")
    assert "<span" not in mail_text(text)  # a ">" inside a line quotes nothing


@pytest.mark.parametrize("hostile", ["> a\n" * 250_000, ">" * 1_000_000, "a\n>\n" * 330_000])
def test_many_quoted_lines_take_linear_time(hostile):
    started = time.process_time()
    markup = mail_text(hostile)
    assert time.process_time() - started < 3.0
    assert markup.striptags() == Markup(escape(hostile)).striptags()


def test_an_e_mail_address_can_open_the_apps_own_compose_form():
    markup = linked_text("an info@firma.test oder https://firma.test", lambda address: f"/compose?to={address}&x=1")
    assert str(markup) == ('an <a href="/compose?to=info@firma.test&amp;x=1">info@firma.test</a> oder '
                           + link("https://firma.test", "https://firma.test"))
    assert 'href="/compose' in mail_text("> info@firma.test", lambda address: "/compose")


@pytest.mark.parametrize("text", [
    "httpſ://../../logout",  # "ſ" is no "s", whatever case folding says: no relative link into the app
    "ſ@example.com",
    "http://" + "a" * 2047 + "/www.evil.test",  # the tail of an address left as text stays text
    "http://" + "a" * 2047 + "/x@evil.test",
])
def test_look_alikes_and_the_tails_of_overlong_addresses_stay_text(text):
    assert "<a " not in linked_text(text)


def test_quotation_marks_and_invisible_characters_stay_outside_the_link():
    assert linked_text("„https://beispiel.test/a“") == Markup(
        "„" + link("https://beispiel.test/a", "https://beispiel.test/a") + "“")
    markup = str(linked_text("http://a.test/\u202egnp.exe"))  # a right-to-left override would disguise it
    assert link("http://a.test/", "http://a.test/") in markup and "\u202e" not in markup.split("</a>")[0]


@pytest.mark.parametrize(("text", "address"), [
    ("Schreiben Sie an o'neil@example.com.", "o'neil@example.com"),
    ("d'artagnan.m@mousquetaires.test", "d'artagnan.m@mousquetaires.test"),
    ("'info@firma.test'", "info@firma.test"),  # quoted, not part of the address
    ("it's: info@firma.test", "info@firma.test"),
])
def test_an_apostrophe_inside_a_local_part_belongs_to_the_address(text, address):
    markup = str(linked_text(text))
    assert markup.count("<a ") == 1
    assert f'href="mailto:{escape(address)}">{escape(address)}</a>' in markup


def test_an_address_of_many_labels_is_linked_whole():
    address = "user@" + "sub." * 10 + "example.com"
    assert linked_text(address) == Markup(link(f"mailto:{address}", address))


def test_closing_brackets_are_trimmed_in_linear_time():
    hostile = ("http://" + ")" * 2040 + " ") * 500
    started = time.process_time()
    linked_text(hostile)
    assert time.process_time() - started < 1.0  # 1.2 s before, taking the counts anew per bracket
