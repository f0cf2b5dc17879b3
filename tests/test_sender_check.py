"""The sender check's pure logic (``tricoma_mail_plugin/sender_check/``): Authentication-Results
read as RFC 8601 writes them, IBANs found and checked, look-alike domains, each contact check
on hand-made mail, and the shared ham corpus, which must raise none of the contact warnings.
The live test against Dovecot and the reading view, and the hook's test, are in
``test_sender_check_live.py``; these run with the core alone (tests/test_packaging.py)."""
from __future__ import annotations

import time
from collections import Counter

import corpora
import pytest

from tricoma_mail_plugin import KnownSender
from tricoma_mail_plugin.mime.parse import parse_message
from tricoma_mail_plugin.sender_check import check_message
from tricoma_mail_plugin.sender_check.auth_results import parse, trusted_results
from tricoma_mail_plugin.sender_check.domains import looks_like, registrable_domain
from tricoma_mail_plugin.sender_check.iban import find_ibans, is_valid

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

HAM_MESSAGES = 500
CONTACT_CODES = {"display_name", "lookalike", "reply_to", "bank_account"}
SUPPLIER = KnownSender("Müller Bürobedarf GmbH", ("rechnung@mueller-buero.de",),
                       ("DE89 3704 0044 0532 0130 00",), "supplier")


def mail(headers: str, body: str = "Guten Tag,\nanbei die Rechnung.\n") -> bytes:
    return (headers.strip() + "\nSubject: Rechnung 4711\nMessage-ID: <x@example.test>\n\n" + body).encode()


def codes(raw: bytes, known=(SUPPLIER,), **options) -> list[str]:
    return [warning.code for warning in check_message(raw, known, **options)]


def test_authentication_results_are_read_as_rfc_8601_writes_them():
    authserv_id, results = parse(
        'mx.example.net (Postfix 3.7) 1; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom="a;b@x.test" '
        "smtp.helo=mail.x.test; dkim=fail (bad signature) header.d=x.test header.s=sel; "
        "dmarc=fail (p=reject dis=none) header.from=x.test; arc=none")
    assert authserv_id == "mx.example.net"
    assert [(r.method, r.result) for r in results] == [("spf", "pass"), ("dkim", "fail"), ("dmarc", "fail"),
                                                       ("arc", "none")]
    assert results[0].get("smtp.mailfrom") == "a;b@x.test" and results[1].get("header.d") == "x.test"
    assert parse("mx.example.net; none") == ("mx.example.net", [])
    # Only the receiving server counts: a configured id, else the topmost header's.
    forged, own = "evil.test; dmarc=pass header.from=x.test", "mx.example.net; dmarc=fail header.from=x.test"
    assert [r.result for r in trusted_results([own, forged])] == ["fail"]
    assert [r.result for r in trusted_results([forged, own], ["MX.example.net"])] == ["fail"]
    assert trusted_results([forged], ["mx.example.net"]) is None and trusted_results([]) is None


@pytest.mark.parametrize("header, expected", [
    ("mx.test; spf=pass smtp.mailfrom=b@mueller-buero.de; dkim=fail header.d=mueller-buero.de", []),
    ("mx.test; dmarc=pass header.from=mueller-buero.de; spf=fail smtp.mailfrom=b@other.test", []),
    ("mx.test; dmarc=fail header.from=mueller-buero.de; spf=fail smtp.mailfrom=b@mueller-buero.de", ["dmarc_fail"]),
    ("mx.test; spf=softfail smtp.mailfrom=b@mueller-buero.de; dkim=none", ["spf_fail"]),
    ("mx.test; spf=none; dkim=fail header.d=mueller-buero.de", ["dkim_fail"]),
    ("mx.test; spf=pass smtp.mailfrom=bounce@esp.test; dkim=pass header.d=esp.test", ["unaligned"]),
    ("mx.test; spf=pass smtp.mailfrom=bounce@mail.mueller-buero.de", []),  # relaxed alignment
    ("mx.test; none", []),
])
def test_authentication_results_give_their_warning_or_none(header, expected):
    raw = mail(f"Authentication-Results: {header}\nFrom: Müller <rechnung@mueller-buero.de>")
    assert codes(raw) == expected


def test_ibans_are_found_with_their_check_digits():
    text = ("Neue Bankverbindung: DE02 1203 0000 0000 2020 51, BIC BYLADEM1001. Alt: DE89370400440532013000.\n"
            "Kein IBAN: DE89 3704 0044 0532 0130 01, DE89 3704 0044 0532 0130 0099, XX12 3456 7890 1234")
    assert find_ibans(text) == ["DE02120300000000202051", "DE89370400440532013000"]
    assert is_valid("gb82 west 1234 5698 7654 32") and not is_valid("GB82 WEST 1234 5698 7654 33")


def test_look_alike_domains():
    assert registrable_domain("mail.mueller.co.uk") == "mueller.co.uk"
    for fake in ("mueIler-buero.de", "mueller-bureo.de", "muller-buero.de", "mueller-buer0.de",
                 "xn--mueller-buer-cib.de", "xn--mller-buero-thb.de", "mueller-buero.com", "rnueller-buero.de"):
        assert looks_like(registrable_domain(fake), "mueller-buero.de"), fake
    for other in ("mueller-buero.de", "gmx.at", "meier-buero.de", "example.com"):
        assert not looks_like(registrable_domain(other), "mueller-buero.de"), other
    assert not looks_like("gmx.at", "gmx.de")  # short names have honest neighbours


def test_each_contact_check_raises_exactly_its_warning():
    assert codes(mail("From: Müller Bürobedarf GmbH <rechnung@mueller-buero.de>")) == []
    assert codes(mail("From: Müller Bürobedarf GmbH <mueller.buero@gmail.com>")) == ["display_name"]
    assert codes(mail('From: "rechnung@mueller-buero.de" <x@elsewhere.test>')) == ["display_name"]
    assert codes(mail("From: Müller Bürobedarf GmbH <buchhaltung@mueller-buero.de>")) == []  # the company's domain
    assert codes(mail("From: Buchhaltung <rechnung@mueIler-buero.de>")) == ["lookalike"]
    assert codes(mail("From: Buchhaltung <rechnung@mueller-buero.de>\nReply-To: zahlung@konto-service.test")) \
        == ["reply_to"]
    assert codes(mail("From: Buchhaltung <rechnung@mueller-buero.de>\nReply-To: buchhaltung@mueller-buero.de")) == []
    assert codes(mail("From: Buchhaltung <rechnung@mueller-buero.de>\nReply-To: list@lists.test\n"
                      "List-Id: <kunden.lists.test>")) == []
    changed = mail("From: Buchhaltung <rechnung@mueller-buero.de>",
                   "Bitte überweisen Sie ab sofort an DE02 1203 0000 0000 2020 51.\n")
    assert codes(changed) == ["bank_account"]
    [warning] = check_message(changed, [SUPPLIER])
    assert "DE02 1203 0000 0000 2020 51" in warning.message and "DE89 3704 0044 0532 0130 00" in warning.message
    assert codes(mail("From: <rechnung@mueller-buero.de>", "Konto: DE89370400440532013000\n")) == []
    assert codes(mail("From: <rechnung@mueller-buero.de>", "> Unser Konto: DE02 1203 0000 0000 2020 51\nDanke\n")) == []
    assert codes(mail("From: Jemand <x@unknown.test>", "DE02 1203 0000 0000 2020 51")) == []  # unknown sender
    assert codes(mail("From: Müller Bürobedarf GmbH <mueller.buero@gmail.com>"), known=()) == []


def test_ham_corpus_raises_no_contact_warning():
    """Every sender of 500 real mails is a known contact with a bank account on record: none of
    their mails may look spoofed or name another account. The count is printed for the notes."""
    folder = corpora.require(corpora.CORPORA / "ham")
    raws = [path.read_bytes() for path in sorted(folder.iterdir())[:HAM_MESSAGES]]
    contacts: dict[str, str] = {}
    for raw in raws:
        for address in parse_message(raw, with_headers=False).from_[:1]:
            contacts.setdefault(address.email.lower(), address.name)
    known = [KnownSender(name, (address,), ("DE89 3704 0044 0532 0130 00",), "supplier")
             for address, name in contacts.items() if "@" in address]
    started = time.perf_counter()
    found = Counter(code for raw in raws for code in codes(raw, known))
    seconds = time.perf_counter() - started
    false_positives = sum(found[code] for code in CONTACT_CODES)
    print(f"\nham corpus: {len(raws)} mails, {len(known)} known senders, contact warnings {false_positives} "
          f"({dict(found)}), {seconds:.2f} s")
    assert len(raws) == HAM_MESSAGES and len(known) > 100
    assert false_positives == 0, found
