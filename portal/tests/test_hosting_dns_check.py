""""Check DNS" against the stack's authoritative NSD with zones the tests write: all green for a
correct zone, and every record kind named when it is missing or wrong."""
from __future__ import annotations

import dataclasses

import pytest
from tricoma_portal.hosting.dkim import generate_key
from tricoma_portal.hosting.dns_check import MISSING, WRONG, check
from tricoma_portal.hosting.dns_records import DnsRecord, records_for

KINDS = ("mx", "spf", "dkim", "dmarc", "autoconfig", "autodiscover",
         "srv_imap", "srv_imaps", "srv_submission", "srv_autodiscover")  # fmt: skip

# a value of the record's type that is not what the portal asks for
WRONG_VALUES = {
    "mx": "10 mx.elsewhere.example.",
    "spf": "v=spf1 include:elsewhere.example -all",
    "dmarc": "v=DMARC1; p=none",
    "autoconfig": "elsewhere.example.",
    "autodiscover": "elsewhere.example.",
    "srv_imap": "0 1 993 imap.elsewhere.example.",
    "srv_imaps": "0 1 993 imap.elsewhere.example.",
    "srv_submission": "0 1 465 smtp.elsewhere.example.",
    "srv_autodiscover": "0 1 443 elsewhere.example.",
}


@pytest.fixture(scope="module")
def dkim_key():
    """One key pair for the module (RSA generation is the slow part)."""
    _, _, public_b64 = generate_key("example.test")
    return public_b64


def _expected(stack, domain: str, public_b64: str) -> list[DnsRecord]:
    return records_for(domain, "tm202612", public_b64, stack.client.settings())


def test_correct_zone_is_all_green(hostingstack, dkim_key):
    domain = "richtig.test"
    expected = _expected(hostingstack, domain, dkim_key)
    # a domain has other TXT records too; they must not confuse the check
    extra = DnsRecord("TXT", domain, "google-site-verification=abc", "", "other")
    hostingstack.client.publish_zone(domain, [*expected, extra])

    results = check(domain, expected, resolver=hostingstack.client.resolver)

    assert [(r.record.kind, r.ok, r.problem) for r in results] == [(kind, True, None) for kind in KINDS]
    dkim_result = next(r for r in results if r.record.kind == "dkim")
    assert dkim_result.found == (expected[2].value,)  # the 2048-bit key, joined from its strings


@pytest.mark.parametrize("kind", KINDS)
def test_missing_and_wrong_record_of_each_kind_is_named(hostingstack, dkim_key, kind):
    domain = f"falsch-{kind.replace('_', '-')}.test"
    expected = _expected(hostingstack, domain, dkim_key)
    [target] = [r for r in expected if r.kind == kind]
    others = [r for r in expected if r.kind != kind]

    hostingstack.client.publish_zone(domain, others)
    missing = {r.record.kind: r for r in check(domain, expected, resolver=hostingstack.client.resolver)}
    assert [k for k, r in missing.items() if not r.ok] == [kind]
    assert missing[kind].reason == MISSING
    assert target.name in missing[kind].problem and "missing" in missing[kind].problem

    if kind == "dkim":  # another key under our selector
        _, _, other_key = generate_key(domain)
        wrong_value = f"v=DKIM1; k=rsa; p={other_key}"
    else:
        wrong_value = WRONG_VALUES[kind]
    hostingstack.client.publish_zone(domain, [*others, dataclasses.replace(target, value=wrong_value)])
    wrong = {r.record.kind: r for r in check(domain, expected, resolver=hostingstack.client.resolver)}
    assert [k for k, r in wrong.items() if not r.ok] == [kind]
    assert wrong[kind].reason == WRONG
    assert target.name in wrong[kind].problem and "wrong" in wrong[kind].problem
    assert wrong[kind].found


def test_two_spf_records_are_wrong_and_a_longer_spf_is_fine(hostingstack, dkim_key):
    domain = "spf-varianten.test"
    expected = _expected(hostingstack, domain, dkim_key)
    spf = next(r for r in expected if r.kind == "spf")
    longer = dataclasses.replace(spf, value="v=spf1 mx include:newsletter.example -all")
    hostingstack.client.publish_zone(domain, [r for r in expected if r.kind != "spf"] + [longer])
    assert [r.problem for r in check(domain, expected, resolver=hostingstack.client.resolver) if not r.ok] == []

    hostingstack.client.publish_zone(domain, [*expected, longer])
    [spf_result] = [r for r in check(domain, expected, resolver=hostingstack.client.resolver) if not r.ok]
    assert spf_result.record.kind == "spf" and "2 SPF records" in spf_result.problem


@pytest.mark.db_independent
def test_unreachable_resolver_is_an_error_not_a_missing_record(dkim_key):
    expected = records_for("x.test", "tm202612", dkim_key, {"mx_host": "mail.x.test", "imap_port": 143,
                                                             "smtp_port": 587})  # fmt: skip
    results = check("x.test", expected[:1], resolver=("127.0.0.1", 9), timeout=0.5)  # nothing on port 9
    assert results[0].reason == "error" and not results[0].ok
    assert "no answer from the DNS server 127.0.0.1:9" in results[0].problem
