"""DKIM on the real stack: a new domain's key reaches OpenDKIM without a Postfix restart, and the
signature on submitted mail verifies (dkimpy) with the key published in the domain's records."""
from __future__ import annotations

import dkim
import dns.message
import dns.query
from hostingstack_fixture import inbox_messages, message, submission
from tricoma_portal.hosting.dkim import generate_key
from tricoma_portal.hosting.dns_records import records_for


def test_submitted_mail_of_a_new_domain_is_signed_with_the_key_shown_in_its_dns_records(
    hostingstack, hosted_domain, hosted_mailbox
):
    client = hostingstack.client
    postfix_pid = next(s.pid for s in hostingstack.daemons.status() if s.service == "postfix")
    domain = hosted_domain()
    selector, private_pem, public_b64 = generate_key(domain)
    client.install_dkim_key(domain, selector, private_pem)
    records = records_for(domain, selector, public_b64, client.settings())
    client.publish_zone(domain, records)
    box = hosted_mailbox(domain, "signiert")
    client.activate_mailbox(box.id)

    with submission(hostingstack, box.login, box.password) as smtp:
        smtp.send_message(message(box.login, box.login, "signed mail"))
    [raw] = inbox_messages(hostingstack, box.login, box.password, subject="signed mail", wait_for=1)

    assert f"d={domain}; s={selector};".encode() in raw.replace(b"\r\n\t", b" ")
    dkim_record = next(r for r in records if r.kind == "dkim")
    assert dkim_record.name == f"{selector}._domainkey.{domain}"

    def from_nsd(name: bytes, timeout: int = 5) -> bytes:
        """dkimpy's key lookup, answered by the stack's NSD (not the system resolver)."""
        query = dns.message.make_query(name.decode().rstrip("."), "TXT")
        answer = dns.query.udp(query, hostingstack.host, port=hostingstack.ports["dns"], timeout=timeout)
        return b"".join(b"".join(rdata.strings) for rrset in answer.answer for rdata in rrset)

    assert from_nsd(f"{dkim_record.name}.".encode()) == dkim_record.value.encode()
    assert dkim.verify(raw, dnsfunc=from_nsd)
    assert not dkim.verify(raw.replace(b"Hallo", b"Hello"), dnsfunc=from_nsd)  # the check has teeth
    # OpenDKIM learnt the key by SIGUSR1; Postfix was not restarted
    assert next(s.pid for s in hostingstack.daemons.status() if s.service == "postfix") == postfix_pid
    assert domain in client.dkim_tables.domains()
