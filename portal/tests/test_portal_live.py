"""The portal on the real hosting stack: a mailbox created on the page logs in over IMAP within
10 s with the password shown once; password reset, quota, addresses with the login last; the
grace period after the last address (still reachable, undone by an address, purged after: login
fails, maildir gone); deletion with confirmation; the API's per-integration app password, which
works for IMAP until its token is revoked; the TXT proof of an own domain and "Check DNS"."""
from __future__ import annotations

import imaplib
import logging
import re
import time
from datetime import timedelta

import pytest
from hostingstack_fixture import imap_session
from portal_testing import PASSWORD, sign_in
from sqlalchemy import select
from tricoma_portal import accounts, domain_orders, domains, mailboxes
from tricoma_portal.extensions import db
from tricoma_portal.hosting.dns_records import DnsRecord
from tricoma_portal.hosting_access import hosting_stack
from tricoma_portal.models import ROLE_OPERATOR, Domain, Mailbox, utcnow

ACTIVE_WITHIN = 10.0


@pytest.fixture
def live_customer(live_portal, unique):
    """A customer admin (German) signed in, with an active domain ordered and completed."""
    with live_portal.app_context():
        operator, _ = accounts.create_user(None, f"op-{unique}@hoster.test", ROLE_OPERATOR,
                                           password=PASSWORD)
        tenant, admin, _ = accounts.create_tenant(f"Live {unique}", f"c-{unique}@kunde.test",
                                                  language="de", admin_password=PASSWORD)
        order = domain_orders.order_domain(tenant.id, admin.id, f"live-{unique}.test")
        domain_orders.complete(order, operator.id)
        domain_name, domain_id, email = order.domain.name, order.domain_id, admin.email
    return sign_in(live_portal, email), domain_name, domain_id


def wait_for_state(app, mailbox_id, timeout=ACTIVE_WITHIN + 2) -> tuple[str, float]:
    started = time.monotonic()
    while True:
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            state = mailbox.state
            db.session.remove()
        if state != "provisioning" or time.monotonic() - started > timeout:
            return state, time.monotonic() - started
        time.sleep(0.05)


def can_log_in(stack, login, password) -> bool:
    try:
        with imap_session(stack, login, password):
            return True
    except imaplib.IMAP4.error:
        return False


def shown_password(page: str) -> str:
    return re.search(r'<code class="secret">([^<]+)</code>', page).group(1)


def test_mailbox_life_on_the_real_stack(live_portal, live_customer, hostingstack):
    client, domain_name, domain_id = live_customer
    login = f"info@{domain_name}"
    started = time.monotonic()
    page = client.post("/mailboxes", data={"name": "Info", "domain_id": domain_id, "quota_mb": "50"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    password = shown_password(text)
    assert login in text and str(hostingstack.ports["imap"]) in text and "STARTTLS" in text
    with live_portal.app_context():
        mailbox_id = db.session.scalar(select(Mailbox.id).where(Mailbox.domain == domain_name))
    state, _ = wait_for_state(live_portal, mailbox_id)
    assert state == "active"
    assert can_log_in(hostingstack, login, password)
    elapsed = time.monotonic() - started
    print(f"create on the page -> IMAP login with the shown password: {elapsed:.2f} s")
    assert elapsed <= ACTIVE_WITHIN
    detail = client.get(f"/mailboxes/{mailbox_id}").get_data(as_text=True)
    assert "aktiv" in detail and password not in detail  # shown once only

    # a new password: the old one stops working at once
    new_password = shown_password(client.post(f"/mailboxes/{mailbox_id}/reset-password").get_data(as_text=True))
    assert can_log_in(hostingstack, login, new_password)
    assert not can_log_in(hostingstack, login, password)

    client.post(f"/mailboxes/{mailbox_id}/quota", data={"quota_mb": "20"})
    with live_portal.app_context():
        assert db.session.get(Mailbox, mailbox_id).quota == 20 * 1024 * 1024

    # addresses: the login goes last
    sales = f"vertrieb@{domain_name}"
    client.post(f"/mailboxes/{mailbox_id}/addresses", data={"address": sales})
    with live_portal.app_context():
        aliases = {a.address: a.id for a in db.session.get(Mailbox, mailbox_id).aliases}
    assert set(aliases) == {login, sales}
    assert client.post(f"/mailboxes/{mailbox_id}/addresses/{aliases[login]}/remove").status_code == 409
    client.post(f"/mailboxes/{mailbox_id}/addresses/{aliases[sales]}/remove")
    client.post(f"/mailboxes/{mailbox_id}/addresses/{aliases[login]}/remove", data={"delete_mailbox": "yes"})
    detail = client.get(f"/mailboxes/{mailbox_id}").get_data(as_text=True)
    with live_portal.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert mailbox.state == "deleting"
        assert timedelta(days=6, hours=23) < mailbox.delete_after - utcnow() <= timedelta(days=7)
        shown_date = mailbox.delete_after.strftime("%d.%m.%Y")
    assert f"wird gelöscht am {shown_date}" in detail
    assert can_log_in(hostingstack, login, new_password)  # still reachable in the grace period

    # an address in the grace period keeps the mailbox; purging then leaves it alone
    client.post(f"/mailboxes/{mailbox_id}/addresses", data={"address": login})
    with live_portal.app_context():
        assert db.session.get(Mailbox, mailbox_id).state == "active"
        assert mailboxes.purge_expired(utcnow() + timedelta(days=30)) == []
    client.post(f"/mailboxes/{mailbox_id}/addresses/{_alias_id(live_portal, mailbox_id)}/remove",
                data={"delete_mailbox": "yes"})

    # after the grace period (time moved on) the purge takes it away
    home = hostingstack.client.home(login)
    assert home.exists()
    with live_portal.app_context():
        assert mailboxes.purge_expired(utcnow() + timedelta(days=6)) == []
        assert mailboxes.purge_expired(utcnow() + timedelta(days=7, minutes=1)) == [login]
        assert db.session.get(Mailbox, mailbox_id) is None
    assert not home.exists()
    assert not can_log_in(hostingstack, login, new_password)


def _alias_id(app, mailbox_id) -> int:
    with app.app_context():
        return db.session.get(Mailbox, mailbox_id).aliases[0].id


def test_delete_needs_the_address_typed_and_takes_the_mail(live_portal, live_customer, hostingstack):
    client, domain_name, domain_id = live_customer
    text = client.post("/mailboxes", data={"name": "weg", "domain_id": domain_id}).get_data(as_text=True)
    password, login = shown_password(text), f"weg@{domain_name}"
    with live_portal.app_context():
        mailbox_id = db.session.scalar(select(Mailbox.id).where(Mailbox.domain == domain_name))
    assert wait_for_state(live_portal, mailbox_id)[0] == "active"
    refused = client.post(f"/mailboxes/{mailbox_id}/delete",
                          data={"confirm": "falsch", "back": f"/mailboxes/{mailbox_id}"}, follow_redirects=True)
    assert f"Geben Sie die Adresse {login} ein" in refused.get_data(as_text=True)
    assert can_log_in(hostingstack, login, password)
    client.post(f"/mailboxes/{mailbox_id}/delete", data={"confirm": login})
    with live_portal.app_context():
        assert db.session.get(Mailbox, mailbox_id) is None
    assert not can_log_in(hostingstack, login, password)
    assert not hostingstack.client.home(login).exists()


def test_api_hands_out_a_per_integration_app_password_that_dies_with_its_token(
        live_portal, live_customer, hostingstack, caplog):
    caplog.set_level(logging.DEBUG)
    client, domain_name, domain_id = live_customer
    client.post("/mailboxes", data={"name": "erp", "domain_id": domain_id})
    with live_portal.app_context():
        mailbox_id = db.session.scalar(select(Mailbox.id).where(Mailbox.domain == domain_name))
    assert wait_for_state(live_portal, mailbox_id)[0] == "active"
    page = client.post("/tokens", data={"label": "Unser ERP"}).get_data(as_text=True)
    token = shown_password(page)
    api = live_portal.test_client()
    listed = api.get("/api/v1/mailboxes", headers={"Authorization": f"Bearer {token}"}).get_json()
    (entry,) = listed["mailboxes"]
    app_password = entry["credentials"]["app_password"]
    login = entry["login"]
    assert entry["addresses"] == [login] and entry["imap"]["port"] == hostingstack.ports["imap"]
    assert entry["sieve"] == {"host": hostingstack.host, "port": hostingstack.ports["sieve"], "security": "starttls"}
    assert can_log_in(hostingstack, login, app_password)
    again = api.get("/api/v1/mailboxes", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert again["mailboxes"][0]["credentials"]["app_password"] == app_password  # stable per token
    with live_portal.app_context():
        token_id = db.session.scalar(select(Mailbox).where(Mailbox.id == mailbox_id)).app_passwords[0].api_token_id
    client.post(f"/tokens/{token_id}/revoke")
    assert api.get("/api/v1/mailboxes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert not can_log_in(hostingstack, login, app_password)
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in log_text and app_password not in log_text


def test_own_domain_is_proven_by_its_txt_token_and_check_dns_goes_green(live_portal, live_customer,
                                                                      unique, hostingstack):
    client, _domain_name, _domain_id = live_customer
    name = f"eigen-{unique}.test"
    response = client.post("/domains/external", data={"name": name})
    assert response.status_code == 302
    with live_portal.app_context():
        domain = db.session.scalar(select(Domain).where(Domain.name == name))
        domain_id, token = domain.id, domain.verification_token
        record_name = domains.verification_record_name(domain)
    page = client.get(f"/domains/{domain_id}").get_data(as_text=True)
    assert token in page and record_name in page
    anyone = live_portal.test_client()
    assert anyone.get(f"/mail/config-v1.1.xml?emailaddress=info@{name}").status_code == 404
    # not published yet: no proof
    client.post(f"/domains/{domain_id}/verify")
    with live_portal.app_context():
        assert db.session.get(Domain, domain_id).state == "pending"
        hosting_stack().publish_zone(name, [DnsRecord("TXT", record_name, token, "proof", "proof")])
    client.post(f"/domains/{domain_id}/verify")
    with live_portal.app_context():
        domain = db.session.get(Domain, domain_id)
        assert (domain.state, domain.active) == ("active", 1)
        # the customer publishes what the page shows: every check is green
        hosting_stack().publish_zone(name, domains.expected_records(domain))
    checked = client.post(f"/domains/{domain_id}/check-dns").get_data(as_text=True)
    assert "Alle Einträge sind korrekt." in checked and "fehlt" not in checked
    # one record taken away: the check names it
    with live_portal.app_context():
        domain = db.session.get(Domain, domain_id)
        records = [r for r in domains.expected_records(domain) if r.kind != "dmarc"]
        hosting_stack().publish_zone(name, records)
    checked = client.post(f"/domains/{domain_id}/check-dns").get_data(as_text=True)
    assert "Alle Einträge sind korrekt." not in checked
    assert re.search(r'class="bad">\s*<td>TXT <code>_dmarc\.' + re.escape(name), checked)
    assert f"Der TXT-Eintrag _dmarc.{name} fehlt" in checked

    # what the autoconfig/autodiscover records point to: mail programs set themselves up
    thunderbird = anyone.get(f"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=info@{name}")
    assert thunderbird.status_code == 200 and thunderbird.mimetype == "application/xml"
    assert f"<port>{hostingstack.ports['imap']}</port>" in thunderbird.get_data(as_text=True)
    outlook = anyone.post("/autodiscover/autodiscover.xml", data=(
        b'<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
        b'outlook/requestschema/2006"><Request><EMailAddress>info@' + name.encode() +
        b'</EMailAddress></Request></Autodiscover>'), content_type="text/xml")
    text = outlook.get_data(as_text=True)
    assert outlook.status_code == 200 and f"<Port>{hostingstack.ports['submission']}</Port>" in text
    assert f"<LoginName>info@{name}</LoginName>" in text
